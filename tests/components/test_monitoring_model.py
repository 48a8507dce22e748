import json
import math
from typing import Any

import pytest

from components.aws_context import AwsContext
from components.monitoring_model import (
    CACHE_JITTER_RATIO,
    MAX_PATTERN_LENGTH,
    AlarmSpec,
    Compare,
    DashboardSpec,
    MetricSpec,
    SecretReads,
    read_spike_threshold,
)
from components.secret_audience import SecretAudience
from secret_cache import DEFAULT_JITTER_RATIO
from tests.stack_inspection import ACCOUNT, REGION

CONTEXT = AwsContext("aws", REGION, ACCOUNT)
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:team/api-key"
READERS = (f"arn:aws:iam::{ACCOUNT}:role/fn-exec", f"arn:aws:iam::{ACCOUNT}:role/rotator")
READS = SecretReads(SecretAudience.of(CONTEXT, "team/api-key", READERS))
ON_THIS_SECRET = (
    '($.eventSource = "secretsmanager.amazonaws.com") && ($.eventName = "GetSecretValue") && '
    f'($.awsRegion = "{REGION}") && '
    f'(($.requestParameters.secretId = "team/api-key") || ($.requestParameters.secretId = "{SECRET_ARN}") || '
    f'($.requestParameters.secretId = "{SECRET_ARN}-*"))'
)
ISSUER = "$.userIdentity.sessionContext.sessionIssuer.arn"


def test_every_read_names_the_secret_by_name_partial_arn_and_full_arn_in_its_region():
    """A multi-region trail also records reads of a same-named secret in other regions; `awsRegion` keeps them out
    (record field: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html)."""
    assert READS.every_read() == "{ " + ON_THIS_SECRET + " }"


def test_reads_by_others_excludes_exactly_the_reader_roles_and_catches_principals_without_a_role():
    readers = READERS

    assert READS.reads_by_others() == (
        "{ " + ON_THIS_SECRET + f" && (({ISSUER} NOT EXISTS) || "
        f'(({ISSUER} != "{readers[0]}") && ({ISSUER} != "{readers[1]}"))) }}'
    )


def test_throttled_reads_are_the_given_roles_throttling_errors():
    role = f"arn:aws:iam::{ACCOUNT}:role/fn-exec"

    assert READS.throttled_reads_by(role) == (
        "{ " + ON_THIS_SECRET + f' && ({ISSUER} = "{role}") && ($.errorCode = "ThrottlingException") }}'
    )


def test_reads_by_others_needs_a_reader():
    with pytest.raises(ValueError, match="at least one reader"):
        SecretReads(SecretAudience.of(CONTEXT, "team/api-key", [])).reads_by_others()


@pytest.mark.parametrize("value", ['a"b', "a\\b", "a b", ""])
def test_a_value_that_could_break_out_of_its_quotes_is_refused(value):
    with pytest.raises(ValueError, match="without quotes"):
        Compare("$.x", "=", value)


def test_a_pattern_longer_than_cloudwatch_accepts_is_refused():
    readers = [f"arn:aws:iam::{ACCOUNT}:role/{'r' * 60}-{n}" for n in range(8)]

    with pytest.raises(ValueError, match=f"CloudWatch accepts {MAX_PATTERN_LENGTH}"):
        SecretReads(SecretAudience.of(CONTEXT, "team/api-key", readers)).reads_by_others()


def test_the_model_uses_the_handlers_cache_jitter():
    assert CACHE_JITTER_RATIO == DEFAULT_JITTER_RATIO


@pytest.mark.parametrize(
    ("ttl", "concurrency", "period", "headroom", "expected"),
    [
        # prod: a 300 s TTL shortened by up to 10 % leaves reads >= 270 s apart: 2 per container in 300 s.
        (300, 10, 300, 2.0, 2 * 10 * 2),
        # dev: 60 s TTL -> >= 54 s apart -> floor(300 / 54) + 1 = 6 per container, on the 1000 default quota.
        (60, 1000, 300, 2.0, 6 * 1000 * 2),
        # A TTL longer than the period still allows the one read at the window's edge.
        (3600, 3, 300, 1.0, 3),
        (1, 1, 60, 1.5, math.ceil((math.floor(60 / 0.9) + 1) * 1.5)),
    ],
)
def test_read_spike_threshold_follows_from_ttl_and_concurrency(ttl, concurrency, period, headroom, expected):
    threshold = read_spike_threshold(
        cache_ttl_seconds=ttl, concurrency=concurrency, period_seconds=period, headroom=headroom, jitter_ratio=0.1
    )

    assert threshold == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cache_ttl_seconds": 0}, "positive"),
        ({"concurrency": 0}, "positive"),
        ({"headroom": 0.5}, "headroom"),
        ({"jitter_ratio": 1.0}, "jitter_ratio"),
    ],
)
def test_read_spike_threshold_rejects_nonsense(overrides, message):
    args: dict[str, Any] = {
        "cache_ttl_seconds": 60,
        "concurrency": 1,
        "period_seconds": 300,
        "headroom": 2.0,
        "jitter_ratio": 0.1,
    }
    args.update(overrides)

    with pytest.raises(ValueError, match=message):
        read_spike_threshold(**args)


@pytest.mark.parametrize(("period", "evaluations"), [(30, 1), (90, 1), (300, 0), (3600, 25)])
def test_alarm_periods_cloudwatch_would_reject_are_refused(period, evaluations):
    with pytest.raises(ValueError, match="alarm a:"):
        AlarmSpec("a", "a", "d", MetricSpec("NS", "M"), 1, period, evaluation_periods=evaluations)


def test_a_namespace_cloudwatch_would_reject_is_refused():
    with pytest.raises(ValueError, match="namespace"):
        MetricSpec("Bad+Namespace", "M")


def test_alarm_arn_is_built_from_its_name():
    spec = AlarmSpec("k", "stack-k", "d", MetricSpec("NS", "M"), 1, 300)

    assert spec.arn(CONTEXT) == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:stack-k"


def test_dashboard_body_is_json_with_the_function_metrics_secret_metrics_and_alarms():
    alarms = [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:a", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:b"]
    spec = DashboardSpec(REGION, "fn", [MetricSpec("NS", "SecretReads")], alarms, 300)

    widgets = json.loads(spec.body())["widgets"]

    metrics = [widget["properties"]["metrics"] for widget in widgets if widget["type"] == "metric"]
    assert metrics == [
        [
            ["AWS/Lambda", name, "FunctionName", "fn", {"stat": "Sum"}]
            for name in ("Invocations", "Errors", "Throttles")
        ],
        [["AWS/Lambda", "Duration", "FunctionName", "fn", {"stat": stat}] for stat in ("Average", "p99")],
        [["NS", "SecretReads", {"stat": "Sum"}]],
    ]
    assert [w["properties"]["alarms"] for w in widgets if w["type"] == "alarm"] == [alarms]
    assert all(w["properties"]["region"] == REGION for w in widgets if w["type"] == "metric")
    assert {(w["x"], w["y"]) for w in widgets} == {(0, 0), (12, 0), (0, 6), (12, 6)}
