"""The DynamoDB table of readings: one item per reading, written with BatchWriteItem only."""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from decimal import DecimalException
from typing import TYPE_CHECKING, Final, cast

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from exceptions import ResultsNotWrittenError, UnstorableReadingError, aws_error_name
from time_budget import TimeBudget
from weather_api import Reading

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutRequestTypeDef, WriteRequestTypeDef

IAM_ACTIONS: Final = ("dynamodb:BatchWriteItem",)
"""Every DynamoDB action this module performs: the execution role needs exactly these."""

KEY_ATTRIBUTES: Final = ("city", "observed_at")
"""The table's partition and sort key, both strings."""
BATCH_SIZE: Final = 25
"""BatchWriteItem's limit on requests per call."""
DEFAULT_BACKOFF_BASE_SECONDS = 0.05
DEFAULT_BACKOFF_MAX_SECONDS = 2.0

logger = logging.getLogger(__name__)
_SERIALIZER = TypeSerializer()


class ResultsStore:
    """Writes readings to one table. Writes are idempotent: an item is replaced by a put with the same key."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        backoff_base_seconds: float = DEFAULT_BACKOFF_BASE_SECONDS,
        backoff_max_seconds: float = DEFAULT_BACKOFF_MAX_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        jitter_source: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._backoff_base = backoff_base_seconds
        self._backoff_max = backoff_max_seconds
        self._sleep = sleep
        self._jitter_source = jitter_source

    def write(self, readings: Iterable[Reading], budget: TimeBudget) -> int:
        """Write every reading and return the number of items written.

        Unprocessed items go back to the front of the queue and are retried after an exponential backoff with
        full jitter, for as long as the budget allows; then ResultsNotWrittenError says how many are left.
        """
        pending = deque(_put_requests(readings))
        total = len(pending)
        unprocessed_rounds = 0
        while pending:
            batch = [pending.popleft() for _ in range(min(BATCH_SIZE, len(pending)))]
            if budget.remaining() <= 0:
                raise self._not_written(len(batch) + len(pending), total, "the time ran out")
            try:
                response = self._client.batch_write_item(RequestItems={self._table_name: batch})
            except (BotoCoreError, ClientError) as exc:
                raise self._not_written(
                    len(batch) + len(pending), total, f"BatchWriteItem failed ({aws_error_name(exc)})"
                ) from exc
            unprocessed = cast(
                "list[WriteRequestTypeDef]", response.get("UnprocessedItems", {}).get(self._table_name, [])
            )
            if not unprocessed:
                unprocessed_rounds = 0
                continue
            pending.extendleft(reversed(unprocessed))
            unprocessed_rounds += 1
            delay = self._backoff(unprocessed_rounds)
            if delay >= budget.remaining():
                raise self._not_written(len(pending), total, "the time ran out while DynamoDB left items unprocessed")
            logger.info(
                "DynamoDB left items unprocessed; retrying them",
                extra={"unprocessed": len(unprocessed), "wait_seconds": round(delay, 3)},
            )
            self._sleep(delay)
        return total

    def _backoff(self, rounds: int) -> float:
        return self._jitter_source() * min(self._backoff_max, self._backoff_base * 2.0**rounds)

    def _not_written(self, count: int, total: int, why: str) -> ResultsNotWrittenError:
        return ResultsNotWrittenError(
            f"{count} of {total} items were not written to DynamoDB table {self._table_name}: {why}"
        )


def _put_requests(readings: Iterable[Reading]) -> list[WriteRequestTypeDef]:
    """One put per key, the last reading winning: BatchWriteItem rejects a batch that names a key twice."""
    by_key = {tuple(reading[name] for name in KEY_ATTRIBUTES): reading for reading in readings}
    return [{"PutRequest": _put_request(reading)} for reading in by_key.values()]


def _put_request(reading: Reading) -> PutRequestTypeDef:
    try:
        return {"Item": {name: _SERIALIZER.serialize(value) for name, value in reading.items()}}
    except (TypeError, ValueError, DecimalException) as exc:
        raise UnstorableReadingError(
            f"the reading for {reading['city']!r} at {reading['observed_at']!r} holds a value DynamoDB "
            f"cannot store ({type(exc).__name__})"
        ) from exc
