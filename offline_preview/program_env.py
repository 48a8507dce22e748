"""Which Python runs a program, as the Pulumi CLI decides it, and `--install` (what `pulumi install` does).

The CLI runs a Python program in the virtualenv its `Pulumi.yaml` names (project-file reference,
https://www.pulumi.com/docs/iac/concepts/projects/project-file/, `runtime.options.toolchain` "pip" (default), "poetry"
or "uv", and `runtime.options.virtualenv`; https://www.pulumi.com/docs/iac/languages-sdks/python/):

    runtime:
      name: python
      options:
        toolchain: pip        # pip, uv or poetry
        virtualenv: venv      # relative to the project directory

How each toolchain finds the virtualenv follows the CLI's Python toolchains (pulumi/pulumi `sdk/python/toolchain/`):
- pip: `virtualenv` if set; none means the interpreter on PATH (here: this project's venv, in this process).
- uv (`uv.go`, `newUv`): `virtualenv` if set, else `.venv` (or `UV_PROJECT_ENVIRONMENT`) beside the nearest
  `uv.lock`, else beside the nearest `pyproject.toml`, else in the project directory. `--install` runs `uv sync`
  there (`uv venv` and `uv pip install -r requirements.txt` for a project with no pyproject.toml), as the CLI does;
  it needs `uv` on PATH. A preview of an installed project does not need uv: the virtualenv is a plain one.
- poetry (`poetry.go`): the environment `poetry env info --path` reports, run in the directory of the nearest
  `pyproject.toml`; `--install` runs `poetry install --no-ansi`. With no `poetry` on PATH the CLI's own message.

A program with no virtualenv runs in this project's venv, in this process. A program with one runs in that
virtualenv's interpreter (`python -m mock_engine.program_run REQUEST RESULT`, this repository on PYTHONPATH), so its
own pinned `pulumi_aws`, `pulumi_random` or `pulumi_awsx` are the ones imported; the run comes back as JSON. The policy
pack runs in its own process either way.

The region the mocks answer in is the stack's `aws:region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, as the AWS
provider resolves it: provider configuration first, then the environment ("The Region can be set using the AWS_REGION
or AWS_DEFAULT_REGION environment variables", hashicorp/terraform-provider-aws `website/docs/index.html.markdown`,
which pulumi-aws wraps; pulumi/pulumi-aws `docs/installation-configuration.md` shows `export AWS_REGION=...` with
`pulumi config set aws:region` as the alternative), AWS_REGION before AWS_DEFAULT_REGION as the AWS SDKs order them.
The program's config is left as the CLI would hand it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from mock_engine.program_run import ProgramRun, RunRequest, run_entry_point, run_from_json
from offline_preview.errors import PreviewError
from offline_preview.stack_config import StackConfig, load_project, load_stack_config

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_SECONDS = 600
"""A program in its own interpreter gets as long as a slow real preview; past that it is reported as hung."""
TOOLCHAINS: Final = ("pip", "poetry", "uv")
REGION_VARIABLES: Final = ("AWS_REGION", "AWS_DEFAULT_REGION")


@dataclass(frozen=True)
class Environment:
    """Where the program runs: its toolchain and virtualenv (None: this interpreter)."""

    toolchain: str
    virtualenv: Path | None
    project_dir: Path
    """Where the toolchain's project file is (pyproject.toml, uv.lock), for `--install`."""


