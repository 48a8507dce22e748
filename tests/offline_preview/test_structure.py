"""The preview's layout keeps its promises: private Pulumi names in one module, and the run importable anywhere."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Every module of the preview's packages (and the commands that forward to them) is checked: walked from the tree,
# so a new module cannot be left out of the rule.
PREVIEW_PACKAGES = ("offline_preview", "mock_engine", "tools", "bundle_builder", "access_report")
INTERNALS = ROOT / "mock_engine" / "pulumi_internals.py"


def preview_modules() -> list[Path]:
    modules = sorted(path for package in PREVIEW_PACKAGES for path in (ROOT / package).rglob("*.py"))
    assert INTERNALS in modules
    return [path for path in modules if path != INTERNALS]


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
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # What each name bound by an import stands for, so that `pulumi.runtime.settings.SETTINGS` after `import pulumi`,
    # or `runtime.settings` after `from pulumi import runtime`, resolve to the module they reach.
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                # `import a.b` binds `a`; `import a.b as c` binds `c` to a.b.
                top = alias.name.split(".")[0]
                bound[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            names = [f"<attribute>.{node.attr}"] if ast.unparse(node.value).startswith("pulumi") else []
        elif isinstance(node, ast.Attribute):
            root, _, rest = ast.unparse(node).partition(".")
            names = [f"{bound[root]}.{rest}"] if root in bound and root.isidentifier() else []
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("importlib.import_module", "__import__"):
            names = [arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        else:
            names = []
        found.update(name for name in names if name.startswith(PRIVATE) or name.startswith("<attribute>"))
    return found


def test_only_pulumi_internals_touches_private_pulumi_names():
    uses = {str(path.relative_to(ROOT)): private_uses(path) for path in preview_modules()}

    assert {name: found for name, found in uses.items() if found} == {}
    assert private_uses(INTERNALS) >= {
        "pulumi.runtime.sync_await._sync_await",
        "pulumi.runtime.settings.ROOT",
        "pulumi.runtime.settings.SETTINGS",
        "pulumi.runtime.stack.run_pulumi_func",
    }


def test_the_private_name_check_sees_each_spelling(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import pulumi\nfrom pulumi.runtime.settings import SETTINGS\nimport pulumi.runtime.proto.analyzer_pb2\n"
        "x = pulumi._types\ny = pulumi.Output\nz = pulumi.runtime.stack.run_pulumi_func\n"
        "from pulumi import runtime as rt\nw = rt.mocks.Mocks\n"
        "import importlib\nv = importlib.import_module('pulumi.runtime.rpc')\n"
    )

    assert private_uses(module) == {
        "pulumi.runtime.settings.SETTINGS",
        "pulumi.runtime.proto.analyzer_pb2",
        "<attribute>._types",
        "pulumi.runtime.stack",
        "pulumi.runtime.stack.run_pulumi_func",
        "pulumi.runtime.mocks",
        "pulumi.runtime.mocks.Mocks",
        "pulumi.runtime.rpc",
    }


def test_a_program_run_imports_only_what_a_programs_own_virtualenv_has():
    """mock_engine.program_run runs under the program's interpreter, whose site-packages hold the program's requirements
    (pulumi and its providers), not this project's: it must import no other part of the preview."""
    probe = (
        "import sys, mock_engine.program_run; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('mock_engine.'))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {
        "mock_engine.errors",
        "mock_engine.invoke_answers",
        "mock_engine.mocks",
        "mock_engine.origins",
        "mock_engine.policy_document",
        "mock_engine.program_run",
        "mock_engine.pulumi_internals",
        "mock_engine.recorded",
        "mock_engine.sdk_shapes",
    }
