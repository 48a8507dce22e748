import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import pulumi
import pytest

from components.audit_trail import AuditTrail
from components.aws_context import AwsContext
from components.monitoring_model import AlarmThresholds
from components.secret_access_monitoring import (
    AlarmThresholdsArgs,
    SecretAccessMonitoring,
    SecretAccessMonitoringArgs,
)
from offline_preview.cli import PreviewError, ProgramRun
from tests.stack_inspection import (
    ACCOUNT,
    REGION,
    contains_unknown,
    document,
    of_type,
    only,
    resolved,
    run_components,
    statements,
)

CONTEXT = AwsContext("aws", REGION, ACCOUNT)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/fn-exec"
ROTATOR = f"arn:aws:iam::{ACCOUNT}:role/rotator"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:ki-prod-secret-alarms"
NAMESPACE = "KeylessIngest/prod"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
# A GetSecretValue of the secret in its region, by name, partial ARN or full ARN (the name, a hyphen, six characters).
SECRET_READ = (
    '($.eventSource = "secretsmanager.amazonaws.com") && ($.eventName = "GetSecretValue") && '
    f'($.awsRegion = "{REGION}") && '
    '(($.requestParameters.secretId = "ki/prod/api-key") || '
    f'($.requestParameters.secretId = "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ki/prod/api-key") || '
    f'($.requestParameters.secretId = "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ki/prod/api-key-*"))'
)


