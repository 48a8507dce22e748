"""Reads per principal per hour, drawn so that a spike is seen rather than computed: in the terminal, or as a PNG.

The PNG uses matplotlib's Agg backend (no display, no GUI toolkit), pinned in requirements-dev.txt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BARS = " ▁▂▃▄▅▆▇█"
MAX_COLUMNS = 72
"""Wider windows are drawn with several hours per column, so a line fits a terminal."""


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hourly_counts(reads: Mapping[str, Sequence[datetime]]) -> tuple[list[datetime], dict[str, list[int]]]:
    """The hours from the first read to the last, and each principal's reads in each hour."""
    moments = [moment for times in reads.values() for moment in times]
    if not moments:
        return [], {}
    first, last = hour_of(min(moments)), hour_of(max(moments))
    hours = [first + timedelta(hours=n) for n in range(int((last - first) / timedelta(hours=1)) + 1)]
    counts: dict[str, list[int]] = {}
    for principal, times in reads.items():
        row = [0] * len(hours)
        for moment in times:
            row[int((hour_of(moment) - first) / timedelta(hours=1))] += 1
        counts[principal] = row
    return hours, counts


def terminal_chart(reads: Mapping[str, Sequence[datetime]], labels: Mapping[str, str] | None = None) -> list[str]:
    """One line per principal, one column per hour (or per few hours), bar height relative to the busiest column."""
    hours, counts = hourly_counts(reads)
    if not hours:
        return ["(no reads in the window)"]
    width = math.ceil(len(hours) / MAX_COLUMNS)
    columns = {principal: _bucket(row, width) for principal, row in counts.items()}
    peak = max(max(row) for row in columns.values()) or 1
    names = {principal: (labels or {}).get(principal, principal) for principal in columns}
    name_width = max(len(name) for name in names.values())
    unit = "hour" if width == 1 else f"{width} hours"
    lines = [f"one column per {unit} from {hours[0]:%Y-%m-%dT%H:00Z}; full bar = {peak} reads"]
    for principal, row in sorted(columns.items(), key=lambda item: names[item[0]]):
        bars = "".join(BARS[0 if n == 0 else max(1, round(n / peak * (len(BARS) - 1)))] for n in row)
        lines.append(f"{names[principal]:<{name_width}} |{bars}| {sum(row)}")
    return lines


def _bucket(row: list[int], width: int) -> list[int]:
    return [sum(row[start : start + width]) for start in range(0, len(row), width)]


def write_png(reads: Mapping[str, Sequence[datetime]], path: Path, title: str) -> None:
    """Hourly reads per principal as a step chart in a PNG file."""
    from matplotlib import pyplot

    figure = draw(reads, title)
    try:
        figure.savefig(path, format="png")
    finally:
        pyplot.close(figure)


def draw(reads: Mapping[str, Sequence[datetime]], title: str) -> Figure:
    """The chart as a matplotlib figure; the caller closes it (`pyplot.close`)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    hours, counts = hourly_counts(reads)
    # constrained layout makes room for a legend placed outside the axes, so the legend never covers a line.
    figure, axes = pyplot.subplots(figsize=(11, 5), layout="constrained")
    # One more edge, so that the last hour is drawn as a step one hour wide rather than a point.
    edges = [*hours, hours[-1] + timedelta(hours=1)] if hours else []
    for principal, row in sorted(counts.items()):
        axes.step(edges, [*row, row[-1]], where="post", label=principal)  # type: ignore[arg-type]
    axes.set_title(title)
    axes.set_xlabel("hour (UTC)")
    axes.set_ylabel("reads per hour")
    if counts:
        figure.legend(fontsize="small", loc="outside lower center")
    figure.autofmt_xdate()
    return figure
