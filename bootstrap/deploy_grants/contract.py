"""The call contract (`contract.yaml`): which AWS calls pulumi-aws makes per resource type, as typed values.

The YAML file is the reviewed table; this module only reads and checks it, so a malformed row fails with one
line naming the file, the resource type and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

CONTRACT_PATH: Final = Path(__file__).resolve().parent / "contract.yaml"
PHASES: Final = ("create", "read", "update", "delete", "tag")
CONTEXT_PREFIXES: Final = ("create-action:", "passed-to:", "service-name:", "policy-arn:")


class ContractError(Exception):
    """The contract file is malformed, or the plan holds something the contract does not cover."""


@dataclass(frozen=True)
class SelfTarget:
    """The IAM resource a Pulumi resource is: its service, its type (policy_sentry's name) and its name input."""

    service: str
    iam_type: str
    name_input: str | None = None
    """Input holding the physical name; None when AWS generates the id (granted through the stack tag)."""
    suffix: str = ""
    """Appended to the name in the ARN: a secret's `-??????` (Secrets Manager adds six random characters)."""


@dataclass(frozen=True)
class Call:
    """One row of the contract: an API call the provider makes, on what, with which authorization context."""

    phase: str
    action: str
    resource: str
    """`self`, `*`, `any:<svc>:<type>`, `<svc>:<type>@<input>` or `<svc>:<type>=<fixed name>`."""
    context: tuple[str, ...]
    source: str
    """`<file>: <function>` in terraform-provider-aws, or `AWS: <page>` for a permission only AWS's docs show."""
    why: str | None = None
    when: str | None = None
    """An input that must be truthy for the call to happen (e.g. privateDnsEnabled)."""
    grant: bool = True
    """False: a call the provider makes that is deliberately not granted (`why` says so and what happens)."""

    @property
    def request_tagged(self) -> bool:
        return "request-tag" in self.context

    def context_value(self, prefix: str) -> str | None:
        return next((entry[len(prefix) :] for entry in self.context if entry.startswith(prefix)), None)


@dataclass(frozen=True)
class TypeContract:
    pulumi_type: str
    file: str
    self_target: SelfTarget | None
    calls: tuple[Call, ...]
    not_needed: tuple[tuple[str, str], ...] = ()


def _field(row: Mapping[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value:
        raise ContractError(f"{CONTRACT_PATH.name}: {where}: field {key!r} must be a non-empty string")
    return value


def _call(row: Any, where: str) -> Call:
    if not isinstance(row, Mapping):
        raise ContractError(f"{CONTRACT_PATH.name}: {where}: each call must be a mapping")
    phase = _field(row, "phase", where)
    if phase not in PHASES:
        raise ContractError(f"{CONTRACT_PATH.name}: {where}: phase {phase!r} is not one of {', '.join(PHASES)}")
    action = _field(row, "action", where)
    if ":" not in action or "*" in action or "?" in action:
        raise ContractError(f"{CONTRACT_PATH.name}: {where}: action {action!r} must be one exact service:Action")
    resource = _field(row, "resource", where)
    context = tuple(row.get("context") or ())
    for entry in context:
        if entry != "request-tag" and not entry.startswith(CONTEXT_PREFIXES):
            raise ContractError(f"{CONTRACT_PATH.name}: {where} {action}: unknown context {entry!r}")
    why = row.get("why")
    grant = row.get("grant", True)
    if not isinstance(grant, bool):
        raise ContractError(f"{CONTRACT_PATH.name}: {where} {action}: field 'grant' must be true or false")
    if (resource.startswith("any:") or not grant) and not why:
        raise ContractError(f"{CONTRACT_PATH.name}: {where} {action}: resource {resource} needs a 'why'")
    return Call(phase, action, resource, context, _field(row, "fn", where), why, row.get("when"), grant)


def load_contract(path: Path = CONTRACT_PATH) -> dict[str, TypeContract]:
    """Every resource type's contract, keyed by Pulumi type token."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"{path}: cannot be read as YAML: {exc}") from exc
    types = (document or {}).get("types")
    if not isinstance(types, Mapping):
        raise ContractError(f"{path.name}: top-level 'types' mapping is missing")
    contracts: dict[str, TypeContract] = {}
    for pulumi_type, spec in types.items():
        where = str(pulumi_type)
        if not isinstance(spec, Mapping) or not isinstance(spec.get("calls"), list) or not spec["calls"]:
            raise ContractError(f"{path.name}: {where}: needs 'file' and a non-empty 'calls' list")
        raw_self = spec.get("self")
        self_target = (
            SelfTarget(
                _field(raw_self, "service", where),
                _field(raw_self, "type", where),
                raw_self.get("name"),
                raw_self.get("suffix") or "",
            )
            if isinstance(raw_self, Mapping)
            else None
        )
        calls = tuple(_call(row, where) for row in spec["calls"])
        if self_target is None and any(call.resource == "self" for call in calls):
            raise ContractError(f"{path.name}: {where}: a call on 'self' needs a 'self' target")
        not_needed = tuple(
            (_field(row, "action", where), _field(row, "why", where)) for row in spec.get("not_needed") or ()
        )
        contracts[where] = TypeContract(where, _field(spec, "file", where), self_target, calls, not_needed)
    return contracts
