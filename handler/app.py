"""Lambda entry point (`app.lambda_handler`): read the API key at run time, fetch the weather, store the readings."""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import boto3
from botocore.config import Config

import json_logging
from exceptions import ApiKeyRejectedError, IngestError, InvalidEventError
from handler_settings import DEFAULT_API_CONCURRENCY, Settings
from ingest_event import cities_from_event
from results_store import ResultsStore
from secret_cache import ApiKey, CacheOutcome, SecretCache, SecretRead
from time_budget import Clock, LambdaContext, TimeBudget
from weather_api import WeatherApi, WeatherReport, build_session, default_retry

# Standard mode: three attempts with jittered backoff and a client-side retry quota. The timeouts are short
# because both services answer in milliseconds; a hung connection is better retried than waited for.
AWS_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 3},
)

# The loggers a worker writes through while it fetches a city; their lines are written in city order.
FUNCTION_LOGGERS = ("app", "weather_api", "secret_cache")

logger = logging.getLogger(__name__)


class SharedKey:
    """The key every worker of one invocation sends. After a rejection, the first worker to report it forces the
    one refresh of the secret; workers that were rejected with the same old key then retry with the refreshed one
    instead of forcing refreshes of their own."""

    def __init__(self, secret_cache: SecretCache, first: SecretRead) -> None:
        self._secret_cache = secret_cache
        self._lock = threading.Lock()
        self._refreshed_after: ApiKey | None = None
        self.current = first
        self.outcomes: list[CacheOutcome] = [first.outcome]
        """How each read of this invocation was served, in order; logged with the summary."""

    def after_rejection(self, rejected: SecretRead) -> SecretRead:
        """The key to retry with: refreshed once for all workers, however many were rejected with the old one."""
        with self._lock:
            if self.current.key is rejected.key and self._refreshed_after is not rejected.key:
                self._refreshed_after = rejected.key
                refreshed = self._secret_cache.force_refresh()
                if refreshed is not self.current:
                    self.outcomes.append(refreshed.outcome)
                self.current = refreshed
            return self.current


@dataclass
class _CityFetch:
    """What one worker brings back for one city: its report or its error, and the log records it held."""

    report: WeatherReport | None = None
    error: IngestError | None = None
    records: list[logging.LogRecord] = field(default_factory=list)


