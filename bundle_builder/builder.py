"""The Lambda deployment bundles: handler/*.py plus `requests` and its dependencies, pure Python, for python3.12;
and the Config rule's bundle (`build_rule_bundle`): guardrails/lambda_env_rule.py, the pack's own judgement
(policies/keyless_guard/env_values.py and the pack modules it imports, byte for byte) and their pinned requirements.

Deterministic: entries sorted, fixed timestamps and permissions, nothing machine-specific (no bytecode, no
console scripts with this machine's interpreter path, each pip RECORD cut to the files shipped), so the same inputs
give the same bytes and the same hash, and Pulumi sees no spurious update. boto3 is not bundled: the runtime has it.

Cached under build/lambda/: the installed dependencies by a hash of handler/requirements.txt and this module
(which holds the target platform), the zip by a hash of those and the handler code, so a repeated build neither
runs pip nor touches the network.

    python -m bundle_builder [--build-dir DIR] [--rule]    # prints the zip's path, its sha256 (base64), its size
"""

from __future__ import annotations

import argparse
import ast
import base64
import csv
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Pure-Python wheels for the Lambda's Python, whatever machine builds the bundle. Nothing compiled: the bundle then
# runs on arm64 and x86_64 alike, and charset_normalizer comes as its 69 KB py3-none-any wheel rather than its
# mypyc build (two .so files, 682 KB, 41% of the bundle), which requests does not need to parse JSON answers.
PIP_TARGET_ARGS = (
    "--only-binary=:all:",
    "--platform",
    "any",
    "--python-version",
    "3.12",
    "--implementation",
    "py",
    "--abi",
    "none",
)
# The Config rule needs PyYAML (the pack parses YAML values), which PyPI ships only as compiled wheels: the rule's
# bundle is built for CPython 3.12 on Linux arm64, the architecture its function runs on (pure wheels still match).
RULE_PIP_TARGET_ARGS = (
    "--only-binary=:all:",
    "--platform",
    "manylinux2014_aarch64",
    "--python-version",
    "3.12",
    "--implementation",
    "cp",
    "--abi",
    "cp312",
)
RULE_MODULE = "lambda_env_rule.py"
"""The rule's handler module, at the bundle's root (handler string lambda_env_rule.lambda_handler)."""
PACK_PACKAGE = "keyless_guard"
PACK_ROOT_MODULES = ("env_values",)
"""The pack modules the rule calls; the modules they import from the pack are shipped with them."""
# The earliest time a zip entry can carry.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = stat.S_IFREG | 0o644
# Left out of the zip: bytecode, console scripts (their shebang is this machine's interpreter) and pip's
# install markers. Each RECORD ships, cut to the rows of files the zip holds (so it never lists those scripts):
# its sha256 per file lets the policy pack skip exactly the third-party files installed unchanged.
_EXCLUDED_DIRECTORIES = frozenset({"__pycache__", "bin"})
_EXCLUDED_DIST_INFO_FILES = frozenset({"INSTALLER", "REQUESTED", "direct_url.json"})
# Modules that cannot run in the Lambda, left out (paths in the install, a trailing slash for a whole package).
# Nothing imports them there: requests imports urllib3's socks support inside a try (ImportError means "no SOCKS")
# and pyopenssl only where the ssl module lacks SNI; urllib3 loads emscripten only under Pyodide.
# Left in, socks.py would be imported on every cold start only to fail for want of PySocks.
UNUSABLE_MODULES = {
    "urllib3/contrib/emscripten/": "urllib3's backend for Pyodide in a browser",
    "urllib3/contrib/pyopenssl.py": "needs pyOpenSSL, not bundled; only for an ssl module without SNI",
    "urllib3/contrib/socks.py": "needs PySocks, not bundled",
    "charset_normalizer/cli/": "the normalizer command-line tool",
    "charset_normalizer/__main__.py": "the normalizer command-line tool",
}


@dataclass(frozen=True)
class LambdaBundle:
    path: Path
    """The zip file."""
    sha256_base64: str
    """Base64 of the zip's SHA-256, the form of aws.lambda_.Function's source_code_hash and Lambda's CodeSha256."""
    size_bytes: int


class BundleError(RuntimeError):
    """The bundle could not be built; the message says which step failed and why."""


