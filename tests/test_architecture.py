"""The boundaries the README promises, checked on the source: who may import whom, and who reads config.

Every rule is walked from the code itself: the packages are the top-level folders that hold Python, the imports are
read from each module's AST (absolute and relative, at any depth, including imports inside functions), and a package
that appears without a rule fails, so a new subsystem cannot slip past the table.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {"venv", "build", ".git", "node_modules", "__pycache__"}

# What each subsystem may import from this repository (third-party imports are free, except where listed in
# FORBIDDEN_THIRD_PARTY). The README's architecture table says the same in words.
ALLOWED_FIRST_PARTY: dict[str, set[str]] = {
    "handler": set(),
    "policies": set(),
    "components": set(),
    "mock_engine": set(),
    "bundle_builder": set(),
    "offline_preview": {"mock_engine"},
    "access_report": {"components", "offline_preview", "mock_engine"},
    "bootstrap": {"components", "offline_preview", "mock_engine"},
    "tools": {"offline_preview", "access_report", "bootstrap"},
    "guardrails": {"policies"},
}
# Subsystems outside the table: the program and its settings, tests and benchmarks may import anything.
UNRESTRICTED = {"tests", "benchmarks"}
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    # Lambda run-time code: no deployment SDK in the bundle.
    "handler": {"pulumi", "pulumi_aws", "pulumi_policy"},
    "guardrails": {"pulumi", "pulumi_aws", "pulumi_policy"},
    # mock_engine runs inside a program's own virtualenv, which has pulumi and its providers only.
    "mock_engine": {"yaml", "grpc", "pulumi_policy", "policy_sentry", "detect_secrets", "boto3", "botocore"},
}


def subsystems() -> set[str]:
    return {
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and path.name not in SKIPPED_DIRS and not path.name.startswith(".") and any(path.rglob("*.py"))
    }


def first_party() -> set[str]:
    return subsystems() | {path.stem for path in ROOT.glob("*.py") if path.stem != "__main__"}


def python_files(folder: str) -> list[Path]:
    files = sorted(p for p in (ROOT / folder).rglob("*.py") if not SKIPPED_DIRS & set(p.relative_to(ROOT).parts))
    assert files, f"no Python files under {folder}/"
    return files


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of every module `path` imports; relative imports resolved against its package."""
    package = list(path.relative_to(root).parent.parts)
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
                modules.update(f"{prefix}.{alias.name}" if not node.module else prefix for alias in node.names)
            elif node.module:
                modules.add(node.module)
    return modules


def offenders(folder: str) -> dict[str, set[str]]:
    """Modules under `folder` that import first-party code the table does not allow, or a forbidden library."""
    mine = first_party()
    allowed = ALLOWED_FIRST_PARTY[folder] | {folder}
    forbidden = FORBIDDEN_THIRD_PARTY.get(folder, set())
    # handler/ and policies/ are code roots: their own modules are imported by bare name (`import secret_cache`).
    own_roots = {p.stem for p in (ROOT / folder).glob("*.py")} | {
        p.name for p in (ROOT / folder).iterdir() if p.is_dir()
    }
    found: dict[str, set[str]] = {}
    for path in python_files(folder):
        bad = set()
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in forbidden or (top in mine and top not in allowed and top not in own_roots):
                bad.add(module)
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_every_subsystem_has_a_rule():
    assert subsystems() - UNRESTRICTED - set(ALLOWED_FIRST_PARTY) == set()


@pytest.mark.parametrize("folder", sorted(set(ALLOWED_FIRST_PARTY) & subsystems()))
def test_import_boundaries(folder):
    assert offenders(folder) == {}


def config_readers(path: Path, root: Path = ROOT) -> set[str]:
    """Where a module builds `pulumi.Config` (as `pulumi.Config(...)`, `Config(...)` after `from pulumi import Config`,
    or any alias of either)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = {"pulumi"}
    config_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update(alias.asname or alias.name for alias in node.names if alias.name == "pulumi")
        elif isinstance(node, ast.ImportFrom) and node.module == "pulumi":
            config_names.update(alias.asname or alias.name for alias in node.names if alias.name == "Config")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "Config" and ast.unparse(func.value) in aliases) or (
                isinstance(func, ast.Name) and func.id in config_names
            ):
                found.add(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_only_the_stack_settings_read_config():
    """Components never read config; the stack program reads it through stack_settings alone."""
    readers = set()
    for folder in ("components", "handler", "policies", "mock_engine", "offline_preview", "bundle_builder"):
        for path in python_files(folder):
            readers |= config_readers(path)
    assert readers == set()
    assert config_readers(ROOT / "__main__.py") | config_readers(ROOT / "stack_settings.py") != set()


def test_the_checker_sees_a_forbidden_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    module = package / "m.py"
    module.write_text(
        "import pulumi_aws as aws\nfrom components.iam import Statement\nfrom . import sibling\n"
        "def later():\n    from ..other import thing\n"
    )

    assert imported_modules(module, tmp_path) == {"pulumi_aws", "components.iam", "pkg.sibling", "other"}


def test_the_config_checker_sees_every_spelling(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import pulumi as p\nfrom pulumi import Config as C\nfrom pulumi import Config\n"
        "a = p.Config()\nb = C('aws')\nc = Config()\nd = p.export('x', 1)\n"
    )

    assert config_readers(module, tmp_path) == {"m.py:4", "m.py:5", "m.py:6"}
