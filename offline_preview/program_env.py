"""Which Python runs a program, as the Pulumi CLI decides it, and `--install` (what `pulumi install` does for pip).

The CLI runs a Python program in the virtualenv its `Pulumi.yaml` names:

    runtime:
      name: python
      options:
        toolchain: pip        # or uv (default virtualenv .venv); poetry manages its own and is not supported here
        virtualenv: venv      # relative to the project directory

(runtime options: https://www.pulumi.com/docs/iac/concepts/projects/project-file/ and
https://www.pulumi.com/docs/iac/languages-sdks/python/). A program with no virtualenv runs in this project's venv,
in this process. A program with one runs in that virtualenv's interpreter (`python -m mock_engine.program_run`, this
repository on PYTHONPATH), so its own pinned `pulumi_aws`, `pulumi_random` or `pulumi_awsx` are the ones imported;
the run comes back as JSON. The policy pack runs in its own process either way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mock_engine.errors import PreviewError
from mock_engine.program_run import ProgramRun, run_entry_point, run_from_json
from offline_preview.stack_config import load_project, load_stack_config

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_SECONDS = 600
"""A program in its own interpreter gets as long as a slow real preview; past that it is reported as hung."""


def virtualenv_dir(program_dir: Path) -> Path | None:
    """The virtualenv the project's Pulumi.yaml names, or None (run with this interpreter)."""
    _, document = load_project(program_dir)
    runtime = document.get("runtime")
    options = runtime.get("options") if isinstance(runtime, dict) else None
    if not isinstance(options, dict):
        return None
    toolchain = options.get("toolchain") or "pip"
    virtualenv = options.get("virtualenv")
    if toolchain == "poetry":
        raise PreviewError(
            f"{program_dir / 'Pulumi.yaml'}: toolchain poetry is not supported by the offline preview; "
            "set runtime.options.toolchain: pip with a virtualenv"
        )
    if toolchain == "uv" and not virtualenv:
        virtualenv = ".venv"
    if not virtualenv:
        return None
    if not isinstance(virtualenv, str):
        raise PreviewError(f"{program_dir / 'Pulumi.yaml'}: runtime.options.virtualenv must be a path")
    return (program_dir / virtualenv).resolve()


def _interpreter(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _is_this_interpreter(venv: Path) -> bool:
    """True if `venv` is the virtualenv this process runs in (same packages: no need for a second process)."""
    return venv.exists() and Path(sys.prefix).resolve() == venv.resolve()


def install(program_dir: Path) -> Path | None:
    """Create the program's virtualenv and install its requirements.txt, as `pulumi install` does with pip.

    Returns the virtualenv, or None when Pulumi.yaml names none (nothing to install: the program runs here).
    """
    venv = virtualenv_dir(program_dir)
    if venv is None:
        return None
    if not _interpreter(venv).is_file():
        # No pip inside: this interpreter's pip installs into it (`pip --python`), which spares ensurepip's half
        # minute. `venv/bin/python -m ensurepip` adds one for later `pip install`s by hand.
        _run_step([sys.executable, "-m", "venv", "--without-pip", str(venv)], f"creating the virtualenv {venv}")
    requirements = program_dir / "requirements.txt"
    if requirements.is_file():
        _run_step(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(_interpreter(venv)),
                "install",
                "--quiet",
                "-r",
                str(requirements),
            ],
            f"installing {requirements} into {venv}",
        )
    return venv


def _run_step(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our own argv)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise PreviewError(f"{what} failed: {detail[-1] if detail else f'exit {result.returncode}'}")


def run_program(
    program_dir: Path = REPO_ROOT,
    stack: str = "prod",
    *,
    first_preview: bool = False,
    config_overrides: Mapping[str, str] | None = None,
    invoke_answers: Mapping[str, Mapping[str, Any]] | None = None,
) -> ProgramRun:
    """Run `program_dir/__main__.py` under mocks for `stack`, in its own virtualenv if it names one.

    Raises PreviewError with the program's own message if it fails.
    """
    program_dir = program_dir.resolve()
    project, config = load_stack_config(program_dir, stack)
    config.update(config_overrides or {})
    venv = virtualenv_dir(program_dir)
    if venv is None or _is_this_interpreter(venv):
        # No virtualenv named, or the one named is the one running now (this project's own venv/): the program runs
        # in this process, as it would in the CLI's child process with the same interpreter and packages.
        return run_entry_point(
            program_dir,
            project=project,
            stack=stack,
            config=config,
            first_preview=first_preview,
            invoke_answers=invoke_answers,
        )
    python = _interpreter(venv)
    if not python.is_file():
        raise PreviewError(
            f"{venv}: the virtualenv Pulumi.yaml names does not exist; create it with --install (or pulumi install)"
        )
    request = {
        "program_dir": str(program_dir),
        "project": project,
        "stack": stack,
        "config": config,
        "first_preview": first_preview,
        "invoke_answers": dict(invoke_answers or {}),
    }
    return _run_elsewhere(python, request)


def _run_elsewhere(python: Path, request: Mapping[str, Any]) -> ProgramRun:
    with tempfile.TemporaryDirectory(prefix="preview-") as scratch:
        request_file, result_file = Path(scratch, "request.json"), Path(scratch, "result.json")
        request_file.write_text(json.dumps(request), encoding="utf-8")
        search_path = [str(REPO_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(search_path)}
        try:
            finished = subprocess.run(  # noqa: S603 (the program's own interpreter, our own module)
                [str(python), "-m", "mock_engine.program_run", str(request_file), str(result_file)],
                cwd=request["program_dir"],
                env=environment,
                capture_output=True,
                text=True,
                check=False,
                timeout=RUN_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired as exc:
            raise PreviewError(f"the program did not finish within {RUN_TIMEOUT_SECONDS} s in {python}") from exc
        # Warnings and logs the program wrote to stderr go where they would have gone in this process.
        sys.stderr.write(finished.stderr)
        if not result_file.is_file():
            lines = (finished.stderr or finished.stdout).strip().splitlines()
            raise PreviewError(
                f"the program could not start in {python}: {lines[-1] if lines else f'exit {finished.returncode}'}"
            )
        result = json.loads(result_file.read_text(encoding="utf-8"))
    if "error" in result:
        raise PreviewError(result["error"])
    run = run_from_json(result["run"])
    # Anything the interpreter itself wrote to stdout (outside the program's own run) is program output too.
    extra = finished.stdout
    if extra:
        return ProgramRun(run.project, run.stack, run.config, run.resources, run.outputs, extra + run.program_output)
    return run
