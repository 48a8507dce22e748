"""The function's environment contract, validated before any network call."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from exceptions import ConfigurationError
from ingest_event import MAX_CITIES

DEFAULT_SECRET_CACHE_TTL_SECONDS = 300
# An hour, the refresh interval AWS's own caching client defaults to (aws-secretsmanager-caching's
# SecretCacheConfig.secret_refresh_interval): the key is cached briefly, and a rotated key reaches every warm
# container within the hour even when no 401 forces a refresh.
MAX_SECRET_CACHE_TTL_SECONDS = 3_600
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Weather API requests in flight at once per invocation; 1 fetches the cities one after another. Eight keeps a
# 25-city event to four rounds of requests (under 0.5 s at 100 ms a request) while one invocation never holds more
# connections than requests' own pool default (DEFAULT_POOLSIZE = 10). API plans limit requests per second or per
# minute, which no concurrency setting can guarantee; a 429's Retry-After then pauses every worker.
DEFAULT_API_CONCURRENCY = 8
MAX_API_CONCURRENCY = MAX_CITIES
"""More workers than cities in an event could never be busy."""

_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_TABLE_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255}")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,6}")
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True)
class Settings:
    """What the environment configures; hashable so one set of clients can be kept per configuration."""

    secret_id: str
    table_name: str
    api_base_url: str
    """Scheme and host (and optional path prefix) without a trailing slash."""
    secret_cache_ttl_seconds: int
    log_level: int
    api_concurrency: int = DEFAULT_API_CONCURRENCY
    """Weather API requests in flight at once; the HTTP connection pool is sized to match."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read and check every setting; the error names the variable and never echoes its value."""
        return cls(
            secret_id=_matching(environ, "SECRET_ID", (_SECRET_NAME, _SECRET_ARN), "a secret name or ARN"),
            table_name=_matching(environ, "TABLE_NAME", (_TABLE_NAME, _TABLE_ARN), "a DynamoDB table name or ARN"),
            api_base_url=_api_base_url(environ),
            secret_cache_ttl_seconds=_ttl_seconds(environ),
            log_level=_log_level(environ),
            api_concurrency=_api_concurrency(environ),
        )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    if not value.strip():
        raise ConfigurationError(f"{name} is not set")
    return value


def _optional(environ: Mapping[str, str], name: str) -> str | None:
    """An empty value counts as unset, as an IaC tool writes one for an unset config key."""
    value = environ.get(name, "").strip()
    return value or None


def _matching(environ: Mapping[str, str], name: str, patterns: tuple[re.Pattern[str], ...], what: str) -> str:
    value = _required(environ, name)
    if not any(pattern.fullmatch(value) for pattern in patterns):
        raise ConfigurationError(f"{name} must be {what}")
    return value


def _api_base_url(environ: Mapping[str, str]) -> str:
    name = "API_BASE_URL"
    value = _required(environ, name)
    expected = f"{name} must be an https URL with a host and no credentials, query or fragment"
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - parsing the port is what raises on a malformed one
    except ValueError as exc:
        raise ConfigurationError(expected) from exc
    if not host or parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ConfigurationError(expected)
    # The key travels in a header: plain http is only acceptable when it never leaves the machine.
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(host)):
        raise ConfigurationError(expected)
    return value.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ttl_seconds(environ: Mapping[str, str]) -> int:
    name = "SECRET_CACHE_TTL_SECONDS"
    value = _optional(environ, name)
    if value is None:
        return DEFAULT_SECRET_CACHE_TTL_SECONDS
    if not _WHOLE_NUMBER.fullmatch(value) or not 1 <= int(value) <= MAX_SECRET_CACHE_TTL_SECONDS:
        raise ConfigurationError(f"{name} must be a whole number of seconds from 1 to {MAX_SECRET_CACHE_TTL_SECONDS}")
    return int(value)


def _api_concurrency(environ: Mapping[str, str]) -> int:
    name = "API_CONCURRENCY"
    value = _optional(environ, name)
    if value is None:
        return DEFAULT_API_CONCURRENCY
    if not _WHOLE_NUMBER.fullmatch(value) or not 1 <= int(value) <= MAX_API_CONCURRENCY:
        raise ConfigurationError(f"{name} must be a whole number of requests from 1 to {MAX_API_CONCURRENCY}")
    return int(value)


def _log_level(environ: Mapping[str, str]) -> int:
    name = "LOG_LEVEL"
    value = (_optional(environ, name) or "INFO").upper()
    if value not in LOG_LEVELS:
        raise ConfigurationError(f"{name} must be one of {', '.join(LOG_LEVELS)}")
    return logging.getLevelNamesMapping()[value]
