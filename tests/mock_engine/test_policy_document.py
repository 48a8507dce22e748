"""`aws:iam/getPolicyDocument` computed offline, checked against the Terraform AWS provider's rules.

Source of the rules (the pulumi-aws data source is the Terraform one, bridged): hashicorp/terraform-provider-aws,
internal/service/iam/policy_document_data_source.go (merge order of source, own and override documents; duplicate Sid
errors; `&{` -> `${` in resources, principals and condition values; the id is the hash code of the JSON) and
policy_model.go (`policyDecodeConfigStringList`: one value as a string, several sorted in reverse; principals grouped
by type and `{"*": "*"}` written as `"*"`; condition values kept in order, one value flattened; `Merge` replaces a
statement with the same non-empty Sid in place and appends the rest).
"""

from __future__ import annotations

import json

import pytest

from mock_engine.errors import PreviewError
from mock_engine.policy_document import get_policy_document


def test_sets_are_written_as_a_string_or_a_reverse_sorted_list_and_variables_are_unescaped_in_resources():
    result = get_policy_document(
        {
            "statements": [
                {
                    "sid": "List",
                    "actions": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucket"],
                    "resources": ["arn:aws:s3:::bucket/home/&{aws:username}/*"],
                },
                {"effect": "Deny", "notActions": ["iam:*"], "notResources": ["arn:aws:s3:::b", "arn:aws:s3:::a"]},
            ]
        }
    )

    assert result["json"] == (
        "{\n"
        '  "Version": "2012-10-17",\n'
        '  "Statement": [\n'
        "    {\n"
        '      "Sid": "List",\n'
        '      "Effect": "Allow",\n'
        '      "Action": [\n'
        '        "s3:ListBucket",\n'
        '        "s3:GetBucketLocation"\n'
        "      ],\n"
        '      "Resource": "arn:aws:s3:::bucket/home/${aws:username}/*"\n'
        "    },\n"
        "    {\n"
        '      "Effect": "Deny",\n'
        '      "NotAction": "iam:*",\n'
        '      "NotResource": [\n'
        '        "arn:aws:s3:::b",\n'
        '        "arn:aws:s3:::a"\n'
        "      ]\n"
        "    }\n"
        "  ]\n"
        "}"
    )
    assert result["minifiedJson"] == (
        '{"Version":"2012-10-17","Statement":[{"Sid":"List","Effect":"Allow",'
        '"Action":["s3:ListBucket","s3:GetBucketLocation"],"Resource":"arn:aws:s3:::bucket/home/${aws:username}/*"},'
        '{"Effect":"Deny","NotAction":"iam:*","NotResource":["arn:aws:s3:::b","arn:aws:s3:::a"]}]}'
    )
    # The provider's id is strconv.Itoa(create.StringHashcode(json)): the CRC-32 (IEEE) of the indented JSON, in
    # decimal. This one was computed by gzip (the CRC-32 in its trailer), not by Python:
    # `gzip -c policy.json | tail -c8 | od -An -tu4`, the first number.
    assert result["id"] == "267170489"


def test_principals_are_grouped_by_type_and_a_lone_star_of_type_star_is_written_as_star():
    document = json.loads(
        get_policy_document(
            {
                "statements": [
                    {
                        "actions": ["sts:AssumeRole"],
                        "principals": [
                            {"type": "Service", "identifiers": ["lambda.amazonaws.com"]},
                            {"type": "AWS", "identifiers": ["arn:aws:iam::111122223333:root"]},
                            {"type": "Service", "identifiers": ["edgelambda.amazonaws.com", "states.amazonaws.com"]},
                        ],
                    },
                    {"actions": ["s3:GetObject"], "principals": [{"type": "*", "identifiers": ["*"]}]},
                    {"actions": ["s3:GetObject"], "principals": [{"type": "AWS", "identifiers": ["*"]}]},
                ]
            }
        )["json"]
    )

    principals = [statement["Principal"] for statement in document["Statement"]]
    assert principals == [
        {
            "AWS": "arn:aws:iam::111122223333:root",
            "Service": ["lambda.amazonaws.com", "states.amazonaws.com", "edgelambda.amazonaws.com"],
        },
        "*",
        {"AWS": "*"},
    ]


def test_conditions_keep_their_values_in_order_and_flatten_one_value():
    document = json.loads(
        get_policy_document(
            {
                "statements": [
                    {
                        "actions": ["s3:GetObject"],
                        "resources": ["*"],
                        "conditions": [
                            {
                                "test": "StringLike",
                                "variable": "s3:prefix",
                                "values": ["", "home/", "home/&{aws:username}/"],
                            },
                            {"test": "Bool", "variable": "aws:SecureTransport", "values": ["true"]},
                            {"test": "StringLike", "variable": "s3:prefix", "values": ["shared/"]},
                        ],
                    }
                ]
            }
        )["json"]
    )

    assert document["Statement"][0]["Condition"] == {
        "Bool": {"aws:SecureTransport": "true"},
        "StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/", "shared/"]},
    }


def test_source_then_own_then_override_documents_merge_by_sid():
    source = json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "source",
            "Statement": [
                {"Sid": "Keep", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                {"Sid": "Replace", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
            ],
        }
    )
    override = json.dumps(
        {
            "Statement": [
                {"Sid": "Keep", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},
                {"Effect": "Allow"},
            ]
        }
    )

    document = json.loads(
        get_policy_document(
            {
                "sourcePolicyDocuments": [source],
                "policyId": "own",
                "statements": [{"sid": "Replace", "actions": ["s3:DeleteObject"], "resources": ["*"]}],
                "overridePolicyDocuments": [override],
            }
        )["json"]
    )

    assert document == {
        "Version": "2012-10-17",
        "Id": "own",
        "Statement": [
            {"Sid": "Keep", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},
            {"Sid": "Replace", "Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "*"},
            {"Effect": "Allow"},
        ],
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"statements": [{"sid": "A", "actions": ["s3:GetObject"]}, {"sid": "A", "actions": ["s3:PutObject"]}]},
            r"found duplicate sid \(A\)",
        ),
        (
            {"sourcePolicyDocuments": ['{"Statement": [{"Sid": "A"}]}', '{"Statement": [{"Sid": "A"}]}']},
            r"duplicate Sid \(A\) in sourcePolicyDocuments",
        ),
        ({"sourcePolicyDocuments": ["{not json"]}, "an entry of sourcePolicyDocuments is not JSON"),
        (
            {"version": "2008-10-17", "statements": [{"actions": ["s3:GetObject"], "resources": ["&{aws:username}"]}]},
            r"version 2008-10-17 does not support &\{",
        ),
    ],
)
def test_documents_the_provider_rejects_are_rejected_with_its_reason(args, message):
    with pytest.raises(PreviewError, match=message):
        get_policy_document(args)
