"""The Config rule's bundle: the rule module and the pack's own judgement, byte for byte, built deterministically
for CPython 3.12 on arm64. One build runs pip (PyPI through pip, as in CI); the rest reuse it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bundle_builder.builder import BundleError, LambdaBundle, build_rule_bundle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shared_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rule-bundle-build")


@pytest.fixture(scope="module")
def rule_bundle(shared_build_dir: Path) -> LambdaBundle:
    return build_rule_bundle(ROOT, build_dir=shared_build_dir)


def test_two_builds_are_byte_identical_and_the_second_runs_no_pip(
    rule_bundle: LambdaBundle, shared_build_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(shared_build_dir, tmp_path / "copy")
    (tmp_path / "copy" / rule_bundle.path.name).unlink()  # the dependencies stay cached, the zip is rewritten

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip was run although its output was cached")

    monkeypatch.setattr(subprocess, "run", refuse)
    again = build_rule_bundle(ROOT, build_dir=tmp_path / "copy")

    assert again.path.read_bytes() == rule_bundle.path.read_bytes()
    assert again.sha256_base64 == rule_bundle.sha256_base64


def test_the_pack_modules_ship_unchanged_so_preview_and_run_time_judge_alike(rule_bundle: LambdaBundle) -> None:
    with zipfile.ZipFile(rule_bundle.path) as archive:
        shipped = {name: archive.read(name) for name in archive.namelist() if name.startswith("keyless_guard/")}
        root_modules = sorted(name for name in archive.namelist() if "/" not in name)

    assert root_modules == ["lambda_env_rule.py"]
    assert set(shipped) >= {"keyless_guard/__init__.py", "keyless_guard/env_values.py", "keyless_guard/detectors.py"}
    for name, content in shipped.items():
        assert content == (ROOT / "policies" / name).read_bytes(), name
    # Nothing of the pack that needs the policy SDK: its rule modules stay out.
    assert "keyless_guard/lambda_env.py" not in shipped


def test_the_rule_imports_the_judgement_from_its_own_bundle(rule_bundle: LambdaBundle, tmp_path: Path) -> None:
    with zipfile.ZipFile(rule_bundle.path) as archive:
        archive.extractall(tmp_path)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import lambda_env_rule, keyless_guard.env_values as e, yaml, "
        "detect_secrets; print(all(m.__file__.startswith(sys.argv[1]) for m in (e, yaml, detect_secrets)), "
        "lambda_env_rule.evaluate_variables({'AWS_SECRET_ACCESS_KEY': 'x'})[0])"
    )

    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True)

    assert result.stdout.split() == ["True", "NON_COMPLIANT"]


def test_a_pack_module_needing_the_policy_sdk_is_refused(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "guardrails", tmp_path / "guardrails", ignore=shutil.ignore_patterns("__pycache__"))
    pack = tmp_path / "policies" / "keyless_guard"
    shutil.copytree(ROOT / "policies" / "keyless_guard", pack, ignore=shutil.ignore_patterns("__pycache__"))
    source = (pack / "detectors.py").read_text(encoding="utf-8")
    (pack / "detectors.py").write_text("from pulumi_policy import EnforcementLevel\n" + source, encoding="utf-8")

    with pytest.raises(BundleError, match=r"detectors\.py imports pulumi_policy"):
        build_rule_bundle(tmp_path, build_dir=tmp_path / "build")


def test_a_missing_rule_module_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"lambda_env_rule\.py is missing"):
        build_rule_bundle(tmp_path, build_dir=tmp_path / "build")
