"""Bootstrap of keyless delivery: OIDC providers and the CI roles of one keyless-ingest stack.

An account administrator runs this once per account (`cd bootstrap && pulumi up`); afterwards every preview and
deploy of the stack runs from GitHub Actions through these roles, with no access key anywhere. The roles' grants
come from `permissions/<stack>.json`, generated from the stack's own plan by `python -m bootstrap.deploy_grants`.
This is the only module of the bootstrap program that reads `pulumi.Config`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

# The program shares the repository's components; the CLI runs it with bootstrap/ as the working directory.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from components.aws_context import AwsContext  # noqa: E402
from components.deploy_policies import (  # noqa: E402
    GITHUB_AUDIENCE,
    GITHUB_ISSUER,
    PULUMI_ISSUER,
    SubjectError,
    github_subject,
    load_permissions,
    oidc_provider_arn,
    require_no_wildcard,
    role_policies,
)
from components.deploy_role import DeployRole  # noqa: E402

PERMISSIONS_DIR = Path(__file__).resolve().parent / "permissions"
TARGET_PROJECT = "keyless-ingest"


class ConfigError(pulumi.RunError):
    """A bootstrap setting is missing or invalid; the message names the key."""


@dataclass(frozen=True)
class BootstrapSettings:
    github_owner: str
    github_repo: str
    deploy_environment: str
    target_stack: str
    secret_name: str
    github_provider_arn: str
    pulumi_organization: str


def read_settings(config: pulumi.Config, project: str) -> BootstrapSettings:
    target_stack = config.get("targetStack") or "prod"
    settings = BootstrapSettings(
        github_owner=config.require("githubOwner"),
        github_repo=config.require("githubRepo"),
        deploy_environment=config.get("deployEnvironment") or "prod",
        target_stack=target_stack,
        secret_name=config.get("secretName") or f"{TARGET_PROJECT}/{target_stack}/weather-api-key",
        github_provider_arn=config.get("githubOidcProviderArn") or "",
        pulumi_organization=config.get("pulumiCloudOrganization") or "",
    )
    try:
        github_subject(settings.github_owner, settings.github_repo, environment=settings.deploy_environment)
    except SubjectError as exc:
        raise ConfigError(f"{project}:githubOwner/githubRepo/deployEnvironment: {exc}") from exc
    try:
        require_no_wildcard(f"{project}:pulumiCloudOrganization", settings.pulumi_organization)
        require_no_wildcard(f"{project}:secretName", settings.secret_name)
    except SubjectError as exc:
        raise ConfigError(str(exc)) from exc
    if settings.github_provider_arn and not settings.github_provider_arn.endswith(f":oidc-provider/{GITHUB_ISSUER}"):
        raise ConfigError(f"{project}:githubOidcProviderArn: must be the ARN of the {GITHUB_ISSUER} provider")
    return settings


def current_aws_context() -> AwsContext:
    partition = aws.get_partition()
    return AwsContext(
        partition=partition.partition,
        region=aws.get_region().region,
        account_id=aws.get_caller_identity().account_id,
        dns_suffix=partition.dns_suffix,
    )


def github_provider(settings: BootstrapSettings, context: AwsContext) -> tuple[str, list[pulumi.Resource]]:
    """The provider's ARN (known at preview either way) and what the roles must wait for."""
    if settings.github_provider_arn:
        return settings.github_provider_arn, []
    provider = aws.iam.OpenIdConnectProvider(
        "github-actions",
        url=f"https://{GITHUB_ISSUER}",
        client_id_lists=[GITHUB_AUDIENCE],
    )
    return oidc_provider_arn(context, GITHUB_ISSUER), [provider]


def main() -> None:
    project = pulumi.get_project()
    settings = read_settings(pulumi.Config(), project)
    context = current_aws_context()
    permissions_file = PERMISSIONS_DIR / f"{settings.target_stack}.json"
    if not permissions_file.is_file():
        raise ConfigError(
            f"{project}:targetStack: {permissions_file} does not exist; generate it with "
            f"python -m bootstrap.deploy_grants --stack {settings.target_stack}"
        )
    permissions = load_permissions(permissions_file.read_text(encoding="utf-8"))
    provider_arn, provider_deps = github_provider(settings, context)

    if settings.pulumi_organization:
        organization = settings.pulumi_organization
        aws.iam.OpenIdConnectProvider(
            "pulumi-cloud",
            url=f"https://{PULUMI_ISSUER}",
            client_id_lists=[organization, f"aws:{organization}"],
        )

    preview_managed, preview_inline = role_policies(permissions, context, settings.secret_name, deploy=False)
    deploy_managed, deploy_inline = role_policies(permissions, context, settings.secret_name, deploy=True)
    role_base = f"{TARGET_PROJECT}-ci-{settings.target_stack}"
    wait = pulumi.ResourceOptions(depends_on=provider_deps)
    preview = DeployRole(
        "preview",
        {
            "role_name": f"{role_base}-preview",
            "description": f"pulumi preview of {TARGET_PROJECT} {settings.target_stack} from pull requests",
            "oidc_provider_arn": provider_arn,
            "oidc_issuer": GITHUB_ISSUER,
            "audience": GITHUB_AUDIENCE,
            "subjects": [github_subject(settings.github_owner, settings.github_repo, pull_request=True)],
            "permission_policies": [document.to_json() for document in preview_managed],
            "inline_policy": preview_inline.to_json(),
        },
        opts=wait,
    )
    deploy = DeployRole(
        "deploy",
        {
            "role_name": f"{role_base}-deploy",
            "description": f"pulumi up of {TARGET_PROJECT} {settings.target_stack} from its protected environment",
            "oidc_provider_arn": provider_arn,
            "oidc_issuer": GITHUB_ISSUER,
            "audience": GITHUB_AUDIENCE,
            "subjects": [
                github_subject(settings.github_owner, settings.github_repo, environment=settings.deploy_environment)
            ],
            "permission_policies": [document.to_json() for document in deploy_managed],
            "inline_policy": deploy_inline.to_json(),
        },
        opts=wait,
    )
    pulumi.export("githubOidcProviderArn", provider_arn)
    pulumi.export("previewRoleArn", preview.arn)
    pulumi.export("deployRoleArn", deploy.arn)


main()
