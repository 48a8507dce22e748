"""Typed values behind the secret-access monitoring: filter patterns over CloudTrail events, alarm specs, the
read-spike threshold and the dashboard body.

Everything here is built from plain strings and numbers and rendered once, so the metric filter patterns, the alarm
names and ARNs and the dashboard JSON are known during the first `pulumi preview`, and tests and the policy pack
read exactly what AWS receives.

Filter pattern syntax (JSON patterns, `&&`, `||`, `NOT EXISTS`, `*` wildcards in string values):
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from components.aws_context import AwsContext
from components.secret_audience import (
    AWS_REGION,
    ERROR_CODE,
    EVENT_NAME,
    EVENT_SOURCE,
    READ_EVENT,
    REQUESTED_ID,
    SECRETS_MANAGER,
    SESSION_ISSUER,
    VPC_ENDPOINT,
    SecretAudience,
)

MAX_PATTERN_LENGTH = 1024
"""PutMetricFilter rejects longer filter patterns."""

CACHE_JITTER_RATIO = 0.1
"""The handler's cache shortens each TTL by up to this ratio (handler/secret_cache.py DEFAULT_JITTER_RATIO; a test
keeps the two equal), so one container's reads are at least TTL * (1 - ratio) apart."""

DEFAULT_UNRESERVED_CONCURRENCY = 1000
"""Lambda's default concurrent-executions quota per account and region: the most containers a function without
reserved concurrency can run at once unless the account's quota was raised."""


_SAFE_VALUE = re.compile(r'[^"\\\s]+')
_NAMESPACE = re.compile(r"[A-Za-z0-9._/#:\- ]{1,255}")


@dataclass(frozen=True)
class Compare:
    """`selector = "value"` or `selector != "value"`; `*` in the value is CloudWatch's wildcard."""

    selector: str
    operator: Literal["=", "!="]
    value: str

    def __post_init__(self) -> None:
        if not _SAFE_VALUE.fullmatch(self.value):
            raise ValueError(f"filter value {self.value!r} must be non-empty, without quotes, backslashes or spaces")

    def render(self) -> str:
        return f'({self.selector} {self.operator} "{self.value}")'


@dataclass(frozen=True)
class Missing:
    """The event has no such property."""

    selector: str

    def render(self) -> str:
        return f"({self.selector} NOT EXISTS)"


@dataclass(frozen=True)
class AllOf:
    terms: tuple[Term, ...]

    def render(self) -> str:
        return _join(self.terms, " && ")


@dataclass(frozen=True)
class AnyOf:
    terms: tuple[Term, ...]

    def render(self) -> str:
        return _join(self.terms, " || ")


Term = Compare | Missing | AllOf | AnyOf


def _join(terms: tuple[Term, ...], operator: str) -> str:
    if not terms:
        raise ValueError("a group of filter terms needs at least one term")
    if len(terms) == 1:
        return terms[0].render()
    return "(" + operator.join(term.render() for term in terms) + ")"


def json_pattern(*terms: Term) -> str:
    """The filter pattern matching events that satisfy every term."""
    pattern = "{ " + " && ".join(term.render() for term in terms) + " }"
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"filter pattern is {len(pattern)} characters; CloudWatch accepts {MAX_PATTERN_LENGTH}")
    return pattern


