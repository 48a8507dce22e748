"""`make preview` (`python -m offline_preview --stack prod --first-preview`), timed whole and in parts, and the pack
started after the program (as before issue 20) against the pack started while the program runs (now), side by side.

    venv/bin/python -m benchmarks.preview_bench [RUNS]

Each run is a fresh interpreter, as `make preview` is; the two flows alternate, so that a busy machine slows both
alike, and the table gives medians and the ratio. The parts (imports, program run, pack start-up, Analyze calls) come
from one more run of each step in a fresh interpreter. On a machine with one core free the overlapped flow saves
about the pack's start-up; with none free (other jobs on both cores) the two converge.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.results import record

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
ARGS = '["--stack", "prod", "--first-preview"]'

NOW = f"""
import contextlib, io, sys
from offline_preview.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main({ARGS})
sys.exit(code)
"""

# The flow before the pack was started early: run the program, then start the pack and analyze.
BEFORE = """
import sys
from offline_preview.cli import build_parser
from offline_preview.program_env import request_for, run
from offline_preview import policy_preview
options = build_parser().parse_args(["--stack", "prod", "--first-preview"])
program_dir = options.program.resolve()
program_run = run(request_for(program_dir, "prod", True), program_dir)
report = policy_preview.run_policies(
    options, program_run.resources, project=program_run.project, stack=program_run.stack,
    stack_config=program_run.config,
)
sys.exit(policy_preview.exit_code(report, 0))
"""

PARTS = """
import time
started = time.perf_counter()
from offline_preview.analyzer_client import PackProcess, run_pack
from offline_preview.program_env import REPO_ROOT, request_for, run
from offline_preview.policy_preview import policy_config
imported = time.perf_counter()
request = request_for(REPO_ROOT, "prod", True)
program_run = run(request, REPO_ROOT)
ran = time.perf_counter()
pack = PackProcess(
    REPO_ROOT / "policies", request.project, request.stack, True, dict(request.config), base_dir=REPO_ROOT
)
pack.start()
up = time.perf_counter()
run_pack(pack, program_run.resources, policy_config(None, request.project, program_run.config, REPO_ROOT))
done = time.perf_counter()
pack.close()
print(imported - started, ran - imported, up - ran, done - up)
"""


def wall_seconds(code: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"the preview failed (exit {result.returncode}): {result.stderr.strip()[-400:]}")
    return elapsed


def main(argv: list[str]) -> None:
    runs = int(argv[0]) if argv else RUNS
    timings: dict[str, list[float]] = {"before": [], "now": []}
    for _ in range(runs):
        timings["before"].append(wall_seconds(BEFORE))
        timings["now"].append(wall_seconds(NOW))
    before, now = (statistics.median(timings[name]) for name in ("before", "now"))
    parts = subprocess.run([sys.executable, "-c", PARTS], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    imports, program, pack_up, analyze = (float(value) for value in parts.stdout.split())
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "n/a"
    print(f"make preview (stack prod, first preview), median of {runs} fresh interpreters each, load {load}:\n")
    print("| flow | median (s) | min (s) | max (s) |")
    print("|---|---|---|---|")
    for name, label in (("before", "pack started after the program"), ("now", "pack started with the program")):
        values = timings[name]
        print(f"| {label} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    print(f"\nnow / before: {now / before:.2f}")
    print(
        f"\nParts (one run): imports {imports:.2f} s, program under mocks {program:.2f} s, "
        f"pack start-up {pack_up:.2f} s, Analyze and AnalyzeStack {analyze:.2f} s"
    )
    record(
        "preview_bench",
        {
            "runs": runs,
            "median_seconds": {"before": round(before, 2), "now": round(now, 2)},
            "min_seconds": {name: round(min(values), 2) for name, values in timings.items()},
            "now_over_before": round(now / before, 2),
            "parts_seconds": {
                "imports": round(imports, 2),
                "program": round(program, 2),
                "pack_start": round(pack_up, 2),
                "analyze": round(analyze, 2),
            },
        },
    )


if __name__ == "__main__":
    main(sys.argv[1:])
