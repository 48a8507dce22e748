"""The third-party weather API: one GET per city, the key in a header, retries bounded by the time left."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from exceptions import ApiKeyRejectedError, WeatherApiError
from secret_cache import ApiKey
from time_budget import TimeBudget

if TYPE_CHECKING:
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

WEATHER_PATH = "/v1/weather"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
REJECTED_KEY_STATUSES = frozenset({401, 403})
# Just over 3 s: a multiple of the TCP retransmission window gives a lost SYN one retransmission.
CONNECT_TIMEOUT_SECONDS = 3.05
READ_TIMEOUT_SECONDS = 10.0

Reading = dict[str, Any]
"""One reading: "city", "observed_at", "temperature_c" and whatever else the API sent; numbers are Decimal."""

logger = logging.getLogger(__name__)

# The budget of the call in progress. The Retry object lives in the session's adapter, once per container,
# while the time left belongs to one invocation.
_ACTIVE_BUDGET: ContextVar[TimeBudget | None] = ContextVar("weather_api_budget", default=None)


class BudgetedRetry(Retry):
    """A urllib3 Retry that gives up instead of waiting, when the wait (Retry-After or backoff) would not fit
    in the invocation's remaining time; urllib3 then returns the last response, or raises for a connection
    error, and the caller reports it."""

    next_wait: float = 0.0
    """What `sleep()` waits; decided, and checked against the budget, when the retry is counted."""

    def __init__(self, *args: Any, sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sleep = sleep

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry._sleep = self._sleep
        return retry

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        retry.next_wait = retry._planned_wait(response)
        budget = _ACTIVE_BUDGET.get()
        remaining = budget.remaining() if budget is not None else float("inf")
        if retry.next_wait >= remaining:
            reason = error or ResponseError(
                f"the next attempt would start {retry.next_wait:.1f} s from now; {remaining:.1f} s are left"
            )
            raise MaxRetryError(_pool, url, reason) from reason  # type: ignore[arg-type]
        logger.info(
            "retrying the weather API",
            extra={
                "status": response.status if response is not None else None,
                "error": type(error).__name__ if error is not None else None,
                "wait_seconds": round(retry.next_wait, 3),
            },
        )
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self.next_wait > 0:
            self._sleep(self.next_wait)

    def _planned_wait(self, response: BaseHTTPResponse | None) -> float:
        if self.respect_retry_after_header and response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after:
                return retry_after
        return self.get_backoff_time()


def default_retry(sleep: Callable[[float], None] = time.sleep) -> BudgetedRetry:
    """Up to three retries on 429, 5xx and connection errors, and two on read timeouts; GET only."""
    return BudgetedRetry(
        total=3,
        connect=3,
        read=2,
        status=3,
        other=0,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRYABLE_STATUSES,
        backoff_factor=0.25,
        backoff_jitter=0.25,
        backoff_max=4.0,
        respect_retry_after_header=True,
        # The last response comes back, so the error can say which status the API kept answering.
        raise_on_status=False,
        sleep=sleep,
    )


def build_session(retry: Retry | None = None) -> requests.Session:
    """The container's one Session: pooled connections, and retries mounted for both schemes."""
    session = requests.Session()
    # No proxies, CA bundles or .netrc from the environment: a .netrc entry would replace the Authorization header.
    session.trust_env = False
    adapter = HTTPAdapter(max_retries=retry if retry is not None else default_retry())
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@dataclass(frozen=True)
class WeatherReport:
    city: str
    """The city as the API names it; the DynamoDB partition key."""
    readings: tuple[Reading, ...]


class WeatherApi:
    """`GET {base_url}/v1/weather?city=<city>` with `Authorization: Bearer <key>`."""

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self._url = base_url.rstrip("/") + WEATHER_PATH
        self._session = session
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout

    def fetch(self, city: str, key: ApiKey, budget: TimeBudget) -> WeatherReport:
        """The city's readings. ApiKeyRejectedError on 401/403, WeatherApiError on anything else unusable."""
        remaining = budget.remaining()
        if remaining <= 0:
            raise WeatherApiError(f"no time left to ask the weather API about {city!r}")
        token = _ACTIVE_BUDGET.set(budget)
        try:
            response = self._session.get(
                self._url,
                params={"city": city},
                headers={"Authorization": f"Bearer {key.reveal()}"},
                timeout=(min(self._connect_timeout, remaining), min(self._read_timeout, remaining)),
                # A redirect could carry the key to another host; the API has no reason to send one.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise WeatherApiError(f"weather API request for {city!r} failed: {_failure_name(exc)}") from exc
        finally:
            _ACTIVE_BUDGET.reset(token)
        with response:
            if response.status_code in REJECTED_KEY_STATUSES:
                raise ApiKeyRejectedError(f"weather API answered {response.status_code} for {city!r}")
            if response.status_code != 200:
                retry_after = response.headers.get("Retry-After")
                hint = f" (Retry-After: {retry_after})" if retry_after else ""
                raise WeatherApiError(f"weather API answered {response.status_code}{hint} for {city!r}")
            return _report_from(response, city)


def _failure_name(exc: requests.RequestException) -> str:
    """The underlying cause once retries ran out (requests wraps a read timeout in a ConnectionError)."""
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, MaxRetryError) and cause.reason is not None:
        return type(cause.reason).__name__
    return type(exc).__name__


def _report_from(response: requests.Response, city: str) -> WeatherReport:
    try:
        body = response.json(parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError as exc:
        raise WeatherApiError(f"weather API answered 200 for {city!r} with a body that is not JSON") from exc
    problem = _body_problem(body)
    if problem:
        raise WeatherApiError(f"weather API answered 200 for {city!r} with an unexpected body: {problem}")
    name: str = body["city"]
    return WeatherReport(city=name, readings=tuple({**reading, "city": name} for reading in body["readings"]))


def _body_problem(body: object) -> str | None:
    """What makes the body unusable, or None: a city name, and readings with a time and a temperature."""
    if not isinstance(body, Mapping):
        return "not a JSON object"
    if not isinstance(body.get("city"), str) or not body["city"].strip():
        return "city must be a non-empty string"
    readings = body.get("readings")
    if not isinstance(readings, list):
        return "readings must be a list"
    for index, reading in enumerate(readings):
        if not isinstance(reading, Mapping):
            return f"readings[{index}] must be an object"
        observed_at = reading.get("observed_at")
        if not isinstance(observed_at, str) or not _is_iso_datetime(observed_at):
            return f"readings[{index}].observed_at must be an ISO-8601 date and time"
        temperature = reading.get("temperature_c")
        if isinstance(temperature, bool) or not isinstance(temperature, int | Decimal):
            return f"readings[{index}].temperature_c must be a number"
    return None


def _is_iso_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number DynamoDB can store")
