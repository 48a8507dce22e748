"""policies/rules/<rule>.md: one page per rule, generated from the rule's metadata and tests/policies/examples.py.

Every failing example must still fail its rule through the pack process and every passing one must pass it; a page
that differs from what `python -m tests.policies.rule_pages` writes is stale (regenerate it with that command).
"""

from __future__ import annotations

import pytest

from keyless_guard.pack import RULES
from offline_preview.analyzer_client import PackProcess
from tests.policies import rule_pages
from tests.policies.examples import EXAMPLES


def test_pages_are_generated_from_examples_that_still_fail_and_pass(pack: PackProcess) -> None:
    expected = rule_pages.pages(pack)  # asserts each example still does its job
    assert rule_pages.stale(expected) == [], "regenerate: venv/bin/python -m tests.policies.rule_pages"
    assert len(expected) == len(RULES) + 1  # a page per rule and the index


def test_a_page_says_whether_the_rule_can_be_exempted() -> None:
    never = (rule_pages.PAGES / "lambda-code-no-credentials.md").read_text()
    yes = (rule_pages.PAGES / "iam-no-wildcard-actions.md").read_text()
    assert "| can be exempted | never: it finds credentials" in never
    assert "| can be exempted | yes, per resource, in the policy config" in yes


@pytest.mark.parametrize("rule", ["iam-no-wildcard-actions", "secret-unexpected-access-alarm"])
def test_a_swapped_example_is_caught(pack: PackProcess, rule: str) -> None:
    """The generator refuses an example that no longer does its job (here: the passing stack given as failing)."""
    example = EXAMPLES[rule]
    assert [v for v in rule_pages.verdicts(pack, rule, example.passing) if not v.cant_run] == []
    assert [v for v in rule_pages.verdicts(pack, rule, example.failing) if not v.cant_run] != []
