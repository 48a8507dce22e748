"""The policy-pack half of `offline_preview.cli`: options, running the pack, and showing its diagnostics.

`offline_preview.cli` calls these few functions so that its own code stays about programs and mocks.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mock_engine.recorded import RecordedResource
from offline_preview import sarif
from offline_preview.analyzer_client import (
    EXEMPTED,
    EXPIRED,
    STALE,
    PackProcess,
    PolicyReport,
    Violation,
    analyze,
    run_pack,
)
from offline_preview.errors import PolicyPackError
from offline_preview.program_env import pack_python

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_KEY = "policyConfig"
"""Project config key (`<project>:policyConfig`) naming the stack's --policy-pack-config file."""
EXIT_MANDATORY = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("policy pack")
    group.add_argument(
        "--policy-pack",
        type=Path,
        default=REPO_ROOT / "policies",
        metavar="DIR",
        help="CrossGuard pack to run through the Analyzer protocol (default: policies/)",
    )
    group.add_argument(
        "--policy-config",
        type=Path,
        metavar="FILE",
        help=f"policy config in --policy-pack-config format (default: the stack's <project>:{CONFIG_KEY})",
    )
    group.add_argument("--no-policy", action="store_true", help="do not run the policy pack")
    group.add_argument(
        "--sarif",
        type=Path,
        metavar="FILE",
        help="also write the pack's findings as SARIF 2.1.0 to FILE (for GitHub code scanning)",
    )
    group.add_argument(
        "--first-preview",
        action="store_true",
        help="as in the first preview of a new stack: computed outputs (ids, ARNs) are unknown",
    )


def config_path(option: Path | None, project: str, stack_config: Mapping[str, str], program_dir: Path) -> Path | None:
    """The --policy-config file, else the file the stack's config names, else None (the pack's defaults)."""
    if option is None and f"{project}:{CONFIG_KEY}" in stack_config:
        return program_dir / stack_config[f"{project}:{CONFIG_KEY}"]
    return option


def policy_config(
    option: Path | None, project: str, stack_config: Mapping[str, str], program_dir: Path
) -> dict[str, Any] | None:
    """The policy config (`config_path`) as a JSON object, or None for the pack's defaults."""
    path = config_path(option, project, stack_config, program_dir)
    if path is None:
        return None
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PolicyPackError(f"{path}: cannot read the policy config ({exc})") from exc
    if not isinstance(config, dict):
        raise PolicyPackError(f"{path}: the policy config must be a JSON object")
    return config


def run_policies(
    options: argparse.Namespace,
    resources: Sequence[RecordedResource],
    *,
    project: str,
    stack: str,
    stack_config: Mapping[str, str],
    pack: PackProcess | None = None,
) -> PolicyReport | None:
    """Run the pack over one program run, or None with --no-policy. Raises PolicyPackError.

    `pack` is one already started for this run (offline_preview.pack_start); the caller stops it."""
    if options.no_policy:
        return None
    program_dir = Path(options.program).resolve()
    if pack is not None:
        return run_pack(pack, resources, policy_config(options.policy_config, project, stack_config, program_dir))
    return analyze(
        resources,
        pack_dir=options.policy_pack,
        policy_config=policy_config(options.policy_config, project, stack_config, program_dir),
        project=project,
        stack=stack,
        stack_config=stack_config,
        base_dir=program_dir,
        python=pack_python(options.policy_pack),
    )


def _line(violation: Violation) -> str:
    exemption = violation.exemption
    if exemption is not None:
        # The pack's last line is the exemption as JSON, for tools; people get it in words.
        text = violation.message.rstrip().rsplit("\n", 1)[0] if "\n" in violation.message.rstrip() else ""
        message = " ".join(text.split())
        said = (
            f"{exemption.get('reason')} (approved by {exemption.get('approvedBy')}, expires {exemption.get('expires')})"
        )
        where = f"exemption {exemption.get('index')} of {violation.policy}, resource {exemption.get('resource')!r}"
        if violation.exemption_state == EXEMPTED:
            return f"exempted: [{violation.policy}] {message} -- {where}: {said}"
        if violation.exemption_state == EXPIRED:
            return f"{violation.enforcement}: [{violation.policy}] {message} -- {where} EXPIRED: {said}"
        return f"stale exemption: [{violation.policy}] {where} matched no violation: {said}; remove it"
    message = " ".join(violation.message.split())
    return f"{violation.enforcement}: [{violation.policy}] {message}"


def annotator(report: PolicyReport | None) -> Callable[[RecordedResource], Sequence[str]] | None:
    """Diagnostic lines for each resource, as `pulumi preview` prints them under the resource."""
    if report is None:
        return None
    by_urn: dict[str, list[str]] = {}
    for violation in report.violations:
        by_urn.setdefault(violation.urn, []).append(_line(violation))
    return lambda resource: by_urn.get(resource.urn, [])


def summary(report: PolicyReport | None) -> str:
    if report is None:
        return "\nPolicies: not run (--no-policy)"
    counts = Counter(
        v.enforcement for v in report.violations if not v.cant_run and v.exemption_state not in (EXEMPTED, STALE)
    )
    levels = ", ".join(f"{counts[level]} {level}" for level in ("mandatory", "advisory"))
    verdict = "FAILED" if counts["mandatory"] else "passed"
    lines = [
        "",
        "Policies:",
        f"    {report.pack_name}@v{report.pack_version}: {verdict}",
        f"    violations: {levels}",
        f"    policies that could not run on unknown values: {report.not_run_for_unknowns}",
    ]
    exempted, expired, stale = (report.in_state(state) for state in (EXEMPTED, EXPIRED, STALE))
    if exempted or expired or stale:
        lines.append(f"    exemptions: {len(exempted)} applied, {len(expired)} expired, {len(stale)} stale")
    return "\n".join(lines)


def json_fields(report: PolicyReport | None) -> dict[str, Any]:
    if report is None:
        return {}
    return {
        "violations": [
            {
                "policy": v.policy,
                "enforcement": v.enforcement,
                "severity": v.severity,
                "urn": v.urn,
                "message": v.message,
                **({"exemption": {**v.exemption, "state": v.exemption_state}} if v.exemption is not None else {}),
            }
            for v in report.violations
            if v.exemption_state != STALE
        ],
        "exemptions": [
            {**v.exemption, "state": v.exemption_state, "urn": v.urn if v.exemption_state != STALE else None}
            for v in report.violations
            if v.exemption is not None
        ],
        "policy_pack": {
            "name": report.pack_name,
            "version": report.pack_version,
            "not_run_for_unknowns": report.not_run_for_unknowns,
        },
    }


def write_sarif(
    options: argparse.Namespace,
    report: PolicyReport | None,
    resources: Sequence[RecordedResource],
    *,
    project: str,
    stack_config: Mapping[str, str],
) -> None:
    """With --sarif FILE, write the report there as SARIF (paths relative to the program's repository)."""
    if options.sarif is None or report is None:
        return
    program_dir = Path(options.program).resolve()
    log = sarif.document(
        report,
        resources,
        program_dir=program_dir,
        repo_root=sarif.repository_root(program_dir),
        policy_config=config_path(options.policy_config, project, stack_config, program_dir),
    )
    try:
        sarif.write(options.sarif, log)
    except OSError as exc:
        raise PolicyPackError(f"{options.sarif}: cannot write the SARIF file ({exc.strerror})") from exc


def exit_code(report: PolicyReport | None, ok: int) -> int:
    return EXIT_MANDATORY if report is not None and report.mandatory else ok
