"""A small typed model of IAM policy documents, serialised once and deterministically.

Every policy in the stack (identity, key, secret and endpoint policies) is built from these values, so the
tests and the policy pack read exactly the JSON that AWS receives. Values are plain strings on purpose: a
document made only of known strings is fully known during the first `pulumi preview`, which is what lets the
policy pack block a bad grant before anything exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Effect = Literal["Allow", "Deny"]
ConditionBlock = Mapping[str, Mapping[str, str | Sequence[str]]]
"""`{operator: {condition key: value or values}}`, e.g. `{"StringEquals": {"kms:ViaService": "..."}}`."""


@dataclass(frozen=True)
class Principal:
    """The `Principal` element: `"*"` or `{kind: [identifiers]}`."""

    kind: Literal["*", "AWS", "Service", "Federated"]
    identifiers: tuple[str, ...] = ()

    @classmethod
    def anyone(cls) -> Principal:
        return cls("*")

    @classmethod
    def aws(cls, *arns: str) -> Principal:
        return cls("AWS", tuple(arns))

    @classmethod
    def service(cls, *services: str) -> Principal:
        return cls("Service", tuple(services))

    @classmethod
    def federated(cls, provider_arn: str) -> Principal:
        return cls("Federated", (provider_arn,))

    def to_json(self) -> str | dict[str, str | list[str]]:
        if self.kind == "*":
            return "*"
        return {self.kind: _one_or_many(self.identifiers)}


@dataclass(frozen=True)
class Statement:
    """One statement. There is no NotAction, and NotResource only in a Deny: a grant names what it allows.

    `resources` may be empty only in a trust policy (a statement with a principal), where IAM forbids it, or in a
    Deny that names what it spares with `not_resources` ("deny this everywhere except on the stack's own roles").
    """

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...] = ()
    effect: Effect = "Allow"
    principal: Principal | None = None
    conditions: ConditionBlock = field(default_factory=dict)
    not_resources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.sid.isalnum():
            raise ValueError(f"statement id {self.sid!r} must be alphanumeric (IAM rejects other characters)")
        if not self.actions:
            raise ValueError(f"statement {self.sid} has no actions")
        if self.not_resources and (self.effect != "Deny" or self.resources):
            raise ValueError(f"statement {self.sid}: NotResource only in a Deny, and never with Resource")
        if not self.resources and not self.not_resources and self.principal is None:
            raise ValueError(f"statement {self.sid} has no resources")

    def to_json(self) -> dict[str, object]:
        document: dict[str, object] = {"Sid": self.sid, "Effect": self.effect}
        if self.principal is not None:
            document["Principal"] = self.principal.to_json()
        document["Action"] = _one_or_many(self.actions)
        if self.resources:
            document["Resource"] = _one_or_many(self.resources)
        if self.not_resources:
            document["NotResource"] = _one_or_many(self.not_resources)
        if self.conditions:
            document["Condition"] = {
                operator: {key: _one_or_many(value) for key, value in sorted(keys.items())}
                for operator, keys in sorted(self.conditions.items())
            }
        return document


@dataclass(frozen=True)
class PolicyDocument:
    """An IAM policy document (version 2012-10-17)."""

    statements: tuple[Statement, ...]

    def __post_init__(self) -> None:
        sids = [statement.sid for statement in self.statements]
        duplicated = sorted({sid for sid in sids if sids.count(sid) > 1})
        if duplicated:
            raise ValueError(f"statement ids must be unique, repeated: {', '.join(duplicated)}")

    def to_dict(self) -> dict[str, object]:
        return {"Version": "2012-10-17", "Statement": [s.to_json() for s in self.statements]}

    def to_dict_with(self, values: Mapping[str, object]) -> dict[str, object]:
        """`to_dict` with each string equal to a key of `values` replaced by its value: a document that names an
        id AWS assigns later (an Output), sent as an object so that only that value is unknown at preview and the
        policy pack still reads every other part. Every key must occur, or the placeholder was never written."""
        found: set[str] = set()

        def substitute(node: object) -> object:
            if isinstance(node, str) and node in values:
                found.add(node)
                return values[node]
            if isinstance(node, dict):
                return {key: substitute(item) for key, item in node.items()}
            if isinstance(node, list):
                return [substitute(item) for item in node]
            return node

        document = {key: substitute(item) for key, item in self.to_dict().items()}
        missing = sorted(set(values) - found)
        if missing:
            raise ValueError(f"the document never names {', '.join(missing)}")
        return document

    def to_json_with(self, values: Mapping[str, str]) -> str:
        """`to_json` with the placeholders of `to_dict_with` replaced by known strings."""
        return json.dumps(self.to_dict_with(values), indent=2)

    def to_json(self) -> str:
        """The one serialisation used everywhere: stable key order, so an unchanged policy never diffs."""
        return json.dumps(self.to_dict(), indent=2)


def _one_or_many(values: str | Sequence[str]) -> str | list[str]:
    if isinstance(values, str):
        return values
    return values[0] if len(values) == 1 else list(values)
