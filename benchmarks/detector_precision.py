"""False positives and misses of keyless-guard's environment-variable judge against detect-secrets' stock settings.

    venv/bin/python -m benchmarks.detector_precision [--per-kind 300] [--seeds 3]

Identifiers and settings (UUIDs, commit SHAs, ARNs, secret names, settings under secret-like names, public client ids,
PEM public keys, publishable keys, DSNs, base64 JSON settings, ...) and credentials (AWS keys, tokens of known formats,
random API keys, JWTs, private keys, URLs with passwords, punctuated passwords, hex keys, credentials inside JSON,
YAML, query and connection strings) are generated at run time by tests/policies/corpus.py as (variable name, value)
pairs. "stock" is detect-secrets 1.5 with its default plugins and filters, once as `detect-secrets scan --string` runs
them (`scan_line` of `NAME="value"`) and once as `detect-secrets scan` runs them on a file (`scan_file` of a .env file
with one `NAME="value"` line per pair); "keyless-guard" is `keyless_guard.env_values.variable_problems(name, value)`,
what the lambda-env-no-credentials rule reports for each variable.
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

from benchmarks import readme_figures, results
from keyless_guard.env_values import variable_problems
from tests.policies.corpus import NAMED_CREDENTIALS, NAMED_IDENTIFIERS, named_samples

Sample = tuple[str, str, str]
"""(kind, variable name, value)."""


def _line(name: str, value: str) -> str:
    # One pair per line: newlines inside a value (a PEM key, YAML) are written as the two characters \\n.
    return f'{name}="{value}"'.replace("\n", "\\n")


def stock(name: str, value: str) -> bool:
    return any(True for _ in scan_line(_line(name, value)))


def flagged_in_file(values: Sequence[Sample]) -> set[int]:
    """Indexes of the pairs detect-secrets flags when they are lines of one scanned .env file."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "values.env"
        path.write_text("".join(_line(name, value) + "\n" for _, name, value in values))
        return {secret.line_number - 1 for secret in scan_file(str(path))}


def file_rates(values: Sequence[Sample], flagged_is_error: bool) -> tuple[int, Counter[str]]:
    flagged = flagged_in_file(values)
    errors = Counter(kind for i, (kind, _, _) in enumerate(values) if (i in flagged) == flagged_is_error)
    return sum(errors.values()), errors


def ours(name: str, value: str) -> bool:
    return bool(variable_problems(name, value))


def rates(
    detector: Callable[[str, str], bool], values: Sequence[Sample], flagged_is_error: bool
) -> tuple[int, Counter[str]]:
    errors: Counter[str] = Counter()
    for kind, name, value in values:
        if detector(name, value) == flagged_is_error:
            errors[kind] += 1
    return sum(errors.values()), errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    options = parser.parse_args(argv)
    identifiers = [s for seed in range(options.seeds) for s in named_samples(NAMED_IDENTIFIERS, options.per_kind, seed)]
    credentials = [s for seed in range(options.seeds) for s in named_samples(NAMED_CREDENTIALS, options.per_kind, seed)]
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
    figures = {
        "identifiers": len(identifiers),
        "identifier_kinds": len(NAMED_IDENTIFIERS),
        "credentials": len(credentials),
        "credential_kinds": len(NAMED_CREDENTIALS),
        "detectors": [
            {
                "detector": name,
                "false_positives": fp,
                "false_positive_kinds": dict(fp_kinds.most_common(6)),
                "missed": fn,
                "missed_kinds": dict(fn_kinds.most_common(6)),
            }
            for name, (fp, fp_kinds), (fn, fn_kinds) in rows
        ],
    }
    results.record("detector_precision", figures)
    print(readme_figures.render("detector-table"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
