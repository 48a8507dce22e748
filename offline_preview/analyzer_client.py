"""Run a CrossGuard policy pack offline, through the gRPC Analyzer protocol the Pulumi CLI speaks.

    with PackProcess(Path("policies"), project="keyless-ingest", stack="prod") as pack:
        pack.configure({"all": "mandatory"})
        violations = pack.analyze(resource) + pack.analyze_stack(resources)

or, for one preview, `analyze(resources, pack_dir=..., policy_config=..., project=..., stack=...)`.

The pack is launched as the CLI's Python language host launches it: `python -u -m pulumi.policy <engine-address>
<pack-dir>` with the pack directory as working directory and PULUMI_PROJECT, PULUMI_STACK, PULUMI_DRY_RUN and
PULUMI_CONFIG set; the first line of its stdout is the port. pulumi_policy 1.21 never dials the engine address (it
configures the runtime without an engine), but a small in-process Engine service answers on it anyway, so a pack
that logs through the engine works and its log lines appear in error messages.

Values are sent as the engine sends them: unknowns as the engine's unknown sentinel, assets and archives as
signature maps (with absolute paths, since the pack runs in another directory than the program), secrets as plain
values. `Analyze` gets each resource's inputs; `AnalyzeStack` gets every resource's outputs with parent,
dependencies and property dependencies, as the engine's step generator does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import grpc  # type: ignore[import-untyped]
import pulumi
import yaml
from google.protobuf import empty_pb2, struct_pb2  # type: ignore[import-untyped]
from pulumi_policy.deserialize import SPECIAL_ARCHIVE_SIG, SPECIAL_ASSET_SIG, SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from mock_engine.pulumi_internals import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc
from mock_engine.recorded import RecordedResource
from offline_preview.errors import PolicyPackError

LEVELS: Final = ("advisory", "mandatory", "remediate", "disabled")
_CANT_RUN: Final = "can't run policy"
# A pack that applies exemptions (keyless-guard does, see policies/keyless_guard/exemptions.py) says so on the last
# line of the violation's message, with the exemption as JSON, so the CLI shows it and this driver can list it.
_EXEMPTION_LINE: Final = re.compile(
    r"^(?:exemption: |exemption expired on \S+ and no longer applies: |stale exemption: )\{"
)
EXEMPTED, EXPIRED, STALE = "exempted", "expired", "stale"
_STARTUP_TIMEOUT: Final = 60.0


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    """advisory, mandatory, remediate or disabled."""
    severity: str
    """low, medium, high, critical, or empty when the policy declares none."""
    urn: str
    message: str
    """What the rule reported (the policy description is in `description`)."""
    description: str
    exemption: Mapping[str, Any] | None = None
    """The policy config's exemption this diagnostic is about (rule, index, resource, reason, approvedBy, expires)."""
    exemption_state: str = ""
    """"exempted" (waived, reported as advisory), "expired" (the violation stands), "stale" (matched nothing), or ""."""

    @property
    def cant_run(self) -> bool:
        """True for the SDK's advisory that a policy could not run because it met an unknown value."""
        return self.message.startswith(_CANT_RUN)


@dataclass(frozen=True)
class PolicyInfo:
    """One policy of the pack as GetAnalyzerInfo describes it, with the level this run's config gave it."""

    name: str
    description: str
    enforcement: str
    """The configured level: advisory, mandatory, remediate or disabled."""
    severity: str
    remediation: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyReport:
    pack_name: str
    pack_version: str
    violations: list[Violation]
    """Every diagnostic, including the advisories for policies that could not run on unknown values."""
    not_run_for_unknowns: int
    policies: tuple[PolicyInfo, ...] = ()
    """Every policy of the pack, in the pack's order (for SARIF's rule list)."""

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]

    def in_state(self, state: str) -> list[Violation]:
        """The diagnostics about exemptions in `state` (EXEMPTED, EXPIRED or STALE)."""
        return [v for v in self.violations if v.exemption_state == state]


# --- values as the engine sends them


def to_wire(value: Any, base_dir: Path) -> Any:
    """A recorded property value as the engine would put it in a protobuf Struct."""
    if isinstance(value, pulumi.output.Unknown) or value == UNKNOWN_STRING_VALUE:
        return UNKNOWN_STRING_VALUE
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return _asset_to_wire(value, base_dir)
    if isinstance(value, Mapping):
        if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG:
            return to_wire(value.get("value"), base_dir)
        return {str(k): to_wire(v, base_dir) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(item, base_dir) for item in value]
    raise PolicyPackError(f"cannot send a {type(value).__name__} to a policy pack")


