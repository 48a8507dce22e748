"""The test evaluator (tests/iam_evaluation.py) against the examples of the IAM user guide, one semantic at a time.

Every policy below is the shape of an example on the cited page; the expected decisions are worked out by hand from
the page's wording, not from the evaluator. Pages (https://docs.aws.amazon.com/IAM/latest/UserGuide/...):
EVAL reference_policies_evaluation-logic.html, OPS reference_policies_elements_condition_operators.html,
MULTI reference_policies_condition-single-vs-multi-valued-context-keys.html, LOGIC
reference_policies_elements_condition_logic_multiple-context-keys-or-values.html, ACTION
reference_policies_elements_action.html, NOTACTION reference_policies_elements_notaction.html, RESOURCE
reference_policies_elements_resource.html, NOTRESOURCE reference_policies_elements_notresource.html.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.iam_evaluation import Request, conditions_match, evaluate

ACCOUNT = "111122223333"


def allow(condition: dict[str, Any] | None = None, action: Any = "*", resource: Any = "*") -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_an_explicit_deny_overrides_any_allow_and_no_allow_is_an_implicit_deny():
    """EVAL: "An explicit deny in any of these policies overrides the allow"; without an allow, the request is
    implicitly denied."""
    documents = [
        allow(action="s3:*", resource="*"),
        {"Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]},
    ]
    assert evaluate(documents, Request("s3:DeleteBucket", "arn:aws:s3:::amzn-s3-demo-bucket")) == "explicit-deny"
    assert evaluate(documents, Request("s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/key")) == "allow"
    assert evaluate(documents, Request("ec2:RunInstances", "*")) == "implicit-deny"


def test_action_names_match_case_insensitively_with_wildcards():
    """ACTION: action names are case-insensitive; `*` and `?` are wildcards (`iam:*AccessKey*`)."""
    document = allow(action="iam:*AccessKey*")
    assert evaluate([document], Request("iam:createaccesskey", "*")) == "allow"
    assert evaluate([document], Request("iam:ListAccessKeys", "*")) == "allow"
    assert evaluate([document], Request("iam:CreateUser", "*")) == "implicit-deny"


def test_not_action_allows_everything_except_the_named_service():
    """NOTACTION: `"NotAction": "iam:*"` with Allow allows every action except IAM's."""
    document = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert evaluate([document], Request("s3:ListAllMyBuckets", "*")) == "allow"
    assert evaluate([document], Request("iam:CreateUser", "*")) == "implicit-deny"


def test_resource_wildcards_stay_within_arn_parts_and_are_case_sensitive():
    """RESOURCE: `arn:aws:s3:::amzn-s3-demo-bucket/*` matches the bucket's objects, not the bucket; ARNs are
    case-sensitive; a wildcard covers only the part it is in (`arn:aws:iam::*:role/x` is any account, not any
    service)."""
    objects = allow(resource="arn:aws:s3:::amzn-s3-demo-bucket/*")
    assert evaluate([objects], Request("s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/folder/file")) == "allow"
    assert evaluate([objects], Request("s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket")) == "implicit-deny"
    assert evaluate([objects], Request("s3:GetObject", "arn:aws:s3:::AMZN-S3-DEMO-BUCKET/file")) == "implicit-deny"
    any_account = allow(resource="arn:aws:iam::*:role/deployer")
    assert evaluate([any_account], Request("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/deployer")) == "allow"
    assert evaluate([any_account], Request("iam:GetRole", f"arn:aws:sts::{ACCOUNT}:role/deployer")) == "implicit-deny"


def test_not_resource_with_deny_denies_everything_but_the_named_resources():
    """NOTRESOURCE: a Deny with NotResource denies every resource except those listed."""
    documents = [
        allow(),
        {"Statement": [{"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::amzn-s3-demo-bucket/*"}]},
    ]
    assert evaluate(documents, Request("s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket/x")) == "allow"
    assert evaluate(documents, Request("s3:PutObject", "arn:aws:s3:::other-bucket/x")) == "explicit-deny"


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"aws:PrincipalTag/department": "Finance"}, True),
        ({"aws:PrincipalTag/department": "Accounting"}, True),
        ({"aws:PrincipalTag/department": "Sales"}, False),
        ({"AWS:PRINCIPALTAG/DEPARTMENT": "Finance"}, True),
        ({}, False),
    ],
)
def test_values_of_one_key_are_ored_key_names_are_case_insensitive_and_a_missing_key_is_false(context, expected):
    """LOGIC: several values for one key are evaluated with OR; OPS: "Condition key names are not case-sensitive"
    and "If the key that you specify in a policy condition is not present in the request context, the values do not
    match and the condition is false"."""
    condition = {"StringEquals": {"aws:PrincipalTag/department": ["Accounting", "Finance"]}}
    assert conditions_match(condition, context) is expected


