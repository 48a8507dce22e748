"""The one place a benchmark's figures live: `benchmarks/results/<name>.json`, written by the benchmark that measured
them, and rendered into the READMEs by `benchmarks.readme_figures` (a test fails when a README and these files
disagree).

Each file holds the figures and the conditions they were measured in (Python, cores, load average, date), because
on a shared 2-core machine the absolute figures move by tens of percent between runs; the ratios are the point.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def record(name: str, figures: dict[str, Any]) -> Path:
    """Write one benchmark's figures, with the machine's conditions, to `results/<name>.json`."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    document = {
        "benchmark": f"benchmarks.{name}",
        "measured": {
            "at": datetime.now(UTC).strftime("%Y-%m-%d"),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cores": os.cpu_count(),
            "load_average": None if load is None else round(load, 1),
        },
        "figures": figures,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\nfigures written to {path.relative_to(RESULTS_DIR.parent.parent)}")
    return path


def load(name: str) -> dict[str, Any]:
    """The figures `name` last recorded, with `measured` (its conditions)."""
    document: dict[str, Any] = json.loads((RESULTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return document
