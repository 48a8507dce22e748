"""A function handed AWS keys in its environment (AWS's documented example keys): lambda-env-no-credentials."""

import pulumi
import pulumi_aws as aws

log_group = aws.cloudwatch.LogGroup("logs", name="/aws/lambda/leaky", retention_in_days=14)
aws.lambda_.Function(
    "leaky",
    name="leaky",
    role="arn:aws:iam::111122223333:role/leaky",
    runtime="python3.12",
    handler="index.handler",
    code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(event, context):\n    return None\n")}),
    logging_config={"log_format": "JSON", "log_group": log_group.name},
    environment={
        "variables": {
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        }
    },
)
