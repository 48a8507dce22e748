"""The fake AWS environment, in one place for the tests and the benchmarks: fake credentials that can reach no
real account, nothing from this machine's AWS configuration, and moto in server mode on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from moto.server import ThreadedMotoServer

REGION = "eu-west-1"
FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
# Anything that could point a client at a real account or another endpoint.
CLEARED_AWS_ENVIRONMENT = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def use_fake_aws(environ: MutableMapping[str, str], endpoint: str | None = None) -> None:
    """Clear what could reach a real account, set the fake credentials and, given one, every client's endpoint.
    (Tests pass a monkeypatched view instead, so that pytest restores the environment afterwards.)"""
    for name in CLEARED_AWS_ENVIRONMENT:
        environ.pop(name, None)
    environ.update(FAKE_AWS_ENVIRONMENT)
    if endpoint is not None:
        # botocore's own endpoint override, the one the handler honours without any setting of its own.
        environ["AWS_ENDPOINT_URL"] = endpoint


def start_moto_server() -> tuple[ThreadedMotoServer, str]:
    """A moto server on a free port of 127.0.0.1. Every moto server of a process shares one in-memory AWS."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def take_down(server: ThreadedMotoServer) -> None:
    """Stop the server and close its socket, so connections are refused as by an unreachable endpoint.
    (`stop()` alone leaves the socket listening: connections would hang until the read timeout.)"""
    server.stop()
    if server._server is not None:
        server._server.server_close()
