"""Trust policies and role hand-over: who may assume a role, and which roles a principal may pass.

An OIDC role whose trust checks `aud` but not `sub` can be assumed by any repository of the CI provider: Datadog
Security Labs found hundreds of such roles, and threat group UNC6426 went from one stolen GitHub token to AWS admin.
`iam:PassRole` on every role lets a principal hand any role (an administrator's included) to a service it controls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Report, Resource, resource_rule
from keyless_guard.iam import IDENTITY_POLICY_TYPES, ROLE, identity_statements
from keyless_guard.iam_documents import CALLER_KEYS, Statement, read_statements


@dataclass(frozen=True)
class Issuer:
    """A CI or cloud OIDC issuer: how IAM names its provider and what a pinned `sub` starts with."""

    name: str
    provider: re.Pattern[str]
    """Matches the provider's URL as IAM keeps it (host and path, no scheme): the condition-key prefix."""
    pinned: re.Pattern[str]
    """Matches the start of a `sub` that names the owner and the repository (or the issuer's equivalent)."""
    example: str
    source: str


ISSUERS: Final[tuple[Issuer, ...]] = (
    Issuer(
        "GitHub Actions",
        # GitHub Enterprise Cloud can give an enterprise its own issuer path: .../<enterprise slug>.
        re.compile(r"token\.actions\.githubusercontent\.com(/[^/]+)?"),
        re.compile(r"repo:[^/:*?]+/[^/:*?]+:"),
        "repo:<owner>/<repo>:environment:<name>",
        "https://docs.github.com/en/actions/reference/security/oidc",
    ),
    Issuer(
        "GitLab",
        # gitlab.com, or a self-managed instance (any host naming gitlab, with an optional relative path).
        re.compile(r"gitlab\.com|[a-z0-9.-]*gitlab[a-z0-9.-]*(:\d+)?(/[^:]*)?"),
        # Subgroups are allowed: project_path:<group>/<subgroup>/<project>.
        re.compile(r"project_path:[^:*?]+/[^:*?]+:"),
        "project_path:<group>/<project>:ref_type:branch:ref:<branch>",
        "https://docs.gitlab.com/ci/secrets/id_token_authentication/",
    ),
    Issuer(
        "Pulumi Cloud",
        re.compile(r"api\.pulumi\.com/oidc"),
        re.compile(r"pulumi:deploy:org:[^:*?]+:project:[^:*?]+:|pulumi:environments:org:[^:*?]+:env:[^:*?/]+/"),
        "pulumi:deploy:org:<org>:project:<project>:stack:<stack>:operation:<op>:scope:write",
        "https://www.pulumi.com/docs/deployments/deployments/oidc/aws/",
    ),
    Issuer(
        "HCP Terraform",
        re.compile(r"app\.terraform\.io"),
        re.compile(r"organization:[^:*?]+:project:[^:*?]+:workspace:[^:*?]+:"),
        "organization:<org>:project:<project>:workspace:<workspace>:run_phase:<plan|apply>",
        "https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/aws-configuration",
    ),
    Issuer(
        "CircleCI",
        re.compile(r"oidc\.circleci\.com/org/[^/]+"),
        re.compile(r"org/[^/*?]+/project/[^/*?]+/"),
        "org/<organization id>/project/<project id>/user/<user id>",
        "https://circleci.com/docs/openid-connect-tokens/",
    ),
    Issuer(
        "Bitbucket Pipelines",
        re.compile(r"api\.bitbucket\.org/2\.0/workspaces/[^/]+/pipelines-config/identity/oidc"),
        # {repository uuid}:{step uuid}, or {repository uuid}{environment uuid}:{step uuid} in a deployment step.
        re.compile(r"\{[^}*?]+\}[:{]"),
        "{<repository uuid>}:{<step uuid>}",
        "https://support.atlassian.com/bitbucket-cloud/docs/integrate-pipelines-with-resource-servers-using-oidc/",
    ),
    Issuer(
        "Buildkite",
        re.compile(r"agent\.buildkite\.com"),
        re.compile(r"organization:[^:*?]+:pipeline:[^:*?]+:"),
        "organization:<org>:pipeline:<pipeline>:ref:<ref>:commit:<sha>:step:<key>",
        "https://buildkite.com/docs/pipelines/security/oidc/aws",
    ),
)
"""The issuers whose trust the pack reads, with the `sub` formats their documentation gives (see `source`)."""
UNRECOGNISED: Final = Issuer(
    "an unrecognised OIDC issuer",
    re.compile(r".+"),
    # No documented format to read: the subject only has to be a value, not a wildcard over every subject.
    re.compile(r"[^*?]{3,}"),
    "<the exact subject claim the issuer puts in its tokens>",
    "the issuer's documentation",
)
"""Any other issuer (an EKS cluster, a self-hosted CI with its own host): its trust still needs a subject."""

