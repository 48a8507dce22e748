"""Render the benchmarks' recorded figures (`benchmarks/results/*.json`) into the READMEs, between markers.

    venv/bin/python -m benchmarks.readme_figures           # rewrite every marked block
    venv/bin/python -m benchmarks.readme_figures --check   # exit 1 naming each block that differs

A block is `<!-- figures:NAME -->...<!-- /figures:NAME -->` (inline or over several lines) in README.md,
handler/README.md or policies/README.md; `render(NAME)` is its text. The figures live in one place, the results file
the benchmark wrote (`make bench` runs every benchmark and then this), so a README cannot drift from what was
measured: tests/test_readme_figures.py fails when a block and its results file disagree. Two blocks are read from
the code instead: the pack's rule count, and the bundle's size and hash (built, or taken from the build cache).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.results import load

REPO = Path(__file__).resolve().parent.parent
READMES = (REPO / "README.md", REPO / "handler" / "README.md", REPO / "policies" / "README.md")
BLOCK = re.compile(r"<!-- figures:(?P<name>[a-z-]+) -->(?P<body>.*?)<!-- /figures:(?P=name) -->", re.DOTALL)


def _calls(sent: Mapping[str, int]) -> str:
    return " + ".join(f"{sent[name]} {name}" for name in ("GetSecretValue", "DescribeSecret") if sent.get(name)) or "0"


def _median_run(runs: Sequence[Mapping[str, int]]) -> str:
    """The median run (by total calls), and every run's total when they differ: a thundering herd varies."""
    totals = sorted(sum(sent.values()) for sent in runs)
    median = sorted(runs, key=lambda sent: sum(sent.values()))[len(runs) // 2]
    spread = f" (runs: {', '.join(map(str, totals))})" if totals[0] != totals[-1] else ""
    return _calls(median) + spread


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if value >= 0.1 else f"1/{1 / value:,.0f}"


def _conditions(document: Mapping[str, Any]) -> str:
    measured = document["measured"]
    return (
        f"measured {measured['at']}, Python {measured['python']}, {measured['cores']} cores, load average "
        f"{measured['load_average']}"
    )


def secret_cache() -> str:
    document = load("secret_cache_bench")
    figures = document["figures"]
    readers = figures["readers"]
    (seed,) = [reader for reader in readers if reader["seed"]]
    (ours,) = [reader for reader in readers if reader["handler"]]
    rows = [
        (
            f"Secrets Manager calls, {figures['threads']} threads x {figures['windows']:g} TTL windows "
            f"(TTL {figures['ttl_seconds']:g} s), median of {figures['runs']} runs",
            [_median_run(reader["calls_per_run"]) for reader in readers],
        ),
        ("calls on a cold start", [_calls(reader["cold_start_calls"]) for reader in readers]),
        (
            f"warm reads/s on {figures['threads']} threads (x seed snippet)",
            [
                f"{reader['warm_reads_per_second']:,} "
                f"({_ratio(reader['warm_reads_per_second'] / seed['warm_reads_per_second'])})"
                for reader in readers
            ],
        ),
        (
            "median warm read (x plain dict lookup)",
            [
                f"{reader['warm_read_ns']:,.0f} ns ({reader['warm_read_ns'] / figures['dict_lookup_ns']:.0f}x)"
                for reader in readers
            ],
        ),
        ("Secrets Manager outage, cached value past its TTL", [reader["outage"] for reader in readers]),
        (
            f"rotation to first successful API call (TTL {figures['rotation_ttl_seconds']:g} s)",
            [
                f"{reader['rotation_ms']:,.0f} ms"
                if reader["rotation_ms"] is not None
                else f"not within {figures['rotation_cap_seconds']:g} s"
                for reader in readers
            ],
        ),
    ]
    lines = ["| | " + " | ".join(reader["name"] for reader in readers) + " |", "|---" * (len(readers) + 1) + "|"]
    lines += ["| " + label + " | " + " | ".join(cells) + " |" for label, cells in rows]
    our_runs = [sum(sent.values()) for sent in ours["calls_per_run"]]
    verdict = "within" if max(our_runs) <= figures["call_limit"] else "OVER"
    lines += [
        "",
        f"This handler's cache made {', '.join(map(str, our_runs))} calls in its {figures['runs']} runs: {verdict} "
        f"the limit of {figures['call_limit']} (1 cold fetch + 3 refreshes). A plain dict lookup took "
        f"{figures['dict_lookup_ns']:.0f} ns ({_conditions(document)}).",
    ]
    return "\n".join(lines)


def _fanout_rows() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], float]:
    document = load("handler_fanout_bench")
    figures = document["figures"]
    sequential, fanned = sorted(figures["concurrency"], key=lambda row: row["api_concurrency"])
    return document, sequential, fanned, figures["cities"] * figures["latency_ms"] / 1000


