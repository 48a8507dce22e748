"""DeployRole and the subject helpers: exact subjects, one provider, at most one hour."""

from __future__ import annotations

import json
import re

import pytest
from pulumi.provider.experimental.component import ComponentProvider

from components.deploy_policies import (
    GITHUB_ISSUER,
    PULUMI_ISSUER,
    SubjectError,
    github_subject,
    require_exact_subject,
    split_documents,
    trust_policy,
)
from components.deploy_role import DeployRole, DeployRoleArgs
from components.iam import PolicyDocument, Statement
from tests.stack_inspection import ACCOUNT, build_error, document, of_type, only, run_components

PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_ISSUER}"
ALLOW = PolicyDocument((Statement("A", ("s3:GetObject",), ("arn:aws:s3:::b/*",)),)).to_json()


def role_args(**overrides) -> DeployRoleArgs:
    args: DeployRoleArgs = {
        "role_name": "ci-deploy",
        "description": "test",
        "oidc_provider_arn": PROVIDER,
        "oidc_issuer": GITHUB_ISSUER,
        "audience": "sts.amazonaws.com",
        "subjects": ["repo:acme/app:environment:prod"],
        "permission_policies": [ALLOW, ALLOW],
        "inline_policy": ALLOW,
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


def test_the_role_trusts_the_provider_with_exact_conditions_and_attaches_each_policy():
    run = run_components(lambda: DeployRole("ci", role_args()))

    role = only(run, "aws:iam/role:Role")
    assert role.inputs["maxSessionDuration"] == 3600
    [statement] = document(role, "assumeRolePolicy")["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(statement["Condition"]) == {"StringEquals"}
    assert len(of_type(run, "aws:iam/policy:Policy")) == 2
    assert len(of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")) == 2
    assert only(run, "aws:iam/rolePolicy:RolePolicy").inputs["policy"] == ALLOW


@pytest.mark.parametrize("session", [899, 3601, 43200])
def test_a_session_longer_than_an_hour_or_too_short_is_refused(session):
    error = build_error(lambda: DeployRole("ci", role_args(max_session_seconds=session)))
    assert isinstance(error, ValueError)
    assert re.search("max_session_seconds", str(error))


@pytest.mark.parametrize(
    "subject",
    [
        "*",
        "repo:acme/*",
        "repo:*/app:*",
        "repo:acme/app:*",
        "repo:acme/app",
        "repo:acme/app:ref:refs/heads/*",
        "project_path:acme/app:ref_type:branch:ref:main",
    ],
)
def test_github_subjects_that_match_more_than_one_workflow_are_refused(subject):
    with pytest.raises(SubjectError):
        require_exact_subject(GITHUB_ISSUER, subject)


def test_github_subjects_are_built_exactly_from_owner_repo_and_one_scope():
    """Formats from https://docs.github.com/en/actions/reference/security/oidc (subject claim examples)."""
    assert github_subject("acme", "app", environment="prod") == "repo:acme/app:environment:prod"
    assert github_subject("acme", "app", branch="main") == "repo:acme/app:ref:refs/heads/main"
    assert github_subject("acme", "app", pull_request=True) == "repo:acme/app:pull_request"
    with pytest.raises(SubjectError, match="exactly one"):
        github_subject("acme", "app", environment="prod", branch="main")
    with pytest.raises(SubjectError, match="exactly one"):
        github_subject("acme", "app")
    with pytest.raises(SubjectError, match="owner"):
        github_subject("ac*", "app", branch="main")


def test_a_pulumi_cloud_subject_must_name_org_project_and_stack():
    """Format from https://www.pulumi.com/docs/deployments/deployments/oidc/aws/."""
    good = "pulumi:deploy:org:acme:project:keyless-ingest:stack:prod:operation:update:scope:write"
    assert require_exact_subject(PULUMI_ISSUER, good) == good
    with pytest.raises(SubjectError):
        require_exact_subject(PULUMI_ISSUER, "pulumi:deploy:org:acme")


def test_trust_needs_an_exact_audience_and_a_subject():
    with pytest.raises(SubjectError, match="at least one subject"):
        trust_policy(PROVIDER, GITHUB_ISSUER, "sts.amazonaws.com", [])
    with pytest.raises(SubjectError, match="audience"):
        trust_policy(PROVIDER, GITHUB_ISSUER, "*", ["repo:acme/app:pull_request"])


def test_documents_are_split_under_the_managed_policy_limit_and_long_statements_by_action():
    actions = tuple(f"ec2:DescribeThing{n:04d}" for n in range(600))
    documents = split_documents([Statement("Big", actions, ("*",))], limit=6144)

    # 600 actions of 24 characters each (`"ec2:DescribeThing0000",`) are 14,400 characters: more than two documents of
    # 6,144 hold, and three hold them with room for the statement around them.
    assert len(documents) == 3
    assert [a for d in documents for s in d.statements for a in s.actions] == list(actions)
    assert all(len("".join(d.to_json().split())) <= 6144 for d in documents)


def test_the_component_is_hostable_as_a_multi_language_component():
    """The schema the component host would serve: every DeployRoleArgs field an input (camelCase), required unless
    NotRequired, and both outputs, each with the description a generated SDK shows."""
    text = ComponentProvider([DeployRole], "keyless-ingest").schema
    assert text is not None
    schema = json.loads(text)

    resource = schema["resources"]["keyless-ingest:index:DeployRole"]
    inputs, outputs = resource["inputProperties"], resource["properties"]
    assert resource["isComponent"] is True
    assert set(inputs) == {
        "roleName",
        "description",
        "oidcProviderArn",
        "oidcIssuer",
        "audience",
        "subjects",
        "permissionPolicies",
        "inlinePolicy",
        "maxSessionSeconds",
    }
    assert set(resource["requiredInputs"]) == set(inputs) - {"maxSessionSeconds"}
    assert set(outputs) == set(resource["required"]) == {"arn", "name"}
    assert [name for name, spec in {**inputs, **outputs}.items() if not spec.get("description")] == []
