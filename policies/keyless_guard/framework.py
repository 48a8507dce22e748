"""How a rule is declared: a typed function over a plain resource (or the whole stack) plus its metadata.

Two kinds, after pulumi_policy's own split: a `ResourceRule` runs in Analyze on each resource of its declared
`resource_types` (like checkov's `supported_resources`, so no rule repeats a type guard), a `StackRule` runs once in
AnalyzeStack over every resource. Each becomes one pulumi_policy policy with the rule's name, level, severity,
remediation steps and, as tags, the Checkov / cdk-nag checks it corresponds to, so the Pulumi CLI and Pulumi Cloud
show them.

Each rule is wrapped so that it cannot crash the pack: an unexpected exception (malformed props, a rule bug) is
reported as a violation of that rule, so nothing passes unchecked, and the message names only the exception type,
never a value. `UnknownValueError` passes through so the SDK reports its "can't run during preview" advisory.

The props are converted once per request and shared by every rule that runs on it (`SHARED_RESOURCE`,
`SHARED_STACK`, set by `keyless_guard.server` while it serves a request); rules read them and never modify them.
Without that server (a rule's policy run by the stock SDK), each rule converts the SDK's own props.
"""

from __future__ import annotations

import heapq
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
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

_EQUIVALENT_IDS: Final = (
    ("checkov", re.compile(r"\bCKV2?_[A-Z0-9_]*[A-Z0-9*]")),
    ("cdk-nag", re.compile(r"\bAwsSolutions-[A-Za-z0-9]+")),
)


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
        """The resources of these types, in stack order."""
        runs = [self._by_type.get(type_, []) for type_ in dict.fromkeys(types)]
        return (resource for _, resource in heapq.merge(*runs, key=itemgetter(0)))

    @cached_property
    def _by_type(self) -> dict[str, list[tuple[int, Resource]]]:
        index: dict[str, list[tuple[int, Resource]]] = {}
        for position, resource in enumerate(self.resources):
            index.setdefault(resource.type, []).append((position, resource))
        return index

    def referrers(self, urn: str, prop: str) -> list[Resource]:
        """The resources whose `prop` was computed from `urn` (the engine's property dependencies), in stack order."""
        return self._referrers.get((prop, urn), [])

    @cached_property
    def _referrers(self) -> dict[tuple[str, str], list[Resource]]:
        index: dict[tuple[str, str], list[Resource]] = {}
        for resource in self.resources:
            for prop, urns in resource.property_dependencies.items():
                for urn in dict.fromkeys(urns):
                    index.setdefault((prop, urn), []).append(resource)
        return index

    def by_urn(self, urn: str) -> Resource | None:
        return self._index.get(urn)

    @cached_property
    def _index(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def judge_each(self, resources: Iterable[Resource], judge: Callable[[Resource], None]) -> None:
        """Run `judge` on every resource; one resource's unknown value does not stop the judgement of the others.

        The first `UnknownValueError` is raised again once all are judged, so the SDK still reports "can't run during
        preview" for what could not be decided, next to the violations already reported for the rest.
        """
        undecided: UnknownValueError | None = None
        for resource in resources:
            try:
                judge(resource)
            except UnknownValueError as exc:
                undecided = undecided or exc
        if undecided is not None:
            raise undecided

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

SHARED_RESOURCE: ContextVar[Callable[[], Resource] | None] = ContextVar("keyless_guard_resource", default=None)
"""While an Analyze request is served: the resource, converted once (on first call) for every rule."""
SHARED_STACK: ContextVar[Stack | None] = ContextVar("keyless_guard_stack", default=None)
"""While an AnalyzeStack request is served: the stack, converted once for every rule."""


@dataclass(frozen=True)
class Rule(ABC):
    """A rule's identity and documentation; `policy()` builds the pulumi_policy object."""

    name: str
    """Stable kebab-case id, like a checkov check id."""
    description: str
    level: EnforcementLevel
    severity: Severity
    remediation: str
    equivalent: str
    """The closest Checkov / cdk-nag checks, in words; their ids become the policy's tags."""
    exemptable: bool = field(default=True, kw_only=True)
    """False for rules that find credentials: the policy config may not exempt resources from them."""
    exemptions_applied: bool = field(default=True, kw_only=True)
    """False when the pack's servicer could not be installed (a pulumi-policy other than the supported release): then
    nothing applies exemptions, and the schema refuses any, so that a waiver is never silently ignored."""

    @abstractmethod
    def policy(self) -> Policy:
        """The pulumi_policy policy the pack registers for this rule."""

    @property
    def tags(self) -> list[str]:
        """`checkov:<id>` and `cdk-nag:<id>` for every check id named in `equivalent`, in order."""
        found = {
            (match.start(), f"{tool}:{match.group()}")
            for tool, pattern in _EQUIVALENT_IDS
            for match in pattern.finditer(self.equivalent)
        }
        return list(dict.fromkeys(tag for _, tag in sorted(found)))

    def _metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "enforcement_level": self.level,
            "severity": self.severity,
            "remediation_steps": self.remediation,
            "tags": self.tags,
            "config_schema": self.config_schema(),
        }

    def config_schema(self) -> PolicyConfigSchema | None:
        """The `exemptions` list an exemptable rule accepts, so the Pulumi CLI checks the config file before the run.

        The pack checks it again in Configure (`keyless_guard.exemptions`), with one-line errors, since the offline
        preview and other hosts do not validate schemas. Rules that cannot be exempted declare no schema: the CLI then
        passes an `exemptions` entry through and the pack refuses it by name.
        """
        if not self.exemptable:
            return None
        if not self.exemptions_applied:
            return PolicyConfigSchema(
                properties={
                    "exemptions": {
                        "type": "array",
                        "maxItems": 0,
                        "description": "exemptions are applied only on the pulumi-policy release the pack supports "
                        "(keyless_guard.server.SUPPORTED_SDK); on this one they would be ignored, so none is accepted",
                    }
                }
            )
        exemption = {
            "type": "object",
            "properties": {
                "resource": {"type": "string", "minLength": 1, "description": "glob over the resource name or URN"},
                "reason": {"type": "string", "minLength": 1},
                "approvedBy": {"type": "string", "minLength": 1},
                "expires": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "last day, ISO"},
            },
            "required": ["resource", "reason", "approvedBy", "expires"],
            "additionalProperties": False,
        }
        return PolicyConfigSchema(properties={"exemptions": {"type": "array", "items": exemption}})

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


