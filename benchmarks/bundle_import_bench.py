"""Cold import of the Lambda bundle: `import app` (and `import requests` alone) in a fresh interpreter, from the
bundle as built before issue 12 (charset_normalizer's mypyc build, every module of the dependencies) and as built
now (pure Python, modules that cannot run in the Lambda left out), side by side in one run.

    venv/bin/python -m benchmarks.bundle_import_bench

"Before" is installed for this machine (its mypyc wheel for this Python and architecture: the arm64 one the old
bundle shipped cannot load here); "after" is the real bundle, unzipped. No bytecode is written or read for either,
as in the Lambda, whose bundle holds none and whose code directory is read-only. boto3 comes from this virtualenv,
as it comes from the runtime in the Lambda. Each figure is the median of interleaved runs.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from benchmarks import readme_figures, results
from bundle_builder.builder import REPO_ROOT, build_bundle

RUNS = 15
PROBE = (
    "import sys, time; sys.path.insert(0, sys.argv[1]); started = time.perf_counter(); "
    "__import__(sys.argv[2]); print(time.perf_counter() - started)"
)


def before_dir(root: Path) -> Path:
    """handler/*.py and the pinned dependencies, installed as pip installs them for this machine."""
    target = root / "before"
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "--no-deps",
        "--no-compile", "--only-binary=:all:", "--target", str(target),
        "-r", str(REPO_ROOT / "handler" / "requirements.txt"),
    ]  # fmt: skip
    # This interpreter's pip and this repository's pins.
    subprocess.run(command, check=True, capture_output=True)
    native = sorted(path.name for path in (target / "charset_normalizer").glob("*.so"))
    print(f"before: charset_normalizer's native modules for this machine: {', '.join(native) or 'none'}")
    for module in (REPO_ROOT / "handler").glob("*.py"):
        shutil.copy(module, target / module.name)
    return target


def after_dir(root: Path) -> Path:
    bundle = build_bundle()
    target = root / "after"
    with zipfile.ZipFile(bundle.path) as archive:
        archive.extractall(target)
    print(f"after: {bundle.path.name}, {bundle.size_bytes:,} bytes")
    return target


def import_seconds(directory: Path, module: str) -> float:
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(directory), module],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )
    return float(result.stdout)


def main() -> None:
    modules = []
    with tempfile.TemporaryDirectory() as scratch:
        directories = {"before": before_dir(Path(scratch)), "after": after_dir(Path(scratch))}
        for module in ("app", "requests"):
            timings: dict[str, list[float]] = {name: [] for name in directories}
            for _ in range(RUNS):
                for name, directory in directories.items():
                    timings[name].append(import_seconds(directory, module))
            before, after = (statistics.median(timings[name]) for name in ("before", "after"))
            modules.append({"module": module, "before_ms": round(before * 1000, 1), "after_ms": round(after * 1000, 1)})
    results.record("bundle_import_bench", {"runs": RUNS, "modules": modules})
    print(readme_figures.render("bundle-import"))


if __name__ == "__main__":
    main()
