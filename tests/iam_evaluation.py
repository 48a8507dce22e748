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

Also modelled, for resource-based policies and the perimeter (tests/test_perimeter.py), from
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html:
- the negated operators StringNotEquals and ArnNotEquals, which are true when the key is absent from the request
  ("If the key that you specify in a policy condition is not present in the request context, the values do not
  match" - so a negated operator matches);
- Null: `"true"` holds when the key is absent, `"false"` when it is present;
- the Principal element: a statement with one applies only to a request whose `principal` is `"*"`-matched or
  listed under `AWS` (a role's sessions match the role's ARN); NotPrincipal is not modelled.
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
    principal: str = ""
    """The caller as resource policies name it (a role ARN for the role's sessions); only read by statements with a
    Principal element."""


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _glob(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _condition_holds(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            actual = next((value for name, value in context.items() if name.lower() == key.lower()), None)
            values = _as_list(expected)
            if operator == "Null":
                if values not in (["true"], ["false"]):
                    raise NotImplementedError(f"Null with {values!r} is not modelled by this test evaluator")
                if (actual is None) != (values == ["true"]):
                    return False
                continue
            if operator in ("StringNotEquals", "ArnNotEquals"):
                if actual is not None and actual in values:
                    return False
                continue
            if actual is None:
                return False
            if operator == "StringEquals" or operator == "ArnEquals":
                ok = actual in values
            elif operator in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(actual, value) for value in values)
            else:
                raise NotImplementedError(f"operator {operator} is not modelled by this test evaluator")
            if not ok:
                return False
    return True


def _names_principal(principal: Any, caller: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping) or set(principal) - {"AWS"}:
        raise NotImplementedError(f"Principal {principal!r} is not modelled by this test evaluator")
    return any(item == "*" or item == caller for item in _as_list(principal.get("AWS")))


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotAction" in statement or "NotPrincipal" in statement:
        raise NotImplementedError("NotAction and NotPrincipal are not modelled by this test evaluator")
    if "Principal" in statement and not _names_principal(statement["Principal"], request.principal):
        return False
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
