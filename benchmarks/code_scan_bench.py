"""The code scan over the real Lambda bundle, with and without skipping the files pip installed unchanged (their
sha256 matches the distribution's RECORD), side by side in one run.

    venv/bin/python -m benchmarks.code_scan_bench

Both scans read the same zip and run the same detectors; the baseline scans every text file, as the pack did before
issue 12. Each figure is the median of interleaved runs, so machine noise hits both alike.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "policies"))

from benchmarks import readme_figures, results
from bundle_builder.builder import build_bundle
from keyless_guard.lambda_code import bundle_scan

RUNS = 5


def main() -> None:
    bundle = build_bundle()
    archive = pulumi.FileArchive(str(bundle.path))
    timings: dict[bool, list[float]] = {True: [], False: []}
    scans = {}
    for _ in range(RUNS):
        for skip in (False, True):
            started = time.perf_counter()
            scans[skip] = bundle_scan(archive, skip_unchanged_installed=skip)
            timings[skip].append(time.perf_counter() - started)
    baseline, skipping = statistics.median(timings[False]), statistics.median(timings[True])
    figures = {
        "bundle_bytes": bundle.size_bytes,
        "runs": RUNS,
        "every_file_seconds": round(baseline, 3),
        "skipping_seconds": round(skipping, 3),
        "findings": [len(scans[False].findings), len(scans[True].findings)],
        "unchanged_installed_files": scans[True].unchanged_installed_files,
    }
    results.record("code_scan_bench", figures)
    print(readme_figures.render("code-scan"))


if __name__ == "__main__":
    main()
