"""The CI workflows hold no AWS key, pin every action to a commit and never run untrusted input.

actionlint and zizmor (`make workflows`) check far more; these tests pin the project's own rules, and run both
linters so that a plain pytest run fails on a workflow they reject.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
VENV_BIN = REPO / "venv" / "bin"
PINNED = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}")
UNTRUSTED = re.compile(r"\$\{\{")
"""Any expression inside `run:` is refused, not only the known-dangerous ones: values reach scripts through `env:`."""


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def steps(document: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def triggers(document: dict[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the bare key `on` as the boolean True.
    value = document.get("on", document.get(True))
    if isinstance(value, dict):
        return value
    names = [value] if isinstance(value, str) else list(value or [])
    return dict.fromkeys(names)


def test_there_are_a_preview_and_a_deploy_workflow():
    assert [path.name for path in WORKFLOWS] == ["deploy.yml", "preview.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_no_workflow_references_aws_access_keys(path):
    text = path.read_text(encoding="utf-8")

    assert "AWS_ACCESS_KEY_ID" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
    assert "aws-access-key-id" not in text
    assert "aws-secret-access-key" not in text


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_full_commit_sha(path):
    """tj-actions/changed-files (CVE-2025-30066): a moved tag ran a credential dump in every workflow using it."""
    uses = [step["uses"] for step in steps(load(path)) if "uses" in step]

    assert uses
    assert [ref for ref in uses if not PINNED.fullmatch(ref)] == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_no_pull_request_target_and_no_expression_in_run(path):
    document = load(path)

    assert "pull_request_target" not in triggers(document)
    assert [step["run"] for step in steps(document) if "run" in step and UNTRUSTED.search(step["run"])] == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_only_the_jobs_that_assume_a_role_may_mint_an_oidc_token(path):
    document = load(path)

    assert document["permissions"] == {}
    for name, job in document["jobs"].items():
        assumes_role = any("configure-aws-credentials" in step.get("uses", "") for step in job.get("steps", []))
        if uploads_sarif(job):
            continue  # its own test below
        expected = {"id-token": "write", "contents": "read"} if assumes_role else {"contents": "read"}
        assert job["permissions"] == expected, name


def uploads_sarif(job: dict[str, Any]) -> bool:
    return any(step.get("uses", "").startswith("github/codeql-action/upload-sarif@") for step in job.get("steps", []))


def test_only_a_job_that_runs_no_code_may_write_security_events():
    """The token that may write code-scanning alerts never sits next to the pull request's code: the job that holds
    it downloads the SARIF file and uploads it, with no `run:` step and no checkout, and skips forks (whose token
    cannot write security events)."""
    jobs = load(REPO / ".github" / "workflows" / "preview.yml")["jobs"]
    writers = {name: job for name, job in jobs.items() if "security-events" in job.get("permissions", {})}

    assert list(writers) == ["code-scanning"]
    job = writers["code-scanning"]
    assert job["permissions"] == {"contents": "read", "security-events": "write"}
    assert uploads_sarif(job)
    assert [step for step in job["steps"] if "run" in step or "checkout" in step.get("uses", "")] == []
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    offline_runs = " ".join(step.get("run", "") for step in jobs["offline"]["steps"])
    assert "--sarif keyless-guard.sarif" in offline_runs


def test_the_cloud_preview_skips_forks_and_the_deploy_runs_in_the_protected_environment():
    preview = load(REPO / ".github" / "workflows" / "preview.yml")["jobs"]
    deploy = load(REPO / ".github" / "workflows" / "deploy.yml")["jobs"]["deploy"]

    assert preview["cloud-preview"]["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert deploy["environment"] == "prod"
    runs = " ".join(step.get("run", "") for step in deploy["steps"])
    assert "pulumi up" in runs


STACK_POLICY_CONFIG = '--policy-pack policies --policy-pack-config "policies/config/$PULUMI_STACK.json"'


@pytest.mark.parametrize(("path", "command"), [("preview.yml", "pulumi preview"), ("deploy.yml", "pulumi up")])
def test_the_pulumi_commands_take_the_stacks_own_pack_config(path, command):
    """The CLI does not read the stack's policyConfig key (only the offline preview does): without the stack's
    --policy-pack-config, dev would be judged by the pack's defaults."""
    document = load(REPO / ".github" / "workflows" / path)
    (job,) = [job for job in document["jobs"].values() if command in " ".join(s.get("run", "") for s in job["steps"])]
    (run,) = [step["run"] for step in job["steps"] if command in step.get("run", "")]

    assert job["env"]["PULUMI_STACK"] == "${{ vars.PULUMI_STACK }}"
    assert '--stack "$PULUMI_STACK"' in run
    assert STACK_POLICY_CONFIG in " ".join(run.split())
    assert "prod" not in run


def test_the_deploy_checks_the_stacks_own_permission_file():
    deploy = load(REPO / ".github" / "workflows" / "deploy.yml")["jobs"]["deploy"]
    runs = [step["run"] for step in deploy["steps"] if "bootstrap.deploy_grants" in step.get("run", "")]

    assert [line for run in runs for line in run.splitlines() if "deploy_grants" in line] == [
        'venv/bin/python -m bootstrap.deploy_grants --stack "$PULUMI_STACK" --check'
    ]


@pytest.mark.parametrize("stack_file", sorted(REPO.glob("Pulumi.*.yaml")), ids=lambda path: path.name)
def test_each_stacks_policy_config_is_named_after_the_stack(stack_file):
    """What lets the workflows (and the README's commands) derive the pack config from the stack's name."""
    stack = stack_file.name.split(".")[1]
    config = load(stack_file)["config"]

    assert config["keyless-ingest:policyConfig"] == f"policies/config/{stack}.json"
    assert (REPO / "policies" / "config" / f"{stack}.json").is_file()


@pytest.mark.parametrize(
    "command",
    [
        [str(VENV_BIN / "actionlint"), *map(str, WORKFLOWS)],
        [str(VENV_BIN / "zizmor"), "--offline", str(REPO / ".github" / "workflows")],
    ],
    ids=["actionlint", "zizmor"],
)
def test_the_workflow_linters_pass(command):
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)

    assert result.returncode == 0, result.stdout + result.stderr
