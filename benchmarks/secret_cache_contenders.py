"""The four ways of reading the API key that the benchmark compares, each used as its documentation shows.

Every reader returns the key string and says what its user does after the API rejects a key.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_secretsmanager_caching import SecretCache as AwsSecretCache
from aws_secretsmanager_caching import SecretCacheConfig

# handler/ is the Lambda's code root: its modules are top-level there, as they are here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "handler"))
from secret_cache import SecretCache

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class KeyReader(Protocol):
    name: str

    def read(self) -> str: ...

    def after_rejection(self) -> None:
        """What the reader's user does when the API answers 401, before reading again."""


class HandlerCache:
    """This project's cache (handler/secret_cache.py), used as the handler uses it."""

    name = "this handler's SecretCache"

    def __init__(self, client: SecretsManagerClient, secret_id: str, ttl_seconds: float) -> None:
        self._cache = SecretCache(client, secret_id, ttl_seconds=ttl_seconds)

    def read(self) -> str:
        return self._cache.get().key.reveal()

    def after_rejection(self) -> None:
        self._cache.force_refresh()


# The seed article's snippet, as written there: a module-level dict, a time check, no lock.
CACHE_TTL = 300
secret_cache: dict[str, dict[str, Any]] = {}
client: Any = None


def get_secret(secret_name: str) -> dict[str, Any]:
    if secret_name in secret_cache and time.time() - secret_cache[secret_name]["timestamp"] < CACHE_TTL:
        return secret_cache[secret_name]["value"]  # type: ignore[no-any-return]
    response = client.get_secret_value(SecretId=secret_name)
    secret = json.loads(response["SecretString"])
    secret_cache[secret_name] = {"value": secret, "timestamp": time.time()}
    return secret  # type: ignore[no-any-return]


class SeedSnippet:
    """The snippet above; each instance starts it afresh (empty dict, its own client and TTL)."""

    name = "seed article's snippet"

    def __init__(self, sm_client: SecretsManagerClient, secret_id: str, ttl_seconds: float) -> None:
        global client, CACHE_TTL  # the snippet keeps its client and TTL at module level
        client, CACHE_TTL = sm_client, int(ttl_seconds)
        secret_cache.clear()
        self._secret_id = secret_id

    def read(self) -> str:
        return str(get_secret(self._secret_id)["api_key"])

    def after_rejection(self) -> None:
        """The snippet offers nothing: its user reads again and gets the cached key until the TTL."""


class Powertools:
    """aws-lambda-powertools `parameters`: what get_secret(name, max_age=..., transform="json") calls, on a
    provider of its own so that each run starts cold and counts its own client's calls."""

    name = "Powertools parameters"

    def __init__(self, sm_client: SecretsManagerClient, secret_id: str, ttl_seconds: float) -> None:
        self._provider = SecretsProvider(boto3_client=sm_client)
        self._secret_id = secret_id
        self._max_age = int(ttl_seconds)

    def read(self) -> str:
        value: Any = self._provider.get(self._secret_id, max_age=self._max_age, transform="json")
        return str(value["api_key"])

    def after_rejection(self) -> None:
        """get_secret's max_age cache keeps the old key; force_fetch=True would bypass it (with no limit)."""


class AwsSecretsManagerCaching:
    """aws-secretsmanager-caching's SecretCache; it checks the version with DescribeSecret every interval."""

    name = "aws-secretsmanager-caching"

    def __init__(self, sm_client: SecretsManagerClient, secret_id: str, ttl_seconds: float) -> None:
        # An int: the library waits randint(round(interval / 2), interval) whole seconds between DescribeSecret
        # calls, which for 1 s means 0 or 1 s.
        config = SecretCacheConfig(secret_refresh_interval=int(ttl_seconds))
        self._cache = AwsSecretCache(config=config, client=sm_client)
        self._secret_id = secret_id

    def read(self) -> str:
        return str(json.loads(self._cache.get_secret_string(self._secret_id))["api_key"])

    def after_rejection(self) -> None:
        """Its user reads again; refresh_secret_now() exists but is not rate-limited."""


READERS: tuple[type[HandlerCache | SeedSnippet | Powertools | AwsSecretsManagerCaching], ...] = (
    HandlerCache,
    SeedSnippet,
    Powertools,
    AwsSecretsManagerCaching,
)
