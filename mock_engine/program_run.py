"""Run a Pulumi program (or any function that builds resources) under the preview's mocks and record what it did.

This module runs in whichever interpreter runs the program: this project's venv, or the program's own virtualenv
(offline_preview.program_env starts `python -m mock_engine.program_run REQUEST RESULT` there). So it imports only
pulumi and its sibling modules in mock_engine, which need nothing else (no PyYAML): the caller reads the stack config.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import runpy
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from mock_engine import pulumi_internals
from mock_engine.errors import PreviewError
from mock_engine.mocks import STACK_TYPE, PreviewMocks, RecordingMonitor
from mock_engine.origins import ConstructionSites
from mock_engine.recorded import UNKNOWN, RecordedResource, secret


class _DiagnosticsHandler(logging.Handler):
    """pulumi.log under mocks goes to a logger; the CLI shows those messages under Diagnostics as `warning: ...`
    (debug only with --debug). Written to the current stdout, which the run captures with what the program prints."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        print(prefix + record.getMessage(), file=sys.stdout)


PROGRAM_LOG = logging.getLogger("mock_engine.program_log")
PROGRAM_LOG.setLevel(logging.INFO)
PROGRAM_LOG.propagate = False
PROGRAM_LOG.addHandler(_DiagnosticsHandler())


@dataclass(frozen=True)
class ProgramRun:
    """Everything one run of a program registered."""

    project: str
    stack: str
    config: Mapping[str, str]
    resources: list[RecordedResource]
    """In registration order; the first is the stack itself."""
    outputs: Mapping[str, Any] = field(default_factory=dict)
    """Stack exports, resolved (UNKNOWN where a first preview cannot know them)."""
    program_output: str = ""
    """What the program printed to stdout and logged with pulumi.log (`warning: ...`); the CLI shows both as the
    stack's diagnostics, never mixed with --json."""

    @property
    def stack_urn(self) -> str:
        return self.resources[0].urn


@dataclass(frozen=True)
class RunRequest:
    """One program run's parameters: what the CLI would hand the program, and how the mocks answer.

    It travels as JSON to a program's own interpreter (`to_json`/`from_json`), so it holds only plain values.
    """

    project: str
    stack: str
    config: Mapping[str, str]
    """`namespace:key` -> string, as the CLI hands it to a program."""
    region: str
    """The AWS region the mocks answer in (the stack's aws:region, else the environment's, as the provider reads it)."""
    secret_keys: frozenset[str] = frozenset()
    """Config keys whose values are secrets (`Config.require_secret` and `get` return them as secret outputs)."""
    first_preview: bool = False
    """As in the first preview of a new stack: computed outputs (ids, ARNs) are unknown."""
    invoke_answers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Extra or overriding invoke results, token -> camelCase fields (mock_engine.invoke_answers)."""
    program_dir: str = ""
    """The program's directory (its `__main__.py`), or "" for a function run by `run_body`."""

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "config": dict(self.config),
            "region": self.region,
            "secret_keys": sorted(self.secret_keys),
            "first_preview": self.first_preview,
            "invoke_answers": {token: dict(fields) for token, fields in self.invoke_answers.items()},
            "program_dir": self.program_dir,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> RunRequest:
        return cls(
            project=document["project"],
            stack=document["stack"],
            config=document["config"],
            region=document["region"],
            secret_keys=frozenset(document["secret_keys"]),
            first_preview=document["first_preview"],
            invoke_answers=document["invoke_answers"],
            program_dir=document["program_dir"],
        )


def run_under_mocks(
    body: Callable[[], object],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    first_preview: bool = False,
    invoke_answers: Mapping[str, Mapping[str, Any]] | None = None,
    source_root: Path | None = None,
) -> ProgramRun:
    """Run `body` (a test that builds components) under PreviewMocks, in the region `config` sets.

    With `source_root`, each resource also records where code under that directory constructed it (`sites`).
    """
    region = config.get("aws:region")
    if not region:
        raise PreviewError(f"aws:region is not set for stack {stack} (pulumi config set aws:region <region>)")
    request = RunRequest(
        project, stack, config, region, first_preview=first_preview, invoke_answers=invoke_answers or {}
    )
    return run_body(body, request, source_root=source_root)


