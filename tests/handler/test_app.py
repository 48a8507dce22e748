"""End to end: the Lambda handler with its secret in moto, its items in moto's table and the fake API on 127.0.0.1.

Every test runs twice: at LOG_LEVEL=INFO, and at LOG_LEVEL=DEBUG with the root logger at DEBUG (where botocore
would log response bodies, SecretString included). The package's leak guard then checks that no key reached
stdout, stderr or a log record; a failing guard fails the test.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest

import app
import json_logging
import results_store
import secret_cache
from exceptions import (
    ApiKeyRejectedError,
    ConfigurationError,
    ResultsNotWrittenError,
    SecretFormatError,
    SecretUnavailableError,
    WeatherApiError,
)
from handler_settings import Settings
from tests.handler.conftest import StoredSecret, StoredTable
from tests.handler.doubles import FakeClock, FakeContext, OperationRecorder, UnprocessedItemsInjector
from tests.handler.fake_weather_api import FakeWeatherApi, SeenRequest, readings_for

GET_SECRET = ("secretsmanager", "GetSecretValue")
BATCH_WRITE = ("dynamodb", "BatchWriteItem")


@pytest.fixture(autouse=True, params=["INFO", "DEBUG"])
def log_level(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, handler_env: dict[str, str]) -> str:
    """After the tests' own fixtures: their set-up calls (create_secret) are not the handler's to keep quiet."""
    level: str = request.param
    monkeypatch.setenv("LOG_LEVEL", level)
    logging.getLogger().setLevel(level)
    return level


@pytest.fixture(autouse=True)
def only_granted_operations(handler_operations: OperationRecorder) -> Iterator[None]:
    """Whatever a test does, the handler calls nothing but the two operations its role is granted."""
    yield
    assert handler_operations.operations <= {GET_SECRET, BATCH_WRITE}


def invoke(event: object, context: FakeContext | None = None) -> dict[str, object]:
    return app.lambda_handler(event, context or FakeContext())


def handler_with_clock(
    clock: FakeClock, *, sleep: Callable[[float], None] | None = None
) -> Callable[..., dict[str, object]]:
    """The handler as lambda_handler builds it, but on a fake clock, for tests about time (TTL, rate limits,
    retries): every wait goes to `sleep`, by default the clock's own, which moves the clock instead of waiting."""
    settings = Settings.from_environ(os.environ)
    json_logging.configure(settings.log_level)
    function = app.IngestFunction.from_settings(settings, clock=clock, sleep=sleep or clock.sleep)

    def handle(event: object, *, request_id: str = "req-1", remaining_millis: int = 30_000) -> dict[str, object]:
        return function.handle(event, FakeContext(request_id, remaining_millis, clock=clock))

    return handle


def stored(city: str) -> list[dict[str, Any]]:
    """The items the fake API's readings for a city become."""
    return [
        {key: Decimal(str(value)) if isinstance(value, float | int) else value for key, value in reading.items()}
        | {"city": city}
        for reading in readings_for(city)
    ]


