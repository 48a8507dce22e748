"""Secrets Manager: who can read a secret, what encrypts it, and that its value never passes through the program."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Report, Resource, Stack, StackReport, resource_rule, stack_rule
from keyless_guard.iam_documents import Statement, read_statements
from keyless_guard.values import known

# Type tokens, not secrets (ruff's S105 matches the word in the names).
SECRET: Final = "aws:secretsmanager/secret:Secret"  # noqa: S105
SECRET_POLICY: Final = "aws:secretsmanager/secretPolicy:SecretPolicy"  # noqa: S105
SECRET_VERSION: Final = "aws:secretsmanager/secretVersion:SecretVersion"  # noqa: S105
SSM_PARAMETER: Final = "aws:ssm/parameter:Parameter"
_SECURE_STRING: Final = "SecureString"
_READ_ACTION: Final = "secretsmanager:getsecretvalue"
_ACCOUNT_PRINCIPAL = re.compile(r"^\d{12}$|^arn:[^:]+:iam::\d{12}:root$")
_ROLE_PRINCIPAL = re.compile(r"^arn:[^:]+:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+$")


def grants_read(statement: Statement) -> bool:
    """True if an Allow statement covers GetSecretValue: by name, by a pattern, or by a NotAction that omits it."""
    return statement.grants(_READ_ACTION)


def public_read_problem(statement: Statement) -> str | None:
    """Why a read grant reaches everyone or a whole account, or None."""
    if not grants_read(statement):
        return None
    if statement.has_not_principal:
        return "allows GetSecretValue to every principal but those listed (NotPrincipal)"
    if statement.public_principal and "aws:principalarn" not in statement.restricting_keys():
        return (
            "allows GetSecretValue to Principal '*' without an aws:PrincipalArn condition that names principals "
            "(keys such as aws:SecureTransport or aws:RequestedRegion, ForAllValues:, ...IfExists and wildcard "
            "values like arn:aws:iam::*:* do not restrict who calls)"
        )
    accounts = [p for p in statement.principals if _ACCOUNT_PRINCIPAL.match(p)]
    if accounts:
        return "allows GetSecretValue to a whole account (any principal there with IAM permission)"
    return None


def _policy_statements(resource: Resource, report: Report | None) -> list[Statement]:
    document = resource.props.get("policy")
    return [] if document is None else read_statements(document, "policy", report)


@resource_rule(
    name="secret-policy-not-public",
    description="A secret's resource policy must not let everyone or a whole account read it.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation="Allow GetSecretValue to the reader role ARNs only; deny it to every other principal.",
    equivalent="none in Checkov or cdk-nag (neither reads secret resource policies)",
    resource_types=(SECRET, SECRET_POLICY),
)
def secret_policy_not_public(resource: Resource, report: Report) -> None:
    for statement in _policy_statements(resource, report):
        problem = public_read_problem(statement)
        if problem:
            report(f"policy {statement.label} {problem}. Name the reader roles as principals.")


def names_reader_roles(policy: Resource) -> bool:
    """True if the policy allows GetSecretValue only to specific IAM role ARNs (and at least one)."""
    readers = [s for s in _policy_statements(policy, None) if grants_read(s)]
    return bool(readers) and all(s.principals and all(_ROLE_PRINCIPAL.match(p) for p in s.principals) for s in readers)


def _policies_of(stack: Stack, secret: Resource, by_secret_arn: Mapping[str, list[Resource]]) -> Iterator[Resource]:
    """The secret itself if it carries an inline policy, and every SecretPolicy bound to it.

    A SecretPolicy's secretArn is the secret's computed ARN, unknown at the first preview, so the binding is read
    from the engine's property dependencies; a known secretArn is also compared with the secret's ARN output.
    """
    if secret.props.get("policy") is not None:
        yield secret
    bound = [policy for policy in stack.referrers(secret.urn, "secretArn") if policy.type == SECRET_POLICY]
    arn = secret.props.get("arn")
    by_arn = by_secret_arn.get(arn, []) if isinstance(arn, str) else []
    yield from {policy.urn: policy for policy in (*bound, *by_arn)}.values()


@stack_rule(
    name="secret-requires-resource-policy",
    description="Every secret must have a resource policy that names the specific roles allowed to read it.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Add an aws.secretsmanager.SecretPolicy allowing GetSecretValue to the reader role ARNs only.",
    equivalent="cdk-nag none; Checkov none (resource policies are not checked)",
)
def secret_requires_resource_policy(stack: Stack, report: StackReport) -> None:
    by_secret_arn: dict[str, list[Resource]] = {}
    for policy in stack.of_type(SECRET_POLICY):
        arn = policy.props.get("secretArn")
        if isinstance(arn, str):
            by_secret_arn.setdefault(arn, []).append(policy)

    def judge(secret: Resource) -> None:
        policies = list(_policies_of(stack, secret, by_secret_arn))
        if not policies:
            report("This secret has no resource policy. Add one naming the reader roles.", secret.urn)
        elif not any(names_reader_roles(p) for p in policies):
            report("This secret's resource policy does not limit GetSecretValue to specific IAM role ARNs.", secret.urn)

    stack.judge_each(stack.of_type(SECRET), judge)


@resource_rule(
    name="secret-customer-managed-kms",
    description="A secret must be encrypted with a customer-managed KMS key, not the AWS-managed default.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    remediation="Create an aws.kms.Key (rotation on) and set the secret's kmsKeyId to it or to its alias.",
    equivalent="CKV_AWS_149; cdk-nag AwsSolutions-SMG4 is rotation (none exact)",
    resource_types=(SECRET,),
)
def secret_customer_managed_kms(resource: Resource, report: Report) -> None:
    # An unknown kmsKeyId is judged by policy-known-at-preview, which sees whether it flows from a key of this stack.
    where = [("The secret", resource.props.get("kmsKeyId"))]
    replicas = resource.props.get("replicas")
    for index, replica in enumerate(replicas if isinstance(replicas, list) else []):
        if isinstance(replica, dict):
            region = replica.get("region")
            label = f"Replica {index}" + (f" ({region})" if isinstance(region, str) else "")
            # A replica without kmsKeyId is encrypted in its region with aws/secretsmanager (AddReplicaRegions API).
            where.append((label, replica.get("kmsKeyId")))
    for label, key in where:
        if key is None or key == "":
            report(f"{label} has no kmsKeyId, so it uses the AWS-managed key aws/secretsmanager.")
        elif isinstance(key, str) and re.search(r"(^|:)alias/aws/", key):
            report(f"{label}'s kmsKeyId is an AWS-managed key alias (alias/aws/...). Use a customer-managed key.")


@resource_rule(
    name="secret-no-value-in-program",
    description="A secret's value must not be set from the program (it would pass through code, config and state).",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation=(
        "Delete the SecretVersion; put the value out of band (aws secretsmanager put-secret-value). For a "
        "SecureString parameter, create it out of band (aws ssm put-parameter --type SecureString) and pass its name."
    ),
    equivalent="CKV_SECRET_* (hard-coded values); cdk-nag none",
    resource_types=(SECRET_VERSION, SSM_PARAMETER),
)
def secret_no_value_in_program(resource: Resource, report: Report) -> None:
    # Presence is enough: the value itself (known or not) is never read.
    if resource.type == SSM_PARAMETER:
        _secure_string_value(resource, report)
        return
    # secretStringWo is write-only (kept out of state), but the program still writes the value it holds.
    for field in ("secretString", "secretBinary", "secretStringWo"):
        if resource.props.get(field) is not None:
            report(f"This SecretVersion sets {field} from the program. Put the value into the secret out of band.")


def _secure_string_value(resource: Resource, report: Report) -> None:
    """A SecureString parameter whose value the program writes is a literal SecretVersion by another name: the value
    passes through code or config and lands in state (`valueWo`, write-only, still passes through the program)."""
    if known(resource.props.get("type"), "type") != _SECURE_STRING:
        return
    for field in ("value", "valueWo", "insecureValue"):
        if resource.props.get(field) is not None:
            report(
                f"This SecureString parameter sets {field} from the program. Create the parameter out of band "
                "(aws ssm put-parameter --type SecureString) and pass only its name."
            )
