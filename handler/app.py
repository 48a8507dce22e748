"""Lambda entry point (`app.lambda_handler`): read the API key at run time, fetch the weather, store the readings."""

from __future__ import annotations

import functools
import logging
import os
import time

import boto3
from botocore.config import Config

import json_logging
from exceptions import ApiKeyRejectedError, IngestError, InvalidEventError
from handler_settings import Settings
from ingest_event import cities_from_event
from results_store import ResultsStore
from secret_cache import CacheOutcome, SecretCache, SecretRead
from time_budget import Clock, LambdaContext, TimeBudget
from weather_api import Reading, WeatherApi, WeatherReport, build_session

# Standard mode: three attempts with jittered backoff and a client-side retry quota. The timeouts are short
# because both services answer in milliseconds; a hung connection is better retried than waited for.
AWS_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 3},
)

logger = logging.getLogger(__name__)


class IngestFunction:
    """What a container keeps between invocations: the clients, the HTTP session and the secret cache."""

    def __init__(
        self,
        secret_cache: SecretCache,
        weather_api: WeatherApi,
        results_store: ResultsStore,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self._secret_cache = secret_cache
        self._weather_api = weather_api
        self._results_store = results_store
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = time.monotonic) -> IngestFunction:
        """Build the clients; endpoints, region and credentials come from botocore's usual sources (so
        AWS_ENDPOINT_URL works for tests without a setting of this function's own)."""
        return cls(
            SecretCache(
                boto3.client("secretsmanager", config=AWS_CLIENT_CONFIG),
                settings.secret_id,
                ttl_seconds=settings.secret_cache_ttl_seconds,
                clock=clock,
                on_fetch=json_logging.SECRET_REDACTOR.remember,
            ),
            WeatherApi(settings.api_base_url, build_session()),
            ResultsStore(boto3.client("dynamodb", config=AWS_CLIENT_CONFIG), settings.table_name),
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
        secret = self._secret_cache.get()
        outcomes: list[CacheOutcome] = [secret.outcome]
        readings: list[Reading] = []
        for city in cities:
            report, used = self._fetch(city, secret, budget)
            if used is not secret:
                secret = used
                outcomes.append(used.outcome)
            logger.info("fetched the weather", extra={"city": report.city, "readings": len(report.readings)})
            readings.extend(report.readings)
        written = self._results_store.write(readings, budget)
        logger.info(
            "stored the readings",
            extra={"cities": len(cities), "items": written, "secret_cache": [str(outcome) for outcome in outcomes]},
        )
        return {"status": "ok", "items": written}

    def _fetch(self, city: str, secret: SecretRead, budget: TimeBudget) -> tuple[WeatherReport, SecretRead]:
        """One request; after a 401/403, one forced refresh of the secret and one retry, never a loop."""
        try:
            return self._weather_api.fetch(city, secret.key, budget), secret
        except ApiKeyRejectedError as exc:
            logger.warning(
                "the weather API rejected the key; refreshing the secret and retrying once",
                extra={"city": city, "error": str(exc)},
            )
        refreshed = self._secret_cache.force_refresh()
        try:
            return self._weather_api.fetch(city, refreshed.key, budget), refreshed
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
