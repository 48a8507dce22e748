"""What the CI roles trust and may do: OIDC subjects, the plan-derived grants, PassRole and the guard Denys.

Pure functions over typed values (no Pulumi resources), so the bootstrap program, the DeployRole component and
the tests read the same documents.

Issuers, audiences and subjects, as their providers document them:

- GitHub Actions: issuer `https://token.actions.githubusercontent.com`, audience `sts.amazonaws.com` when
  aws-actions/configure-aws-credentials requests the token, subject `repo:<owner>/<repo>:environment:<name>` for a
  job bound to an environment, `repo:<owner>/<repo>:ref:refs/heads/<branch>` otherwise, and
  `repo:<owner>/<repo>:pull_request` for pull_request events.
  https://docs.github.com/en/actions/reference/security/oidc and
  https://docs.github.com/en/actions/how-tos/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services
- Pulumi Cloud: issuer `https://api.pulumi.com/oidc`, audience the Pulumi organization name for Deployments
  (`aws:<org>` for ESC's aws-login), subject `pulumi:deploy:org:<org>:project:<project>:stack:<stack>:...`.
  https://www.pulumi.com/docs/deployments/deployments/oidc/aws/ and
  https://www.pulumi.com/docs/esc/guides/configuring-oidc/aws/
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from components.aws_context import AwsContext
from components.iam import PolicyDocument, Principal, Statement

GITHUB_ISSUER: Final = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE: Final = "sts.amazonaws.com"
PULUMI_ISSUER: Final = "api.pulumi.com/oidc"
MAX_SESSION_SECONDS: Final = 3600
MANAGED_POLICY_MAX_CHARS: Final = 6144
"""IAM's limit on a customer-managed policy, whitespace excluded (IAM and STS quotas page)."""

_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_GITHUB_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
_GITHUB_NAME = re.compile(r"[A-Za-z0-9._/-]{1,255}")
_WILDCARD = re.compile(r"[*?]")


class SubjectError(ValueError):
    """A subject the trust policy would not pin to one repository and one environment or branch."""


def github_subject(
    owner: str, repo: str, *, environment: str = "", branch: str = "", pull_request: bool = False
) -> str:
    """The exact `sub` GitHub puts in a job's token: one environment, one branch, or pull_request events."""
    if not _GITHUB_OWNER.fullmatch(owner):
        raise SubjectError(f"GitHub owner {owner!r} must be a user or organization name (no wildcard)")
    if not _GITHUB_REPO.fullmatch(repo) or repo in (".", ".."):
        raise SubjectError(f"GitHub repository {repo!r} must be a repository name (no wildcard)")
    chosen = [kind for kind, value in (("environment", environment), ("branch", branch)) if value]
    if pull_request:
        chosen.append("pull_request")
    if len(chosen) != 1:
        raise SubjectError(f"repo:{owner}/{repo}: choose exactly one of environment, branch or pull_request")
    for kind, value in (("environment", environment), ("branch", branch)):
        if value and not _GITHUB_NAME.fullmatch(value):
            raise SubjectError(f"GitHub {kind} {value!r} may hold only letters, digits and ._/- (no wildcard)")
    base = f"repo:{owner}/{repo}"
    if environment:
        return f"{base}:environment:{environment}"
    if branch:
        return f"{base}:ref:refs/heads/{branch}"
    return f"{base}:pull_request"


def require_no_wildcard(setting: str, value: str) -> str:
    """Refuse `*` and `?` in a value a trust or guard policy names exactly (an audience, a secret's name): IAM would
    read them as wildcards, widening the policy to every organization or every secret."""
    if _WILDCARD.search(value):
        raise SubjectError(f"{setting}: {value!r} must be exact, without * or ?")
    return value


def require_exact_subject(issuer: str, subject: str) -> str:
    """Reject a subject that matches more than one workload: a wildcard, or for GitHub a malformed repo part."""
    if not subject or _WILDCARD.search(subject):
        raise SubjectError(f"subject {subject!r} must be exact: StringEquals on a value without * or ?")
    if issuer == GITHUB_ISSUER:
        match = re.fullmatch(r"repo:([^/:]+)/([^/:]+):(environment:.+|ref:refs/(heads|tags)/.+|pull_request)", subject)
        if match is None:
            raise SubjectError(
                f"GitHub subject {subject!r} must be repo:<owner>/<repo>:environment:<name>, "
                "repo:<owner>/<repo>:ref:refs/heads/<branch> or repo:<owner>/<repo>:pull_request"
            )
    if issuer == PULUMI_ISSUER and not re.fullmatch(r"pulumi:deploy:org:[^:]+:project:[^:]+:stack:[^:]+:.+", subject):
        raise SubjectError(f"Pulumi Cloud subject {subject!r} must name org, project and stack")
    return subject