def test_keys_and_operators_are_anded():
    """LOGIC: several keys, and several operators, in one Condition block are evaluated with AND."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": "audit", "aws:RequestedRegion": "eu-west-1"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    good = {"aws:PrincipalTag/team": "audit", "aws:RequestedRegion": "eu-west-1", "aws:SecureTransport": "true"}
    assert conditions_match(condition, good) is True
    assert conditions_match(condition, {**good, "aws:RequestedRegion": "us-east-1"}) is False
    assert conditions_match(condition, {**good, "aws:SecureTransport": "false"}) is False


@pytest.mark.parametrize(
    ("context", "expected"),
    [({"aws:RequestedRegion": "us-east-1"}, True), ({"aws:RequestedRegion": "eu-west-1"}, False), ({}, True)],
)
def test_a_negated_operator_matches_none_of_the_values_and_is_true_when_the_key_is_absent(context, expected):
    """OPS: "If the policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and
    the right key is not present, the condition is true"; a negated operator holds when the value matches none of
    the listed values."""
    condition = {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}
    assert conditions_match(condition, context) is expected


@pytest.mark.parametrize(
    ("context", "expected"),
    [({"ec2:InstanceType": "t2.micro"}, "allow"), ({"ec2:InstanceType": "m5.large"}, "implicit-deny"), ({}, "allow")],
)
def test_if_exists_is_true_when_the_key_is_absent_and_applies_the_operator_otherwise(context, expected):
    """OPS, "...IfExists condition operators": the documented `StringLikeIfExists` on ec2:InstanceType
    (t1.*, t2.*, m3.*): "If the key is not present, evaluate the condition element as true"."""
    document = allow({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, action="ec2:*")
    assert evaluate([document], Request("ec2:RunInstances", "*", context)) == expected


@pytest.mark.parametrize(
    ("context", "expected"),
    [({}, True), ({"aws:TokenIssueTime": "2026-12-04T21:00:00Z"}, False)],
)
def test_null_checks_whether_the_key_is_absent(context, expected):
    """OPS, "Condition operator to check existence of condition keys": `"Null": {"aws:TokenIssueTime": "true"}`
    matches requests made with long-term credentials, which carry no aws:TokenIssueTime."""
    assert conditions_match({"Null": {"aws:TokenIssueTime": "true"}}, context) is expected
    assert conditions_match({"Null": {"aws:TokenIssueTime": "false"}}, context) is (not expected)


@pytest.mark.parametrize(
    ("tag_keys", "for_all", "for_any"),
    [
        (["environment"], True, True),
        (["environment", "cost-center"], True, True),
        (["environment", "owner"], False, True),
        (["owner"], False, False),
        (None, True, False),
    ],
)
def test_for_all_values_and_for_any_value_on_a_multivalued_key(tag_keys, for_all, for_any):
    """MULTI: ForAllValues is true if every request value matches a policy value, "and also returns true if there
    are no context keys in the request"; ForAnyValue is true if at least one request value matches, false when the
    key is absent. The page's example: aws:TagKeys against ["environment", "cost-center"]."""
    context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    policy_values = ["environment", "cost-center"]
    assert conditions_match({"ForAllValues:StringEquals": {"aws:TagKeys": policy_values}}, context) is for_all
    assert conditions_match({"ForAnyValue:StringEquals": {"aws:TagKeys": policy_values}}, context) is for_any


def test_arn_like_matches_each_of_the_six_parts_on_its_own():
    """OPS, ARN condition operators: "Each of the six colon-delimited components of the ARN is checked separately
    and each can include multi-character match wildcards (*) or single-character match wildcards (?)"."""
    condition = {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}}
    assert conditions_match(condition, {"aws:SourceArn": f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/t"}) is True
    assert conditions_match(condition, {"aws:SourceArn": "arn:aws:cloudtrail:eu-west-1:444455556666:trail/t"}) is False
    assert conditions_match(condition, {"aws:SourceArn": f"arn:aws:s3:::{ACCOUNT}:trail/t"}) is False


def test_numeric_bool_and_ip_address_operators():
    """OPS: `"NumericLessThanEquals": {"s3:max-keys": "10"}`, `"Bool": {"aws:SecureTransport": "false"}` and
    `"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}`, the page's own examples."""
    assert conditions_match({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}) is True
    assert conditions_match({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"}) is False
    assert conditions_match({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"}) is True
    assert conditions_match({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}) is False
    assert conditions_match({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.7"}) is True
    assert (
        conditions_match({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}) is True
    )


@pytest.mark.parametrize(
    "condition",
    [
        {"StringLike": {"s3:prefix": "home/${aws:username}/"}},
        {"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}},
        {"StringEquals": {"aws:TagKeys": "environment"}},
    ],
    ids=["policy-variable", "date-operator", "multivalued-key-without-set-operator"],
)
def test_what_is_not_modelled_raises_instead_of_guessing(condition):
    context = {"s3:prefix": "home/x/", "aws:CurrentTime": "2026-06-01T00:00:00Z", "aws:TagKeys": ["environment", "a"]}
    with pytest.raises(NotImplementedError):
        conditions_match(condition, context)
