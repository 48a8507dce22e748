"""A role that may do anything with any secret: iam-no-wildcard-actions."""

import json

import pulumi_aws as aws

role = aws.iam.Role(
    "reader",
    name="reader",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    ),
)
aws.iam.RolePolicy(
    "reader-policy",
    role=role.name,
    policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}
    ),
)
