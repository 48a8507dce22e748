"""Detective guardrails after deploy: AWS Config rules that keep the pack's promises true in the running account.

The pack judges what a preview proposes; these rules watch what the account holds afterwards (a variable added in
the console, an admin policy attached to the role, key rotation turned off) and send a NON_COMPLIANT result to the
stack's alarm topic through EventBridge ("Config Rules Compliance Change", sent by Config directly to EventBridge:
https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-config.html).

Two modes. `existing-recorder` adds rules only: an account holds one customer-managed configuration recorder per
Region (PutConfigurationRecorder, https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigurationRecorder.html),
and accounts under Control Tower or Security Hub already have one. `create-recorder` also creates the recorder,
recording only the resource types the rules read, its delivery channel (a private, encrypted bucket with a
lifecycle) and the recorder status.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws_context import AwsContext
from components.iam import PolicyDocument, Principal, Statement
from components.log_retention import require_valid_retention
from components.private_bucket import create_private_bucket

MODES = ("off", "existing-recorder", "create-recorder")
"""Values of `keyless-ingest:configRules`; `off` creates no Guardrails at all."""
FUNCTION_TYPE = "AWS::Lambda::Function"
RECORDED_TYPES = (
    "AWS::Lambda::Function",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::Logs::LogGroup",
)
"""What a created recorder records: the resource types the rules below evaluate, and nothing else (each recorded
change is a billed configuration item)."""
PERIODIC = "TwentyFour_Hours"
CONFIG_RULE_EVENT = "Config Rules Compliance Change"
ADMIN_POLICY_ARN = "arn:{partition}:iam::aws:policy/AdministratorAccess"


def require_mode(value: object, *, setting: str) -> str:
    """`value` if it is one of MODES; otherwise a ValueError naming the setting and the choices."""
    if value not in MODES:
        raise ValueError(f"{setting}: must be one of {', '.join(MODES)}, got {value!r}")
    return str(value)


def rule_function_name(name_prefix: str) -> str:
    """The custom rule's function, e.g. keyless-ingest-prod-env-rule (its log group must be known before it)."""
    return f"{name_prefix}-env-rule"


def compliance_event_rule_arn(context: AwsContext, name_prefix: str) -> str:
    """The EventBridge rule that forwards NON_COMPLIANT results; the alarm topic's policy names it at preview."""
    return context.arn("events", f"rule/{name_prefix}-config-noncompliant")


@dataclass(frozen=True)
class ManagedRule:
    """One AWS managed rule, identified as in AWS's managed-rules list."""

    suffix: str
    """Rule name after the stack prefix."""
    identifier: str
    """SourceIdentifier from https://docs.aws.amazon.com/config/latest/developerguide/managed-rules-by-aws-config.html"""
    resource_types: tuple[str, ...] = ()
    """The scope's resource types; empty for a periodic rule, which checks the account (no scope here)."""
    periodic: bool = False
    parameters: Mapping[str, str] = field(default_factory=dict)


