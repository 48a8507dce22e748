"""Property-based: malformed and random props never crash the pack, and every mandatory violation says why."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyless_guard.framework import Rule
from keyless_guard.pack import RULES
from offline_preview.analyzer_client import run_pack
from tests.policies.builders import UNKNOWN, res, stack

TYPES = [
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/role:Role",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:lambda/function:Function",
    "aws:secretsmanager/secret:Secret",
    "aws:secretsmanager/secretPolicy:SecretPolicy",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:kms/key:Key",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudtrail/trail:Trail",
]
KEYS = [
    "policy", "inlinePolicies", "managedPolicyArns", "policyArn", "environment", "variables", "code", "kmsKeyId",
    "secretArn", "secretString", "enableKeyRotation", "keySpec", "serviceName", "vpcEndpointType", "privateDnsEnabled",
    "securityGroupIds", "ingress", "fromPort", "toPort", "protocol", "cidrBlocks", "retentionInDays", "name",
    "vpcConfig", "subnetIds", "loggingConfig", "logGroup", "Statement", "Effect", "Action", "Resource", "Principal",
    "Condition", "NotAction", "assumeRolePolicy", "cloudWatchLogsRoleArn",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**31), 2**31),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["*", "Allow", "Deny", "arn:aws:s3:::*", "secretsmanager:*", "tcp", "0.0.0.0/0", "{", "[]"]),
    st.sampled_from(["com.amazonaws.eu-west-1.secretsmanager", "Interface", "Gateway", 443, "ingress"]),
    st.just(UNKNOWN),
    st.builds(lambda n: "A" * n, st.integers(10_000, 200_000)),  # huge strings
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=20,
)
policy_json = trees.map(lambda t: json.dumps(t, default=str) if t is not UNKNOWN else t)
props = st.dictionaries(st.sampled_from(KEYS), st.one_of(trees, policy_json), max_size=6)
LINKS = ["securityGroupIds", "vpcId", "vpcConfig", "secretArn", "loggingConfig", "securityGroupId"]
LINKS += ["cloudWatchLogsRoleArn"]
links = st.dictionaries(st.sampled_from(LINKS), st.lists(st.integers(0, 5), max_size=3), max_size=3)
resources = st.lists(st.tuples(st.sampled_from(TYPES), props, links), min_size=1, max_size=6)

LEVELS_BY_NAME = {rule.name: rule for rule in RULES}


def _check(violations: list[Any]) -> None:
    for violation in violations:
        assert violation.policy in LEVELS_BY_NAME
        if violation.enforcement == "mandatory":
            assert violation.message.strip(), violation
        assert "could not evaluate" not in violation.message, violation


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(resources)
def test_random_props_never_crash_the_pack(pack, generated):
    # GIVEN resources of every checked type with random, malformed, unknown and huge property values
    # and related to each other through random property dependencies, so the stack rules follow them
    records: list[Any] = []
    for i, (type_, inputs, edges) in enumerate(generated):
        deps = {key: [records[j] for j in targets if j < len(records)] for key, targets in edges.items()}
        records.append(res(type_, f"r{i}", inputs, prop_deps=deps))
    # WHEN the pack analyses each and the stack (a crash would raise PolicyPackError from the gRPC error)
    report = run_pack(pack, stack(*records), {"all": "mandatory"})
    # THEN every violation comes from a known policy, and a mandatory one always says why
    _check(report.violations)


def test_rule_objects_are_unique_and_documented():
    assert len({rule.name for rule in RULES}) == len(RULES)
    assert all(isinstance(rule, Rule) and rule.equivalent and rule.remediation for rule in RULES)


def test_malformed_ingress_and_endpoint_fields_are_judged_not_crashed(pack):
    from tests.policies.test_services import network

    weird: list[dict[str, object]] = [
        {"protocol": None, "fromPort": "443", "toPort": [], "cidrBlocks": [{"a": 1}, 7], "ipv6CidrBlocks": "::/0"}
    ]
    report = run_pack(pack, stack(*network(ingress=weird)), {"all": "mandatory"})
    _check(report.violations)
    assert {v.policy for v in report.violations} == {"vpc-endpoint-sg-https-only", "lambda-log-group"}
