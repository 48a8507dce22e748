"""The third-party weather API: one GET per city, the key in a header, retries bounded by the time left."""

from __future__ import annotations

import logging
import math
import threading
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
from handler_settings import DEFAULT_API_CONCURRENCY
from secret_cache import ApiKey
from time_budget import Clock, TimeBudget

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


class ApiPause:
    """The time before which the API asked (with Retry-After) not to be called again. One per container, shared by
    every worker: a 429 for one city holds back the requests and retries of all the others, not just its own.

    Times are on the clock of the invocation's TimeBudget; `sleep` is the one that waits for them.
    """

    def __init__(self) -> None:
        self._until = -math.inf
        self._lock = threading.Lock()

    def hold_until(self, until: float) -> None:
        """No request before `until`; an earlier time never shortens a pause already asked for."""
        with self._lock:
            self._until = max(self._until, until)

    def remaining(self, clock: Clock) -> float:
        return max(0.0, self._until - clock())

    def wait(self, clock: Clock, sleep: Callable[[float], None], *, at_least_until: float = -math.inf) -> None:
        """Sleep until the pause (and `at_least_until`) has passed, again if another worker extended it meanwhile."""
        until = max(at_least_until, self._until)
        while (wait := until - clock()) > 0:
            sleep(wait)
            later = max(at_least_until, self._until)
            if later == until:
                return
            until = later


@dataclass(frozen=True)
class _ActiveCall:
    budget: TimeBudget
    pause: ApiPause


# The call in progress. The Retry object lives in the session's adapter, once per container, while the time left
# belongs to one invocation and the pause to every worker of the container.
_ACTIVE_CALL: ContextVar[_ActiveCall | None] = ContextVar("weather_api_call", default=None)


class BudgetedRetry(Retry):
    """A urllib3 Retry that gives up instead of waiting, when the wait (Retry-After or backoff, or a pause another
    worker's 429 asked for) would not fit in the invocation's remaining time; urllib3 then returns the last
    response, or raises for a connection error, and the caller reports it."""

    next_wait: float = 0.0
    """What this retry's own wait is (Retry-After or backoff); decided, and checked against the budget, when the
    retry is counted."""
    decided_at: float = 0.0

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
        call = _ACTIVE_CALL.get()
        retry_after = self._retry_after(response)
        if call is not None and retry_after:
            # Before anything else (even running out of retries): the API asked every caller to wait.
            call.pause.hold_until(call.budget.clock() + retry_after)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        retry.next_wait = retry_after or retry.get_backoff_time()
        if call is None:
            retry.decided_at, wait, remaining = 0.0, retry.next_wait, float("inf")
        else:
            retry.decided_at = call.budget.clock()
            wait = max(retry.next_wait, call.pause.remaining(call.budget.clock))
            remaining = call.budget.remaining()
        if wait >= remaining:
            reason = error or ResponseError(
                f"the next attempt would start {wait:.1f} s from now; {remaining:.1f} s are left"
            )
            raise MaxRetryError(_pool, url, reason) from reason  # type: ignore[arg-type]
        logger.info(
            "retrying the weather API",
            extra={
                "status": response.status if response is not None else None,
                "error": type(error).__name__ if error is not None else None,
                "wait_seconds": round(wait, 3),
            },
        )
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        call = _ACTIVE_CALL.get()
        if call is None:
            if self.next_wait > 0:
                self._sleep(self.next_wait)
            return
        call.pause.wait(call.budget.clock, self._sleep, at_least_until=self.decided_at + self.next_wait)

    def _retry_after(self, response: BaseHTTPResponse | None) -> float | None:
        if not self.respect_retry_after_header or response is None:
            return None
        return self.get_retry_after(response) or None


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


def build_session(retry: Retry | None = None, *, pool_size: int = DEFAULT_API_CONCURRENCY) -> requests.Session:
    """The container's one Session: retries mounted for both schemes, and a pool of `pool_size` connections per
    host, one per worker, so that no worker opens a connection the pool would then throw away."""
    session = requests.Session()
    # No proxies, CA bundles or .netrc from the environment: a .netrc entry would replace the Authorization header.
    session.trust_env = False
    adapter = HTTPAdapter(max_retries=retry if retry is not None else default_retry(), pool_maxsize=pool_size)
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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`sleep` waits out a pause another request's Retry-After asked for (the session's Retry has its own)."""
        self._url = base_url.rstrip("/") + WEATHER_PATH
        self._session = session
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._sleep = sleep
        self._pause = ApiPause()

    def fetch(self, city: str, key: ApiKey, budget: TimeBudget) -> WeatherReport:
        """The city's readings. ApiKeyRejectedError on 401/403, WeatherApiError on anything else unusable.

        Safe to call from several threads at once: they share the session's pool and the API's pause."""
        pause = self._pause.remaining(budget.clock)
        if pause > 0:
            if pause >= budget.remaining():
                raise WeatherApiError(
                    f"the weather API asked for a pause of {pause:.1f} s more before asking about {city!r}; "
                    f"{budget.remaining():.1f} s are left"
                )
            self._pause.wait(budget.clock, self._sleep)
        remaining = budget.remaining()
        if remaining <= 0:
            raise WeatherApiError(f"no time left to ask the weather API about {city!r}")
        token = _ACTIVE_CALL.set(_ActiveCall(budget, self._pause))
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
            _ACTIVE_CALL.reset(token)
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