class GuardrailsArgs(TypedDict):
    """Inputs of Guardrails."""

    context: NotRequired[AwsContext]
    """Partition, region and account the ARNs are built from. Default: read through this component's provider."""
    mode: str
    """existing-recorder (rules only) or create-recorder (also the recorder, its bucket and its status)."""
    name_prefix: str
    """Prefix of every physical name (rules, function, role, bucket), e.g. keyless-ingest-prod."""
    rule_code: pulumi.Input[pulumi.Archive]
    """The custom rule's bundle (bundle_builder.build_rule_bundle)."""
    rule_code_sha256: NotRequired[str]
    """Base64 SHA-256 of the bundle, so an unchanged bundle never triggers an update."""
    watched_function_names: Sequence[str]
    """Functions whose environment the custom rule judges (the stack's; the rule's own is added)."""
    vpc_function_name: str
    """The function that must run in a VPC (LAMBDA_INSIDE_VPC is scoped to it)."""
    log_group_names: Sequence[str]
    """Log groups whose retention CW_LOGGROUP_RETENTION_PERIOD_CHECK checks (the rule's own is added)."""
    log_retention_days: int
    """The stack's retention: the rule's log group gets it and the retention check demands at least it."""
    log_kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Customer-managed key for the rule function's log group. Default: CloudWatch's own encryption."""
    alarm_topic_arn: pulumi.Input[str]
    """The stack's alert topic; its policy must let the compliance event rule publish (SecretAccessMonitoring's
    event_rule_arns, with compliance_event_rule_arn)."""
    watched_role_id: NotRequired[pulumi.Input[str] | None]
    """IAM role id (AROA...) of the function's role; IAM_POLICY_BLACKLISTED_CHECK is scoped to it. Default: every
    role of the account."""
    scope_tag_key: NotRequired[str | None]
    """With scope_tag_value, scopes the resource rules to resources carrying this tag (the stack's default tag)."""
    scope_tag_value: NotRequired[str | None]
    """The tag's value, e.g. prod."""
    max_access_key_age_days: NotRequired[int]
    """ACCESS_KEYS_ROTATED's maxAccessKeyAge. Default 90 (AWS's default)."""
    bucket_expiration_days: NotRequired[int]
    """create-recorder: days the delivery bucket keeps snapshots and history files. Default 365."""


class Guardrails(pulumi.ComponentResource):
    """AWS Config rules mirroring keyless-guard, a custom rule running the pack's own env judgement, and a
    NON_COMPLIANT notification to the alarm topic; optionally the configuration recorder itself."""

    rule_names: pulumi.Output[list[str]]
    """Every Config rule this component created."""
    function_name: pulumi.Output[str]
    """The custom rule's Lambda function."""
    role_policy: pulumi.Output[str]
    """The custom rule function's inline policy JSON, as sent to AWS."""
    event_pattern: pulumi.Output[str]
    """The EventBridge pattern that forwards NON_COMPLIANT results to the alarm topic."""
    recorder_name: pulumi.Output[str]
    """The configuration recorder created (create-recorder), or an empty string (existing-recorder)."""

    def __init__(self, name: str, args: GuardrailsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:Guardrails", name, None, opts)
        self._context = AwsContext.resolve(args.get("context"), parent=self)
        self._name = name
        self._prefix = args["name_prefix"]
        self._child = pulumi.ResourceOptions(parent=self)
        mode = require_mode(args["mode"], setting=f"Guardrails {name}: mode")
        if mode == "off":
            raise ValueError(f"Guardrails {name}: mode off means no Guardrails; do not create the component")
        retention = require_valid_retention(
            args["log_retention_days"], setting=f"Guardrails {name}: log_retention_days"
        )
        function_name = rule_function_name(self._prefix)
        watched = sorted({*args["watched_function_names"], function_name})

        recorder_ready: list[pulumi.Resource] = []
        recorder_name = ""
        if mode == "create-recorder":
            recorder_name = f"{self._prefix}-recorder"
            recorder_ready = [self._recorder(recorder_name, args.get("bucket_expiration_days", 365))]

        function, policy_json = self._rule_function(args, function_name, watched, retention)
        rules = [self._custom_rule(function_name, watched, function, recorder_ready)]
        for spec in self._managed_rules(args, [*args["log_group_names"], f"/aws/lambda/{function_name}"], retention):
            rules.append(self._managed_rule(spec, args, recorder_ready))
        rule_names = [f"{self._prefix}-{spec}" for spec in [CUSTOM_RULE_SUFFIX, *(s.suffix for s in MANAGED)]]
        pattern = self._notification(rule_names, args["alarm_topic_arn"], rules)

        self.rule_names = pulumi.Output.from_input(rule_names)
        self.function_name = pulumi.Output.from_input(function_name)
        self.role_policy = pulumi.Output.from_input(policy_json)
        self.event_pattern = pulumi.Output.from_input(pattern)
        self.recorder_name = pulumi.Output.from_input(recorder_name)
        self.register_outputs(
            {
                "ruleNames": self.rule_names,
                "functionName": self.function_name,
                "rolePolicy": self.role_policy,
                "eventPattern": self.event_pattern,
                "recorderName": self.recorder_name,
            }
        )

    # The custom rule ---------------------------------------------------------------------------------------------

    def _rule_function(
        self, args: GuardrailsArgs, function_name: str, watched: Sequence[str], retention: int
    ) -> tuple[aws.lambda_.Function, str]:
        context, name, child = self._context, self._name, self._child
        role_name = f"{function_name}-exec"
        log_group_name = f"/aws/lambda/{function_name}"
        role = aws.iam.Role(
            f"{name}-rule-role",
            name=role_name,
            description=f"Execution role of the Config rule {function_name}",
            assume_role_policy=PolicyDocument(
                (
                    Statement(
                        sid="LambdaInThisAccountOnly",
                        principal=Principal.service("lambda.amazonaws.com"),
                        actions=("sts:AssumeRole",),
                        conditions={"StringEquals": {"aws:SourceAccount": context.account_id}},
                    ),
                )
            ).to_json(),
            opts=child,
        )
        policy_json = PolicyDocument(
            (
                Statement(
                    sid="WriteOwnLogs",
                    actions=("logs:CreateLogStream", "logs:PutLogEvents"),
                    resources=(f"{context.log_group_arn(log_group_name)}:*",),
                ),
                Statement(
                    sid="ReadWatchedFunctions",
                    actions=("lambda:GetFunctionConfiguration",),
                    resources=tuple(context.arn("lambda", f"function:{watched_name}") for watched_name in watched),
                ),
                Statement(
                    sid="ReportEvaluations",
                    actions=("config:PutEvaluations",),
                    # PutEvaluations supports no resource-level permission (Service Authorization Reference, AWS
                    # Config); the result token Config hands the function is what ties a call to one rule.
                    resources=("*",),
                ),
            )
        ).to_json()
        role_policy = aws.iam.RolePolicy(
            f"{name}-rule-policy", name="least-privilege", role=role.name, policy=policy_json, opts=child
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-rule-logs",
            name=log_group_name,
            retention_in_days=retention,
            kms_key_id=args.get("log_kms_key_arn"),
            opts=child,
        )
        function = aws.lambda_.Function(
            f"{name}-rule-function",
            name=function_name,
            role=context.role_arn(role_name),
            runtime="python3.12",
            # The bundle's compiled wheels (PyYAML) are built for arm64.
            architectures=["arm64"],
            handler="lambda_env_rule.lambda_handler",
            code=args["rule_code"],
            source_code_hash=args.get("rule_code_sha256"),
            memory_size=256,
            timeout=60,
            # No variables at all: the rule's settings come in Config's event (ruleParameters).
            logging_config={"log_format": "Text", "log_group": log_group_name},
            # Outside any VPC: it calls only the Config and Lambda APIs, reads no data, and a VPC would need two
            # more interface endpoints for no data to protect.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, role_policy, log_group]),
        )
        return function, policy_json

    def _custom_rule(
        self,
        function_name: str,
        watched: Sequence[str],
        function: aws.lambda_.Function,
        recorder_ready: Sequence[pulumi.Resource],
    ) -> aws.cfg.Rule:
        context, name = self._context, self._name
        function_arn = context.arn("lambda", f"function:{function_name}")
        permission = aws.lambda_.Permission(
            f"{name}-rule-invoke",
            function=function_name,
            action="lambda:InvokeFunction",
            principal="config.amazonaws.com",
            source_account=context.account_id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[function]),
        )
        details: list[aws.cfg.RuleSourceSourceDetailArgsDict] = [
            {"event_source": "aws.config", "message_type": "ConfigurationItemChangeNotification"},
            {"event_source": "aws.config", "message_type": "OversizedConfigurationItemChangeNotification"},
            {
                "event_source": "aws.config",
                "message_type": "ScheduledNotification",
                "maximum_execution_frequency": PERIODIC,
            },
        ]
        return aws.cfg.Rule(
            f"{name}-{CUSTOM_RULE_SUFFIX}",
            name=f"{self._prefix}-{CUSTOM_RULE_SUFFIX}",
            description=(
                "keyless-guard lambda-env-no-credentials after deploy: the pack's own judgement of the stack's "
                "functions' environment variables."
            ),
            source={
                "owner": "CUSTOM_LAMBDA",
                "source_identifier": function_arn,
                "source_details": details,
            },
            scope={"compliance_resource_types": [FUNCTION_TYPE]},
            input_parameters=json.dumps({"functionNames": ",".join(watched)}),
            # Config checks at PutConfigRule that it may invoke the function.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission, *recorder_ready]),
        )

    # Managed rules -----------------------------------------------------------------------------------------------

    def _managed_rules(self, args: GuardrailsArgs, log_groups: Sequence[str], retention: int) -> list[ManagedRule]:
        """The table MANAGED with this stack's parameters filled in."""
        filled = {
            "CW_LOGGROUP_RETENTION_PERIOD_CHECK": {
                "LogGroupNames": ",".join(sorted(log_groups)),
                "MinRetentionTime": str(retention),
            },
            "ACCESS_KEYS_ROTATED": {"maxAccessKeyAge": str(args.get("max_access_key_age_days", 90))},
            "IAM_POLICY_BLACKLISTED_CHECK": {"policyArns": ADMIN_POLICY_ARN.format(partition=self._context.partition)},
        }
        return [
            ManagedRule(s.suffix, s.identifier, s.resource_types, s.periodic, filled.get(s.identifier, s.parameters))
            for s in MANAGED
        ]

    def _managed_rule(
        self, spec: ManagedRule, args: GuardrailsArgs, recorder_ready: Sequence[pulumi.Resource]
    ) -> aws.cfg.Rule:
        return aws.cfg.Rule(
            f"{self._name}-{spec.suffix}",
            name=f"{self._prefix}-{spec.suffix}",
            source={"owner": "AWS", "source_identifier": spec.identifier},
            scope=self._scope(spec, args),
            input_parameters=json.dumps(dict(spec.parameters)) if spec.parameters else None,
            maximum_execution_frequency=PERIODIC if spec.periodic else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(recorder_ready)),
        )

    def _scope(self, spec: ManagedRule, args: GuardrailsArgs) -> aws.cfg.RuleScopeArgsDict | None:
        """This stack's resources where Config can scope: one resource id, or the stack's tag, else the type."""
        if spec.periodic:
            return None
        if spec.identifier == "LAMBDA_INSIDE_VPC":
            return {"compliance_resource_types": [FUNCTION_TYPE], "compliance_resource_id": args["vpc_function_name"]}
        if spec.identifier == "IAM_POLICY_BLACKLISTED_CHECK" and args.get("watched_role_id"):
            return {
                "compliance_resource_types": ["AWS::IAM::Role"],
                "compliance_resource_id": args.get("watched_role_id"),
            }
        tag_key, tag_value = args.get("scope_tag_key"), args.get("scope_tag_value")
        if tag_key and tag_value and spec.identifier in TAG_SCOPED:
            return {"tag_key": tag_key, "tag_value": tag_value}
        return {"compliance_resource_types": list(spec.resource_types)}

    # Notification ------------------------------------------------------------------------------------------------

    def _notification(
        self, rule_names: Sequence[str], topic_arn: pulumi.Input[str], rules: Sequence[aws.cfg.Rule]
    ) -> str:
        pattern = compliance_event_pattern(rule_names)
        event_rule = aws.cloudwatch.EventRule(
            f"{self._name}-noncompliant",
            name=compliance_event_rule_arn(self._context, self._prefix).rsplit("/", 1)[1],
            description="A keyless-ingest Config rule turned NON_COMPLIANT: tell the alarm topic.",
            event_pattern=pattern,
            opts=self._child,
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-noncompliant-to-topic",
            rule=event_rule.name,
            arn=topic_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[event_rule, *rules]),
        )
        return pattern

    # The recorder ------------------------------------------------------------------------------------------------

    def _recorder(self, recorder_name: str, expiration_days: int) -> pulumi.Resource:
        """Recorder, delivery channel and status; returns the status, which the rules wait for."""
        context, name, child = self._context, self._name, self._child
        bucket_name = f"{self._prefix}-config-{context.account_id}"
        bucket_arn = f"arn:{context.partition}:s3:::{bucket_name}"
        delivery_prefix = f"{bucket_arn}/AWSLogs/{context.account_id}/Config/*"
        bucket = create_private_bucket(name, bucket_name, child)
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-bucket-encryption",
            bucket=bucket.bucket,
            # SSE-S3: Config delivers with no KMS permissions to grant, and the files hold configuration, which
            # the secret's value never is (the rules report names, never values).
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-bucket-lifecycle",
            bucket=bucket.bucket,
            rules=[
                {
                    "id": "expire-config-history",
                    "status": "Enabled",
                    "filter": {"prefix": "AWSLogs/"},
                    "expiration": {"days": expiration_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=child,
        )
        this_account = {"StringEquals": {"aws:SourceAccount": context.account_id}}
        # https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-policy.html
        bucket_policy = aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.bucket,
            policy=PolicyDocument(
                (
                    Statement(
                        sid="ConfigChecksAcl",
                        principal=Principal.service("config.amazonaws.com"),
                        actions=("s3:GetBucketAcl", "s3:ListBucket"),
                        resources=(bucket_arn,),
                        conditions=this_account,
                    ),
                    Statement(
                        sid="ConfigDelivers",
                        principal=Principal.service("config.amazonaws.com"),
                        actions=("s3:PutObject",),
                        resources=(delivery_prefix,),
                        conditions={
                            "StringEquals": {
                                "aws:SourceAccount": context.account_id,
                                "s3:x-amz-acl": "bucket-owner-full-control",
                            }
                        },
                    ),
                    Statement(
                        sid="DenyInsecureTransport",
                        effect="Deny",
                        principal=Principal.anyone(),
                        actions=("s3:*",),
                        resources=(bucket_arn, f"{bucket_arn}/*"),
                        conditions={"Bool": {"aws:SecureTransport": "false"}},
                    ),
                )
            ).to_json(),
            opts=child,
        )
        role_name = f"{self._prefix}-config-recorder"
        role = aws.iam.Role(
            f"{name}-recorder-role",
            name=role_name,
            description="AWS Config records this stack's resource types and delivers them to its bucket",
            assume_role_policy=PolicyDocument(
                (
                    Statement(
                        sid="ConfigInThisAccountOnly",
                        principal=Principal.service("config.amazonaws.com"),
                        actions=("sts:AssumeRole",),
                        conditions=this_account,
                    ),
                )
            ).to_json(),
            opts=child,
        )
        # AWS's managed policy for a recorder's role: read-only Describe/Get/List calls on recorded types.
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-recorder-read",
            role=role.name,
            policy_arn=f"arn:{context.partition}:iam::aws:policy/service-role/AWS_ConfigRole",
            opts=child,
        )
        deliver = aws.iam.RolePolicy(
            f"{name}-recorder-deliver",
            name="deliver-to-bucket",
            role=role.name,
            policy=PolicyDocument(
                (
                    Statement(sid="CheckBucketAcl", actions=("s3:GetBucketAcl",), resources=(bucket_arn,)),
                    Statement(sid="DeliverHistory", actions=("s3:PutObject",), resources=(delivery_prefix,)),
                )
            ).to_json(),
            opts=child,
        )
        recorder = aws.cfg.Recorder(
            f"{name}-recorder",
            name=recorder_name,
            role_arn=context.role_arn(role_name),
            recording_group={
                "all_supported": False,
                "include_global_resource_types": False,
                "resource_types": list(RECORDED_TYPES),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, attachment, deliver]),
        )
        channel = aws.cfg.DeliveryChannel(
            f"{name}-delivery",
            name=f"{self._prefix}-delivery",
            s3_bucket_name=bucket.bucket,
            snapshot_delivery_properties={"delivery_frequency": PERIODIC},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[recorder, bucket_policy, encryption]),
        )
        return aws.cfg.RecorderStatus(
            f"{name}-recorder-status",
            name=recorder_name,
            is_enabled=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[channel]),
        )


