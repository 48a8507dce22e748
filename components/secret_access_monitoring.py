"""Every read of the secret visible, and an alarm on the ones nobody expected.

CloudTrail records each GetSecretValue (BatchGetSecretValue included) as a management read event. Metric filters on
the CloudWatch Logs group that receives the account's trail turn those records into three metrics: every read of
the secret, reads by anyone but the reader roles, and the function's throttled reads. Alarms on them, on the
function's errors and throttles and, when there is a NAT gateway, on bytes leaving through it, notify one
KMS-encrypted SNS topic; a dashboard shows the metrics and the alarm states.

The trail is the account's own (an organisation trail delivering to CloudWatch Logs in this account and region, with
read events) or an AuditTrail the program creates; either way this component only reads its log group. It builds
neither the trail nor anything else account-wide.
"""

import re
from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

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
OUTSIDE_PERIMETER_METRIC = "SecretReadsOutsidePerimeter"


class AlarmThresholdsArgs(TypedDict, total=False):
    """Alarm thresholds and periods; each one left out keeps its default (AlarmThresholds in monitoring_model.py)."""

    period_seconds: int
    """Period of the function and secret alarms. Default 300."""
    function_errors: int
    """Function errors per period that raise the alarm. Default 1."""
    function_throttles: int
    """Function throttles per period that raise the alarm. Default 1."""
    secret_throttles: int
    """Throttled GetSecretValue calls by the function per period that raise the alarm. Default 1."""
    read_spike_headroom: float
    """Multiplier over the most secret reads the cache allows. Default 2.0."""
    nat_bytes_out: int
    """Bytes out through the NAT gateway per NAT period that raise the alarm. Default 100 MiB."""
    nat_period_seconds: int
    """Period of the NAT alarm. Default 3600."""


class SecretAccessMonitoringArgs(TypedDict):
    """Inputs of SecretAccessMonitoring."""

    context: NotRequired[AwsContext]
    """Partition, region and account the ARNs are built from. Default: read through this component's provider."""
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
    """CloudWatch Logs group (in this account and region) receiving CloudTrail management events, read events
    included: the account's trail's, or an AuditTrail's (then pass the trail in `depends_on`, which the metric filters
    wait for). Required unless `secret_read_alarms` is off."""
    reserved_concurrency: NotRequired[int | None]
    """The function's reserved concurrency; None when it runs on the account's unreserved pool."""
    unreserved_concurrency_limit: NotRequired[int]
    """Concurrency assumed when `reserved_concurrency` is None. Default 1000, Lambda's default account quota."""
    nat_gateway_id: NotRequired[pulumi.Input[str] | None]
    """The NAT gateway the function reaches the internet through; adds the bytes-out alarm. Default: none."""
    alarm_email: NotRequired[str | None]
    """Subscribe this address to the alarm topic (AWS sends a confirmation mail first). Default: no subscription."""
    thresholds: NotRequired[AlarmThresholdsArgs]
    """Alarm thresholds and periods. Default: AlarmThresholds()."""
    perimeter_endpoint_ids: NotRequired[Sequence[pulumi.Input[str]]]
    """The VPC endpoints the readers' reads must come through (the stack's Secrets Manager endpoint); a read by a
    reader role through any other path, or through none, raises the outside-the-perimeter alarm. Default: none
    given, and only reads that came through no endpoint at all raise it."""
    secret_read_alarms: NotRequired[bool]
    """Watch the secret's reads through the trail (metric filters and the three secret-read alarms). Default True.
    False turns them off, for an account with no trail yet: the function's alarms and the topic stay, and
    `audit_log_group_name` must stay empty."""
    event_rule_arns: NotRequired[Sequence[str]]
    """EventBridge rules (in this account) that may publish to the alarm topic, such as Guardrails' NON_COMPLIANT
    forwarder; their service may then use the topic's key. Default: none."""


