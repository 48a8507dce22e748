import pulumi
import pulumi_aws as aws

config = pulumi.Config()
actions = config.get_object("actions") or ["s3:GetObject"]

assume = aws.iam.get_policy_document(
    statements=[
        {
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}],
        }
    ]
)
read = aws.iam.get_policy_document(
    statements=[
        {
            "sid": "Read",
            "actions": actions,
            "resources": ["arn:aws:s3:::offline-bucket/home/&{aws:username}/*"],
            "conditions": [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["111122223333"]}],
        }
    ]
)
role = aws.iam.Role("reader", name="offline-reader", assume_role_policy=assume.json)
aws.iam.RolePolicy("reader-policy", role=role.id, policy=read.json)
pulumi.export("readPolicy", read.json)
pulumi.export("assumePolicy", role.assume_role_policy)
