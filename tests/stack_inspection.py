"""Reading what a program registered: resources by type and name, and the policy documents they carry."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import pulumi

from mock_engine.errors import PreviewError
from mock_engine.pulumi_internals import sync_await
from mock_engine.recorded import UNKNOWN, RecordedResource
from offline_preview.cli import ProgramRun, run_under_mocks

REGION = "eu-west-1"
ACCOUNT = "111122223333"
ROTATION_FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotate-weather-api-key"
ROTATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/rotate-weather-api-key-exec"
ROTATION = {
    "keyless-ingest:rotationFunctionArn": ROTATION_FUNCTION,
    "keyless-ingest:rotationRoleArn": ROTATION_ROLE,
}
"""Config overrides of a stack with a rotation Lambda (its function and its execution role)."""
EXISTING_NETWORK = {
    "keyless-ingest:networkMode": "existing",
    "keyless-ingest:enableNatGateway": "false",
    "keyless-ingest:vpcId": "vpc-0123456789abcdef0",
    "keyless-ingest:subnetIds": '["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]',
    "keyless-ingest:routeTableIds": '["rtb-0cccccccccccccccc"]',
}
"""Config overrides of a stack that adopts an existing VPC (networkMode=existing) instead of creating one."""


def run_components(body: Callable[[], object], *, first_preview: bool = False) -> ProgramRun:
    """Build components under the preview mocks (stack `test`, eu-west-1) and return what they registered."""
    return run_under_mocks(
        body, project="keyless-ingest", stack="test", config={"aws:region": REGION}, first_preview=first_preview
    )


def build_error(body: Callable[[], object]) -> BaseException:
    """The exception a component raised while being built: `run_under_mocks` reports it as a PreviewError caused by
    it, so tests can assert the component's own type (a ValueError for a bad argument), not just "something failed"."""
    try:
        run_components(body)
    except PreviewError as failure:
        cause: BaseException = failure
        while isinstance(cause, PreviewError) and cause.__cause__ is not None:
            cause = cause.__cause__
        return cause
    raise AssertionError("the components were built without an error")


T = TypeVar("T")


def resolved(output: pulumi.Output[T] | None) -> T:
    """The value of a component output after `run_components` returned; it must be present and known."""
    assert output is not None, "the component has no such output"
    assert sync_await(output.is_known()), "the output is unknown"
    value = sync_await(output.future())
    assert value is not None, "the output has no value"
    return value


def of_type(run: ProgramRun, type_token: str) -> list[RecordedResource]:
    return [resource for resource in run.resources if resource.type == type_token]


def only(run: ProgramRun, type_token: str, name: str | None = None) -> RecordedResource:
    matches = [r for r in of_type(run, type_token) if name is None or r.name == name]
    assert len(matches) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in matches]}"
    return matches[0]


def document(resource: RecordedResource, prop: str = "policy") -> dict[str, Any]:
    """A policy document input, parsed: a known JSON string, or a document object (pulumi-aws takes one for IAM
    policies), whose values may still hold UNKNOWN."""
    raw = resource.inputs[prop]
    if isinstance(raw, dict):
        return raw
    assert isinstance(raw, str), f"{resource.name}.{prop} is not a known JSON string: {raw!r}"
    parsed = json.loads(raw)
    assert isinstance(parsed, dict)
    return parsed


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def statements(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Statements by Sid, with Action and Resource always lists."""
    result = {}
    for statement in doc["Statement"]:
        normalised = dict(statement)
        normalised["Action"] = as_list(statement["Action"])
        if "Resource" in statement:
            normalised["Resource"] = as_list(statement["Resource"])
        result[statement["Sid"]] = normalised
    return result


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(item) for item in value)
    return False
