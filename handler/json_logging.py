"""Structured JSON log lines, and what keeps secrets out of them.

The first line of defence is that this function never logs a key, a secret value or a header. Two more are here:
`configure()` keeps botocore from logging request and response bodies (at DEBUG it logs whole responses,
GetSecretValue's SecretString included), and puts `SECRET_REDACTOR` on every root handler, so that a key that
reaches a record anyway, for example inside a library's exception text, is replaced before any handler formats it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType

REDACTED = "[REDACTED]"
# Loggers that write request and response bodies at DEBUG; they stay at INFO or above whatever LOG_LEVEL says.
BODY_LOGGERS = ("botocore", "boto3", "s3transfer")

_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# Anything after a secret field's name is dropped: its value may be JSON with escaped quotes inside.
_SECRET_FIELD = re.compile(r"(Secret(?:String|Binary)).*", re.DOTALL)
_BEARER = re.compile(r"(Bearer\s+)[^\s'\",}\]]+", re.IGNORECASE)
# Any other scheme ("Basic ...", a bare token): everything up to the end of the quoted value or the line.
# Possessive quantifiers: no backtracking past the opening quote to slip under the Bearer look-ahead.
_AUTHORIZATION = re.compile(r"(Authorization['\"]?\s*[:=]\s*+['\"]?+)(?!Bearer\s)[^'\",}\]\r\n]+", re.IGNORECASE)
_CONTEXT: ContextVar[Mapping[str, object]] = ContextVar("log_context", default=MappingProxyType({}))
_HELD: ContextVar[list[logging.LogRecord] | None] = ContextVar("held_log_records", default=None)


class SecretRedactor(logging.Filter):
    """Replaces remembered secret values, bearer tokens and Secrets Manager value fields in a record."""

    def __init__(self, max_remembered: int = 4) -> None:
        super().__init__()
        # Old keys stay remembered for a while: a rotation leaves the previous one in flight.
        self._max_remembered = max_remembered
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def remember(self, secret: str) -> None:
        """Redact this value from now on."""
        with self._lock:
            kept = tuple(known for known in self._secrets if known != secret)
            self._secrets = (secret, *kept)[: self._max_remembered]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _SECRET_FIELD.sub(rf"\1 {REDACTED}", text)
        text = _BEARER.sub(rf"\1{REDACTED}", text)
        return _AUTHORIZATION.sub(rf"\1{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place, so every handler after this one sees the redacted version too."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A malformed logging call: the handler's own error reporting deals with it.
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        # The live exception may carry the value in its attributes; the formatted, redacted text is enough.
        record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for name, value in _extra_fields(record).items():
            setattr(record, name, self.redact_value(value))
        return True

    def redact_value(self, value: object) -> object:
        """The value with every string inside it redacted; containers become dicts and lists."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {str(key): self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact_value(item) for item in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.redact(str(value))


SECRET_REDACTOR = SecretRedactor()
"""The process-wide redactor; the secret cache tells it every key it fetches."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, the bound context and the record's extras."""

    def __init__(self, redactor: SecretRedactor = SECRET_REDACTOR) -> None:
        super().__init__()
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_CONTEXT.get(),
            **_extra_fields(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        # Redacted here as well: a handler may format a record that never passed through the filter.
        return json.dumps(self._redactor.redact_value(entry), default=str, ensure_ascii=False)


@contextmanager
def bound(**fields: object) -> Iterator[None]:
    """Add fields (such as the request id) to every line logged inside the block."""
    token = _CONTEXT.set(MappingProxyType({**_CONTEXT.get(), **fields}))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class _HoldFilter(logging.Filter):
    """Keeps the records of a `held()` block instead of letting them reach the handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        held = _HELD.get()
        if held is None:
            return True
        held.append(record)
        return False


_HOLD_FILTER = _HoldFilter()


@contextmanager
def held(*logger_names: str) -> Iterator[list[logging.LogRecord]]:
    """Keep what the named loggers log inside the block (in this context only) for `release()` to emit later:
    workers running side by side can then have their lines written in the order of their work, not of the clock."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if _HOLD_FILTER not in logger.filters:
            logger.addFilter(_HOLD_FILTER)
    records: list[logging.LogRecord] = []
    token = _HELD.set(records)
    try:
        yield records
    finally:
        _HELD.reset(token)


def release(records: list[logging.LogRecord]) -> None:
    """Emit held records through their own loggers, as if logged now (in this context: its bound fields)."""
    for record in records:
        logging.getLogger(record.name).handle(record)


def configure(level: int) -> None:
    """Make every root handler write redacted JSON; cheap and idempotent, so it runs on every invocation.

    The Lambda runtime installs its own root handler before the code loads; tests install theirs per test.
    Handlers that appear later get the filter on the next invocation.
    """
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stdout))
    for handler in root.handlers:
        if not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())
        if SECRET_REDACTOR not in handler.filters:
            handler.addFilter(SECRET_REDACTOR)
    for name in BODY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.INFO))


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {name: value for name, value in vars(record).items() if name not in _STANDARD_ATTRIBUTES}
