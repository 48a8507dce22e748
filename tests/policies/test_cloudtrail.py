"""cloudtrail-logs-role-trust and cloudtrail-kms-key-arn, through the pack process.

The delivery-role fixtures are related to their trail both ways the engine relates them: a literal role ARN (what the
real stack passes, with `depends_on`) and the role's `arn` output (a property dependency, unknown at the first
preview). Sources for what CloudTrail does not send: prowler-cloud/prowler#4714 and
awsdocs/aws-cloudtrail-user-guide#17.
"""

from __future__ import annotations

from typing import Any

import pytest

from mock_engine.recorded import RecordedResource
from tests.policies.builders import ACCOUNT, UNKNOWN, arn, doc, found, report, res

ROLE = "aws:iam/role:Role"
TRAIL = "aws:cloudtrail/trail:Trail"
ROLE_NAME = "ki-prod-cloudtrail-to-logs"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
TRAIL_ARN = arn("cloudtrail", "trail/ki-prod-audit")
KEY_ARN = arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
RULES = {"cloudtrail-logs-role-trust", "cloudtrail-kms-key-arn"}


def trust(condition: dict[str, Any] | None = None, service: str = "cloudtrail.amazonaws.com") -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition is not None:
        statement["Condition"] = condition
    return doc(statement)


def role(policy: object, name: str = ROLE_NAME, resource_name: str = "delivery-role") -> RecordedResource:
    return res(ROLE, resource_name, {"name": name, "assumeRolePolicy": policy})


def trail(role_arn: object = ROLE_ARN, *, via: RecordedResource | None = None, **extra: object) -> RecordedResource:
    inputs = {
        "name": "ki-prod-audit",
        "s3BucketName": "ki-prod-trail-111122223333",
        "kmsKeyId": KEY_ARN,
        "cloudWatchLogsGroupArn": arn("logs", "log-group:/aws/cloudtrail/ki-prod:*"),
        "cloudWatchLogsRoleArn": role_arn,
        **extra,
    }
    return res(TRAIL, "trail", inputs, prop_deps={"cloudWatchLogsRoleArn": [via]} if via else None)


def violations(pack, *resources: RecordedResource) -> set[tuple[str, str]]:
    return {v for v in found(pack, *resources) if v[0] in RULES}


def test_the_real_stacks_delivery_role_passes(pack):
    # GIVEN the trust the stack ships: CloudTrail, no condition, named by a literal ARN
    delivery = role(trust())
    assert violations(pack, delivery, trail()) == set()


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        {"ArnLike": {"aws:SourceArn": TRAIL_ARN}},
        {"StringEquals": {"AWS:SourceAccount": ACCOUNT}, "ArnEquals": {"aws:SourceArn": TRAIL_ARN}},
        {"StringLike": {"aws:SourceArn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}},
    ],
    ids=["source-account", "source-arn", "both-mixed-case", "source-arn-wildcard"],
)
def test_a_source_condition_on_the_delivery_role_fails(pack, condition):
    # GIVEN the confused-deputy condition that is right on every other service role
    delivery = role(trust(condition))
    # THEN on the role a trail delivers to CloudWatch Logs with it is a violation on the role
    assert violations(pack, delivery, trail()) == {("cloudtrail-logs-role-trust", "delivery-role")}


def test_the_role_is_found_through_its_arn_output_too(pack):
    # GIVEN a program that passes role.arn (unknown at the first preview): the engine's property dependency links them
    delivery = role(trust({"StringEquals": {"aws:SourceAccount": ACCOUNT}}), name="generated-name-1a2b3c")
    assert violations(pack, delivery, trail(UNKNOWN, via=delivery)) == {("cloudtrail-logs-role-trust", "delivery-role")}


def test_only_the_trails_delivery_role_is_judged(pack):
    # GIVEN another CloudTrail-trusted role with the condition that no trail uses, and a non-CloudTrail statement
    other = role(trust({"StringEquals": {"aws:SourceAccount": ACCOUNT}}), name="other", resource_name="other-role")
    lambda_role = role(
        trust({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, service="lambda.amazonaws.com"),
        resource_name="lambda-role",
    )
    # THEN neither is flagged: the condition is right where CloudTrail (or another service) sends it
    assert violations(pack, other, lambda_role, trail()) == set()
    # AND without a trail nothing is judged at all
    assert violations(pack, role(trust({"StringEquals": {"aws:SourceAccount": ACCOUNT}}))) == set()


def test_an_unknown_trust_policy_is_the_cant_run_advisory_not_a_pass(pack):
    result = report(pack, role(UNKNOWN), trail())
    assert {(v.policy, v.cant_run) for v in result.violations if v.policy in RULES} == {
        ("cloudtrail-logs-role-trust", True)
    }


@pytest.mark.parametrize(
    ("kms_key_id", "flagged"),
    [
        (KEY_ARN, False),
        (UNKNOWN, False),
        (arn("kms", "alias/ki-prod-trail"), True),
        ("alias/ki-prod-trail", True),
    ],
    ids=["key-arn", "unknown-key-arn", "alias-arn", "alias-name"],
)
def test_the_trail_names_its_key_by_key_arn(pack, kms_key_id, flagged):
    expected = {("cloudtrail-kms-key-arn", "trail")} if flagged else set()
    assert violations(pack, role(trust()), trail(kmsKeyId=kms_key_id)) == expected
