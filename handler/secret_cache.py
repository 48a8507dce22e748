"""The API key, read from Secrets Manager at run time and cached once per container.

One GetSecretValue on a cold start and then one per TTL window, whatever the number of concurrent readers: the
TTL is shortened by a little random jitter so containers started together do not refresh together, and readers
of an expired entry wait for the one caller that refreshes it (single flight). When a refresh fails (throttling,
a 5xx, a timeout, even a malformed new value) the cache keeps serving the value it has for a bounded time and
logs that it did; it raises only when it has nothing it may serve. A forced refresh (after the API rejected the
key) is rate-limited, so a storm of 401s cannot become a storm of Secrets Manager calls.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final, NamedTuple, final

from botocore.exceptions import BotoCoreError, ClientError

from exceptions import SecretFormatError, SecretUnavailableError, aws_error_name
from time_budget import Clock

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

IAM_ACTIONS: Final = ("secretsmanager:GetSecretValue",)
"""Every Secrets Manager action this module performs: the execution role needs exactly these."""

DEFAULT_JITTER_RATIO = 0.1
# Bounds both a forced refresh and a retry after a failed one: at most one such call per second per container.
DEFAULT_MIN_FETCH_INTERVAL_SECONDS = 1.0

_NOT_JSON: Final = object()
_HEADER_SAFE_KEY = re.compile(r"[\x21-\x7e]+")

logger = logging.getLogger(__name__)


@final
class ApiKey:
    """The third-party API key. Its repr and str never show the value; `reveal()` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "ApiKey(<redacted>)"

    __str__ = __repr__


class CacheOutcome(StrEnum):
    """How a read was served; logged with every invocation."""

    HIT = "hit"
    MISS = "miss"
    """Fetched from Secrets Manager: cold start, expired entry or forced refresh."""
    STALE = "stale"
    """Served past its TTL because refreshing failed (or failed less than the minimum interval ago)."""


class SecretRead(NamedTuple):
    key: ApiKey
    outcome: CacheOutcome