def build_bundle(repo_root: Path | None = None, *, build_dir: Path | None = None) -> LambdaBundle:
    """Build (or reuse) the bundle for the handler in `repo_root` (default: this repository)."""
    root = (repo_root or REPO_ROOT).resolve()
    handler_dir = root / "handler"
    return _build(
        code=_handler_files(handler_dir),
        requirements=handler_dir / "requirements.txt",
        pip_args=PIP_TARGET_ARGS,
        build=(build_dir or root / "build" / "lambda").resolve(),
        prefix="handler",
    )


def build_rule_bundle(repo_root: Path | None = None, *, build_dir: Path | None = None) -> LambdaBundle:
    """Build (or reuse) the Config rule's bundle: guardrails/lambda_env_rule.py at the root, the pack's judgement
    under keyless_guard/ exactly as the pack runs it, and guardrails/requirements.txt."""
    root = (repo_root or REPO_ROOT).resolve()
    guardrails_dir = root / "guardrails"
    rule = guardrails_dir / RULE_MODULE
    if not rule.is_file():
        raise BundleError(f"{rule} is missing: it is the Config rule's handler module")
    code = [(RULE_MODULE, rule), *_pack_files(root / "policies" / PACK_PACKAGE)]
    return _build(
        code=code,
        requirements=guardrails_dir / "requirements.txt",
        pip_args=RULE_PIP_TARGET_ARGS,
        build=(build_dir or root / "build" / "lambda").resolve(),
        prefix="env-rule",
    )


def _build(
    *, code: list[tuple[str, Path]], requirements: Path, pip_args: Sequence[str], build: Path, prefix: str
) -> LambdaBundle:
    if not requirements.is_file():
        raise BundleError(f"{requirements} is missing: it pins what the bundle ships beside the handler code")
    # This module's own source is an input too: a change to how the bundle is made invalidates the cache.
    dependencies_key = _digest([Path(__file__).read_bytes(), requirements.read_bytes(), *map(str.encode, pip_args)])
    dependencies_dir = build / f"dependencies-{dependencies_key[:16]}"
    if not dependencies_dir.is_dir():
        _install_dependencies(requirements, dependencies_dir, pip_args)
    code_parts = [part for name, path in code for part in (name.encode(), path.read_bytes())]
    zip_path = build / f"{prefix}-{_digest([dependencies_key.encode(), *code_parts])[:16]}.zip"
    if not zip_path.is_file():
        dependencies = _dependency_files(dependencies_dir)
        _refuse_shadowing(code, dependencies)
        _write_zip(zip_path, dependencies | dict(code))
    content = zip_path.read_bytes()
    return LambdaBundle(
        path=zip_path,
        sha256_base64=base64.b64encode(hashlib.sha256(content).digest()).decode(),
        size_bytes=len(content),
    )


def _pack_files(package_dir: Path) -> list[tuple[str, Path]]:
    """The pack's `__init__.py`, the root modules and every pack module they import, transitively, as
    `keyless_guard/<module>.py`. A module that imports the policy SDK cannot run in a Lambda and is refused."""
    wanted, seen = list(PACK_ROOT_MODULES), set[str]()
    while wanted:
        module = wanted.pop()
        if module in seen:
            continue
        path = package_dir / f"{module}.py"
        if not path.is_file():
            raise BundleError(f"{path} is missing: the Config rule ships the pack's {module} module")
        seen.add(module)
        for imported in _imports(path):
            top, _, rest = imported.partition(".")
            if top in {"pulumi", "pulumi_policy"}:
                raise BundleError(f"{path} imports {imported}, which the Config rule's Lambda cannot run")
            if top == PACK_PACKAGE and rest:
                wanted.append(rest.split(".")[0])
    init = package_dir / "__init__.py"
    files = [(f"{PACK_PACKAGE}/__init__.py", init)] if init.is_file() else []
    return files + [(f"{PACK_PACKAGE}/{module}.py", package_dir / f"{module}.py") for module in sorted(seen)]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == PACK_PACKAGE)
    return found


def _handler_files(handler_dir: Path) -> list[tuple[str, Path]]:
    """handler/*.py at the zip's root (the code root: the handler string is app.lambda_handler); no tests."""
    files = [
        (path.name, path)
        for path in sorted(handler_dir.glob("*.py"))
        if path.is_file() and not path.name.startswith("test_") and path.name != "conftest.py"
    ]
    if not any(name == "app.py" for name, _ in files):
        raise BundleError(f"{handler_dir} has no app.py, the module of the handler app.lambda_handler")
    return files


