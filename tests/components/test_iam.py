import json

import pytest

from components.iam import PolicyDocument, Principal, Statement


def test_document_serialises_in_a_stable_order_with_single_values_unwrapped():
    doc = PolicyDocument(
        (
            Statement(
                sid="ReadOne",
                actions=("secretsmanager:GetSecretValue",),
                resources=("arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-??????",),
                conditions={"StringEquals": {"b:key": "2", "a:key": ("1", "3")}},
            ),
        )
    )

    text = doc.to_json()

    assert text == doc.to_json()
    assert json.loads(text) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadOne",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-??????",
                "Condition": {"StringEquals": {"a:key": ["1", "3"], "b:key": "2"}},
            }
        ],
    }
    assert list(json.loads(text)["Statement"][0]) == ["Sid", "Effect", "Action", "Resource", "Condition"]


def test_principals_serialise_as_iam_expects():
    assert Principal.anyone().to_json() == "*"
    assert Principal.aws("arn:aws:iam::111122223333:root").to_json() == {"AWS": "arn:aws:iam::111122223333:root"}
    assert Principal.service("a.amazonaws.com", "b.amazonaws.com").to_json() == {
        "Service": ["a.amazonaws.com", "b.amazonaws.com"]
    }


def test_trust_statement_has_no_resource_element():
    statement = Statement(sid="Trust", actions=("sts:AssumeRole",), principal=Principal.service("lambda.amazonaws.com"))

    assert "Resource" not in statement.to_json()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sid": "No-Dashes", "actions": ("s3:GetObject",), "resources": ("arn:aws:s3:::b/k",)}, "alphanumeric"),
        ({"sid": "NoActions", "actions": (), "resources": ("arn:aws:s3:::b/k",)}, "has no actions"),
        ({"sid": "NoResources", "actions": ("s3:GetObject",), "resources": ()}, "has no resources"),
    ],
)
def test_malformed_statements_are_rejected_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Statement(**kwargs)


def test_duplicate_statement_ids_are_rejected():
    statement = Statement(sid="Same", actions=("s3:GetObject",), resources=("arn:aws:s3:::b/k",))

    with pytest.raises(ValueError, match="repeated: Same"):
        PolicyDocument((statement, statement))