@dataclass(frozen=True)
class ExpirableValue:
    """A cached key with the time it stops being fresh and the later time it stops being servable at all."""

    key: ApiKey
    expires_at: float
    servable_until: float
    hit: SecretRead = field(init=False, repr=False, compare=False)
    """Built once, so a warm read allocates nothing."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "hit", SecretRead(self.key, CacheOutcome.HIT))

    def is_fresh(self, now: float) -> bool:
        return now < self.expires_at

    def is_servable(self, now: float) -> bool:
        return now < self.servable_until


class SecretCache:
    """Caches the "api_key" of one secret whose value is the JSON `{"api_key": "<key>"}`."""

    def __init__(
        self,
        client: SecretsManagerClient,
        secret_id: str,
        *,
        ttl_seconds: float,
        max_stale_seconds: float | None = None,
        jitter_ratio: float = DEFAULT_JITTER_RATIO,
        min_fetch_interval_seconds: float = DEFAULT_MIN_FETCH_INTERVAL_SECONDS,
        clock: Clock = time.monotonic,
        jitter_source: Callable[[], float] = random.random,
        on_fetch: Callable[[str], None] | None = None,
    ) -> None:
        """`max_stale_seconds` (default: one TTL) bounds how long past expiry a value may be served when
        refreshing fails. `on_fetch` receives every key fetched, e.g. to teach a log redactor about it."""
        self._client = client
        self._secret_id = secret_id
        self._ttl = ttl_seconds
        self._max_stale = ttl_seconds if max_stale_seconds is None else max_stale_seconds
        self._jitter_ratio = jitter_ratio
        self._min_fetch_interval = min_fetch_interval_seconds
        self._clock = clock
        self._jitter_source = jitter_source
        self._on_fetch = on_fetch
        self._entry: ExpirableValue | None = None
        self._last_attempt_at = -math.inf
        self._last_attempt_failed = False
        self._lock = threading.Lock()

    def get(self) -> SecretRead:
        """The key, from the cache while fresh; otherwise one caller fetches it while the others wait."""
        entry = self._entry
        # The warm path takes no lock: reading one attribute is atomic, and entries are immutable.
        if entry is not None and self._clock() < entry.expires_at:
            return entry.hit
        return self._refresh(seen=entry, forced=False)

    def force_refresh(self) -> SecretRead:
        """Fetch now, even if fresh, unless a fetch was attempted less than the minimum interval ago."""
        return self._refresh(seen=self._entry, forced=True)

    def _refresh(self, *, seen: ExpirableValue | None, forced: bool) -> SecretRead:
        with self._lock:
            now = self._clock()
            entry = self._entry
            if entry is not None and entry is not seen and entry.is_fresh(now):
                # Another caller fetched while this one waited for the lock.
                return entry.hit
            if entry is not None and entry.is_servable(now) and self._too_soon(now, forced=forced):
                return entry.hit if entry.is_fresh(now) else SecretRead(entry.key, CacheOutcome.STALE)
            self._last_attempt_at = now
            # Counted as failed until it succeeds, whatever it raises.
            self._last_attempt_failed = True
            try:
                key = self._fetch()
            except (BotoCoreError, ClientError, SecretFormatError) as exc:
                return self._serve_after_failure(entry, now, exc)
            self._last_attempt_failed = False
            self._entry = ExpirableValue(
                key=key,
                expires_at=now + self._ttl * (1 - self._jitter_ratio * self._jitter_source()),
                servable_until=now + self._ttl + self._max_stale,
            )
            logger.debug("fetched the secret", extra={"secret_cache": CacheOutcome.MISS.value, "forced": forced})
            return SecretRead(key, CacheOutcome.MISS)

    def _too_soon(self, now: float, *, forced: bool) -> bool:
        """A forced refresh, or a retry after a failure, waits for the minimum interval; expiry alone does not."""
        recent = now - self._last_attempt_at < self._min_fetch_interval
        return recent and (forced or self._last_attempt_failed)

    def _fetch(self) -> ApiKey:
        """The one Secrets Manager call: GetSecretValue, with no DescribeSecret before it."""
        response = self._client.get_secret_value(SecretId=self._secret_id)
        key = _api_key_from(response.get("SecretString"), self._secret_id)
        if self._on_fetch is not None:
            self._on_fetch(key)
        return ApiKey(key)

    def _serve_after_failure(
        self, entry: ExpirableValue | None, now: float, exc: BotoCoreError | ClientError | SecretFormatError
    ) -> SecretRead:
        reason = aws_error_name(exc)
        if entry is None or not entry.is_servable(now):
            if isinstance(exc, SecretFormatError):
                raise exc
            raise SecretUnavailableError(
                f"could not read secret {self._secret_id} from Secrets Manager ({reason}) "
                "and no cached value may be served"
            ) from exc
        logger.warning(
            "serving the cached secret: refreshing it failed",
            extra={
                "secret_cache": CacheOutcome.STALE.value,
                "error": reason,
                "seconds_past_ttl": round(max(0.0, now - entry.expires_at), 3),
                "servable_for_seconds": round(entry.servable_until - now, 3),
            },
        )
        return SecretRead(entry.key, CacheOutcome.STALE)


def _api_key_from(secret_string: str | None, secret_id: str) -> str:
    expected = f'secret {secret_id} must hold the JSON {{"api_key": "<key>"}} with a non-empty key'
    if secret_string is None:
        raise SecretFormatError(f"{expected}; it holds binary data")
    try:
        document = json.loads(secret_string)
    except ValueError:
        # Raised outside this block, neither chained nor as context: a JSONDecodeError keeps the whole
        # document, the secret, in its `doc` attribute.
        document = _NOT_JSON
    if document is _NOT_JSON:
        raise SecretFormatError(f"{expected}; it is not JSON")
    key = document.get("api_key") if isinstance(document, dict) else None
    if not isinstance(key, str) or not key.strip():
        raise SecretFormatError(expected)
    if not _HEADER_SAFE_KEY.fullmatch(key):
        # requests would refuse it as a header value, and its error message would quote the value.
        raise SecretFormatError(f"{expected}; the key must be visible ASCII characters without spaces")
    return key