def _install_dependencies(requirements: Path, target: Path, pip_args: Sequence[str]) -> None:
    """pip install into a temporary directory, renamed into place only when complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".dependencies-", dir=target.parent))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
        "--no-deps", "--no-compile", "--target", str(staging), *pip_args, "-r", str(requirements),
    ]  # fmt: skip
    try:
        # A fixed argv: this interpreter's pip and paths of this repository.
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise BundleError(
                f"pip could not install {requirements} for the Lambda platform ({' '.join(pip_args)}), "
                f"exit status {result.returncode}:\n{_last_lines(result.stderr or result.stdout)}"
            )
        staging.chmod(0o755)
        try:
            staging.rename(target)
        except OSError:
            # Another build installed the same dependencies meanwhile; theirs are as good as these.
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _dependency_files(dependencies_dir: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in dependencies_dir.rglob("*"):
        relative = path.relative_to(dependencies_dir)
        if not path.is_file() or _EXCLUDED_DIRECTORIES.intersection(relative.parts) or path.suffix == ".pyc":
            continue
        if relative.parent.name.endswith(".dist-info") and relative.name in _EXCLUDED_DIST_INFO_FILES:
            continue
        if any(_within(relative.as_posix(), module) for module in UNUSABLE_MODULES):
            continue
        files[relative.as_posix()] = path
    for name, path in files.items():
        if name.endswith(".dist-info/RECORD"):
            _keep_shipped_rows(path, files)
    return files


def _keep_shipped_rows(record: Path, shipped: dict[str, Path]) -> None:
    """Rewrite a RECORD (in the cached install) to the rows of files the zip ships; idempotent, rows kept in order."""
    rows = list(csv.reader(io.StringIO(record.read_text(encoding="utf-8"))))
    kept = [row for row in rows if row and row[0] in shipped]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(kept)
    if buffer.getvalue() != record.read_text(encoding="utf-8"):
        record.write_text(buffer.getvalue(), encoding="utf-8")


def _within(name: str, module: str) -> bool:
    return name.startswith(module) if module.endswith("/") else name == module


def _refuse_shadowing(code: Iterable[tuple[str, Path]], dependencies: dict[str, Path]) -> None:
    """A handler module named like a dependency's top-level module would silently replace it."""
    top_level = {name.split("/")[0] for name in dependencies} | {
        name.split("/")[0].removesuffix(".py") for name in dependencies
    }
    clashes = sorted(name for name, _ in code if name.removesuffix(".py") in top_level)
    if clashes:
        raise BundleError(f"handler module(s) {', '.join(clashes)} would shadow a bundled dependency; rename them")


def _write_zip(zip_path: Path, entries: dict[str, Path]) -> None:
    """Sorted entries with fixed times and modes, written to a temporary file and renamed into place."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, staging_name = tempfile.mkstemp(prefix=".handler-", suffix=".zip", dir=zip_path.parent)
    os.close(descriptor)
    staging = Path(staging_name)
    try:
        with zipfile.ZipFile(staging, "w") as archive:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
                info.external_attr = FILE_MODE << 16
                info.create_system = 3  # Unix, so the mode bits above are read as such
                # Stored, not deflated: deflate's output depends on the zlib build (zlib-ng differs from zlib),
                # and the hash must not depend on the machine that builds the bundle.
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, entries[name].read_bytes())
        staging.chmod(0o644)
        staging.replace(zip_path)
    finally:
        staging.unlink(missing_ok=True)


def _digest(parts: Sequence[bytes]) -> str:
    """SHA-256 over length-prefixed parts, so that no two different sequences hash alike."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _last_lines(text: str, count: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bundle_builder", description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, help="where to cache and write the bundle (default: build/lambda)")
    parser.add_argument("--rule", action="store_true", help="build the Config rule's bundle instead of the handler's")
    arguments = parser.parse_args(argv)
    try:
        bundle = (build_rule_bundle if arguments.rule else build_bundle)(build_dir=arguments.build_dir)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"path: {bundle.path}")
    print(f"sha256 (base64): {bundle.sha256_base64}")
    print(f"size: {bundle.size_bytes} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
