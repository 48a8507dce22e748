"""The offline preview on programs written the way real Pulumi programs are (tests/offline_preview/programs/<name>/),
one per class of failure the survey of 123 public programs found (issue 12): working directory, resources as inputs,
data sources, getPolicyDocument, print(), invokes with no answer, output shapes, the program's own virtualenv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mock_engine.errors import PreviewError
from mock_engine.recorded import UNKNOWN
from offline_preview import program_env
from offline_preview.cli import EXIT_OK, EXIT_PROGRAM_ERROR, main, run_program, run_under_mocks

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).parent / "programs"
ACCOUNT = "111122223333"
REGION = "eu-central-1"


def by_name(run: Any) -> dict[str, Any]:
    return {resource.name: resource for resource in run.resources}


def test_the_program_runs_in_its_own_directory_and_the_callers_directory_is_restored():
    # GIVEN a program that lists ./www and opens ./www/index.html with relative paths, and a caller elsewhere
    before = Path.cwd()

    # WHEN it is previewed from the repository root
    run = run_program(PROGRAMS / "site", "test")

    # THEN it read its own files, its relative asset path is kept, and the caller's directory is unchanged
    assert run.outputs["heading"] == "<h1>offline</h1>"
    page = by_name(run)["index.html"]
    assert page.inputs["source"].path == os.path.join("www", "index.html")
    assert page.inputs["contentType"] == "text/html"
    assert Path.cwd() == before


def test_a_resource_passed_as_an_input_reaches_the_provider_as_its_id_on_every_run():
    """`role=lambda_role` used to be rehydrated on the monitor's executor thread, with that thread's own event loop:
    "Task ... attached to a different loop" or a hang, depending on the thread. Ten runs in one process all agree."""
    seen = []
    for _ in range(10):
        run = run_program(PROGRAMS / "lambda_role", "test")
        resources = by_name(run)
        seen.append(
            (
                resources["lambda-logs"].inputs["role"],
                resources["lambda-logs"].property_dependencies["role"],
                resources["fn"].inputs["role"],
            )
        )

    role_urn = "urn:pulumi:test::lambda_role::aws:iam/role:Role::lambda-role"
    expected = ("offline-lambda-role", (role_urn,), f"arn:aws:iam::{ACCOUNT}:role/offline-lambda-role")
    assert seen == [expected] * 10


def test_a_resource_input_is_unknown_at_a_first_preview_like_its_id():
    run = run_program(PROGRAMS / "lambda_role", "test", first_preview=True)

    assert by_name(run)["lambda-logs"].inputs["role"] is UNKNOWN


@pytest.fixture(scope="module")
def data_sources() -> dict[str, Any]:
    run = run_program(PROGRAMS / "data_sources", "test")
    answers: dict[str, Any] = run.outputs["answers"]
    return answers


def test_get_ami_answers_an_image_in_the_region(data_sources):
    image_id, arn, architecture, alias, name, root_device = data_sources["ami"]
    assert image_id.startswith("ami-")
    assert arn == f"arn:aws:ec2:{REGION}::image/{image_id}"
    assert (architecture, alias, name, root_device) == ("x86_64", "amazon", "al2023-ami-2026.01.01-x86_64", "/dev/xvda")


def test_get_zone_answers_the_named_zone(data_sources):
    zone_id, name, arn, name_servers, private = data_sources["zone"]
    assert zone_id.startswith("Z")
    assert (name, arn, name_servers, private) == ("example.com", f"arn:aws:route53:::hostedzone/{zone_id}", 4, False)


def test_get_stack_answers_a_stack_in_the_account_with_no_outputs(data_sources):
    stack_id, outputs = data_sources["stack"]
    assert stack_id.startswith(f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/network/")
    assert outputs == {}


def test_subnet_route_table_and_interface_lookups_agree_with_each_other(data_sources):
    subnets = data_sources["subnets"]
    subnet_id, subnet_arn, vpc_id, cidr, zone = data_sources["subnet"]
    table_id, table_arn, table_subnet, routes = data_sources["route_table"]
    assert [s[:7] for s in subnets] == ["subnet-", "subnet-"]
    assert subnet_id == subnets[0]
    assert (subnet_arn, cidr, zone) == (
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{subnet_id}",
        "10.0.1.0/24",
        f"{REGION}a",
    )
    assert vpc_id.startswith("vpc-")
    assert (table_arn, table_subnet, routes) == (
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:route-table/{table_id}",
        subnet_id,
        [],
    )
    assert [t[:4] for t in data_sources["route_tables"]] == ["rtb-", "rtb-"]
    eni_id, eni_arn, private_ip, eni_subnet = data_sources["interface"]
    assert (eni_id, eni_arn, private_ip) == (
        "eni-0123456789abcdef0",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-0123456789abcdef0",
        "10.0.1.10",
    )
    assert eni_subnet.startswith("subnet-")
    assert [i[:4] for i in data_sources["interfaces"]] == ["eni-", "eni-"]


def test_registry_and_cluster_logins_answer_placeholders_in_the_account(data_sources):
    endpoint = f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    assert data_sources["token"] == ["AWS", endpoint, True]
    assert data_sources["credentials"] == [ACCOUNT, endpoint]
    assert data_sources["cluster_auth"] == ["platform", True]


def test_get_policy_and_get_group_answer_in_the_account(data_sources):
    arn, name, document = data_sources["policy"]
    assert (arn, name) == (f"arn:aws:iam::{ACCOUNT}:policy/ReadOnlyAccess", "ReadOnlyAccess")
    assert json.loads(document) == {"Version": "2012-10-17", "Statement": []}
    group_arn, min_size, zones = data_sources["group"]
    assert group_arn.startswith(f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:")
    assert group_arn.endswith(":autoScalingGroupName/workers")
    assert (min_size, zones) == (1, [f"{REGION}a", f"{REGION}b"])


@pytest.fixture
def preview_json(capsys):
    """Run the CLI with --json in this process (the pack still runs in its own): exit code, document, stderr."""

    def run(*args: str) -> tuple[int, dict[str, Any], str]:
        code = main(["--json", *args])
        captured = capsys.readouterr()
        return code, json.loads(captured.out) if captured.out.strip() else {}, captured.err

    return run


@pytest.mark.parametrize(
    ("stack", "exit_code", "mandatory"),
    [("test", EXIT_OK, set()), ("wild", 1, {("iam-no-wildcard-actions", "reader-policy")})],
)
def test_a_policy_built_with_get_policy_document_reaches_the_pack_as_json(preview_json, stack, exit_code, mandatory):
    # WHEN a program whose policies come from aws.iam.get_policy_document is previewed with the pack
    code, document, stderr = preview_json("--program", str(PROGRAMS / "policy_document"), "--stack", stack)

    # THEN the policy input is the JSON document, and the pack judged it (no rule met an unknown)
    assert code == exit_code, stderr
    inputs = {r["name"]: r["inputs"] for r in document["resources"]}
    policy = json.loads(inputs["reader-policy"]["policy"])
    assert policy["Statement"][0]["Resource"] == "arn:aws:s3:::offline-bucket/home/${aws:username}/*"
    names = {r["urn"]: r["name"] for r in document["resources"]}
    found = {(v["policy"], names[v["urn"]]) for v in document["violations"] if v["enforcement"] == "mandatory"}
    assert found == mandatory
    assert document["policy_pack"]["not_run_for_unknowns"] == 0


def test_print_goes_to_the_diagnostics_and_stdout_stays_json(capsys):
    assert main(["--program", str(PROGRAMS / "chatty"), "--stack", "test", "--json", "--no-policy"]) == EXIT_OK

    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert [r["name"] for r in document["resources"]] == ["chatty-test", "alerts"]
    assert captured.err.splitlines() == [
        "Diagnostics:",
        "  pulumi:pulumi:Stack (chatty-test):",
        "    building the topic",
        "    warning: the topic has no subscription",
        f"    topic arn: arn:aws:sns:{REGION}:{ACCOUNT}:offline-alerts",
    ]


def test_print_is_shown_under_the_stack_in_the_tree(capsys):
    assert main(["--program", str(PROGRAMS / "chatty"), "--stack", "test", "--no-policy"]) == EXIT_OK

    captured = capsys.readouterr()
    # pulumi.log.warn too, with the CLI's `warning:` prefix, in order with what the program printed, and nothing
    # before the tree.
    assert (
        "Diagnostics:\n  pulumi:pulumi:Stack (chatty-test):\n    building the topic\n"
        "    warning: the topic has no subscription\n"
    ) in captured.out
    assert captured.out.startswith("Previewing update (test) offline:")
    assert captured.err == ""


def test_an_invoke_with_no_answer_fails_with_one_line_naming_it_and_the_way_to_answer(preview_json):
    code, _, stderr = preview_json("--program", str(PROGRAMS / "unanswered"), "--stack", "test", "--no-policy")

    assert code == EXIT_PROGRAM_ERROR
    assert stderr.strip().splitlines() == [
        "error: the offline preview has no answer for the invoke aws:ec2/getInstance:getInstance; supply one with "
        '--invoke-answers FILE, a JSON object such as {"aws:ec2/getInstance:getInstance": {"<camelCaseField>": ...}}'
    ]


def test_invoke_answers_supply_a_missing_invoke(preview_json, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"aws:ec2/getInstance:getInstance": {"privateIp": "10.1.2.3"}}))

    run = run_program(
        PROGRAMS / "unanswered",
        "test",
        invoke_answers={"aws:ec2/getInstance:getInstance": {"privateIp": "10.1.2.3"}},
    )
    code, document, stderr = preview_json(
        "--program", str(PROGRAMS / "unanswered"), "--stack", "test", "--no-policy", "--invoke-answers", str(answers)
    )

    assert run.outputs == {"privateIp": "10.1.2.3"}
    assert code == EXIT_OK, stderr
    assert [r["name"] for r in document["resources"]] == ["unanswered-test"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"privateIP": "10.1.2.3"},
            "aws:ec2/getInstance:getInstance has no result field 'privateIP'; did you mean 'privateIp'?",
        ),
        (
            {"privateIp": "10.1.2.3", "instanceTyep": "t3.micro"},
            "aws:ec2/getInstance:getInstance has no result field 'instanceTyep'; did you mean 'instanceType'?",
        ),
    ],
    ids=["case", "transposed"],
)
def test_a_misspelled_invoke_answer_field_is_an_error_naming_it(preview_json, tmp_path, fields, message):
    # The result type of aws.ec2.get_instance declares privateIp and instanceType (pulumi_aws GetInstanceResult).
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"aws:ec2/getInstance:getInstance": fields}))

    code, _, stderr = preview_json(
        "--program", str(PROGRAMS / "unanswered"), "--stack", "test", "--no-policy", "--invoke-answers", str(answers)
    )

    assert code == EXIT_PROGRAM_ERROR
    assert stderr.strip().splitlines() == [f"error: --invoke-answers: {message}"]


def test_unusable_invoke_answers_are_named(preview_json, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text('["not", "a", "mapping"]')

    code, _, stderr = preview_json(
        "--program", str(PROGRAMS / "unanswered"), "--stack", "test", "--invoke-answers", str(answers)
    )

    assert code == EXIT_PROGRAM_ERROR
    assert (
        stderr.strip() == f'error: {answers}: invoke answers must be a JSON object {{"<token>": {{"<field>": value}}}}'
    )


def shaped_outputs() -> Any:
    # A policy given as an object (the SDK's PolicyDocument input type) to a resource and to an invoke answer.
    role = aws.iam.Role(  # type: ignore[call-overload]  # a plain dict where the SDK types a PolicyDocument
        "shaped",
        assume_role_policy={
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        },
    )
    policy = aws.iam.get_policy(arn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    pulumi.export("assumeRolePolicy", role.assume_role_policy)
    pulumi.export("policy", policy.policy)


def test_outputs_take_the_sdks_declared_types_not_the_inputs_types():
    overridden = {"aws:iam/getPolicy:getPolicy": {"policy": {"Version": "2012-10-17", "Statement": []}}}

    run = run_under_mocks(
        shaped_outputs,
        project="shapes",
        stack="test",
        config={"aws:region": REGION},
        invoke_answers=overridden,
    )

    assert isinstance(run.outputs["assumeRolePolicy"], str)
    assert json.loads(run.outputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert run.outputs["policy"] == '{"Version": "2012-10-17", "Statement": []}'


def make_own_venv(program_dir: Path) -> Path:
    """A virtualenv for the program, built cheaply: no pip, this project's site-packages reached through a .pth (so
    no pulumi download), plus a module `greeting` that exists only there."""
    venv = program_dir / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
    )
    (purelib / "parent_site.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (purelib / "greeting.py").write_text('HELLO = "hello-from-its-own-venv"\n')
    return venv


@pytest.mark.slow
def test_a_program_runs_in_the_virtualenv_its_pulumi_yaml_names(tmp_path, capsys):
    # GIVEN the program copied next to its own virtualenv, which holds a module this project's venv lacks
    program = tmp_path / "own_venv"
    program.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.test.yaml", "__main__.py"):
        (program / name).write_text((PROGRAMS / "own_venv" / name).read_text())
    with pytest.raises(ImportError):
        __import__("greeting")
    venv = make_own_venv(program)

    # WHEN it is previewed with the pack
    code = main(["--program", str(program), "--stack", "test", "--json"])

    # THEN it ran in that virtualenv, its resources reached the pack, and what it printed is a diagnostic
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    document = json.loads(captured.out)
    assert [(r["name"], r["inputs"].get("name")) for r in document["resources"]] == [
        ("own_venv-test", None),
        ("greetings", "hello-from-its-own-venv"),
    ]
    assert document["policy_pack"]["name"] == "keyless-guard"
    assert "    hello-from-its-own-venv" in captured.err.splitlines()
    run = run_program(program, "test")
    assert run.outputs["prefix"] == str(venv)


def test_a_missing_virtualenv_says_how_to_create_it(tmp_path):
    program = tmp_path / "own_venv"
    program.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.test.yaml", "__main__.py"):
        (program / name).write_text((PROGRAMS / "own_venv" / name).read_text())

    with pytest.raises(PreviewError) as caught:
        run_program(program, "test")

    assert str(caught.value) == (
        f"{program / 'venv'}: the virtualenv Pulumi.yaml names does not exist; create it with --install "
        "(or pulumi install)"
    )


@pytest.mark.slow
def test_install_creates_the_virtualenv_and_installs_requirements(tmp_path):
    """Like `pulumi install` with pip: a venv where Pulumi.yaml says, then requirements.txt (one small PyPI package,
    absent from this project's venv, so the test does not download pulumi)."""
    (tmp_path / "Pulumi.yaml").write_text(
        "name: installed\nruntime:\n  name: python\n  options:\n    virtualenv: .venv\n"
    )
    (tmp_path / "requirements.txt").write_text("tabulate==0.9.0\n")

    venv = program_env.install(tmp_path)

    assert venv == tmp_path / ".venv"
    probe = subprocess.run(
        [
            str(tmp_path / ".venv" / "bin" / "python"),
            "-c",
            "import tabulate, sys; print(tabulate.__version__, sys.prefix)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert probe.stdout.split() == ["0.9.0", str(tmp_path / ".venv")]
