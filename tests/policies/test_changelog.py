"""policies/CHANGELOG.md: every rule is introduced by one release, and a release that adds a blocking rule says so."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pulumi_policy import EnforcementLevel

from keyless_guard.pack import PACK_VERSION, RULES

POLICIES = Path(__file__).resolve().parents[2] / "policies"
RULE_NAME = re.compile(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`")


def releases(text: str) -> dict[str, dict[str, str]]:
    """version -> section title -> section text, in the file's order (newest first)."""
    found: dict[str, dict[str, str]] = {}
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        version, _, body = block.partition("\n")
        sections = re.split(r"^### ", body, flags=re.MULTILINE)[1:]
        found[version.strip()] = {s.partition("\n")[0].strip(): s.partition("\n")[2] for s in sections}
    return found


CHANGELOG = releases((POLICIES / "CHANGELOG.md").read_text(encoding="utf-8"))


def test_the_newest_release_is_the_manifests_version_and_the_packs():
    manifest = yaml.safe_load((POLICIES / "PulumiPolicy.yaml").read_text(encoding="utf-8"))["version"]
    assert next(iter(CHANGELOG)) == manifest == PACK_VERSION


def test_every_rule_is_introduced_by_exactly_one_release():
    introduced = [name for sections in CHANGELOG.values() for name in RULE_NAME.findall(sections.get("New rules", ""))]
    assert sorted(introduced) == sorted(rule.name for rule in RULES)


def test_a_release_that_adds_a_mandatory_rule_calls_it_out_under_blocks_more():
    levels = {rule.name: rule.level for rule in RULES}
    first = list(CHANGELOG)[-1]
    for version, sections in CHANGELOG.items():
        if version == first:
            continue
        new_mandatory = {
            n for n in RULE_NAME.findall(sections.get("New rules", "")) if levels[n] == EnforcementLevel.MANDATORY
        }
        called_out = set(RULE_NAME.findall(sections.get("Blocks more", "")))
        assert new_mandatory - called_out == set(), version


def test_every_rule_the_changelog_names_exists():
    names = {rule.name for rule in RULES}
    mentioned = {n for sections in CHANGELOG.values() for text in sections.values() for n in RULE_NAME.findall(text)}
    assert mentioned - names == set()
