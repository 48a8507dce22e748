"""The bootstrap program, run offline: what the CI roles trust and what they may do, read from the recorded policies."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from offline_preview.cli import PreviewError, ProgramRun, run_program
from tests.iam_evaluation import Request, evaluate
from tests.stack_inspection import ACCOUNT, REGION, document, of_type, only

BOOTSTRAP = Path(__file__).resolve().parents[2] / "bootstrap"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:keyless-ingest/prod/weather-api-key-AbCdEf"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
STACK_ROLES = {
    f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-ingest-exec": "lambda.amazonaws.com",
    f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-cloudtrail-to-logs": "cloudtrail.amazonaws.com",
    # The Config rule's function (components/guardrails.py; prod runs configRules=existing-recorder).
    f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-env-rule-exec": "lambda.amazonaws.com",
}
TAGGED = {"aws:ResourceTag/keyless-ingest-stack": "prod"}
TAG_KEYS = {"aws:ResourceTag/keyless-ingest-stack", "aws:RequestTag/keyless-ingest-stack"}


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program(BOOTSTRAP, "prod")


def role_documents(run: ProgramRun, component: str) -> list[dict[str, Any]]:
    """Every identity policy of one CI role: its inline guard and its attached customer-managed policies."""
    documents = [document(only(run, "aws:iam/rolePolicy:RolePolicy", f"{component}-guard"))]
    documents += [document(p) for p in of_type(run, "aws:iam/policy:Policy") if p.name.startswith(f"{component}-")]
    attachments = [
        a
        for a in of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith(f"{component}-")
    ]
    assert len(attachments) == len(documents) - 1
    return documents


def allow_statements(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for d in documents for s in d["Statement"] if s["Effect"] == "Allow"]


@pytest.mark.parametrize(
    ("component", "subject"),
    [
        ("preview", "repo:example-org/keyless-ingest:pull_request"),
        ("deploy", "repo:example-org/keyless-ingest:environment:prod"),
    ],
)
def test_each_role_trusts_only_web_identity_from_the_github_provider_with_exact_aud_and_sub(run, component, subject):
    """GitHub's token: aud sts.amazonaws.com for configure-aws-credentials, sub repo:<owner>/<repo>:environment:<env>
    or :pull_request (https://docs.github.com/en/actions/reference/security/oidc)."""
    role = only(run, "aws:iam/role:Role", f"{component}-role")
    trust = document(role, "assumeRolePolicy")

    assert trust["Statement"] == [
        {
            "Sid": "OnlyTheseWorkflows",
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": subject,
                }
            },
        }
    ]
    assert role.inputs["maxSessionDuration"] == 3600
    # Outside the stack's prefix, so the stack's own IAM grants never reach the CI roles.
    assert role.inputs["name"] == f"keyless-ingest-ci-prod-{component}"