def compliance_event_pattern(rule_names: Sequence[str]) -> str:
    """NON_COMPLIANT results of these rules, in the shape Config sends to EventBridge
    (https://docs.aws.amazon.com/config/latest/developerguide/monitor-config-with-cloudwatchevents.html)."""
    return json.dumps(
        {
            "source": ["aws.config"],
            "detail-type": [CONFIG_RULE_EVENT],
            "detail": {
                "messageType": ["ComplianceChangeNotification"],
                "configRuleName": sorted(rule_names),
                "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]},
            },
        },
        sort_keys=True,
    )


CUSTOM_RULE_SUFFIX = "lambda-env-no-credentials"
MANAGED: tuple[ManagedRule, ...] = (
    ManagedRule("secret-cmk", "SECRETSMANAGER_USING_CMK", ("AWS::SecretsManager::Secret",)),
    ManagedRule("lambda-not-public", "LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED", (FUNCTION_TYPE,)),
    ManagedRule("lambda-in-vpc", "LAMBDA_INSIDE_VPC", (FUNCTION_TYPE,)),
    ManagedRule("iam-no-admin-statements", "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS", ("AWS::IAM::Policy",)),
    ManagedRule("iam-no-admin-attached", "IAM_POLICY_BLACKLISTED_CHECK", ("AWS::IAM::Role",)),
    ManagedRule("kms-rotation", "CMK_BACKING_KEY_ROTATION_ENABLED", periodic=True),
    ManagedRule("log-retention", "CW_LOGGROUP_RETENTION_PERIOD_CHECK", periodic=True),
    ManagedRule("access-keys-rotated", "ACCESS_KEYS_ROTATED", periodic=True),
    ManagedRule("root-no-access-key", "IAM_ROOT_ACCESS_KEY_CHECK", periodic=True),
)
"""The managed rules, in the README's table order. Periodic rules evaluate the account; the others are scoped."""
TAG_SCOPED = frozenset({"SECRETSMANAGER_USING_CMK", "LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED"})
"""Rules scoped to the stack's tag when it has one (the stack's resources carry the default tag)."""
