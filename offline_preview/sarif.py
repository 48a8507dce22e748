"""The policy pack's findings as SARIF 2.1.0, for GitHub code scanning (`python -m offline_preview --sarif FILE`).

One run; the tool's rules are the pack's policies (description, help from the remediation steps, default level
from this stack's config, `security-severity` from the policy's severity); one result per violation:

- `level` is `error` for a mandatory violation and `warning` for an advisory one. A violation the policy config
  exempts keeps the level its rule has and carries a SARIF `suppressions` entry (kind `external`: the waiver lives in
  the policy config, not in the code) whose justification is the exemption's reason, approver and expiry, so GitHub
  lists it as dismissed rather than dropping it. An exemption that matched nothing is a `note` on the config file.
- the location is the program's source line that constructed the resource (recorded by the preview's run, see
  mock_engine.origins), relative to the repository root; the lines that called it (a component's constructor called
  from `__main__.py`) are `relatedLocations`. A finding on the stack itself points at the program's entry point.

GitHub's code scanning reads `properties.security-severity` (a number: over 9.0 critical, 7.0-8.9 high, 4.0-6.9
medium, 3.9 or less low) only on rules tagged `security`, and `partialFingerprints` to follow a result across
commits when lines move (GitHub Docs, "SARIF support for code scanning", reportingDescriptor and result objects).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from mock_engine.recorded import RecordedResource
from offline_preview.analyzer_client import EXEMPTED, STALE, PolicyInfo, PolicyReport, Violation

SCHEMA_URI: Final = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT: Final = "%SRCROOT%"
SECURITY_SEVERITY: Final = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
"""The middle of each GitHub band; a policy with no severity gets none."""
LEVELS: Final = {"mandatory": "error", "remediate": "error", "advisory": "warning", "disabled": "none"}
FINGERPRINT: Final = "keylessGuardFinding/v1"


def repository_root(start: Path) -> Path:
    """The nearest directory at or above `start` holding `.git` (a directory, or a file in a worktree); else `start`."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def document(
    report: PolicyReport,
    resources: Sequence[RecordedResource],
    *,
    program_dir: Path,
    repo_root: Path,
    policy_config: Path | None = None,
) -> dict[str, Any]:
    """The SARIF log for one preview's policy report."""
    program_dir, repo_root = program_dir.resolve(), repo_root.resolve()
    by_urn = {resource.urn: resource for resource in resources}
    rules = list(report.policies)
    index = {policy.name: position for position, policy in enumerate(rules)}
    levels = {policy.name: policy.enforcement for policy in rules}
    entry = _relative(program_dir / "__main__.py", repo_root)
    config = _relative(policy_config, repo_root) if policy_config is not None else None
    results = [
        _result(
            violation,
            index,
            levels,
            by_urn.get(violation.urn),
            where=_Where(program_dir, repo_root, entry, config, policy_config),
        )
        for violation in report.violations
    ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": report.pack_name,
                        "version": report.pack_version,
                        "semanticVersion": report.pack_version,
                        "rules": [_rule(policy) for policy in rules],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"description": {"text": "The repository root."}}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def write(path: Path, sarif: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(sarif, indent=2) + "\n", encoding="utf-8")


def _rule(policy: PolicyInfo) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": ["security", *policy.tags]}
    if policy.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[policy.severity]
    help_text = policy.remediation or policy.description
    return {
        "id": policy.name,
        "name": "".join(part.capitalize() for part in policy.name.split("-")),
        "shortDescription": {"text": _first_sentence(policy.description)},
        "fullDescription": {"text": policy.description},
        "help": {
            "text": f"{help_text}\n\nRule page: policies/rules/{policy.name}.md",
            "markdown": f"{help_text}\n\nRule page: `policies/rules/{policy.name}.md`",
        },
        "defaultConfiguration": {"level": LEVELS.get(policy.enforcement, "warning")},
        "properties": properties,
    }


def _first_sentence(text: str) -> str:
    head = text.split(". ", 1)[0].strip()
    return head if head.endswith(".") else f"{head}."


