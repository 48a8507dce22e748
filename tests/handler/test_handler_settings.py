"""The environment contract: every setting checked, errors naming the variable and never echoing its value."""

from __future__ import annotations

import logging

import pytest

import app
from exceptions import ConfigurationError
from handler_settings import Settings

URL_ERROR = "API_BASE_URL must be an https URL with a host and no credentials, query or fragment"
TTL_ERROR = "SECRET_CACHE_TTL_SECONDS must be a whole number of seconds from 1 to 3600"
CONCURRENCY_ERROR = "API_CONCURRENCY must be a whole number of requests from 1 to 25"
VALID = {
    "SECRET_ID": "thirdparty/weather-api-key",
    "TABLE_NAME": "weather-readings",
    "API_BASE_URL": "https://api.weather.example/",
}


def test_valid_settings_with_defaults() -> None:
    assert Settings.from_environ(VALID) == Settings(
        secret_id="thirdparty/weather-api-key",
        table_name="weather-readings",
        api_base_url="https://api.weather.example",
        secret_cache_ttl_seconds=300,
        log_level=logging.INFO,
        api_concurrency=8,
    )


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        (
            {"SECRET_ID": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:weather-AbCdEf"},
            "secret_id",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:weather-AbCdEf",
        ),
        (
            {"TABLE_NAME": "arn:aws:dynamodb:eu-west-1:123456789012:table/readings"},
            "table_name",
            "arn:aws:dynamodb:eu-west-1:123456789012:table/readings",
        ),
        ({"API_BASE_URL": "https://api.weather.example/base/"}, "api_base_url", "https://api.weather.example/base"),
        ({"API_BASE_URL": "http://127.0.0.1:8080"}, "api_base_url", "http://127.0.0.1:8080"),
        ({"API_BASE_URL": "http://localhost:8080"}, "api_base_url", "http://localhost:8080"),
        ({"API_BASE_URL": "http://[::1]:8080"}, "api_base_url", "http://[::1]:8080"),
        ({"SECRET_CACHE_TTL_SECONDS": "1"}, "secret_cache_ttl_seconds", 1),
        ({"SECRET_CACHE_TTL_SECONDS": "3600"}, "secret_cache_ttl_seconds", 3600),
        ({"SECRET_CACHE_TTL_SECONDS": ""}, "secret_cache_ttl_seconds", 300),
        ({"LOG_LEVEL": "debug"}, "log_level", logging.DEBUG),
        ({"LOG_LEVEL": "WARNING"}, "log_level", logging.WARNING),
        ({"LOG_LEVEL": ""}, "log_level", logging.INFO),
        ({"API_CONCURRENCY": "1"}, "api_concurrency", 1),
        ({"API_CONCURRENCY": "25"}, "api_concurrency", 25),
        ({"API_CONCURRENCY": " "}, "api_concurrency", 8),
    ],
)
def test_accepted_values(overrides: dict[str, str], field: str, expected: object) -> None:
    assert getattr(Settings.from_environ(VALID | overrides), field) == expected


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SECRET_ID", None, "SECRET_ID is not set"),
        ("SECRET_ID", "  ", "SECRET_ID is not set"),
        ("SECRET_ID", "name with spaces", "SECRET_ID must be a secret name or ARN"),
        ("SECRET_ID", "arn:aws:s3:::bucket", "SECRET_ID must be a secret name or ARN"),
        ("TABLE_NAME", None, "TABLE_NAME is not set"),
        ("TABLE_NAME", "ab", "TABLE_NAME must be a DynamoDB table name or ARN"),
        ("TABLE_NAME", "readings/2026", "TABLE_NAME must be a DynamoDB table name or ARN"),
        ("API_BASE_URL", None, "API_BASE_URL is not set"),
        ("API_BASE_URL", "api.weather.example", URL_ERROR),
        ("API_BASE_URL", "http://api.weather.example", URL_ERROR),
        ("API_BASE_URL", "ftp://api.weather.example", URL_ERROR),
        ("API_BASE_URL", "https://user:pw@api.weather.example", URL_ERROR),
        ("API_BASE_URL", "https://api.weather.example/?key=1", URL_ERROR),
        ("API_BASE_URL", "https://api.weather.example/#top", URL_ERROR),
        ("API_BASE_URL", "https://api.weather.example:99999", URL_ERROR),
        ("API_BASE_URL", "https://", URL_ERROR),
        ("SECRET_CACHE_TTL_SECONDS", "0", TTL_ERROR),
        ("SECRET_CACHE_TTL_SECONDS", "3601", TTL_ERROR),
        ("SECRET_CACHE_TTL_SECONDS", "-5", TTL_ERROR),
        ("SECRET_CACHE_TTL_SECONDS", "1.5", TTL_ERROR),
        ("SECRET_CACHE_TTL_SECONDS", "five", TTL_ERROR),
        ("SECRET_CACHE_TTL_SECONDS", "\u00b2", TTL_ERROR),
        ("LOG_LEVEL", "VERBOSE", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("API_CONCURRENCY", "0", CONCURRENCY_ERROR),
        ("API_CONCURRENCY", "26", CONCURRENCY_ERROR),
        ("API_CONCURRENCY", "-1", CONCURRENCY_ERROR),
        ("API_CONCURRENCY", "2.5", CONCURRENCY_ERROR),
        ("API_CONCURRENCY", "eight", CONCURRENCY_ERROR),
    ],
)
def test_a_missing_or_malformed_setting_is_named_and_its_value_not_echoed(
    name: str, value: str | None, message: str
) -> None:
    environ = {key: item for key, item in VALID.items() if key != name}
    if value is not None:
        environ[name] = value

    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environ(environ)

    assert str(raised.value) == message


def test_one_container_state_is_kept_per_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every invocation reads its settings again (lambda_handler); the container's clients and secret cache survive
    only if two reads of one environment find the same IngestFunction, and a changed environment must not."""
    built: list[Settings] = []

    def build(settings: Settings) -> app.IngestFunction:
        # A stand-in for the clients and the cache: what matters is when one is built.
        built.append(settings)
        return object.__new__(app.IngestFunction)

    monkeypatch.setattr(app.IngestFunction, "from_settings", build)
    app.ingest_function_for.cache_clear()

    first = app.ingest_function_for(Settings.from_environ(VALID))
    again = app.ingest_function_for(Settings.from_environ(dict(VALID)))
    changed = app.ingest_function_for(Settings.from_environ({**VALID, "SECRET_CACHE_TTL_SECONDS": "60"}))

    app.ingest_function_for.cache_clear()
    assert again is first
    assert changed is not first
    assert [settings.secret_cache_ttl_seconds for settings in built] == [300, 60]
