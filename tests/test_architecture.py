"""The boundaries the README promises, checked on the source: who may import whom, and who reads config."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_files(folder: str) -> list[Path]:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"no Python files under {folder}/"
    return files


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def offenders(folder: str, forbidden: tuple[str, ...]) -> dict[str, set[str]]:
    found = {}
    for path in python_files(folder):
        bad = {m for m in imported_modules(path) if m.split(".")[0] in forbidden}
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("handler", ("pulumi", "pulumi_aws", "pulumi_policy", "components", "policies", "tools", "keyless_guard")),
        ("policies", ("components", "handler", "tools")),
        ("components", ("handler", "policies", "tools", "keyless_guard")),
    ],
)
def test_import_boundaries(folder, forbidden):
    assert offenders(folder, forbidden) == {}


def test_only_the_stack_program_reads_config():
    readers = []
    for path in python_files("components"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "Config":
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []
    assert "pulumi.Config()" in (ROOT / "__main__.py").read_text(encoding="utf-8")


def test_the_checker_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import pulumi_aws as aws\nfrom components.iam import Statement\nfrom . import sibling\n")

    assert imported_modules(module) == {"pulumi_aws", "components.iam"}
