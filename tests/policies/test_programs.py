"""Bad Pulumi programs run through `offline_preview.cli`, the way a developer would, each failing with its rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.policies.conftest import REPO

# Every test here runs the offline preview as a subprocess, with the pack as its own process.
pytestmark = pytest.mark.slow
PROGRAMS = Path(__file__).parent / "programs"
EXPECTED = {
    "wildcard_role": {("iam-no-wildcard-actions", "reader-policy")},
    "env_credentials": {("lambda-env-no-credentials", "leaky")},
    "public_secret": {
        ("secret-policy-not-public", "open-policy"),
        ("secret-customer-managed-kms", "open"),
        ("secret-requires-resource-policy", "open"),
        ("secret-unexpected-access-alarm", "open"),
    },
    "code_credential": {("lambda-code-no-credentials", "baked")},
    "access_key": {("iam-no-access-keys", "ci-key")},
    "vpc_without_endpoint": {("vpc-secretsmanager-endpoint", "isolated")},
    "other_compute": {
        ("compute-env-no-credentials", "app"),
        ("compute-env-no-credentials", "build"),
        ("ec2-user-data-no-credentials", "workers"),
        ("secret-no-value-in-program", "db-password"),
    },
}


def preview(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline_preview.cli", "--stack", "test", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("first_preview", [True, False], ids=["first-preview", "later-preview"])
@pytest.mark.parametrize("program", sorted(EXPECTED))
def test_bad_program_fails_with_its_rule(program, first_preview):
    # WHEN the program is previewed with the pack, as JSON
    flags = ["--first-preview"] if first_preview else []
    result = preview("--program", str(PROGRAMS / program), "--json", *flags)
    # THEN the preview fails with exactly the expected mandatory violations, and no policy met an unknown
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    names = {r["urn"]: r["name"] for r in document["resources"]}
    mandatory = {(v["policy"], names[v["urn"]]) for v in document["violations"] if v["enforcement"] == "mandatory"}
    assert mandatory == EXPECTED[program]
    assert document["policy_pack"] == {"name": "keyless-guard", "version": "0.2.0", "not_run_for_unknowns": 0}


def test_tree_output_shows_diagnostics_under_the_resource_and_a_summary():
    result = preview("--program", str(PROGRAMS / "access_key"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    row = next(i for i, line in enumerate(lines) if "aws:iam:AccessKey" in line)
    assert lines[row + 1].strip().startswith("mandatory: [iam-no-access-keys]")
    assert "    violations: 1 mandatory, 0 advisory" in lines


def test_no_policy_and_advisory_config_exit_zero(tmp_path):
    assert preview("--program", str(PROGRAMS / "access_key"), "--no-policy").returncode == 0
    config = tmp_path / "advisory.json"
    config.write_text(json.dumps({"all": "advisory"}))
    assert preview("--program", str(PROGRAMS / "access_key"), "--policy-config", str(config)).returncode == 0


def test_pack_errors_exit_two_with_the_reason(tmp_path):
    broken = tmp_path / "broken-pack"
    broken.mkdir()
    (broken / "__main__.py").write_text("raise SystemExit('the pack refuses to start')\n")
    result = preview("--program", str(PROGRAMS / "access_key"), "--policy-pack", str(broken))
    assert result.returncode == 2
    assert "the pack refuses to start" in result.stderr
    bad_config = tmp_path / "bad.json"
    bad_config.write_text(json.dumps({"no-such-policy": "mandatory"}))
    result = preview("--program", str(PROGRAMS / "access_key"), "--policy-config", str(bad_config))
    assert result.returncode == 2
    assert "no-such-policy" in result.stderr
