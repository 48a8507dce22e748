"""Stack settings: limits the program and the handler both enforce are one limit, and the program's checks name keys.

The program validates config at preview time; the handler validates its environment again at run time (it imports no
pulumi). These tests keep each shared limit equal on both sides, as tests/components/test_monitoring_model.py does for
the cache's jitter ratio, and show the boundary values pass both.
"""

import dataclasses
import logging
import re
from pathlib import Path

import pytest

import handler_settings
import stack_settings
from exceptions import ConfigurationError
from offline_preview.cli import PreviewError, run_program
from offline_preview.program_env import request_for, run

ROOT = Path(stack_settings.__file__).resolve().parent
HANDLER_ENVIRONMENT = {
    "SECRET_ID": "keyless-ingest/prod/weather-api-key",
    "TABLE_NAME": "keyless-ingest-prod-readings",
    "API_BASE_URL": "https://api.weather.example",
}


def test_the_cache_ttl_limit_is_the_handlers():
    assert stack_settings.MAX_CACHE_TTL_SECONDS == handler_settings.MAX_SECRET_CACHE_TTL_SECONDS


def test_the_log_levels_are_the_handlers():
    assert stack_settings.LOG_LEVELS == handler_settings.LOG_LEVELS


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("keyless-ingest/prod/weather-api-key", True),
        ("p+q=r.s@t_u-v/w", True),
        ("a" * 512, True),
        ("a" * 513, False),
        ("weather api key", False),
        ("weather#key", False),
        ("clé", False),
    ],
    ids=["stack-default", "every-allowed-symbol", "512", "513", "space", "hash", "non-ascii"],
)
def test_the_program_and_the_handler_accept_the_same_secret_names(name, valid):
    """Secrets Manager names: ASCII letters, digits and /_+=.@-, up to 512 characters
    (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html, Name)."""
    try:
        handler_settings.Settings.from_environ({**HANDLER_ENVIRONMENT, "SECRET_ID": name})
        handler_accepts = True
    except ConfigurationError:
        handler_accepts = False

    assert (stack_settings.SECRET_NAME.fullmatch(name) is not None, handler_accepts) == (valid, valid)


def test_the_handler_accepts_the_largest_ttl_and_every_level_the_program_allows():
    for level in stack_settings.LOG_LEVELS:
        settings = handler_settings.Settings.from_environ(
            {
                **HANDLER_ENVIRONMENT,
                "SECRET_CACHE_TTL_SECONDS": str(stack_settings.MAX_CACHE_TTL_SECONDS),
                "LOG_LEVEL": level,
            }
        )
        assert settings.secret_cache_ttl_seconds == stack_settings.MAX_CACHE_TTL_SECONDS
    with pytest.raises(ConfigurationError, match="SECRET_CACHE_TTL_SECONDS"):
        handler_settings.Settings.from_environ(
            {**HANDLER_ENVIRONMENT, "SECRET_CACHE_TTL_SECONDS": str(stack_settings.MAX_CACHE_TTL_SECONDS + 1)}
        )


@pytest.mark.parametrize(
    ("overrides", "variable", "value", "field", "read_as"),
    [
        (
            {"keyless-ingest:secretCacheTtlSeconds": "3600"},
            "SECRET_CACHE_TTL_SECONDS",
            "3600",
            "secret_cache_ttl_seconds",
            3600,
        ),
        ({"keyless-ingest:logLevel": "critical"}, "LOG_LEVEL", "CRITICAL", "log_level", logging.CRITICAL),
    ],
    ids=["largest-ttl", "critical"],
)
def test_the_program_passes_what_the_handler_accepts(overrides, variable, value, field, read_as):
    """The program's largest TTL (an hour) and a level written in lower case reach the function's environment as the
    handler reads them: 3600 seconds, and CRITICAL (logging.CRITICAL, 50)."""
    run = run_program(ROOT, "prod", config_overrides=overrides)

    (function,) = [r for r in run.resources if r.type == "aws:lambda/function:Function" and r.name == "ingest-function"]
    environment = function.inputs["environment"]["variables"]
    assert environment[variable] == value
    assert getattr(handler_settings.Settings.from_environ(environment), field) == read_as