def oidc_provider_arn(context: AwsContext, issuer: str) -> str:
    """IAM names an OIDC provider by its URL without the scheme: one provider per URL and account."""
    return context.arn("iam", f"oidc-provider/{issuer}", regional=False)


def trust_policy(provider_arn: str, issuer: str, audience: str, subjects: Sequence[str]) -> PolicyDocument:
    """Only AssumeRoleWithWebIdentity from that provider, `aud` and `sub` both with StringEquals."""
    if not subjects:
        raise SubjectError("a CI role needs at least one subject")
    if not audience or _WILDCARD.search(audience):
        raise SubjectError(f"audience {audience!r} must be exact")
    exact = tuple(require_exact_subject(issuer, subject) for subject in subjects)
    return PolicyDocument(
        (
            Statement(
                sid="OnlyTheseWorkflows",
                principal=Principal.federated(provider_arn),
                actions=("sts:AssumeRoleWithWebIdentity",),
                conditions={"StringEquals": {f"{issuer}:aud": audience, f"{issuer}:sub": exact}},
            ),
        )
    )


def load_permissions(path_text: str) -> dict[str, Any]:
    """The generated permissions file (bootstrap.deploy_grants.generate); a clear error if it is not one."""
    document = json.loads(path_text)
    for key in ("namePrefix", "stackTag", "stackRoles", "deploy", "preview"):
        if key not in document:
            raise ValueError(f"permissions file lacks {key!r}: regenerate it with python -m bootstrap.deploy_grants")
    return dict(document)


def _resolve(value: str, context: AwsContext) -> str:
    return (
        value.replace("${Partition}", context.partition)
        .replace("${Region}", context.region)
        .replace("${Account}", context.account_id)
    )


def _resolve_value(value: Any, context: AwsContext) -> Any:
    """A condition value with this account's values (an `iam:PolicyARN` carries `${Partition}`)."""
    if isinstance(value, str):
        return _resolve(value, context)
    if isinstance(value, list):
        return [_resolve(item, context) if isinstance(item, str) else item for item in value]
    return value


def reviewed_managed_policies(entries: Sequence[Mapping[str, Any]], context: AwsContext) -> tuple[str, ...]:
    """The AWS-managed policies the grants let an attach action attach (the contract's `policy-arn:` rows)."""
    found: set[str] = set()
    for entry in entries:
        if not set(entry["Action"]) & set(ATTACH_ACTIONS):
            continue
        value = ((entry.get("Condition") or {}).get("StringEquals") or {}).get("iam:PolicyARN")
        for arn in [value] if isinstance(value, str) else value or []:
            found.add(_resolve(arn, context))
    return tuple(sorted(found))


def grant_statements(entries: Sequence[Mapping[str, Any]], context: AwsContext) -> tuple[Statement, ...]:
    """The file's statements with this account's partition, region and account in their ARNs."""
    statements = []
    for entry in entries:
        conditions = {
            operator: {key: _resolve_value(value, context) for key, value in keys.items()}
            for operator, keys in (entry.get("Condition") or {}).items()
        }
        statements.append(
            Statement(
                sid=entry["Sid"],
                actions=tuple(entry["Action"]),
                resources=tuple(_resolve(arn, context) for arn in entry["Resource"]),
                conditions=conditions,
            )
        )
    return tuple(statements)


def split_documents(statements: Sequence[Statement], limit: int = MANAGED_POLICY_MAX_CHARS) -> list[PolicyDocument]:
    """Pack statements into as few documents as fit IAM's size limit for a managed policy, in order.

    A statement too long for one document is cut into parts by action (same resources, same conditions).
    """
    documents: list[list[Statement]] = [[]]
    for whole in statements:
        for statement in _fit(whole, limit):
            candidate = [*documents[-1], statement]
            if documents[-1] and _size(PolicyDocument(tuple(candidate))) > limit:
                documents.append([statement])
            else:
                documents[-1] = candidate
    return [PolicyDocument(tuple(chunk)) for chunk in documents if chunk]