def _asset_to_wire(value: pulumi.Asset | pulumi.Archive, base_dir: Path) -> dict[str, Any]:
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        sig = SPECIAL_ASSET_SIG if isinstance(value, pulumi.Asset) else SPECIAL_ARCHIVE_SIG
        return {SPECIAL_SIG_KEY: sig, "path": str((base_dir / str(value.path)).resolve())}
    if isinstance(value, pulumi.StringAsset):
        return {SPECIAL_SIG_KEY: SPECIAL_ASSET_SIG, "text": str(value.text)}
    if isinstance(value, pulumi.RemoteAsset | pulumi.RemoteArchive):
        sig = SPECIAL_ASSET_SIG if isinstance(value, pulumi.Asset) else SPECIAL_ARCHIVE_SIG
        return {SPECIAL_SIG_KEY: sig, "uri": str(value.uri)}
    if isinstance(value, pulumi.AssetArchive):
        assets = {name: _asset_to_wire(member, base_dir) for name, member in value.assets.items()}
        return {SPECIAL_SIG_KEY: SPECIAL_ARCHIVE_SIG, "assets": assets}
    raise PolicyPackError(f"cannot send a {type(value).__name__} to a policy pack")


def _struct(props: Mapping[str, Any], base_dir: Path) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(to_wire(props, base_dir))
    return struct


# --- policy config in the CLI's --policy-pack-config format


def policy_configs(
    info: analyzer_pb2.AnalyzerInfo, user_config: Mapping[str, Any] | None
) -> dict[str, analyzer_pb2.PolicyConfig]:
    """Per-policy levels and properties: the pack's defaults, then `all`, then each policy's own entry."""
    user_config = dict(user_config or {})
    names = {policy.name for policy in info.policies}
    unknown = sorted(set(user_config) - names - {"all"})
    if unknown:
        raise PolicyPackError(f"policy config names policies that {info.name} does not have: {', '.join(unknown)}")
    default_all = _level(user_config["all"], "all") if "all" in user_config else None
    configs = {}
    for policy in info.policies:
        level = analyzer_pb2.EnforcementLevel.Name(policy.enforcementLevel).lower()
        properties: dict[str, Any] = {}
        initial = info.initialConfig.get(policy.name)
        if initial is not None:
            level = analyzer_pb2.EnforcementLevel.Name(initial.enforcementLevel).lower()
            properties.update(json.loads(json.dumps(dict(initial.properties))))
        level = default_all or level
        entry = user_config.get(policy.name)
        if isinstance(entry, str):
            level = _level(entry, policy.name)
        elif isinstance(entry, Mapping):
            level = _level(entry.get("enforcementLevel", level), policy.name)
            properties.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
        elif entry is not None:
            raise PolicyPackError(f"policy config for {policy.name} must be a level or an object")
        config = analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.EnforcementLevel.Value(level.upper()))
        config.properties.update(properties)
        configs[policy.name] = config
    return configs


def _level(value: Any, where: str) -> str:
    if value not in LEVELS:
        raise PolicyPackError(f"policy config {where}: enforcement level must be one of {', '.join(LEVELS)}")
    return str(value)


# --- the pack process