def monitoring_args(**overrides) -> SecretAccessMonitoringArgs:
    args: SecretAccessMonitoringArgs = {
        "context": CONTEXT,
        "name_prefix": "ki-prod",
        "secret_name": "ki/prod/api-key",
        "reader_role_arns": [ROLE, ROTATOR],
        "function_name": "ki-prod-ingest",
        "function_role_arn": ROLE,
        "cache_ttl_seconds": 300,
        "metric_namespace": NAMESPACE,
        "audit_log_group_name": "org-trail/management-events",
        "reserved_concurrency": 10,
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


def build(**overrides: Any) -> tuple[ProgramRun, SecretAccessMonitoring]:
    components: list[SecretAccessMonitoring] = []

    def body():
        components.append(SecretAccessMonitoring("mon", monitoring_args(**overrides)))

    run = run_components(body, first_preview=True)
    return run, components[0]


def alarms_by_name(run: ProgramRun) -> dict[str, Mapping[str, Any]]:
    return {alarm.inputs["name"]: alarm.inputs for alarm in of_type(run, ALARM)}


def test_filters_read_the_trail_log_group_and_name_the_secret_and_exactly_the_readers():
    """Patterns written out by hand in the JSON filter syntax
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html: `$.field`, `&&`, `||`,
    `NOT EXISTS`, `*` as a wildcard) over CloudTrail's GetSecretValue record fields, not from the component."""
    run, monitoring = build()

    filters = {f.inputs["name"]: f.inputs for f in of_type(run, FILTER)}

    assert {name: (f["logGroupName"], f["pattern"]) for name, f in filters.items()} == {
        "ki-prod-secret-reads": ("org-trail/management-events", f"{{ {SECRET_READ} }}"),
        "ki-prod-unexpected-secret-reads": (
            "org-trail/management-events",
            f"{{ {SECRET_READ} && (($.userIdentity.sessionContext.sessionIssuer.arn NOT EXISTS) || "
            f'(($.userIdentity.sessionContext.sessionIssuer.arn != "{ROLE}") && '
            f'($.userIdentity.sessionContext.sessionIssuer.arn != "{ROTATOR}"))) }}',
        ),
        "ki-prod-secret-read-throttles": (
            "org-trail/management-events",
            f'{{ {SECRET_READ} && ($.userIdentity.sessionContext.sessionIssuer.arn = "{ROLE}") && '
            '($.errorCode = "ThrottlingException") }',
        ),
        # No endpoint given: a reader's read through no endpoint at all is outside the perimeter.
        "ki-prod-secret-reads-outside-perimeter": (
            "org-trail/management-events",
            f"{{ {SECRET_READ} && "
            f'(($.userIdentity.sessionContext.sessionIssuer.arn = "{ROLE}") || '
            f'($.userIdentity.sessionContext.sessionIssuer.arn = "{ROTATOR}")) && '
            "($.vpcEndpointId NOT EXISTS) }",
        ),
    }
    assert (monitoring.audience.context, monitoring.audience.secret_name, monitoring.audience.reader_role_arns) == (
        CONTEXT,
        "ki/prod/api-key",
        (ROLE, ROTATOR),
    )
    assert resolved(monitoring.unexpected_reads_pattern) == filters["ki-prod-unexpected-secret-reads"]["pattern"]
    assert {f["metricTransformation"]["name"]: f["metricTransformation"] for f in filters.values()} == {
        metric: {"name": metric, "namespace": NAMESPACE, "value": "1", "unit": "Count"}
        for metric in ("SecretReads", "UnexpectedSecretReads", "SecretReadThrottles", "SecretReadsOutsidePerimeter")
    }


def test_each_alarm_has_its_metric_threshold_period_and_notifies_the_topic():
    run, monitoring = build()

    alarms = alarms_by_name(run)

    # GIVEN TTL 300 s and 10 reserved containers: reads >= 270 s apart, 2 per container per 300 s, x2 headroom.
    expected = {
        "ki-prod-unexpected-secret-reads": (
            NAMESPACE,
            "UnexpectedSecretReads",
            None,
            1,
            "GreaterThanOrEqualToThreshold",
        ),
        "ki-prod-secret-reads-outside-perimeter": (
            NAMESPACE,
            "SecretReadsOutsidePerimeter",
            None,
            1,
            "GreaterThanOrEqualToThreshold",
        ),
        "ki-prod-secret-read-spike": (NAMESPACE, "SecretReads", None, 40, "GreaterThanThreshold"),
        "ki-prod-secret-read-throttles": (NAMESPACE, "SecretReadThrottles", None, 1, "GreaterThanOrEqualToThreshold"),
        "ki-prod-function-errors": (
            "AWS/Lambda",
            "Errors",
            {"FunctionName": "ki-prod-ingest"},
            1,
            "GreaterThanOrEqualToThreshold",
        ),
        "ki-prod-function-throttles": (
            "AWS/Lambda",
            "Throttles",
            {"FunctionName": "ki-prod-ingest"},
            1,
            "GreaterThanOrEqualToThreshold",
        ),
    }
    assert {
        name: (a["namespace"], a["metricName"], a.get("dimensions"), a["threshold"], a["comparisonOperator"])
        for name, a in alarms.items()
    } == expected
    for alarm in alarms.values():
        assert alarm["statistic"] == "Sum"
        assert alarm["period"] == 300
        assert alarm["evaluationPeriods"] == 1
        assert alarm["treatMissingData"] == "notBreaching"
        assert alarm["alarmActions"] == [TOPIC]
    # "The ARN format of an alarm is arn:aws:cloudwatch:Region:account-id:alarm:alarm-name" (CloudWatch API reference,
    # TagResource: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_TagResource.html).
    assert resolved(monitoring.alarm_arns) == {
        key: f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:ki-prod-{key}"
        for key in (
            "unexpected-secret-reads",
            "secret-reads-outside-perimeter",
            "secret-read-spike",
            "secret-read-throttles",
            "function-errors",
            "function-throttles",
        )
    }


def test_without_reserved_concurrency_the_spike_threshold_assumes_the_unreserved_limit():
    run, _ = build(reserved_concurrency=None, cache_ttl_seconds=60, unreserved_concurrency_limit=50)

    # 60 s TTL -> reads >= 54 s apart -> 6 per container per 300 s; 50 containers; x2 headroom.
    assert alarms_by_name(run)["ki-prod-secret-read-spike"]["threshold"] == 6 * 50 * 2


def test_the_thresholds_argument_names_every_alarm_threshold_and_nothing_else():
    assert set(AlarmThresholdsArgs.__annotations__) == {field.name for field in fields(AlarmThresholds)}


def test_thresholds_and_periods_are_arguments():
    thresholds: AlarmThresholdsArgs = {"period_seconds": 600, "function_errors": 5, "read_spike_headroom": 3.0}
    run, _ = build(thresholds=thresholds)

    alarms = alarms_by_name(run)

    assert alarms["ki-prod-function-errors"]["threshold"] == 5
    assert alarms["ki-prod-function-errors"]["period"] == 600
    # 600 s / 270 s -> 3 reads per container; 10 containers; x3.
    assert alarms["ki-prod-secret-read-spike"]["threshold"] == 3 * 10 * 3


def test_nat_bytes_out_alarm_exists_only_with_a_nat_gateway():
    without, _ = build()
    with_nat, _ = build(nat_gateway_id="nat-0123456789abcdef0")

    assert "ki-prod-nat-bytes-out" not in alarms_by_name(without)
    nat = alarms_by_name(with_nat)["ki-prod-nat-bytes-out"]
    assert (nat["namespace"], nat["metricName"], nat["dimensions"]) == (
        "AWS/NATGateway",
        "BytesOutToDestination",
        {"NatGatewayId": "nat-0123456789abcdef0"},
    )
    assert (nat["statistic"], nat["threshold"], nat["period"], nat["comparisonOperator"]) == (
        "Sum",
        100 * 1024 * 1024,
        3600,
        "GreaterThanThreshold",
    )
    assert nat["alarmActions"] == [TOPIC]


def test_topic_is_encrypted_with_a_key_cloudwatch_alarms_may_use_and_only_this_stacks_alarms_publish():
    run, monitoring = build()

    topic = only(run, "aws:sns/topic:Topic")
    key = only(run, "aws:kms/key:Key", "mon-topic-key")
    key_policy = statements(document(key))
    topic_policy = statements(document(only(run, "aws:sns/topicPolicy:TopicPolicy")))

    assert topic.inputs["name"] == "ki-prod-secret-alarms"
    assert topic.inputs["kmsMasterKeyId"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/ki-prod-alarms"
    assert key.inputs["enableKeyRotation"] is True
    assert key_policy["CloudWatchAlarmsEncryptNotifications"] == {
        "Sid": "CloudWatchAlarmsEncryptNotifications",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": ["*"],
    }
    assert set(key_policy) == {"EnableIamPolicies", "CloudWatchAlarmsEncryptNotifications"}
    assert topic_policy["AlarmsOfThisStackPublish"] == {
        "Sid": "AlarmsOfThisStackPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["sns:Publish"],
        "Resource": [TOPIC],
        "Condition": {
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:ki-prod-*"},
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
        },
    }
    assert topic_policy["AccountManagesTopic"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert all(spec.name.startswith("ki-prod-") for spec in monitoring.alarms.values())


def test_email_subscription_only_when_an_address_is_given():
    without, _ = build()
    with_email, _ = build(alarm_email="oncall@example.com")

    assert of_type(without, "aws:sns/topicSubscription:TopicSubscription") == []
    subscription = only(with_email, "aws:sns/topicSubscription:TopicSubscription")
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"], subscription.inputs["topic"]) == (
        "email",
        "oncall@example.com",
        TOPIC,
    )


def test_dashboard_is_valid_json_and_references_exactly_the_alarms_of_the_stack():
    run, monitoring = build(nat_gateway_id="nat-0123456789abcdef0")

    dashboard = only(run, "aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    shown = [arn for w in body["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]]
    created = {f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm.inputs['name']}" for alarm in of_type(run, ALARM)}

    assert dashboard.inputs["dashboardName"] == "ki-prod-secret-access"
    assert sorted(shown) == sorted(created)
    assert set(resolved(monitoring.alarm_arns).values()) == created
    secret_metrics = [m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]
    assert [NAMESPACE, "UnexpectedSecretReads", {"stat": "Sum"}] in secret_metrics
    assert ["AWS/Lambda", "Duration", "FunctionName", "ki-prod-ingest", {"stat": "p99"}] in secret_metrics


def test_the_component_builds_nothing_account_wide():
    """The trail and the Access Analyzer are the program's (AuditTrail, and one resource in __main__.py)."""
    run, _ = build(alarm_email="oncall@example.com")

    assert of_type(run, "aws:accessanalyzer/analyzer:Analyzer") == []
    assert of_type(run, "aws:cloudtrail/trail:Trail") == []
    assert {r.type for r in run.resources if not r.custom} == {
        "pulumi:pulumi:Stack",
        "keyless-ingest:index:SecretAccessMonitoring",
    }


def build_with_trail(**overrides: Any) -> tuple[ProgramRun, SecretAccessMonitoring]:
    """As the program composes them: an AuditTrail, and the monitoring reading its log group after it exists."""
    components: list[SecretAccessMonitoring] = []

    def body():
        trail = AuditTrail(
            "trail",
            {
                "context": CONTEXT,
                "trail_name": "ki-prod-audit",
                "bucket_name": f"ki-prod-trail-{ACCOUNT}",
                "log_group_name": "/aws/cloudtrail/ki-prod",
                "key_alias": "alias/ki-prod-trail",
                "role_name": "ki-prod-cloudtrail-to-logs",
            },
        )
        args = monitoring_args(audit_log_group_name="/aws/cloudtrail/ki-prod", **overrides)
        components.append(SecretAccessMonitoring("mon", args, opts=pulumi.ResourceOptions(depends_on=[trail])))

    run = run_components(body, first_preview=True)
    return run, components[0]


def test_everything_but_key_ids_is_known_at_the_first_preview():
    run, _ = build_with_trail(alarm_email="oncall@example.com")

    unknown = {(r.type, k) for r in run.resources for k, v in r.inputs.items() if contains_unknown(v)}

    # The trail names its key by key ARN, which AWS stores (an alias ARN would show a diff on every preview).
    assert unknown == {("aws:kms/alias:Alias", "targetKeyId"), ("aws:cloudtrail/trail:Trail", "kmsKeyId")}


def test_with_a_trail_in_depends_on_the_filters_read_its_log_group_after_it_exists():
    run, monitoring = build_with_trail()

    trail_group = only(run, "aws:cloudwatch/logGroup:LogGroup")
    assert resolved(monitoring.audit_log_group_name) == "/aws/cloudtrail/ki-prod" == trail_group.inputs["name"]
    for metric_filter in of_type(run, FILTER):
        assert metric_filter.inputs["logGroupName"] == "/aws/cloudtrail/ki-prod"
        assert trail_group.urn in metric_filter.dependencies


def test_with_secret_read_alarms_off_only_the_function_alarms_and_the_topic_remain():
    run, monitoring = build(secret_read_alarms=False, audit_log_group_name=None)

    assert of_type(run, FILTER) == []
    assert set(monitoring.alarms) == {"function-errors", "function-throttles"}
    assert monitoring.audit_log_group_name is None
    assert monitoring.unexpected_reads_pattern is None
    body = json.loads(only(run, "aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    assert [w["properties"]["title"] for w in body["widgets"]] == [
        "Invocations, errors and throttles",
        "Duration (ms)",
        "Alarm states",
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"audit_log_group_name": None}, "audit_log_group_name must name the CloudWatch Logs group"),
        ({"secret_read_alarms": False}, "secret_read_alarms is off, so audit_log_group_name must stay empty"),
        ({"audit_log_group_name": "bad name!"}, "'bad name!' is not a CloudWatch Logs group name"),
        ({"reader_role_arns": []}, "reader_role_arns must name at least one role"),
        ({"function_role_arn": f"arn:aws:iam::{ACCOUNT}:role/other"}, "function_role_arn must be one of"),
        ({"metric_namespace": "AWS/Lambda"}, "may not start with AWS/"),
    ],
)
def test_bad_arguments_fail_with_a_clear_message(overrides, message):
    with pytest.raises(PreviewError, match=message):
        build(**overrides)