def test_the_program_refuses_a_ttl_above_the_handlers_limit():
    with pytest.raises(PreviewError, match=re.escape("keyless-ingest:secretCacheTtlSeconds: must be between 1")):
        run_program(ROOT, "prod", config_overrides={"keyless-ingest:secretCacheTtlSeconds": "3601"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"keyless-ingest:logRetentionDay": "7"},
            "Stack 'prod' has configuration key 'keyless-ingest:logRetentionDay', which Pulumi.yaml does not declare; "
            "did you mean 'keyless-ingest:logRetentionDays'?",
        ),
        (
            {"keyless-ingest:enableNatGatway": "false"},
            "Stack 'prod' has configuration key 'keyless-ingest:enableNatGatway', which Pulumi.yaml does not declare; "
            "did you mean 'keyless-ingest:enableNatGateway'?",
        ),
        (
            {"keyless-ingest:colour": "blue"},
            "Stack 'prod' has configuration key 'keyless-ingest:colour', which Pulumi.yaml does not declare",
        ),
        # The Pulumi CLI's own wording (pulumi/pulumi pkg/workspace/config.go, validateStackConfigValue; its test
        # config_project_test.go expects "Stack 'dev' with configuration key 'values' must be of type 'array<string>'").
        (
            {"keyless-ingest:logRetentionDays": "fourteen"},
            "Stack 'prod' with configuration key 'keyless-ingest:logRetentionDays' must be of type 'integer'",
        ),
        (
            {"keyless-ingest:tracing": "yes"},
            "Stack 'prod' with configuration key 'keyless-ingest:tracing' must be of type 'boolean'",
        ),
        (
            {"keyless-ingest:subnetIds": '["subnet-0123456789abcdef0", 3]'},
            "Stack 'prod' with configuration key 'keyless-ingest:subnetIds' must be of type 'array<string>'",
        ),
        ({"aws:region": "mars-1"}, "aws:region: 'mars-1' is not an AWS Region"),
        ({"aws:region": "eu-west-9"}, "aws:region: 'eu-west-9' is not an AWS Region (did you mean eu-west-3?)"),
    ],
    ids=["typo-suggests", "second-typo", "unknown-no-match", "integer", "boolean", "array", "mars", "near-region"],
)
def test_config_typos_and_wrong_types_fail_naming_the_key(overrides, message):
    with pytest.raises(PreviewError) as caught:
        run_program(ROOT, "prod", config_overrides=overrides)
    assert str(caught.value) == message


def test_a_secret_in_the_projects_config_is_refused_naming_the_key_never_the_value():
    """The offline preview decrypts `secure:` values and hands the program their keys as secret, as the CLI does
    (PULUMI_CONFIG_SECRET_KEYS); this stack keeps no secret in config, so its settings refuse one by name."""
    marker = "value-" + "that-must-not-be-shown"
    request = request_for(ROOT, "prod", config_overrides={"keyless-ingest:apiBaseUrl": f"https://{marker}.example"})
    secret_request = dataclasses.replace(request, secret_keys=frozenset({"keyless-ingest:apiBaseUrl"}))

    with pytest.raises(PreviewError) as caught:
        run(secret_request, ROOT)

    message = str(caught.value)
    assert message.startswith(
        "Stack 'prod' keeps 'keyless-ingest:apiBaseUrl' as a secret in its config; "
        "this project keeps no secret in config"
    )
    assert marker not in message
    # The same value in plain text is accepted.
    assert run(request, ROOT).resources


def test_keys_of_other_namespaces_and_every_declared_key_pass():
    # Provider namespaces are the provider's business; the project's own declared keys are all accepted.
    run = run_program(ROOT, "dev", config_overrides={"aws:skipMetadataApiCheck": "true", "aws:region": "ap-south-2"})
    assert run.resources


def test_the_region_list_is_botocores_endpoint_data():
    """The program checks aws:region against pulumi_aws.Region (its venv has no botocore); this keeps that list equal
    to the Regions in botocore's endpoints.json, the partition data the AWS SDKs ship."""
    import botocore.loaders

    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    regions = {region for partition in endpoints["partitions"] for region in partition["regions"]}
    assert regions == stack_settings.AWS_REGIONS
    assert {"eu-west-1", "us-gov-west-1", "cn-north-1"} <= regions
