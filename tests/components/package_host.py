"""The component package's host process, started as the Pulumi CLI starts it, with an engine and a resource monitor.

The CLI's Python language host runs a source-based plugin directory as `python <directory> <engine address>` (its
`__main__.py`), reads the port of the provider's gRPC server from the first line of stdout and speaks the provider
protocol to it (pulumi/pulumi, sdk/python/cmd/pulumi-language-python, `RunPlugin`). `Construct` then registers the
component and its children with the resource monitor named in the request. Here one in-process gRPC server plays the
engine (logs, root resource) and the monitor, answering registrations and invokes with the offline preview's mocks,
and records every registration.
"""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format, struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime import MockCallArgs, MockResourceArgs
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    provider_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
)

from mock_engine.mocks import PreviewMocks
from offline_preview.analyzer_client import read_plugin_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "components"
STARTUP_TIMEOUT_SECONDS = 60


def to_struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    values: dict[str, Any] = json_format.MessageToDict(struct)
    return values


@dataclass(frozen=True)
class Registration:
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]


@dataclass
class FakeEngine(engine_pb2_grpc.EngineServicer, resource_pb2_grpc.ResourceMonitorServicer):
    """Engine and resource monitor in one: registrations and invokes answered by the offline preview's mocks."""

    project: str = "consumer"
    stack: str = "test"
    mocks: PreviewMocks = field(default_factory=lambda: PreviewMocks("eu-west-1"))
    registrations: list[Registration] = field(default_factory=list)
    invokes: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    # Engine
    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.logs.append(request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> engine_pb2.GetRootResourceResponse:
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: Any) -> engine_pb2.SetRootResourceResponse:
        return engine_pb2.SetRootResourceResponse()

    # Resource monitor
    def GetDeploymentInfo(self, request: Any, context: Any) -> resource_pb2.DeploymentInfo:
        return resource_pb2.DeploymentInfo(
            supportedFeatures=[
                resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
                resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
            ]
        )

    def SupportsFeature(self, request: Any, context: Any) -> resource_pb2.SupportsFeatureResponse:
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in ("secrets", "resourceReferences"))

    def Invoke(self, request: Any, context: Any) -> resource_pb2.ResourceInvokeResponse:
        self.invokes.append(request.tok)
        answer, _ = self.mocks.call(MockCallArgs(request.tok, from_struct(request.args), request.provider))
        return resource_pb2.ResourceInvokeResponse(**{"return": to_struct(answer)})

    def RegisterResource(self, request: Any, context: Any) -> resource_pb2.RegisterResourceResponse:
        inputs = from_struct(request.object)
        self.registrations.append(Registration(request.type, request.name, request.parent, request.custom, inputs))
        urn = f"urn:pulumi:{self.stack}::{self.project}::{request.type}::{request.name}"
        if not request.custom:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        resource_id, outputs = self.mocks.new_resource(
            MockResourceArgs(request.type, request.name, inputs, request.provider, "", True)
        )
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "", object=to_struct(outputs))

    def RegisterResourceOutputs(self, request: Any, context: Any) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    def RegisterPackage(self, request: Any, context: Any) -> resource_pb2.RegisterPackageResponse:
        return resource_pb2.RegisterPackageResponse(ref=f"{request.name}-{request.version}")

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]


@dataclass
class PackageHost:
    engine: FakeEngine
    engine_address: str
    provider: provider_pb2_grpc.ResourceProviderStub
    stderr: IO[bytes]

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")


@contextmanager
def package_host() -> Iterator[PackageHost]:
    """Start the fake engine, then the package host as the CLI does; stop both on exit."""
    engine = FakeEngine()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    engine_pb2_grpc.add_EngineServicer_to_server(engine, server)
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(engine, server)
    engine_address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-u", str(PACKAGE_DIR), engine_address],
            cwd=PACKAGE_DIR,
            env={**os.environ, "PYTHONPATH": ""},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        try:
            port = _read_port(process, stderr)
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield PackageHost(engine, engine_address, provider_pb2_grpc.ResourceProviderStub(channel), stderr)
        finally:
            process.terminate()
            process.wait(timeout=30)
            server.stop(grace=None)


def _read_port(process: subprocess.Popen[bytes], stderr: IO[bytes]) -> int:
    assert process.stdout is not None
    port = read_plugin_port(process.stdout, STARTUP_TIMEOUT_SECONDS)
    if port is None:
        process.kill()
        stderr.seek(0)
        raise AssertionError(f"the package host did not start:\n{stderr.read().decode(errors='replace')}")
    return port
