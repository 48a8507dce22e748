"""The results store against DynamoDB in moto: chunks of 25, unprocessed items retried, idempotent puts."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config

from exceptions import ResultsNotWrittenError, UnstorableReadingError
from results_store import BATCH_SIZE, IAM_ACTIONS, ResultsStore
from tests.handler.conftest import StoredTable
from tests.handler.doubles import FakeClock, OperationRecorder, UnprocessedItemsInjector
from time_budget import TimeBudget
from weather_api import Reading

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture
def client(test_session: boto3.session.Session) -> DynamoDBClient:
    return test_session.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def calls(client: DynamoDBClient) -> OperationRecorder:
    return OperationRecorder().install(client.meta.events)


@pytest.fixture
def store(client: DynamoDBClient, table: StoredTable, clock: FakeClock) -> ResultsStore:
    # The largest jitter draw every time, so each backoff is its upper bound: 0.1, 0.2, 0.4, ... s.
    return ResultsStore(client, table.name, sleep=clock.sleep, jitter_source=lambda: 1.0)


def budget(clock: FakeClock, seconds: float = 30.0) -> TimeBudget:
    return TimeBudget(deadline=clock() + seconds, clock=clock)


def readings(count: int, city: str = "Seville") -> list[Reading]:
    return [
        {"city": city, "observed_at": f"2026-11-26T{index // 60:02d}:{index % 60:02d}:00Z", "temperature_c": index}
        for index in range(count)
    ]


def test_iam_actions_are_batch_write_item_only() -> None:
    assert IAM_ACTIONS == ("dynamodb:BatchWriteItem",)


def test_items_are_written_in_chunks_of_25_with_batch_write_item_only(
    store: ResultsStore, client: DynamoDBClient, table: StoredTable, clock: FakeClock, calls: OperationRecorder
) -> None:
    injector = UnprocessedItemsInjector(table.name, withhold=lambda call, size: 0).install(client.meta.events)

    written = store.write(readings(60), budget(clock))

    assert written == 60
    assert injector.batch_sizes == [BATCH_SIZE, BATCH_SIZE, 10]
    assert calls.operations == {("dynamodb", "BatchWriteItem")}
    assert [item["observed_at"] for item in table.items()] == [reading["observed_at"] for reading in readings(60)]


def test_a_reading_becomes_one_item_with_numbers_as_decimal_and_extra_fields_kept(
    store: ResultsStore, table: StoredTable, clock: FakeClock
) -> None:
    reading: Reading = {
        "city": "Seville",
        "observed_at": "2026-11-26T10:00:00Z",
        "temperature_c": Decimal("18.5"),
        "humidity_pct": 40,
        "station": {"id": "S1", "tags": ["roof"]},
        "note": None,
    }

    store.write([reading], budget(clock))

    assert table.items() == [
        {
            "city": "Seville",
            "observed_at": "2026-11-26T10:00:00Z",
            "temperature_c": Decimal("18.5"),
            "humidity_pct": Decimal(40),
            "station": {"id": "S1", "tags": ["roof"]},
            "note": None,
        }
    ]


def test_unprocessed_items_are_retried_with_backoff_until_all_are_written(
    store: ResultsStore, client: DynamoDBClient, table: StoredTable, clock: FakeClock
) -> None:
    # DynamoDB leaves 7 items of each of the first two calls unprocessed, then catches up.
    injector = UnprocessedItemsInjector(table.name, withhold=lambda call, size: 7 if call < 2 else 0)
    injector.install(client.meta.events)

    written = store.write(readings(30), budget(clock))

    assert written == 30
    assert len(table.items()) == 30
    # 25 sent (7 left), then the 7 put back at the front plus the 5 not yet sent (7 left again), then those 7.
    assert injector.batch_sizes == [25, 12, 7]
    assert injector.withheld == [7, 7, 0]
    assert clock.sleeps == [0.1, 0.2]


def test_when_the_time_runs_out_the_error_says_how_many_items_were_not_written(
    store: ResultsStore, client: DynamoDBClient, table: StoredTable, clock: FakeClock
) -> None:
    injector = UnprocessedItemsInjector(table.name, withhold=lambda call, size: size).install(client.meta.events)

    with pytest.raises(ResultsNotWrittenError) as raised:
        store.write(readings(30), budget(clock, seconds=3.0))

    assert str(raised.value) == (
        f"30 of 30 items were not written to DynamoDB table {table.name}: "
        "the time ran out while DynamoDB left items unprocessed"
    )
    # Backoffs of 0.1 + 0.2 + 0.4 + 0.8 s fit in 3 s; the next, 1.6 s, would not.
    assert clock.sleeps == [0.1, 0.2, 0.4, 0.8]
    assert len(injector.batch_sizes) == 5
    assert table.items() == []


def test_backoff_is_capped(client: DynamoDBClient, table: StoredTable, clock: FakeClock) -> None:
    store = ResultsStore(client, table.name, sleep=clock.sleep, jitter_source=lambda: 1.0, backoff_max_seconds=0.3)
    UnprocessedItemsInjector(table.name, withhold=lambda call, size: size if call < 4 else 0).install(
        client.meta.events
    )

    store.write(readings(3), budget(clock))

    assert clock.sleeps == [0.1, 0.2, 0.3, 0.3]


def test_writing_the_same_readings_again_leaves_one_item_per_reading(
    store: ResultsStore, table: StoredTable, clock: FakeClock
) -> None:
    store.write(readings(30), budget(clock))
    store.write(readings(30), budget(clock))

    assert len(table.items()) == 30


def test_a_reading_repeated_in_one_write_becomes_one_put_the_last_one_winning(
    store: ResultsStore, client: DynamoDBClient, table: StoredTable, clock: FakeClock
) -> None:
    injector = UnprocessedItemsInjector(table.name, withhold=lambda call, size: 0).install(client.meta.events)
    first, second = readings(1) * 2
    second = second | {"temperature_c": 99}

    written = store.write([first, second], budget(clock))

    assert written == 1
    assert injector.batch_sizes == [1]
    assert [item["temperature_c"] for item in table.items()] == [Decimal(99)]


def test_a_rejected_batch_is_reported_with_the_error_code_and_the_count(
    client: DynamoDBClient, clock: FakeClock
) -> None:
    store = ResultsStore(client, "no-such-table", sleep=clock.sleep)

    with pytest.raises(ResultsNotWrittenError) as raised:
        store.write(readings(30), budget(clock))

    assert str(raised.value) == (
        "30 of 30 items were not written to DynamoDB table no-such-table: BatchWriteItem failed "
        "(ResourceNotFoundException)"
    )


def test_no_call_is_made_when_no_time_is_left(
    store: ResultsStore, table: StoredTable, clock: FakeClock, calls: OperationRecorder
) -> None:
    with pytest.raises(ResultsNotWrittenError, match=r": the time ran out$"):
        store.write(readings(3), budget(clock, seconds=0.0))

    assert calls.calls == []


def test_nothing_to_write_makes_no_call(store: ResultsStore, clock: FakeClock, calls: OperationRecorder) -> None:
    assert store.write([], budget(clock)) == 0
    assert calls.calls == []


def test_a_number_dynamodb_cannot_hold_is_reported_before_any_write(
    store: ResultsStore, clock: FakeClock, calls: OperationRecorder
) -> None:
    reading = readings(1)[0] | {"temperature_c": Decimal("1." + "1" * 40)}

    with pytest.raises(UnstorableReadingError) as raised:
        store.write([reading], budget(clock))

    assert str(raised.value) == (
        "the reading for 'Seville' at '2026-11-26T00:00:00Z' holds a value DynamoDB cannot store (Inexact)"
    )
    assert calls.calls == []
