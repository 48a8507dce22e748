"""Every benchmark in turn (`make bench`): each prints its own table; none is a pass/fail test.

Each runs in its own process so that one's threads, servers and imports cannot skew the next one's figures.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "benchmarks.secret_cache_bench",
    "benchmarks.handler_fanout_bench",
    "benchmarks.bundle_import_bench",
    "benchmarks.policy_pack_bench",
    "benchmarks.code_scan_bench",
    "benchmarks.detector_precision",
    "benchmarks.preview_bench",
)


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        print(f"\n=== {module} ===", flush=True)
        if subprocess.run([sys.executable, "-m", module], check=False).returncode != 0:
            failed.append(module)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
