"""The Lambda bundle: byte-identical rebuilds, the right contents for python3.12 on arm64, a cache that spares
pip, and a clear error when pip fails. Two builds run pip (PyPI through pip, as in CI); the rest reuse them."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bundle_builder.builder import UNUSABLE_MODULES, BundleError, LambdaBundle, build_bundle

# Every test here builds a bundle (pip the first time) or runs the builder as a process.
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
HANDLER_MODULES = sorted(path.name for path in (ROOT / "handler").glob("*.py"))
DEPENDENCY_PACKAGES = {"requests", "urllib3", "idna", "certifi", "charset_normalizer"}


@pytest.fixture(scope="module")
def shared_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bundle-build")


@pytest.fixture(scope="module")
def bundle(shared_build_dir: Path) -> LambdaBundle:
    return build_bundle(ROOT, build_dir=shared_build_dir)


@pytest.fixture
def no_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to run pip fails the test: the build must come from the cache."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("pip was run although its output was cached")

    monkeypatch.setattr(subprocess, "run", refuse)


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A repository holding a copy of handler/ (code and requirements only)."""
    shutil.copytree(ROOT / "handler", tmp_path / "handler", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def names(bundle: LambdaBundle) -> list[str]:
    with zipfile.ZipFile(bundle.path) as archive:
        return archive.namelist()


def test_two_builds_in_different_directories_are_byte_identical(bundle: LambdaBundle, tmp_path: Path) -> None:
    again = build_bundle(ROOT, build_dir=tmp_path)

    assert again.path != bundle.path
    assert again.sha256_base64 == bundle.sha256_base64
    assert again.path.read_bytes() == bundle.path.read_bytes()


def test_the_hash_and_size_describe_the_zip(bundle: LambdaBundle) -> None:
    content = bundle.path.read_bytes()

    assert bundle.sha256_base64 == base64.b64encode(hashlib.sha256(content).digest()).decode()
    assert bundle.size_bytes == len(content)


def test_the_handler_modules_sit_at_the_root_beside_the_pinned_dependencies(bundle: LambdaBundle) -> None:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (ROOT / "handler/requirements.txt").read_text(), re.MULTILINE)
    top_level = {name.split("/")[0] for name in names(bundle)}

    assert sorted(name for name in names(bundle) if "/" not in name) == HANDLER_MODULES
    assert {name for name in top_level if "." not in name} == DEPENDENCY_PACKAGES
    assert {name for name in top_level if name.endswith(".dist-info")} == {
        f"{name.replace('-', '_')}-{version}.dist-info" for name, version in pins
    }


def test_entries_are_sorted_with_fixed_times_and_permissions(bundle: LambdaBundle) -> None:
    with zipfile.ZipFile(bundle.path) as archive:
        infos = archive.infolist()

    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    assert {info.compress_type for info in infos} == {zipfile.ZIP_STORED}


def test_nothing_machine_specific_is_bundled(bundle: LambdaBundle) -> None:
    machine_specific = [
        name
        for name in names(bundle)
        if "__pycache__" in name
        or name.endswith(".pyc")
        or name.startswith("bin/")
        or re.search(r"\.dist-info/(INSTALLER|REQUESTED|direct_url\.json)$", name)
    ]

    assert machine_specific == []


def test_each_record_lists_only_files_the_bundle_ships(bundle: LambdaBundle) -> None:
    # pip's RECORD also lists console scripts under ../../bin and bytecode; cut to what ships, it is the same on any
    # machine, and its sha256 rows let the policy pack skip the third-party files installed unchanged.
    with zipfile.ZipFile(bundle.path) as archive:
        shipped = set(archive.namelist())
        records = [name for name in shipped if name.endswith(".dist-info/RECORD")]
        listed = {line.split(",")[0] for record in records for line in archive.read(record).decode().splitlines()}

    assert len(records) == 5
    assert listed <= shipped
    assert set(records) <= listed


def test_the_bundle_is_pure_python_so_it_runs_on_arm64_and_x86_64(bundle: LambdaBundle) -> None:
    native = [name for name in names(bundle) if name.endswith((".so", ".pyd", ".dylib"))]

    assert native == []
    # charset_normalizer's pure-Python wheel, not its mypyc build.
    assert {"charset_normalizer/md.py", "charset_normalizer/cd.py"} <= set(names(bundle))


