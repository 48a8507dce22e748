"""The handler's fan-out: one event with 25 cities against an API that answers in 100 ms, fetched one city after
another (API_CONCURRENCY=1, the sequential baseline) and with the default concurrency, side by side in one run.

    venv/bin/python -m benchmarks.handler_fanout_bench

Secrets Manager and DynamoDB are moto in server mode, the weather API the tests' fake on 127.0.0.1, delaying every
answer by 100 ms. Each container is warmed with one invocation first (clients built, secret cached, connections
open), as a warm Lambda container would be; each figure is the median of several invocations of the whole handler.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import boto3
from moto.server import ThreadedMotoServer
from pytest_httpserver import HTTPServer

from benchmarks import readme_figures, results
from tests.fake_aws import start_moto_server, take_down, use_fake_aws
from tests.handler.fake_weather_api import FakeWeatherApi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "handler"))
import app
from handler_settings import DEFAULT_API_CONCURRENCY, Settings
from results_store import ResultsStore
from time_budget import TimeBudget
from weather_api import Reading

CITIES = [f"City {index:02d}" for index in range(25)]
LATENCY_SECONDS = 0.1
RUNS = 5
TARGET_SECONDS = 0.5
SECRET_ID = "bench/fanout-api-key"  # noqa: S105 - the name of a secret, not one
TABLE_NAME = "bench-fanout-readings"


@dataclasses.dataclass
class Context:
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def set_up() -> tuple[Settings, HTTPServer, ThreadedMotoServer]:
    """moto with the secret and the table, and the fake API answering every request after LATENCY_SECONDS."""
    server, endpoint = start_moto_server()
    use_fake_aws(os.environ, endpoint)
    key = "k-bench-" + os.urandom(8).hex()
    session = boto3.session.Session()
    session.client("secretsmanager").create_secret(Name=SECRET_ID, SecretString=json.dumps({"api_key": key}))
    session.client("dynamodb").create_table(
        TableName=TABLE_NAME,
        KeySchema=[{"AttributeName": "city", "KeyType": "HASH"}, {"AttributeName": "observed_at", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "city", "AttributeType": "S"},
            {"AttributeName": "observed_at", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    api = FakeWeatherApi(accepted_keys={key}, delay_seconds=LATENCY_SECONDS, delayed_requests=sys.maxsize)
    http = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    http.expect_request("/v1/weather", method="GET").respond_with_handler(api)
    http.start()
    settings = Settings.from_environ(
        {"SECRET_ID": SECRET_ID, "TABLE_NAME": TABLE_NAME, "API_BASE_URL": http.url_for("/").rstrip("/")}
    )
    return settings, http, server


class TimedResultsStore(ResultsStore):
    """The handler's store, timing its writes: the event's time less the write is the fetch phase."""

    writes: ClassVar[list[float]] = []

    def write(self, readings: Iterable[Reading], budget: TimeBudget) -> int:
        started = time.perf_counter()
        try:
            return super().write(readings, budget)
        finally:
            TimedResultsStore.writes.append(time.perf_counter() - started)


def seconds_per_event(function: app.IngestFunction) -> tuple[list[float], list[float]]:
    """Whole invocations and their fetch phases (the invocation less its DynamoDB write), in seconds."""
    function.handle({"cities": CITIES}, Context())  # warm: clients, cached secret, open connections
    events, fetches = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = function.handle({"cities": CITIES}, Context())
        events.append(time.perf_counter() - started)
        fetches.append(events[-1] - TimedResultsStore.writes[-1])
        assert response == {"status": "ok", "items": 2 * len(CITIES)}, response
    return events, fetches


def main() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    settings, http, moto = set_up()
    # The store from_settings builds: the handler's own, timing its writes.
    app.ResultsStore = TimedResultsStore  # type: ignore[attr-defined]
    try:
        # Interleaved, so that a slow moment of the machine falls on both alike.
        runs: dict[int, tuple[list[float], list[float]]] = {1: ([], []), DEFAULT_API_CONCURRENCY: ([], [])}
        for _ in range(2):
            for concurrency, (events, fetches) in runs.items():
                function = app.IngestFunction.from_settings(dataclasses.replace(settings, api_concurrency=concurrency))
                more_events, more_fetches = seconds_per_event(function)
                events += more_events
                fetches += more_fetches
    finally:
        http.stop()
        take_down(moto)
    figures = {
        "cities": len(CITIES),
        "latency_ms": LATENCY_SECONDS * 1000,
        "invocations": RUNS * 2,
        "target_seconds": TARGET_SECONDS,
        "concurrency": [
            {
                "api_concurrency": concurrency,
                "event_seconds": round(statistics.median(events), 3),
                "fetch_seconds": round(statistics.median(fetches), 3),
            }
            for concurrency, (events, fetches) in runs.items()
        ],
    }
    results.record("handler_fanout_bench", figures)
    print(readme_figures.render("fanout"))


if __name__ == "__main__":
    main()