class _FirstFailure:
    """The position, in city order, of the first city that failed so far."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: int | None = None

    def at(self, index: int) -> None:
        with self._lock:
            self._index = index if self._index is None else min(self._index, index)

    def before(self, index: int) -> bool:
        """Whether a city ahead of this one failed: its result could no longer change the outcome."""
        with self._lock:
            return self._index is not None and self._index < index


class IngestFunction:
    """What a container keeps between invocations: the clients, the HTTP session and the secret cache."""

    def __init__(
        self,
        secret_cache: SecretCache,
        weather_api: WeatherApi,
        results_store: ResultsStore,
        *,
        api_concurrency: int = DEFAULT_API_CONCURRENCY,
        clock: Clock = time.monotonic,
    ) -> None:
        self._secret_cache = secret_cache
        self._weather_api = weather_api
        self._results_store = results_store
        self._api_concurrency = api_concurrency
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> IngestFunction:
        """Build the clients; endpoints, region and credentials come from botocore's usual sources (so
        AWS_ENDPOINT_URL works for tests without a setting of this function's own). `clock` and `sleep` are
        every wait's (the secret's TTL, the time budget, API retries and pauses, DynamoDB backoff)."""
        return cls(
            SecretCache(
                boto3.client("secretsmanager", config=AWS_CLIENT_CONFIG),
                settings.secret_id,
                ttl_seconds=settings.secret_cache_ttl_seconds,
                clock=clock,
                on_fetch=json_logging.SECRET_REDACTOR.remember,
            ),
            WeatherApi(
                settings.api_base_url,
                build_session(default_retry(sleep=sleep), pool_size=settings.api_concurrency),
                sleep=sleep,
            ),
            ResultsStore(boto3.client("dynamodb", config=AWS_CLIENT_CONFIG), settings.table_name, sleep=sleep),
            api_concurrency=settings.api_concurrency,
            clock=clock,
        )

    def handle(self, event: object, context: LambdaContext) -> dict[str, object]:
        """`{"status": "ok", "items": n}`, or `{"status": "error", "error": ...}` for an invalid event.

        Other failures raise, so Lambda counts them as errors and retries asynchronous invocations.
        """
        with json_logging.bound(request_id=context.aws_request_id):
            try:
                cities = cities_from_event(event)
            except InvalidEventError as exc:
                logger.warning("rejected the event", extra={"error": str(exc)})
                return {"status": "error", "error": str(exc)}
            try:
                return self._ingest(cities, TimeBudget.from_context(context, clock=self._clock))
            except IngestError as exc:
                logger.error("ingest failed", extra={"error": str(exc), "error_type": type(exc).__name__})
                raise

    def _ingest(self, cities: tuple[str, ...], budget: TimeBudget) -> dict[str, object]:
        key = SharedKey(self._secret_cache, self._secret_cache.get())
        reports = self._fetch_all(cities, key, budget)
        written = self._results_store.write([reading for report in reports for reading in report.readings], budget)
        logger.info(
            "stored the readings",
            extra={"cities": len(cities), "items": written, "secret_cache": [str(outcome) for outcome in key.outcomes]},
        )
        return {"status": "ok", "items": written}

    def _fetch_all(self, cities: tuple[str, ...], key: SharedKey, budget: TimeBudget) -> list[WeatherReport]:
        """Every city's report, in city order; the error of the first city (in city order) that failed.

        With one worker, one city after another. With more, up to `api_concurrency` requests in flight: each
        worker's log lines are held and written in city order, and no worker starts a city that comes after one that
        failed (the cities before it still run: one of them may be the first failure in city order, as it would
        have been one city after another).
        """
        workers = min(self._api_concurrency, len(cities))
        if workers <= 1:
            return [self._fetch_logged(city, key, budget) for city in cities]
        failed = _FirstFailure()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="weather-api") as pool:
            # Each worker runs in a copy of this context: the request id and other bound fields stay on its lines.
            futures = [
                pool.submit(contextvars.copy_context().run, self._fetch_held, index, city, key, budget, failed)
                for index, city in enumerate(cities)
            ]
            fetches = []
            for future in futures:
                fetch = future.result()
                json_logging.release(fetch.records)
                fetches.append(fetch)
        errors = [fetch.error for fetch in fetches if fetch.error is not None]
        if errors:
            raise errors[0]
        return [fetch.report for fetch in fetches if fetch.report is not None]

    def _fetch_held(
        self, index: int, city: str, key: SharedKey, budget: TimeBudget, failed: _FirstFailure
    ) -> _CityFetch:
        with json_logging.held(*FUNCTION_LOGGERS) as records:
            if failed.before(index):
                return _CityFetch(records=records)
            try:
                return _CityFetch(report=self._fetch_logged(city, key, budget), records=records)
            except IngestError as exc:
                failed.at(index)
                return _CityFetch(error=exc, records=records)

    def _fetch_logged(self, city: str, key: SharedKey, budget: TimeBudget) -> WeatherReport:
        report = self._fetch(city, key, budget)
        logger.info("fetched the weather", extra={"city": report.city, "readings": len(report.readings)})
        return report

    def _fetch(self, city: str, key: SharedKey, budget: TimeBudget) -> WeatherReport:
        """One request; after a 401/403, one forced refresh of the secret and one retry, never a loop."""
        secret = key.current
        try:
            return self._weather_api.fetch(city, secret.key, budget)
        except ApiKeyRejectedError as exc:
            logger.warning(
                "the weather API rejected the key; refreshing the secret and retrying once",
                extra={"city": city, "error": str(exc)},
            )
        refreshed = key.after_rejection(secret)
        try:
            return self._weather_api.fetch(city, refreshed.key, budget)
        except ApiKeyRejectedError as exc:
            raise ApiKeyRejectedError("api key rejected") from exc


@functools.lru_cache(maxsize=1)
def ingest_function_for(settings: Settings) -> IngestFunction:
    """The container's one IngestFunction; a container's settings never change, so this builds it once."""
    return IngestFunction.from_settings(settings)


def lambda_handler(event: object, context: LambdaContext) -> dict[str, object]:
    # Settings first: a missing or malformed one fails the invocation before any network call.
    settings = Settings.from_environ(os.environ)
    json_logging.configure(settings.log_level)
    return ingest_function_for(settings).handle(event, context)
