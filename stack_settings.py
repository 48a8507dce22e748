"""The stack's configuration, read and validated in one place.

`read_settings` reads every key of `Pulumi.yaml`'s config and returns typed settings; a missing or invalid value raises
ConfigError naming the key (`keyless-ingest:<key>`). Where a component validates the same value (a log retention, a
VPC range, a log group name), its own check runs here through `_checked`, so the component's message reaches the user
as a config error naming the key, and the limit lives in one module. Where the Lambda handler checks the same value
again at run time (the cache TTL, the log level, the secret name), tests/test_stack_settings.py keeps the two equal.
Components never read config; `__main__.py` calls `read_settings(pulumi.Config(), ...)` once.
"""

import difflib
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pulumi
import pulumi_aws
import yaml

from components.guardrails import require_mode as require_config_rules_mode
from components.log_retention import require_valid_retention
from components.private_network import NetworkMode, require_private_cidr
from components.secret_access_monitoring import require_log_group_name
from components.secret_audience import ENDPOINT_ID

T = TypeVar("T")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""What the handler accepts as LOG_LEVEL (handler/handler_settings.py LOG_LEVELS; a test keeps the two equal)."""
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
MAX_CACHE_TTL_SECONDS = 3_600
"""The most the handler accepts as SECRET_CACHE_TTL_SECONDS (handler/handler_settings.py; a test keeps the two equal).
A rotated key is picked up sooner anyway: the API's first 401/403 forces a refresh."""
SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
"""Secrets Manager's name characters; the handler checks SECRET_ID with the same pattern."""
PROJECT_FILE = Path(__file__).resolve().parent / "Pulumi.yaml"
AWS_REGIONS = frozenset(region.value for region in pulumi_aws.Region)
"""The Regions the AWS provider knows. tests/test_stack_settings.py keeps it equal to botocore's endpoint data (the
program's own venv has pulumi_aws, not botocore)."""


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
    secrets_manager_endpoint_id: str | None
    dynamodb_endpoint_id: str | None
    reserved_concurrency: int | None
    tracing: bool
    deletion_protection: bool
    secret_recovery_window_days: int
    rotation_function_arn: str | None
    rotation_role_arn: str | None
    alarm_email: str | None
    audit_log_group_name: str | None
    create_trail: bool
    secret_read_alarms: bool
    """False when there is no trail to read (createTrail false and no auditLogGroupName)."""
    enable_access_analyzer: bool
    encrypt_logs: bool
    config_rules: str = "off"
    """AWS Config guardrails: off, existing-recorder (rules only) or create-recorder (components/guardrails.py)."""