@dataclass(frozen=True)
class SecretReads:
    """CloudTrail's records of GetSecretValue on one secret in its region, as filter patterns. Every term comes from
    the SecretAudience, which also classifies records for the operator report (access_report/report.py): the
    unexpected-read pattern matches exactly the records `SecretAudience.is_unexpected_read` accepts."""

    audience: SecretAudience

    def _terms(self) -> tuple[Term, ...]:
        audience = self.audience
        return (
            Compare(EVENT_SOURCE, "=", SECRETS_MANAGER),
            Compare(EVENT_NAME, "=", READ_EVENT),
            # A multi-region trail also records reads of a same-named secret elsewhere: another secret.
            Compare(AWS_REGION, "=", audience.context.region),
            AnyOf(tuple(Compare(REQUESTED_ID, "=", identifier) for identifier in audience.identifiers())),
        )

    def every_read(self) -> str:
        """Every attempt to read the value, successful or not, by anyone."""
        return json_pattern(*self._terms())

    def reads_by_others(self) -> str:
        """Attempts by any principal that is not one of the reader roles (denied attempts included: they are the
        ones worth knowing about)."""
        readers = self.audience.reader_role_arns
        if not readers:
            raise ValueError("reads_by_others needs at least one reader role ARN")
        not_a_reader = AllOf(tuple(Compare(SESSION_ISSUER, "!=", arn) for arn in readers))
        return json_pattern(*self._terms(), AnyOf((Missing(SESSION_ISSUER), not_a_reader)))

    def reads_outside_perimeter(self) -> str:
        """Reads by one of the reader roles that did not come through the audience's endpoints (any endpoint when it
        names none): `SecretAudience.is_read_outside_perimeter`. The `!=` terms are guarded by `NOT EXISTS`, so the
        pattern does not depend on whether `!=` matches a missing field (access_report/filter_pattern.py)."""
        audience = self.audience
        if not audience.reader_role_arns:
            raise ValueError("reads_outside_perimeter needs at least one reader role ARN")
        a_reader = AnyOf(tuple(Compare(SESSION_ISSUER, "=", arn) for arn in audience.reader_role_arns))
        no_endpoint = Missing(VPC_ENDPOINT)
        outside: Term = (
            AnyOf((no_endpoint, AllOf(tuple(Compare(VPC_ENDPOINT, "!=", e) for e in audience.endpoint_ids))))
            if audience.endpoint_ids
            else no_endpoint
        )
        return json_pattern(*self._terms(), a_reader, outside)

    def throttled_reads_by(self, role_arn: str) -> str:
        """Reads by `role_arn` that Secrets Manager throttled."""
        return json_pattern(
            *self._terms(),
            Compare(SESSION_ISSUER, "=", role_arn),
            Compare(ERROR_CODE, "=", "ThrottlingException"),
        )


def read_spike_threshold(
    *, cache_ttl_seconds: int, concurrency: int, period_seconds: int, headroom: float, jitter_ratio: float
) -> int:
    """The most GetSecretValue calls the handler's cache allows in one alarm period, times `headroom`.

    A container reads the secret once when it starts and then only when its cached copy has expired, so two reads
    of one container are at least TTL * (1 - jitter_ratio) apart. In a window of `period_seconds` it therefore makes
    at most floor(period / (TTL * (1 - jitter))) + 1 reads (the +1 is a read on the window's opening edge). At most
    `concurrency` containers run at once. Lambda also replaces containers (scaling, recycling, deployments), each
    new one reading once more, and the SDK retries a failed call: `headroom` covers both, so only a read rate well
    above what the cache permits raises the alarm.
    """
    if cache_ttl_seconds < 1 or concurrency < 1 or period_seconds < 1:
        raise ValueError("cache TTL, concurrency and period must be positive")
    if headroom < 1:
        raise ValueError(f"headroom must be at least 1 (no headroom), got {headroom}")
    if not 0 <= jitter_ratio < 1:
        raise ValueError(f"jitter_ratio must be in [0, 1), got {jitter_ratio}")
    shortest_gap = cache_ttl_seconds * (1 - jitter_ratio)
    reads_per_container = math.floor(period_seconds / shortest_gap) + 1
    return math.ceil(concurrency * reads_per_container * headroom)


Statistic = Literal["Sum", "Average", "Maximum", "Minimum", "SampleCount"]
Comparison = Literal[
    "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
]


