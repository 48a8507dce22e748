"""The third-party weather API, served by pytest-httpserver on 127.0.0.1, checking the bearer key."""

from __future__ import annotations

import contextlib
import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self

from werkzeug import Request, Response

OBSERVED_AT = ("2026-11-26T10:00:00+00:00", "2026-11-26T11:00:00+00:00")


def readings_for(city: str) -> list[dict[str, object]]:
    """What the fake answers for a city: two readings with a float, an int and a nested extra field."""
    return [
        {"observed_at": observed_at, "temperature_c": 18.5 + hour, "humidity_pct": 40 + hour, "station": {"id": "S1"}}
        for hour, observed_at in enumerate(OBSERVED_AT)
    ]


@dataclass(frozen=True)
class SeenRequest:
    """One request as the fake saw it; the key itself is not kept, only whether it was accepted."""

    city: str | None
    authorized: bool
    status: int
    query_fields: tuple[str, ...]


# How long a held request waits for what it waits for before the fake gives up and answers anyway (a test
# whose handler never sends what the fake waits for then fails, through `lapsed_holds`, not on a hang).
HOLD_TIMEOUT_SECONDS = 10.0


@dataclass
class FakeWeatherApi:
    """`GET /v1/weather?city=<city>`. Answers 401 to any key it does not accept; scripted answers come first.

    For tests of the handler's concurrency, requests can be held: the first n until n are in flight at once
    (`gate`), or one city's answer until another city has been answered (`answer_after`)."""

    accepted_keys: set[str] = field(repr=False)
    scripted: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    """(status, headers) answered, in order, before the normal behaviour resumes."""
    scripted_for_city: dict[str, deque[tuple[int, dict[str, str]]]] = field(default_factory=lambda: defaultdict(deque))
    """Per city: (status, headers) answered to that city's requests first."""
    delay_seconds: float = 0.0
    delayed_requests: int = 0
    """How many of the first requests are delayed by delay_seconds (for benchmarks: real latency)."""
    unanswered_requests: int = 0
    """How many of the first requests get no answer while the test runs (until `close`): a client's read timeout
    must fire, however slow the machine."""
    body_override: bytes | None = None
    clock: Callable[[], float] | None = None
    """When set, each request's arrival time on this clock goes into `arrived_at`."""
    before_answer: Callable[[], None] | None = None
    """Called once a request is no longer held, just before it is answered (a test's fake clock can advance
    there, as if answering took time)."""
    max_in_flight: int = 0
    """The most requests that were being answered at the same time."""
    seen: list[SeenRequest] = field(default_factory=list)
    arrived_at: list[float] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    """The cities in the order their answers were made (held requests change it)."""
    lapsed_holds: list[str] = field(default_factory=list)
    """Cities whose hold (`hold`, `answer_after`) ran out of time: what they waited for never happened, so the test
    did not set up what it meant to (the `weather_api` fixture fails the test on any)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _gate: threading.Barrier | None = None
    _gate_from: int = 0
    _waits_for: dict[str, threading.Event] = field(default_factory=dict)
    _answered: defaultdict[str, threading.Event] = field(default_factory=lambda: defaultdict(threading.Event))
    _closed: threading.Event = field(default_factory=threading.Event)
    _in_flight: int = 0
    _idle: threading.Condition = field(default_factory=threading.Condition)

    def accept_only(self, key: str) -> None:
        self.accepted_keys = {key}

    def then_answer(self, status: int, headers: dict[str, str] | None = None, *, city: str | None = None) -> Self:
        if city is None:
            self.scripted.append((status, headers or {}))
        else:
            self.scripted_for_city[city].append((status, headers or {}))
        return self

    def gate(self, requests: int) -> Self:
        """Hold the next `requests` requests until that many are in flight at once, then answer them all."""
        self._gate = threading.Barrier(requests)
        self._gate_from = len(self.seen)
        return self

    def answer_after(self, city: str, other: str) -> Self:
        """Answer `city` only once `other` has been answered: the answers come back out of city order."""
        return self.hold(city, until=self._answered[other])

    def hold(self, city: str, *, until: threading.Event) -> Self:
        """Answer `city` only once `until` is set (by the test, or by a fake the handler calls)."""
        self._waits_for[city] = until
        return self

    @property
    def gate_opened(self) -> bool:
        """Whether the gated requests were all in flight at once (rather than let through by the time-out)."""
        return self._gate is not None and not self._gate.broken

    def close(self) -> None:
        """Release every held or delayed request, so that none outlives its test."""
        self._closed.set()
        if self._gate is not None:
            self._gate.abort()
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=HOLD_TIMEOUT_SECONDS)

    def __call__(self, request: Request) -> Response:
        with self._idle:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return self._handle(request)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _handle(self, request: Request) -> Response:
        city = request.args.get("city", "")
        with self._lock:
            index = len(self.seen)
            authorized = any(request.headers.get("Authorization") == f"Bearer {key}" for key in self.accepted_keys)
            if self.scripted_for_city.get(city):
                status, headers = self.scripted_for_city[city].popleft()
            elif self.scripted:
                status, headers = self.scripted.popleft()
            else:
                status, headers = (200 if authorized else 401, {})
            self.seen.append(SeenRequest(request.args.get("city"), authorized, status, tuple(request.args)))
            if self.clock is not None:
                self.arrived_at.append(self.clock())
        if self._gate is not None and self._gate_from <= index < self._gate_from + self._gate.parties:
            with contextlib.suppress(threading.BrokenBarrierError):
                self._gate.wait(HOLD_TIMEOUT_SECONDS)
        if city in self._waits_for and not self._waits_for[city].wait(HOLD_TIMEOUT_SECONDS):
            with self._lock:
                self.lapsed_holds.append(city)
        if index < self.delayed_requests:
            self._closed.wait(self.delay_seconds)
        if index < self.unanswered_requests:
            self._closed.wait(HOLD_TIMEOUT_SECONDS)
        if self.before_answer is not None:
            self.before_answer()
        try:
            return self._answer(city, status, headers)
        finally:
            with self._lock:
                self.answered.append(city)
            self._answered[city].set()

    def _answer(self, city: str, status: int, headers: dict[str, str]) -> Response:
        if status != 200:
            error = json.dumps({"message": f"status {status}"})
            return Response(error, status, headers, content_type="application/json")
        body = self.body_override or json.dumps({"city": city, "readings": readings_for(city)}).encode()
        return Response(body, 200, content_type="application/json")

    @property
    def statuses(self) -> list[int]:
        return [request.status for request in self.seen]