def log_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The JSON lines the handler's formatter wrote for its own loggers (caplog's handler is a root handler)."""
    own = {"app", "secret_cache", "weather_api", "results_store"}
    lines = [json.loads(line) for line in caplog.text.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] in own]


def test_the_default_city_is_fetched_and_stored(
    table: StoredTable, weather_api: FakeWeatherApi, handler_operations: OperationRecorder
) -> None:
    assert invoke({}) == {"status": "ok", "items": 2}

    assert table.items() == stored("Seville")
    assert weather_api.seen == [SeenRequest("Seville", True, 200, ("city",))]
    assert handler_operations.calls == [GET_SECRET, BATCH_WRITE]


def test_several_cities_are_fetched_and_written_together(
    table: StoredTable, handler_operations: OperationRecorder
) -> None:
    assert invoke({"cities": ["Madrid", "Seville", "Bilbao"]}) == {"status": "ok", "items": 6}

    assert table.items() == stored("Bilbao") + stored("Madrid") + stored("Seville")
    assert handler_operations.calls == [GET_SECRET, BATCH_WRITE]


def test_25_cities_make_50_items_in_two_batches(table: StoredTable, handler_operations: OperationRecorder) -> None:
    cities = [f"City {index:02d}" for index in range(25)]

    assert invoke({"cities": cities}) == {"status": "ok", "items": 50}

    assert len(table.items()) == 50
    assert handler_operations.calls == [GET_SECRET, BATCH_WRITE, BATCH_WRITE]


def test_a_warm_container_reads_the_secret_from_its_cache(
    handler_operations: OperationRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    for request_id in ("req-1", "req-2", "req-3"):
        assert invoke({"city": "Madrid"}, FakeContext(aws_request_id=request_id)) == {"status": "ok", "items": 2}

    assert handler_operations.count("GetSecretValue") == 1
    summaries = [line for line in log_lines(caplog) if line["message"] == "stored the readings"]
    assert [(line["request_id"], line["secret_cache"], line["items"]) for line in summaries] == [
        ("req-1", ["miss"], 2),
        ("req-2", ["hit"], 2),
        ("req-3", ["hit"], 2),
    ]


def test_log_lines_are_json_with_request_id_city_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    invoke({"cities": ["Madrid", "Seville"]}, FakeContext(aws_request_id="req-7"))

    info = [line for line in log_lines(caplog) if line["level"] == "INFO"]
    assert [
        (line["message"], line["request_id"], line.get("city"), line.get("readings"), line.get("items"))
        for line in info
    ] == [
        ("fetched the weather", "req-7", "Madrid", 2, None),
        ("fetched the weather", "req-7", "Seville", 2, None),
        ("stored the readings", "req-7", None, None, 4),
    ]


def test_running_the_same_event_again_leaves_one_item_per_reading(table: StoredTable) -> None:
    first = invoke({"city": "Seville"})
    second = invoke({"city": "Seville"})

    assert first == second == {"status": "ok", "items": 2}
    assert table.items() == stored("Seville")


def test_after_a_rotation_one_refresh_and_one_retry_succeed(
    secret: StoredSecret,
    weather_api: FakeWeatherApi,
    table: StoredTable,
    handler_operations: OperationRecorder,
    make_key: Callable[[], str],
) -> None:
    clock = FakeClock()
    handle = handler_with_clock(clock)
    assert handle({"city": "Madrid"}) == {"status": "ok", "items": 2}

    # GIVEN the key is rotated and the API accepts only the new one, while the old one is still cached
    secret.rotate(make_key())
    weather_api.accept_only(secret.key)
    clock.advance(5.0)

    # WHEN the function runs again
    response = handle({"city": "Seville"})

    # THEN the rejected request forced one refresh and one retry with the new key
    assert response == {"status": "ok", "items": 2}
    assert [(request.city, request.status) for request in weather_api.seen] == [
        ("Madrid", 200),
        ("Seville", 401),
        ("Seville", 200),
    ]
    assert handler_operations.calls == [GET_SECRET, BATCH_WRITE, GET_SECRET, BATCH_WRITE]
    assert table.items() == stored("Madrid") + stored("Seville")


def test_a_key_rejected_twice_is_an_error_not_a_loop(
    weather_api: FakeWeatherApi, handler_operations: OperationRecorder
) -> None:
    clock = FakeClock()
    handle = handler_with_clock(clock)
    handle({"city": "Madrid"})
    weather_api.accept_only("k-a-key-nobody-has")
    clock.advance(5.0)

    with pytest.raises(ApiKeyRejectedError, match=r"^api key rejected$"):
        handle({"city": "Seville"})

    assert weather_api.statuses == [200, 401, 401]
    assert handler_operations.calls == [GET_SECRET, BATCH_WRITE, GET_SECRET]


def test_a_forced_refresh_within_a_second_of_the_last_fetch_makes_no_call(
    weather_api: FakeWeatherApi, handler_operations: OperationRecorder
) -> None:
    weather_api.accept_only("k-a-key-nobody-has")

    with pytest.raises(ApiKeyRejectedError, match=r"^api key rejected$"):
        handler_with_clock(FakeClock())({"city": "Seville"})

    assert weather_api.statuses == [401, 401]
    assert handler_operations.calls == [GET_SECRET]


def test_429_and_500_are_retried_until_the_api_answers(weather_api: FakeWeatherApi, table: StoredTable) -> None:
    weather_api.then_answer(429, {"Retry-After": "1"}).then_answer(500)
    clock = FakeClock()

    assert handler_with_clock(clock)({"city": "Seville"}) == {"status": "ok", "items": 2}

    assert weather_api.statuses == [429, 500, 200]
    assert table.items() == stored("Seville")
    # The Retry-After, then the second retry's backoff (0.5 s plus up to 0.25 s of jitter): waited on the fake clock.
    assert len(clock.sleeps) == 2
    assert clock.sleeps[0] == 1.0
    assert 0.5 <= clock.sleeps[1] <= 0.75


def test_an_api_that_keeps_failing_raises_and_writes_nothing(
    weather_api: FakeWeatherApi, handler_operations: OperationRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(4):
        weather_api.then_answer(503, {"Retry-After": "0"})
    clock = FakeClock()

    with pytest.raises(WeatherApiError, match=r"^weather API answered 503 \(Retry-After: 0\) for 'Seville'$"):
        handler_with_clock(clock)({"city": "Seville"}, request_id="req-9")

    assert handler_operations.calls == [GET_SECRET]
    errors = [line for line in log_lines(caplog) if line["level"] == "ERROR"]
    assert [(line["message"], line["request_id"], line["error_type"]) for line in errors] == [
        ("ingest failed", "req-9", "WeatherApiError")
    ]


def test_unprocessed_items_are_retried_until_written(table: StoredTable, handler_operations: OperationRecorder) -> None:
    assert boto3.DEFAULT_SESSION is not None
    injector = UnprocessedItemsInjector(table.name, withhold=lambda call, size: 5 if call == 0 else 0)
    injector.install(boto3.DEFAULT_SESSION.events)

    clock = FakeClock()

    response = handler_with_clock(clock)({"cities": [f"City {index:02d}" for index in range(25)]})

    assert response == {"status": "ok", "items": 50}
    assert len(table.items()) == 50
    assert injector.batch_sizes == [25, 25, 5]
    assert injector.withheld == [5, 0, 0]
    assert len(clock.sleeps) == 1


def test_items_still_unprocessed_when_time_runs_out_are_reported(table: StoredTable) -> None:
    assert boto3.DEFAULT_SESSION is not None
    UnprocessedItemsInjector(table.name, withhold=lambda call, size: size).install(boto3.DEFAULT_SESSION.events)

    clock = FakeClock()

    with pytest.raises(ResultsNotWrittenError) as raised:
        handler_with_clock(clock)({"city": "Seville"}, remaining_millis=2_000)

    assert str(raised.value) == (
        f"2 of 2 items were not written to DynamoDB table {table.name}: "
        "the time ran out while DynamoDB left items unprocessed"
    )
    assert table.items() == []


def test_during_a_secrets_manager_outage_the_cached_key_is_served_past_its_ttl(
    secrets_manager_outage: Callable[[], None],
    table: StoredTable,
    handler_operations: OperationRecorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    handle = handler_with_clock(clock)
    handle({"city": "Madrid"})

    secrets_manager_outage()
    clock.advance(301.0)
    response = handle({"city": "Seville"})

    assert response == {"status": "ok", "items": 2}
    assert table.items() == stored("Madrid") + stored("Seville")
    assert handler_operations.calls == [GET_SECRET, BATCH_WRITE, GET_SECRET, BATCH_WRITE]
    stale = [line for line in log_lines(caplog) if line.get("secret_cache") == "stale"]
    assert [(line["level"], line["error"]) for line in stale] == [("WARNING", "EndpointConnectionError")]


def test_with_secrets_manager_unreachable_on_a_cold_start_the_invocation_fails_clearly(
    secrets_manager_outage: Callable[[], None], secret: StoredSecret, weather_api: FakeWeatherApi
) -> None:
    secrets_manager_outage()

    with pytest.raises(SecretUnavailableError) as raised:
        invoke({})

    assert str(raised.value) == (
        f"could not read secret {secret.name} from Secrets Manager (EndpointConnectionError) "
        "and no cached value may be served"
    )
    assert weather_api.seen == []


def test_a_malformed_secret_fails_the_invocation_without_calling_the_api(
    secret: StoredSecret, weather_api: FakeWeatherApi
) -> None:
    secret.put_raw(json.dumps({"apikey": secret.key}))

    with pytest.raises(SecretFormatError, match=f"^secret {secret.name} must hold the JSON"):
        invoke({})

    assert weather_api.seen == []


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ("Seville", "event must be a JSON object"),
        ({"city": ""}, "city must not be empty"),
        ({"city": 7}, "city must be a string"),
        ({"cities": []}, "cities must not be empty"),
        ({"cities": ["City"] * 26}, "cities holds 26 names; at most 25 are allowed"),
        ({"town": "Seville"}, "unexpected field(s) town: expected city or cities"),
    ],
)
def test_an_invalid_event_is_rejected_before_any_call(
    event: object, error: str, weather_api: FakeWeatherApi, handler_operations: OperationRecorder
) -> None:
    assert invoke(event) == {"status": "error", "error": error}

    assert handler_operations.calls == []
    assert weather_api.seen == []


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("SECRET_ID", None, "SECRET_ID is not set"),
        ("TABLE_NAME", "x", "TABLE_NAME must be a DynamoDB table name or ARN"),
        ("API_BASE_URL", "http://api.weather.example", "API_BASE_URL must be an https URL"),
        ("SECRET_CACHE_TTL_SECONDS", "0", "SECRET_CACHE_TTL_SECONDS must be a whole number"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
    ],
)
def test_an_invalid_setting_fails_the_invocation_before_any_call(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str | None,
    error: str,
    weather_api: FakeWeatherApi,
    handler_operations: OperationRecorder,
) -> None:
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError, match=f"^{error}"):
        invoke({})

    assert handler_operations.calls == []
    assert weather_api.seen == []


def test_the_handler_uses_exactly_the_actions_its_role_is_granted(
    secret: StoredSecret,
    weather_api: FakeWeatherApi,
    table: StoredTable,
    handler_operations: OperationRecorder,
    make_key: Callable[[], str],
) -> None:
    """Cold start, warm reads, a rotation with its forced refresh, retried API errors and unprocessed items."""
    assert boto3.DEFAULT_SESSION is not None
    UnprocessedItemsInjector(table.name, withhold=lambda call, size: 1 if call == 0 else 0).install(
        boto3.DEFAULT_SESSION.events
    )
    clock = FakeClock()
    handle = handler_with_clock(clock)
    handle({"cities": ["Madrid", "Seville"]})
    weather_api.then_answer(500)
    handle({"city": "Bilbao"})
    secret.rotate(make_key())
    weather_api.accept_only(secret.key)
    clock.advance(5.0)
    handle({"city": "Bilbao"})

    granted = set(secret_cache.IAM_ACTIONS + results_store.IAM_ACTIONS)
    assert handler_operations.operations == {GET_SECRET, BATCH_WRITE}
    assert {f"{service}:{operation}" for service, operation in handler_operations.operations} == granted
    assert handler_operations.count("GetSecretValue") == 2


# Fan-out: several cities in flight at once. The fake API holds requests (until n are in flight together, or until
# another city was answered) so that each test reaches the concurrent situation it is about, whatever the timing.
CITIES = [f"City {index:02d}" for index in range(8)]


@pytest.fixture
def four_workers(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("API_CONCURRENCY", "4")
    return 4


def batch_write_order() -> list[str]:
    """The cities of every item the handler sends to BatchWriteItem, in the order it sends them."""
    assert boto3.DEFAULT_SESSION is not None
    cities: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        for requests in params["RequestItems"].values():
            cities.extend(request["PutRequest"]["Item"]["city"]["S"] for request in requests)

    boto3.DEFAULT_SESSION.events.register("before-parameter-build.dynamodb.BatchWriteItem", record)
    return cities


def test_requests_go_out_up_to_the_setting_at_once(
    four_workers: int, weather_api: FakeWeatherApi, table: StoredTable
) -> None:
    weather_api.gate(four_workers)

    assert invoke({"cities": CITIES}) == {"status": "ok", "items": 16}

    assert weather_api.gate_opened
    assert weather_api.max_in_flight == four_workers
    assert len(table.items()) == 16


def test_the_default_is_eight_requests_at_once(weather_api: FakeWeatherApi) -> None:
    weather_api.gate(8)

    assert invoke({"cities": [f"City {index:02d}" for index in range(25)]}) == {"status": "ok", "items": 50}

    assert weather_api.gate_opened
    assert weather_api.max_in_flight == 8


def test_the_connection_pool_holds_a_connection_per_worker(
    monkeypatch: pytest.MonkeyPatch, weather_api: FakeWeatherApi, caplog: pytest.LogCaptureFixture
) -> None:
    """urllib3 warns "Connection pool is full, discarding connection" when more requests were in flight than its
    pool keeps (requests' default is 10): with 25 workers, a pool of the default size would throw 15 away."""
    monkeypatch.setenv("API_CONCURRENCY", "25")
    weather_api.gate(25)

    assert invoke({"cities": [f"City {index:02d}" for index in range(25)]}) == {"status": "ok", "items": 50}

    assert weather_api.gate_opened
    discarded = [record for record in caplog.records if "pool is full" in record.getMessage()]
    assert discarded == []


def test_a_concurrency_of_one_fetches_one_city_after_another(
    monkeypatch: pytest.MonkeyPatch, weather_api: FakeWeatherApi
) -> None:
    monkeypatch.setenv("API_CONCURRENCY", "1")

    assert invoke({"cities": CITIES}) == {"status": "ok", "items": 16}

    assert weather_api.max_in_flight == 1
    assert [request.city for request in weather_api.seen] == CITIES


def test_results_and_log_lines_keep_city_order_when_answers_do_not(
    four_workers: int, weather_api: FakeWeatherApi, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN answers that come back in reverse order, and one city retried after a 500
    cities = CITIES[:4]
    for city, later in itertools.pairwise(cities):
        weather_api.answer_after(city, later)
    weather_api.then_answer(500, city="City 02")
    sent = batch_write_order()

    # WHEN the four are fetched at once
    assert handler_with_clock(FakeClock())({"cities": cities}, request_id="req-7") == {"status": "ok", "items": 8}

    # THEN the readings are written, and every line (the worker's retry included) is logged, in city order
    assert sent == [city for city in cities for _ in range(2)]
    info = [line for line in log_lines(caplog) if line["level"] != "DEBUG"]
    assert [(line["message"], line.get("city"), line["request_id"]) for line in info] == [
        ("fetched the weather", "City 00", "req-7"),
        ("fetched the weather", "City 01", "req-7"),
        ("retrying the weather API", None, "req-7"),
        ("fetched the weather", "City 02", "req-7"),
        ("fetched the weather", "City 03", "req-7"),
        ("stored the readings", None, "req-7"),
    ]
    assert weather_api.answered[0] == "City 03"
    assert weather_api.answered.index("City 01") < weather_api.answered.index("City 00")


def test_the_error_is_that_of_the_first_failing_city_in_city_order(
    four_workers: int, weather_api: FakeWeatherApi, handler_operations: OperationRecorder
) -> None:
    # GIVEN two cities the API has nothing for, the later one answered first
    weather_api.then_answer(404, city="City 02").then_answer(404, city="City 05")
    weather_api.answer_after("City 02", "City 05")

    with pytest.raises(WeatherApiError, match=r"^weather API answered 404 for 'City 02'$"):
        invoke({"cities": CITIES})

    assert ("City 05", 404) in [(request.city, request.status) for request in weather_api.seen]
    assert handler_operations.calls == [GET_SECRET]


def test_workers_rejected_together_force_one_refresh(
    four_workers: int,
    secret: StoredSecret,
    weather_api: FakeWeatherApi,
    handler_operations: OperationRecorder,
    monkeypatch: pytest.MonkeyPatch,
    make_key: Callable[[], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    forced: list[str] = []
    force_refresh = secret_cache.SecretCache.force_refresh

    def counted(cache: secret_cache.SecretCache) -> secret_cache.SecretRead:
        forced.append("forced")
        return force_refresh(cache)

    monkeypatch.setattr(secret_cache.SecretCache, "force_refresh", counted)
    clock = FakeClock()
    handle = handler_with_clock(clock)
    handle({"city": "Madrid"})
    # GIVEN a rotation while the old key is cached, and four requests in flight with it at once
    secret.rotate(make_key())
    weather_api.accept_only(secret.key)
    clock.advance(5.0)
    weather_api.gate(four_workers)

    assert handle({"cities": CITIES}) == {"status": "ok", "items": 16}

    # THEN four 401s, one forced refresh for all of them, and every city answered with the new key
    assert weather_api.gate_opened
    assert sorted(weather_api.statuses[1:]) == [200] * len(CITIES) + [401] * four_workers
    assert forced == ["forced"]
    assert handler_operations.count("GetSecretValue") == 2
    summary = [line for line in log_lines(caplog) if line["message"] == "stored the readings"][-1]
    assert summary["secret_cache"] == ["hit", "miss"]


def test_a_retry_after_pauses_every_worker(four_workers: int, weather_api: FakeWeatherApi) -> None:
    """The clock stands still, so every request sent after the 429 meets the whole pause and waits for it."""
    clock = FakeClock()
    slept: list[float] = []
    paused = threading.Event()

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        paused.set()

    # GIVEN a 429 with Retry-After: 1 for the first city, and the other first answers held until a worker waits
    weather_api.then_answer(429, {"Retry-After": "1"}, city="City 00")
    for city in CITIES[1:4]:
        weather_api.hold(city, until=paused)

    assert handler_with_clock(clock, sleep=sleep)({"cities": CITIES}) == {"status": "ok", "items": 16}

    # THEN the retry of the first city and the first request of each of the four later cities waited 1 s (a retry
    # of a dropped keep-alive connection during the pause waits for it too, so there may be more such waits; without
    # a shared pause there would be one: the 429's own)
    assert len(slept) >= 5
    assert set(slept) == {1.0}
    assert weather_api.statuses.count(429) == 1


def test_the_workers_share_one_time_budget(
    four_workers: int, weather_api: FakeWeatherApi, handler_operations: OperationRecorder
) -> None:
    # GIVEN 2 s to spend (3 s left, 1 s kept in reserve) and four requests in flight that take 1 s each
    clock = FakeClock()
    weather_api.gate(four_workers)
    weather_api.before_answer = lambda: clock.advance(1.0)

    # THEN once they are answered no time is left, and no worker sends another request
    with pytest.raises(WeatherApiError, match=r"^no time left to ask the weather API about 'City 04'$"):
        handler_with_clock(clock)({"cities": CITIES}, remaining_millis=3_000)

    assert weather_api.gate_opened
    assert sorted(request.city or "" for request in weather_api.seen) == CITIES[:4]
    assert handler_operations.calls == [GET_SECRET]