def fanout() -> str:
    document, sequential, fanned, total_latency = _fanout_rows()
    figures = document["figures"]
    lines = [
        f"One event, {figures['cities']} cities, API answering in {figures['latency_ms']:g} ms, median of "
        f"{figures['invocations']} warm invocations each ({_conditions(document)}):",
        "",
        "| | seconds per event | of which fetching | fetching / sum of latencies |",
        "|---|---|---|---|",
    ]
    for row in (sequential, fanned):
        label = (
            "sequential (`API_CONCURRENCY=1`)"
            if row["api_concurrency"] == 1
            else f"default (`API_CONCURRENCY={row['api_concurrency']}`)"
        )
        lines.append(
            f"| {label} | {row['event_seconds']:.3f} | {row['fetch_seconds']:.3f} | "
            f"{row['fetch_seconds'] / total_latency:.2f} |"
        )
    verdict = "under" if fanned["event_seconds"] < figures["target_seconds"] else "over"
    lines += [
        "",
        f"Fan-out / sequential: {fanned['event_seconds'] / sequential['event_seconds']:.2f} per event "
        f"({sequential['event_seconds'] / fanned['event_seconds']:.1f}x faster), "
        f"{fanned['fetch_seconds'] / sequential['fetch_seconds']:.2f} for the fetching alone; the event is {verdict} "
        f"the {figures['target_seconds']:g} s target in this run.",
    ]
    return "\n".join(lines)


def fanout_summary() -> str:
    document, sequential, fanned, total_latency = _fanout_rows()
    figures = document["figures"]
    verdict = "under" if fanned["event_seconds"] < figures["target_seconds"] else "over"
    return (
        f"{sequential['event_seconds']:.3f} s one city after another (`API_CONCURRENCY=1`, "
        f"{sequential['fetch_seconds'] / total_latency:.2f} times the sum of the latencies for the fetching), "
        f"**{fanned['event_seconds']:.3f} s** at the default of {fanned['api_concurrency']} in flight "
        f"({fanned['event_seconds'] / sequential['event_seconds']:.2f} of the sequential time, {verdict} the "
        f"{figures['target_seconds']:g} s target in this run)"
    )


def bundle_import() -> str:
    document = load("bundle_import_bench")
    modules = {row["module"]: row for row in document["figures"]["modules"]}
    app, requests = modules["app"], modules["requests"]
    return (
        f"`import app` {app['before_ms']:,.0f} ms before, {app['after_ms']:,.0f} ms after "
        f"({app['after_ms'] / app['before_ms']:.2f}); `import requests` alone {requests['before_ms']:,.0f} ms before, "
        f"{requests['after_ms']:,.0f} ms after ({requests['after_ms'] / requests['before_ms']:.2f}); median of "
        f"{document['figures']['runs']} fresh interpreters each, {_conditions(document)}"
    )


def bundle_import_ratio() -> str:
    modules = {row["module"]: row for row in load("bundle_import_bench")["figures"]["modules"]}
    return f"{modules['app']['after_ms'] / modules['app']['before_ms']:.2f}"


def code_scan() -> str:
    document = load("code_scan_bench")
    figures = document["figures"]
    return (
        f"{figures['skipping_seconds']:.3f} s instead of {figures['every_file_seconds']:.3f} s over the real bundle "
        f"({figures['unchanged_installed_files']} files a RECORD lists unchanged skipped; median of {figures['runs']} "
        f"interleaved runs, {figures['every_file_seconds'] / figures['skipping_seconds']:.0f}x, "
        f"`benchmarks.code_scan_bench`)"
    )


def policy_pack() -> str:
    document = load("policy_pack_bench")
    figures = document["figures"]
    text = (
        f"keyless-guard ({figures['rules']} rules) at {figures['pack_per_second']:,} resources/s against the no-op "
        f"floor's {figures['floor_per_second']:,}/s over {figures['resources']:,} generated resources, "
        f"**{figures['pack_per_second'] / figures['floor_per_second']:.2f} of the floor** (medians of "
        f"{figures['repeat']} alternated runs, {_conditions(document)})"
    )
    preview = figures.get("preview")
    if preview:
        seconds, alone = preview["seconds"], preview["program_only_seconds"]
        text += (
            f". `make preview` ({preview['resources']} resources, first preview, pack on): "
            f"{', '.join(f'{s:.2f}' for s in seconds)} s wall over {len(seconds)} runs, of which the program under "
            f"mocks alone (`--no-policy`) {', '.join(f'{s:.2f}' for s in alone)} s, so the pack's share is about "
            f"{statistics.median(seconds) - statistics.median(alone):.1f} s"
        )
    return text


def _kinds(kinds: Mapping[str, int]) -> str:
    ranked = sorted(kinds.items(), key=lambda item: (-item[1], item[0]))
    return "; ".join(f"{kind} {count}" for kind, count in ranked) or "none"


