"""Fixtures for the handler tests: moto in server mode, the fake weather API, fake AWS credentials, and a guard
that fails any test after which a test API key shows up in stdout, stderr or a log record."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from pytest_httpserver import HTTPServer

import app
import json_logging
from secret_cache import ApiKey
from tests.fake_aws import (
    CLEARED_AWS_ENVIRONMENT,
    FAKE_AWS_ENVIRONMENT,
    start_moto_server,
    take_down,
    use_fake_aws,
)
from tests.handler.doubles import FakeClock, OperationRecorder, count_leaks
from tests.handler.fake_weather_api import HOLD_TIMEOUT_SECONDS, FakeWeatherApi

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

HANDLER_ENVIRONMENT = (
    "SECRET_ID",
    "TABLE_NAME",
    "API_BASE_URL",
    "SECRET_CACHE_TTL_SECONDS",
    "LOG_LEVEL",
    "API_CONCURRENCY",
)


@pytest.fixture(scope="package", autouse=True)
def moto_endpoint() -> Iterator[str]:
    """Moto in server mode on 127.0.0.1, and an environment in which every boto3 client talks to it."""
    with pytest.MonkeyPatch.context() as patch:
        for name in (*CLEARED_AWS_ENVIRONMENT, *FAKE_AWS_ENVIRONMENT, *HANDLER_ENVIRONMENT):
            patch.delenv(name, raising=False)
        server, endpoint = start_moto_server()
        # Set through monkeypatch, so that pytest restores every name afterwards.
        fake: dict[str, str] = {}
        use_fake_aws(fake, endpoint)
        for name, value in fake.items():
            patch.setenv(name, value)
        yield endpoint
        take_down(server)


@pytest.fixture
def secrets_manager_outage(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Sends Secrets Manager calls (and those only) to a second moto server; call the result to take it down."""
    server, endpoint = start_moto_server()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)
    running = [True]

    def outage() -> None:
        take_down(server)
        running[0] = False

    yield outage
    if running[0]:
        take_down(server)


@pytest.fixture(scope="package")
def test_session(moto_endpoint: str) -> boto3.session.Session:
    """The tests' own session, kept apart from boto3's default session, which the handler uses."""
    return boto3.session.Session()


@pytest.fixture(scope="package")
def secrets_client(test_session: boto3.session.Session) -> SecretsManagerClient:
    return test_session.client("secretsmanager")


@pytest.fixture(scope="package")
def dynamodb_client(test_session: boto3.session.Session) -> DynamoDBClient:
    return test_session.client("dynamodb")


@pytest.fixture(scope="package")
def made_keys() -> list[str]:
    """Every API key a test made, so the leak guard can look for all of them."""
    return []


@pytest.fixture
def make_key(made_keys: list[str]) -> Callable[[], str]:
    def make() -> str:
        key = "k-" + secrets.token_hex(16)
        made_keys.append(key)
        return key

    return make


@dataclass
class StoredSecret:
    name: str
    key: str = field(repr=False)
    client: SecretsManagerClient = field(repr=False)

    @property
    def api_key(self) -> ApiKey:
        return ApiKey(self.key)

    def rotate(self, new_key: str) -> None:
        self.put_raw(json.dumps({"api_key": new_key}))
        self.key = new_key

    def put_raw(self, secret_string: str) -> None:
        with botocore_bodies_unlogged():
            self.client.put_secret_value(SecretId=self.name, SecretString=secret_string)


@contextmanager
def botocore_bodies_unlogged() -> Iterator[None]:
    """The tests' own calls carry keys in their request bodies. A test at DEBUG proves the handler's output
    clean, so these calls are kept out of it, whatever the handler has or has not configured yet."""
    botocore_logger = logging.getLogger("botocore")
    level = botocore_logger.level
    botocore_logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        botocore_logger.setLevel(level)


@pytest.fixture
def secret(secrets_client: SecretsManagerClient, make_key: Callable[[], str]) -> StoredSecret:
    stored = StoredSecret(f"test/weather-api-key-{secrets.token_hex(4)}", make_key(), secrets_client)
    with botocore_bodies_unlogged():
        secrets_client.create_secret(Name=stored.name, SecretString=json.dumps({"api_key": stored.key}))
    return stored