_WEB_IDENTITY: Final = "sts:AssumeRoleWithWebIdentity"
_POSITIVE: Final = ("StringEquals", "StringLike")
"""Operators that require the claim to be present and to match; `ForAllValues:` and `...IfExists` hold without it."""
_CALLER_KEYS: Final = CALLER_KEYS | {"sts:externalid"}
"""The pack's caller keys (aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount, ...) and, for a trust policy,
sts:ExternalId, which a third party must present."""
_HAND_OVER_ROLE: Final = "iam:PassRole"
_WILDCARD = re.compile(r"[*?]")


def _trust_statements(resource: Resource, report: Report) -> Iterator[Statement]:
    document = resource.props.get("assumeRolePolicy")
    if document is not None:
        yield from read_statements(document, "assumeRolePolicy", report)


def _allows(statement: Statement, action: str) -> bool:
    return statement.allows and any(fnmatchcase(action.lower(), pattern.lower()) for pattern in statement.actions)


def _issuer(principal: str) -> tuple[Issuer, str] | None:
    """The issuer of an `arn:...:oidc-provider/<url>` principal (`UNRECOGNISED` when none matches), and that URL."""
    _, marker, url = principal.partition(":oidc-provider/")
    if not marker:
        return None
    for issuer in ISSUERS:
        if issuer.provider.fullmatch(url):
            return issuer, url
    return UNRECOGNISED, url


@dataclass(frozen=True)
class ClaimCheck:
    values: tuple[str, ...]
    """Values of the claim under StringEquals / StringLike (with the operator's wildcard semantics)."""
    wildcards: bool
    other_operators: tuple[str, ...]


def _claim(statement: Statement, key: str) -> ClaimCheck:
    values: list[str] = []
    wildcards = False
    others: list[str] = []
    for operator, clauses in statement.conditions.items():
        for name, claim_values in clauses.items():
            if name.lower() != key.lower():
                continue
            if operator in _POSITIVE:
                values.extend(claim_values)
                wildcards = wildcards or (operator == "StringLike" and any(_WILDCARD.search(v) for v in claim_values))
            else:
                others.append(operator)
    return ClaimCheck(tuple(values), wildcards, tuple(others))


def _unpinned(issuer: Issuer, check: ClaimCheck, like: bool) -> list[str]:
    unpinned = []
    for value in check.values:
        prefix = _WILDCARD.split(value, 1)[0] if like else value
        if issuer.pinned.match(prefix) is None:
            unpinned.append(value)
    return unpinned


def _oidc_statements(resource: Resource, report: Report) -> Iterator[tuple[Statement, Issuer, str]]:
    for statement in _trust_statements(resource, report):
        if not _allows(statement, _WEB_IDENTITY):
            continue
        for principal in statement.principals:
            found = _issuer(principal)
            if found is not None:
                yield statement, *found


