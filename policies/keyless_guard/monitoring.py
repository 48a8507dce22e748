"""Monitoring: every secret in the stack has an alarm that fires when someone unexpected reads it.

The relation is read from known inputs only. A CloudWatch Logs metric filter over CloudTrail events counts the
secret's unexpected reads when its pattern matches GetSecretValue, names the secret (`$.requestParameters.secretId =
"<secret name>"`) and excludes principals (a `!=` on a `$.userIdentity...` field). An alarm watches that count when
its namespace and metric name are the filter's metricTransformation, it fires on any occurrence, and it notifies
someone (alarmActions). The pattern is read term by term (`$.field = "value"`), not searched for a substring, so
the name appearing in another field, or a `=` where a `!=` is needed, does not count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import Final, TypeVar

from pulumi_policy import EnforcementLevel, Severity
from pulumi_policy.proxy import UnknownValueError

from keyless_guard.framework import Resource, Stack, StackReport, stack_rule
from keyless_guard.secretsmanager import SECRET
from keyless_guard.values import as_dict, known

METRIC_FILTER: Final = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
ALARM: Final = "aws:cloudwatch/metricAlarm:MetricAlarm"
_TERM: Final = re.compile(r'(\$\.[A-Za-z0-9_.\[\]]+)\s*(!=|=)\s*"([^"]*)"')
_COUNTING_STATISTICS: Final = ("Sum", "Maximum", "SampleCount")

Metric = tuple[str, str]
"""(namespace, metric name)."""
T = TypeVar("T")


def unexpected_read_metric(metric_filter: Resource, secret_name: str) -> Metric | None:
    """The metric a filter counts unexpected reads of `secret_name` into, or None if it does not."""
    pattern = known(metric_filter.props.get("pattern"), "pattern")
    if not isinstance(pattern, str):
        return None
    terms = set(_TERM.findall(pattern))
    reads = ("$.eventName", "=", "GetSecretValue") in terms
    names_secret = ("$.requestParameters.secretId", "=", secret_name) in terms
    excludes_principals = any(op == "!=" and field.startswith("$.userIdentity.") for field, op, _ in terms)
    if not (reads and names_secret and excludes_principals):
        return None
    transformation = as_dict(metric_filter.props.get("metricTransformation"), "metricTransformation")
    namespace, name = transformation.get("namespace"), transformation.get("name")
    if isinstance(namespace, str) and isinstance(name, str):
        return namespace, name
    return None


def fires_on_any_occurrence(alarm: Resource) -> bool:
    props = alarm.props
    threshold = known(props.get("threshold"), "threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        return False
    operator = known(props.get("comparisonOperator"), "comparisonOperator")
    any_occurrence = (operator == "GreaterThanOrEqualToThreshold" and threshold <= 1) or (
        operator == "GreaterThanThreshold" and threshold < 1
    )
    actions = known(props.get("alarmActions"), "alarmActions")
    notifies = isinstance(actions, list) and bool(actions) and props.get("actionsEnabled") is not False
    return any_occurrence and notifies and props.get("statistic") in _COUNTING_STATISTICS


def _alarm_metric(alarm: Resource) -> Metric | None:
    """The metric an alarm watches, if it fires on any occurrence and notifies someone."""
    if not fires_on_any_occurrence(alarm):
        return None
    namespace = known(alarm.props.get("namespace"), "namespace")
    name = known(alarm.props.get("metricName"), "metricName")
    return (namespace, name) if isinstance(namespace, str) and isinstance(name, str) else None


def _each(resources: Iterator[Resource], check: Callable[[Resource], T]) -> tuple[list[T], UnknownValueError | None]:
    """`check` on every resource, and the first unknown value met: raised only if the known ones do not decide."""
    results: list[T] = []
    pending: UnknownValueError | None = None
    for resource in resources:
        try:
            results.append(check(resource))
        except UnknownValueError as exc:
            pending = pending or exc
    return results, pending


@stack_rule(
    name="secret-unexpected-access-alarm",
    description="Every secret must have an alarm on reads by principals other than its readers.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation=(
        "Add a metric filter on the CloudTrail log group matching GetSecretValue on the secret by anyone but the "
        "reader roles, and an alarm on its metric (threshold 1, GreaterThanOrEqualToThreshold) with alarmActions; "
        "SecretAccessMonitoring builds both."
    ),
    equivalent="none in Checkov or cdk-nag (CIS AWS Foundations 4.x alarms watch console and IAM events, not reads)",
)
def secret_unexpected_access_alarm(stack: Stack, report: StackReport) -> None:
    secrets = list(stack.of_type(SECRET))
    if not secrets:
        return
    alarms, alarms_unknown = _each(stack.of_type(ALARM), _alarm_metric)
    alarmed = {metric for metric in alarms if metric is not None}

    def judge(secret: Resource) -> None:
        name = secret.props.get("name")
        if not isinstance(name, str) or not name:
            known(name, "name")  # unknown: the SDK's "can't run" advisory, not a pass
            report(
                "This secret has no explicit name, so no metric filter can name it. Give it a name and add an "
                "unexpected-access alarm.",
                secret.urn,
            )
            return
        metrics, filters_unknown = _each(
            stack.of_type(METRIC_FILTER), partial(unexpected_read_metric, secret_name=name)
        )
        if alarmed & {metric for metric in metrics if metric is not None}:
            return
        undecided = filters_unknown or alarms_unknown
        if undecided is not None:
            raise undecided  # the SDK reports "can't run during preview" rather than a pass or a false failure
        report(
            "No alarm fires when a principal other than this secret's readers calls GetSecretValue on it. Add a "
            "metric filter naming the secret and excluding the reader roles, and an alarm on its metric.",
            secret.urn,
        )

    stack.judge_each(secrets, judge)