def run_body(body: Callable[[], object], request: RunRequest, *, source_root: Path | None = None) -> ProgramRun:
    """Run `body` (a program, or a test that builds components) as a Pulumi program under PreviewMocks.

    With `source_root`, each resource also records where code under that directory constructed it (`sites`).
    """
    stack_urn = f"urn:pulumi:{request.stack}::{request.project}::{STACK_TYPE}::{request.project}-{request.stack}"
    mocks = PreviewMocks(request.region, first_preview=request.first_preview, invoke_answers=request.invoke_answers)
    monitor = RecordingMonitor(mocks, stack_urn)
    # A fresh root stack and settings per run, so one process can preview several programs in turn.
    pulumi_internals.reset_runtime()
    pulumi.runtime.set_all_config(dict(request.config), sorted(request.secret_keys))
    pulumi.runtime.set_mocks(
        mocks, project=request.project, stack=request.stack, preview=True, monitor=monitor, logger=PROGRAM_LOG
    )

    exports: dict[str, pulumi.Output[Any]] = {}
    sites = ConstructionSites(source_root) if source_root is not None else None

    def program() -> None:
        if sites is not None:
            sites.install()
        body()
        for name, value in pulumi_internals.stack_exports().items():
            exports[name] = pulumi.Output.from_input(value)

    try:
        pulumi_internals.run_program_function(program)
        outputs = {name: _resolve(output) for name, output in exports.items()}
        where = sites.by_urn(_resolve) if sites is not None else {}
    except PreviewError:
        raise
    except Exception as exc:
        raise PreviewError(_program_error(exc)) from exc

    stack_record = RecordedResource(
        urn=stack_urn,
        type=STACK_TYPE,
        name=f"{request.project}-{request.stack}",
        parent=None,
        inputs={},
        outputs={},
        custom=False,
    )
    recorded = [dataclasses.replace(r, sites=where[r.urn]) if r.urn in where else r for r in monitor.recorded]
    return ProgramRun(request.project, request.stack, dict(request.config), [stack_record, *recorded], outputs)


def run_entry_point(request: RunRequest) -> ProgramRun:
    """Run `request.program_dir/__main__.py` as the CLI's language host does: DIR as the working directory and first
    on `sys.path`, the program's stdout captured (it must not mix with --json)."""
    program_dir = Path(request.program_dir)
    entry = program_dir / "__main__.py"
    if not entry.is_file():
        raise PreviewError(f"{entry}: the program has no __main__.py")
    printed = io.StringIO()
    with _inside(program_dir), contextlib.redirect_stdout(printed):
        try:
            run = run_body(lambda: runpy.run_path(str(entry), run_name="__main__"), request, source_root=program_dir)
        except PreviewError as exc:
            raise PreviewError(_with_output(str(exc), printed.getvalue())) from exc
    return ProgramRun(run.project, run.stack, run.config, run.resources, run.outputs, printed.getvalue())


@contextlib.contextmanager
def _inside(program_dir: Path) -> Iterator[None]:
    previous = Path.cwd()
    sys.path.insert(0, str(program_dir))
    os.chdir(program_dir)
    try:
        yield
    finally:
        os.chdir(previous)
        sys.path.remove(str(program_dir))


def _with_output(message: str, printed: str) -> str:
    """A failed program's error, after what it printed (the CLI shows both)."""
    return f"{printed.rstrip()}\n{message}" if printed.strip() else message


