"""Reading one secret at run time: this handler's cache against the seed article's snippet, Powertools
`parameters` and aws-secretsmanager-caching, side by side, against a moto server this script starts.

    venv/bin/python -m benchmarks.secret_cache_bench

Prints a Markdown table: Secrets Manager calls by 8 threads reading for 3.3 TTL windows (TTL 1 s), calls on a
cold start, warm reads per second on 8 threads, the median cost of a warm read, behaviour during a Secrets
Manager outage, and the time from a key rotation to the first successful API call. Calls are counted as HTTP
requests leaving each reader's own client (a botocore before-send hook), retries included.
"""

from __future__ import annotations

import logging
import os
import secrets
import statistics
import threading
import time
import timeit
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from benchmarks import readme_figures, results
from benchmarks.secret_cache_contenders import READERS, HandlerCache, KeyReader, SeedSnippet
from tests.fake_aws import REGION, start_moto_server, take_down, use_fake_aws

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

THREADS = 8
TTL_SECONDS = 1.0
WINDOWS = 3.3
RUNS = 3
CALL_LIMIT = 4
"""For this handler's cache: one cold fetch and three refreshes."""
WARM_SECONDS = 1.0
ROTATION_TTL_SECONDS = 300.0
"""The handler's default TTL: how long a rotated-out key may otherwise stay cached."""
ROTATION_CAP_SECONDS = 5.0
SECRET_ID = "bench/weather-api-key"  # noqa: S105 - the name of a secret, not one
ReaderClass = Callable[["SecretsManagerClient", str, float], KeyReader]


class Bench:
    """The moto server, the secret in it, and clients that count the requests they send."""

    def __init__(self) -> None:
        # Request logs and the handler's stale-key warning would bury the table (and cost time in the loops).
        logging.getLogger().setLevel(logging.ERROR)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # Each client gets the endpoint explicitly: the readers under test are built with their own clients.
        use_fake_aws(os.environ)
        self.server, self.endpoint = start_moto_server()
        self.key = ""
        setup = self.client()[0]
        setup.create_secret(Name=SECRET_ID, SecretString=self._secret_string(self._new_key()))

    def client(self) -> tuple[SecretsManagerClient, Counter[str]]:
        """A client configured as the handler's (standard retries, short timeouts) and its request counter."""
        from app import AWS_CLIENT_CONFIG

        client = boto3.session.Session().client(
            "secretsmanager", endpoint_url=self.endpoint, region_name=REGION, config=AWS_CLIENT_CONFIG
        )
        sent: Counter[str] = Counter()

        def count(event_name: str, **_: Any) -> None:
            sent[event_name.rsplit(".", 1)[-1]] += 1

        client.meta.events.register("before-send.secrets-manager", count)
        return client, sent

    def rotate(self) -> str:
        key = self._new_key()
        self.client()[0].put_secret_value(SecretId=SECRET_ID, SecretString=self._secret_string(key))
        return key

    def take_down(self) -> None:
        """An outage: stop serving and close the socket, so connections are refused."""
        take_down(self.server)

    def _new_key(self) -> str:
        self.key = "k-" + secrets.token_hex(16)
        return self.key

    @staticmethod
    def _secret_string(key: str) -> str:
        return '{"api_key": "' + key + '"}'


def calls_on_cold_start(bench: Bench, reader_class: ReaderClass) -> Counter[str]:
    client, sent = bench.client()
    reader_class(client, SECRET_ID, TTL_SECONDS).read()
    return sent


