"""A small IAM policy evaluator for tests: explicit Deny, then Allow, else implicit deny.

It follows AWS's evaluation logic for identity policies within one account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html): an explicit Deny in
any policy wins, otherwise an Allow is needed. It knows the elements this repository's documents use (Action,
Resource, NotResource) and the operators StringEquals, StringLike, ArnLike and ArnEquals, with the documented rule
that a condition key absent from the request makes StringEquals/StringLike/ArnLike false. Matching of `*` and `?`
in actions (case-insensitive) and ARNs follows
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html.
It is not a full engine (no NotAction, no IfExists, no set operators, no policy variables); tests that need more
must not use it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["explicit-deny", "allow", "implicit-deny"]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _glob(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _condition_holds(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            actual = next((value for name, value in context.items() if name.lower() == key.lower()), None)
            if actual is None:
                return False
            values = _as_list(expected)
            if operator == "StringEquals" or operator == "ArnEquals":
                ok = actual in values
            elif operator in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(actual, value) for value in values)
            else:
                raise NotImplementedError(f"operator {operator} is not modelled by this test evaluator")
            if not ok:
                return False
    return True


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotAction" in statement:
        raise NotImplementedError("NotAction is not modelled by this test evaluator")
    if not any(_glob(action, request.action, case_sensitive=False) for action in _as_list(statement["Action"])):
        return False
    if "NotResource" in statement:
        if any(_glob(arn, request.resource, case_sensitive=True) for arn in _as_list(statement["NotResource"])):
            return False
    elif not any(_glob(arn, request.resource, case_sensitive=True) for arn in _as_list(statement["Resource"])):
        return False
    return _condition_holds(statement.get("Condition") or {}, request.context)


def evaluate(documents: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    allowed = False
    for document in documents:
        for statement in document["Statement"]:
            if not _applies(statement, request):
                continue
            if statement["Effect"] == "Deny":
                return "explicit-deny"
            allowed = True
    return "allow" if allowed else "implicit-deny"