@resource_rule(
    name="iam-trust-oidc-subject",
    description="A role trusted by a CI or cloud OIDC issuer checks the audience and pins the subject's repository.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation="Add StringEquals on <issuer>:aud and on <issuer>:sub with the exact subject (owner, repository, "
    "and an environment or branch), e.g. repo:<owner>/<repo>:environment:prod.",
    equivalent="Checkov CKV_AWS_358 (GitHub Actions OIDC trust); cdk-nag none; Datadog Security Labs' "
    "misconfigured OIDC trust (sub not checked)",
    resource_types=(ROLE,),
)
def oidc_subject(resource: Resource, report: Report) -> None:
    for statement, issuer, url in _oidc_statements(resource, report):
        where = f"assumeRolePolicy {statement.label} ({issuer.name})"
        audience = _claim(statement, f"{url}:aud")
        # An unrecognised issuer's audience has no documented value to expect; IAM checks it against the provider's
        # client ids. Its subject is still required.
        if issuer is not UNRECOGNISED and (not audience.values or all(value == "*" for value in audience.values)):
            report(
                f"{where} allows {_WEB_IDENTITY} without a StringEquals condition on {url}:aud. "
                f"Check the audience the workflow requests ({issuer.source})."
            )
        subject = _claim(statement, f"{url}:sub")
        if not subject.values:
            hint = (
                f" Its {url}:sub condition is only under {sorted(set(subject.other_operators))}, which holds when "
                "the claim is absent."
                if subject.other_operators
                else ""
            )
            report(
                f"{where} allows {_WEB_IDENTITY} without a StringEquals or StringLike condition on {url}:sub, so "
                f"any workload of {issuer.name} can assume this role.{hint} Pin the subject, e.g. {issuer.example}."
            )
            continue
        like = "StringLike" in statement.conditions and any(
            name.lower() == f"{url}:sub".lower() for name in statement.conditions["StringLike"]
        )
        unpinned = _unpinned(issuer, subject, like)
        if unpinned:
            report(
                f"{where} lets {len(unpinned)} subject value(s) match more than one {issuer.name} owner or "
                f"repository (a wildcard before the repository, or a value not shaped like {issuer.example}). "
                "Name the owner and the repository exactly."
            )


@resource_rule(
    name="iam-trust-oidc-subject-exact",
    description="An OIDC subject pinned to its repository should also be exact (no wildcard after it).",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    remediation="Replace StringLike repo:<owner>/<repo>:* with StringEquals on the environment or branch subject.",
    equivalent="none in Checkov or cdk-nag",
    resource_types=(ROLE,),
)
def oidc_subject_exact(resource: Resource, report: Report) -> None:
    for statement, issuer, url in _oidc_statements(resource, report):
        subject = _claim(statement, f"{url}:sub")
        if subject.wildcards and not _unpinned(issuer, subject, like=True):
            report(
                f"assumeRolePolicy {statement.label} ({issuer.name}) pins the repository but its {url}:sub has a "
                "wildcard after it, so every branch, tag and pull request of that repository qualifies."
            )


@resource_rule(
    name="iam-trust-no-public-principal",
    description="A trust policy must not let anyone assume the role without a condition on the caller.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation="Name the trusted principal, or add aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount or "
    "sts:ExternalId with a specific value.",
    equivalent="Checkov CKV_AWS_60 / CKV_AWS_61 (assume-role to all services or principals); cdk-nag none",
    resource_types=(ROLE,),
)
def trust_no_public_principal(resource: Resource, report: Report) -> None:
    for statement in _trust_statements(resource, report):
        if not statement.allows:
            continue
        if statement.has_not_principal:
            report(
                f"assumeRolePolicy {statement.label} is an Allow with NotPrincipal: everyone else may assume the role."
            )
        elif statement.public_principal and not statement.restricting_keys() & _CALLER_KEYS:
            report(
                f"assumeRolePolicy {statement.label} lets any principal ('*') assume the role with no condition on "
                "the caller (aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount, sts:ExternalId, ...)."
            )


def _covers_every_role(arn: str) -> bool:
    """`*`, `arn:...:role/*`, a wildcard in the account or partition, or a path wildcard that matches any role."""
    if arn == "*":
        return True
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return True
    _, partition, service, _, account, resource = parts
    if _WILDCARD.search(partition) or _WILDCARD.search(service) or _WILDCARD.search(account):
        return True
    # role/* , role*, * , role/*/...: the wildcard comes before any literal role name or path.
    return re.match(r"(role)?/?[*?]", resource) is not None


@resource_rule(
    name="iam-passrole-scoped",
    description="iam:PassRole (also through iam:* or iam:Pass*) must name the roles that may be passed.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Grant iam:PassRole on the specific role ARNs, with an iam:PassedToService condition.",
    equivalent="Checkov CKV_AWS_286 (privilege escalation); cdk-nag AwsSolutions-IAM5",
    resource_types=IDENTITY_POLICY_TYPES,
)
def passrole_scoped(resource: Resource, report: Report) -> None:
    for where, statement in identity_statements(resource, report):
        if not _allows(statement, _HAND_OVER_ROLE):
            continue
        broad = [arn for arn in statement.resources if _covers_every_role(arn)]
        if broad:
            report(
                f"{where} {statement.label} lets the principal pass any role ({', '.join(sorted(broad))}), so it "
                "can hand an administrator's role to a service it controls. Name the roles."
            )