def run_threads(read: Callable[[], object], seconds: float) -> int:
    """THREADS threads calling `read` in a loop for `seconds`; returns the number of reads."""
    counts = [0] * THREADS
    start = threading.Barrier(THREADS + 1)
    deadline = [0.0]

    def loop(index: int) -> None:
        start.wait()
        reads = 0
        while time.monotonic() < deadline[0]:
            read()
            reads += 1
        counts[index] = reads

    threads = [threading.Thread(target=loop, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    start.wait()
    for thread in threads:
        thread.join()
    return sum(counts)


def calls_over_windows(bench: Bench, reader_class: ReaderClass) -> Counter[str]:
    client, sent = bench.client()
    reader = reader_class(client, SECRET_ID, TTL_SECONDS)
    run_threads(reader.read, WINDOWS * TTL_SECONDS)
    return sent


def warm_reads_per_second(bench: Bench, reader_class: ReaderClass) -> float:
    reader = reader_class(bench.client()[0], SECRET_ID, ROTATION_TTL_SECONDS)
    reader.read()
    return run_threads(reader.read, WARM_SECONDS) / WARM_SECONDS


def median_read_seconds(read: Callable[[], object], repeat: int = 9) -> float:
    """The median over `repeat` timings of a loop of reads long enough to take at least 0.2 s."""
    timer = timeit.Timer(read)
    number, _ = timer.autorange()
    return statistics.median(timer.repeat(number=number, repeat=repeat)) / number


def warm_read_cost(bench: Bench, reader_class: ReaderClass) -> float:
    reader = reader_class(bench.client()[0], SECRET_ID, ROTATION_TTL_SECONDS)
    reader.read()
    return median_read_seconds(reader.read)


def dict_lookup_cost() -> float:
    plain = {"api_key": "k-value"}
    return median_read_seconds(lambda: plain["api_key"])


class RotatingApi:
    """A local API accepting only the current key: GET /v1/weather answers 200 to it and 401 to any other."""

    def __init__(self) -> None:
        self.accepted = ""
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.server.expect_request("/v1/weather").respond_with_handler(self._answer)
        self.server.start()
        self.url = self.server.url_for("/v1/weather")
        self.session = requests.Session()

    def _answer(self, request: Request) -> Response:
        accepted = request.headers.get("Authorization") == f"Bearer {self.accepted}"
        return Response(status=200 if accepted else 401)

    def status_for(self, key: str) -> int:
        return self.session.get(self.url, headers={"Authorization": f"Bearer {key}"}, timeout=(1, 2)).status_code


def rotation_to_success(bench: Bench, api: RotatingApi, reader_class: ReaderClass) -> float | None:
    """Seconds from a rotation to the first 200, the reader used as its users do on a 401; None past the cap."""
    reader = reader_class(bench.client()[0], SECRET_ID, ROTATION_TTL_SECONDS)
    api.accepted = bench.key
    assert api.status_for(reader.read()) == 200
    # Steady state: the cached key was fetched a while ago (past the handler's one-second refresh limit).
    time.sleep(1.1)
    api.accepted = bench.rotate()
    rotated_at = time.monotonic()
    while time.monotonic() - rotated_at < ROTATION_CAP_SECONDS:
        # As the handler does: on a 401, whatever the reader offers, then one immediate retry.
        if api.status_for(reader.read()) == 200:
            return time.monotonic() - rotated_at
        reader.after_rejection()
        if api.status_for(reader.read()) == 200:
            return time.monotonic() - rotated_at
        time.sleep(0.05)
    return None


def outage_behaviour(bench: Bench) -> dict[str, str]:
    """Warm every reader, let the TTL pass, take Secrets Manager down, read once more."""
    readers = []
    for reader_class in READERS:
        client, sent = bench.client()
        readers.append((reader_class(client, SECRET_ID, TTL_SECONDS), sent))
    for reader, _ in readers:
        reader.read()
    time.sleep(TTL_SECONDS * 1.2)
    bench.take_down()
    behaviour = {}
    for reader, sent in readers:
        sent_before, started = sum(sent.values()), time.monotonic()
        try:
            served = reader.read() == bench.key
            outcome = "serves the cached key" if served else "serves a wrong value"
        except Exception as exc:  # noqa: BLE001 - any failure is the answer being measured
            outcome = f"fails: {type(exc).__name__}"
        attempts = sum(sent.values()) - sent_before
        behaviour[reader.name] = f"{outcome} ({attempts} attempts, {time.monotonic() - started:.1f} s)"
    return behaviour


def main() -> None:
    bench = Bench()
    cold = [calls_on_cold_start(bench, reader_class) for reader_class in READERS]
    runs = [[calls_over_windows(bench, reader_class) for _ in range(RUNS)] for reader_class in READERS]
    warm = [warm_reads_per_second(bench, reader_class) for reader_class in READERS]
    dict_cost = dict_lookup_cost()
    costs = [warm_read_cost(bench, reader_class) for reader_class in READERS]
    api = RotatingApi()
    rotations = [rotation_to_success(bench, api, reader_class) for reader_class in READERS]
    outage = outage_behaviour(bench)
    api.server.stop()

    figures = {
        "threads": THREADS,
        "ttl_seconds": TTL_SECONDS,
        "windows": WINDOWS,
        "runs": RUNS,
        "call_limit": CALL_LIMIT,
        "rotation_ttl_seconds": ROTATION_TTL_SECONDS,
        "rotation_cap_seconds": ROTATION_CAP_SECONDS,
        "dict_lookup_ns": round(dict_cost * 1e9, 1),
        "readers": [
            {
                "name": reader_class.name,
                "handler": reader_class is HandlerCache,
                "seed": reader_class is SeedSnippet,
                "cold_start_calls": dict(cold[index]),
                "calls_per_run": [dict(sent) for sent in runs[index]],
                "warm_reads_per_second": round(warm[index]),
                "warm_read_ns": round(costs[index] * 1e9, 1),
                "outage": outage[reader_class.name],
                "rotation_ms": None if (seconds := rotations[index]) is None else round(seconds * 1000, 1),
            }
            for index, reader_class in enumerate(READERS)
        ],
    }
    results.record("secret_cache_bench", figures)
    print(readme_figures.render("secret-cache"))


if __name__ == "__main__":
    main()