def test_the_outside_the_perimeter_filter_names_the_endpoint_once_it_exists():
    """The endpoint id is AWS's to assign (unknown at the first preview); once known it is the exact id. CloudTrail
    writes `vpcEndpointId` only for calls made through an endpoint
    (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html)."""
    endpoint = "vpce-0123456789abcdef0"

    def body():
        SecretAccessMonitoring("mon", monitoring_args(perimeter_endpoint_ids=[pulumi.Output.from_input(endpoint)]))

    run = run_components(body)
    (outside,) = [f for f in of_type(run, FILTER) if f.inputs["name"] == "ki-prod-secret-reads-outside-perimeter"]

    assert outside.inputs["pattern"] == (
        '{ ($.eventSource = "secretsmanager.amazonaws.com") && ($.eventName = "GetSecretValue") && '
        f'($.awsRegion = "{REGION}") && '
        '(($.requestParameters.secretId = "ki/prod/api-key") || '
        f'($.requestParameters.secretId = "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ki/prod/api-key") || '
        f'($.requestParameters.secretId = "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ki/prod/api-key-*")) && '
        f'(($.userIdentity.sessionContext.sessionIssuer.arn = "{ROLE}") || '
        f'($.userIdentity.sessionContext.sessionIssuer.arn = "{ROTATOR}")) && '
        f'(($.vpcEndpointId NOT EXISTS) || ($.vpcEndpointId != "{endpoint}")) }}'
    )
