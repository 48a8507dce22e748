"""The secret cache against Secrets Manager in moto: TTL and jitter, single flight, stale-on-error, forced refresh."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from exceptions import SecretFormatError, SecretUnavailableError
from secret_cache import IAM_ACTIONS, ApiKey, CacheOutcome, SecretCache, SecretRead
from tests.handler.conftest import StoredSecret
from tests.handler.doubles import FakeClock, OperationRecorder, SecretsManagerFault, same_key

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

TTL = 300.0
THREADS = 8
# How long a held fetch waits for the other readers before it lets the test go on (and, if single flight is broken,
# fail on its assertions rather than hang).
HOLD_SECONDS = 10.0
GET = ("secretsmanager", "GetSecretValue")


@pytest.fixture
def client(test_session: boto3.session.Session) -> SecretsManagerClient:
    """A client of the test's own with one attempt per call, so each injected fault is met exactly once."""
    return test_session.client("secretsmanager", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def calls(client: SecretsManagerClient) -> OperationRecorder:
    return OperationRecorder().install(client.meta.events)


@pytest.fixture
def new_cache(client: SecretsManagerClient, secret: StoredSecret, clock: FakeClock) -> Callable[..., SecretCache]:
    def build(**overrides: Any) -> SecretCache:
        settings: dict[str, Any] = {"ttl_seconds": TTL, "clock": clock, "jitter_source": lambda: 0.0}
        return SecretCache(client, secret.name, **(settings | overrides))

    return build


def test_iam_actions_are_get_secret_value_only() -> None:
    assert IAM_ACTIONS == ("secretsmanager:GetSecretValue",)


def test_cold_start_makes_one_get_secret_value_call_and_no_describe_secret(
    new_cache: Callable[..., SecretCache], secret: StoredSecret, calls: OperationRecorder
) -> None:
    read = new_cache().get()

    assert read.outcome is CacheOutcome.MISS
    assert same_key(read.key, secret.api_key)
    assert calls.calls == [GET]


def test_reads_within_the_ttl_are_hits_and_make_no_calls(
    new_cache: Callable[..., SecretCache], secret: StoredSecret, clock: FakeClock, calls: OperationRecorder
) -> None:
    cache = new_cache()
    cache.get()
    outcomes = []
    for _ in range(59):
        clock.advance(5.0)
        outcomes.append(cache.get().outcome)

    assert outcomes == [CacheOutcome.HIT] * 59
    assert calls.calls == [GET]


@pytest.mark.parametrize(
    ("jitter_draw", "expected_ttl"),
    [(0.0, 300.0), (0.5, 285.0), (1.0, 270.0)],
    ids=["no-jitter", "half", "full-jitter"],
)
def test_an_entry_expires_after_the_ttl_shortened_by_at_most_ten_percent_jitter(
    new_cache: Callable[..., SecretCache],
    clock: FakeClock,
    calls: OperationRecorder,
    jitter_draw: float,
    expected_ttl: float,
) -> None:
    cache = new_cache(jitter_source=lambda: jitter_draw)
    cache.get()

    clock.advance(expected_ttl - 0.01)
    before_expiry = cache.get().outcome
    clock.advance(0.02)
    after_expiry = cache.get().outcome

    assert (before_expiry, after_expiry) == (CacheOutcome.HIT, CacheOutcome.MISS)
    assert calls.calls == [GET, GET]


def test_default_jitter_keeps_every_expiry_within_90_to_100_percent_of_the_ttl(
    client: SecretsManagerClient, secret: StoredSecret, clock: FakeClock
) -> None:
    caches = [SecretCache(client, secret.name, ttl_seconds=TTL, clock=clock) for _ in range(10)]
    for cache in caches:
        cache.get()

    clock.advance(0.9 * TTL - 0.01)
    at_90_percent = {cache.get().outcome for cache in caches}
    clock.advance(0.1 * TTL + 0.01)
    at_100_percent = {cache.get().outcome for cache in caches}

    assert (at_90_percent, at_100_percent) == ({CacheOutcome.HIT}, {CacheOutcome.MISS})


class CountingLock:
    """The cache's lock, counting the threads that have asked for it (including those still waiting for it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asked = threading.Condition()
        self.asked = 0

    def __enter__(self) -> bool:
        with self._asked:
            self.asked += 1
            self._asked.notify_all()
        return self._lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    def wait_until_asked(self, times: int) -> bool:
        with self._asked:
            return self._asked.wait_for(lambda: self.asked >= times, timeout=HOLD_SECONDS)


def read_concurrently(
    cache: SecretCache, read: Callable[[], SecretRead], client: SecretsManagerClient
) -> list[SecretRead]:
    """THREADS concurrent reads. Every GetSecretValue is held until every reader is either waiting for the cache's
    lock or fetching too: no reader can arrive after a fetch has finished and find the cache already filled, so a
    cache without single flight lets the others call Secrets Manager as well, and this fails. A hold that lapses
    (the readers never all asked for the lock) fails the test too: the race was then not set up."""
    reads: list[SecretRead] = []
    lapsed: list[int] = []
    start = threading.Barrier(THREADS)
    # The cache's own lock, replaced by one that counts who asked for it: a reader that asked is committed to
    # what the cache decides under the lock (the test reaches into the cache only for this; a cache that no longer
    # has this lock, or serialises its fetches with another one, fails here or through the lapse check below).
    assert isinstance(cache._lock, type(threading.Lock()))
    lock = CountingLock()
    cache._lock = lock  # type: ignore[assignment]

    def hold_until_all_waiting(**_: Any) -> None:
        # Returns None: botocore would take any other value for the response.
        if not lock.wait_until_asked(THREADS):
            lapsed.append(lock.asked)

    def reader() -> None:
        start.wait()
        reads.append(read())

    client.meta.events.register("before-call.secrets-manager.GetSecretValue", hold_until_all_waiting)
    threads = [threading.Thread(target=reader) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert lapsed == [], f"a held fetch waited {HOLD_SECONDS} s with only {lapsed} of {THREADS} readers at the lock"
    assert len(reads) == THREADS
    return reads


@pytest.mark.parametrize("warm", [False, True], ids=["cold-start", "expired-entry"])
def test_concurrent_readers_cause_one_get_secret_value(
    client: SecretsManagerClient, secret: StoredSecret, calls: OperationRecorder, warm: bool
) -> None:
    clock = FakeClock()
    cache = SecretCache(client, secret.name, ttl_seconds=TTL, clock=clock, jitter_source=lambda: 0.0)
    if warm:
        cache.get()
        clock.advance(TTL)

    reads = read_concurrently(cache, cache.get, client)

    assert sorted(read.outcome for read in reads) == [CacheOutcome.HIT] * (THREADS - 1) + [CacheOutcome.MISS]
    assert calls.count("GetSecretValue") == (2 if warm else 1)


def test_concurrent_forced_refreshes_cause_one_get_secret_value_and_all_get_the_new_key(
    client: SecretsManagerClient, secret: StoredSecret, calls: OperationRecorder, make_key: Callable[[], str]
) -> None:
    clock = FakeClock()
    cache = SecretCache(client, secret.name, ttl_seconds=TTL, clock=clock)
    cache.get()
    secret.rotate(make_key())
    clock.advance(5.0)

    reads = read_concurrently(cache, cache.force_refresh, client)

    assert sorted(read.outcome for read in reads) == [CacheOutcome.HIT] * (THREADS - 1) + [CacheOutcome.MISS]
    # Nobody is handed the key the refresh was forced to replace.
    assert all(same_key(read.key, secret.api_key) for read in reads)
    assert calls.count("GetSecretValue") == 2


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (SecretsManagerFault(400, "ThrottlingException"), "ThrottlingException"),
        (SecretsManagerFault(500, "InternalServiceError"), "InternalServiceError"),
        (SecretsManagerFault(error=ReadTimeoutError(endpoint_url="http://127.0.0.1:1/")), "ReadTimeoutError"),
        (
            SecretsManagerFault(error=EndpointConnectionError(endpoint_url="http://127.0.0.1:1/")),
            "EndpointConnectionError",
        ),
    ],
    ids=["throttled", "5xx", "timeout", "unreachable"],
)
def test_a_failed_refresh_serves_the_cached_key_for_a_bounded_time_then_raises(
    new_cache: Callable[..., SecretCache],
    client: SecretsManagerClient,
    secret: StoredSecret,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    fault: SecretsManagerFault,
    reason: str,
) -> None:
    fault.install(client.meta.events)
    cache = new_cache(max_stale_seconds=60.0)
    cache.get()
    clock.advance(TTL)
    fault.active = True

    # WHEN the refresh fails: the old key, marked stale, and a warning saying so.
    first = cache.get()
    assert first.outcome is CacheOutcome.STALE
    assert same_key(first.key, secret.api_key)
    warnings = [record for record in caplog.records if getattr(record, "secret_cache", None) == "stale"]
    assert [(record.levelno, getattr(record, "error", None)) for record in warnings] == [(logging.WARNING, reason)]

    # Within a second of the failed attempt: served without another call.
    clock.advance(0.5)
    assert cache.get().outcome is CacheOutcome.STALE
    assert fault.answered == 1

    # After it: one more attempt, still stale.
    clock.advance(0.5)
    assert cache.get().outcome is CacheOutcome.STALE
    assert fault.answered == 2

    # Past the stale bound (TTL + 60 s): a clear error, made of names and codes only.
    clock.advance(59.0)
    with pytest.raises(SecretUnavailableError) as raised:
        cache.get()
    assert str(raised.value) == (
        f"could not read secret {secret.name} from Secrets Manager ({reason}) and no cached value may be served"
    )
    assert fault.answered == 3

    # And once Secrets Manager answers again, a fresh value.
    fault.active = False
    assert cache.get().outcome is CacheOutcome.MISS


def test_with_nothing_cached_a_failed_fetch_raises_at_once(
    new_cache: Callable[..., SecretCache], client: SecretsManagerClient, secret: StoredSecret
) -> None:
    fault = SecretsManagerFault(400, "ThrottlingException").install(client.meta.events)
    fault.active = True

    with pytest.raises(SecretUnavailableError, match=r"\(ThrottlingException\) and no cached value may be served"):
        new_cache().get()


def test_an_unknown_secret_is_reported_with_its_name_and_the_error_code(
    client: SecretsManagerClient, clock: FakeClock
) -> None:
    cache = SecretCache(client, "test/no-such-secret", ttl_seconds=TTL, clock=clock)

    with pytest.raises(SecretUnavailableError) as raised:
        cache.get()

    assert str(raised.value) == (
        "could not read secret test/no-such-secret from Secrets Manager (ResourceNotFoundException) "
        "and no cached value may be served"
    )


def test_a_forced_refresh_is_rate_limited_to_one_call_per_second(
    new_cache: Callable[..., SecretCache],
    secret: StoredSecret,
    clock: FakeClock,
    calls: OperationRecorder,
    make_key: Callable[[], str],
) -> None:
    cache = new_cache()
    cache.get()
    secret.rotate(make_key())

    storm = {cache.force_refresh().outcome for _ in range(100)}
    clock.advance(0.99)
    just_before = cache.force_refresh()
    clock.advance(0.01)
    refreshed = cache.force_refresh()

    assert storm == {CacheOutcome.HIT}
    assert just_before.outcome is CacheOutcome.HIT
    assert refreshed.outcome is CacheOutcome.MISS
    assert same_key(refreshed.key, secret.api_key)
    assert calls.calls == [GET, GET]


def test_expiry_is_not_rate_limited(
    new_cache: Callable[..., SecretCache], clock: FakeClock, calls: OperationRecorder
) -> None:
    cache = new_cache(ttl_seconds=0.5)
    cache.get()
    clock.advance(0.5)

    assert cache.get().outcome is CacheOutcome.MISS
    assert calls.calls == [GET, GET]


@pytest.mark.parametrize(
    ("secret_string", "problem"),
    [
        ("not json at all", "; it is not JSON"),
        ('{"api_key": "k-unterminated', "; it is not JSON"),
        ('{"key": "k-wrong-field"}', ""),
        ('{"api_key": ""}', ""),
        ('{"api_key": "   "}', ""),
        ('{"api_key": 12345}', ""),
        ('["k-not-an-object"]', ""),
        ('{"api_key": "k-with-newline\\n"}', "; the key must be visible ASCII characters without spaces"),
        ('{"api_key": "k with space"}', "; the key must be visible ASCII characters without spaces"),
        ('{"api_key": "k-caf\u00e9"}', "; the key must be visible ASCII characters without spaces"),
    ],
)
def test_a_malformed_secret_is_a_configuration_error_that_does_not_echo_the_value(
    new_cache: Callable[..., SecretCache], secret: StoredSecret, secret_string: str, problem: str
) -> None:
    secret.put_raw(secret_string)

    with pytest.raises(SecretFormatError) as raised:
        new_cache().get()

    assert str(raised.value) == (
        f'secret {secret.name} must hold the JSON {{"api_key": "<key>"}} with a non-empty key{problem}'
    )
    # Neither chained nor as context: a JSONDecodeError would carry the whole value in its `doc`.
    assert (raised.value.__cause__, raised.value.__context__) == (None, None)


def test_a_binary_secret_is_a_configuration_error(
    client: SecretsManagerClient, secrets_client: SecretsManagerClient, clock: FakeClock
) -> None:
    secrets_client.create_secret(Name="test/binary-secret", SecretBinary=b"\x00\x01")
    cache = SecretCache(client, "test/binary-secret", ttl_seconds=TTL, clock=clock)

    with pytest.raises(SecretFormatError, match=r"; it holds binary data$"):
        cache.get()


def test_a_malformed_new_value_leaves_the_cached_key_in_service_until_the_bound(
    new_cache: Callable[..., SecretCache], secret: StoredSecret, clock: FakeClock
) -> None:
    cache = new_cache(max_stale_seconds=10.0)
    cache.get()
    secret.put_raw('{"api_key": ""}')
    clock.advance(TTL)

    served = cache.get()
    clock.advance(10.0)

    assert served.outcome is CacheOutcome.STALE
    assert same_key(served.key, secret.api_key)
    with pytest.raises(SecretFormatError):
        cache.get()


def test_every_fetched_key_is_handed_to_on_fetch(
    new_cache: Callable[..., SecretCache], secret: StoredSecret, clock: FakeClock, make_key: Callable[[], str]
) -> None:
    fetched: list[ApiKey] = []
    cache = new_cache(on_fetch=lambda value: fetched.append(ApiKey(value)))
    cache.get()
    old_key = secret.api_key
    secret.rotate(make_key())
    clock.advance(TTL)
    cache.get()

    assert len(fetched) == 2
    assert same_key(fetched[0], old_key)
    assert same_key(fetched[1], secret.api_key)


def test_an_api_key_never_shows_its_value() -> None:
    key = ApiKey("k-" + "0" * 32)

    assert (repr(key), str(key), f"{key}", f"{key!r}") == ("ApiKey(<redacted>)",) * 4
    assert repr(SecretRead(key, CacheOutcome.HIT)) == (
        "SecretRead(key=ApiKey(<redacted>), outcome=<CacheOutcome.HIT: 'hit'>)"
    )