def test_modules_that_cannot_run_in_the_lambda_are_left_out(bundle: LambdaBundle) -> None:
    left_out = [name for name in names(bundle) if any(name.startswith(module) for module in UNUSABLE_MODULES)]

    assert left_out == []
    # What is left of those packages stays: urllib3.connection imports http2.probe, for one.
    assert {"urllib3/contrib/__init__.py", "urllib3/http2/probe.py", "charset_normalizer/api.py"} <= set(names(bundle))


def test_the_bundle_stays_under_1_5_mb(bundle: LambdaBundle) -> None:
    """Issue 12's budget: 2,245,996 bytes with charset_normalizer's mypyc build, under 1.5 MB without it."""
    assert bundle.size_bytes < 1_500_000


@pytest.mark.usefixtures("no_pip")
def test_tests_caches_and_env_files_beside_the_handler_are_left_out(
    repo_copy: Path, shared_build_dir: Path, bundle: LambdaBundle
) -> None:
    handler = repo_copy / "handler"
    (handler / "__pycache__").mkdir()
    (handler / "__pycache__" / "app.cpython-312.pyc").write_bytes(b"\x00")
    (handler / ".env").write_text("API_KEY=not-a-real-one\n")
    (handler / "test_app.py").write_text("def test_nothing(): pass\n")
    (handler / "conftest.py").write_text("")
    (handler / "notes.txt").write_text("scratch\n")
    (handler / "tests").mkdir()
    (handler / "tests" / "test_more.py").write_text("")

    copy = build_bundle(repo_copy, build_dir=shared_build_dir)

    assert copy.sha256_base64 == bundle.sha256_base64


@pytest.mark.usefixtures("no_pip")
def test_a_repeated_build_reuses_the_cached_zip(bundle: LambdaBundle, shared_build_dir: Path) -> None:
    assert build_bundle(ROOT, build_dir=shared_build_dir) == bundle


@pytest.mark.usefixtures("no_pip")
def test_changed_handler_code_changes_the_hash_but_reuses_the_dependencies(
    repo_copy: Path, shared_build_dir: Path, bundle: LambdaBundle
) -> None:
    with (repo_copy / "handler" / "app.py").open("a") as app:
        app.write("# a change\n")

    changed = build_bundle(repo_copy, build_dir=shared_build_dir)

    assert changed.sha256_base64 != bundle.sha256_base64
    assert changed.path != bundle.path


def test_a_failing_pip_is_reported_with_its_own_error(repo_copy: Path, tmp_path: Path) -> None:
    (repo_copy / "handler" / "requirements.txt").write_text("requests ~~ 2.34\n")

    with pytest.raises(BundleError) as raised:
        build_bundle(repo_copy, build_dir=tmp_path / "build")

    message = str(raised.value)
    assert message.startswith(f"pip could not install {repo_copy / 'handler' / 'requirements.txt'} for the Lambda")
    assert "Invalid requirement: 'requests ~~ 2.34'" in message
    # Nothing half-installed is left to be mistaken for a cached install.
    assert list((tmp_path / "build").iterdir()) == []


def test_missing_requirements_are_reported(repo_copy: Path, tmp_path: Path) -> None:
    (repo_copy / "handler" / "requirements.txt").unlink()

    with pytest.raises(BundleError, match=r"requirements\.txt is missing"):
        build_bundle(repo_copy, build_dir=tmp_path)


@pytest.mark.usefixtures("no_pip")
def test_a_handler_module_named_like_a_dependency_is_refused(repo_copy: Path, shared_build_dir: Path) -> None:
    (repo_copy / "handler" / "idna.py").write_text("")

    with pytest.raises(BundleError, match=r"^handler module\(s\) idna\.py would shadow a bundled dependency"):
        build_bundle(repo_copy, build_dir=shared_build_dir)


def test_the_command_prints_path_hash_and_size(bundle: LambdaBundle, shared_build_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bundle_builder.builder", "--build-dir", str(shared_build_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.splitlines() == [
        f"path: {bundle.path}",
        f"sha256 (base64): {bundle.sha256_base64}",
        f"size: {bundle.size_bytes} bytes",
    ]


def test_the_handler_imports_from_the_bundle_with_boto3_from_the_runtime(bundle: LambdaBundle, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle.path) as archive:
        archive.extractall(tmp_path)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import app, requests; "
        "print(app.lambda_handler.__module__, requests.__file__.startswith(sys.argv[1]), "
        "requests.compat.chardet.__file__.startswith(sys.argv[1]))"
    )

    # Every module the handler needs comes from the zip, charset_normalizer included, and importing it warns of
    # nothing (requests warns when it finds no character detection; urllib3 when its socks module lacks PySocks).
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True
    )

    assert result.stdout.split() == ["app", "True", "True"]
