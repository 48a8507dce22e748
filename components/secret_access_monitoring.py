"""Every read of the secret visible, and an alarm on the ones nobody expected.

CloudTrail records each GetSecretValue (BatchGetSecretValue included) as a management read event. Metric filters on
the CloudWatch Logs group that receives the account's trail turn those records into three metrics: every read of
the secret, reads by anyone but the reader roles, and the function's throttled reads. Alarms on them, on the
function's errors and throttles and, when there is a NAT gateway, on bytes leaving through it, notify one
KMS-encrypted SNS topic; a dashboard shows the metrics and the alarm states.

By default the trail is the account's own (an organisation trail delivering to CloudWatch Logs in this account and
region, with read events); `create_trail` builds one for the stack instead (see AuditTrail).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.audit_trail import AuditTrail
from components.aws_context import AwsContext
from components.iam import PolicyDocument, Principal, Statement
from components.managed_key import create_managed_key
from components.monitoring_model import (
    CACHE_JITTER_RATIO,
    DEFAULT_UNRESERVED_CONCURRENCY,
    AlarmSpec,
    AlarmThresholds,
    Comparison,
    DashboardSpec,
    MetricSpec,
    SecretReads,
    read_spike_threshold,
)
from components.secret_audience import SecretAudience

_LOG_GROUP_NAME = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")


def require_log_group_name(name: str, *, setting: str) -> str:
    """Return `name` if CloudWatch Logs accepts it as a log group name; otherwise raise naming the setting."""
    if not _LOG_GROUP_NAME.fullmatch(name):
        raise ValueError(f"{setting}: {name!r} is not a CloudWatch Logs group name (letters, digits and ._-/#)")
    return name


def audit_trail_log_group_name(name_prefix: str) -> str:
    """The log group a stack-created trail delivers to, known before the component exists (for the log key)."""
    return f"/aws/cloudtrail/{name_prefix}"


READS_METRIC = "SecretReads"
UNEXPECTED_READS_METRIC = "UnexpectedSecretReads"
THROTTLED_READS_METRIC = "SecretReadThrottles"


class SecretAccessMonitoringArgs(TypedDict):
    context: AwsContext
    """Partition, region and account the ARNs are built from."""
    name_prefix: str
    """Prefix of every physical name (alarms, topic, dashboard, trail), e.g. keyless-ingest-prod."""
    secret_name: str
    """Name of the monitored secret. Never its value: nothing here reads it."""
    reader_role_arns: Sequence[str]
    """The roles expected to read the secret; a read by anyone else raises the unexpected-read alarm."""
    function_name: str
    """The function whose errors, throttles and throttled secret reads are watched."""
    function_role_arn: str
    """The function's execution role (one of the readers), for the throttled-reads metric."""
    cache_ttl_seconds: int
    """The function's SECRET_CACHE_TTL_SECONDS, from which the read-spike threshold follows."""
    metric_namespace: str
    """CloudWatch namespace of the secret-read metrics, unique per monitored secret, e.g. KeylessIngest/prod."""
    audit_log_group_name: NotRequired[str | None]
    """CloudWatch Logs group (in this account and region) receiving the account's CloudTrail management events,
    read events included. Required unless `create_trail`."""
    create_trail: NotRequired[bool]
    """Create a trail for the stack (AuditTrail) instead of using `audit_log_group_name`. Default False."""
    trail_log_retention_days: NotRequired[int]
    """`create_trail` only: retention of the trail's log group. Default 90."""
    log_kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """`create_trail` only: key for the trail's log group (its policy must admit CloudWatch Logs for that group)."""
    reserved_concurrency: NotRequired[int | None]
    """The function's reserved concurrency; None when it runs on the account's unreserved pool."""
    unreserved_concurrency_limit: NotRequired[int]
    """Concurrency assumed when `reserved_concurrency` is None. Default 1000, Lambda's default account quota."""
    nat_gateway_id: NotRequired[pulumi.Input[str] | None]
    """The NAT gateway the function reaches the internet through; adds the bytes-out alarm. Default: none."""
    alarm_email: NotRequired[str | None]
    """Subscribe this address to the alarm topic (AWS sends a confirmation mail first). Default: no subscription."""
    enable_access_analyzer: NotRequired[bool]
    """Create an IAM Access Analyzer for the account, which reports resource policies that grant outside access.
    An account holds one account analyzer per region: leave this off if one exists. Default False."""
    thresholds: NotRequired[AlarmThresholds]
    """Alarm thresholds and periods. Default AlarmThresholds()."""


