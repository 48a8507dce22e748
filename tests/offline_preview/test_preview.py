"""The offline preview on small programs written by the tests: config, the mocks, the tree, JSON and exit codes."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mock_engine.recorded import UNKNOWN
from offline_preview.cli import (
    EXIT_OK,
    EXIT_PROGRAM_ERROR,
    PreviewError,
    load_stack_config,
    main,
    run_program,
    short_type,
)

ROOT = Path(__file__).resolve().parents[2]

PROJECT_FILE = """\
name: demo
runtime: python
config:
  bucketPrefix:
    type: string
    default: logs
  copies:
    type: integer
    default: 1
  tags:
    type: array
    items: {type: string}
    default: []
"""

PROGRAM = """\
import pulumi
import pulumi_aws as aws

config = pulumi.Config()
if config.require_int("copies") < 1:
    raise pulumi.RunError("demo:copies must be at least 1")


class Pair(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("demo:index:Pair", name, None, None)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", bucket=config.require("bucketPrefix") + "-" + name,
                                    opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


pair = Pair("pair")
topic = aws.sns.Topic("alerts", tags={"owner": "team", "bucket": pair.bucket.bucket})
pulumi.export("bucketArn", pair.bucket.arn)
pulumi.export("bucketName", pair.bucket.bucket)
pulumi.export("tags", config.get_object("tags"))
"""


def write_program(folder: Path, *, stack_config: str = "config:\n  aws:region: eu-west-1\n", program: str = PROGRAM):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text(PROJECT_FILE)
    (folder / "Pulumi.test.yaml").write_text(stack_config)
    (folder / "__main__.py").write_text(program)
    return folder


def test_stack_config_overrides_project_defaults_and_encodes_non_strings(tmp_path):
    write_program(
        tmp_path,
        stack_config="config:\n  aws:region: eu-west-1\n  demo:copies: 3\n  tags: [a, b]\n  aws:skipChecks: true\n",
    )

    stack = load_stack_config(tmp_path, "test")

    assert stack.project == "demo"
    assert stack.secret_keys == frozenset()
    assert stack.values == {
        "demo:bucketPrefix": "logs",
        "demo:copies": "3",
        "demo:tags": '["a", "b"]',
        "aws:region": "eu-west-1",
        "aws:skipChecks": "true",
    }


@pytest.mark.parametrize(
    ("stack_config", "message"),
    [
        ("config: [1, 2]\n", "'config' must be a mapping"),
        ("config: {a: [\n", "not valid YAML"),
    ],
)
def test_unusable_stack_config_is_rejected_with_the_reason(tmp_path, stack_config, message):
    write_program(tmp_path, stack_config=stack_config)

    with pytest.raises(PreviewError, match=message):
        load_stack_config(tmp_path, "test")


def test_a_missing_project_file_is_named(tmp_path):
    with pytest.raises(PreviewError, match=r"no Pulumi\.yaml"):
        load_stack_config(tmp_path, "test")


def test_a_program_runs_with_parents_dependencies_and_plausible_outputs(tmp_path):
    run = run_program(write_program(tmp_path), "test")

    by_name = {resource.name: resource for resource in run.resources}
    assert run.resources[0].type == "pulumi:pulumi:Stack"
    assert by_name["pair"].parent == run.stack_urn
    assert by_name["pair-bucket"].parent == by_name["pair"].urn
    assert by_name["pair-bucket"].urn == "urn:pulumi:test::demo::demo:index:Pair$aws:s3/bucket:Bucket::pair-bucket"
    assert by_name["pair"].custom is False
    assert by_name["alerts"].property_dependencies["tags"] == (by_name["pair-bucket"].urn,)
    assert by_name["alerts"].inputs["tags"] == {"owner": "team", "bucket": "logs-pair"}
    assert run.outputs == {
        "bucketArn": "arn:aws:s3:::logs-pair",
        "bucketName": "logs-pair",
        "tags": [],
    }


def test_first_preview_keeps_inputs_known_and_computed_outputs_unknown(tmp_path):
    run = run_program(write_program(tmp_path), "test", first_preview=True)

    assert run.outputs["bucketName"] == "logs-pair"
    assert run.outputs["bucketArn"] is UNKNOWN


def test_config_overrides_reach_the_program(tmp_path):
    run = run_program(write_program(tmp_path), "test", config_overrides={"demo:bucketPrefix": "audit"})

    assert run.outputs["bucketName"] == "audit-pair"


def test_program_errors_carry_the_programs_own_message(tmp_path):
    write_program(tmp_path, stack_config="config:\n  aws:region: eu-west-1\n  demo:copies: 0\n")

    with pytest.raises(PreviewError) as caught:
        run_program(tmp_path, "test")

    assert str(caught.value) == "demo:copies must be at least 1"


def test_a_missing_region_is_reported(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    write_program(tmp_path, stack_config="config: {}\n")

    with pytest.raises(PreviewError, match="aws:region is not set for stack test"):
        run_program(tmp_path, "test")


@pytest.mark.slow
def test_cli_prints_the_tree_and_exits_zero(tmp_path, capsys):
    assert main(["--program", str(write_program(tmp_path)), "--stack", "test"]) == EXIT_OK

    out = capsys.readouterr().out
    assert " +   pulumi:pulumi:Stack" in out
    assert "├─ demo:index:Pair" in out
    assert "│  └─ aws:s3:Bucket" in out
    assert "└─ aws:sns:Topic" in out
    assert 'bucketName: "logs-pair"' in out
    assert "+ 4 to create" in out


@pytest.mark.slow
def test_cli_json_lists_every_resource_with_its_inputs(tmp_path, capsys):
    assert main(["--program", str(write_program(tmp_path)), "--stack", "test", "--json"]) == EXIT_OK

    document = json.loads(capsys.readouterr().out)
    assert [(r["type"], r["name"]) for r in document["resources"]] == [
        ("pulumi:pulumi:Stack", "demo-test"),
        ("demo:index:Pair", "pair"),
        ("aws:s3/bucket:Bucket", "pair-bucket"),
        ("aws:sns/topic:Topic", "alerts"),
    ]
    assert set(document["resources"][2]) == {"urn", "type", "name", "parent", "inputs"}
    assert document["resources"][2]["inputs"] == {"bucket": "logs-pair"}


@pytest.mark.slow
def test_cli_exits_two_with_the_error_on_a_failing_program(tmp_path):
    write_program(tmp_path, program="import pulumi\nraise pulumi.RunError('keyless-ingest:networkMode: bad value')\n")

    result = subprocess.run(
        [sys.executable, "-m", "offline_preview.cli", "--program", str(tmp_path), "--stack", "test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert result.returncode == EXIT_PROGRAM_ERROR
    assert result.stderr.strip() == "error: keyless-ingest:networkMode: bad value"


@pytest.mark.slow
def test_a_bug_in_the_program_shows_where_it_happened(tmp_path, capsys):
    write_program(
        tmp_path,
        program=textwrap.dedent("""\
        def build():
            return {}["missing"]
        build()
    """),
    )

    assert main(["--program", str(tmp_path), "--stack", "test"]) == EXIT_PROGRAM_ERROR

    err = capsys.readouterr().err
    assert "KeyError: 'missing'" in err
    assert "__main__.py" in err


@pytest.mark.parametrize(
    ("token", "shown"),
    [("aws:ec2/vpc:Vpc", "aws:ec2:Vpc"), ("pulumi:pulumi:Stack", "pulumi:pulumi:Stack"), ("odd", "odd")],
)
def test_types_are_shown_as_pulumi_preview_shows_them(token, shown):
    assert short_type(token) == shown


def test_the_pack_started_beside_a_failing_program_is_stopped(tmp_path, monkeypatch):
    """The pack starts while the program runs (offline_preview.pack_start); a failing program must not leave it
    running."""
    from offline_preview.analyzer_client import PackProcess

    closed: list[PackProcess] = []
    original = PackProcess.close

    def close(pack: PackProcess) -> None:
        closed.append(pack)
        original(pack)

    monkeypatch.setattr(PackProcess, "close", close)
    write_program(tmp_path, program="import pulumi\nraise pulumi.RunError('broken on purpose')\n")

    assert main(["--program", str(tmp_path), "--stack", "test"]) == EXIT_PROGRAM_ERROR

    assert len(closed) == 1
    assert closed[0].pack_dir == ROOT / "policies"