class SecretAccessMonitoring(pulumi.ComponentResource):
    """Metric filters over CloudTrail for every read of a secret, alarms on unexpected reads and on the function, one
    KMS-encrypted alarm topic and a dashboard."""

    topic_arn: pulumi.Output[str]
    """The alarm topic, known at preview."""
    topic_policy: pulumi.Output[str]
    """The topic's access policy JSON, as sent to AWS."""
    alarm_arns: pulumi.Output[dict[str, str]]
    """Alarm ARNs by key (e.g. unexpected-secret-reads), known at preview."""
    audit_log_group_name: pulumi.Output[str] | None
    """The log group the metric filters read; absent when `secret_read_alarms` is off."""
    unexpected_reads_pattern: pulumi.Output[str] | None
    """The filter pattern of reads by anyone but the reader roles; absent when `secret_read_alarms` is off."""
    dashboard_name: pulumi.Output[str]
    """Name of the CloudWatch dashboard."""

    def __init__(self, name: str, args: SecretAccessMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:SecretAccessMonitoring", name, None, opts)
        self._name = name
        self._context = context = AwsContext.resolve(args.get("context"), parent=self)
        self._prefix = prefix = args["name_prefix"]
        self._child = pulumi.ResourceOptions(parent=self)
        self._thresholds = AlarmThresholds(**args.get("thresholds", {}))
        readers = tuple(args["reader_role_arns"])
        if not readers:
            raise ValueError(f"SecretAccessMonitoring {name}: reader_role_arns must name at least one role")
        if args["function_role_arn"] not in readers:
            raise ValueError(f"SecretAccessMonitoring {name}: function_role_arn must be one of reader_role_arns")
        namespace = args["metric_namespace"]
        if namespace.startswith("AWS/"):
            raise ValueError(f"SecretAccessMonitoring {name}: metric_namespace may not start with AWS/ (AWS's own)")

        watch_reads = args.get("secret_read_alarms", True)
        self._audit_log_group_name = self._audit_log_group(args, watch_reads=watch_reads)
        self._topic_arn = context.arn("sns", f"{prefix}-secret-alarms")
        self._topic_resource, topic_policy = self._topic(
            args.get("alarm_email"), tuple(args.get("event_rule_arns", ()))
        )

        self._audience = SecretAudience.of(context, args["secret_name"], readers)
        reads = SecretReads(self._audience)
        self._unexpected_reads_pattern = reads.reads_by_others()
        endpoints = list(args.get("perimeter_endpoint_ids", ()))
        # The endpoint ids are AWS's to assign, so this one pattern may be unknown until the endpoint exists; the
        # unexpected-read pattern, which the pack's alarm rule reads, stays known.
        outside: pulumi.Input[str] = (
            pulumi.Output.all(*endpoints).apply(
                lambda ids: SecretReads(self._audience.with_endpoints(ids)).reads_outside_perimeter()
            )
            if endpoints
            else reads.reads_outside_perimeter()
        )
        filters: dict[str, pulumi.Input[str]] = {
            READS_METRIC: reads.every_read(),
            UNEXPECTED_READS_METRIC: self._unexpected_reads_pattern,
            THROTTLED_READS_METRIC: reads.throttled_reads_by(args["function_role_arn"]),
            OUTSIDE_PERIMETER_METRIC: outside,
        }
        secret_metrics = {metric: MetricSpec(namespace, metric) for metric in filters}
        # Children do not inherit the component's depends_on; the filters are what must wait for the log group (an
        # AuditTrail the program creates) to exist.
        log_group_exists = opts.depends_on if opts is not None else None
        for metric, pattern in filters.items() if watch_reads else ():
            self._metric_filter(log_group_exists, secret_metrics[metric], pattern)

        spike = self._read_spike_threshold(args)
        self._alarms = self._alarm_specs(secret_metrics, args["function_name"], spike, args.get("nat_gateway_id"))
        if not watch_reads:
            # No filter feeds the secret-read metrics, so their alarms would never leave INSUFFICIENT_DATA.
            self._alarms = {k: a for k, a in self._alarms.items() if a.metric.namespace != namespace}
            secret_metrics = {}
        for spec in self._alarms.values():
            self._alarm(spec)
        self._alarm_arns = {key: spec.arn(context) for key, spec in self._alarms.items()}

        self._dashboard_name = f"{prefix}-secret-access"
        self._dashboard(args["function_name"], list(secret_metrics.values()))

        self.topic_arn = pulumi.Output.from_input(self._topic_arn)
        self.topic_policy = pulumi.Output.from_input(topic_policy)
        self.alarm_arns = pulumi.Output.from_input(self._alarm_arns)
        self.audit_log_group_name = _optional_output(self._audit_log_group_name)
        self.unexpected_reads_pattern = _optional_output(self._unexpected_reads_pattern if watch_reads else None)
        self.dashboard_name = pulumi.Output.from_input(self._dashboard_name)
        self.register_outputs(
            {
                "topicArn": self.topic_arn,
                "topicPolicy": self.topic_policy,
                "alarmArns": self.alarm_arns,
                "dashboardName": self.dashboard_name,
                **({"auditLogGroupName": self.audit_log_group_name} if self.audit_log_group_name is not None else {}),
                **(
                    {"unexpectedReadsPattern": self.unexpected_reads_pattern}
                    if self.unexpected_reads_pattern is not None
                    else {}
                ),
            }
        )

    @property
    def audience(self) -> SecretAudience:
        """Python only (not in the package schema): the secret, its region and its expected readers, which every
        filter pattern is built from."""
        return self._audience

    @property
    def alarms(self) -> dict[str, AlarmSpec]:
        """Python only (not in the package schema): every alarm by key, with its metric, threshold and period."""
        return self._alarms

    def _audit_log_group(self, args: SecretAccessMonitoringArgs, *, watch_reads: bool) -> str | None:
        """The validated log group the filters read, or None when the secret-read alarms are off."""
        existing = args.get("audit_log_group_name")
        if not watch_reads:
            if existing:
                raise ValueError(
                    f"SecretAccessMonitoring {self._name}: secret_read_alarms is off, so audit_log_group_name must "
                    "stay empty"
                )
            return None
        if not existing:
            raise ValueError(
                f"SecretAccessMonitoring {self._name}: audit_log_group_name must name the CloudWatch Logs group of "
                "the account's trail or of an AuditTrail, or turn secret_read_alarms off"
            )
        return require_log_group_name(existing, setting=f"SecretAccessMonitoring {self._name}")

    def _topic(self, alarm_email: str | None, event_rule_arns: tuple[str, ...]) -> tuple[aws.sns.Topic, str]:
        """A KMS-encrypted topic that only this stack's alarms publish to; returns it and its policy JSON."""
        context, prefix, topic_arn = self._context, self._prefix, self._topic_arn
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
                # EventBridge publishes to an encrypted topic only if it may use the key (same page as above).
                *(
                    (
                        Statement(
                            sid="EventBridgeEncryptNotifications",
                            principal=Principal.service("events.amazonaws.com"),
                            actions=("kms:Decrypt", "kms:GenerateDataKey"),
                            resources=("*",),
                        ),
                    )
                    if event_rule_arns
                    else ()
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
        policy = PolicyDocument(
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
                *(
                    (
                        Statement(
                            sid="EventRulesOfThisStackPublish",
                            principal=Principal.service("events.amazonaws.com"),
                            actions=("sns:Publish",),
                            resources=(topic_arn,),
                            conditions={"ArnEquals": {"aws:SourceArn": event_rule_arns}},
                        ),
                    )
                    if event_rule_arns
                    else ()
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
        aws.sns.TopicPolicy(f"{self._name}-topic-policy", arn=topic_arn, policy=policy.to_json(), opts=after_topic)
        if alarm_email:
            aws.sns.TopicSubscription(
                f"{self._name}-email", topic=topic_arn, protocol="email", endpoint=alarm_email, opts=after_topic
            )
        return topic, policy.to_json()

    def _metric_filter(
        self,
        log_group_exists: pulumi.Input[Sequence[pulumi.Input[pulumi.Resource]] | pulumi.Resource] | None,
        metric: MetricSpec,
        pattern: pulumi.Input[str],
    ) -> None:
        aws.cloudwatch.LogMetricFilter(
            f"{self._name}-{_kebab(metric.name)}",
            name=f"{self._prefix}-{_kebab(metric.name)}",
            log_group_name=self._audit_log_group_name,
            pattern=pattern,
            # No default value: the metric has a data point only when a read happens, so an idle secret costs
            # nothing and the alarms treat missing data as "not breaching".
            metric_transformation={
                "name": metric.name,
                "namespace": metric.namespace,
                "value": "1",
                "unit": "Count",
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=log_group_exists),
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
                "secret-reads-outside-perimeter",
                "A reader role read the API key secret (allowed or denied) from outside the stack's VPC endpoint: its "
                "credentials are being used somewhere else. Find sourceIPAddress and vpcEndpointId in CloudTrail, "
                "revoke the role's sessions and rotate the key.",
                secret_metrics[OUTSIDE_PERIMETER_METRIC],
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
            alarm_actions=[self._topic_arn],
            # The known ARN keeps the alarm's inputs known at preview; depends_on keeps the order.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._topic_resource]),
        )

    def _dashboard(self, function_name: str, secret_metrics: list[MetricSpec]) -> None:
        spec = DashboardSpec(
            region=self._context.region,
            function_name=function_name,
            secret_metrics=secret_metrics,
            alarm_arns=list(self._alarm_arns.values()),
            period_seconds=self._thresholds.period_seconds,
        )
        aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=self._dashboard_name,
            dashboard_body=spec.body(),
            opts=self._child,
        )


def _kebab(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", camel).lower()


def _optional_output(value: str | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.from_input(value)
