"""Identity-policy rules, through the pack process."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from mock_engine.recorded import RecordedResource
from tests.policies.builders import ACCOUNT, UNKNOWN, arn, doc, found, report, res

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SECRET_PATTERN = arn("secretsmanager", "secret:thirdparty/weather-api-key-??????")
LOG_STREAMS = arn("logs", "log-group:/aws/lambda/keyless-ingest-prod:*")


def role_policy(name: str, *statements: Mapping[str, object]) -> RecordedResource:
    return res(ROLE_POLICY, name, {"role": "keyless-ingest-prod", "policy": doc(*statements)})


def allow(actions: object, resources: object, **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


# The execution role of the real stack, create mode: every statement here must pass every IAM rule.
LEAST_PRIVILEGE = (
    allow(["logs:CreateLogStream", "logs:PutLogEvents"], [LOG_STREAMS]),
    allow(["dynamodb:BatchWriteItem"], [arn("dynamodb", "table/keyless-ingest-prod-readings")]),
    allow(["secretsmanager:GetSecretValue"], [SECRET_PATTERN]),
    allow(["ec2:CreateNetworkInterface"], [arn("ec2", "network-interface/*")]),
    allow(
        ["ec2:CreateNetworkInterface"],
        [arn("ec2", "subnet/*"), arn("ec2", "security-group/*")],
        Condition={"StringEquals": {"ec2:ResourceTag/keyless-ingest:network": "keyless-ingest-prod"}},
    ),
    allow(["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface"], "*"),
    allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
)
IAM_RULES = {
    "iam-no-wildcard-actions",
    "iam-no-not-action-allow",
    "iam-no-star-resource",
    "iam-no-broad-resource-arns",
    "iam-no-broad-managed-policies",
    "iam-no-access-keys",
}


def iam_found(pack, *resources) -> set[tuple[str, str]]:
    return {v for v in found(pack, *resources) if v[0] in IAM_RULES}


def test_least_privilege_role_passes_every_iam_rule(pack):
    # GIVEN the real execution role's statements, as a RolePolicy and as a Role's inline policy
    inline = res(
        "aws:iam/role:Role",
        "exec-role",
        {"inlinePolicies": [{"name": "run", "policy": doc(*LEAST_PRIVILEGE)}], "assumeRolePolicy": "{}"},
    )
    # THEN nothing is reported
    assert iam_found(pack, role_policy("exec", *LEAST_PRIVILEGE), inline) == set()


def test_existing_mode_exact_subnet_arns_pass(pack):
    statement = allow(
        "ec2:CreateNetworkInterface", [arn("ec2", "subnet/subnet-0a1b2c3d"), arn("ec2", "security-group/sg-0a1b2c3d")]
    )
    assert iam_found(pack, role_policy("exec", statement)) == set()


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ("*", True),
        ("secretsmanager:*", True),
        (["secretsmanager:Get*"], True),
        (["secretsmanager:GetSecretValu?"], True),
        (["secretsmanager:GetSecretValue"], False),
    ],
)
def test_wildcard_actions(pack, actions, expected):
    policy = role_policy("p", allow(actions, [SECRET_PATTERN]))
    assert found(pack, policy, policy="iam-no-wildcard-actions") == (
        {("iam-no-wildcard-actions", "p")} if expected else set()
    )


def test_deny_statements_are_not_grants(pack):
    # GIVEN a Deny with every kind of wildcard, beside a precise Allow
    deny = {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*", "NotResource": "arn:aws:s3:::*"}
    policy = role_policy("p", allow("secretsmanager:GetSecretValue", SECRET_PATTERN), deny)
    assert iam_found(pack, policy) == set()


def test_not_action_and_not_resource_in_allow(pack):
    not_action = role_policy("na", {"Effect": "Allow", "NotAction": "iam:*", "Resource": SECRET_PATTERN})
    not_resource = role_policy(
        "nr", {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "NotResource": SECRET_PATTERN}
    )
    assert found(pack, not_action, not_resource, policy="iam-no-not-action-allow") == {
        ("iam-no-not-action-allow", "na"),
        ("iam-no-not-action-allow", "nr"),
    }


def test_star_resource_only_for_actions_without_resource_level_permissions(pack):
    describe = role_policy("describe", allow("ec2:DescribeNetworkInterfaces", "*"))
    delete = role_policy("delete", allow("ec2:DeleteNetworkInterface", "*"))  # AWS-documented exception
    read = role_policy("read", allow("secretsmanager:GetSecretValue", "*"))
    mixed = role_policy("mixed", allow(["ec2:DescribeSubnets", "dynamodb:PutItem"], "*"))
    typo = role_policy("typo", allow("ec2:DescribeNetworkInterfaze", "*"))  # unknown to the database
    assert found(pack, describe, delete, read, mixed, typo, policy="iam-no-star-resource") == {
        ("iam-no-star-resource", "read"),
        ("iam-no-star-resource", "mixed"),
        ("iam-no-star-resource", "typo"),
    }


@pytest.mark.parametrize(
    ("resource", "broad"),
    [
        (SECRET_PATTERN, False),  # a secret's random suffix
        (arn("secretsmanager", "secret:thirdparty/weather-api-key-*"), False),
        (LOG_STREAMS, False),  # the streams of one log group
        ("arn:aws:s3:::keyless-ingest-bundles/*", False),  # the objects of one bucket
        (arn("dynamodb", "table/readings/index/*"), False),  # the indexes of one table
        (arn("secretsmanager", "secret:*"), True),  # every secret
        (arn("logs", "log-group:/aws/lambda/*"), True),  # every function's log group
        (arn("dynamodb", "table/*"), True),
        (arn("secretsmanager", "secret:x", region="*"), True),  # every region
        ("arn:aws:secretsmanager:eu-west-1:*:secret:x-??????", True),  # every account
        ("arn:aws:s3:::*", True),  # the whole service
        (f"arn:aws:iam::{ACCOUNT}:role/service-role/*", True),  # a path
        ("not-an-arn", True),
    ],
)
def test_resource_arn_scope(pack, resource, broad):
    policy = role_policy("p", allow("secretsmanager:GetSecretValue", resource))
    expected = {("iam-no-broad-resource-arns", "p")} if broad else set()
    assert found(pack, policy, policy="iam-no-broad-resource-arns") == expected


def test_resource_type_wildcard_needs_a_resource_condition(pack):
    subnets = [arn("ec2", "subnet/*"), arn("ec2", "security-group/*")]
    bare = role_policy("bare", allow("ec2:CreateNetworkInterface", subnets))
    not_equals = role_policy(
        "not-equals",
        allow(
            "ec2:CreateNetworkInterface",
            subnets,
            Condition={"StringNotEquals": {"ec2:ResourceTag/keyless-ingest:network": "x"}},
        ),
    )
    unrelated = role_policy(
        "unrelated",
        allow("ec2:CreateNetworkInterface", subnets, Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
    )
    vpc = role_policy(
        "vpc", allow("ec2:CreateNetworkInterface", subnets, Condition={"ArnEquals": {"ec2:Vpc": arn("ec2", "vpc/v")}})
    )
    # A created resource's id is AWS's to choose: `network-interface/*` is the only way to grant CreateNetworkInterface.
    eni_delete = role_policy("eni-delete", allow("ec2:DeleteNetworkInterface", arn("ec2", "network-interface/*")))
    assert found(pack, bare, not_equals, unrelated, vpc, eni_delete, policy="iam-no-broad-resource-arns") == {
        ("iam-no-broad-resource-arns", "bare"),
        ("iam-no-broad-resource-arns", "not-equals"),
        ("iam-no-broad-resource-arns", "unrelated"),
        ("iam-no-broad-resource-arns", "eni-delete"),
    }


@pytest.mark.parametrize(
    "type_", ["aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy"]
)
def test_every_identity_policy_type_is_checked(pack, type_):
    policy = res(type_, "p", {"policy": doc(allow("*", "*"))})
    assert iam_found(pack, policy) == {("iam-no-wildcard-actions", "p")}


def test_policy_as_object_and_single_statement(pack):
    policy = res(ROLE_POLICY, "p", {"policy": {"Statement": allow("s3:*", "arn:aws:s3:::b/*")}})
    assert iam_found(pack, policy) == {("iam-no-wildcard-actions", "p")}


def test_invalid_policy_json_is_reported_not_passed(pack):
    policy = res(ROLE_POLICY, "p", {"policy": "{not json"})
    assert {name for name, _ in iam_found(pack, policy)} == {
        "iam-no-wildcard-actions",
        "iam-no-not-action-allow",
        "iam-no-star-resource",
        "iam-no-broad-resource-arns",
    }


def test_unknown_policy_is_an_advisory_not_a_pass(pack):

    result = report(pack, res(ROLE_POLICY, "p", {"policy": UNKNOWN}))
    assert result.not_run_for_unknowns == 6  # the four IAM document rules, iam-policy-valid, iam-passrole-scoped
    # the document rules cannot run (advisory); policy-known-at-preview blocks the unknown document itself
    assert {(v.policy, v.enforcement, v.cant_run) for v in result.violations} == {
        ("iam-no-wildcard-actions", "advisory", True),
        ("iam-no-not-action-allow", "advisory", True),
        ("iam-no-star-resource", "advisory", True),
        ("iam-no-broad-resource-arns", "advisory", True),
        ("iam-policy-valid", "advisory", True),
        ("iam-passrole-scoped", "advisory", True),
        ("policy-known-at-preview", "mandatory", False),
        ("policy-unknown-only-endpoint-ids", "mandatory", False),
    }


@pytest.mark.parametrize(
    ("policy_arn", "broad"),
    [
        ("arn:aws:iam::aws:policy/AdministratorAccess", True),
        ("arn:aws:iam::aws:policy/PowerUserAccess", True),
        ("arn:aws:iam::aws:policy/SecretsManagerReadWrite", True),
        ("arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess", True),
        ("arn:aws:iam::aws:policy/IAMFullAccess", True),
        ("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", False),
        (f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess", False),  # customer-managed: checked as a Policy
        (UNKNOWN, False),  # a policy created in this stack
    ],
)
def test_broad_managed_policy_attachments(pack, policy_arn, broad):
    attachment = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {"role": "r", "policyArn": policy_arn})
    expected = {("iam-no-broad-managed-policies", "a")} if broad else set()
    assert found(pack, attachment, policy="iam-no-broad-managed-policies") == expected


def test_managed_policy_arns_on_role_and_policy_attachment(pack):
    role = res(
        "aws:iam/role:Role",
        "r",
        {"assumeRolePolicy": "{}", "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
    )
    shared = res(
        "aws:iam/policyAttachment:PolicyAttachment", "pa", {"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    )
    assert found(pack, role, shared, policy="iam-no-broad-managed-policies") == {
        ("iam-no-broad-managed-policies", "r"),
        ("iam-no-broad-managed-policies", "pa"),
    }


def test_access_keys_are_rejected(pack):
    key = res("aws:iam/accessKey:AccessKey", "ci-key", {"user": "ci"})
    user = res("aws:iam/user:User", "ci", {"name": "ci"})
    assert iam_found(pack, key, user) == {("iam-no-access-keys", "ci-key")}


def test_messages_name_the_statement_and_never_echo_the_document(pack):

    result = report(pack, role_policy("p", allow("secretsmanager:GetSecretValue", SECRET_PATTERN), allow("*", "*")))
    messages = [v.message for v in result.violations if v.policy == "iam-no-wildcard-actions"]
    assert len(messages) == 1
    # The wildcard is the second statement, counted from 1 as a reader counts.
    assert "statement 2" in messages[0]
    assert "statement 1" not in messages[0]
    assert json.dumps("Statement") not in messages[0]


def test_a_malformed_statement_is_counted_from_one(pack):
    result = report(pack, role_policy("p", {"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}))

    messages = {v.message for v in result.violations}
    assert any("statement 1 has no Effect Allow or Deny" in message for message in messages), messages
    assert not any("statement 0" in message for message in messages)