def _resolve(output: pulumi.Output[Any]) -> Any:
    """An export's value, UNKNOWN when a preview cannot know it, marked secret when it is one (render shows
    `[secret]` for it, as `pulumi preview` does)."""
    known = pulumi_internals.sync_await(output.is_known())
    value = pulumi_internals.sync_await(output.future()) if known else UNKNOWN
    return secret(value) if pulumi_internals.sync_await(output.is_secret()) else value


def _program_error(exc: BaseException) -> str:
    if isinstance(exc, pulumi.RunError):
        return str(exc)
    # Anything else is a bug in the program: show where it happened.
    return "".join(traceback.format_exception(exc)).rstrip()


# --- a run in another interpreter: the request and the result travel as JSON files

_TAG = "$preview"


def encode(value: Any) -> Any:
    """A recorded value as JSON: UNKNOWN, assets and archives as tagged objects (decode reverses it)."""
    if value is UNKNOWN:
        return {_TAG: "unknown"}
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        return {_TAG: type(value).__name__, "path": value.path}
    if isinstance(value, pulumi.StringAsset):
        return {_TAG: "StringAsset", "text": value.text}
    if isinstance(value, pulumi.RemoteAsset | pulumi.RemoteArchive):
        return {_TAG: type(value).__name__, "uri": value.uri}
    if isinstance(value, pulumi.AssetArchive):
        return {_TAG: "AssetArchive", "assets": {name: encode(item) for name, item in value.assets.items()}}
    if isinstance(value, Mapping):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict) and _TAG in value:
        kind = value[_TAG]
        if kind == "unknown":
            return UNKNOWN
        if kind == "AssetArchive":
            return pulumi.AssetArchive({name: decode(item) for name, item in value["assets"].items()})
        constructors: dict[str, Callable[[str], Any]] = {
            "FileAsset": pulumi.FileAsset,
            "FileArchive": pulumi.FileArchive,
            "StringAsset": pulumi.StringAsset,
            "RemoteAsset": pulumi.RemoteAsset,
            "RemoteArchive": pulumi.RemoteArchive,
        }
        return constructors[kind](value.get("path") or value.get("text") or value.get("uri") or "")
    if isinstance(value, dict):
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def run_to_json(run: ProgramRun) -> dict[str, Any]:
    return {
        "project": run.project,
        "stack": run.stack,
        "config": dict(run.config),
        "outputs": encode(run.outputs),
        "program_output": run.program_output,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "inputs": encode(r.inputs),
                "outputs": encode(r.outputs),
                "dependencies": list(r.dependencies),
                "property_dependencies": {key: list(urns) for key, urns in r.property_dependencies.items()},
                "provider": r.provider,
                "custom": r.custom,
                "sites": [list(site) for site in r.sites],
                "remote": r.remote,
            }
            for r in run.resources
        ],
    }


def run_from_json(document: Mapping[str, Any]) -> ProgramRun:
    resources = [
        RecordedResource(
            urn=r["urn"],
            type=r["type"],
            name=r["name"],
            parent=r["parent"],
            inputs=decode(r["inputs"]),
            outputs=decode(r["outputs"]),
            dependencies=tuple(r["dependencies"]),
            property_dependencies={key: tuple(urns) for key, urns in r["property_dependencies"].items()},
            provider=r["provider"],
            custom=r["custom"],
            sites=tuple((str(path), int(line)) for path, line in r.get("sites", ())),
            remote=r["remote"],
        )
        for r in document["resources"]
    ]
    return ProgramRun(
        document["project"],
        document["stack"],
        document["config"],
        resources,
        decode(document["outputs"]),
        document["program_output"],
    )


def main(argv: list[str]) -> int:
    """`python -m mock_engine.program_run REQUEST RESULT`: run the program the request names, write the run or error."""
    request = RunRequest.from_json(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    try:
        run = run_entry_point(request)
        result: dict[str, Any] = {"run": run_to_json(run)}
    except PreviewError as exc:
        result = {"error": str(exc)}
    Path(argv[1]).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