def test_the_github_provider_is_created_for_sts_when_no_arn_is_adopted(run):
    provider = only(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")

    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    for role in of_type(run, "aws:iam/role:Role"):
        assert provider.urn in role.dependencies or any(
            provider.urn in parent.dependencies for parent in run.resources if parent.urn == role.parent
        )


def test_an_adopted_provider_arn_is_used_and_none_is_created():
    adopted = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    run = run_program(BOOTSTRAP, "prod", config_overrides={"keyless-ingest-bootstrap:githubOidcProviderArn": adopted})

    assert of_type(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    trust = document(only(run, "aws:iam/role:Role", "deploy-role"), "assumeRolePolicy")
    assert trust["Statement"][0]["Principal"] == {"Federated": adopted}


def test_the_pulumi_cloud_provider_is_optional_and_names_the_organization_as_audience():
    """Pulumi Cloud: issuer https://api.pulumi.com/oidc; audience the organization for Deployments, aws:<org> for ESC
    (https://www.pulumi.com/docs/deployments/deployments/oidc/aws/, https://www.pulumi.com/docs/esc/guides/configuring-oidc/aws/)."""
    run = run_program(BOOTSTRAP, "prod", config_overrides={"keyless-ingest-bootstrap:pulumiCloudOrganization": "acme"})

    pulumi_cloud = only(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "pulumi-cloud")
    assert pulumi_cloud.inputs["url"] == "https://api.pulumi.com/oidc"
    assert pulumi_cloud.inputs["clientIdLists"] == ["acme", "aws:acme"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("githubOwner", "*", "GitHub owner '*'"),
        ("githubRepo", "app*", "GitHub repository 'app*'"),
        ("deployEnvironment", "prod*", "GitHub environment 'prod*'"),
        ("githubOidcProviderArn", f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com", "githubOidcProviderArn"),
        ("pulumiCloudOrganization", "*", "keyless-ingest-bootstrap:pulumiCloudOrganization: '*' must be exact"),
        ("pulumiCloudOrganization", "acme?", "keyless-ingest-bootstrap:pulumiCloudOrganization: 'acme?' must be"),
        ("secretName", "keyless-ingest/*", "keyless-ingest-bootstrap:secretName: 'keyless-ingest/*' must be exact"),
    ],
)
def test_a_wildcard_or_wrong_provider_in_config_fails_naming_the_key(key, value, message):
    with pytest.raises(PreviewError, match="keyless-ingest-bootstrap:") as error:
        run_program(BOOTSTRAP, "prod", config_overrides={f"keyless-ingest-bootstrap:{key}": value})
    assert message in str(error.value)


def test_pass_role_is_granted_only_on_the_stacks_roles_and_only_to_their_services(run):
    deploy = allow_statements(role_documents(run, "deploy"))
    preview = allow_statements(role_documents(run, "preview"))

    passing = [
        s
        for s in deploy
        if any(
            a.lower() in ("iam:passrole", "iam:*", "iam:pass*") for a in s["Action"] if isinstance(s["Action"], list)
        )
    ]
    passing += [s for s in deploy if s["Action"] == "iam:PassRole"]
    assert passing == [
        {
            "Sid": "PassOnlyTheStacksRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": sorted(STACK_ROLES),
            "Condition": {"StringEquals": {"iam:PassedToService": sorted(set(STACK_ROLES.values()))}},
        }
    ]
    documents = role_documents(run, "deploy")
    for role, service in STACK_ROLES.items():
        assert evaluate(documents, Request("iam:PassRole", role, {"iam:PassedToService": service})) == "allow"
        assert (
            evaluate(documents, Request("iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})) != "allow"
        )
    other = f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole"
    assert (
        evaluate(documents, Request("iam:PassRole", other, {"iam:PassedToService": "lambda.amazonaws.com"}))
        == "explicit-deny"
    )
    assert not [s for s in preview if "iam:PassRole" in json.dumps(s["Action"])]


@pytest.mark.parametrize("component", ["preview", "deploy"])
def test_neither_role_can_read_the_api_key_and_the_guard_denies_it_explicitly(run, component):
    """An explicit Deny beats any Allow (IAM policy evaluation logic). kms:ViaService is the service that calls KMS
    on the caller's behalf (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service)."""
    documents = role_documents(run, component)
    get_value = Request("secretsmanager:GetSecretValue", SECRET)
    via_secrets_manager = Request(
        "kms:Decrypt", KEY, {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com", **TAGGED}
    )
    allows_only = [d for d in documents if all(s["Effect"] == "Allow" for s in d["Statement"])]

    # The contract's grants hold no data read at all: the secret's value is not among them ...
    assert evaluate(allows_only, get_value) == "implicit-deny"
    # ... and the guard's explicit Deny stops it whatever is granted later, on the secret and on its key.
    assert evaluate(documents, get_value) == "explicit-deny"
    assert evaluate(documents, via_secrets_manager) == "explicit-deny"


def test_the_deploy_role_can_create_and_update_the_secret_it_cannot_read(run):
    documents = role_documents(run, "deploy")

    for action in ("secretsmanager:CreateSecret", "secretsmanager:UpdateSecret", "secretsmanager:PutResourcePolicy"):
        assert evaluate(documents, Request(action, SECRET)) == "allow", action
    assert evaluate(documents, Request("kms:PutKeyPolicy", KEY, TAGGED)) == "allow"
    assert (
        evaluate(documents, Request("kms:PutKeyPolicy", KEY, {"aws:ResourceTag/keyless-ingest-stack": "other"}))
        == "implicit-deny"
    )


def test_iam_writes_outside_the_stack_prefix_and_aws_managed_attachments_are_denied(run):
    """The Denys a permissions boundary would provide: iam:PolicyARN carries the attached policy's ARN
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html)."""
    documents = role_documents(run, "deploy")
    stack_role = f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-ingest-exec"
    admin = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}

    assert evaluate(documents, Request("iam:PutRolePolicy", stack_role)) == "allow"
    assert (
        evaluate(documents, Request("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/escape-admin")) == "explicit-deny"
    )
    assert evaluate(documents, Request("iam:CreatePolicy", f"arn:aws:iam::{ACCOUNT}:policy/escape")) == "explicit-deny"
    assert evaluate(documents, Request("iam:AttachRolePolicy", stack_role, admin)) == "explicit-deny"
    assert evaluate(documents, Request("iam:PutRolePermissionsBoundary", stack_role, admin)) == "explicit-deny"
    for own in ("keyless-ingest-ci-prod-deploy", "keyless-ingest-ci-prod-preview"):
        for action in ("iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
            assert evaluate(documents, Request(action, f"arn:aws:iam::{ACCOUNT}:role/{own}")) == "explicit-deny"


def test_the_preview_role_holds_only_read_and_list_actions(run):
    from policy_sentry.querying.actions import get_action_data

    levels = set()
    for statement in allow_statements(role_documents(run, "preview")):
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            service, _, name = action.partition(":")
            levels |= {entry["access_level"] for entry in get_action_data(service, name)[service]}
    assert levels == {"Read", "List"}


def test_generated_ids_are_granted_only_through_the_stack_tag(run):
    on_generated = [
        statement
        for statement in allow_statements(role_documents(run, "deploy"))
        for arn in _as_list(statement["Resource"])
        if re.fullmatch(r"arn:aws:(ec2|kms):[^:]+:\d+:[a-z-]+/\*", arn)
    ]
    tagged = [s for s in on_generated if TAG_KEYS & set((s.get("Condition") or {}).get("StringEquals", {}))]
    untagged = {action for s in on_generated if s not in tagged for action in _as_list(s["Action"])}

    # Every grant on a generated id carries the stack tag, on the request (create) or on the resource ...
    assert untagged == set()
    # ... and there are many: the prod plan creates a VPC, its subnets, gateways, endpoints and KMS keys.
    assert len(tagged) >= 20


def test_the_bootstrap_program_passes_the_pack_with_the_prod_config(capsys):
    from offline_preview.cli import main

    assert main(["--program", str(BOOTSTRAP), "--stack", "prod"]) == 0
    assert "0 mandatory" in capsys.readouterr().out


@pytest.mark.parametrize("component", ["preview", "deploy"])
def test_each_role_fits_iams_policy_size_and_attachment_quotas(run, component):
    """IAM quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): a managed policy
    holds at most 6,144 characters and a role's inline policies 10,240 (whitespace not counted); a role takes 10
    managed policies by default."""
    policies = [p for p in of_type(run, "aws:iam/policy:Policy") if p.name.startswith(f"{component}-")]
    guard = only(run, "aws:iam/rolePolicy:RolePolicy", f"{component}-guard")

    assert 1 <= len(policies) <= 10
    assert max(len("".join(str(p.inputs["policy"]).split())) for p in policies) <= 6144
    assert len("".join(str(guard.inputs["policy"]).split())) <= 10240


def test_the_bootstrap_program_targets_dev_from_its_generated_file():
    """Issue 16 item 4: dev has its own permissions file; the roles are named for the target stack."""
    run = run_program(BOOTSTRAP, "prod", config_overrides={"keyless-ingest-bootstrap:targetStack": "dev"})

    names = {role.inputs["name"] for role in of_type(run, "aws:iam/role:Role")}
    assert names == {"keyless-ingest-ci-dev-deploy", "keyless-ingest-ci-dev-preview"}
    guard = document(only(run, "aws:iam/rolePolicy:RolePolicy", "deploy-guard"))
    assert any(
        statement.get("Resource")
        == f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:keyless-ingest/dev/weather-api-key-??????"
        for statement in guard["Statement"]
    )
