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
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) in ("importlib.import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            modules.add(node.args[0].value)
    return modules


def root_modules(folder: str) -> set[str]:
    """What a module of `folder` can import by bare name when `folder` is on the path: its top-level modules and
    packages (handler/ and policies/ are such code roots: `import secret_cache`, `from keyless_guard import pack`)."""
    return {p.stem for p in (ROOT / folder).glob("*.py") if p.stem != "__main__"} | {
        p.name for p in (ROOT / folder).iterdir() if p.is_dir() and any(p.rglob("*.py"))
    }


CODE_ROOTS = ("handler", "policies")
"""Folders on the import path of tests and of their own runtime (pyproject.toml's pythonpath, the Lambda, the pack)."""


def offenders(folder: str) -> dict[str, set[str]]:
    """Modules under `folder` that import first-party code the table does not allow, or a forbidden library."""
    # Whose is each importable first-party name: a subsystem's own, or a module of a code root imported by bare name.
    owner = {name: name for name in first_party()}
    owner.update({name: root for root in CODE_ROOTS for name in root_modules(root)})
    allowed = ALLOWED_FIRST_PARTY[folder] | {folder}
    forbidden = FORBIDDEN_THIRD_PARTY.get(folder, set())
    found: dict[str, set[str]] = {}
    for path in python_files(folder):
        bad = set()
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in forbidden or (top in owner and owner[top] not in allowed):
                bad.add(module)
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_every_subsystem_has_a_rule():
    assert subsystems() - UNRESTRICTED - set(ALLOWED_FIRST_PARTY) == set()


@pytest.mark.parametrize("folder", sorted(set(ALLOWED_FIRST_PARTY) & subsystems()))
def test_import_boundaries(folder):
    assert offenders(folder) == {}


CONFIG_MODULES = ("pulumi", "pulumi.config")


def config_readers(path: Path, root: Path = ROOT) -> set[str]:
    """Where a module builds `pulumi.Config` (as `pulumi.Config(...)`, `pulumi.config.Config(...)`, `Config(...)` after
    `from pulumi import Config` or `from pulumi.config import Config`, or any alias of these)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = set(CONFIG_MODULES)
    config_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(
                alias.asname or alias.name for alias in node.names if alias.name in ("pulumi", "pulumi.config")
            )
        elif isinstance(node, ast.ImportFrom) and node.module in CONFIG_MODULES:
            config_names.update(alias.asname or alias.name for alias in node.names if alias.name == "Config")
            modules.update(alias.asname or alias.name for alias in node.names if alias.name == "config")
    modules |= {f"{module}.config" for module in modules}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "Config" and ast.unparse(func.value) in modules) or (
                isinstance(func, ast.Name) and func.id in config_names
            ):
                found.add(f"{path.relative_to(root)}:{node.lineno}")
    return found


PROGRAMS = {"__main__.py", "bootstrap/__main__.py"}
"""The two Pulumi programs' entry points: the stack (which hands its Config to stack_settings) and the bootstrap."""


def test_only_the_programs_entry_points_read_config():
    """Components never read config; the stack program reads it through stack_settings alone. Walked over every
    module outside tests and benchmarks (whose fixture programs read their own)."""
    readers = {reader for path in ROOT.glob("*.py") for reader in config_readers(path)}
    for folder in sorted(subsystems() - UNRESTRICTED):
        for path in python_files(folder):
            readers |= config_readers(path)

    assert {reader.split(":")[0] for reader in readers} == PROGRAMS


def test_the_checker_sees_a_forbidden_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    module = package / "m.py"
    module.write_text(
        "import pulumi_aws as aws\nfrom components.iam import Statement\nfrom . import sibling\n"
        "def later():\n    from ..other import thing\n"
        "import importlib\nmodule = importlib.import_module('pulumi')\n"
    )

    assert imported_modules(module, tmp_path) == {
        "pulumi_aws",
        "components.iam",
        "pkg.sibling",
        "other",
        "importlib",
        "pulumi",
    }


def test_the_checker_sees_bare_name_imports_of_another_code_root(tmp_path, monkeypatch):
    """handler/ and policies/ are on the path, so `import secret_cache` anywhere reaches the handler's code."""
    module = ROOT / "components" / "iam.py"
    monkeypatch.setattr(
        "tests.test_architecture.imported_modules",
        lambda path, root=ROOT: {"secret_cache", "keyless_guard.pack"} if path == module else set(),
    )

    assert offenders("components") == {"components/iam.py": {"secret_cache", "keyless_guard.pack"}}
    assert offenders("handler") == {}


def test_the_config_checker_sees_every_spelling(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import pulumi as p\nfrom pulumi import Config as C\nfrom pulumi import Config\n"
        "a = p.Config()\nb = C('aws')\nc = Config()\nd = p.export('x', 1)\n"
        "import pulumi.config as pc\nfrom pulumi.config import Config as K\nfrom pulumi import config\n"
        "e = p.config.Config()\nf = pc.Config()\ng = K()\nh = config.Config()\n"
    )

    assert config_readers(module, tmp_path) == {f"m.py:{line}" for line in (4, 5, 6, 11, 12, 13, 14)}
