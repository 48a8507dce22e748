"""An IAM policy evaluator for tests: identity policies of one account, explicit Deny, then Allow, else implicit deny.

No maintained Python evaluator fits (the report of issue 16 says what was looked at), so this one implements the
semantics the repository's documents and tests use, each from the IAM user guide, and
`tests/test_iam_evaluation.py` checks each on AWS's own documented examples:

- Evaluation: an explicit Deny in any policy wins; otherwise an Allow is needed; otherwise the request is
  implicitly denied (reference_policies_evaluation-logic.html, "Determining whether a request is allowed or
  denied within an account").
- Action / NotAction: case-insensitive, `*` and `?` wildcards (reference_policies_elements_action.html,
  reference_policies_elements_notaction.html).
- Resource / NotResource: case-sensitive; each of the six colon-separated ARN parts is matched on its own, with
  `*` and `?` (reference_policies_elements_resource.html, "Including wildcards (*) in resource ARNs").
- Condition block: operators are ANDed, keys within an operator are ANDed, the values listed for one key are
  ORed; condition key names are case-insensitive
  (reference_policies_elements_condition_logic_multiple-context-keys-or-values.html).
- Negated operators (StringNotEquals, StringNotLike, ArnNotEquals, ArnNotLike, NumericNotEquals) hold when the
  request value matches none of the listed values (the same page: "negated matching condition operators").
- A key absent from the request makes the condition false, except for negated operators, which are then true
  ("If the key that you specify in a policy condition is not present in the request context, the values do not
  match and the condition is false. If the policy condition requires that the key is not matched, such as
  StringNotLike or ArnNotLike, and the right key is not present, the condition is true",
  reference_policies_elements_condition_operators.html).
- `...IfExists`: true when the key is absent, otherwise the operator as written (same page, "...IfExists
  condition operators").
- `Null`: `"true"` holds when the key is absent, `"false"` when present (same page, "Condition operator to check
  existence of condition keys").
- `ForAllValues:`: true if every request value matches some policy value, and true when the key is absent or
  empty; `ForAnyValue:`: true if at least one request value matches, false when absent
  (reference_policies_condition-single-vs-multi-valued-context-keys.html).
- Operators: StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike,
  StringNotLike, ArnEquals, ArnLike, ArnNotEquals, ArnNotLike (ArnEquals and ArnLike match part by part, like the
  Resource element), Bool, Numeric{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals},
  IpAddress, NotIpAddress.

Not modelled (a statement using them raises NotImplementedError, so no test passes by accident): policy
variables (`${aws:...}`), Date operators, Binary, a multivalued request value under an operator without
ForAllValues/ForAnyValue, NotPrincipal and principals other than `*` or AWS ARNs (a resource policy's
Principal is matched against the request's `principal`), permissions boundaries, SCPs and session policies.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["explicit-deny", "allow", "implicit-deny"]
ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    """Request context keys; a sequence (list or tuple) is a multivalued key such as aws:TagKeys."""
    principal: str = ""
    """The caller as resource policies name it (a role ARN for the role's sessions); only read by statements with a
    Principal element."""


def _as_list(value: Any) -> list[str]:
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, str | int | float):
        return [str(value)]
    return [str(item) if not isinstance(item, bool) else ("true" if item else "false") for item in value or []]


def _glob(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE | re.DOTALL) is not None


def _arn_match(pattern: str, arn: str) -> bool:
    """Resource element and ArnLike: `*` alone matches everything; otherwise the six ARN parts one by one."""
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(_glob(p, a, case_sensitive=True) for p, a in zip(pattern_parts, arn_parts, strict=True))


def _no_variables(values: Iterable[str]) -> None:
    for value in values:
        if "${" in value:
            raise NotImplementedError(f"policy variable in {value!r} is not modelled by this test evaluator")


def _number(value: str) -> float:
    return float(value)


_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringEqualsIgnoreCase": lambda actual, expected: actual.lower() == expected.lower(),
    "StringLike": lambda actual, expected: _glob(expected, actual, case_sensitive=True),
    "ArnEquals": lambda actual, expected: _arn_match(expected, actual),
    "ArnLike": lambda actual, expected: _arn_match(expected, actual),
    "Bool": lambda actual, expected: actual.lower() == expected.lower(),
    "NumericEquals": lambda actual, expected: _number(actual) == _number(expected),
    "NumericLessThan": lambda actual, expected: _number(actual) < _number(expected),
    "NumericLessThanEquals": lambda actual, expected: _number(actual) <= _number(expected),
    "NumericGreaterThan": lambda actual, expected: _number(actual) > _number(expected),
    "NumericGreaterThanEquals": lambda actual, expected: _number(actual) >= _number(expected),
    "IpAddress": lambda actual, expected: ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False),
}
_NEGATED: dict[str, str] = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "NotIpAddress": "IpAddress",
}


def _lookup(context: Mapping[str, ContextValue], key: str) -> list[str] | None:
    """The request's values for `key` (names are case-insensitive), or None when the key is absent."""
    for name, value in context.items():
        if name.lower() == key.lower():
            return [value] if isinstance(value, str) else list(value)
    return None


def _single_operator(
    base: str, negated: bool, actual: list[str] | None, expected: list[str], *, if_exists: bool
) -> bool:
    if actual is None:
        return if_exists or negated
    if len(actual) != 1:
        raise NotImplementedError(f"multivalued key under {base} without ForAllValues/ForAnyValue is not modelled")
    matches = any(_POSITIVE[base](actual[0], value) for value in expected)
    return not matches if negated else matches


def _set_operator(
    qualifier: str, base: str, negated: bool, actual: list[str] | None, expected: list[str], *, if_exists: bool
) -> bool:
    def value_ok(value: str) -> bool:
        matches = any(_POSITIVE[base](value, item) for item in expected)
        return not matches if negated else matches

    values = [value for value in actual or [] if value != ""]
    if qualifier == "ForAllValues":
        return all(value_ok(value) for value in values)
    if actual is None and if_exists:
        return True
    return any(value_ok(value) for value in values)


def conditions_match(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, ContextValue]) -> bool:
    """Whether a statement's Condition block holds for the request context (the rules in the module docstring)."""
    for raw_operator, keys in conditions.items():
        qualifier, _, operator = raw_operator.rpartition(":")
        if_exists = operator.endswith("IfExists")
        if if_exists:
            operator = operator[: -len("IfExists")]
        for key, raw_expected in keys.items():
            expected = _as_list(raw_expected)
            _no_variables([key, *expected])
            actual = _lookup(context, key)
            if operator == "Null":
                if qualifier or if_exists:
                    raise NotImplementedError(f"{raw_operator} is not a valid operator")
                absent = actual is None
                if not any((value.lower() == "true") == absent for value in expected):
                    return False
                continue
            negated = operator in _NEGATED
            base = _NEGATED.get(operator, operator)
            if base not in _POSITIVE:
                raise NotImplementedError(f"operator {raw_operator} is not modelled by this test evaluator")
            if qualifier in ("ForAllValues", "ForAnyValue"):
                holds = _set_operator(qualifier, base, negated, actual, expected, if_exists=if_exists)
            elif qualifier:
                raise NotImplementedError(f"set qualifier {qualifier} is not one IAM defines")

            else:
                holds = _single_operator(base, negated, actual, expected, if_exists=if_exists)
            if not holds:
                return False
    return True