class _Engine(engine_pb2_grpc.EngineServicer):
    """The engine's Log endpoint, for packs that log through it."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.lines.append(str(request.message))
        return empty_pb2.Empty()


@dataclass
class PackProcess:
    """One running policy pack; start it once and call Analyze / AnalyzeStack as often as needed."""

    pack_dir: Path
    project: str
    stack: str
    dry_run: bool = True
    stack_config: Mapping[str, str] = field(default_factory=dict)
    python: str = sys.executable
    base_dir: Path = field(default_factory=Path.cwd)
    """Directory relative asset and archive paths are resolved against (the program's directory)."""

    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _stderr: IO[bytes] | None = field(default=None, init=False, repr=False)
    _channel: grpc.Channel | None = field(default=None, init=False, repr=False)
    _engine_server: grpc.Server | None = field(default=None, init=False, repr=False)
    _engine: _Engine = field(default_factory=_Engine, init=False, repr=False)
    _stub: analyzer_pb2_grpc.AnalyzerStub | None = field(default=None, init=False, repr=False)
    _info: analyzer_pb2.AnalyzerInfo | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> PackProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        pack_dir = self.pack_dir.resolve()
        if not (pack_dir / "__main__.py").is_file():
            raise PolicyPackError(f"{pack_dir} is not a Python policy pack (no __main__.py)")
        self._engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine, self._engine_server)
        engine_port = self._engine_server.add_insecure_port("127.0.0.1:0")
        self._engine_server.start()
        env = {
            **os.environ,
            "PULUMI_PROJECT": self.project,
            "PULUMI_STACK": self.stack,
            "PULUMI_DRY_RUN": "true" if self.dry_run else "false",
            "PULUMI_CONFIG": json.dumps(dict(self.stack_config)),
        }
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the process's lifetime
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter running the pack, no shell
            [self.python, "-u", "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", str(pack_dir)],
            cwd=pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        port = self._read_port()
        self._channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)]
        )
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        self._info = self._call(self._stub.GetAnalyzerInfo, empty_pb2.Empty())

    def _read_port(self) -> int:
        if self._process is None or self._process.stdout is None:
            raise PolicyPackError("the policy pack is not running")
        port = read_plugin_port(self._process.stdout, _STARTUP_TIMEOUT)
        if port is None:
            self.close()
            raise PolicyPackError(f"the policy pack in {self.pack_dir} did not start:\n{self.stderr_text()}")
        return port

    def stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip()
        logged = "\n".join(self._engine.lines)
        return "\n".join(part for part in (text, logged) if part) or "(no output)"

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                # The pack refused its input (a config error) and said why in one line: show that line alone.
                raise PolicyPackError(str(exc.details())) from exc
            raise PolicyPackError(
                f"the policy pack failed on {type(request).__name__}: {exc.details()}\n{self.stderr_text()}"
            ) from exc

    @property
    def info(self) -> analyzer_pb2.AnalyzerInfo:
        if self._info is None:
            raise PolicyPackError("the policy pack is not running")
        return self._info

    @property
    def version(self) -> str:
        """The version in PulumiPolicy.yaml, which the CLI reports (pulumi_policy itself always says 0.0.1)."""
        manifest = self.pack_dir / "PulumiPolicy.yaml"
        if manifest.is_file():
            version = (yaml.safe_load(manifest.read_text()) or {}).get("version")
            if version:
                return str(version)
        return self.info.version

    @property
    def stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        if self._stub is None:
            raise PolicyPackError("the policy pack is not running")
        return self._stub

    def configure(self, policy_config: Mapping[str, Any] | None) -> None:
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, config in policy_configs(self.info, policy_config).items():
            request.policyConfig[name].CopyFrom(config)
        self._call(self.stub.Configure, request)

    def policies(self, policy_config: Mapping[str, Any] | None) -> tuple[PolicyInfo, ...]:
        """The pack's policies with the levels `policy_config` gives them."""
        configs = policy_configs(self.info, policy_config)
        found = []
        for policy in self.info.policies:
            severity = analyzer_pb2.PolicySeverity.Name(policy.severity).removeprefix("POLICY_SEVERITY_").lower()
            level = analyzer_pb2.EnforcementLevel.Name(configs[policy.name].enforcementLevel).lower()
            found.append(
                PolicyInfo(
                    name=policy.name,
                    description=policy.description,
                    enforcement=level,
                    severity="" if severity == "unspecified" else severity,
                    remediation=policy.remediation_steps,
                    tags=tuple(policy.tags),
                )
            )
        return tuple(found)

    def analyze(self, resource: RecordedResource) -> list[Violation]:
        """Analyze one resource's inputs, as the engine does before each step."""
        request = analyzer_pb2.AnalyzeRequest(
            type=resource.type,
            properties=_struct(resource.inputs, self.base_dir),
            urn=resource.urn,
            name=resource.name,
            options=analyzer_pb2.AnalyzerResourceOptions(parent=resource.parent or ""),
        )
        return self._violations(self._call(self.stub.Analyze, request), resource.urn)

    def analyze_stack(self, resources: Sequence[RecordedResource]) -> list[Violation]:
        """Analyze every resource's outputs at once, with the dependency graph, as the engine does at the end."""
        request = analyzer_pb2.AnalyzeStackRequest(resources=[self._stack_resource(r) for r in resources])
        root = next((r.urn for r in resources if r.type == "pulumi:pulumi:Stack"), "")
        return self._violations(self._call(self.stub.AnalyzeStack, request), root)

    def _stack_resource(self, resource: RecordedResource) -> analyzer_pb2.AnalyzerResource:
        return analyzer_pb2.AnalyzerResource(
            type=resource.type,
            properties=_struct(resource.outputs, self.base_dir),
            urn=resource.urn,
            name=resource.name,
            options=analyzer_pb2.AnalyzerResourceOptions(parent=resource.parent or ""),
            parent=resource.parent or "",
            dependencies=list(resource.dependencies),
            propertyDependencies={
                prop: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
                for prop, urns in resource.property_dependencies.items()
            },
        )

    @staticmethod
    def _violations(response: analyzer_pb2.AnalyzeResponse, default_urn: str) -> list[Violation]:
        return list(_diagnostics(response, default_urn))

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        if self._engine_server is not None:
            self._engine_server.stop(grace=None)
            self._engine_server = None
        self._stub = None