@dataclass(frozen=True)
class ResourceRule(Rule):
    """A rule run by Analyze on the inputs of each resource whose type is in `resource_types`."""

    resource_types: frozenset[str]
    check: ResourceCheck

    def __post_init__(self) -> None:
        if not self.resource_types:
            raise ValueError(f"resource rule {self.name}: resource_types must name at least one resource type")

    def policy(self) -> ResourceValidationPolicy:
        return ResourceValidationPolicy(validate=self._validate, **self._metadata())

    def _validate(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in self.resource_types:
            return
        self._guarded(
            lambda: self.check(_resource(args), lambda message: report_violation(message, args.urn)),
            args.urn,
            report_violation,
        )


@dataclass(frozen=True)
class StackRule(Rule):
    """A rule run once by AnalyzeStack over every resource's planned outputs and the dependency graph."""

    check: StackCheck

    def policy(self) -> StackValidationPolicy:
        return StackValidationPolicy(validate=self._validate, **self._metadata())

    def _validate(self, args: StackValidationArgs, report_violation: ReportViolation) -> None:
        shared = SHARED_STACK.get()
        stack = shared if shared is not None else Stack(tuple(_from_policy_resource(r) for r in args.resources))
        self._guarded(lambda: self.check(stack, report_violation), None, report_violation)


def _resource(args: ResourceValidationArgs) -> Resource:
    shared = SHARED_RESOURCE.get()
    if shared is None:
        return Resource(args.resource_type, args.name, args.urn, _props(args.props))
    resource = shared()
    if resource.urn != args.urn:  # cannot happen: the server sets it for this very request; fail closed if it does
        raise RuntimeError("the shared resource is not the one being analyzed")
    return resource


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
    *,
    name: str,
    description: str,
    level: EnforcementLevel,
    severity: Severity,
    remediation: str,
    equivalent: str,
    resource_types: Iterable[str],
) -> Callable[[ResourceCheck], ResourceRule]:
    """Declare a per-resource rule, run by Analyze on the inputs of each resource of one of `resource_types`."""
    types = frozenset((resource_types,) if isinstance(resource_types, str) else resource_types)

    def wrap(check: ResourceCheck) -> ResourceRule:
        return ResourceRule(name, description, level, severity, remediation, equivalent, types, check)

    return wrap


def stack_rule(
    *, name: str, description: str, level: EnforcementLevel, severity: Severity, remediation: str, equivalent: str
) -> Callable[[StackCheck], StackRule]:
    """Declare a stack rule (run once by AnalyzeStack on every resource's planned outputs)."""

    def wrap(check: StackCheck) -> StackRule:
        return StackRule(name, description, level, severity, remediation, equivalent, check)

    return wrap
