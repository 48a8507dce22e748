"""Stack settings: limits the program and the handler both enforce are one limit, and the program's checks name keys.

The program validates config at preview time; the handler validates its environment again at run time (it imports no
pulumi). These tests keep each shared limit equal on both sides, as tests/components/test_monitoring_model.py does for
the cache's jitter ratio, and show the boundary values pass both.
"""

import dataclasses
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


def test_the_secret_name_pattern_is_the_handlers():
    assert stack_settings.SECRET_NAME.pattern == handler_settings._SECRET_NAME.pattern


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
    ("overrides", "accepted"),
    [
        ({"keyless-ingest:secretCacheTtlSeconds": str(stack_settings.MAX_CACHE_TTL_SECONDS)}, True),
        ({"keyless-ingest:secretCacheTtlSeconds": str(stack_settings.MAX_CACHE_TTL_SECONDS + 1)}, False),
        ({"keyless-ingest:logLevel": "critical"}, True),
    ],
    ids=["largest-ttl", "ttl-above-the-handlers-limit", "critical"],
)
def test_the_program_accepts_exactly_what_the_handler_accepts(overrides, accepted):
    if accepted:
        run = run_program(ROOT, "prod", config_overrides=overrides)
        (function,) = [
            r for r in run.resources if r.type == "aws:lambda/function:Function" and r.name == "ingest-function"
        ]
        environment = function.inputs["environment"]["variables"]
        assert handler_settings.Settings.from_environ(environment).secret_cache_ttl_seconds >= 1
    else:
        with pytest.raises(PreviewError, match=re.escape("keyless-ingest:secretCacheTtlSeconds: must be between 1")):
            run_program(ROOT, "prod", config_overrides=overrides)


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
