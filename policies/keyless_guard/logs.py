"""CloudWatch Logs: every log group expires its events, and every function has such a log group."""

from __future__ import annotations

from typing import Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Report, Resource, Stack, StackReport, resource_rule, stack_rule
from keyless_guard.lambda_env import FUNCTION
from keyless_guard.values import as_dict, known

LOG_GROUP: Final = "aws:cloudwatch/logGroup:LogGroup"


def has_retention(log_group: Resource) -> bool:
    days = known(log_group.props.get("retentionInDays"), "retentionInDays")
    return isinstance(days, int | float) and not isinstance(days, bool) and days > 0


@resource_rule(
    name="log-group-retention",
    description="Every CloudWatch log group must set a retention period.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.LOW,
    remediation="Set retentionInDays (for example 14 or 30) on the log group.",
    equivalent="CKV_AWS_338 (retention >= 1 year); cdk-nag none",
    resource_types=(LOG_GROUP,),
)
def log_group_retention(resource: Resource, report: Report) -> None:
    if not has_retention(resource):
        report("This log group keeps events forever (no retentionInDays). Set a retention period.")


def _log_group_names(function: Resource) -> set[str]:
    """Names the function logs to: its loggingConfig.logGroup, and the default /aws/lambda/<name>."""
    names = set()
    group = as_dict(function.props.get("loggingConfig"), "loggingConfig").get("logGroup")
    if isinstance(group, str):
        names.add(group)
    name = function.props.get("name")
    if isinstance(name, str):
        names.add(f"/aws/lambda/{name}")
    return names


def _name(log_group: Resource) -> str:
    name = log_group.props.get("name")
    return name if isinstance(name, str) else ""


@stack_rule(
    name="lambda-log-group",
    description="Every function must log to a log group of this stack that has a retention period.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.LOW,
    remediation="Create an aws.cloudwatch.LogGroup with retentionInDays and set the function's loggingConfig.",
    equivalent="none in Checkov or cdk-nag (Lambda creates a never-expiring group by itself)",
)
def lambda_log_group(stack: Stack, report: StackReport) -> None:
    by_name: dict[str, list[Resource]] = {}
    for group in stack.of_type(LOG_GROUP):
        by_name.setdefault(_name(group), []).append(group)

    def judge(function: Resource) -> None:
        wired = [g for g in map(stack.by_urn, function.property_dependencies.get("loggingConfig", ())) if g is not None]
        named = [g for name in _log_group_names(function) for g in by_name.get(name, [])]
        matches = [g for g in {g.urn: g for g in (*wired, *named)}.values() if g.type == LOG_GROUP]
        if not matches:
            known(function.props.get("name"), "name")  # an unknown name cannot be matched: advisory, not a pass
            report(
                "This function has no log group in the stack; Lambda would create one that never expires.", function.urn
            )
        elif not any(has_retention(g) for g in matches):
            report("This function's log group has no retention period.", function.urn)

    stack.judge_each(stack.of_type(FUNCTION), judge)
