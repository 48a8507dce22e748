"""The time an invocation may still spend on network calls and retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

Clock = Callable[[], float]
"""Seconds on a monotonic scale (time.monotonic, or a fake clock in tests)."""

# Left for logging the outcome and returning before Lambda stops the process at its timeout.
DEFAULT_RESERVE_SECONDS = 1.0


class LambdaContext(Protocol):
    """The two attributes of the Lambda context object this function reads."""

    @property
    def aws_request_id(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class TimeBudget:
    """A deadline on a monotonic clock; retries and timeouts are cut to what is left of it."""

    deadline: float
    clock: Clock = field(default=time.monotonic, compare=False)

    @classmethod
    def from_context(
        cls,
        context: LambdaContext,
        *,
        reserve_seconds: float = DEFAULT_RESERVE_SECONDS,
        clock: Clock = time.monotonic,
    ) -> TimeBudget:
        remaining = context.get_remaining_time_in_millis() / 1000 - reserve_seconds
        return cls(deadline=clock() + remaining, clock=clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.deadline - self.clock())