class SecretAccessMonitoring(pulumi.ComponentResource):
    topic_arn: str
    """The alarm topic, known at preview."""
    topic_policy: PolicyDocument
    """The topic's access policy, as sent to AWS."""
    alarms: dict[str, AlarmSpec]
    """Every alarm of the component by key, with its metric, threshold and period."""
    alarm_arns: dict[str, str]
    """Alarm ARNs by key, known at preview."""
    audit_log_group_name: str
    """The log group the metric filters read."""
    unexpected_reads_pattern: str
    """The filter pattern of reads by anyone but the reader roles."""
    audience: SecretAudience
    """The secret, its region and its expected readers, which every filter pattern is built from."""
    dashboard_name: str
    """Name of the CloudWatch dashboard."""
    trail: AuditTrail | None
    """The stack's own trail, when `create_trail`."""

    def __init__(self, name: str, args: SecretAccessMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:SecretAccessMonitoring", name, None, opts)
        self._name = name
        self._context = context = args["context"]
        self._prefix = prefix = args["name_prefix"]
        self._child = pulumi.ResourceOptions(parent=self)
        self._thresholds = args.get("thresholds", AlarmThresholds())
        readers = tuple(args["reader_role_arns"])
        if not readers:
            raise ValueError(f"SecretAccessMonitoring {name}: reader_role_arns must name at least one role")
        if args["function_role_arn"] not in readers:
            raise ValueError(f"SecretAccessMonitoring {name}: function_role_arn must be one of reader_role_arns")
        namespace = args["metric_namespace"]
        if namespace.startswith("AWS/"):
            raise ValueError(f"SecretAccessMonitoring {name}: metric_namespace may not start with AWS/ (AWS's own)")

        self.trail = None
        log_group = self._audit_log_group(args)
        self.topic_arn = context.arn("sns", f"{prefix}-secret-alarms")
        self._topic_resource = self._topic(args.get("alarm_email"))

        self.audience = SecretAudience.of(context, args["secret_name"], readers)
        reads = SecretReads(self.audience)
        self.unexpected_reads_pattern = reads.reads_by_others()
        filters = {
            READS_METRIC: reads.every_read(),
            UNEXPECTED_READS_METRIC: self.unexpected_reads_pattern,
            THROTTLED_READS_METRIC: reads.throttled_reads_by(args["function_role_arn"]),
        }
        secret_metrics = {metric: MetricSpec(namespace, metric) for metric in filters}
        for metric, pattern in filters.items():
            self._metric_filter(log_group, secret_metrics[metric], pattern)

        spike = self._read_spike_threshold(args)
        self.alarms = self._alarm_specs(secret_metrics, args["function_name"], spike, args.get("nat_gateway_id"))
        for spec in self.alarms.values():
            self._alarm(spec)
        self.alarm_arns = {key: spec.arn(context) for key, spec in self.alarms.items()}

        self.dashboard_name = f"{prefix}-secret-access"
        self._dashboard(args["function_name"], list(secret_metrics.values()))
        if args.get("enable_access_analyzer", False):
            aws.accessanalyzer.Analyzer(
                f"{name}-access-analyzer", analyzer_name=f"{prefix}-account", type="ACCOUNT", opts=self._child
            )

        self.register_outputs(
            {
                "topicArn": self.topic_arn,
                "alarmArns": self.alarm_arns,
                "auditLogGroupName": self.audit_log_group_name,
                "dashboardName": self.dashboard_name,
            }
        )

    def _audit_log_group(self, args: SecretAccessMonitoringArgs) -> pulumi.Resource | None:
        """The log group the filters read; returns the resource to depend on when the stack creates it."""
        existing = args.get("audit_log_group_name")
        if args.get("create_trail", False):
            if existing:
                raise ValueError(
                    f"SecretAccessMonitoring {self._name}: give audit_log_group_name or create_trail, not both"
                )
            prefix, context = self._prefix, self._context
            self.trail = AuditTrail(
                f"{self._name}-trail",
                {
                    "context": context,
                    "trail_name": f"{prefix}-audit",
                    "bucket_name": f"{prefix}-trail-{context.account_id}",
                    "log_group_name": audit_trail_log_group_name(prefix),
                    "key_alias": f"alias/{prefix}-trail",
                    "role_name": f"{prefix}-cloudtrail-to-logs",
                    "log_retention_days": args.get("trail_log_retention_days", 90),
                    "log_kms_key_arn": args.get("log_kms_key_arn"),
                },
                opts=self._child,
            )
            self.audit_log_group_name = self.trail.log_group_name
            return self.trail.log_group
        if not existing:
            raise ValueError(
                f"SecretAccessMonitoring {self._name}: audit_log_group_name must name the CloudWatch Logs group of "
                "the account's trail, or set create_trail"
            )
        self.audit_log_group_name = require_log_group_name(existing, setting=f"SecretAccessMonitoring {self._name}")
        return None

    def _topic(self, alarm_email: str | None) -> aws.sns.Topic:
        """A KMS-encrypted topic that only this stack's alarms publish to."""
        context, prefix, topic_arn = self._context, self._prefix, self.topic_arn
        alarms_of_this_stack = context.arn("cloudwatch", f"alarm:{prefix}-*")
        key = create_managed_key(
            f"{self._name}-topic-key",
            context=context,
            description=f"Encrypts the alarm notifications of {prefix}.",
            alias=f"alias/{prefix}-alarms",
            service_statements=(
                # CloudWatch alarms publish to an encrypted topic only if they may use its key:
                # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
                # The key encrypts nothing but this topic's messages; who may publish is the topic policy's job.
                Statement(
                    sid="CloudWatchAlarmsEncryptNotifications",
                    principal=Principal.service("cloudwatch.amazonaws.com"),
                    actions=("kms:Decrypt", "kms:GenerateDataKey"),
                    resources=("*",),
                ),
            ),
            parent=self,
        )
        topic = aws.sns.Topic(
            f"{self._name}-topic",
            name=topic_arn.rsplit(":", 1)[1],
            kms_master_key_id=key.alias_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[key.alias]),
        )
        self.topic_policy = PolicyDocument(
            (
                Statement(
                    sid="AlarmsOfThisStackPublish",
                    principal=Principal.service("cloudwatch.amazonaws.com"),
                    actions=("sns:Publish",),
                    resources=(topic_arn,),
                    conditions={
                        "StringEquals": {"aws:SourceAccount": context.account_id},
                        "ArnLike": {"aws:SourceArn": alarms_of_this_stack},
                    },
                ),
                # The statement SNS's default topic policy would have held: the account manages the topic.
                Statement(
                    sid="AccountManagesTopic",
                    principal=Principal.aws(context.account_root_arn),
                    actions=(
                        "sns:GetTopicAttributes",
                        "sns:SetTopicAttributes",
                        "sns:AddPermission",
                        "sns:RemovePermission",
                        "sns:DeleteTopic",
                        "sns:Subscribe",
                        "sns:ListSubscriptionsByTopic",
                        "sns:Publish",
                    ),
                    resources=(topic_arn,),
                ),
            )
        )
        after_topic = pulumi.ResourceOptions(parent=self, depends_on=[topic])
        aws.sns.TopicPolicy(
            f"{self._name}-topic-policy", arn=topic_arn, policy=self.topic_policy.to_json(), opts=after_topic
        )
        if alarm_email:
            aws.sns.TopicSubscription(
                f"{self._name}-email", topic=topic_arn, protocol="email", endpoint=alarm_email, opts=after_topic
            )
        return topic

    def _metric_filter(self, log_group: pulumi.Resource | None, metric: MetricSpec, pattern: str) -> None:
        aws.cloudwatch.LogMetricFilter(
            f"{self._name}-{_kebab(metric.name)}",
            name=f"{self._prefix}-{_kebab(metric.name)}",
            log_group_name=self.audit_log_group_name,
            pattern=pattern,
            # No default value: the metric has a data point only when a read happens, so an idle secret costs
            # nothing and the alarms treat missing data as "not breaching".
            metric_transformation={
                "name": metric.name,
                "namespace": metric.namespace,
                "value": "1",
                "unit": "Count",
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group] if log_group is not None else []),
        )

    def _read_spike_threshold(self, args: SecretAccessMonitoringArgs) -> int:
        reserved = args.get("reserved_concurrency")
        unreserved = args.get("unreserved_concurrency_limit", DEFAULT_UNRESERVED_CONCURRENCY)
        return read_spike_threshold(
            cache_ttl_seconds=args["cache_ttl_seconds"],
            concurrency=reserved if reserved is not None else unreserved,
            period_seconds=self._thresholds.period_seconds,
            headroom=self._thresholds.read_spike_headroom,
            jitter_ratio=CACHE_JITTER_RATIO,
        )

    def _alarm_specs(
        self,
        secret_metrics: dict[str, MetricSpec],
        function_name: str,
        read_spike: int,
        nat_gateway_id: pulumi.Input[str] | None,
    ) -> dict[str, AlarmSpec]:
        t, prefix = self._thresholds, self._prefix

        def alarm(
            key: str,
            description: str,
            metric: MetricSpec,
            threshold: float,
            comparison: Comparison = "GreaterThanOrEqualToThreshold",
            period_seconds: int = t.period_seconds,
        ) -> AlarmSpec:
            return AlarmSpec(key, f"{prefix}-{key}", description, metric, threshold, period_seconds, comparison)

        def lambda_metric(metric: str) -> MetricSpec:
            return MetricSpec("AWS/Lambda", metric, dimensions={"FunctionName": function_name})

        specs = [
            alarm(
                "unexpected-secret-reads",
                "A principal other than the reader roles called GetSecretValue on the API key secret (allowed or "
                "denied). Find the caller in CloudTrail (userIdentity) and rotate the key if the call succeeded.",
                secret_metrics[UNEXPECTED_READS_METRIC],
                # Any occurrence: this is the definition of the alarm, not a tunable.
                threshold=1,
            ),
            alarm(
                "secret-read-spike",
                f"More than {read_spike} reads of the API key secret in {t.period_seconds} s, well above what the "
                "function's cache allows. Look for a cache bypass, a redeploy loop or a caller outside it.",
                secret_metrics[READS_METRIC],
                threshold=read_spike,
                comparison="GreaterThanThreshold",
            ),
            alarm(
                "secret-read-throttles",
                "Secrets Manager throttled the function's GetSecretValue calls; the cache should make this impossible.",
                secret_metrics[THROTTLED_READS_METRIC],
                threshold=t.secret_throttles,
            ),
            alarm(
                "function-errors",
                f"Invocations of {function_name} failed; see its log group.",
                lambda_metric("Errors"),
                threshold=t.function_errors,
            ),
            alarm(
                "function-throttles",
                f"Lambda throttled {function_name}: its concurrency is exhausted.",
                lambda_metric("Throttles"),
                threshold=t.function_throttles,
            ),
        ]
        if nat_gateway_id is not None:
            specs.append(
                alarm(
                    "nat-bytes-out",
                    f"More than {t.nat_bytes_out} bytes left through the NAT gateway in {t.nat_period_seconds} s, far "
                    "more than the function's API calls send. Check for exfiltration.",
                    MetricSpec("AWS/NATGateway", "BytesOutToDestination", dimensions={"NatGatewayId": nat_gateway_id}),
                    threshold=t.nat_bytes_out,
                    period_seconds=t.nat_period_seconds,
                    comparison="GreaterThanThreshold",
                )
            )
        return {spec.key: spec for spec in specs}

    def _alarm(self, spec: AlarmSpec) -> None:
        aws.cloudwatch.MetricAlarm(
            f"{self._name}-{spec.key}",
            name=spec.name,
            alarm_description=spec.description,
            namespace=spec.metric.namespace,
            metric_name=spec.metric.name,
            dimensions=dict(spec.metric.dimensions) or None,
            statistic=spec.metric.statistic,
            threshold=spec.threshold,
            comparison_operator=spec.comparison,
            period=spec.period_seconds,
            evaluation_periods=spec.evaluation_periods,
            treat_missing_data=spec.treat_missing_data,
            alarm_actions=[self.topic_arn],
            # The known ARN keeps the alarm's inputs known at preview; depends_on keeps the order.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._topic_resource]),
        )

    def _dashboard(self, function_name: str, secret_metrics: list[MetricSpec]) -> None:
        spec = DashboardSpec(
            region=self._context.region,
            function_name=function_name,
            secret_metrics=secret_metrics,
            alarm_arns=list(self.alarm_arns.values()),
            period_seconds=self._thresholds.period_seconds,
        )
        aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=self.dashboard_name,
            dashboard_body=spec.body(),
            opts=self._child,
        )


def _kebab(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", camel).lower()