class _Where:
    """How to turn a resource into locations: the program directory, the repository root, fallbacks."""

    def __init__(
        self, program_dir: Path, repo_root: Path, entry: str, config: str | None, config_path: Path | None
    ) -> None:
        self.program_dir, self.repo_root, self.entry = program_dir, repo_root, entry
        self.config, self.config_path = config, config_path

    def sites(self, resource: RecordedResource | None) -> list[tuple[str, int]]:
        if resource is None or not resource.sites:
            return [(self.entry, 1)]
        return [(_relative(self.program_dir / path, self.repo_root), line) for path, line in resource.sites]

    def config_line(self, glob: str) -> tuple[str, int] | None:
        if self.config is None or self.config_path is None:
            return None
        try:
            lines = self.config_path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return (self.config, 1)
        needle = json.dumps(glob)
        return (self.config, next((n for n, text in enumerate(lines, 1) if needle in text), 1))


def _result(
    violation: Violation,
    index: Mapping[str, int],
    levels: Mapping[str, str],
    resource: RecordedResource | None,
    *,
    where: _Where,
) -> dict[str, Any]:
    exemption = violation.exemption or {}
    if violation.exemption_state == STALE:
        level = "note"
        site = where.config_line(str(exemption.get("resource", ""))) or where.sites(None)[0]
        sites = [site]
    else:
        rule_level = levels.get(violation.policy, violation.enforcement)
        enforcement = rule_level if violation.exemption_state == EXEMPTED else violation.enforcement
        level = "note" if violation.cant_run else LEVELS.get(enforcement, "warning")
        sites = where.sites(resource)
    result: dict[str, Any] = {
        "ruleId": violation.policy,
        "level": level,
        "message": {"text": _message(violation)},
        "locations": [_location(sites[0], violation.urn, resource)],
        "partialFingerprints": {FINGERPRINT: _fingerprint(violation)},
    }
    if violation.policy in index:
        result["ruleIndex"] = index[violation.policy]
    if len(sites) > 1:
        result["relatedLocations"] = [
            {**_physical(site), "id": number, "message": {"text": "called from here"}}
            for number, site in enumerate(sites[1:], 1)
        ]
    if violation.exemption_state == EXEMPTED:
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": (
                    f"{exemption.get('reason')} (approved by {exemption.get('approvedBy')}, "
                    f"expires {exemption.get('expires')}; exemption {exemption.get('index')} of "
                    f"{violation.policy} in the policy config)"
                ),
            }
        ]
    return result


def _message(violation: Violation) -> str:
    text = violation.message.strip()
    if violation.exemption is not None and "\n" in text:
        text = text.rsplit("\n", 1)[0].strip()  # the exemption's JSON line: said in `suppressions` or below
    if violation.exemption_state == STALE:
        exemption = violation.exemption or {}
        return (
            f"Stale exemption: exemption {exemption.get('index')} of {violation.policy} "
            f"(resource {exemption.get('resource')!r}) matched no violation; remove it from the policy config."
        )
    if violation.exemption_state and violation.exemption_state != EXEMPTED:
        exemption = violation.exemption or {}
        text += f"\nThe exemption for this resource expired on {exemption.get('expires')} and no longer applies."
    return text or violation.description or violation.policy


def _physical(site: tuple[str, int]) -> dict[str, Any]:
    path, line = site
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": path, "uriBaseId": SRCROOT},
            "region": {"startLine": max(1, line)},
        }
    }


def _location(site: tuple[str, int], urn: str, resource: RecordedResource | None) -> dict[str, Any]:
    location = _physical(site)
    if urn:
        name = resource.name if resource is not None else urn.rsplit("::", 1)[-1]
        location["logicalLocations"] = [{"name": name, "fullyQualifiedName": urn, "kind": "resource"}]
    return location


def _fingerprint(violation: Violation) -> str:
    """Stable across runs and line moves: the rule, the resource's URN and the finding's own text."""
    text = violation.message.strip()
    if violation.exemption is not None and "\n" in text:
        text = text.rsplit("\n", 1)[0]
    digest = hashlib.sha256(f"{violation.policy}\0{violation.urn}\0{text}".encode()).hexdigest()
    return digest[:32]


def _relative(path: Path, root: Path) -> str:
    resolved = path.resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else resolved.as_posix()
