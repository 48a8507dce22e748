"""A function whose bundle carries a private key, assembled here at run time: lambda-code-no-credentials."""

import random

import pulumi
import pulumi_aws as aws

marker = " ".join(("RSA", "PRIVATE", "KEY"))
rng = random.Random(1)
body = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(64))
pem = f"-----BEGIN {marker}-----\n{body}\n-----END {marker}-----\n"

log_group = aws.cloudwatch.LogGroup("logs", name="/aws/lambda/baked", retention_in_days=14)
aws.lambda_.Function(
    "baked",
    name="baked",
    role="arn:aws:iam::111122223333:role/baked",
    runtime="python3.12",
    handler="index.handler",
    code=pulumi.AssetArchive(
        {
            "index.py": pulumi.StringAsset("def handler(event, context):\n    return None\n"),
            "keys/upstream.pem": pulumi.StringAsset(pem),
        }
    ),
    logging_config={"log_format": "JSON", "log_group": log_group.name},
)
