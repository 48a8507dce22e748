"""Every benchmark in turn (`make bench`): each prints its own table and records its figures in
`benchmarks/results/`, then the READMEs' figures are rendered from them; none is a pass/fail test.

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
        return 1
    # Each benchmark wrote benchmarks/results/<name>.json; the READMEs show those figures and no others.
    return subprocess.run([sys.executable, "-m", "benchmarks.readme_figures"], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
