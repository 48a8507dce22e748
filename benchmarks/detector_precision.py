"""False positives and misses of keyless-guard's credential detectors against detect-secrets' stock settings.

    venv/bin/python -m benchmarks.detector_precision [--per-kind 300] [--seeds 3]

Identifiers (UUIDs, commit SHAs, ARNs, secret names, ids, URLs, ...) and credentials (AWS keys, tokens of known
formats, random API keys, JWTs, private keys, URLs with passwords) are generated at run time by
tests/policies/corpus.py. "stock" is detect-secrets 1.5 with its default plugins and filters, once as
`detect-secrets scan --string` runs them (`scan_line`) and once as `detect-secrets scan` runs them on a file
(`scan_file` of a .env file with one `VALUE_<n>="value"` line per value); "keyless-guard" is
`keyless_guard.detectors.value_findings`, what the lambda-env-no-credentials rule uses on each value.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from detect_secrets.core.scan import scan_file, scan_line
from detect_secrets.settings import default_settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policies"))

from keyless_guard.detectors import value_findings
from tests.policies.corpus import CREDENTIALS, IDENTIFIERS, samples


def stock(value: str) -> bool:
    return any(True for _ in scan_line(f'VALUE="{value}"'))


def flagged_in_file(values: Sequence[tuple[str, str]]) -> set[int]:
    """Indexes of the values detect-secrets flags when they are lines of one scanned .env file."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "values.env"
        # One value per line: newlines inside a value (a PEM key) are written as the two characters \\n.
        lines = (f'VALUE_{i}="{value}"'.replace("\n", "\\n") + "\n" for i, (_, value) in enumerate(values))
        path.write_text("".join(lines))
        return {secret.line_number - 1 for secret in scan_file(str(path))}


def file_rates(values: Sequence[tuple[str, str]], flagged_is_error: bool) -> tuple[int, Counter[str]]:
    flagged = flagged_in_file(values)
    errors = Counter(kind for i, (kind, _) in enumerate(values) if (i in flagged) == flagged_is_error)
    return sum(errors.values()), errors


def ours(value: str) -> bool:
    return bool(value_findings(value))


def rates(
    detector: Callable[[str], bool], values: Sequence[tuple[str, str]], flagged_is_error: bool
) -> tuple[int, Counter[str]]:
    errors: Counter[str] = Counter()
    for kind, value in values:
        if detector(value) == flagged_is_error:
            errors[kind] += 1
    return sum(errors.values()), errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    options = parser.parse_args(argv)
    identifiers = [s for seed in range(options.seeds) for s in samples(IDENTIFIERS, options.per_kind, seed)]
    credentials = [s for seed in range(options.seeds) for s in samples(CREDENTIALS, options.per_kind, seed)]
    print(
        f"{len(identifiers)} identifiers ({len(IDENTIFIERS)} kinds), {len(credentials)} credentials "
        f"({len(CREDENTIALS)} kinds)\n"
    )
    print("| detector | false positives on identifiers | missed credentials |")
    print("|---|---|---|")
    with default_settings():
        rows = [
            (
                "detect-secrets 1.5 stock, `scan --string`",
                rates(stock, identifiers, True),
                rates(stock, credentials, False),
            ),
            ("detect-secrets 1.5 stock, file scan", file_rates(identifiers, True), file_rates(credentials, False)),
            ("keyless-guard", rates(ours, identifiers, True), rates(ours, credentials, False)),
        ]
    for name, (fp, fp_kinds), (fn, fn_kinds) in rows:
        print(
            f"| {name} | {fp} ({100 * fp / len(identifiers):.1f}%): {_top(fp_kinds)} "
            f"| {fn} ({100 * fn / len(credentials):.2f}%): {_top(fn_kinds)} |"
        )
    return 0


def _top(kinds: Counter[str]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in kinds.most_common(6)) or "none"


if __name__ == "__main__":
    sys.exit(main())
