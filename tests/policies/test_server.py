"""The pack's servicer: one conversion per request shared by the rules that apply, and the same answers as the SDK's.

These run the servicer in process (no gRPC) to see what each rule is given; everything the CLI sees through the
protocol is covered by the other tests here, which all go through the real pack process and so through this servicer.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_policy.policy as sdk
import pytest
from google.protobuf import struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, Severity
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.policy import _PolicyAnalyzerServicer as StockServicer
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE
from pulumi_policy.version import VERSION

from keyless_guard import server
from keyless_guard.framework import Report, Resource, Rule, Stack, StackReport, resource_rule, stack_rule
from keyless_guard.server import SharedConversionServicer
from keyless_guard.values import Unknown, known

FUNCTION = "aws:lambda/function:Function"
KEY = "aws:kms/key:Key"
PROPS = {
    "name": "f",
    "timeout": 30,
    "publish": UNKNOWN_BOOLEAN_VALUE,
    "memorySize": UNKNOWN_NUMBER_VALUE,
    "environment": {"variables": {"A": "1", "B": UNKNOWN_STRING_VALUE}},
    "layers": ["arn:aws:lambda:eu-west-1:111122223333:layer:x:1", UNKNOWN_STRING_VALUE],
    "vpcConfig": {"subnetIds": UNKNOWN_STRING_VALUE, "securityGroupIds": []},
    "secretish": {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": "plain"},
    "nothing": None,
}
EXPECTED = {
    "name": "f",
    "timeout": 30,
    "publish": Unknown(UNKNOWN_BOOLEAN_VALUE),
    "memorySize": Unknown(UNKNOWN_NUMBER_VALUE),
    "environment": {"variables": {"A": "1", "B": Unknown(UNKNOWN_STRING_VALUE)}},
    "layers": ["arn:aws:lambda:eu-west-1:111122223333:layer:x:1", Unknown(UNKNOWN_STRING_VALUE)],
    "vpcConfig": {"subnetIds": Unknown(UNKNOWN_STRING_VALUE), "securityGroupIds": []},
    "secretish": "plain",
    "nothing": None,
}


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def _urn(name: str) -> str:
    return f"urn:pulumi:test::p::{FUNCTION}::{name}"


class Recorder:
    """Rules that remember what they were given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Resource | Stack]] = []

    def resource(self, name: str, types: tuple[str, ...], level: EnforcementLevel = EnforcementLevel.MANDATORY) -> Rule:
        def check(resource: Resource, report: Report) -> None:
            self.seen.append((name, resource))
            report(f"{name} saw {resource.name}")
            known(resource.props.get("memorySize"), "memorySize")

        return resource_rule(
            name=name,
            description=f"{name} rule.",
            level=level,
            severity=Severity.LOW,
            remediation="r",
            equivalent="none",
            resource_types=types,
        )(check)

    def stack(self, name: str) -> Rule:
        def check(stack: Stack, report: StackReport) -> None:
            self.seen.append((name, stack))
            report(f"{name} saw {len(stack.resources)}", stack.resources[0].urn)

        return stack_rule(
            name=name,
            description=f"{name} rule.",
            level=EnforcementLevel.MANDATORY,
            severity=Severity.LOW,
            remediation="r",
            equivalent="none",
        )(check)


def _servicer(
    cls: type[StockServicer], rules: list[Rule], monkeypatch: pytest.MonkeyPatch, policies: list[Any] | None = None
) -> Any:
    """The servicer PolicyPack would build (typed Any: the SDK's servicer methods are unannotated): the SDK's own, or,
    for ours, whatever `server.install(rules)` makes the SDK build, as policies/__main__.py does before PolicyPack."""
    if cls is SharedConversionServicer:
        # What install changes in the SDK's module and classes is put back after the test.
        monkeypatch.setattr(sdk, "_PolicyAnalyzerServicer", StockServicer)
        monkeypatch.setattr(SharedConversionServicer, "resource_types", SharedConversionServicer.resource_types)
        monkeypatch.setattr(pulumi.runtime.Settings, "__signature__", None, raising=False)
        assert server.install(rules)
        cls = sdk._PolicyAnalyzerServicer
        assert cls is SharedConversionServicer
    if policies is None:
        policies = [rule.policy() for rule in rules]
    return cls("test-pack", "0.0.1", policies, EnforcementLevel.MANDATORY)


