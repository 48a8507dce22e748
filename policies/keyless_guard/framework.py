"""How a rule is declared: a typed function over a plain resource (or the whole stack) plus its metadata.

Each rule is wrapped so that it cannot crash the pack: an unexpected exception (malformed props, a rule bug) is
reported as a violation of that rule, so nothing passes unchecked, and the message names only the exception type,
never a value. `UnknownValueError` passes through so the SDK reports its "can't run during preview" advisory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from keyless_guard.values import plain


@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it: plain props (with `Unknown` markers) and its graph edges as URNs."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Stack:
    """Every resource of the stack, as AnalyzeStack sends them (their planned outputs)."""

    resources: tuple[Resource, ...]

    def of_type(self, *types: str) -> Iterator[Resource]:
        return (r for r in self.resources if r.type in types)

    def by_urn(self, urn: str) -> Resource | None:
        return self._index.get(urn)

    @cached_property
    def _index(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def reachable(self, urns: Iterable[str]) -> set[str]:
        """`urns` and every URN they depend on, directly or transitively (dependencies and property dependencies)."""
        seen: set[str] = set()
        todo = list(urns)
        while todo:
            urn = todo.pop()
            if urn in seen:
                continue
            seen.add(urn)
            found = self.by_urn(urn)
            if found is not None:
                todo.extend(found.dependencies)
                for dependencies in found.property_dependencies.values():
                    todo.extend(dependencies)
        return seen


Report = Callable[[str], None]
"""Report a violation on the resource being checked."""
StackReport = Callable[[str, str], None]
"""Report a violation: (message, urn of the offending resource)."""
ResourceCheck = Callable[[Resource, Report], None]
StackCheck = Callable[[Stack, StackReport], None]


@dataclass(frozen=True)
class Rule:
    """A rule's identity and documentation; `policy()` builds the pulumi_policy object."""

    name: str
    """Stable kebab-case id, like a checkov check id."""
    description: str
    level: EnforcementLevel
    severity: Severity
    remediation: str
    equivalent: str
    """The closest Checkov / cdk-nag check, for the README."""
    check: ResourceCheck | StackCheck
    stack: bool = False

    def policy(self) -> Policy:
        common: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "enforcement_level": self.level,
            "severity": self.severity,
            "remediation_steps": self.remediation,
        }
        if self.stack:
            return StackValidationPolicy(validate=self._validate_stack, **common)
        return ResourceValidationPolicy(validate=self._validate_resource, **common)

    def _validate_resource(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = Resource(args.resource_type, args.name, args.urn, _props(args.props))
        check: Any = self.check
        self._guarded(
            lambda: check(resource, lambda message: report_violation(message, args.urn)), args.urn, report_violation
        )

    def _validate_stack(self, args: StackValidationArgs, report_violation: ReportViolation) -> None:
        stack = Stack(tuple(_from_policy_resource(r) for r in args.resources))
        check: Any = self.check
        self._guarded(lambda: check(stack, report_violation), None, report_violation)

    def _guarded(self, body: Callable[[], None], urn: str | None, report_violation: ReportViolation) -> None:
        try:
            body()
        except UnknownValueError:
            raise
        except Exception as exc:  # noqa: BLE001 - malformed props or a rule bug must block, not crash the pack
            report_violation(
                f"{self.name} could not evaluate this resource ({type(exc).__name__}), so it is treated as a "
                "violation rather than passed unchecked. Fix the resource's properties or report a pack bug.",
                urn,
            )


def _props(props: Any) -> dict[str, Any]:
    value = plain(props)
    return value if isinstance(value, dict) else {}


def _from_policy_resource(resource: PolicyResource) -> Resource:
    return Resource(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        props=_props(resource.props),
        parent=resource.parent.urn if resource.parent is not None else None,
        dependencies=tuple(d.urn for d in resource.dependencies),
        property_dependencies={k: tuple(d.urn for d in v) for k, v in resource.property_dependencies.items()},
    )


def resource_rule(
    *, name: str, description: str, level: EnforcementLevel, severity: Severity, remediation: str, equivalent: str
) -> Callable[[ResourceCheck], Rule]:
    """Declare a per-resource rule (run by Analyze on each resource's inputs)."""

    def wrap(check: ResourceCheck) -> Rule:
        return Rule(name, description, level, severity, remediation, equivalent, check)

    return wrap


def stack_rule(
    *, name: str, description: str, level: EnforcementLevel, severity: Severity, remediation: str, equivalent: str
) -> Callable[[StackCheck], Rule]:
    """Declare a stack rule (run once by AnalyzeStack on every resource's planned outputs)."""

    def wrap(check: StackCheck) -> Rule:
        return Rule(name, description, level, severity, remediation, equivalent, check, stack=True)

    return wrap
