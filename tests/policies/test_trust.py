"""Trust and hand-over rules (iam-trust-*, iam-passrole-scoped) and IAM Identity Center permission sets, through the
pack process. Each issuer's claim names and subject format are cited in `keyless_guard.trust.ISSUERS`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from mock_engine.recorded import RecordedResource
from tests.policies.builders import ACCOUNT, doc, found, res

ROLE = "aws:iam/role:Role"
TRUST_RULES = {
    "iam-trust-oidc-subject",
    "iam-trust-oidc-subject-exact",
    "iam-trust-no-public-principal",
    "iam-passrole-scoped",
}
GITHUB = "token.actions.githubusercontent.com"
GITLAB = "gitlab.com"
PULUMI = "api.pulumi.com/oidc"
PULUMI_SUBJECT = "pulumi:deploy:org:acme:project:keyless-ingest:stack:prod:operation:update:scope:write"


def provider(url: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}"


def web_identity(url: str, condition: Mapping[str, Any] | None, principal: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": principal or provider(url)},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


def role(name: str, *statements: Mapping[str, Any]) -> RecordedResource:
    return res(ROLE, name, {"name": name, "assumeRolePolicy": doc(*statements)})


def trust_found(pack, *resources: RecordedResource) -> set[tuple[str, str]]:
    return {v for v in found(pack, *resources) if v[0] in TRUST_RULES}


AUD = {f"{GITHUB}:aud": "sts.amazonaws.com"}


def github(**operators: Mapping[str, Any]) -> dict[str, Any]:
    """A GitHub trust statement whose StringEquals always carries the audience."""
    condition: dict[str, Any] = {"StringEquals": dict(AUD)}
    for operator, clauses in operators.items():
        condition.setdefault(operator.replace("_", ":"), {}).update(clauses)
    return web_identity(GITHUB, condition)


def test_oidc_trust_fixtures(pack):
    # GIVEN roles trusted by CI issuers, pinned and not
    passing = [
        role("gh-exact", github(StringEquals={f"{GITHUB}:sub": "repo:acme/app:environment:prod"})),
        role(
            "gitlab-exact",
            web_identity(
                GITLAB,
                {
                    "StringEquals": {
                        f"{GITLAB}:aud": "https://gitlab.com",
                        f"{GITLAB}:sub": "project_path:group/app:ref_type:branch:ref:main",
                    }
                },
            ),
        ),
        role(
            "pulumi-exact",
            web_identity(
                PULUMI,
                {
                    "StringEquals": {
                        f"{PULUMI}:aud": "acme",
                        f"{PULUMI}:sub": PULUMI_SUBJECT,
                    },
                },
            ),
        ),
        # Not a known CI issuer (Cognito identity pools have their own rules): out of scope here.
        role(
            "cognito",
            web_identity(
                "cognito-identity.amazonaws.com",
                {"StringEquals": {"cognito-identity.amazonaws.com:aud": "eu-west-1:pool"}},
                principal="cognito-identity.amazonaws.com",
            ),
        ),
    ]
    failing = [
        role("no-sub", github()),
        role("no-aud", web_identity(GITHUB, {"StringEquals": {f"{GITHUB}:sub": "repo:acme/app:pull_request"}})),
        role("sub-star", github(StringLike={f"{GITHUB}:sub": "*"})),
        role("org-wildcard", github(StringLike={f"{GITHUB}:sub": "repo:acme/*"})),
        role("owner-wildcard", github(StringLike={f"{GITHUB}:sub": "repo:*/app:*"})),
        role("for-all-values", github(ForAllValues_StringLike={f"{GITHUB}:sub": "repo:acme/app:*"})),
        role("if-exists", github(StringLikeIfExists={f"{GITHUB}:sub": "repo:acme/app:*"})),
        role("wrong-claim", github(StringEquals={f"{GITHUB}:repository": "acme/app"})),
        role(
            "gitlab-claim-on-github",
            github(StringEquals={f"{GITLAB}:sub": "project_path:group/app:ref_type:branch:ref:main"}),
        ),
        role(
            "one-of-two-open",
            github(StringLike={f"{GITHUB}:sub": ["repo:acme/app:environment:prod", "repo:acme/*"]}),
        ),
        role(
            "gitlab-group-wildcard",
            web_identity(
                GITLAB,
                {
                    "StringEquals": {f"{GITLAB}:aud": "https://gitlab.com"},
                    "StringLike": {f"{GITLAB}:sub": "project_path:group/*"},
                },
            ),
        ),
    ]
    advisory_only = [role("gh-branch-wildcard", github(StringLike={f"{GITHUB}:sub": "repo:acme/app:*"}))]

    # WHEN the pack reads them
    violations = trust_found(pack, *passing, *failing, *advisory_only)

    # THEN exactly the unpinned ones fail, and the wildcard after a pinned repository is only advisory
    assert violations == {("iam-trust-oidc-subject", r.name) for r in failing} | {
        ("iam-trust-oidc-subject-exact", "gh-branch-wildcard")
    }


def test_the_wildcard_after_the_repository_is_reported_at_advisory_level(pack):
    from tests.policies.builders import report

    result = report(pack, role("gh-branch-wildcard", github(StringLike={f"{GITHUB}:sub": "repo:acme/app:*"})))

    assert {(v.policy, v.enforcement) for v in result.violations} == {("iam-trust-oidc-subject-exact", "advisory")}


@pytest.mark.parametrize(
    ("issuer_url", "aud", "sub"),
    [
        ("app.terraform.io", "aws.workload.identity", "organization:acme:project:infra:workspace:prod:run_phase:apply"),
        ("oidc.circleci.com/org/0f1e2d3c", "0f1e2d3c", "org/0f1e2d3c/project/9a8b7c6d/user/1234"),
        (
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
            "ari:cloud:bitbucket::workspace/0f1e2d3c",
            "{9a8b7c6d-0000-1111-2222-333344445555}:{aaaabbbb-cccc-dddd-eeee-ffff00001111}",
        ),
        (
            "agent.buildkite.com",
            "sts.amazonaws.com",
            "organization:acme:pipeline:deploy:ref:refs/heads/main:commit:abc:step:up",
        ),
    ],
)
def test_each_known_issuer_passes_pinned_and_fails_without_sub(pack, issuer_url, aud, sub):
    pinned = role(
        "pinned", web_identity(issuer_url, {"StringEquals": {f"{issuer_url}:aud": aud, f"{issuer_url}:sub": sub}})
    )
    open_role = role("open", web_identity(issuer_url, {"StringEquals": {f"{issuer_url}:aud": aud}}))
    wildcard = role(
        "wildcard",
        web_identity(
            issuer_url, {"StringEquals": {f"{issuer_url}:aud": aud}, "StringLike": {f"{issuer_url}:sub": "*"}}
        ),
    )

    assert trust_found(pack, pinned, open_role, wildcard) == {
        ("iam-trust-oidc-subject", "open"),
        ("iam-trust-oidc-subject", "wildcard"),
    }


def test_public_principal_fixtures(pack):
    everyone = {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}
    any_aws = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    passing = [
        role("org-only", {**any_aws, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}}),
        role("external-id", {**everyone, "Condition": {"StringEquals": {"sts:ExternalId": "vendor-7"}}}),
        role(
            "named",
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ops"}, "Action": "sts:AssumeRole"},
        ),
        role("deny-everyone", {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}),
    ]
    failing = [
        role("star", everyone),
        role("any-aws", any_aws),
        role("star-condition-wildcard", {**any_aws, "Condition": {"StringLike": {"aws:PrincipalArn": "*"}}}),
        role("star-unrelated-condition", {**any_aws, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
        role(
            "not-principal",
            {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"},
        ),
    ]

    assert trust_found(pack, *passing, *failing) == {("iam-trust-no-public-principal", r.name) for r in failing}


def pass_role(
    name: str, actions: object, resources: object, type_: str = "aws:iam/rolePolicy:RolePolicy"
) -> RecordedResource:
    statement = {"Effect": "Allow", "Action": actions, "Resource": resources}
    prop = "inlinePolicy" if type_.startswith("aws:ssoadmin") else "policy"
    return res(type_, name, {prop: doc(statement)})


def test_pass_role_fixtures(pack):
    stack_role = f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-ingest-exec"
    passing = [
        pass_role("named", "iam:PassRole", [stack_role]),
        pass_role("named-path", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/service-role/keyless-*"),
        pass_role("other-iam", "iam:GetRole", "*"),
    ]
    failing = [
        pass_role("star", "iam:PassRole", "*"),
        pass_role("every-role", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/*"),
        pass_role("iam-star", "iam:*", f"arn:aws:iam::{ACCOUNT}:role/*"),
        pass_role("pass-prefix", ["iam:Pass*"], "*"),
        pass_role("any-account", "iam:PassRole", "arn:aws:iam::*:role/keyless-ingest-prod-ingest-exec"),
        pass_role(
            "sso-inline", "iam:PassRole", "*", type_="aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy"
        ),
    ]

    assert trust_found(pack, *passing, *failing) == {("iam-passrole-scoped", r.name) for r in failing}


def test_sso_permission_sets_go_through_the_identity_and_managed_policy_rules(pack):
    inline = res(
        "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
        "sso-inline",
        {"inlinePolicy": doc({"Effect": "Allow", "Action": "*", "Resource": "*"})},
    )
    inline_read = res(
        "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
        "sso-inline-read",
        {"inlinePolicy": doc({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})},
    )
    admin = res(
        "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment",
        "sso-admin",
        {"managedPolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
    )
    read_only_view = res(
        "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment",
        "sso-view",
        {"managedPolicyArn": "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"},
    )
    customer = res(
        "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment",
        "sso-customer",
        {"customerManagedPolicyReference": {"name": "keyless-ingest-operators", "path": "/"}},
    )
    boundary = res(
        "aws:ssoadmin/permissionsBoundaryAttachment:PermissionsBoundaryAttachment",
        "sso-boundary",
        {"permissionsBoundary": {"managedPolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}},
    )

    assert found(pack, inline, inline_read, admin, read_only_view, customer, boundary) == {
        ("iam-no-wildcard-actions", "sso-inline"),
        ("iam-passrole-scoped", "sso-inline"),
        ("iam-no-star-resource", "sso-inline-read"),
        ("iam-no-broad-managed-policies", "sso-admin"),
    }


def test_generated_id_grants_the_bootstrap_needs_are_narrow_enough(pack):
    """Tag-on-create: ec2:CreateTags with ec2:CreateAction tags only what that Create call creates
    (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html); ec2:CreateNatGateway
    creates the `natgateway` ARN type (the Service Authorization Reference spells it without a hyphen)."""
    from tests.policies.builders import arn

    tag = {"aws:RequestTag/keyless-ingest-stack": "prod"}

    def policy(name: str, actions: list[str], resource: str, condition: Mapping[str, Any]) -> RecordedResource:
        statement = {"Effect": "Allow", "Action": actions, "Resource": [resource], "Condition": condition}
        return res("aws:iam/policy:Policy", name, {"policy": doc(statement)})

    passing = [
        policy("nat-create", ["ec2:CreateNatGateway"], arn("ec2", "natgateway/*"), {"StringEquals": tag}),
        policy(
            "tag-on-create",
            ["ec2:CreateTags"],
            arn("ec2", "vpc/*"),
            {"StringEquals": {**tag, "ec2:CreateAction": ["ec2:CreateVpc"]}},
        ),
    ]
    # ec2:AllocateAddress creates the Elastic IP (ARN type elastic-ip); tags given to kms:CreateKey are authorized as
    # kms:TagResource on at least every key of the account and Region (KMS developer guide, "Controlling access to
    # tags"), which only aws:RequestTag can pin.
    passing += [
        policy("eip-allocate", ["ec2:AllocateAddress"], arn("ec2", "elastic-ip/*"), {"StringEquals": tag}),
        policy("kms-tag-on-create", ["kms:TagResource"], arn("kms", "key/*"), {"StringEquals": tag}),
    ]
    failing = [
        policy("tags-anywhere", ["ec2:CreateTags"], arn("ec2", "vpc/*"), {"StringEquals": tag}),
        policy("nat-and-delete", ["ec2:CreateNatGateway", "ec2:DeleteNatGateway"], arn("ec2", "natgateway/*"), {}),
        policy("eip-release", ["ec2:AllocateAddress", "ec2:ReleaseAddress"], arn("ec2", "elastic-ip/*"), {}),
        policy("kms-tag-unpinned", ["kms:TagResource"], arn("kms", "key/*"), {}),
        policy(
            "kms-tag-and-delete",
            ["kms:TagResource", "kms:ScheduleKeyDeletion"],
            arn("kms", "key/*"),
            {"StringEquals": tag},
        ),
        policy("kms-tag-if-exists", ["kms:TagResource"], arn("kms", "key/*"), {"StringEqualsIfExists": tag}),
    ]

    assert {v for v in found(pack, *passing, *failing) if v[0] == "iam-no-broad-resource-arns"} == {
        ("iam-no-broad-resource-arns", r.name) for r in failing
    }
