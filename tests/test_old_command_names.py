"""The command names CI scripts already call (`python -m tools.preview`, `tools.secret_access`,
`tools.deploy_permissions`) keep working after the move to one package per subsystem, and tools/ holds nothing else."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("tools.preview", "offline_preview"),
        ("tools.secret_access", "access_report"),
        ("tools.deploy_permissions", "bootstrap.deploy_grants"),
    ],
)
def test_an_old_command_name_runs_the_new_command(old, new):
    old_help = subprocess.run([sys.executable, "-m", old, "--help"], cwd=ROOT, capture_output=True, text=True)
    new_help = subprocess.run([sys.executable, "-m", new, "--help"], cwd=ROOT, capture_output=True, text=True)

    assert (old_help.returncode, new_help.returncode) == (0, 0), old_help.stderr + new_help.stderr
    assert f"usage: python -m {new}" in " ".join(new_help.stdout.split())
    assert old_help.stdout == new_help.stdout


def test_tools_holds_only_the_forwarders():
    modules = sorted(path.name for path in (ROOT / "tools").glob("*.py"))
    lines = sum(len(path.read_text(encoding="utf-8").splitlines()) for path in (ROOT / "tools").glob("*.py"))

    assert modules == ["__init__.py", "deploy_permissions.py", "preview.py", "secret_access.py"]
    assert [p.name for p in (ROOT / "tools").iterdir() if p.is_dir() and p.name != "__pycache__"] == []
    assert lines <= 80
