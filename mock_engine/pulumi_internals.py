"""Every private Pulumi SDK name the offline preview uses, in one place, each with the reason it is needed.

The public SDK runs a program only under the Pulumi CLI's language host, and `@pulumi.runtime.test` only runs test
functions. The preview runs a whole program, several times in one process, so it needs a few of the SDK's internals.
Checked against pulumi 3.272; a Pulumi upgrade that breaks the preview should only need changes here.

This module imports nothing from this project, so it can run inside a program's own virtualenv (see
offline_preview.program_env).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pulumi
import pulumi._types as pulumi_types
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc, resource_pb2
from pulumi.runtime.settings import ROOT, SETTINGS
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

T = TypeVar("T")

WIRE_UNKNOWN: str = rpc.UNKNOWN
"""The sentinel string an unknown value travels as on the wire (rpc.UNKNOWN)."""

SECRET_SIG_KEY: str = rpc._special_sig_key
SECRET_SIG: str = rpc._special_secret_sig
"""A secret travels as `{SECRET_SIG_KEY: SECRET_SIG, "value": <plain value>}` (the wire's secret signature, which
`rpc.deserialize_properties` keeps as that dict). pulumi_policy reads the same signature (`pulumi_policy.deserialize`).
"""

# The Analyzer protocol's generated stubs, which the Pulumi CLI uses to drive a policy pack
# (offline_preview.analyzer_client drives the pack the same way). They ship inside the SDK's private runtime package.
__all__ = [
    "SECRET_SIG",
    "SECRET_SIG_KEY",
    "WIRE_UNKNOWN",
    "MockMonitor",
    "analyzer_pb2",
    "analyzer_pb2_grpc",
    "deserialize_properties",
    "engine_pb2_grpc",
    "is_unknown",
    "output_property_types",
    "reset_runtime",
    "resource_property_types",
    "run_program_function",
    "stack_exports",
    "sync_await",
    "unwrap_type",
    "without_resource_references",
]


def sync_await(awaitable: Awaitable[T]) -> T:
    """Wait for an awaitable from synchronous code on the current event loop.

    `_sync_await` pumps the loop even when it is already running, which `asyncio.run` cannot; the SDK's own
    `@pulumi.runtime.test` does the same.
    """
    return _sync_await(awaitable)


def reset_runtime() -> None:
    """Forget the previous run's root stack, outstanding RPCs and registered stack outputs.

    `set_mocks` only creates a root stack when there is none (`ROOT`), and `SETTINGS` keeps the RPC manager's queue and
    output list of the last run; both are module-level state with no public reset, so a second program run in the same
    process would otherwise attach its resources to the first run's stack.
    """
    ROOT.set(None)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()


def run_program_function(program: Callable[[], None]) -> None:
    """Run `program` as the CLI's language host runs `__main__.py`: inside the root stack, waiting for every RPC.

    `run_pulumi_func` is what `pulumi.runtime.stack.run_in_stack` uses; it also waits for every outstanding resource
    registration, which a plain call of the program would leave pending (and their errors unraised).
    """
    sync_await(run_pulumi_func(program))


def stack_exports() -> dict[str, Any]:
    """The values the program passed to `pulumi.export`, read from the root stack (`ROOT`), which has no public getter
    that works outside a language host."""
    root = ROOT.get()
    if isinstance(root, Stack):
        return dict(root.outputs)
    return {}


def deserialize_properties(struct: Any) -> Any:
    """A request's properties as Python values, unknowns kept as WIRE_UNKNOWN.

    `rpc.deserialize_properties` is the SDK's own decoder for the wire format; the monitor must read the same inputs
    the mocks get.
    """
    return rpc.deserialize_properties(struct, keep_unknowns=True)


def without_resource_references(info: Any) -> Any:
    """`MockMonitor.GetDeploymentInfo` with the resource-references feature removed.

    With the feature on, a resource passed as an input (`role=lambda_role`) travels as a resource reference, which
    `MockMonitor.RegisterResource` rehydrates into a resource object on the executor thread that calls it, with that
    thread's own event loop: the object's outputs then belong to a loop nobody runs ("attached to a different loop", or
    a hang until the RPC manager gives up), depending on which pool thread took the call. Without it, the SDK sends the
    resource's id (a custom resource) or URN (a component) on the program's own loop, as the engine does for a
    provider that does not accept resource references. `resource_pb2` is the generated protocol module.
    """
    features = [
        feature
        for feature in info.supportedFeatures
        if feature != resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES
    ]
    return resource_pb2.DeploymentInfo(supportedFeatures=features)


def resource_property_types(resource_class: type) -> dict[str, Any]:
    """camelCase output name -> declared Python type for a generated resource class (`pulumi._types.resource_types`,
    the table the SDK itself uses to translate outputs)."""
    return pulumi_types.resource_types(resource_class)


def output_property_types(output_class: type) -> dict[str, Any]:
    """camelCase name -> declared Python type for an `@pulumi.output_type` class (an invoke result or a nested
    output), or {} for anything else."""
    if not isinstance(output_class, type) or not pulumi_types.is_output_type(output_class):
        return {}
    return pulumi_types.output_type_types(output_class)


def unwrap_type(declared: Any) -> Any:
    """T from Output[T], Input[T] or Optional[T] (`pulumi._types.unwrap_type`)."""
    return pulumi_types.unwrap_type(declared)


def is_unknown(value: Any) -> bool:
    """True for an unknown value, whether an `Unknown` object or the wire sentinel."""
    return isinstance(value, pulumi.output.Unknown) or (isinstance(value, str) and value == WIRE_UNKNOWN)
