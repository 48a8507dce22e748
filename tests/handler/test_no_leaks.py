"""The worst case for a leak: botocore forced to DEBUG after the handler configured logging, so it logs the
GetSecretValue response body before the cache has even seen the key. test_app runs every end-to-end scenario
at DEBUG too; the package's leak guard checks all of them."""

from __future__ import annotations

import io
import logging
import os

import pytest

import app
import json_logging
from handler_settings import Settings
from tests.handler.conftest import StoredSecret
from tests.handler.doubles import FakeClock, FakeContext, count_leaks
from tests.handler.fake_weather_api import FakeWeatherApi


@pytest.mark.usefixtures("handler_env", "handler_operations")
def test_a_response_body_logged_by_botocore_at_debug_never_shows_the_key(
    root_output: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    secret: StoredSecret,
    weather_api: FakeWeatherApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    settings = Settings.from_environ(os.environ)
    json_logging.configure(settings.log_level)
    function = app.IngestFunction.from_settings(settings, clock=FakeClock())
    # GIVEN someone turns botocore's body logging back on after the handler configured logging
    logging.getLogger("botocore").setLevel(logging.DEBUG)

    # WHEN the handler fetches the secret and uses it
    response = function.handle({"city": "Seville"}, FakeContext())

    # THEN botocore did log the body, and every place it went shows it redacted
    assert response == {"status": "ok", "items": 2}
    assert weather_api.seen[0].authorized
    bodies = [record.getMessage() for record in caplog.records if record.name == "botocore.parsers"]
    assert any(f"SecretString {json_logging.REDACTED}" in body for body in bodies)
    leaks = count_leaks([secret.key], [root_output.getvalue(), *(repr(vars(record)) for record in caplog.records)])
    assert leaks == 0