def _analyze(servicer: Any, name: str, type_: str = FUNCTION) -> list[tuple[str, str, int]]:
    request = analyzer_pb2.AnalyzeRequest(type=type_, properties=_struct(PROPS), urn=_urn(name), name=name)
    response = servicer.Analyze(request, None)
    return sorted((d.policyName, d.message.split("\n")[-1], d.enforcementLevel) for d in response.diagnostics)


def _diagnostics(rule: str, name: str) -> list[tuple[str, str, int]]:
    """What a Recorder rule answers on PROPS: its violation, then the SDK's advisory for the unknown memorySize."""
    advisory = (
        f"can't run policy '{rule}' from policy pack 'test-pack@v0.0.1' during preview: "
        "number value at .memorySize can't be known during preview"
    )
    return [(rule, f"{rule} saw {name}", analyzer_pb2.MANDATORY), (rule, advisory, analyzer_pb2.ADVISORY)]


def test_the_pinned_sdk_is_the_one_the_servicer_was_written_for():
    # An SDK upgrade fails here: re-read pulumi_policy/policy.py (Analyze, AnalyzeStack, __policies) first.
    assert VERSION.startswith(server.SUPPORTED_SDK)


def test_analyze_gives_each_rule_what_the_sdk_would_once_per_request(monkeypatch):
    # GIVEN the same two function rules and one key rule, served by the SDK's servicer and by ours
    stock, shared = Recorder(), Recorder()
    answers = []
    for recorder, cls in ((stock, StockServicer), (shared, SharedConversionServicer)):
        rules = [
            recorder.resource("a", (FUNCTION,)),
            recorder.resource("b", (FUNCTION, KEY)),
            recorder.resource("k", (KEY,)),
        ]
        servicer = _servicer(cls, rules, monkeypatch)
        # WHEN a function and then a key are analyzed
        answers.append(sorted(_analyze(servicer, "f1") + _analyze(servicer, "k1", KEY)))
    # THEN both answer the same diagnostics: each rule's own violation and the SDK's advisory under its name
    assert (
        answers[0]
        == answers[1]
        == sorted(_diagnostics("a", "f1") + _diagnostics("b", "f1") + _diagnostics("b", "k1") + _diagnostics("k", "k1"))
    )
    # AND the rules got equal props, unknowns marked, from one conversion per request with ours
    assert [name for name, _ in shared.seen] == [name for name, _ in stock.seen] == ["a", "b", "b", "k"]
    assert shared.seen == stock.seen
    function = shared.seen[0][1]
    assert isinstance(function, Resource)
    assert function.props == EXPECTED
    assert shared.seen[1][1] is function
    assert stock.seen[1][1] is not stock.seen[0][1]


def test_after_install_the_sdk_calls_only_the_rules_that_declare_the_resources_type(monkeypatch):
    """What install sets up (server.install, as policies/__main__.py calls it): the SDK's per-policy work (argument
    building, the call) is done only for the rules whose types include the request's; the stock servicer calls all."""
    called: dict[type[StockServicer], list[tuple[str, str]]] = {}
    for cls in (StockServicer, SharedConversionServicer):
        recorder = Recorder()
        rules = [
            recorder.resource("a", (FUNCTION,)),
            recorder.resource("b", (FUNCTION, KEY)),
            recorder.resource("k", (KEY,)),
        ]
        calls = called.setdefault(cls, [])
        policies: list[Any] = [rule.policy() for rule in rules]
        for policy in policies:

            def counted(
                args: Any, report: Any, name: str = policy.name, validate: Any = policy.validate, calls: Any = calls
            ) -> Any:
                calls.append((name, args.resource_type))
                return validate(args, report)

            policy.validate = counted
        servicer = _servicer(cls, rules, monkeypatch, policies)

        _analyze(servicer, "f1")
        _analyze(servicer, "k1", KEY)

    assert called[StockServicer] == [(name, t) for t in (FUNCTION, KEY) for name in ("a", "b", "k")]
    assert called[SharedConversionServicer] == [("a", FUNCTION), ("b", FUNCTION), ("b", KEY), ("k", KEY)]


