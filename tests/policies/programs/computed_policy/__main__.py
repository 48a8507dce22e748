"""The most common Pulumi idiom, a document from `Output.json_dumps` over a computed ARN, hiding `"Action": "*"`.

At the first preview the table's ARN is unknown, so the document is too: policy-known-at-preview. Later the document
is known and iam-no-wildcard-actions reads it.
"""

import json

import pulumi
import pulumi_aws as aws

table = aws.dynamodb.Table(
    "readings",
    attributes=[aws.dynamodb.TableAttributeArgs(name="city", type="S")],
    hash_key="city",
    billing_mode="PAY_PER_REQUEST",
)
role = aws.iam.Role(
    "writer",
    name="writer",
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
    "writer-policy",
    role="writer",
    policy=pulumi.Output.json_dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": table.arn}]}
    ),
)