def detector_table() -> str:
    document = load("detector_precision")
    figures = document["figures"]
    identifiers, credentials = figures["identifiers"], figures["credentials"]
    lines = [
        f"| detector | false positives on {identifiers:,} identifiers and settings "
        f"({figures['identifier_kinds']} kinds; the most frequent) | missed of {credentials:,} credentials "
        f"({figures['credential_kinds']} kinds) |",
        "|---|---|---|",
    ]
    for row in figures["detectors"]:
        lines.append(
            f"| {row['detector']} | {row['false_positives']:,} ({100 * row['false_positives'] / identifiers:.1f}%): "
            f"{_kinds(row['false_positive_kinds'])} | {row['missed']:,} "
            f"({100 * row['missed'] / credentials:.3g}%): {_kinds(row['missed_kinds'])} |"
        )
    return "\n".join(lines)


def detector_summary() -> str:
    figures = load("detector_precision")["figures"]
    identifiers, credentials = figures["identifiers"], figures["credentials"]
    stock, *_, ours = figures["detectors"]
    return (
        f"{identifiers:,} identifiers and settings and {credentials:,} credentials generated at run time as variable "
        f"name and value: detect-secrets' stock settings (`scan --string`) flag "
        f"{100 * stock['false_positives'] / identifiers:.1f}% of the identifiers as secrets; keyless-guard flags "
        f"{ours['false_positives']:,} and misses {ours['missed']:,} credential(s) of {credentials:,}"
    )


def bundle() -> str:
    """The Lambda bundle as `bundle_builder` builds it now (cached after the first build)."""
    from bundle_builder.builder import build_bundle

    built = build_bundle()
    return f"{built.size_bytes:,} bytes ({built.size_bytes / 1e6:.2f} MB), sha256 (base64) `{built.sha256_base64}`"


def preview() -> str:
    """`make preview`'s wall time (benchmarks.preview_bench), the pack started with the program and after it."""
    document = load("preview_bench")
    figures = document["figures"]
    median, least = figures["median_seconds"], figures["min_seconds"]
    parts = figures["parts_seconds"]
    return (
        f"**{median['now']:.2f} s** median over {figures['runs']} fresh interpreters (least {least['now']:.2f} s) with "
        f"the pack started while the program runs, against {median['before']:.2f} s with the pack started after it "
        f"({figures['now_over_before']:.2f} of it); one run's parts: imports {parts['imports']:.2f} s, the program "
        f"under mocks {parts['program']:.2f} s, the pack's start-up {parts['pack_start']:.2f} s, Analyze and "
        f"AnalyzeStack {parts['analyze']:.2f} s ({_conditions(document)})"
    )


def pack_rules() -> str:
    """The number of rules in the pack, read from the pack itself."""
    policies = str(REPO / "policies")
    if policies not in sys.path:
        sys.path.insert(0, policies)
    from keyless_guard.pack import RULES

    return str(len(RULES))


RENDERERS: dict[str, Callable[[], str]] = {
    "secret-cache": secret_cache,
    "fanout": fanout,
    "fanout-summary": fanout_summary,
    "bundle-import": bundle_import,
    "bundle-import-ratio": bundle_import_ratio,
    "code-scan": code_scan,
    "policy-pack": policy_pack,
    "pack-rules": pack_rules,
    "preview": preview,
    "bundle": bundle,
    "detector-table": detector_table,
    "detector-summary": detector_summary,
}


def render(name: str) -> str:
    return RENDERERS[name]()


def _block_text(body: str, rendered: str) -> str:
    """A block over several lines keeps its text on lines of its own; an inline block stays inline."""
    return f"\n{rendered}\n" if body.startswith("\n") else rendered


def rendered_readme(text: str) -> str:
    return BLOCK.sub(
        lambda match: (
            f"<!-- figures:{match['name']} -->{_block_text(match['body'], render(match['name']))}"
            f"<!-- /figures:{match['name']} -->"
        ),
        text,
    )


def blocks(text: str) -> list[tuple[str, str]]:
    return [(match["name"], match["body"]) for match in BLOCK.finditer(text)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a block is stale")
    options = parser.parse_args(argv)
    stale = []
    for readme in READMES:
        text = readme.read_text(encoding="utf-8")
        updated = rendered_readme(text)
        if updated != text:
            stale += [
                f"{readme.relative_to(REPO)}: {name}"
                for (name, body), (_, new_body) in zip(blocks(text), blocks(updated), strict=True)
                if body != new_body
            ]
            if not options.check:
                readme.write_text(updated, encoding="utf-8")
    if options.check and stale:
        print("stale figures (run venv/bin/python -m benchmarks.readme_figures):", *sorted(set(stale)), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
