"""The keyless-ingest stack: reads config, composes the components, exports what operators need.

This is the only module that reads `pulumi.Config`; `stack_settings.read_settings` validates it. Every physical name
is explicit and derived from project and stack, and every ARN that a policy names is built from invokes (account,
partition, region), so that all policies and the function's environment are known during the first `pulumi preview`
of a fresh stack.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from bundle_builder.builder import build_bundle, build_rule_bundle
from components.audit_queries import AuditQueries
from components.audit_trail import AuditTrail
from components.aws_context import AwsContext
from components.guardrails import Guardrails, compliance_event_rule_arn, rule_function_name
from components.least_privilege_function import LeastPrivilegeFunction
from components.locked_secret import LockedSecret
from components.log_encryption_key import LogEncryptionKey
from components.private_network import PrivateNetwork, PrivateNetworkArgs
from components.results_table import ResultsTable
from components.secret_access_monitoring import SecretAccessMonitoring, audit_trail_log_group_name
from stack_settings import read_settings

MONITORING = ("secret-access", "keyless-ingest:index:SecretAccessMonitoring")
"""Name and type of the monitoring component, which the trail and the analyzer were children of."""


def main() -> None:
    project, stack = pulumi.get_project(), pulumi.get_stack()
    settings = read_settings(pulumi.Config(), project, stack)
    context = AwsContext.current()
    prefix = f"{project}-{stack}"
    function_name = f"{prefix}-ingest"
    role_name = f"{function_name}-exec"
    # Known before the role exists, so the endpoint and secret policies can name it at preview.
    role_arn = context.role_arn(role_name)
    # Every policy that names the secret's readers names the same list: the function and, with rotation, the
    # rotation function's role (which must read the current value to rotate it).
    reader_arns = [role_arn, *([settings.rotation_role_arn] if settings.rotation_role_arn else [])]

    table = ResultsTable(
        "results",
        {
            "context": context,
            "table_name": f"{prefix}-readings",
            "deletion_protection": settings.deletion_protection,
        },
    )
    secret_arn_pattern = context.secret_arn_pattern(settings.secret_name)
    network_args: PrivateNetworkArgs = {
        "context": context,
        "mode": settings.network_mode,
        "secret_arn_pattern": secret_arn_pattern,
        "table_arn": table.known_arn,
        "allowed_principal_arns": reader_arns,
        # Stack-qualified, so that dev's execution role cannot place interfaces in prod's subnets.
        "placement_tag_value": f"{prefix}-network",
    }
    if settings.network_mode == "create":
        network_args["vpc_cidr"] = settings.vpc_cidr
        network_args["enable_nat_gateway"] = settings.enable_nat_gateway
    else:
        network_args["vpc_id"] = settings.vpc_id
        network_args["subnet_ids"] = settings.subnet_ids
        network_args["route_table_ids"] = settings.route_table_ids
        network_args["secrets_manager_endpoint_id"] = settings.secrets_manager_endpoint_id
        network_args["dynamodb_endpoint_id"] = settings.dynamodb_endpoint_id
    network = PrivateNetwork("network", network_args)
    # LeastPrivilegeFunction names its log group /aws/lambda/<function name>; the key must admit it before it exists.
    encrypted_log_groups = [f"/aws/lambda/{function_name}"]
    if settings.create_trail:
        encrypted_log_groups.append(audit_trail_log_group_name(prefix))
    guardrails = settings.config_rules != "off"
    if guardrails:
        encrypted_log_groups.append(f"/aws/lambda/{rule_function_name(prefix)}")
    log_key = (
        LogEncryptionKey(
            "logs-key",
            {"context": context, "log_group_names": encrypted_log_groups, "key_alias": f"alias/{prefix}-logs"},
        )
        if settings.encrypt_logs
        else None
    )
    bundle = build_bundle()
    function = LeastPrivilegeFunction(
        "ingest",
        {
            "context": context,
            "function_name": function_name,
            "role_name": role_name,
            "code": pulumi.FileArchive(str(bundle.path)),
            "code_sha256": bundle.sha256_base64,
            # Names and settings only. The key is fetched at run time by name.
            "environment": {
                "SECRET_ID": settings.secret_name,
                "TABLE_NAME": f"{prefix}-readings",
                "API_BASE_URL": settings.api_base_url,
                "SECRET_CACHE_TTL_SECONDS": str(settings.secret_cache_ttl_seconds),
                "LOG_LEVEL": settings.log_level,
            },
            "writable_table_arns": [table.known_arn],
            "readable_secret_arns": [secret_arn_pattern],
            "placement": network.placement,
            "log_retention_days": settings.log_retention_days,
            "log_kms_key_arn": log_key.arn if log_key else None,
            "reserved_concurrency": settings.reserved_concurrency,
            "tracing": settings.tracing,
            # The network perimeter: the role's reads and writes count only through the stack's endpoints.
            "secrets_manager_endpoint_id": network.secrets_manager_endpoint_id,
            "dynamodb_endpoint_id": network.dynamodb_endpoint_id,
        },
    )
    secret = LockedSecret(
        "api-key",
        {
            "context": context,
            "secret_name": settings.secret_name,
            "description": 'Third-party weather API key as JSON {"api_key": ...}; put in out of band.',
            "reader_role_arns": reader_arns,
            "key_alias": f"alias/{prefix}-api-key",
            "recovery_window_days": settings.secret_recovery_window_days,
            "rotation_function_arn": settings.rotation_function_arn,
            "rotation_role_arn": settings.rotation_role_arn,
            # Every reader, the rotation function's role included, reads through a VPC endpoint or not at all; the
            # function's role pins which one (its network-perimeter policy).
            "reads_only_through_endpoints": True,
            # An adopted VPC's named endpoint is known now, so the secret's own policy pins it too.
            "source_vpce_ids": [settings.secrets_manager_endpoint_id] if settings.secrets_manager_endpoint_id else [],
        },
        # KMS and Secrets Manager reject policies that name a role that does not exist yet.
        opts=pulumi.ResourceOptions(depends_on=[function.role]),
    )

    # The stack's own trail, when the account has none delivering to CloudWatch Logs here. It was a child of the
    # monitoring component; the alias keeps its URN (and its children's) on stacks deployed before.
    trail = (
        AuditTrail(
            "secret-access-trail",
            {
                "context": context,
                "trail_name": f"{prefix}-audit",
                "bucket_name": f"{prefix}-trail-{context.account_id}",
                "log_group_name": audit_trail_log_group_name(prefix),
                "key_alias": f"alias/{prefix}-trail",
                "role_name": f"{prefix}-cloudtrail-to-logs",
                "log_retention_days": settings.log_retention_days,
                "log_kms_key_arn": log_key.arn if log_key else None,
            },
            opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=pulumi.create_urn(*MONITORING))]),
        )
        if settings.create_trail
        else None
    )
    monitoring = SecretAccessMonitoring(
        MONITORING[0],
        {
            "context": context,
            "name_prefix": prefix,
            "secret_name": settings.secret_name,
            "reader_role_arns": reader_arns,
            "function_name": function_name,
            "function_role_arn": role_arn,
            "cache_ttl_seconds": settings.secret_cache_ttl_seconds,
            "metric_namespace": f"{project}/{stack}",
            "audit_log_group_name": audit_trail_log_group_name(prefix) if trail else settings.audit_log_group_name,
            "secret_read_alarms": settings.secret_read_alarms,
            "perimeter_endpoint_ids": [network.secrets_manager_endpoint_id],
            "reserved_concurrency": settings.reserved_concurrency,
            "nat_gateway_id": network.nat_gateway_id,
            "alarm_email": settings.alarm_email,
            # Guardrails' NON_COMPLIANT forwarder publishes to the same topic.
            "event_rule_arns": [compliance_event_rule_arn(context, prefix)] if guardrails else [],
        },
        # The metric filters wait for the trail's log group.
        opts=pulumi.ResourceOptions(depends_on=[trail] if trail else None),
    )
    if settings.enable_access_analyzer:
        # Account-wide (one account analyzer per region): reports resource policies that grant outside access.
        aws.accessanalyzer.Analyzer(
            "secret-access-access-analyzer",
            analyzer_name=f"{prefix}-account",
            type="ACCOUNT",
            opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=monitoring)]),
        )

    if guardrails:
        # Detective rules after deploy (README, "Guardrails after deploy"): AWS Config rules mirroring the pack.
        rule_bundle = build_rule_bundle()
        default_tags = (pulumi.Config("aws").get_object("defaultTags") or {}).get("tags") or {}
        stack_tag = "keyless-ingest-stack"
        Guardrails(
            "guardrails",
            {
                "context": context,
                "mode": settings.config_rules,
                "name_prefix": prefix,
                "rule_code": pulumi.FileArchive(str(rule_bundle.path)),
                "rule_code_sha256": rule_bundle.sha256_base64,
                "watched_function_names": [function_name],
                "vpc_function_name": function_name,
                "log_group_names": [f"/aws/lambda/{function_name}"]
                + ([audit_trail_log_group_name(prefix)] if settings.create_trail else []),
                "log_retention_days": settings.log_retention_days,
                "log_kms_key_arn": log_key.arn if log_key else None,
                "alarm_topic_arn": monitoring.topic_arn,
                "watched_role_id": function.role.unique_id,
                "scope_tag_key": stack_tag if stack_tag in default_tags else None,
                "scope_tag_value": default_tags.get(stack_tag),
            },
            opts=pulumi.ResourceOptions(depends_on=[function, monitoring]),
        )

    # "Who accessed this secret" in two clicks: saved Logs Insights queries built from the alarms' own audience.
    # They need the trail's log group, like the secret-read alarms (none on dev until auditLogGroupName is set).
    if monitoring.audit_log_group_name is not None:
        AuditQueries(
            "audit-queries",
            {
                "context": context,
                "name_prefix": prefix,
                "secret_name": settings.secret_name,
                "reader_role_arns": monitoring.audience.reader_role_arns,
                "log_group_name": monitoring.audit_log_group_name,
                "key_arn": secret.key_arn,
            },
            opts=pulumi.ResourceOptions(depends_on=[monitoring]),
        )

    pulumi.export("secretArn", secret.arn)
    pulumi.export("secretName", secret.name)
    pulumi.export("functionName", function.function_name)
    pulumi.export("tableName", table.name)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("alarmTopicArn", monitoring.topic_arn)
    pulumi.export("dashboardName", monitoring.dashboard_name)
    pulumi.export("auditLogGroupName", monitoring.audit_log_group_name)
    # What the unexpected-read alarm watches; `python -m access_report --stack` reads it.
    pulumi.export("secretAudience", monitoring.audience.describe())
    # The perimeter the outside-the-perimeter alarm watches, once AWS has assigned the endpoint's id:
    # `python -m access_report --stack prod --endpoint "$(pulumi stack output secretsManagerEndpointId)"`.
    pulumi.export("secretsManagerEndpointId", network.secrets_manager_endpoint_id)


main()
