"""The Python toolchains of Pulumi.yaml (`runtime.options.toolchain`: pip, uv, poetry), found as the CLI finds them.

References: the project-file reference (https://www.pulumi.com/docs/iac/concepts/projects/project-file/,
`runtime.options.toolchain` and `virtualenv`) and the CLI's toolchains, pulumi/pulumi `sdk/python/toolchain/uv.go`
(`newUv`: `virtualenv`, else `.venv` or `UV_PROJECT_ENVIRONMENT` beside the nearest uv.lock, else beside the nearest
pyproject.toml, else in the project directory) and `poetry.go` (`poetry env info --path`; the "Could not find
`poetry` executable" message).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from offline_preview.cli import EXIT_OK, EXIT_PROGRAM_ERROR, PreviewError, main
from offline_preview.program_env import environment, install

FARGATE = Path(__file__).parent / "programs" / "aws_py_fargate"
REPO_ROOT = Path(__file__).resolve().parents[2]


def project(folder: Path, options: str = "", files: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    runtime = f"runtime:\n  name: python\n  options:\n{options}" if options else "runtime: python\n"
    (folder / "Pulumi.yaml").write_text("name: demo\n" + runtime)
    for name in files:
        (folder / name).write_text('[project]\nname = "demo"\nversion = "0.1.0"\ndependencies = []\n')
    return folder


def test_pip_runs_here_without_a_virtualenv_and_in_the_named_one_with_it(tmp_path):
    assert environment(project(tmp_path / "a")).virtualenv is None
    named = environment(project(tmp_path / "b", "    virtualenv: venv\n"))
    assert (named.toolchain, named.virtualenv) == ("pip", (tmp_path / "b" / "venv").resolve())


def test_uv_defaults_to_dot_venv_beside_the_nearest_lock_or_pyproject(tmp_path, monkeypatch):
    monkeypatch.delenv("UV_PROJECT_ENVIRONMENT", raising=False)
    uv = "    toolchain: uv\n"
    assert environment(project(tmp_path / "plain", uv)).virtualenv == tmp_path / "plain" / ".venv"
    # A uv workspace: the lock file sits above the Pulumi project, and so does the environment.
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "uv.lock").write_text("version = 1\n")
    assert environment(project(tmp_path / "ws" / "infra", uv)).virtualenv == tmp_path / "ws" / ".venv"
    project(tmp_path / "py", files=("pyproject.toml",))
    assert environment(project(tmp_path / "py" / "infra", uv)).virtualenv == tmp_path / "py" / ".venv"
    monkeypatch.setenv("UV_PROJECT_ENVIRONMENT", "envs/dev")
    assert environment(project(tmp_path / "env", uv)).virtualenv == tmp_path / "env" / "envs" / "dev"
    named = environment(project(tmp_path / "named", uv + "    virtualenv: my-venv\n"))
    assert named.virtualenv == (tmp_path / "named" / "my-venv").resolve()


def test_an_unknown_toolchain_is_named(tmp_path):
    with pytest.raises(PreviewError, match=r"runtime.options.toolchain 'conda' is not one of pip, poetry, uv"):
        environment(project(tmp_path, "    toolchain: conda\n"))


def test_install_with_uv_runs_uv_sync_into_the_projects_dot_venv(tmp_path, monkeypatch):
    monkeypatch.delenv("UV_PROJECT_ENVIRONMENT", raising=False)
    monkeypatch.setenv("UV_OFFLINE", "1")  # nothing to download: the project has no dependencies
    folder = project(tmp_path, "    toolchain: uv\n", files=("pyproject.toml",))

    venv = install(folder)

    assert venv == folder / ".venv"
    assert "uv = " in (folder / ".venv" / "pyvenv.cfg").read_text()  # made by uv, not by python -m venv
    assert (folder / "uv.lock").is_file()  # uv sync locks the project first


def test_poetry_without_poetry_installed_says_so_as_the_cli_does(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    shutil.copytree(FARGATE, tmp_path / "fargate")

    assert main(["--program", str(tmp_path / "fargate"), "--stack", "dev", "--no-policy"]) == EXIT_PROGRAM_ERROR

    assert capsys.readouterr().err.strip() == (
        "error: Could not find `poetry` executable. Install poetry and make sure it is in your PATH, or set the "
        "toolchain option in Pulumi.yaml to `pip`."
    )


# `make unit` (and so CI) puts poetry on PATH (requirements-poetry.txt); there the test must run, never skip.
@pytest.mark.skipif(
    shutil.which("poetry") is None and not os.environ.get("CI"),
    reason="poetry is not on PATH (make unit installs it into build/poetry)",
)
def test_pulumi_examples_aws_py_fargate_previews_with_poetry(tmp_path, monkeypatch):
    """pulumi/examples' aws-py-fargate as its README runs it (poetry, no stack file, the region from the
    environment). Its environment is made here without the package index: an in-project `.venv` (which poetry reports
    for a project that has one) that sees this project's installed pulumi and pulumi_aws through a .pth file."""
    program = shutil.copytree(FARGATE, tmp_path / "fargate")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(program / ".venv")], check=True)
    site_packages = next((program / ".venv" / "lib").glob("python3*/site-packages"))
    (site_packages / "shared.pth").write_text(next(p for p in sys.path if p.endswith("site-packages")) + "\n")
    monkeypatch.setenv("AWS_REGION", "us-west-2")

    result = subprocess.run(
        [sys.executable, "-m", "offline_preview", "--program", str(program), "--stack", "dev"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert result.returncode == EXIT_OK, result.stderr
    assert "Previewing update (dev) offline:" in result.stdout
    assert "└─ aws:ecs:Service               app-svc" in result.stdout
    assert "+ 10 to create" in result.stdout
    assert environment(program).virtualenv == program / ".venv"