@dataclass
class StoredTable:
    name: str
    client: DynamoDBClient

    def items(self) -> list[dict[str, Any]]:
        """Every item, deserialized (numbers as Decimal), sorted by key."""
        deserializer = TypeDeserializer()
        pages = self.client.get_paginator("scan").paginate(TableName=self.name)
        items = [
            {name: deserializer.deserialize(value) for name, value in item.items()}
            for page in pages
            for item in page["Items"]
        ]
        return sorted(items, key=lambda item: (item["city"], item["observed_at"]))


@pytest.fixture
def table(dynamodb_client: DynamoDBClient) -> StoredTable:
    name = f"readings-{secrets.token_hex(4)}"
    dynamodb_client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "city", "KeyType": "HASH"},
            {"AttributeName": "observed_at", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "city", "AttributeType": "S"},
            {"AttributeName": "observed_at", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return StoredTable(name, dynamodb_client)


@pytest.fixture(scope="package")
def weather_server() -> Iterator[HTTPServer]:
    # Threaded, so a deliberately slow answer does not hold up the retry that follows it.
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def weather_api(weather_server: HTTPServer, secret: StoredSecret) -> Iterator[FakeWeatherApi]:
    """The fake API, accepting the current test secret's key."""
    fake = FakeWeatherApi(accepted_keys={secret.key})
    weather_server.clear()
    weather_server.expect_request("/v1/weather", method="GET").respond_with_handler(fake)
    yield fake
    fake.close()
    weather_server.check_handler_errors()
    assert fake.lapsed_holds == [], f"held {HOLD_TIMEOUT_SECONDS} s for what never came: {fake.lapsed_holds}"


@pytest.fixture
def api_base_url(weather_server: HTTPServer) -> str:
    return weather_server.url_for("/").rstrip("/")


@pytest.fixture
def handler_env(
    monkeypatch: pytest.MonkeyPatch,
    secret: StoredSecret,
    table: StoredTable,
    api_base_url: str,
    weather_api: FakeWeatherApi,
) -> dict[str, str]:
    """The Lambda's environment for the test's secret, table and fake API."""
    environment = {"SECRET_ID": secret.name, "TABLE_NAME": table.name, "API_BASE_URL": api_base_url}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


@pytest.fixture
def handler_operations() -> Iterator[OperationRecorder]:
    """A fresh default boto3 session (the one the handler's clients come from) that records every call,
    and a fresh container, so the handler builds its clients from that session."""
    app.ingest_function_for.cache_clear()
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    recorder = OperationRecorder().install(boto3.DEFAULT_SESSION.events)
    yield recorder
    app.ingest_function_for.cache_clear()
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def root_output() -> Iterator[io.StringIO]:
    """A root handler writing to a buffer, there before configure() runs, as the Lambda runtime's handler is."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Undo what json_logging.configure() does to the root logger and its handlers (pytest's own)."""
    root = logging.getLogger()
    level = root.level
    handlers = {handler: (handler.formatter, list(handler.filters)) for handler in root.handlers}
    library_levels = {name: logging.getLogger(name).level for name in json_logging.BODY_LOGGERS}
    yield
    root.setLevel(level)
    for handler in root.handlers:
        formatter, filters = handlers.get(handler, (None, []))
        handler.setFormatter(formatter)
        handler.filters[:] = filters
    for name, library_level in library_levels.items():
        logging.getLogger(name).setLevel(library_level)


@pytest.fixture(autouse=True)
def no_key_in_output(
    made_keys: list[str], caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> Iterator[None]:
    """After every test: no key made so far appears in stdout, stderr, or any part of any log record."""
    yield
    out, err = capfd.readouterr()
    records = [record for phase in ("setup", "call") for record in caplog.get_records(phase)]
    leaks = count_leaks(made_keys, [out, err, caplog.text, *(repr(vars(record)) for record in records)])
    assert leaks == 0, "a test API key reached stdout, stderr or a log record"
