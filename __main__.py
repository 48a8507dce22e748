"""The keyless-ingest stack: reads config, composes the components, exports what operators need.

This is the only module that reads `pulumi.Config`. Every physical name is explicit and derived from project
and stack, and every ARN that a policy names is built from invokes (account, partition, region), so that all
policies and the function's environment are known during the first `pulumi preview` of a fresh stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws

from components.audit_queries import AuditQueries
from components.aws_context import AwsContext
from components.grants import SecretReadGrant, TableWriteGrant
from components.least_privilege_function import LeastPrivilegeFunction
from components.locked_secret import LockedSecret
from components.log_encryption_key import LogEncryptionKey
from components.log_retention import require_valid_retention
from components.private_network import NetworkMode, PrivateNetwork, PrivateNetworkArgs, require_private_cidr
from components.results_table import ResultsTable
from components.secret_access_monitoring import (
    SecretAccessMonitoring,
    audit_trail_log_group_name,
    require_log_group_name,
)
from tools.bundle import build_bundle

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
MAX_CACHE_TTL_SECONDS = 3600


class ConfigError(pulumi.RunError):
    """A stack setting is missing or invalid; the message names the key."""


@dataclass(frozen=True)
class StackSettings:
    secret_name: str
    api_base_url: str
    secret_cache_ttl_seconds: int
    log_level: str
    log_retention_days: int
    network_mode: NetworkMode
    vpc_cidr: str
    enable_nat_gateway: bool
    vpc_id: str
    subnet_ids: tuple[str, ...]
    route_table_ids: tuple[str, ...]
    reserved_concurrency: int | None
    tracing: bool
    deletion_protection: bool
    secret_recovery_window_days: int
    rotation_function_arn: str | None
    alarm_email: str | None
    audit_log_group_name: str | None
    create_trail: bool
    enable_access_analyzer: bool
    encrypt_logs: bool


def read_settings(config: pulumi.Config, project: str, stack: str) -> StackSettings:
    """Read and validate every project setting; a bad value raises ConfigError naming the key."""

    def key(name: str) -> str:
        return f"{project}:{name}"

    def fail(name: str, problem: str) -> ConfigError:
        return ConfigError(f"{key(name)}: {problem}")

    def string_list(name: str) -> tuple[str, ...]:
        value = config.get_object(name) or []
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise fail(name, "must be a list of non-empty strings")
        return tuple(value)

    network_mode = config.require("networkMode")
    if network_mode not in ("create", "existing"):
        raise fail("networkMode", f"must be 'create' or 'existing', got {network_mode!r}")
    vpc_id, subnet_ids, route_table_ids = (
        config.get("vpcId") or "",
        string_list("subnetIds"),
        string_list("routeTableIds"),
    )
    enable_nat_gateway = config.require_bool("enableNatGateway")
    if network_mode == "existing":
        if not re.fullmatch(r"vpc-[0-9a-f]{8,17}", vpc_id):
            raise fail("vpcId", f"networkMode=existing needs the id of the VPC to adopt (vpc-...), got {vpc_id!r}")
        if len(subnet_ids) < 2:
            raise fail("subnetIds", "networkMode=existing needs at least two private subnet ids in different AZs")
        if not route_table_ids:
            raise fail("routeTableIds", "networkMode=existing needs the subnets' route table ids")
        if enable_nat_gateway:
            raise fail("enableNatGateway", "applies only to networkMode=create; an existing VPC keeps its routing")
    elif vpc_id or subnet_ids or route_table_ids:
        raise fail("networkMode", "is 'create', so vpcId, subnetIds and routeTableIds must stay empty")

    api_base_url = config.require("apiBaseUrl")
    parts = urlsplit(api_base_url)
    if parts.scheme != "https" or not parts.hostname:
        raise fail("apiBaseUrl", "must be an https:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        # Credentials in a URL end up in logs and in the function's environment: the key lives in the secret.
        raise fail("apiBaseUrl", "must not carry credentials, a query or a fragment")

    ttl = config.require_int("secretCacheTtlSeconds")
    if not 1 <= ttl <= MAX_CACHE_TTL_SECONDS:
        raise fail("secretCacheTtlSeconds", f"must be between 1 and {MAX_CACHE_TTL_SECONDS}, got {ttl}")
    log_level = config.require("logLevel").upper()
    if log_level not in LOG_LEVELS:
        raise fail("logLevel", f"must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    try:
        retention = require_valid_retention(config.require_int("logRetentionDays"), setting=key("logRetentionDays"))
        vpc_cidr = require_private_cidr(config.require("vpcCidr"), setting=key("vpcCidr"))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    reserved = config.require_int("reservedConcurrency")
    if reserved < -1:
        raise fail("reservedConcurrency", f"must be -1 (unreserved) or a number of executions, got {reserved}")
    if reserved == 0:
        raise fail("reservedConcurrency", "0 would stop every invocation; use -1 for no reservation")
    recovery_window = config.require_int("secretRecoveryWindowDays")
    if not 7 <= recovery_window <= 30:
        raise fail("secretRecoveryWindowDays", f"must be between 7 and 30, got {recovery_window}")
    secret_name = config.get("secretName") or f"{project}/{stack}/weather-api-key"
    if not re.fullmatch(r"[A-Za-z0-9/_+=.@-]{1,512}", secret_name):
        raise fail("secretName", "may hold only letters, digits and /_+=.@- (at most 512)")
    rotation_function_arn = config.get("rotationFunctionArn") or None
    if rotation_function_arn and not rotation_function_arn.startswith("arn:"):
        raise fail("rotationFunctionArn", "must be a Lambda function ARN")
    alarm_email = config.get("alarmEmail") or None
    if alarm_email and not EMAIL.fullmatch(alarm_email):
        raise fail("alarmEmail", "must be an email address such as security-oncall@example.com")
    create_trail = config.require_bool("createTrail")
    audit_log_group_name = config.get("auditLogGroupName") or None
    if create_trail and audit_log_group_name:
        raise fail("auditLogGroupName", "must stay empty when createTrail is true: the stack creates the trail's group")
    if not create_trail and not audit_log_group_name:
        raise fail(
            "auditLogGroupName",
            "is required when createTrail is false: name the CloudWatch Logs group (in this account and region) that "
            "receives the account's CloudTrail management events, read events included, or set createTrail to true",
        )
    if audit_log_group_name:
        try:
            require_log_group_name(audit_log_group_name, setting=key("auditLogGroupName"))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    return StackSettings(
        secret_name=secret_name,
        api_base_url=api_base_url.rstrip("/"),
        secret_cache_ttl_seconds=ttl,
        log_level=log_level,
        log_retention_days=retention,
        network_mode=cast(Literal["create", "existing"], network_mode),
        vpc_cidr=vpc_cidr,
        enable_nat_gateway=enable_nat_gateway,
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        route_table_ids=route_table_ids,
        reserved_concurrency=None if reserved == -1 else reserved,
        tracing=config.require_bool("tracing"),
        deletion_protection=config.require_bool("deletionProtection"),
        secret_recovery_window_days=recovery_window,
        rotation_function_arn=rotation_function_arn,
        alarm_email=alarm_email,
        audit_log_group_name=audit_log_group_name,
        create_trail=create_trail,
        enable_access_analyzer=config.require_bool("enableAccessAnalyzer"),
        encrypt_logs=config.require_bool("encryptLogs"),
    )


def current_aws_context() -> AwsContext:
    partition = aws.get_partition()
    return AwsContext(
        partition=partition.partition,
        region=aws.get_region().region,
        account_id=aws.get_caller_identity().account_id,
        dns_suffix=partition.dns_suffix,
    )


def main() -> None:
    project, stack = pulumi.get_project(), pulumi.get_stack()
    settings = read_settings(pulumi.Config(), project, stack)
    context = current_aws_context()
    prefix = f"{project}-{stack}"
    function_name = f"{prefix}-ingest"
    role_name = f"{function_name}-exec"
    # Known before the role exists, so the endpoint and secret policies can name it at preview.
    role_arn = context.role_arn(role_name)

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
        "allowed_principal_arns": [role_arn],
    }
    if settings.network_mode == "create":
        network_args["vpc_cidr"] = settings.vpc_cidr
        network_args["enable_nat_gateway"] = settings.enable_nat_gateway
    else:
        network_args["vpc_id"] = settings.vpc_id
        network_args["subnet_ids"] = settings.subnet_ids
        network_args["route_table_ids"] = settings.route_table_ids
    network = PrivateNetwork("network", network_args)
    # LeastPrivilegeFunction names its log group /aws/lambda/<function name>; the key must admit it before it exists.
    encrypted_log_groups = [f"/aws/lambda/{function_name}"]
    if settings.create_trail:
        encrypted_log_groups.append(audit_trail_log_group_name(prefix))
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
            "grants": [TableWriteGrant(table.known_arn), SecretReadGrant(secret_arn_pattern)],
            "placement": network.placement,
            "log_retention_days": settings.log_retention_days,
            "log_kms_key_arn": log_key.arn if log_key else None,
            "reserved_concurrency": settings.reserved_concurrency,
            "tracing": settings.tracing,
        },
    )
    secret = LockedSecret(
        "api-key",
        {
            "context": context,
            "secret_name": settings.secret_name,
            "description": 'Third-party weather API key as JSON {"api_key": ...}; put in out of band.',
            "reader_role_arns": [role_arn],
            "key_alias": f"alias/{prefix}-api-key",
            "recovery_window_days": settings.secret_recovery_window_days,
            "rotation_function_arn": settings.rotation_function_arn,
        },
        # KMS and Secrets Manager reject policies that name a role that does not exist yet.
        opts=pulumi.ResourceOptions(depends_on=[function.role]),
    )

    monitoring = SecretAccessMonitoring(
        "secret-access",
        {
            "context": context,
            "name_prefix": prefix,
            "secret_name": settings.secret_name,
            "reader_role_arns": [role_arn],
            "function_name": function_name,
            "function_role_arn": role_arn,
            "cache_ttl_seconds": settings.secret_cache_ttl_seconds,
            "metric_namespace": f"{project}/{stack}",
            "audit_log_group_name": settings.audit_log_group_name,
            "create_trail": settings.create_trail,
            "trail_log_retention_days": settings.log_retention_days,
            "log_kms_key_arn": log_key.arn if log_key else None,
            "reserved_concurrency": settings.reserved_concurrency,
            "nat_gateway_id": network.nat_gateway_id,
            "alarm_email": settings.alarm_email,
            "enable_access_analyzer": settings.enable_access_analyzer,
        },
    )

    # "Who accessed this secret" in two clicks: saved Logs Insights queries built from the alarms' own audience.
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
    # What the unexpected-read alarm watches; `python -m tools.secret_access --stack` reads it.
    pulumi.export("secretAudience", monitoring.audience.describe())


main()
