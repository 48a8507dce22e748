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

import dataclasses
import inspect
import threading
from collections.abc import Collection, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, Final

import grpc  # type: ignore[import-untyped]
import pulumi.runtime
import pulumi_policy.policy as sdk
from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import Policy, ResourceValidationPolicy
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.version import VERSION

from keyless_guard import exemptions
from keyless_guard.exemptions import Exemption, ExemptionConfigError
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
    pack_version: ClassVar[str | None] = None
    """The pack's own version (PulumiPolicy.yaml, set by `install`); the SDK would say 0.0.1 in every diagnostic."""
    never_exempt: ClassVar[frozenset[str]] = frozenset()
    """Rules that find credentials: an exemption for one is a config error (set by `install`)."""
    today: ClassVar[Any] = staticmethod(lambda: datetime.now(UTC).date())
    """The day exemptions expire against (UTC)."""

    def __init__(self, name: str, version: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, self.pack_version or version, *args, **kwargs)
        self._exemptions: dict[str, tuple[Exemption, ...]] = {}
        self._matched: set[tuple[str, int]] = set()
        self._stale_reported = False
        self._lock = threading.Lock()

    def Configure(self, request: analyzer_pb2.ConfigureAnalyzerRequest, context: Any) -> Any:
        """The SDK's Configure, then the exemptions in the same config; a bad one fails Configure with one line."""
        config = {name: json_format.MessageToDict(entry.properties) for name, entry in request.policyConfig.items()}
        try:
            parsed = exemptions.parse(config, self.never_exempt)
        except ExemptionConfigError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise  # abort raises; this line is for readers and type checkers
        response = super().Configure(request, context)  # type: ignore[no-untyped-call]
        with self._lock:
            self._exemptions, self._matched, self._stale_reported = parsed, set(), False
        return response

    def Analyze(self, request: analyzer_pb2.AnalyzeRequest, context: Any) -> Any:
        shared = SHARED_RESOURCE.set(cache(lambda: resource_of(request)))
        served = _SERVED.set(self._applicable(request.type))
        try:
            response = super().Analyze(_without(request, "properties"), context)  # type: ignore[no-untyped-call]
        finally:
            _SERVED.reset(served)
            SHARED_RESOURCE.reset(shared)
        self._apply_exemptions(response, {request.urn: request.name})
        return response

    def AnalyzeStack(self, request: analyzer_pb2.AnalyzeStackRequest, context: Any) -> Any:
        token = SHARED_STACK.set(stack_of(request))
        try:
            response = super().AnalyzeStack(_without(request, "resources"), context)  # type: ignore[no-untyped-call]
        finally:
            SHARED_STACK.reset(token)
        self._apply_exemptions(response, {r.urn: r.name for r in request.resources})
        self._report_stale(response)
        return response

    # Exemptions are applied to the SDK's answer, after every rule has run: a rule never knows it is exempted, so an
    # exemption cannot hide a violation from the rule's own tests, and what the CLI shows is one place's decision.
    def _apply_exemptions(self, response: Any, names: dict[str, str]) -> None:
        if not self._exemptions:
            return
        today = self.today()
        for diagnostic in response.diagnostics:
            candidates = self._exemptions.get(diagnostic.policyName, ())
            if not candidates or not diagnostic.urn or diagnostic.message.startswith("can't run policy"):
                continue
            name = names.get(diagnostic.urn, diagnostic.urn.rsplit("::", 1)[-1])
            matching = [e for e in candidates if e.matches(name, diagnostic.urn)]
            if not matching:
                continue
            live = [e for e in matching if not e.expired(today)]
            chosen = (live or matching)[0]
            with self._lock:  # every exemption that matched is in use, not stale, even when another one was chosen
                self._matched.update((e.rule, e.index) for e in matching)
            if live:
                diagnostic.enforcementLevel = analyzer_pb2.ADVISORY
                diagnostic.message = f"{diagnostic.message}\n{chosen.applied_line()}"
            else:
                diagnostic.message = f"{diagnostic.message}\n{chosen.expired_line()}"

    def _report_stale(self, response: Any) -> None:
        """Once per configuration, at the end of the stack's analysis: every exemption that matched no violation."""
        with self._lock:
            if self._stale_reported:
                return
            self._stale_reported = True
            stale = [e for rules in self._exemptions.values() for e in rules if (e.rule, e.index) not in self._matched]
        descriptions = {policy.name: policy.description for policy in self._all_policies}
        for exemption in stale:
            description = descriptions.get(exemption.rule, "")
            response.diagnostics.append(
                analyzer_pb2.AnalyzeDiagnostic(
                    policyName=exemption.rule,
                    policyPackName=getattr(self, "_PolicyAnalyzerServicer__policy_pack_name", ""),
                    policyPackVersion=getattr(self, "_PolicyAnalyzerServicer__policy_pack_version", ""),
                    description=description,
                    message=f"{description}\n{exemption.stale_line()}",
                    enforcementLevel=analyzer_pb2.ADVISORY,
                )
            )

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


def install(rules: Iterable[Rule], *, version: str | None = None, never_exempt: Collection[str] = ()) -> bool:
    """Make the PolicyPack built next serve `rules` through `SharedConversionServicer`; False if the SDK is not 1.21.

    `version` replaces the SDK's fixed 0.0.1 in GetAnalyzerInfo and every diagnostic; `never_exempt` names the rules
    an exemption may not waive.
    """
    if not VERSION.startswith(SUPPORTED_SDK):
        return False
    SharedConversionServicer.resource_types = {
        rule.name: rule.resource_types for rule in rules if isinstance(rule, ResourceRule)
    }
    SharedConversionServicer.pack_version = version
    SharedConversionServicer.never_exempt = frozenset(never_exempt)
    # The SDK inspects Settings' signature on every request to learn whether it takes `organization`; inspect
    # honours a precomputed `__signature__`, so the answer is computed once.
    pulumi.runtime.Settings.__signature__ = inspect.signature(pulumi.runtime.Settings)  # type: ignore[attr-defined]
    sdk._PolicyAnalyzerServicer = SharedConversionServicer  # type: ignore[misc]
    return True


def served_rules(rules: Iterable[Rule], *, installed: bool) -> list[Rule]:
    """The rules as the pack registers them: when `install` could not take over the servicer (another pulumi-policy
    release), exemptions are not applied, so every rule's schema refuses them and the CLI stops on the config file
    instead of ignoring a waiver."""
    return [rule if installed else dataclasses.replace(rule, exemptions_applied=False) for rule in rules]
