"""Test doubles: a fake clock, a Lambda context, and botocore-level recording and fault injection."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.hooks import BaseEventHooks
from botocore.model import OperationModel

from secret_cache import ApiKey


def same_key(key: ApiKey, expected: ApiKey) -> bool:
    """Whether two keys hold the same value. Both arguments print as ApiKey(<redacted>), so a failing
    assert (pytest shows the arguments of a call in an assert) prints no key."""
    return key.reveal() == expected.reveal()


def count_leaks(keys: Iterable[str], texts: Iterable[str]) -> int:
    """How many (key, text) pairs have the key in the text. Assert on a variable holding the result:
    pytest would print the arguments of a call made inside the assert."""
    texts = list(texts)
    return sum(1 for key in keys for text in texts if key in text)


class FakeClock:
    """A monotonic clock that moves only when told to; `sleep` advances it instead of waiting."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class FakeContext:
    """The two attributes of the Lambda context the handler reads."""

    aws_request_id: str = "req-1"
    remaining_millis: int = 30_000
    clock: Callable[[], float] | None = None
    """When set, the remaining time shrinks as this clock advances (as a real context's does)."""
    _created_at: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if self.clock is not None:
            self._created_at = self.clock()

    def get_remaining_time_in_millis(self) -> int:
        elapsed = self.clock() - self._created_at if self.clock is not None else 0.0
        return max(0, int(self.remaining_millis - elapsed * 1000))


class OperationRecorder:
    """Every API operation a botocore client or session makes, as (service, operation) pairs in call order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def install(self, events: BaseEventHooks) -> OperationRecorder:
        events.register("before-call", self._record)
        return self

    def _record(self, model: OperationModel, **_: Any) -> None:
        with self._lock:
            self.calls.append((model.service_model.service_name, model.name))

    @property
    def operations(self) -> set[tuple[str, str]]:
        return set(self.calls)

    def count(self, operation: str) -> int:
        return sum(1 for _, name in self.calls if name == operation)


class UnprocessedItemsInjector:
    """Makes BatchWriteItem leave items unprocessed for real, as DynamoDB does under throttling.

    Moto writes every item it is sent, so the injector removes the withheld items from the request before
    it is built (they are never written) and reports them in the response's UnprocessedItems. When every
    item of a call is withheld, the call is answered without reaching the server, as a request with an
    empty list would be rejected.
    """

    def __init__(self, table_name: str, withhold: Callable[[int, int], int]) -> None:
        """`withhold(call_index, batch_size)` says how many of the call's items to leave unprocessed."""
        self._table_name = table_name
        self._withhold = withhold
        self.batch_sizes: list[int] = []
        """Items per BatchWriteItem call, as the handler built them."""
        self.withheld: list[int] = []

    def install(self, events: BaseEventHooks) -> UnprocessedItemsInjector:
        events.register("before-parameter-build.dynamodb.BatchWriteItem", self._split)
        # botocore takes a before-call handler's return value as the response; the stub types handlers as -> None.
        events.register("before-call.dynamodb.BatchWriteItem", self._answer_when_all_withheld)  # type: ignore[arg-type]
        events.register("after-call.dynamodb.BatchWriteItem", self._report)
        return self

    def _split(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        requests = params["RequestItems"][self._table_name]
        count = min(len(requests), self._withhold(len(self.batch_sizes), len(requests)))
        self.batch_sizes.append(len(requests))
        self.withheld.append(count)
        context["withheld"] = requests[len(requests) - count :]
        if count < len(requests):
            # An empty list would fail botocore's parameter validation; that case never reaches the server.
            params["RequestItems"][self._table_name] = requests[: len(requests) - count]

    def _answer_when_all_withheld(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if self.batch_sizes[-1] != self.withheld[-1]:
            return None
        return AWSResponse("https://dynamodb.invalid/", 200, HTTPHeaders(), None), {"UnprocessedItems": {}}

    def _report(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if context.get("withheld"):
            parsed["UnprocessedItems"] = {self._table_name: context["withheld"]}


class SecretsManagerFault:
    """Answers GetSecretValue with an error before it is sent, as an overloaded or unreachable service would."""

    def __init__(self, status: int = 400, code: str = "ThrottlingException", error: Exception | None = None) -> None:
        """With `error`, the call raises it instead, as a timeout or a refused connection does."""
        self._status = status
        self._code = code
        self._error = error
        self.active = False
        self.answered = 0

    def install(self, events: BaseEventHooks) -> SecretsManagerFault:
        # Like before-call, a before-send handler's return value becomes the response (the stub says -> None).
        events.register("before-send.secrets-manager.GetSecretValue", self._answer)  # type: ignore[arg-type]
        return self

    def _answer(self, request: Any, **_: Any) -> AWSResponse | None:
        if not self.active:
            return None
        self.answered += 1
        if self._error is not None:
            raise self._error
        body = json.dumps({"__type": self._code, "message": "injected by the test"}).encode()
        return _RawResponse.aws_response(request.url, self._status, body)


class _RawResponse:
    """The minimal raw object AWSResponse reads a body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> list[bytes]:
        return [self._body]

    @classmethod
    def aws_response(cls, url: str, status: int, body: bytes) -> AWSResponse:
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.1"
        return AWSResponse(url, status, headers, cls(body))