def environment(program_dir: Path) -> Environment:
    """The toolchain and virtualenv the project's Pulumi.yaml names, found as the CLI finds them."""
    _, document = load_project(program_dir)
    project_file = program_dir / "Pulumi.yaml"
    runtime = document.get("runtime")
    options = runtime.get("options") if isinstance(runtime, dict) else None
    options = options if isinstance(options, dict) else {}
    toolchain = options.get("toolchain") or "pip"
    if toolchain not in TOOLCHAINS:
        raise PreviewError(f"{project_file}: runtime.options.toolchain {toolchain!r} is not one of pip, poetry, uv")
    virtualenv = options.get("virtualenv")
    if virtualenv is not None and not isinstance(virtualenv, str):
        raise PreviewError(f"{project_file}: runtime.options.virtualenv must be a path")
    if toolchain == "poetry":
        project_dir = _search_up(program_dir, "pyproject.toml") or program_dir
        return Environment("poetry", _poetry_environment(project_dir), project_dir)
    if toolchain == "uv":
        project_dir = _search_up(program_dir, "uv.lock") or _search_up(program_dir, "pyproject.toml") or program_dir
        if not virtualenv:
            return Environment("uv", (project_dir / (os.environ.get("UV_PROJECT_ENVIRONMENT") or ".venv")), project_dir)
        return Environment("uv", (program_dir / virtualenv).resolve(), project_dir)
    return Environment("pip", (program_dir / virtualenv).resolve() if virtualenv else None, program_dir)


def virtualenv_dir(program_dir: Path) -> Path | None:
    """The virtualenv the project's Pulumi.yaml names, or None (run with this interpreter)."""
    return environment(program_dir).virtualenv


def pack_python(pack_dir: Path) -> str:
    """The interpreter the CLI runs a Python policy pack with: the one in the virtualenv `PulumiPolicy.yaml` names
    (`runtime.options.virtualenv`, relative to the pack), as for a program.

    When that virtualenv does not exist the CLI refuses to run the pack (it asks for `pulumi install`); the preview
    runs it with this interpreter instead, so that `make preview` works from this project's single venv.
    tests/offline_preview/test_pack_requirements.py checks that the pack's own requirements.txt provides every module
    it imports, which is what running it in that virtualenv would prove.
    """
    policy_file = pack_dir / "PulumiPolicy.yaml"
    try:
        document = yaml.safe_load(policy_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return sys.executable
    runtime = document.get("runtime") if isinstance(document, dict) else None
    options = runtime.get("options") if isinstance(runtime, dict) else None
    virtualenv = options.get("virtualenv") if isinstance(options, dict) else None
    if not isinstance(virtualenv, str) or not virtualenv:
        return sys.executable
    python = _interpreter((pack_dir / virtualenv).resolve())
    return str(python) if python.is_file() else sys.executable


def _search_up(start: Path, name: str) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / name).is_file():
            return directory
    return None


def _poetry() -> str:
    found = shutil.which("poetry")
    if found is None:
        # The CLI's message (sdk/python/toolchain/poetry.go, newPoetry).
        raise PreviewError(
            "Could not find `poetry` executable. Install poetry and make sure it is in your PATH, or set the "
            "toolchain option in Pulumi.yaml to `pip`."
        )
    return found


def _poetry_environment(project_dir: Path) -> Path:
    result = subprocess.run(  # noqa: S603 (poetry from PATH, as the CLI runs it)
        [_poetry(), "env", "info", "--path"], cwd=project_dir, capture_output=True, text=True, check=False
    )
    path = result.stdout.strip()
    if result.returncode != 0 or not path:
        raise PreviewError(
            f"{project_dir}: poetry reports no virtualenv for this project; create it with --install "
            "(or poetry install)"
        )
    return Path(path)


