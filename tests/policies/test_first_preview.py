"""The first preview must not wave things through: an unknown policy is a finding, an unknown value never means
"fine", and one unknown value does not stop a stack rule from judging the rest. Through the pack process."""

from __future__ import annotations

import json

import pytest

from tests.policies.builders import UNKNOWN, arn, doc, found, report, res
from tests.policies.test_programs import PROGRAMS, preview

RULE = "policy-known-at-preview"
READER = arn("iam", "role/reader", region="")
READ = {"Effect": "Allow", "Principal": {"AWS": READER}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}


def test_a_document_unknown_at_preview_is_a_violation_of_its_own(pack):
    unknown = res("aws:iam/rolePolicy:RolePolicy", "computed", {"role": "r", "policy": UNKNOWN})
    partly = res(
        "aws:iam/role:Role",
        "partly",
        {"assumeRolePolicy": doc(), "inlinePolicies": [{"name": "x", "policy": UNKNOWN}]},
    )
    endpoint = res("aws:ec2/vpcEndpoint:VpcEndpoint", "vpce", {"serviceName": "x", "policy": UNKNOWN})
    known = res("aws:iam/rolePolicy:RolePolicy", "known", {"role": "r", "policy": doc(READ)})
    result = report(pack, unknown, partly, endpoint, known)
    flagged = {(v.urn.rsplit("::", 1)[1], v.enforcement) for v in result.violations if v.policy == RULE}
    assert flagged == {("computed", "mandatory"), ("partly", "mandatory"), ("vpce", "mandatory")}
    message = next(v.message for v in result.violations if v.policy == RULE)
    assert "explicit resource names" in message
    assert "get_caller_identity" in message


def test_dev_config_makes_it_advisory(pack):
    dev = json.loads((PROGRAMS.parents[2] / "policies" / "config" / "dev.json").read_text())
    unknown = res("aws:iam/rolePolicy:RolePolicy", "computed", {"role": "r", "policy": UNKNOWN})
    result = report(pack, unknown, config=dev)
    assert {v.enforcement for v in result.violations if v.policy == RULE} == {"advisory"}


def test_unknown_managed_policy_arns_pass_only_from_a_policy_of_this_stack(pack):
    policy = res("aws:iam/policy:Policy", "own", {"policy": doc(READ)})
    own = res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "own-attachment",
        {"role": "r", "policyArn": UNKNOWN},
        prop_deps={"policyArn": [policy]},
    )
    foreign = res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "foreign-attachment", {"role": "r", "policyArn": UNKNOWN}
    )
    role_own = res(
        "aws:iam/role:Role",
        "role-own",
        {"assumeRolePolicy": doc(), "managedPolicyArns": [UNKNOWN]},
        prop_deps={"managedPolicyArns": [policy]},
    )
    role_foreign = res("aws:iam/role:Role", "role-foreign", {"assumeRolePolicy": doc(), "managedPolicyArns": [UNKNOWN]})
    assert found(pack, policy, own, foreign, role_own, role_foreign, policy=RULE) == {
        (RULE, "foreign-attachment"),
        (RULE, "role-foreign"),
    }


def test_an_unknown_secret_key_passes_only_from_a_key_of_this_stack(pack):
    key = res("aws:kms/key:Key", "key", {"enableKeyRotation": True})
    own = res(
        "aws:secretsmanager/secret:Secret", "own", {"name": "own", "kmsKeyId": UNKNOWN}, prop_deps={"kmsKeyId": [key]}
    )
    foreign = res("aws:secretsmanager/secret:Secret", "foreign", {"name": "foreign", "kmsKeyId": UNKNOWN})
    assert found(pack, key, own, foreign, policy=RULE) == {(RULE, "foreign")}


def test_one_unknown_principal_does_not_let_a_secret_without_policy_pass(pack):
    # GIVEN a correct secret whose policy names a computed principal, and a second secret with no policy at all
    computed = res("aws:secretsmanager/secret:Secret", "computed", {"name": "computed", "kmsKeyId": "alias/k"})
    computed_policy = res(
        "aws:secretsmanager/secretPolicy:SecretPolicy",
        "computed-policy",
        {
            "secretArn": UNKNOWN,
            "policy": {"Version": "2012-10-17", "Statement": [{**READ, "Principal": {"AWS": UNKNOWN}}]},
        },
        prop_deps={"secretArn": [computed]},
    )
    bare = res("aws:secretsmanager/secret:Secret", "bare", {"name": "bare", "kmsKeyId": "alias/k"})
    # WHEN the stack rule runs
    result = report(pack, computed, computed_policy, bare)
    rule = [v for v in result.violations if v.policy == "secret-requires-resource-policy"]
    # THEN the bare secret is reported, and the undecidable one is a "can't run" advisory, not a pass
    assert {(None if v.cant_run else v.urn.rsplit("::", 1)[1], v.cant_run) for v in rule} == {
        ("bare", False),
        (None, True),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("first_preview", "expected"),
    [
        # Both halves: the planned outputs' rule and the inputs' rule (a document unknown as a whole).
        (True, {("policy-known-at-preview", "writer-policy"), ("policy-unknown-only-endpoint-ids", "writer-policy")}),
        (False, {("iam-no-wildcard-actions", "writer-policy")}),
    ],
    ids=["first-preview", "later-preview"],
)
def test_json_dumps_over_computed_arns_fails_in_both_previews(first_preview, expected):
    flags = ["--first-preview"] if first_preview else []
    result = preview("--program", str(PROGRAMS / "computed_policy"), "--json", *flags)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    names = {r["urn"]: r["name"] for r in document["resources"]}
    mandatory = {(v["policy"], names[v["urn"]]) for v in document["violations"] if v["enforcement"] == "mandatory"}
    assert mandatory == expected
