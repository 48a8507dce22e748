"""CloudTrail: what CreateTrail rejects, or accepts and then delivers nothing, although every mock accepts it.

- The role a trail uses to deliver to CloudWatch Logs (`cloudWatchLogsRoleArn`) must trust `cloudtrail.amazonaws.com`
  without `aws:SourceAccount` or `aws:SourceArn`: CloudTrail does not send those keys when it assumes that role, so
  the condition never matches (prowler-cloud/prowler#4714; awsdocs/aws-cloudtrail-user-guide#17, "Removing
  non-working conditions"). Elsewhere the same conditions are the right confused-deputy defence, which is why a
  generic trust-policy rule would push people to add them here.
- A trail names its KMS key by key ARN: AWS stores the key ARN, so an alias ARN is a change on every later preview.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Report, Resource, Stack, StackReport, resource_rule, stack_rule
from keyless_guard.iam_documents import Statement, read_statements
from keyless_guard.values import known

TRAIL: Final = "aws:cloudtrail/trail:Trail"
ROLE: Final = "aws:iam/role:Role"
CLOUDTRAIL: Final = "cloudtrail.amazonaws.com"
_NOT_SENT: Final = frozenset({"aws:sourceaccount", "aws:sourcearn"})
"""Condition keys CloudTrail does not send when it assumes the CloudWatch Logs delivery role."""


def _role_name(arn: str) -> str | None:
    """`arn:<partition>:iam::<account>:role/<path/>name` -> name."""
    _, separator, path = arn.partition(":role/")
    return path.rsplit("/", 1)[-1] if separator and path else None


def _delivery_roles(stack: Stack, trail: Resource) -> Iterator[Resource]:
    """The stack's roles a trail names as cloudWatchLogsRoleArn: by the engine's edge when the program passed the
    role's `arn` output, or by name when it passed a literal ARN."""
    linked = set(trail.property_dependencies.get("cloudWatchLogsRoleArn", ()))
    arn = trail.props.get("cloudWatchLogsRoleArn")
    name = _role_name(arn) if isinstance(arn, str) else None
    for role in stack.of_type(ROLE):
        if role.urn in linked or (name is not None and role.props.get("name") == name):
            yield role


def _report_on(report: StackReport, urn: str, message: str) -> None:
    report(message, urn)


def _unsent_condition_keys(statement: Statement) -> set[str]:
    return {key for clauses in statement.conditions.values() for key in clauses if key.lower() in _NOT_SENT}


@stack_rule(
    name="cloudtrail-logs-role-trust",
    description=(
        "The role a trail delivers to CloudWatch Logs with must trust cloudtrail.amazonaws.com without "
        "aws:SourceAccount or aws:SourceArn, which CloudTrail does not send when it assumes that role."
    ),
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation=(
        "Remove the aws:SourceAccount / aws:SourceArn condition from the statement that lets cloudtrail.amazonaws.com "
        "assume the delivery role, and keep the role's own policy to CreateLogStream and PutLogEvents on the trail's "
        "log group. Otherwise CreateTrail fails with InvalidCloudWatchLogsRoleArnException or no event arrives."
    ),
    equivalent="none in Checkov or cdk-nag (prowler's iam_role_cross_service_confused_deputy_prevention asks for it)",
)
def logs_role_trust(stack: Stack, report: StackReport) -> None:
    trail_of = {role.urn: trail.name for trail in stack.of_type(TRAIL) for role in _delivery_roles(stack, trail)}

    def judge(role: Resource) -> None:
        document = known(role.props.get("assumeRolePolicy"), "assumeRolePolicy")
        for statement in read_statements(document, "assumeRolePolicy", partial(_report_on, report, role.urn)):
            if not (statement.allows and CLOUDTRAIL in statement.principals):
                continue
            unsent = _unsent_condition_keys(statement)
            if unsent:
                report(
                    f"assumeRolePolicy {statement.label} lets {CLOUDTRAIL} assume this role only with "
                    f"{sorted(unsent)}, but CloudTrail does not send those keys when it delivers trail "
                    f"{trail_of[role.urn]}'s events to CloudWatch Logs, so delivery fails. Remove the condition.",
                    role.urn,
                )

    # One role's unknown trust policy does not stop the others from being judged.
    stack.judge_each((r for r in stack.of_type(ROLE) if r.urn in trail_of), judge)


@resource_rule(
    name="cloudtrail-kms-key-arn",
    description="A trail names its KMS key by key ARN, not by alias, or every later preview shows an update.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    remediation="Pass the key's ARN (aws.kms.Key.arn) as kmsKeyId; AWS stores the key ARN whatever you pass.",
    equivalent="none in Checkov or cdk-nag (CKV_AWS_35 only checks that a key is set)",
    resource_types=(TRAIL,),
)
def kms_key_arn(resource: Resource, report: Report) -> None:
    key = resource.props.get("kmsKeyId")
    if isinstance(key, str) and (key.startswith("alias/") or ":alias/" in key):
        report(
            f"kmsKeyId names the alias {key}; CloudTrail stores the key's ARN, so the provider sees a difference on "
            "every preview. Pass the key ARN."
        )