def _diagnostics(response: analyzer_pb2.AnalyzeResponse, default_urn: str) -> Iterator[Violation]:
    for diagnostic in response.diagnostics:
        message = diagnostic.message
        if diagnostic.description and message.startswith(diagnostic.description):
            message = message[len(diagnostic.description) :].lstrip("\n") or message
        severity = analyzer_pb2.PolicySeverity.Name(diagnostic.severity).removeprefix("POLICY_SEVERITY_").lower()
        exemption, state = _exemption(message)
        yield Violation(
            policy=diagnostic.policyName,
            enforcement=analyzer_pb2.EnforcementLevel.Name(diagnostic.enforcementLevel).lower(),
            severity="" if severity == "unspecified" else severity,
            urn=diagnostic.urn or default_urn,
            message=message,
            description=diagnostic.description,
            exemption=exemption,
            exemption_state=state,
        )


def _exemption(message: str) -> tuple[dict[str, Any] | None, str]:
    """The exemption a pack names on the message's last line, and whether it applied, expired or matched nothing."""
    last = message.rstrip().rsplit("\n", 1)[-1]
    found = _EXEMPTION_LINE.match(last)
    if found is None:
        return None, ""
    try:
        exemption, _ = json.JSONDecoder().raw_decode(last, found.end() - 1)
    except ValueError:
        return None, ""
    if not isinstance(exemption, dict):
        return None, ""
    state = STALE if last.startswith("stale") else EXPIRED if last.startswith("exemption expired") else EXEMPTED
    return exemption, state


def analyze(
    resources: Sequence[RecordedResource],
    *,
    pack_dir: Path,
    policy_config: Mapping[str, Any] | None,
    project: str,
    stack: str,
    dry_run: bool = True,
    stack_config: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    python: str | None = None,
) -> PolicyReport:
    """One preview's policy run: start the pack, configure it, Analyze each resource, AnalyzeStack once, stop.
    `python` is the interpreter to run it with (default: this one)."""
    with PackProcess(
        pack_dir,
        project,
        stack,
        dry_run,
        dict(stack_config or {}),
        python=python or sys.executable,
        base_dir=base_dir or Path.cwd(),
    ) as pack:
        return run_pack(pack, resources, policy_config)


def run_pack(
    pack: PackProcess, resources: Sequence[RecordedResource], policy_config: Mapping[str, Any] | None
) -> PolicyReport:
    """Configure a running pack and analyze one stack with it."""
    pack.configure(policy_config)
    violations = [v for resource in resources for v in pack.analyze(resource)]
    violations += pack.analyze_stack(resources)
    return PolicyReport(
        pack_name=pack.info.name,
        pack_version=pack.version,
        violations=violations,
        not_run_for_unknowns=sum(v.cant_run for v in violations),
        policies=pack.policies(policy_config),
    )


def read_plugin_port(stdout: IO[bytes], timeout: float) -> int | None:
    """The port a Pulumi plugin (policy pack, provider) prints on its first stdout line, as the CLI reads it; None
    when it prints no port within `timeout` seconds. Stdout keeps being drained afterwards, so that a plugin that
    prints cannot fill the pipe and block."""
    first: list[bytes] = []
    reader = threading.Thread(target=lambda: first.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    line = first[0].strip() if first else b""
    if not line.isdigit():
        return None
    threading.Thread(target=stdout.read, daemon=True).start()
    return int(line)
