"""The offline preview never shows a secret (issue 22.1): `pulumi preview` prints `[secret]` for a secret export, and
the engine keeps a secret input secret; the pack still gets the plain value, as the CLI sends it.

The program (programs/secrets) puts one secret into an export, a string input, a tag, a policy document built from it,
and a secret built from a value unknown at a first preview (a computed ARN, as RandomPassword's result is).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY

from mock_engine.recorded import UNKNOWN, is_secret, reveal, secret
from mock_engine.sdk_shapes import shape
from offline_preview.analyzer_client import to_wire
from offline_preview.cli import EXIT_OK, main, run_program
from offline_preview.render import to_jsonable

PROGRAM = Path(__file__).parent / "programs" / "secrets"
VALUE = "hunter" + "2-" + "sekrit"
DB_PASSWORD = "plain" + "-text-" + "input"


@pytest.mark.parametrize("first_preview", [False, True])
def test_the_tree_shows_secret_exports_as_secret_and_no_value_anywhere(capsys, first_preview):
    flags = ["--first-preview"] if first_preview else []

    code = main(["--program", str(PROGRAM), "--stack", "test", "--no-policy", *flags])

    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert VALUE not in out
    assert DB_PASSWORD not in out
    assert SPECIAL_SECRET_SIG not in out
    outputs = out.split("Outputs:")[1].split("Resources:")[0]
    shown = dict(line.split(":", 1) for line in outputs.strip().splitlines())
    assert {name.strip(): value.strip() for name, value in shown.items() if name.strip() != "bucket"} == {
        "accessKeySecret": "[secret]",
        "dbPassword": "[secret]",
        "derived": "[secret]",
        "nested": "[secret]",
        "pw": "[secret]",
    }


@pytest.mark.parametrize("first_preview", [False, True])
def test_json_inputs_show_secret_inputs_as_secret(capsys, first_preview):
    flags = ["--first-preview"] if first_preview else []

    assert main(["--program", str(PROGRAM), "--stack", "test", "--no-policy", "--json", *flags]) == EXIT_OK

    out = capsys.readouterr().out
    assert VALUE not in out
    assert SPECIAL_SECRET_SIG not in out
    inputs = {r["name"]: r["inputs"] for r in json.loads(out)["resources"]}
    assert inputs["password"] == {"type": "SecureString", "value": "[secret]"}
    assert inputs["derived"] == {"type": "SecureString", "value": "[secret]"}
    assert inputs["tagged"] == {"type": "String", "value": "[secret]", "tags": "[secret]"}
    assert inputs["with-secret"] == {"policy": "[secret]"}


def test_a_secret_built_from_an_unknown_value_runs_and_stays_unknown_and_secret():
    run = run_program(PROGRAM, "test", first_preview=True)

    derived = next(r for r in run.resources if r.name == "derived")
    assert is_secret(derived.inputs["value"])
    assert derived.inputs["value"]["value"] is UNKNOWN
    assert is_secret(run.outputs["derived"])


def test_the_pack_gets_the_plain_value_of_a_secret_input():
    run = run_program(PROGRAM, "test")

    password = next(r for r in run.resources if r.name == "password")
    assert to_wire(password.inputs, PROGRAM) == {"type": "SecureString", "value": VALUE}


def test_shaping_a_secret_into_a_string_output_keeps_it_secret_and_never_writes_the_wrapper():
    document = {"Statement": [{"Resource": secret("arn:aws:s3:::b")}]}

    shaped = shape(document, str)

    assert is_secret(shaped)
    assert json.loads(shaped["value"]) == {"Statement": [{"Resource": "arn:aws:s3:::b"}]}
    assert shape(secret(UNKNOWN), str) == secret(UNKNOWN)
    # As pulumi-terraform-bridge's TransformJSONDocument does: a document holding an unknown is one unknown.
    assert shape({"a": UNKNOWN}, str) == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def test_reveal_removes_every_secret_marker_and_says_whether_there_was_one():
    assert reveal({"a": [secret(1), 2], "b": secret({"c": secret("d")})}) == ({"a": [1, 2], "b": {"c": "d"}}, True)
    assert reveal({"a": [1]}) == ({"a": [1]}, False)
    assert secret("x") == {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": "x"}
    assert to_jsonable({"k": secret("x"), "u": UNKNOWN}) == {"k": "[secret]", "u": "<unknown>"}


def test_secrets_stay_secret_when_the_program_runs_in_its_own_virtualenv(tmp_path, capsys):
    """The run comes back from the program's interpreter as JSON (mock_engine.program_run); secrets keep their mark."""
    program = shutil.copytree(PROGRAM, tmp_path / "secrets")
    project_file = program / "Pulumi.yaml"
    project_file.write_text(
        project_file.read_text().replace(
            "runtime: python\n", "runtime:\n  name: python\n  options:\n    virtualenv: venv\n"
        )
    )
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(program / "venv")], check=True)
    site_packages = next((program / "venv" / "lib").glob("python3*/site-packages"))
    (site_packages / "shared.pth").write_text(next(p for p in sys.path if p.endswith("site-packages")) + "\n")

    run = run_program(program, "test", first_preview=True)
    assert main(["--program", str(program), "--stack", "test", "--no-policy", "--json"]) == EXIT_OK

    assert run.outputs["pw"] == secret(VALUE)
    assert is_secret(run.outputs["derived"])
    assert run.outputs["derived"]["value"] is UNKNOWN
    out = capsys.readouterr().out
    assert VALUE not in out
    inputs = {r["name"]: r["inputs"] for r in json.loads(out)["resources"]}
    assert inputs["password"] == {"type": "SecureString", "value": "[secret]"}