def _fit(statement: Statement, limit: int) -> list[Statement]:
    if _size(PolicyDocument((statement,))) <= limit:
        return [statement]
    if len(statement.actions) < 2:
        raise ValueError(f"statement {statement.sid} alone exceeds {limit} characters")
    parts: list[Statement] = []
    actions = list(statement.actions)
    while actions:
        count = len(actions)
        while count > 1 and _size(PolicyDocument((replace(statement, actions=tuple(actions[:count])),))) > limit:
            count //= 2
        parts.append(replace(statement, sid=f"{statement.sid}Part{len(parts) + 1}", actions=tuple(actions[:count])))
        actions = actions[count:]
    return parts


def _size(document: PolicyDocument) -> int:
    return len(re.sub(r"\s", "", document.to_json()))


def pass_role_statement(stack_roles: Sequence[Mapping[str, Any]], context: AwsContext) -> Statement:
    """iam:PassRole on this stack's roles only, and only to the services their trust policies name."""
    arns = tuple(_resolve(role["arn"], context) for role in stack_roles)
    services = tuple(sorted({service for role in stack_roles for service in role["services"]}))
    if not arns:
        raise ValueError("the stack has no role to pass")
    return Statement(
        sid="PassOnlyTheStacksRoles",
        actions=("iam:PassRole",),
        resources=arns,
        conditions={"StringEquals": {"iam:PassedToService": services}},
    )


IAM_WRITES: Final = (
    "iam:AttachRolePolicy",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:CreateRole",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PassRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:SetDefaultPolicyVersion",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
"""Every IAM action that creates, changes or hands over a role or a policy."""

ATTACH_ACTIONS: Final = (
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutUserPermissionsBoundary",
)


def role_policies(
    permissions: Mapping[str, Any], context: AwsContext, secret_name: str, *, deploy: bool
) -> tuple[list[PolicyDocument], PolicyDocument]:
    """One CI role's policies from the generated permissions file: the managed documents (the file's `deploy` or
    `preview` grants, split to IAM's size limit) and the inline document (PassRole for the deploy role, then the
    guard Denys). The bootstrap program attaches exactly these, and the tests evaluate exactly these."""
    reviewed = reviewed_managed_policies(permissions["deploy"], context)
    guards = guard_statements(context, permissions["namePrefix"], secret_name, reviewed)
    managed = split_documents(grant_statements(permissions["deploy" if deploy else "preview"], context))
    inline = (pass_role_statement(permissions["stackRoles"], context), *guards) if deploy else guards
    return managed, PolicyDocument(inline)


def guard_statements(
    context: AwsContext, name_prefix: str, secret_name: str, reviewed_policies: Sequence[str] = ()
) -> tuple[Statement, ...]:
    """The Denys that hold whatever the grants say (an explicit Deny wins over any Allow):

    - no IAM role or policy write outside `role/<prefix>-*` and `policy/<prefix>-*` (this is what a permissions
      boundary would cap; the CI roles themselves are named outside the prefix, so they cannot edit themselves);
    - no AWS-managed policy attached to anything (`iam:PolicyARN` is `arn:<partition>:iam::aws:policy/...`), except
      the exact ARNs in `reviewed_policies` (the contract's `policy-arn:` rows, e.g. AWS_ConfigRole for a Config
      recorder's role in create-recorder mode), which the grants still allow on the one role that needs them;
    - no read of the API key: secretsmanager:GetSecretValue on the secret, and kms:Decrypt whenever Secrets
      Manager calls KMS on the caller's behalf (`kms:ViaService`), which covers the secret's key whatever its id.
    """
    partition = context.partition
    return (
        Statement(
            sid="DenyIamOutsideTheStackPrefix",
            effect="Deny",
            actions=IAM_WRITES,
            not_resources=(
                context.role_arn(f"{name_prefix}-*"),
                context.arn("iam", f"policy/{name_prefix}-*", regional=False),
            ),
        ),
        Statement(
            sid="DenyAttachingAwsManagedPolicies",
            effect="Deny",
            actions=ATTACH_ACTIONS,
            resources=("*",),
            conditions={
                "ArnLike": {"iam:PolicyARN": f"arn:{partition}:iam::aws:policy/*"},
                **({"ArnNotEquals": {"iam:PolicyARN": tuple(reviewed_policies)}} if reviewed_policies else {}),
            },
        ),
        Statement(
            sid="DenyReadingTheApiKey",
            effect="Deny",
            actions=("secretsmanager:GetSecretValue",),
            resources=(context.secret_arn_pattern(secret_name),),
        ),
        Statement(
            sid="DenyDecryptThroughSecretsManager",
            effect="Deny",
            actions=("kms:Decrypt",),
            resources=("*",),
            conditions={"StringEquals": {"kms:ViaService": context.service_host("secretsmanager")}},
        ),
    )