def test_per_policy_levels_still_apply(monkeypatch):
    recorder = Recorder()
    servicer = _servicer(
        SharedConversionServicer,
        [recorder.resource("a", (FUNCTION,)), recorder.resource("b", (FUNCTION,))],
        monkeypatch,
    )
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    request.policyConfig["a"].enforcementLevel = analyzer_pb2.DISABLED
    request.policyConfig["b"].enforcementLevel = analyzer_pb2.ADVISORY
    servicer.Configure(request, None)
    # a is disabled, b reports at the configured level, and its unknown-value advisory stays advisory
    assert _analyze(servicer, "f1") == [
        (rule, message, analyzer_pb2.ADVISORY) for rule, message, _ in _diagnostics("b", "f1")
    ]
    assert [name for name, _ in recorder.seen] == ["b"]


def test_analyzer_info_lists_every_policy(monkeypatch):
    recorder = Recorder()
    rules = [recorder.resource("a", (FUNCTION,)), recorder.resource("k", (KEY,)), recorder.stack("s")]
    servicer = _servicer(SharedConversionServicer, rules, monkeypatch)
    _analyze(servicer, "f1")
    info = servicer.GetAnalyzerInfo(None, None)
    assert [(p.name, p.policy_type) for p in info.policies] == [
        ("a", analyzer_pb2.POLICY_TYPE_RESOURCE),
        ("k", analyzer_pb2.POLICY_TYPE_RESOURCE),
        ("s", analyzer_pb2.POLICY_TYPE_STACK),
    ]


def test_analyze_stack_builds_one_stack_equal_to_the_sdks(monkeypatch):
    # GIVEN a stack whose edges partly point outside it (the SDK links only URNs in the stack)
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(type=FUNCTION, urn=_urn("f1"), name="f1", properties=_struct(PROPS)),
            analyzer_pb2.AnalyzerResource(
                type=FUNCTION,
                urn=_urn("f2"),
                name="f2",
                properties=_struct({"name": "f2"}),
                parent=_urn("f1"),
                dependencies=[_urn("f1"), _urn("gone")],
                propertyDependencies={
                    "role": analyzer_pb2.AnalyzerPropertyDependencies(urns=[_urn("f1"), _urn("gone")]),
                    "layers": analyzer_pb2.AnalyzerPropertyDependencies(urns=[_urn("gone")]),
                },
            ),
            analyzer_pb2.AnalyzerResource(type=KEY, urn=_urn("k"), name="k", parent=_urn("gone")),
        ]
    )
    stacks = []
    for cls in (StockServicer, SharedConversionServicer):
        recorder = Recorder()
        servicer = _servicer(cls, [recorder.stack("s1"), recorder.stack("s2")], monkeypatch)
        response = servicer.AnalyzeStack(request, None)
        assert sorted(d.policyName for d in response.diagnostics) == ["s1", "s2"]
        stacks.append([seen for _, seen in recorder.seen])
    (stock_1, stock_2), (shared_1, shared_2) = stacks
    assert shared_1 == stock_1 == stock_2
    assert shared_1 is shared_2
    assert isinstance(shared_1, Stack)
    f1, f2, k = shared_1.resources
    assert f1.props == EXPECTED
    assert (f2.parent, f2.dependencies, dict(f2.property_dependencies)) == (
        _urn("f1"),
        (_urn("f1"),),
        {"role": (_urn("f1"),), "layers": ()},
    )
    assert k.parent is None
