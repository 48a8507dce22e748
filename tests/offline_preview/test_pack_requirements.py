"""The pack's own requirements, on their own (issue 22.6).

The Pulumi CLI runs the pack in the virtualenv `policies/PulumiPolicy.yaml` names, made from
`policies/requirements.txt` alone; the offline preview runs it with this project's venv, which holds every
requirements file. A module the pack imports but only another requirements file brings would pass offline and fail
under the CLI. This test reads every import in the pack's code and checks that `policies/requirements.txt`, with the
dependencies its packages declare (their installed metadata), provides it.
"""

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

from offline_preview.cli import main
from offline_preview.program_env import pack_python

POLICIES = Path(__file__).resolve().parents[2] / "policies"
PROGRAM = Path(__file__).parent / "programs" / "secrets"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements_text: str) -> set[str]:
    names = set()
    for line in requirements_text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(_normalise(Requirement(line).name))
    return names


def distribution_closure(names: set[str]) -> set[str]:
    """The distributions `names` install: themselves and, recursively, what their metadata requires (no extras)."""
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for spec in importlib.metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(_normalise(requirement.name))
    return seen


def provided_modules(distributions: set[str]) -> set[str]:
    return {
        module
        for module, owners in importlib.metadata.packages_distributions().items()
        if any(_normalise(owner) in distributions for owner in owners)
    }


def third_party_imports(root: Path) -> dict[str, set[str]]:
    """Top-level module -> files importing it, for every absolute import in `root` that is not stdlib or local."""
    local = {path.stem for path in root.iterdir() if path.suffix == ".py"} | {
        path.name for path in root.iterdir() if path.is_dir()
    }
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        if "venv" in path.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local and top != "__future__":
                    found.setdefault(top, set()).add(str(path.relative_to(root)))
    return found


def missing_from(requirements_text: str, root: Path = POLICIES) -> dict[str, set[str]]:
    provided = provided_modules(distribution_closure(requirement_names(requirements_text)))
    return {module: files for module, files in third_party_imports(root).items() if module not in provided}


def test_every_module_the_pack_imports_comes_from_its_own_requirements():
    assert missing_from((POLICIES / "requirements.txt").read_text()) == {}


def test_a_requirement_left_out_of_the_packs_file_is_found():
    """detect-secrets is the pack's own requirement and nothing else in the file brings it (PyYAML would not do:
    pulumi itself requires pyyaml)."""
    lines = (POLICIES / "requirements.txt").read_text().splitlines()
    without = "\n".join(line for line in lines if not line.startswith("detect-secrets"))

    assert set(missing_from(without)) == {"detect_secrets"}


def test_an_import_only_another_requirements_file_brings_is_named(tmp_path):
    """matplotlib is installed in this venv (requirements-dev.txt) but not in the pack's: it would import offline and
    fail under the CLI."""
    (tmp_path / "rules.py").write_text("import yaml\nfrom matplotlib import pyplot\nfrom . import rules\n")
    (tmp_path / "local_pkg").mkdir()
    (tmp_path / "local_pkg" / "x.py").write_text("import rules\nimport local_pkg.y\nimport json\n")

    missing = missing_from((POLICIES / "requirements.txt").read_text(), tmp_path)

    assert missing == {"matplotlib": {"rules.py"}}


def test_the_pack_imports_what_its_requirements_name():
    imports = set(third_party_imports(POLICIES))

    assert {"pulumi", "pulumi_policy", "policy_sentry", "detect_secrets", "yaml"} <= imports


PROBE_PACK = """\
import sys

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def where(args, report_violation):
    report_violation("runs in " + sys.prefix)


PolicyPack(
    "probe",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=[ResourceValidationPolicy(name="where", description="Where the pack runs.", validate=where)],
)
"""


def test_the_pack_runs_in_the_virtualenv_its_pulumipolicy_yaml_names(tmp_path, capsys):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "__main__.py").write_text(PROBE_PACK)
    (pack / "PulumiPolicy.yaml").write_text("runtime:\n  name: python\n  options:\n    virtualenv: venv\n")
    assert pack_python(pack) == sys.executable  # not created yet: this interpreter, as make preview needs
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(pack / "venv")], check=True)
    # The pack's virtualenv sees this venv's packages (no package index here); its interpreter is its own.
    site_packages = next((pack / "venv" / "lib").glob("python3*/site-packages"))
    (site_packages / "shared.pth").write_text(next(p for p in sys.path if p.endswith("site-packages")) + "\n")

    code = main(["--program", str(PROGRAM), "--stack", "test", "--policy-pack", str(pack)])

    out = capsys.readouterr().out
    assert code == 0
    assert f"advisory: [where] runs in {(pack / 'venv').resolve()}" in out
