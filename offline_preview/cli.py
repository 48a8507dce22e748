"""Offline `pulumi preview`: run a Pulumi program under mocks and show the resources it would create.

    venv/bin/python -m offline_preview [--stack prod] [--program DIR] [--json] [--invoke-answers FILE] [--install]
        [--policy-pack DIR] [--policy-config FILE] [--no-policy] [--first-preview] [--sarif FILE]

The program runs for real (the same `__main__.py` the Pulumi CLI runs, in DIR, in the virtualenv its Pulumi.yaml
names) with the stack's config read from `DIR/Pulumi.<stack>.yaml` over the defaults declared in `DIR/Pulumi.yaml`.
Resources go to mocks that answer with plausible values (ARNs in account 111122223333, the configured region,
deterministic ids); invokes (`aws.get_caller_identity`, `get_ami`, `iam.get_policy_document`, ...) answer as AWS
would. Nothing reaches AWS or the Pulumi service.

The keyless-guard policy pack then analyses every resource through the Pulumi Analyzer protocol
(offline_preview.analyzer_client) and its diagnostics are shown under their resources (offline_preview.policy_preview).

Exit codes: 0 the program ran and no mandatory policy failed, 1 a mandatory policy violation (or a component built by
a provider plugin, which the pack could not look inside, where the stack's policy config makes that mandatory:
offline_preview.remote_components), 2 the program (or its config, or the policy pack) failed; its own error message
is shown.

This module is the command line only. The parts: offline_preview.stack_config (Pulumi.yaml and stack config),
offline_preview.program_env (which interpreter, --install), mock_engine.program_run (the run under mocks),
mock_engine.mocks and mock_engine.invoke_answers (what the mocks answer), offline_preview.render (tree and JSON),
mock_engine.pulumi_internals (the private Pulumi names all of this needs).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from mock_engine.invoke_answers import ACCOUNT_ID
from mock_engine.program_run import ProgramRun, RunRequest, run_under_mocks
from mock_engine.recorded import RecordedResource
from offline_preview import pack_start, policy_preview, remote_components
from offline_preview.analyzer_client import PackProcess
from offline_preview.errors import PolicyPackError, PreviewError
from offline_preview.program_env import REPO_ROOT, install, pack_python, request_for, run, run_program
from offline_preview.render import diagnostics, render_tree, resources_json, short_type, to_jsonable
from offline_preview.stack_config import load_stack_config

EXIT_OK, EXIT_PROGRAM_ERROR = 0, 2

# The names other modules and tests import from `offline_preview.cli`, the preview's entry point.
__all__ = [
    "ACCOUNT_ID",
    "EXIT_OK",
    "EXIT_PROGRAM_ERROR",
    "REPO_ROOT",
    "PreviewError",
    "ProgramRun",
    "build_parser",
    "load_stack_config",
    "main",
    "render_tree",
    "resources_json",
    "run_program",
    "run_under_mocks",
    "short_type",
    "to_jsonable",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m offline_preview", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stack", default="prod", help="stack whose Pulumi.<stack>.yaml to use (default: prod)")
    parser.add_argument(
        "--program",
        type=Path,
        default=REPO_ROOT,
        help="directory of the Pulumi program (default: the repo root)",
    )
    parser.add_argument("--json", action="store_true", help="print the resources as JSON instead of a tree")
    parser.add_argument(
        "--invoke-answers",
        type=Path,
        metavar="FILE",
        help='JSON {"<invoke token>": {<camelCase result fields>}} for invokes the preview cannot answer (or to '
        "override an answer)",
    )
    parser.add_argument(
        "--install",
        action="store_true",
        help="first create the virtualenv Pulumi.yaml names and install requirements.txt into it (as pulumi install)",
    )
    policy_preview.add_arguments(parser)
    return parser


def read_invoke_answers(path: Path | None) -> dict[str, Mapping[str, Any]]:
    """The --invoke-answers file: invoke token -> result fields. Raises PreviewError naming what is wrong."""
    if path is None:
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PreviewError(f"{path}: cannot read the invoke answers ({exc})") from exc
    if not isinstance(document, dict) or not all(
        isinstance(token, str) and isinstance(fields, dict) for token, fields in document.items()
    ):
        raise PreviewError(f'{path}: invoke answers must be a JSON object {{"<token>": {{"<field>": value}}}}')
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.sarif is not None and options.no_policy:
        parser.error("--sarif writes the policy pack's findings: it cannot be combined with --no-policy")
    try:
        program_dir = options.program.resolve()
        if options.install:
            install(program_dir)
        stack_config = load_stack_config(program_dir, options.stack)
        warning = stack_config.placeholder_warning()
        if warning:
            print(warning, file=sys.stderr)
        request = request_for(
            program_dir,
            options.stack,
            options.first_preview,
            invoke_answers=read_invoke_answers(options.invoke_answers),
            stack_config=stack_config,
        )
        starting = None if options.no_policy else _start_pack(options, request, program_dir)
        try:
            program_run = run(request, program_dir)
            report = policy_preview.run_policies(
                options,
                program_run.resources,
                project=program_run.project,
                stack=program_run.stack,
                stack_config=program_run.config,
                pack=starting.result() if starting is not None else None,
            )
        finally:
            pack_start.close(starting)
        policy_preview.write_sarif(
            options, report, program_run.resources, project=program_run.project, stack_config=program_run.config
        )
        remote = remote_components.find(program_run.resources)
        enforcement = None
        if report is not None and remote:
            config = policy_preview.policy_config(options.policy_config, request.project, request.config, program_dir)
            enforcement = remote_components.level(config)
    except (PreviewError, PolicyPackError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROGRAM_ERROR
    if options.json:
        if program_run.program_output.strip():
            # stdout is the JSON document alone; what the program printed goes with the other diagnostics.
            print(diagnostics(program_run), file=sys.stderr)
        document = {
            "resources": resources_json(program_run),
            **policy_preview.json_fields(report),
            **remote_components.json_fields(remote, enforcement),
        }
        print(json.dumps(document, indent=2))
    else:
        print(render_tree(program_run, _with_remote_notes(policy_preview.annotator(report), remote, enforcement)))
        print(policy_preview.summary(report) + remote_components.summary(remote, enforcement))
    if enforcement == "mandatory":
        return policy_preview.EXIT_MANDATORY
    return policy_preview.exit_code(report, EXIT_OK)


def _start_pack(options: argparse.Namespace, request: RunRequest, program_dir: Path) -> Future[PackProcess]:
    """The pack, started while the program runs (offline_preview.pack_start), in the interpreter the CLI would use."""
    pack = PackProcess(
        options.policy_pack,
        request.project,
        request.stack,
        True,
        dict(request.config),
        python=pack_python(options.policy_pack),
        base_dir=program_dir,
    )
    return pack_start.start(pack)


def _with_remote_notes(
    annotate: Callable[[RecordedResource], Sequence[str]] | None,
    remote: Sequence[remote_components.RemoteComponent],
    enforcement: str | None,
) -> Callable[[RecordedResource], Sequence[str]] | None:
    """The pack's lines under each resource, and under a remote component what the preview could not see in it."""
    if not remote:
        return annotate
    prefix = f"{enforcement}: [{remote_components.NAME}] " if enforcement else ""
    notes = {component.urn: f"{prefix}{component.note()}" for component in remote}

    def lines(resource: RecordedResource) -> Sequence[str]:
        base = list(annotate(resource)) if annotate else []
        return [*base, notes[resource.urn]] if resource.urn in notes else base

    return lines


if __name__ == "__main__":
    sys.exit(main())
