"""The READMEs' measured figures are the benchmarks' recorded ones, so that the two READMEs cannot disagree again.

Each figure sits between `figures` markers and is rendered from `benchmarks/results/<name>.json`, which the benchmark
that measured it wrote; these tests render every block again and compare. No benchmark runs here.
"""

import re

import pytest

from benchmarks import readme_figures, results
from benchmarks.readme_figures import READMES, REPO, blocks, render

ALL_BLOCKS = [(readme, name, body) for readme in READMES for name, body in blocks(readme.read_text(encoding="utf-8"))]


@pytest.mark.parametrize(
    ("readme", "name", "body"),
    ALL_BLOCKS,
    ids=[f"{readme.relative_to(REPO)}:{name}" for readme, name, _ in ALL_BLOCKS],
)
def test_each_marked_block_is_what_its_results_file_renders(readme, name, body):
    expected = render(name)

    assert body.strip() == expected, (
        f"{readme.relative_to(REPO)}: the {name} figures differ from benchmarks/results; "
        "run venv/bin/python -m benchmarks.readme_figures"
    )


def test_every_renderer_is_shown_and_the_shared_figures_appear_in_each_readme_that_quotes_them():
    shown = {(readme.name if readme.parent == REPO else readme.parent.name, name) for readme, name, _ in ALL_BLOCKS}

    assert {name for _, name in shown} == set(readme_figures.RENDERERS)
    # The secret-cache table and the code-scan figure are quoted in two READMEs: from the same file, so equal.
    assert {("README.md", "secret-cache"), ("handler", "secret-cache")} <= shown
    assert {("README.md", "code-scan"), ("handler", "code-scan"), ("policies", "code-scan")} <= shown


def test_a_changed_results_file_makes_the_readme_stale(monkeypatch):
    """The check can fail: the same README against a results file with one figure changed."""
    real = results.load("code_scan_bench")
    changed = {**real, "figures": {**real["figures"], "skipping_seconds": real["figures"]["skipping_seconds"] + 1}}
    monkeypatch.setattr(
        readme_figures, "load", lambda name: changed if name == "code_scan_bench" else results.load(name)
    )
    text = (REPO / "README.md").read_text(encoding="utf-8")

    assert readme_figures.rendered_readme(text) != text
    assert readme_figures.main(["--check"]) == 1


def test_the_readmes_are_up_to_date():
    assert readme_figures.main(["--check"]) == 0


def test_the_rule_count_is_the_packs():
    import keyless_guard.pack

    assert render("pack-rules") == str(len(keyless_guard.pack.RULES))


@pytest.mark.parametrize("readme", READMES, ids=lambda path: str(path.relative_to(REPO)))
def test_no_readme_states_a_test_count(readme):
    """Test counts change with every test added; the suite reports its own."""
    assert re.findall(r"\b\d[\d,]* tests\b", readme.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("readme", READMES, ids=lambda path: str(path.relative_to(REPO)))
def test_commands_with_arguments_name_the_venvs_interpreter(readme):
    """A bare `python -m bootstrap.deploy_grants --stack prod` runs the system interpreter, without policy_sentry."""
    text = readme.read_text(encoding="utf-8")

    assert re.findall(r"(?<![\w/.-])python3? -m [\w.]+\s+--", text) == []
