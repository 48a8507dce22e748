"""The third-party weather API, served by pytest-httpserver on 127.0.0.1, checking the bearer key."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field

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


@dataclass
class FakeWeatherApi:
    """`GET /v1/weather?city=<city>`. Answers 401 to any key it does not accept; scripted answers come first."""

    accepted_keys: set[str] = field(repr=False)
    scripted: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    """(status, headers) answered, in order, before the normal behaviour resumes."""
    delay_seconds: float = 0.0
    delayed_requests: int = 0
    """How many of the first requests are delayed by delay_seconds."""
    body_override: bytes | None = None
    seen: list[SeenRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def accept_only(self, key: str) -> None:
        self.accepted_keys = {key}

    def then_answer(self, status: int, headers: dict[str, str] | None = None) -> FakeWeatherApi:
        self.scripted.append((status, headers or {}))
        return self

    def __call__(self, request: Request) -> Response:
        with self._lock:
            index = len(self.seen)
            authorized = any(request.headers.get("Authorization") == f"Bearer {key}" for key in self.accepted_keys)
            status, headers = self.scripted.popleft() if self.scripted else (200 if authorized else 401, {})
            self.seen.append(SeenRequest(request.args.get("city"), authorized, status, tuple(request.args)))
        if index < self.delayed_requests:
            time.sleep(self.delay_seconds)
        if status != 200:
            error = json.dumps({"message": f"status {status}"})
            return Response(error, status, headers, content_type="application/json")
        city = request.args.get("city", "")
        body = self.body_override or json.dumps({"city": city, "readings": readings_for(city)}).encode()
        return Response(body, 200, content_type="application/json")

    @property
    def statuses(self) -> list[int]:
        return [request.status for request in self.seen]
