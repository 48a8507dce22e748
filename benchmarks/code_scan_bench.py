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
    print(f"bundle: {bundle.path.name}, {bundle.size_bytes:,} bytes")
    print(f"{'scan':<44}{'median s':>10}{'findings':>10}{'skipped unchanged':>19}")
    for label, skip, median in (
        ("every file (before)", False, baseline),
        ("unchanged installed files skipped", True, skipping),
    ):
        scan = scans[skip]
        print(f"{label:<44}{median:>10.3f}{len(scan.findings):>10}{scan.unchanged_installed_files:>19}")
    print(f"speed-up: {baseline / skipping:.1f}x ({RUNS} interleaved runs each)")


if __name__ == "__main__":
    main()
