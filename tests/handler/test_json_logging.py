"""Structured log lines and the redaction filter, the second line of defence against a leaked key."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

import pytest
from requests.exceptions import InvalidHeader

import json_logging
from json_logging import REDACTED, SECRET_REDACTOR, JsonFormatter, SecretRedactor
from tests.handler.doubles import count_leaks


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_becomes_one_json_line_with_the_bound_context_and_its_extra_fields(root_output: io.StringIO) -> None:
    json_logging.configure(logging.INFO)

    with json_logging.bound(request_id="req-42"):
        logging.getLogger("app").info("fetched the weather", extra={"city": "Seville", "readings": 2})
    logging.getLogger("app").info("outside")

    first, second = lines(root_output)
    assert set(first) == {"timestamp", "level", "logger", "message", "request_id", "city", "readings"}
    assert (first["level"], first["logger"], first["message"]) == ("INFO", "app", "fetched the weather")
    assert (first["request_id"], first["city"], first["readings"]) == ("req-42", "Seville", 2)
    assert str(first["timestamp"]).endswith("+00:00")
    assert "request_id" not in second


def test_an_exception_is_logged_as_one_field_of_the_same_line(root_output: io.StringIO) -> None:
    json_logging.configure(logging.INFO)

    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("app").exception("failed")

    (line,) = lines(root_output)
    assert str(line["exception"]).startswith("Traceback (most recent call last):")
    assert str(line["exception"]).endswith("ValueError: boom")


def test_configure_sets_the_level_and_keeps_body_logging_libraries_at_info_or_above(root_output: io.StringIO) -> None:
    json_logging.configure(logging.DEBUG)
    debug_levels = {name: logging.getLogger(name).getEffectiveLevel() for name in json_logging.BODY_LOGGERS}
    json_logging.configure(logging.ERROR)
    error_levels = {name: logging.getLogger(name).getEffectiveLevel() for name in json_logging.BODY_LOGGERS}

    assert logging.getLogger().level == logging.ERROR
    assert debug_levels == dict.fromkeys(("botocore", "boto3", "s3transfer"), logging.INFO)
    assert error_levels == dict.fromkeys(("botocore", "boto3", "s3transfer"), logging.ERROR)


def test_configure_is_idempotent(root_output: io.StringIO) -> None:
    handlers_before = list(logging.getLogger().handlers)

    json_logging.configure(logging.INFO)
    json_logging.configure(logging.INFO)
    logging.getLogger("app").warning("once")

    assert logging.getLogger().handlers == handlers_before
    assert all(handler.filters.count(SECRET_REDACTOR) == 1 for handler in handlers_before)
    assert [line["message"] for line in lines(root_output)] == ["once"]


def test_configure_adds_a_stdout_handler_when_the_root_logger_has_none(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [])

    json_logging.configure(logging.INFO)
    logging.getLogger("app").info("to stdout", extra={"items": 3})

    out, _ = capfd.readouterr()
    assert [(line["message"], line["items"]) for line in map(json.loads, out.splitlines())] == [("to stdout", 3)]


@pytest.fixture
def remembered_key(make_key: Callable[[], str]) -> str:
    key = make_key()
    SECRET_REDACTOR.remember(key)
    return key


def test_a_remembered_key_is_redacted_from_message_arguments_extras_and_exception_text(
    root_output: io.StringIO, caplog: pytest.LogCaptureFixture, remembered_key: str
) -> None:
    json_logging.configure(logging.INFO)
    library = logging.getLogger("urllib3.connectionpool")

    # A library's own exception text quoting a header value: requests does this for an invalid header.
    try:
        raise InvalidHeader(f"Invalid return character or leading space in header: Bearer {remembered_key}")
    except InvalidHeader:
        library.warning("Retrying after %s", f"error with {remembered_key}", exc_info=True)
    library.warning("plain", extra={"detail": {"nested": [remembered_key]}})

    written = root_output.getvalue()
    leaks = count_leaks([remembered_key], [written, *(repr(vars(record)) for record in caplog.records)])
    assert leaks == 0
    assert written.count(REDACTED) >= 4
    assert [line["message"] for line in lines(root_output)] == [f"Retrying after error with {REDACTED}", "plain"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("headers: {'Authorization': 'Bearer abc.def-123'}", f"headers: {{'Authorization': 'Bearer {REDACTED}'}}"),
        ("Authorization: Basic dXNlcjpwdw==", f"Authorization: {REDACTED}"),
        ('"Authorization": "token-xyz"', f'"Authorization": "{REDACTED}"'),
        ("authorization=Bearer q1w2e3", f"authorization=Bearer {REDACTED}"),
        (
            'Response body: b\'{"Name":"weather","SecretString":"{\\"api_key\\": \\"k-1\\"}","VersionId":"v"}\'',
            f'Response body: b\'{{"Name":"weather","SecretString {REDACTED}',
        ),
        ("{'SecretBinary': b'\\x00secret'}", f"{{'SecretBinary {REDACTED}"),
        ("nothing to hide here", "nothing to hide here"),
    ],
    ids=["bearer", "basic", "json-header", "query-style", "secret-string", "secret-binary", "clean"],
)
def test_bearer_tokens_authorization_headers_and_secret_values_are_redacted_without_knowing_them(
    text: str, expected: str
) -> None:
    assert SecretRedactor().redact(text) == expected


def test_the_redactor_remembers_the_last_few_keys_so_an_old_key_in_flight_stays_hidden() -> None:
    redactor = SecretRedactor(max_remembered=2)
    for key in ("k-first", "k-second", "k-third"):
        redactor.remember(key)

    assert redactor.redact("k-first k-second k-third") == f"k-first {REDACTED} {REDACTED}"


def test_the_formatter_redacts_even_a_record_that_skipped_the_filter(remembered_key: str) -> None:
    record = logging.LogRecord("lib", logging.INFO, __file__, 1, "key=%s", (remembered_key,), None)
    record.extra_field = f"also {remembered_key}"

    line = json.loads(JsonFormatter().format(record))

    assert (line["message"], line["extra_field"]) == (f"key={REDACTED}", f"also {REDACTED}")


def test_a_malformed_logging_call_is_left_to_the_handler_to_report() -> None:
    record = logging.LogRecord("lib", logging.INFO, __file__, 1, "%s %s", ("one",), None)

    assert SecretRedactor().filter(record) is True
    assert record.args == ("one",)
