import json

import pulumi
import pulumi_aws as aws

lambda_role = aws.iam.Role(
    "lambda-role",
    name="offline-lambda-role",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    ),
)
# The resource itself, not an output, is the input: the engine hands the provider its id (the role's name).
logs = aws.iam.RolePolicyAttachment(  # type: ignore[call-overload]  # typed str; the engine sends the id
    "lambda-logs",
    role=lambda_role,
    policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
)
function = aws.lambda_.Function(
    "fn",
    name="offline-fn",
    role=lambda_role.arn,
    runtime="python3.12",
    handler="index.handler",
    code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(event, context):\n    return 1\n")}),
    opts=pulumi.ResourceOptions(depends_on=[logs]),
)
pulumi.export("functionArn", function.arn)
