"""Components built by a provider plugin (awsx, eks: `remote=True`) are shown as not looked inside, with the count
(unknown offline) in --json, and judged at the level the stack's policy config gives policy-known-at-preview."""

import json
from pathlib import Path

import pytest

from offline_preview.cli import EXIT_OK, main, run_program
from offline_preview.remote_components import level

PROGRAM = Path(__file__).parent / "programs" / "remote_component"
NOTE = (
    "an unknown number of resources inside it are not previewed offline and were not judged by the pack "
    "(the awsx provider plugin builds them)"
)


def test_the_run_records_which_component_is_remote():
    run = run_program(PROGRAM, "test")

    assert {r.name: (r.custom, r.remote) for r in run.resources[1:]} == {"main": (False, True), "logs": (True, False)}


def test_with_the_packs_defaults_a_remote_component_fails_the_preview_as_an_unread_policy_would(capsys):
    assert main(["--program", str(PROGRAM), "--stack", "test"]) == 1

    out = capsys.readouterr().out
    assert f"mandatory: [remote-component-not-previewed] {NOTE}" in out
    assert "Remote components: 1 not looked inside (mandatory, the level of policy-known-at-preview: " in out


def test_an_advisory_level_keeps_the_exit_code_and_json_carries_the_unknown_count(tmp_path, capsys):
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"all": "mandatory", "policy-known-at-preview": {"enforcementLevel": "advisory"}}))

    code = main(["--program", str(PROGRAM), "--stack", "test", "--json", "--policy-config", str(config)])

    assert code == EXIT_OK
    assert json.loads(capsys.readouterr().out)["remote_components"] == [
        {
            "urn": "urn:pulumi:test::remote::awsx:ec2:Vpc::main",
            "type": "awsx:ec2:Vpc",
            "name": "main",
            "resources_not_previewed": None,
            "resources_not_previewed_known": False,
            "enforcement": "advisory",
        }
    ]


def test_without_the_pack_the_component_is_still_shown_as_not_looked_inside(capsys):
    assert main(["--program", str(PROGRAM), "--stack", "test", "--no-policy"]) == EXIT_OK

    out = capsys.readouterr().out
    assert f"\n          {NOTE}\n" in out
    assert "Remote components: 1 not looked inside (not judged: the pack did not run)" in out


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, "mandatory"),
        ({"all": "advisory"}, "advisory"),
        ({"all": {"enforcementLevel": "disabled"}}, "disabled"),
        ({"all": "advisory", "policy-known-at-preview": "mandatory"}, "mandatory"),
        ({"all": "mandatory", "policy-known-at-preview": {"enforcementLevel": "advisory"}}, "advisory"),
    ],
)
def test_the_level_is_the_gate_policys_own_entry_else_all_else_the_packs_default(config, expected):
    assert level(config) == expected
