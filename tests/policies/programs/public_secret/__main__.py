"""A secret anyone may read, encrypted with the AWS-managed key: secret-policy-not-public and friends."""

import json

import pulumi_aws as aws

secret = aws.secretsmanager.Secret("open", name="thirdparty/open")
aws.secretsmanager.SecretPolicy(
    "open-policy",
    secret_arn=secret.arn,
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
            ],
        }
    ),
)