@dataclass(frozen=True)
class MetricSpec:
    """One CloudWatch metric: where it lives and how it is aggregated."""

    namespace: str
    name: str
    statistic: Statistic = "Sum"
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAMESPACE.fullmatch(self.namespace):
            raise ValueError(f"metric namespace {self.namespace!r} is not a valid CloudWatch namespace")


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm. Its name is explicit, so its ARN is known at preview (the dashboard and the topic policy use it)."""

    key: str
    """Short role of the alarm, used in resource names (e.g. `unexpected-secret-reads`)."""
    name: str
    """Physical alarm name."""
    description: str
    """What firing means and what to do; never a secret value."""
    metric: MetricSpec
    threshold: float
    period_seconds: int
    comparison: Comparison = "GreaterThanOrEqualToThreshold"
    evaluation_periods: int = 1
    treat_missing_data: Literal["notBreaching", "breaching", "ignore", "missing"] = "notBreaching"
    """Metric-filter metrics have no data point while nothing matches: that is the normal, healthy state."""

    def __post_init__(self) -> None:
        if self.period_seconds < 60 or self.period_seconds % 60:
            raise ValueError(f"alarm {self.name}: period must be a multiple of 60 seconds, got {self.period_seconds}")
        if self.evaluation_periods < 1 or self.period_seconds * self.evaluation_periods > 86400:
            raise ValueError(f"alarm {self.name}: evaluation must cover between one period and one day")

    def arn(self, context: AwsContext) -> str:
        return context.arn("cloudwatch", f"alarm:{self.name}")


@dataclass(frozen=True)
class AlarmThresholds:
    """Thresholds and periods of the alarms, with defaults that suit one ingestion function."""

    period_seconds: int = 300
    """Period of the function and secret alarms. CloudTrail reaches CloudWatch Logs in about five minutes, so a
    shorter period adds nothing but partial windows."""
    function_errors: int = 1
    """Errors (Sum) per period that raise the alarm: any failed invocation is worth a look."""
    function_throttles: int = 1
    """Throttles (Sum) per period: with reserved concurrency, any throttle means the reservation is too small."""
    secret_throttles: int = 1
    """Throttled GetSecretValue calls by the function per period: the cache should make this impossible."""
    read_spike_headroom: float = 2.0
    """Multiplier over the most reads the cache allows (see read_spike_threshold)."""
    nat_bytes_out: int = 100 * 1024 * 1024
    """Bytes sent through the NAT gateway to the internet per NAT period. The function sends small HTTPS requests;
    100 MiB an hour is far above that and well below what exfiltration of a table would take."""
    nat_period_seconds: int = 3600
    """Period of the NAT alarm."""


@dataclass(frozen=True)
class DashboardSpec:
    """What the dashboard shows: the function's metrics, the secret-read metrics, and the state of every alarm."""

    region: str
    function_name: str
    secret_metrics: Sequence[MetricSpec]
    alarm_arns: Sequence[str]
    period_seconds: int

    def body(self) -> str:
        """The dashboard body JSON, laid out two widgets per row. Structure:
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html"""
        widgets: list[dict[str, object]] = [
            self._metric_widget(
                "Invocations, errors and throttles",
                [["AWS/Lambda", name, "FunctionName", self.function_name, {"stat": "Sum"}] for name in _LAMBDA_COUNTS],
            ),
            self._metric_widget(
                "Duration (ms)",
                [["AWS/Lambda", "Duration", "FunctionName", self.function_name, {"stat": stat}] for stat in _DURATION],
            ),
            {"type": "alarm", "properties": {"title": "Alarm states", "alarms": list(self.alarm_arns)}},
        ]
        if self.secret_metrics:  # none when the secret-read alarms are off (no trail to read)
            widgets.insert(
                2,
                self._metric_widget(
                    "Secret reads (from CloudTrail)",
                    [[metric.namespace, metric.name, {"stat": metric.statistic}] for metric in self.secret_metrics],
                ),
            )
        for index, widget in enumerate(widgets):
            widget.update({"x": (index % 2) * 12, "y": (index // 2) * 6, "width": 12, "height": 6})
        return json.dumps({"widgets": widgets}, indent=2, sort_keys=True)

    def _metric_widget(self, title: str, metrics: list[list[object]]) -> dict[str, object]:
        return {
            "type": "metric",
            "properties": {
                "title": title,
                "region": self.region,
                "period": self.period_seconds,
                "view": "timeSeries",
                "metrics": metrics,
            },
        }


_LAMBDA_COUNTS = ("Invocations", "Errors", "Throttles")
_DURATION = ("Average", "p99")
