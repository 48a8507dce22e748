"""Fixture builders: resources as the preview records them, and a runner that goes through the pack process."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mock_engine.recorded import UNKNOWN, RecordedResource
from offline_preview.analyzer_client import PackProcess, PolicyReport, run_pack

__all__ = ["UNKNOWN", "doc", "found", "report", "res", "stack"]

PROJECT = "keyless-ingest"
STACK_URN = f"urn:pulumi:test::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-test"
ACCOUNT = "111122223333"
REGION = "eu-west-1"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::{PROJECT}::{type_}::{name}"


def res(
    type_: str,
    name: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    outputs: Mapping[str, Any] | None = None,
    deps: Sequence[RecordedResource] = (),
    prop_deps: Mapping[str, Sequence[RecordedResource]] | None = None,
) -> RecordedResource:
    """A custom resource; outputs default to the inputs (a first preview of explicit inputs)."""
    inputs = dict(inputs or {})
    prop_deps = prop_deps or {}
    all_deps = {r.urn for r in deps} | {r.urn for rs in prop_deps.values() for r in rs}
    return RecordedResource(
        urn=urn(type_, name),
        type=type_,
        name=name,
        parent=STACK_URN,
        inputs=inputs,
        outputs=dict(outputs) if outputs is not None else inputs,
        dependencies=tuple(sorted(all_deps)),
        property_dependencies={k: tuple(r.urn for r in v) for k, v in prop_deps.items()},
    )


def stack(*resources: RecordedResource) -> list[RecordedResource]:
    root = RecordedResource(
        urn=STACK_URN,
        type="pulumi:pulumi:Stack",
        name=f"{PROJECT}-test",
        parent=None,
        inputs={},
        outputs={},
        custom=False,
    )
    return [root, *resources]


def doc(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def report(pack: PackProcess, *resources: RecordedResource, config: Mapping[str, Any] | None = None) -> PolicyReport:
    return run_pack(pack, stack(*resources), config)


def found(pack: PackProcess, *resources: RecordedResource, policy: str | None = None) -> set[tuple[str, str]]:
    """(policy, resource name) of every violation that is not a "can't run during preview" advisory."""
    result = report(pack, *resources)
    names = {r.urn: r.name for r in stack(*resources)}
    return {
        (v.policy, names.get(v.urn, v.urn))
        for v in result.violations
        if not v.cant_run and (policy is None or v.policy == policy)
    }


def arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"