def _names_principal(principal: Any, caller: str) -> bool:
    """Principal element: `*` or `{"AWS": [ARNs]}` (reference_policies_elements_principal.html); others raise."""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping) or set(principal) - {"AWS"}:
        raise NotImplementedError(f"Principal {principal!r} is not modelled by this test evaluator")
    return any(item == "*" or item == caller for item in _as_list(principal.get("AWS")))


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotPrincipal" in statement:
        raise NotImplementedError("NotPrincipal is not modelled by this test evaluator")
    if "Principal" in statement and not _names_principal(statement["Principal"], request.principal):
        return False
    if "NotAction" in statement:
        if any(_glob(action, request.action, case_sensitive=False) for action in _as_list(statement["NotAction"])):
            return False
    elif not any(_glob(action, request.action, case_sensitive=False) for action in _as_list(statement["Action"])):
        return False
    if "NotResource" in statement:
        patterns = _as_list(statement["NotResource"])
        _no_variables(patterns)
        if any(_arn_match(arn, request.resource) for arn in patterns):
            return False
    else:
        patterns = _as_list(statement["Resource"])
        _no_variables(patterns)
        if not any(_arn_match(arn, request.resource) for arn in patterns):
            return False
    return conditions_match(statement.get("Condition") or {}, request.context)


def evaluate(documents: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """The decision for one request against a principal's identity policies (all in the same account)."""
    allowed = False
    for document in documents:
        statements = document["Statement"]
        for statement in [statements] if isinstance(statements, Mapping) else statements:
            if not _applies(statement, request):
                continue
            if statement["Effect"] == "Deny":
                return "explicit-deny"
            allowed = True
    return "allow" if allowed else "implicit-deny"