def read_settings(config: pulumi.Config, project: str, stack: str) -> StackSettings:
    """Read and validate every project setting; a bad value raises ConfigError naming the key."""

    def key(name: str) -> str:
        return f"{project}:{name}"

    def fail(name: str, problem: str) -> ConfigError:
        return ConfigError(f"{key(name)}: {problem}")

    program_config = _program_config()
    check_config_keys(
        program_config,
        _declared_config(),
        project=project,
        stack=stack,
        secret_keys={k for k in program_config if pulumi.runtime.is_config_secret(k)},
    )
    # The provider's namespace, read from the same map: this module receives the project's Config and builds none.
    region = program_config.get("aws:region")
    if region is not None and region not in AWS_REGIONS:
        close = difflib.get_close_matches(region, sorted(AWS_REGIONS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"aws:region: {region!r} is not an AWS Region{hint}")

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
    existing_endpoints = {
        "secretsManagerEndpointId": config.get("secretsManagerEndpointId") or None,
        "dynamodbEndpointId": config.get("dynamodbEndpointId") or None,
    }
    for endpoint_key, endpoint_id in existing_endpoints.items():
        if endpoint_id and network_mode != "existing":
            raise fail(endpoint_key, "applies only to networkMode=existing: a created VPC has no endpoints to reuse")
        if endpoint_id and not ENDPOINT_ID.fullmatch(endpoint_id):
            # The perimeter's policies and alarm name this id: a malformed one would admit nothing, or the wrong path.
            raise fail(endpoint_key, f"must be a VPC endpoint id (vpce- and hexadecimal digits), got {endpoint_id!r}")
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
    retention = _checked(key("logRetentionDays"), require_valid_retention, config.require_int("logRetentionDays"))
    vpc_cidr = _checked(key("vpcCidr"), require_private_cidr, config.require("vpcCidr"))
    reserved = config.require_int("reservedConcurrency")
    if reserved < -1:
        raise fail("reservedConcurrency", f"must be -1 (unreserved) or a number of executions, got {reserved}")
    if reserved == 0:
        raise fail("reservedConcurrency", "0 would stop every invocation; use -1 for no reservation")
    recovery_window = config.require_int("secretRecoveryWindowDays")
    if not 7 <= recovery_window <= 30:
        raise fail("secretRecoveryWindowDays", f"must be between 7 and 30, got {recovery_window}")
    secret_name = config.get("secretName") or f"{project}/{stack}/weather-api-key"
    if not SECRET_NAME.fullmatch(secret_name):
        raise fail("secretName", "may hold only letters, digits and /_+=.@- (at most 512)")
    rotation_function_arn = config.get("rotationFunctionArn") or None
    if rotation_function_arn and not rotation_function_arn.startswith("arn:"):
        raise fail("rotationFunctionArn", "must be a Lambda function ARN")
    rotation_role_arn = config.get("rotationRoleArn") or None
    if rotation_function_arn and not rotation_role_arn:
        raise fail(
            "rotationFunctionArn",
            f"needs {key('rotationRoleArn')}, the rotation function's execution role: the secret, key and endpoint "
            "policies deny every reader they do not name",
        )
    if rotation_role_arn and not rotation_function_arn:
        raise fail("rotationRoleArn", f"applies only with {key('rotationFunctionArn')}")
    if rotation_role_arn and not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", rotation_role_arn):
        raise fail(
            "rotationRoleArn",
            f"must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got {rotation_role_arn!r}",
        )
    alarm_email = config.get("alarmEmail") or None
    if alarm_email and not EMAIL.fullmatch(alarm_email):
        raise fail("alarmEmail", "must be an email address such as security-oncall@example.com")
    create_trail = config.require_bool("createTrail")
    audit_log_group_name = config.get("auditLogGroupName") or None
    if create_trail and audit_log_group_name:
        raise fail("auditLogGroupName", "must stay empty when createTrail is true: the stack creates the trail's group")
    secret_read_alarms = create_trail or audit_log_group_name is not None
    if not secret_read_alarms:
        # The stack cannot create metric filters on a group that does not exist, so it deploys on an account with
        # no trail and says plainly what it does not watch (the pack's secret-unexpected-access-alarm says it too).
        pulumi.log.warn(
            f"{key('createTrail')} is false and {key('auditLogGroupName')} is empty: the secret-read alarms "
            "(unexpected reads, read spike, throttled reads) are OFF. Set auditLogGroupName to the CloudWatch Logs "
            "group of the account's trail (read events included), or createTrail to true."
        )
    if audit_log_group_name:
        _checked(key("auditLogGroupName"), require_log_group_name, audit_log_group_name)

    return StackSettings(
        secret_name=secret_name,
        api_base_url=api_base_url.rstrip("/"),
        secret_cache_ttl_seconds=ttl,
        log_level=log_level,
        log_retention_days=retention,
        network_mode=NetworkMode(network_mode),
        vpc_cidr=vpc_cidr,
        enable_nat_gateway=enable_nat_gateway,
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        route_table_ids=route_table_ids,
        secrets_manager_endpoint_id=existing_endpoints["secretsManagerEndpointId"],
        dynamodb_endpoint_id=existing_endpoints["dynamodbEndpointId"],
        reserved_concurrency=None if reserved == -1 else reserved,
        tracing=config.require_bool("tracing"),
        deletion_protection=config.require_bool("deletionProtection"),
        secret_recovery_window_days=recovery_window,
        rotation_function_arn=rotation_function_arn,
        rotation_role_arn=rotation_role_arn,
        alarm_email=alarm_email,
        audit_log_group_name=audit_log_group_name,
        create_trail=create_trail,
        secret_read_alarms=secret_read_alarms,
        enable_access_analyzer=config.require_bool("enableAccessAnalyzer"),
        encrypt_logs=config.require_bool("encryptLogs"),
        config_rules=_checked(key("configRules"), require_config_rules_mode, config.require("configRules")),
    )


def check_config_keys(
    config: Mapping[str, str],
    declared: Mapping[str, Any],
    *,
    project: str,
    stack: str,
    secret_keys: Collection[str] = frozenset(),
) -> None:
    """Refuse a key of the project's namespace that Pulumi.yaml does not declare, a value of the wrong type, and a
    secret (`pulumi config set --secret`): this stack keeps none in config; its one secret lives in Secrets Manager.

    The Pulumi CLI checks the declared keys' types before the program runs (pkg/workspace/config.go,
    validateStackConfigValue), in the words used here; it says nothing about an undeclared key, so a typo such as
    `logRetentionDay` would silently leave the default in force.
    """
    for full_key in sorted(config):
        namespace, _, name = full_key.partition(":")
        if namespace != project:
            continue
        if name not in declared:
            close = difflib.get_close_matches(name, sorted(declared), n=1)
            hint = f"; did you mean '{project}:{close[0]}'?" if close else ""
            raise ConfigError(
                f"Stack '{stack}' has configuration key '{full_key}', which Pulumi.yaml does not declare{hint}"
            )
        if full_key in secret_keys:
            # The value is never echoed: only the key is named.
            raise ConfigError(
                f"Stack '{stack}' keeps '{full_key}' as a secret in its config; this project keeps no secret in "
                f"config: put the API key in Secrets Manager (see {project}:secretName) and set this key in plain text "
                f"(pulumi config set {name} <value>)"
            )
        spec = declared[name]
        type_name = spec.get("type") if isinstance(spec, dict) else None
        if isinstance(type_name, str) and not _has_type(config[full_key], type_name, spec.get("items")):
            raise ConfigError(
                f"Stack '{stack}' with configuration key '{full_key}' must be of type '{_full_type_name(spec)}'"
            )


def _has_type(value: str, type_name: str, items: Any) -> bool:
    """The CLI's ValidateConfigValue (sdk/go/common/workspace/project.go) on the string the program receives."""
    if type_name == "string":
        return True
    if type_name == "integer":
        return re.fullmatch(r"[+-]?[0-9]+", value) is not None
    if type_name == "boolean":
        return value in ("true", "false")
    try:
        parsed = json.loads(value)
    except ValueError:
        return False
    return _json_has_type(parsed, type_name, items)


def _json_has_type(value: Any, type_name: str, items: Any) -> bool:
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    if type_name != "array" or not isinstance(value, list) or not isinstance(items, dict):
        return False
    return all(_json_has_type(item, str(items.get("type")), items.get("items")) for item in value)


def _full_type_name(spec: Mapping[str, Any]) -> str:
    """The CLI's InferFullTypeName: `array<string>` for an array of strings."""
    items = spec.get("items")
    return f"array<{_full_type_name(items)}>" if isinstance(items, dict) else str(spec.get("type"))


def _declared_config() -> dict[str, Any]:
    document = yaml.safe_load(PROJECT_FILE.read_text(encoding="utf-8")) or {}
    declared = document.get("config") or {}
    return {key: spec for key, spec in declared.items() if ":" not in key}


def _program_config() -> dict[str, str]:
    """Every config value the engine handed the program.

    Under the CLI, pulumi-language-python-exec copies PULUMI_CONFIG into the SDK's config map with `set_all_config`;
    under mocks `set_all_config` is called directly. The SDK has no public reader of the whole map.
    """
    return {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}


def _checked(config_key: str, validator: Callable[..., T], value: object) -> T:
    """Run a component's validator on a config value; its ValueError becomes a ConfigError naming the key."""
    try:
        return validator(value, setting=config_key)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
