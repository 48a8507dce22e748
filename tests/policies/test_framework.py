"""The rule framework: resource rules run only on their declared types, and each rule's metadata reaches the CLI."""

from __future__ import annotations

import pytest
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Report, Resource, ResourceRule, StackRule, resource_rule
from keyless_guard.pack import RULES
from tests.policies.builders import doc, res

PUBLIC = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
EVERY_TRAP = {
    # props that fail some rule on the types that rule declares
    "policy": doc(PUBLIC),
    "environment": {"variables": {"API_KEY": "hunter2"}},
    "secretString": "value-set-from-the-program",
    "enableKeyRotation": False,
    "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
}


def test_analyzer_info_carries_each_rules_metadata(pack):
    # GIVEN the pack as the CLI sees it through GetAnalyzerInfo
    policies = {p.name: p for p in pack.info.policies}
    # THEN every rule's kind, severity, remediation and equivalents (as tags) are there
    resource, stack = analyzer_pb2.POLICY_TYPE_RESOURCE, analyzer_pb2.POLICY_TYPE_STACK
    assert {name: p.policy_type for name, p in policies.items()} == {
        rule.name: resource if isinstance(rule, ResourceRule) else stack for rule in RULES
    }
    assert {name: p.remediation_steps for name, p in policies.items()} == {r.name: r.remediation for r in RULES}
    assert {name: list(p.tags) for name, p in policies.items()} == {r.name: r.tags for r in RULES}
    assert {name: analyzer_pb2.PolicySeverity.Name(p.severity) for name, p in policies.items()} == {
        r.name: f"POLICY_SEVERITY_{r.severity.name}" for r in RULES
    }
    assert list(policies["kms-key-rotation"].tags) == ["checkov:CKV_AWS_7", "cdk-nag:AwsSolutions-KMS5"]
    assert list(policies["iam-no-wildcard-actions"].tags) == [
        "checkov:CKV_AWS_1",
        "checkov:CKV_AWS_49",
        "checkov:CKV_AWS_62",
        "checkov:CKV_AWS_63",
        "cdk-nag:AwsSolutions-IAM5",
    ]
    assert list(policies["lambda-code-no-credentials"].tags) == ["checkov:CKV_SECRET_2", "checkov:CKV_SECRET_6"]
    assert list(policies["secret-no-value-in-program"].tags) == ["checkov:CKV_SECRET_*"]
    assert list(policies["vpc-secretsmanager-endpoint"].tags) == []


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        ("aws:s3/bucket:Bucket", set()),
        ("aws:kms/key:Key", {"kms-key-rotation", "kms-key-policy-no-public"}),
        ("aws:kms/keyPolicy:KeyPolicy", {"kms-key-policy-no-public"}),
        ("aws:secretsmanager/secretVersion:SecretVersion", {"secret-no-value-in-program"}),
        (
            "aws:secretsmanager/secret:Secret",
            {"secret-policy-not-public", "secret-customer-managed-kms", "secret-network-perimeter"},
        ),
        ("aws:lambda/function:Function", {"lambda-env-no-credentials"}),
        ("aws:iam/accessKey:AccessKey", {"iam-no-access-keys"}),
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"iam-no-broad-managed-policies"}),
        ("aws:iam/policy:Policy", {"iam-no-wildcard-actions", "iam-passrole-scoped"}),
    ],
)
def test_resource_rules_run_only_on_their_declared_types(pack, type_, expected):
    # GIVEN one resource carrying props that some rule rejects, as the given type
    resource = res(type_, "r", EVERY_TRAP)
    # WHEN Analyze checks it
    violations = pack.analyze(resource)
    # THEN only the rules that declare that type judge it
    assert {v.policy for v in violations} == expected


def _noop(resource: Resource, report: Report) -> None:
    report(resource.type)


def test_a_resource_rule_must_declare_its_types():
    declare = resource_rule(
        name="r",
        description="d",
        level=EnforcementLevel.MANDATORY,
        severity=Severity.LOW,
        remediation="x",
        equivalent="none",
        resource_types=(),
    )
    with pytest.raises(ValueError, match="resource rule r: resource_types must name at least one resource type"):
        declare(_noop)


def test_rules_are_resource_or_stack_rules():
    assert all(isinstance(rule, ResourceRule | StackRule) for rule in RULES)
    assert all(rule.resource_types for rule in RULES if isinstance(rule, ResourceRule))
