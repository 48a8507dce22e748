"""A function in a private VPC with no Secrets Manager endpoint: vpc-secretsmanager-endpoint."""

import pulumi
import pulumi_aws as aws

vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
subnet = aws.ec2.Subnet("private", vpc_id=vpc.id, cidr_block="10.0.1.0/24")
group = aws.ec2.SecurityGroup(
    "fn-sg",
    vpc_id=vpc.id,
    egress=[{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["10.0.0.0/16"]}],
)
log_group = aws.cloudwatch.LogGroup("logs", name="/aws/lambda/isolated", retention_in_days=14)
aws.lambda_.Function(
    "isolated",
    name="isolated",
    role="arn:aws:iam::111122223333:role/isolated",
    runtime="python3.12",
    handler="index.handler",
    code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(event, context):\n    return None\n")}),
    logging_config={"log_format": "JSON", "log_group": log_group.name},
    vpc_config={"subnet_ids": [subnet.id], "security_group_ids": [group.id]},
)
