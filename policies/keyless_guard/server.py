"""Serve the pack with one property conversion per request, for the rules that apply, instead of one per rule.

pulumi_policy 1.21 runs every policy of the pack on its own copy of each request: for every resource policy and
every resource it calls `json_format.MessageToDict`, deserializes the result, wraps it in unknown-checking proxies
and builds the arguments before the policy can tell that the resource's type is not its concern; in AnalyzeStack it
does the same for every resource once per stack policy; and it inspects `pulumi.runtime.Settings`'s signature on
every request. With 20 rules that was most of the pack's time.

`install(RULES)` keeps everything the CLI sees: each rule is still its own policy (GetAnalyzerInfo lists it,
`--policy-pack-config` sets its level and config, its violations carry its name, an unknown value it reads gives the
SDK's advisory under its name). It changes what the SDK's servicer is given: the servicer that PolicyPack builds
converts the request once and shares it with the rules through `framework.SHARED_RESOURCE` / `SHARED_STACK`, hands
the SDK the request without the properties (Analyze) or the resources (AnalyzeStack) it would otherwise convert
again for each rule, and during Analyze shows the SDK only the resource policies whose rule declares the request's
type. It subclasses the SDK's servicer rather than copying it. It relies on three private details of 1.21 (PolicyPack
builds `_PolicyAnalyzerServicer` from the module, which keeps the policies in `__policies`, and reads properties
only to build the policies' arguments), so it is installed only on 1.21.x; on another release the pack runs the
stock way, correct and slower, and `tests/policies/test_server.py` fails until this module is checked again.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from contextvars import ContextVar
from functools import cache
from typing import Any, ClassVar, Final

import pulumi.runtime
import pulumi_policy.policy as sdk
from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import Policy, ResourceValidationPolicy
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.version import VERSION

from keyless_guard.framework import SHARED_RESOURCE, SHARED_STACK, Resource, ResourceRule, Rule, Stack
from keyless_guard.values import marked

SUPPORTED_SDK: Final = "1.21."
"""The pulumi_policy release whose servicer this module was written against (its Analyze and AnalyzeStack)."""


def props_of(struct: Any) -> dict[str, Any]:
    """A request's properties as the rules see them: deserialized as the SDK does, unknowns as `Unknown`."""
    value = marked(deserialize_properties(json_format.MessageToDict(struct)))
    return value if isinstance(value, dict) else {}


def resource_of(request: analyzer_pb2.AnalyzeRequest) -> Resource:
    return Resource(request.type, request.name, request.urn, props_of(request.properties))


def stack_of(request: analyzer_pb2.AnalyzeStackRequest) -> Stack:
    """Every resource with its parent and dependencies, kept only when they are in the stack (as the SDK links them)."""
    urns = {r.urn for r in request.resources}
    return Stack(
        tuple(
            Resource(
                type=r.type,
                name=r.name,
                urn=r.urn,
                props=props_of(r.properties),
                parent=r.parent if r.parent in urns else None,
                dependencies=tuple(d for d in r.dependencies if d in urns),
                property_dependencies={
                    prop: tuple(d for d in deps.urns if d in urns) for prop, deps in r.propertyDependencies.items()
                },
            )
            for r in request.resources
        )
    )


_SERVED: ContextVar[list[Policy] | None] = ContextVar("keyless_guard_served_policies", default=None)
"""While an Analyze request is served: the policies of the rules that apply to its resource type."""


class SharedConversionServicer(sdk._PolicyAnalyzerServicer):  # the (private) class PolicyPack serves with
    """The SDK's servicer, given each request's properties once for all rules, and only the rules that apply."""

    resource_types: ClassVar[dict[str, frozenset[str]]] = {}
    """Resource rule name -> the types it declares (set by `install`)."""

    def Analyze(self, request: analyzer_pb2.AnalyzeRequest, context: Any) -> Any:
        shared = SHARED_RESOURCE.set(cache(lambda: resource_of(request)))
        served = _SERVED.set(self._applicable(request.type))
        try:
            return super().Analyze(_without(request, "properties"), context)  # type: ignore[no-untyped-call]
        finally:
            _SERVED.reset(served)
            SHARED_RESOURCE.reset(shared)

    def AnalyzeStack(self, request: analyzer_pb2.AnalyzeStackRequest, context: Any) -> Any:
        token = SHARED_STACK.set(stack_of(request))
        try:
            return super().AnalyzeStack(_without(request, "resources"), context)  # type: ignore[no-untyped-call]
        finally:
            SHARED_STACK.reset(token)

    # The SDK keeps the pack's policies in its private `__policies` and walks all of them in every request: in
    # Analyze it converts the properties and builds the arguments for each resource policy before the policy can
    # tell that the resource's type is not its concern. While an Analyze request is served, this attribute is the
    # list of the resource policies whose rule declares the request's type (in pack order), so the SDK's per-policy
    # work is done only for them. The response is the same: a skipped rule would have returned without a word.
    # GetAnalyzerInfo, Configure and AnalyzeStack see every policy.
    @property
    def _PolicyAnalyzerServicer__policies(self) -> list[Policy]:
        served = _SERVED.get()
        return self._all_policies if served is None else served

    @_PolicyAnalyzerServicer__policies.setter
    def _PolicyAnalyzerServicer__policies(self, policies: list[Policy]) -> None:
        self._all_policies = policies
        self._by_type: dict[str, list[Policy]] = {}

    def _applicable(self, resource_type: str) -> list[Policy]:
        found = self._by_type.get(resource_type)
        if found is None:
            found = [
                policy
                for policy in self._all_policies
                if isinstance(policy, ResourceValidationPolicy)
                and resource_type in self.resource_types.get(policy.name, frozenset({resource_type}))
            ]
            self._by_type[resource_type] = found
        return found


def _without(request: Any, field: str) -> Any:
    """A copy of `request` without `field`, every other field (options, provider, later additions) kept."""
    light = type(request)()
    light.CopyFrom(request)
    light.ClearField(field)
    return light


def install(rules: Iterable[Rule]) -> bool:
    """Make the PolicyPack built next serve `rules` through `SharedConversionServicer`; False if the SDK is not 1.21."""
    if not VERSION.startswith(SUPPORTED_SDK):
        return False
    SharedConversionServicer.resource_types = {
        rule.name: rule.resource_types for rule in rules if isinstance(rule, ResourceRule)
    }
    # The SDK inspects Settings' signature on every request to learn whether it takes `organization`; inspect
    # honours a precomputed `__signature__`, so the answer is computed once.
    pulumi.runtime.Settings.__signature__ = inspect.signature(pulumi.runtime.Settings)  # type: ignore[attr-defined]
    sdk._PolicyAnalyzerServicer = SharedConversionServicer  # type: ignore[misc]
    return True
