"""The weather API client against the fake API on 127.0.0.1: header, retries, Retry-After, timeouts, body checks."""

from __future__ import annotations

import socket
from collections.abc import Callable
from decimal import Decimal

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from exceptions import ApiKeyRejectedError, WeatherApiError
from secret_cache import ApiKey
from tests.handler.conftest import StoredSecret
from tests.handler.doubles import FakeClock
from tests.handler.fake_weather_api import FakeWeatherApi, SeenRequest
from time_budget import TimeBudget
from weather_api import (
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    WeatherApi,
    build_session,
    default_retry,
)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def new_api(api_base_url: str, sleeps: list[float]) -> Callable[..., WeatherApi]:
    """A client whose retries record their waits instead of sleeping, so the waits can be asserted exactly."""

    def build(
        base_url: str = api_base_url,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> WeatherApi:
        session = build_session(default_retry(sleep=sleeps.append))
        return WeatherApi(
            base_url, session, connect_timeout=connect_timeout, read_timeout=read_timeout, sleep=sleeps.append
        )

    return build


@pytest.fixture
def key(secret: StoredSecret) -> ApiKey:
    return ApiKey(secret.key)


def budget(seconds: float = 30.0) -> TimeBudget:
    clock = FakeClock()
    return TimeBudget(deadline=clock() + seconds, clock=clock)


def test_a_city_is_fetched_with_the_key_in_the_header_and_numbers_as_decimals(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey
) -> None:
    report = new_api().fetch("Seville", key, budget())

    assert report.city == "Seville"
    assert report.readings == (
        {
            "city": "Seville",
            "observed_at": "2026-11-26T10:00:00+00:00",
            "temperature_c": Decimal("18.5"),
            "humidity_pct": 40,
            "station": {"id": "S1"},
        },
        {
            "city": "Seville",
            "observed_at": "2026-11-26T11:00:00+00:00",
            "temperature_c": Decimal("19.5"),
            "humidity_pct": 41,
            "station": {"id": "S1"},
        },
    )
    # The key travels in the header only: the query holds the city and nothing else.
    assert weather_api.seen == [SeenRequest("Seville", True, 200, ("city",))]


def test_the_city_name_from_the_answer_is_the_partition_key(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey
) -> None:
    weather_api.body_override = (
        b'{"city": "Sevilla", "readings": [{"observed_at": "2026-11-26T10:00:00Z", "temperature_c": 18}]}'
    )

    report = new_api().fetch("seville", key, budget())

    assert report == type(report)(
        "Sevilla", ({"city": "Sevilla", "observed_at": "2026-11-26T10:00:00Z", "temperature_c": 18},)
    )


@pytest.mark.parametrize("status", [401, 403])
def test_a_rejected_key_raises_api_key_rejected_without_retrying(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, status: int
) -> None:
    weather_api.then_answer(status)

    with pytest.raises(ApiKeyRejectedError) as raised:
        new_api().fetch("Seville", ApiKey("k-not-accepted"), budget())

    assert str(raised.value) == f"weather API answered {status} for 'Seville'"
    assert weather_api.statuses == [status]


def test_a_429_is_retried_after_the_retry_after_the_api_asked_for(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey, sleeps: list[float]
) -> None:
    weather_api.then_answer(429, {"Retry-After": "2"})

    report = new_api().fetch("Seville", key, budget())

    assert len(report.readings) == 2
    assert weather_api.statuses == [429, 200]
    assert sleeps == [2.0]


def test_a_retry_after_holds_back_the_next_request_for_any_city(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey, sleeps: list[float]
) -> None:
    """The pause is the API's, not one request's: a worker that did not get the 429 waits it out too."""
    clock = FakeClock()
    api = new_api()
    # GIVEN a 429 asking for 2 s, for a request with too little time left to wait for it
    weather_api.then_answer(429, {"Retry-After": "2"})
    with pytest.raises(WeatherApiError, match=r"^weather API answered 429 \(Retry-After: 2\) for 'Seville'$"):
        api.fetch("Seville", key, TimeBudget(deadline=clock() + 1.0, clock=clock))

    # WHEN another request starts while the pause lasts (the clock has not moved)
    report = api.fetch("Madrid", key, TimeBudget(deadline=clock() + 30.0, clock=clock))

    # THEN it waited out the 2 s before it was sent
    assert report.city == "Madrid"
    assert sleeps == [2.0]
    assert [(request.city, request.status) for request in weather_api.seen] == [("Seville", 429), ("Madrid", 200)]


def test_a_pause_longer_than_the_time_left_is_reported_without_a_request(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey, sleeps: list[float]
) -> None:
    clock = FakeClock()
    api = new_api()
    weather_api.then_answer(429, {"Retry-After": "5"})
    with pytest.raises(WeatherApiError, match=r"answered 429"):
        api.fetch("Seville", key, TimeBudget(deadline=clock() + 1.0, clock=clock))
    clock.advance(1.0)

    with pytest.raises(WeatherApiError) as raised:
        api.fetch("Madrid", key, TimeBudget(deadline=clock() + 2.0, clock=clock))

    assert str(raised.value) == (
        "the weather API asked for a pause of 4.0 s more before asking about 'Madrid'; 2.0 s are left"
    )
    assert [request.city for request in weather_api.seen] == ["Seville"]
    assert sleeps == []


def test_5xx_answers_are_retried_with_backoff_until_one_succeeds(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey, sleeps: list[float]
) -> None:
    weather_api.then_answer(500).then_answer(503).then_answer(502)

    report = new_api().fetch("Seville", key, budget())

    assert len(report.readings) == 2
    assert weather_api.statuses == [500, 503, 502, 200]
    # urllib3 retries the first failure at once, then waits 0.25 * 2**(n-1) s plus up to 0.25 s of jitter.
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 0.75
    assert 1.0 <= sleeps[1] <= 1.25


def test_retries_are_bounded_and_the_error_names_the_last_status(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey
) -> None:
    for _ in range(10):
        weather_api.then_answer(503)

    with pytest.raises(WeatherApiError) as raised:
        new_api().fetch("Seville", key, budget())

    assert str(raised.value) == "weather API answered 503 for 'Seville'"
    assert weather_api.statuses == [503] * 4


def test_a_retry_after_longer_than_the_time_left_is_not_waited_for(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey, sleeps: list[float]
) -> None:
    weather_api.then_answer(429, {"Retry-After": "30"})

    with pytest.raises(WeatherApiError) as raised:
        new_api().fetch("Seville", key, budget(seconds=10.0))

    assert str(raised.value) == "weather API answered 429 (Retry-After: 30) for 'Seville'"
    assert weather_api.statuses == [429]
    assert sleeps == []


def test_a_slow_answer_times_out_and_is_retried(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey
) -> None:
    # GIVEN a first request the API never answers (while the test runs), so its read timeout must fire
    weather_api.unanswered_requests = 1

    report = new_api(read_timeout=0.5).fetch("Seville", key, budget())

    assert len(report.readings) == 2
    assert [request.city for request in weather_api.seen] == ["Seville", "Seville"]


def test_an_api_that_stays_slow_is_a_weather_api_error(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey
) -> None:
    weather_api.unanswered_requests = 10

    with pytest.raises(WeatherApiError, match=r"^weather API request for 'Seville' failed: ReadTimeoutError$"):
        new_api(read_timeout=0.05).fetch("Seville", key, budget())

    # The first attempt and two read retries.
    assert len(weather_api.seen) == 3


def test_a_refused_connection_is_retried_then_reported(
    new_api: Callable[..., WeatherApi], key: ApiKey, sleeps: list[float]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(WeatherApiError, match=r"^weather API request for 'Seville' failed: NewConnectionError$"):
        new_api(f"http://127.0.0.1:{closed_port}").fetch("Seville", key, budget())

    # Three retries: the first at once, then two backoffs.
    assert len(sleeps) == 2


def test_no_request_is_made_when_no_time_is_left(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey
) -> None:
    with pytest.raises(WeatherApiError, match=r"^no time left to ask the weather API about 'Seville'$"):
        new_api().fetch("Seville", key, budget(seconds=0.0))

    assert weather_api.seen == []


def test_a_redirect_is_not_followed_so_the_key_cannot_travel_elsewhere(
    new_api: Callable[..., WeatherApi], weather_server: HTTPServer, key: ApiKey
) -> None:
    weather_server.clear()
    weather_server.expect_request("/v1/weather").respond_with_response(
        Response(status=302, headers={"Location": weather_server.url_for("/elsewhere")})
    )
    weather_server.expect_request("/elsewhere").respond_with_data("should never be asked")

    with pytest.raises(WeatherApiError, match=r"^weather API answered 302 for 'Seville'$"):
        new_api().fetch("Seville", key, budget())

    assert [request.path for request, _ in weather_server.log] == ["/v1/weather"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>busy</html>", "with a body that is not JSON"),
        (
            b'{"city": "Seville", "readings": [{"observed_at": "2026-11-26T10:00:00Z", "temperature_c": NaN}]}',
            "with a body that is not JSON",
        ),
        (b'["Seville"]', "with an unexpected body: not a JSON object"),
        (b'{"readings": []}', "with an unexpected body: city must be a non-empty string"),
        (b'{"city": "Seville", "readings": {}}', "with an unexpected body: readings must be a list"),
        (b'{"city": "Seville", "readings": [42]}', "with an unexpected body: readings[0] must be an object"),
        (
            b'{"city": "Seville", "readings": [{"observed_at": "yesterday", "temperature_c": 1}]}',
            "with an unexpected body: readings[0].observed_at must be an ISO-8601 date and time",
        ),
        (
            b'{"city": "Seville", "readings": [{"observed_at": "2026-11-26T10:00:00Z", "temperature_c": "warm"}]}',
            "with an unexpected body: readings[0].temperature_c must be a number",
        ),
        (
            b'{"city": "Seville", "readings": [{"observed_at": "2026-11-26T10:00:00Z", "temperature_c": true}]}',
            "with an unexpected body: readings[0].temperature_c must be a number",
        ),
    ],
    ids=["html", "nan", "array", "no-city", "readings-object", "reading-number", "bad-time", "text-temp", "bool-temp"],
)
def test_an_unusable_body_is_a_weather_api_error_saying_what_is_wrong(
    new_api: Callable[..., WeatherApi], weather_api: FakeWeatherApi, key: ApiKey, body: bytes, problem: str
) -> None:
    weather_api.body_override = body

    with pytest.raises(WeatherApiError) as raised:
        new_api().fetch("Seville", key, budget())

    assert str(raised.value) == f"weather API answered 200 for 'Seville' {problem}"