def _interpreter(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _is_this_interpreter(venv: Path) -> bool:
    """True if `venv` is the virtualenv this process runs in (same packages: no need for a second process)."""
    return venv.exists() and Path(sys.prefix).resolve() == venv.resolve()


def install(program_dir: Path) -> Path | None:
    """Create the program's virtualenv and install its dependencies, as `pulumi install` does with its toolchain.

    Returns the virtualenv, or None when Pulumi.yaml names none (nothing to install: the program runs here).
    """
    _, document = load_project(program_dir)
    runtime = document.get("runtime")
    options = runtime.get("options") if isinstance(runtime, dict) else None
    toolchain = (options.get("toolchain") if isinstance(options, dict) else None) or "pip"
    if toolchain == "poetry":
        project_dir = _search_up(program_dir, "pyproject.toml") or program_dir
        _run_step([_poetry(), "install", "--no-ansi"], f"poetry install in {project_dir}", cwd=project_dir)
        return environment(program_dir).virtualenv
    env = environment(program_dir)
    venv = env.virtualenv
    if venv is None:
        return None
    if env.toolchain == "uv":
        # On PATH as the CLI looks for it, else beside this interpreter (where `pip install uv` puts it).
        uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
        if uv is None:
            # The CLI's message (sdk/python/toolchain/uv.go, newUv).
            raise PreviewError("Could not find `uv` executable. Install uv and make sure it is in your PATH.")
        uv_env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
        if (env.project_dir / "pyproject.toml").is_file():
            _run_step([uv, "sync"], f"uv sync in {env.project_dir}", cwd=env.project_dir, env=uv_env)
            return venv
        _run_step([uv, "venv", "--allow-existing", str(venv)], f"creating the virtualenv {venv}", cwd=program_dir)
        requirements = program_dir / "requirements.txt"
        if requirements.is_file():
            _run_step(
                [uv, "pip", "install", "--python", str(_interpreter(venv)), "-r", str(requirements)],
                f"installing {requirements} into {venv}",
                cwd=program_dir,
            )
        return venv
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


def _run_step(command: list[str], what: str, *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> None:
    result = subprocess.run(  # noqa: S603 (our own argv)
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
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
    return run(request_for(program_dir, stack, first_preview, config_overrides, invoke_answers), program_dir)


def request_for(
    program_dir: Path,
    stack: str,
    first_preview: bool = False,
    config_overrides: Mapping[str, str] | None = None,
    invoke_answers: Mapping[str, Mapping[str, Any]] | None = None,
    stack_config: StackConfig | None = None,
) -> RunRequest:
    """The run's parameters from the project, the stack's config and the environment (the region)."""
    loaded = stack_config or load_stack_config(program_dir, stack)
    config = {**loaded.values, **(config_overrides or {})}
    return RunRequest(
        project=loaded.project,
        stack=stack,
        config=config,
        region=_region(config, stack),
        secret_keys=loaded.secret_keys,
        first_preview=first_preview,
        invoke_answers=dict(invoke_answers or {}),
        program_dir=str(program_dir.resolve()),
    )


def _region(config: Mapping[str, str], stack: str) -> str:
    region = config.get("aws:region") or next((os.environ[v] for v in REGION_VARIABLES if os.environ.get(v)), "")
    if not region:
        raise PreviewError(
            f"aws:region is not set for stack {stack} (pulumi config set aws:region <region>, or set AWS_REGION)"
        )
    return region


def run(request: RunRequest, program_dir: Path) -> ProgramRun:
    """Run the request's program in the interpreter its toolchain names. Raises PreviewError."""
    venv = virtualenv_dir(program_dir)
    if venv is None or _is_this_interpreter(venv):
        # No virtualenv named, or the one named is the one running now (this project's own venv/): the program runs
        # in this process, as it would in the CLI's child process with the same interpreter and packages.
        return run_entry_point(request)
    python = _interpreter(venv)
    if not python.is_file():
        raise PreviewError(
            f"{venv}: the virtualenv Pulumi.yaml names does not exist; create it with --install (or pulumi install)"
        )
    return _run_elsewhere(python, request)


def _run_elsewhere(python: Path, request: RunRequest) -> ProgramRun:
    with tempfile.TemporaryDirectory(prefix="preview-") as scratch:
        request_file, result_file = Path(scratch, "request.json"), Path(scratch, "result.json")
        request_file.write_text(json.dumps(request.to_json()), encoding="utf-8")
        search_path = [str(REPO_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(search_path)}
        try:
            finished = subprocess.run(  # noqa: S603 (the program's own interpreter, our own module)
                [str(python), "-m", "mock_engine.program_run", str(request_file), str(result_file)],
                cwd=request.program_dir,
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
