"""Issue 23, IAM, trust, KMS and secrets: the classes a broader review got through, each with fail fixtures and
legitimate look-alikes, through the pack process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from mock_engine.recorded import RecordedResource
from tests.policies.builders import ACCOUNT, UNKNOWN, arn, doc, found, res

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_LOGS = "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess"
MANAGED = "iam-no-broad-managed-policies"
KNOWN = "policy-known-at-preview"


@pytest.mark.parametrize(
    ("type_", "prop", "owner"),
    [
        ("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "policyArns", "roleName"),
        ("aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive", "policyArns", "groupName"),
        ("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive", "policyArns", "userName"),
        (
            "aws:ssoadmin/managedPolicyAttachmentsExclusive:ManagedPolicyAttachmentsExclusive",
            "managedPolicyArns",
            "permissionSetArn",
        ),
    ],
)
def test_exclusive_attachments_are_read_like_managed_policy_arns(pack, type_, prop, owner):
    """pulumi-aws 7 recommends `RolePolicyAttachmentsExclusive` (policyArns) over a role's managedPolicyArns
    (https://www.pulumi.com/registry/packages/aws/api-docs/iam/rolepolicyattachmentsexclusive)."""
    broad = res(type_, "broad", {owner: "ci", prop: [READ_LOGS, ADMIN]})
    narrow = res(type_, "narrow", {owner: "ci", prop: [READ_LOGS]})
    assert found(pack, broad, narrow, policy=MANAGED) == {(MANAGED, "broad")}


def test_an_unknown_exclusive_attachment_arn_passes_only_from_a_policy_of_this_stack(pack):
    own = res("aws:iam/policy:Policy", "own", {"policy": doc({"Effect": "Allow", "Action": "s3:ListBucket"})})
    type_ = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
    from_stack = res(type_, "from-stack", {"roleName": "r", "policyArns": [UNKNOWN]}, prop_deps={"policyArns": [own]})
    from_outside = res(type_, "from-outside", {"roleName": "r", "policyArns": [UNKNOWN]})
    assert found(pack, own, from_stack, from_outside, policy=KNOWN) == {(KNOWN, "from-outside")}


def role_policy(name: str, condition: Mapping[str, Any]) -> RecordedResource:
    statement = {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": arn("secretsmanager", "secret:*"),
        "Condition": condition,
    }
    return res("aws:iam/rolePolicy:RolePolicy", name, {"role": "r", "policy": doc(statement)})


def test_a_resource_condition_whose_value_covers_the_whole_type_does_not_narrow(pack):
    rule = "iam-no-broad-resource-arns"
    cases = [
        # fail: a wildcard right after the type keyword, or after a short prefix, matches every secret or VPC
        role_policy("secret-star", {"ArnLike": {"secretsmanager:SecretId": arn("secretsmanager", "secret:*")}}),
        role_policy("secret-a", {"ArnLike": {"secretsmanager:SecretId": arn("secretsmanager", "secret:a*")}}),
        role_policy("vpc-star", {"ArnLike": {"ec2:Vpc": arn("ec2", "vpc/*")}}),
        role_policy("tag-star", {"StringLike": {"aws:ResourceTag/team": "*"}}),
        # pass: a named secret with its suffix wildcard, a named VPC, a tag value
        role_policy("secret-named", {"ArnLike": {"secretsmanager:SecretId": arn("secretsmanager", "secret:db-*")}}),
        role_policy("vpc-named", {"ArnEquals": {"ec2:Vpc": arn("ec2", "vpc/vpc-0a1b2c3d4e5f60718")}}),
        role_policy("tag-prefix", {"StringLike": {"aws:ResourceTag/team": "payments-*"}}),
    ]
    assert found(pack, *cases, policy=rule) == {
        (rule, "secret-star"),
        (rule, "secret-a"),
        (rule, "vpc-star"),
        (rule, "tag-star"),
    }


def key(name: str, type_: str, condition: Mapping[str, Any] | None) -> RecordedResource:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    if condition is not None:
        statement["Condition"] = condition
    return res(type_, name, {"enableKeyRotation": True, "policy": doc(statement)})


def test_a_caller_condition_whose_value_covers_every_id_does_not_restrict(pack):
    """`aws:SourceVpce "vpce-*"` matches every VPC endpoint of every account: as public as no condition."""
    rule = "kms-key-policy-no-public"
    k = "aws:kms/key:Key"
    cases = [
        key("vpce-star", k, {"StringLike": {"aws:SourceVpce": "vpce-*"}}),
        key("vpce-short", k, {"StringLike": {"aws:SourceVpce": "vpce-0*"}}),
        key("role-star", k, {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/*"}}),
        key("vpce-exact", k, {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}}),
        key("role-prefix", k, {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ci-*"}}),
        key("org", k, {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
    ]
    assert found(pack, *cases, policy=rule) == {(rule, "vpce-star"), (rule, "vpce-short"), (rule, "role-star")}


@pytest.mark.parametrize(
    "type_",
    [
        "aws:kms/replicaKey:ReplicaKey",
        "aws:kms/externalKey:ExternalKey",
        "aws:kms/replicaExternalKey:ReplicaExternalKey",
    ],
)
def test_replica_and_external_keys_carry_their_own_policy(pack, type_):
    """Each of these resources sets the key policy of its own key (pulumi-aws `policy` input)."""
    rule = "kms-key-policy-no-public"
    public = key("public", type_, None)
    restricted = key("restricted", type_, {"StringEquals": {"kms:CallerAccount": ACCOUNT}})
    assert found(pack, public, restricted, policy=rule) == {(rule, "public")}


def test_an_unknown_replica_or_external_key_policy_is_a_violation(pack):
    unknown = res("aws:kms/replicaKey:ReplicaKey", "unknown", {"policy": UNKNOWN})
    assert found(pack, unknown, policy=KNOWN) == {(KNOWN, "unknown")}


SECRET = "aws:secretsmanager/secret:Secret"
ALIAS = arn("kms", "alias/keyless-ingest-prod-secret")


def test_a_secret_replica_without_a_key_uses_the_aws_managed_key(pack):
    """ "If you don't include this field, Secrets Manager uses aws/secretsmanager" (Secrets Manager API reference,
    ReplicaRegionType.KmsKeyId: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ReplicaRegionType.html).
    """
    rule = "secret-customer-managed-kms"
    replica_key = arn("kms", "alias/keyless-ingest-prod-secret", region="eu-central-1")
    cases = [
        res(SECRET, "no-key", {"name": "a", "kmsKeyId": ALIAS, "replicas": [{"region": "eu-central-1"}]}),
        res(
            SECRET,
            "aws-key",
            {
                "name": "b",
                "kmsKeyId": ALIAS,
                "replicas": [{"region": "eu-central-1", "kmsKeyId": "alias/aws/secretsmanager"}],
            },
        ),
        res(
            SECRET,
            "own-key",
            {"name": "c", "kmsKeyId": ALIAS, "replicas": [{"region": "eu-central-1", "kmsKeyId": replica_key}]},
        ),
        res(SECRET, "no-replica", {"name": "d", "kmsKeyId": ALIAS}),
    ]
    assert found(pack, *cases, policy=rule) == {(rule, "no-key"), (rule, "aws-key")}


def test_an_unknown_replica_key_passes_only_from_a_key_of_this_stack(pack):
    replica = res("aws:kms/replicaKey:ReplicaKey", "replica", {"primaryKeyArn": UNKNOWN, "policy": doc()})
    replicas = [{"region": "eu-central-1", "kmsKeyId": UNKNOWN}]
    own = res(SECRET, "own", {"name": "a", "kmsKeyId": ALIAS, "replicas": replicas}, prop_deps={"replicas": [replica]})
    outside = res(SECRET, "outside", {"name": "b", "kmsKeyId": ALIAS, "replicas": replicas})
    assert (KNOWN, "outside") in found(pack, replica, own, outside, policy=KNOWN)
    assert (KNOWN, "own") not in found(pack, replica, own, outside, policy=KNOWN)


def test_a_write_only_secret_string_is_still_written_from_the_program(pack):
    rule = "secret-no-value-in-program"
    version = "aws:secretsmanager/secretVersion:SecretVersion"
    write_only = res(version, "write-only", {"secretId": "s", "secretStringWo": UNKNOWN, "secretStringWoVersion": 1})
    rotation_only = res(version, "labels", {"secretId": "s", "versionStages": ["AWSCURRENT"]})
    assert found(pack, write_only, rotation_only, policy=rule) == {(rule, "write-only")}


def provider(url: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}"


def oidc_role(name: str, url: str, condition: Mapping[str, Any]) -> RecordedResource:
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": provider(url)},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition,
    }
    return res("aws:iam/role:Role", name, {"name": name, "assumeRolePolicy": doc(statement)})


@pytest.mark.parametrize(
    ("url", "aud", "sub"),
    [
        # GitHub Enterprise Cloud with a custom issuer, https://token.actions.githubusercontent.com/<enterprise slug>
        # (REST API "Set the GitHub Actions OIDC custom issuer policy for an enterprise", include_enterprise_slug:
        # https://docs.github.com/en/enterprise-cloud@latest/rest/actions/oidc); the subject format is unchanged.
        ("token.actions.githubusercontent.com/acme-corp", "sts.amazonaws.com", "repo:acme/app:environment:prod"),
        # A self-managed GitLab: the issuer is the instance's own URL (GitLab "OpenID Connect (OIDC) Authentication
        # Using ID Tokens"), the subject format is gitlab.com's.
        ("gitlab.acme.example", "https://gitlab.acme.example", "project_path:platform/app:ref_type:branch:ref:main"),
        (
            "code.acme.example/gitlab",
            "https://code.acme.example/gitlab",
            "project_path:platform/app:ref_type:tag:ref:v1",
        ),
    ],
)
def test_issuers_with_a_path_or_their_own_host_are_still_checked(pack, url, aud, sub):
    rule = "iam-trust-oidc-subject"
    pinned = oidc_role("pinned", url, {"StringEquals": {f"{url}:aud": aud, f"{url}:sub": sub}})
    no_sub = oidc_role("no-sub", url, {"StringEquals": {f"{url}:aud": aud}})
    any_repo = oidc_role("any-repo", url, {"StringEquals": {f"{url}:aud": aud}, "StringLike": {f"{url}:sub": "*"}})
    assert found(pack, pinned, no_sub, any_repo, policy=rule) == {(rule, "no-sub"), (rule, "any-repo")}


def test_an_unrecognised_issuer_still_needs_a_subject(pack):
    """An EKS cluster's issuer (IRSA) is not in the table: its trust still needs a subject such as
    system:serviceaccount:<namespace>:<service account> (EKS user guide, "Assign IAM roles to Kubernetes service
    accounts")."""
    rule = "iam-trust-oidc-subject"
    url = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    aud = {f"{url}:aud": "sts.amazonaws.com"}
    pinned = oidc_role("pinned", url, {"StringEquals": {**aud, f"{url}:sub": "system:serviceaccount:ingest:reader"}})
    no_sub = oidc_role("no-sub", url, {"StringEquals": aud})
    if_exists = oidc_role("if-exists", url, {"StringEqualsIfExists": {f"{url}:sub": "system:serviceaccount:a:b"}})
    star = oidc_role("star", url, {"StringEquals": aud, "StringLike": {f"{url}:sub": "*"}})
    assert found(pack, pinned, no_sub, if_exists, star, policy=rule) == {
        (rule, "no-sub"),
        (rule, "if-exists"),
        (rule, "star"),
    }
