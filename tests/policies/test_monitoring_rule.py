"""secret-unexpected-access-alarm, through the pack process.

Fixtures are built with the real monitoring model (the pattern the stack ships) and with hand-written near misses.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.aws_context import AwsContext
from components.monitoring_model import SecretReads
from components.secret_audience import SecretAudience
from mock_engine.recorded import RecordedResource
from tests.policies.builders import ACCOUNT, REGION, UNKNOWN, found, report, res

RULE = "secret-unexpected-access-alarm"
SECRET_NAME = "keyless-ingest/prod/weather-api-key"
READER = f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-ingest-exec"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:keyless-ingest-prod-secret-alarms"
CONTEXT = AwsContext("aws", REGION, ACCOUNT)
READS = SecretReads(SecretAudience.of(CONTEXT, SECRET_NAME, [READER]))
NAMESPACE = "KeylessIngest/prod"


def secret(name: object = SECRET_NAME) -> RecordedResource:
    return res("aws:secretsmanager/secret:Secret", "api-key-secret", {"name": name})


def metric_filter(pattern: object, metric: str = "UnexpectedSecretReads", name: str = "f") -> RecordedResource:
    return res(
        "aws:cloudwatch/logMetricFilter:LogMetricFilter",
        name,
        {
            "logGroupName": "org-trail/management-events",
            "pattern": pattern,
            "metricTransformation": {"name": metric, "namespace": NAMESPACE, "value": "1"},
        },
    )


def alarm(metric: str = "UnexpectedSecretReads", name: str = "a", **overrides: Any) -> RecordedResource:
    inputs = {
        "name": name,
        "namespace": NAMESPACE,
        "metricName": metric,
        "statistic": "Sum",
        "threshold": 1,
        "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "period": 300,
        "evaluationPeriods": 1,
        "alarmActions": [TOPIC],
    }
    inputs.update(overrides)
    return res("aws:cloudwatch/metricAlarm:MetricAlarm", name, inputs)


def violations(pack, *resources: RecordedResource) -> set[tuple[str, str]]:
    return found(pack, *resources, policy=RULE)


def test_the_stacks_own_filter_and_alarm_pass(pack):
    # GIVEN the pattern SecretAccessMonitoring ships and an any-occurrence alarm on its metric
    assert violations(pack, secret(), metric_filter(READS.reads_by_others()), alarm()) == set()


def test_an_alarm_with_greater_than_below_one_also_counts(pack):
    near_zero = alarm(threshold=0, comparisonOperator="GreaterThanThreshold")

    assert violations(pack, secret(), metric_filter(READS.reads_by_others()), near_zero) == set()


def test_a_stack_without_secrets_needs_no_alarm(pack):
    assert violations(pack, alarm()) == set()


@pytest.mark.parametrize(
    ("resources", "why"),
    [
        (lambda: [secret()], "no filter and no alarm"),
        (lambda: [secret(), metric_filter(READS.reads_by_others())], "a filter but no alarm"),
        (lambda: [secret(), alarm()], "an alarm on a metric no filter feeds"),
        (lambda: [secret(), metric_filter(READS.every_read()), alarm()], "the filter counts every read"),
        (
            lambda: [secret(), metric_filter(READS.reads_by_others(), metric="Other"), alarm()],
            "the alarm watches another metric",
        ),
        (
            lambda: [
                secret(),
                metric_filter(SecretReads(SecretAudience.of(CONTEXT, "other", [READER])).reads_by_others()),
                alarm(),
            ],
            "the filter names another secret",
        ),
        (
            lambda: [secret(), metric_filter(READS.reads_by_others()), alarm(threshold=10)],
            "the alarm needs ten reads",
        ),
        (
            lambda: [secret(), metric_filter(READS.reads_by_others()), alarm(alarmActions=[])],
            "the alarm notifies nobody",
        ),
        (
            lambda: [secret(), metric_filter(READS.reads_by_others()), alarm(actionsEnabled=False)],
            "the alarm's actions are disabled",
        ),
        (
            lambda: [secret(), metric_filter(READS.reads_by_others()), alarm(statistic="Average")],
            "an average does not count occurrences",
        ),
        (
            lambda: [
                secret(),
                metric_filter(f'{{ $.eventName = "GetSecretValue" && $.userIdentity.arn != "x" && "{SECRET_NAME}" }}'),
                alarm(),
            ],
            "the name appears, but not as the requested secret id",
        ),
        (lambda: [secret(name=None), alarm()], "an auto-named secret cannot be matched"),
    ],
)
def test_a_secret_without_an_unexpected_access_alarm_is_reported(pack, resources, why):
    assert violations(pack, *resources()) == {(RULE, "api-key-secret")}, why


def test_every_secret_is_checked_on_its_own(pack):
    other = res("aws:secretsmanager/secret:Secret", "other-secret", {"name": "team/other"})

    result = violations(pack, secret(), other, metric_filter(READS.reads_by_others()), alarm())

    assert result == {(RULE, "other-secret")}


def test_unknown_values_are_a_cant_run_advisory_not_a_pass_or_a_failure(pack):
    # GIVEN a filter whose pattern is not known yet and no other filter that decides
    result = report(pack, secret(), metric_filter(UNKNOWN), alarm())

    ours = [v for v in result.violations if v.policy == RULE]
    assert [(v.cant_run, v.enforcement) for v in ours] == [(True, "advisory")]


def test_a_known_match_decides_even_next_to_an_unknown_filter(pack):
    resources = (
        secret(),
        metric_filter(UNKNOWN, name="pending"),
        metric_filter(READS.reads_by_others()),
        alarm(),
    )

    assert [v for v in report(pack, *resources).violations if v.policy == RULE] == []


def test_the_message_never_echoes_the_secret_name(pack):
    messages = [v.message for v in report(pack, secret()).violations if v.policy == RULE]

    assert messages
    assert all(SECRET_NAME not in message for message in messages)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=10,
)
FIELDS = {
    "aws:secretsmanager/secret:Secret": ("name",),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": ("pattern", "metricTransformation"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "namespace",
        "metricName",
        "threshold",
        "comparisonOperator",
        "statistic",
        "alarmActions",
        "actionsEnabled",
    ),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_malformed_props_never_make_the_rule_crash(pack, data):
    resources = [
        res(type_, f"r{index}", {field: data.draw(JSONISH) for field in fields})
        for index, (type_, fields) in enumerate(FIELDS.items())
    ]

    ours = [v for v in report(pack, *resources).violations if v.policy == RULE]

    assert all("could not evaluate" not in v.message and v.message.strip() for v in ours)
