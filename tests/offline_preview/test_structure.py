"""The preview's layout keeps its promises: private Pulumi names in one module, and the run importable anywhere."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREVIEW_MODULES = [
    "preview",
    "stack_config",
    "program_env",
    "program_run",
    "mocks",
    "invoke_answers",
    "policy_document",
    "sdk_shapes",
    "render",
    "policy_preview",
    "recorded",
    "errors",
]
PRIVATE = (
    "pulumi._",
    "pulumi.runtime.settings",
    "pulumi.runtime.stack",
    "pulumi.runtime.sync_await",
    "pulumi.runtime.rpc",
    "pulumi.runtime.mocks",
    "pulumi.runtime.proto",
)


def private_uses(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            names = [f"<attribute>.{node.attr}"] if ast.unparse(node.value).startswith("pulumi") else []
        else:
            names = []
        found.update(name for name in names if name.startswith(PRIVATE) or name.startswith("<attribute>"))
    return found


def test_only_pulumi_internals_touches_private_pulumi_names():
    uses = {name: private_uses(ROOT / "tools" / f"{name}.py") for name in PREVIEW_MODULES}

    assert {name: found for name, found in uses.items() if found} == {}
    assert private_uses(ROOT / "tools" / "pulumi_internals.py") >= {
        "pulumi.runtime.sync_await._sync_await",
        "pulumi.runtime.settings.ROOT",
        "pulumi.runtime.settings.SETTINGS",
        "pulumi.runtime.stack.run_pulumi_func",
    }


def test_a_program_run_imports_only_what_a_programs_own_virtualenv_has():
    """tools.program_run runs under the program's interpreter, whose site-packages hold the program's requirements
    (pulumi and its providers), not this project's: it must import no other part of the preview."""
    probe = "import sys, tools.program_run; print(' '.join(sorted(m for m in sys.modules if m.startswith('tools.'))))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {
        "tools.errors",
        "tools.invoke_answers",
        "tools.mocks",
        "tools.policy_document",
        "tools.program_run",
        "tools.pulumi_internals",
        "tools.recorded",
        "tools.sdk_shapes",
    }
