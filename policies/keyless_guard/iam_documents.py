"""IAM policy documents (identity, key, secret and endpoint policies) read into typed statements.

A document arrives as a JSON string (what pulumi_aws sends) or as an object. Single values and lists are both
accepted where IAM accepts both. A malformed document raises `PolicyDocumentError`, which rules report as a
violation: a document the pack cannot read is not a document it has checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from keyless_guard.values import known

_READ_CONDITION_OPERATORS = ("StringEquals", "StringLike", "ArnEquals", "ArnLike", "ForAnyValue:", "ForAllValues:")


class PolicyDocumentError(ValueError):
    """The document is not valid JSON or not shaped like an IAM policy."""


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principals: tuple[str, ...]
    """Principal values flattened: `*` or the ARNs / service names under AWS, Service, Federated."""
    has_not_principal: bool
    conditions: dict[str, dict[str, tuple[str, ...]]]
    """operator -> condition key -> values."""

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    @property
    def label(self) -> str:
        return f"statement {self.index}" + (f" (Sid {self.sid})" if self.sid else "")

    @property
    def public_principal(self) -> bool:
        return "*" in self.principals

    def narrowing_keys(self) -> set[str]:
        """Condition keys that restrict the request (positive operators, not `...IfExists`, values not `*`)."""
        keys: set[str] = set()
        for operator, clauses in self.conditions.items():
            positive = operator.startswith(_READ_CONDITION_OPERATORS) and "Not" not in operator
            if not positive or operator.endswith("IfExists"):
                continue
            keys.update(key.lower() for key, values in clauses.items() if values and "*" not in values)
        return keys


def parse_document(value: Any, *path: str | int) -> list[Statement]:
    """Statements of the policy document `value` (JSON text or object); raises if unknown or malformed."""
    value = known(value, *path)
    if isinstance(value, str):
        parsed = _parse_text(value)
        if isinstance(parsed, PolicyDocumentError):
            raise PolicyDocumentError(str(parsed))
        return list(parsed)
    return _parse_object(value)


@lru_cache(maxsize=512)
def _parse_text(text: str) -> tuple[Statement, ...] | PolicyDocumentError:
    """A JSON document parsed once for every rule that reads it (the same role is read by five rules)."""
    try:
        return tuple(_parse_object(json.loads(text)))
    except ValueError as exc:  # json's JSONDecodeError and our PolicyDocumentError
        return exc if isinstance(exc, PolicyDocumentError) else PolicyDocumentError("is not valid JSON")


def _parse_object(value: Any) -> list[Statement]:
    if not isinstance(value, dict):
        raise PolicyDocumentError("is not a JSON object")
    statements = value.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise PolicyDocumentError("has no Statement list")
    return [_statement(index, raw) for index, raw in enumerate(statements)]


def read_statements(value: Any, where: str, report: Callable[[str], None] | None) -> list[Statement]:
    """`parse_document`, reporting a malformed document (when `report` is given) instead of raising."""
    try:
        return parse_document(value, where)
    except PolicyDocumentError as exc:
        if report is not None:
            report(f"The policy document in {where} {exc}, so it cannot be checked. Provide a valid IAM JSON policy.")
        return []


def _statement(index: int, raw: Any) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyDocumentError(f"statement {index} is not an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyDocumentError(f"statement {index} has no Effect Allow or Deny")
    conditions = raw.get("Condition") or {}
    if not isinstance(conditions, dict) or not all(isinstance(v, dict) for v in conditions.values()):
        raise PolicyDocumentError(f"statement {index} has a malformed Condition")
    return Statement(
        index=index,
        sid=raw["Sid"] if isinstance(raw.get("Sid"), str) else "",
        effect=effect,
        actions=_strings(raw.get("Action"), index, "Action"),
        not_actions=_strings(raw.get("NotAction"), index, "NotAction"),
        resources=_strings(raw.get("Resource"), index, "Resource"),
        not_resources=_strings(raw.get("NotResource"), index, "NotResource"),
        principals=tuple(_principals(raw.get("Principal"), index)),
        has_not_principal="NotPrincipal" in raw,
        conditions={
            str(op): {str(key): _strings(values, index, "Condition") for key, values in clauses.items()}
            for op, clauses in conditions.items()
        },
    )


def _strings(value: Any, index: int, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [known(item, "Statement", index, field) for item in (value if isinstance(value, list) else [value])]
    if not all(isinstance(item, str | bool | int | float) for item in items):
        raise PolicyDocumentError(f"statement {index} has a malformed {field}")
    return tuple(str(item).lower() if isinstance(item, bool) else str(item) for item in items)


def _principals(value: Any, index: int) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, str):
        yield value
        return
    if not isinstance(value, dict):
        raise PolicyDocumentError(f"statement {index} has a malformed Principal")
    for kind in value:
        yield from _strings(value[kind], index, "Principal")
