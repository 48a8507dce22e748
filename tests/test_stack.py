"""The real stack program (`__main__.py`) under the preview mocks, for prod and dev and both network modes."""

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from policy_sentry.querying.actions import get_actions_that_support_wildcard_arns_only

from components.grants import SECRET_READ_ACTIONS, TABLE_WRITE_ACTIONS
from mock_engine.recorded import UNKNOWN
from offline_preview.cli import PreviewError, ProgramRun, run_program, to_jsonable
from tests.stack_inspection import ACCOUNT, EXISTING_NETWORK, contains_unknown, document, of_type, only, statements

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {
    "prod": ("prod", {}),
    "dev": ("dev", {}),
    "prod-existing": ("prod", EXISTING_NETWORK),
    "dev-existing": ("dev", EXISTING_NETWORK),
}
IDENTITY_POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
# The Lambda developer guide requires ec2:DeleteNetworkInterface on "*" for an execution role:
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
MUST_BE_STAR = {"ec2:DeleteNetworkInterface"}


@cache
def preview(variant: str, first_preview: bool = True) -> ProgramRun:
    stack, overrides = VARIANTS[variant]
    return run_program(ROOT, stack, first_preview=first_preview, config_overrides=overrides)


@cache
def wildcard_only(service: str) -> set[str]:
    """Actions of a service that support no resource-level permission, from policy_sentry's IAM database."""
    return {action.lower() for action in get_actions_that_support_wildcard_arns_only(service)}


@pytest.fixture(params=list(VARIANTS))
def run(request) -> ProgramRun:
    return preview(request.param)


def identity_statements(run: ProgramRun) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for resource in run.resources:
        if resource.type in IDENTITY_POLICY_TYPES:
            found.extend(statements(document(resource)).values())
    assert found, "the stack has no identity policy"
    return found


def test_no_identity_policy_grants_a_wildcard_or_service_wildcard_action(run):
    actions = [action for statement in identity_statements(run) for action in statement["Action"]]
    trust = statements(document(only(run, "aws:iam/role:Role", "ingest-role"), "assumeRolePolicy"))

    assert all("*" not in action and "?" not in action for action in actions), actions
    assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action) for action in actions), actions
    assert [a for s in trust.values() for a in s["Action"]] == ["sts:AssumeRole"]


def test_star_resources_only_on_actions_aws_gives_no_choice_for(run):
    starred = [statement for statement in identity_statements(run) if "*" in statement["Resource"]]
    for statement in starred:
        assert statement["Resource"] == ["*"], statement["Sid"]
        for action in statement["Action"]:
            service = action.split(":")[0]
            assert action in MUST_BE_STAR or action.lower() in wildcard_only(service), action
    # The check ran: a VPC function's role needs the actions Lambda requires on "*".
    assert {action for statement in starred for action in statement["Action"]} >= MUST_BE_STAR


def test_the_execution_role_grants_one_table_one_secret_and_its_own_logs():
    run = preview("prod")
    policy = statements(document(only(run, "aws:iam/rolePolicy:RolePolicy", "ingest-policy")))

    assert policy["WriteReadings"]["Action"] == list(TABLE_WRITE_ACTIONS)
    assert policy["WriteReadings"]["Resource"] == [
        f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/keyless-ingest-prod-readings"
    ]
    assert policy["ReadApiKey"]["Action"] == list(SECRET_READ_ACTIONS)
    assert policy["ReadApiKey"]["Resource"] == [
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:keyless-ingest/prod/weather-api-key-??????"
    ]
    assert policy["WriteOwnLogs"]["Resource"] == [
        f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/keyless-ingest-prod-ingest:*"
    ]
    star_actions = {a for s in policy.values() if s["Resource"] == ["*"] for a in s["Action"]}
    assert star_actions == {
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    assert all("kms:" not in a for s in policy.values() for a in s["Action"])


def test_every_secret_arn_pattern_ends_in_the_six_character_suffix(run):
    # Metric filters and saved queries match what a caller passes as SecretId (name, partial or full ARN); they
    # grant nothing.
    skipped = (
        "aws:lambda/function:Function",
        "aws:cloudwatch/logMetricFilter:LogMetricFilter",
        "aws:cloudwatch/queryDefinition:QueryDefinition",
    )
    text = json.dumps([to_jsonable(dict(r.inputs)) for r in run.resources if r.type not in skipped])
    patterns = re.findall(r"arn:aws:secretsmanager:[^\"\\]+", text)

    assert patterns
    assert all(pattern.endswith("-??????") for pattern in patterns), patterns


def test_the_function_environment_holds_exactly_five_names_and_settings(run):
    function = only(run, "aws:lambda/function:Function", "ingest-function")
    stack = run.stack

    assert function.inputs["environment"]["variables"] == {
        "SECRET_ID": f"keyless-ingest/{stack}/weather-api-key",
        "TABLE_NAME": f"keyless-ingest-{stack}-readings",
        "API_BASE_URL": "https://api.weather.example",
        "SECRET_CACHE_TTL_SECONDS": {"prod": "300", "dev": "60"}[stack],
        "LOG_LEVEL": {"prod": "INFO", "dev": "DEBUG"}[stack],
    }


def test_the_endpoint_has_private_dns_and_its_group_admits_only_the_function_on_443(run):
    endpoint = only(run, "aws:ec2/vpcEndpoint:VpcEndpoint", "network-secretsmanager")
    endpoint_sg = only(run, "aws:ec2/securityGroup:SecurityGroup", "network-endpoint")
    lambda_sg = only(run, "aws:ec2/securityGroup:SecurityGroup", "network-lambda")
    function = only(run, "aws:lambda/function:Function", "ingest-function")

    assert endpoint.inputs["privateDnsEnabled"] is True
    (ingress,) = endpoint_sg.inputs["ingress"]
    assert (ingress["protocol"], ingress["fromPort"], ingress["toPort"]) == ("tcp", 443, 443)
    if run.config["keyless-ingest:networkMode"] == "create":
        assert set(ingress) == {"description", "protocol", "fromPort", "toPort", "securityGroups"}
        assert endpoint_sg.property_dependencies["ingress"] == (lambda_sg.urn,)
    else:
        # An adopted VPC is shared: private DNS sends every workload's Secrets Manager calls to this endpoint.
        assert set(ingress) == {"description", "protocol", "fromPort", "toPort", "cidrBlocks"}
        assert "0.0.0.0/0" not in ingress["cidrBlocks"]
    assert lambda_sg.urn in function.property_dependencies["vpcConfig"]


def test_the_secret_policy_denies_every_principal_but_the_reader():
    run = preview("prod")
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-ingest-exec"
    policy = statements(document(only(run, "aws:secretsmanager/secretPolicy:SecretPolicy")))

    assert policy["AllowReaders"]["Principal"] == {"AWS": role_arn}
    assert policy["DenyEveryoneElse"]["Principal"] == "*"
    assert policy["DenyEveryoneElse"]["Condition"] == {"StringNotEquals": {"aws:PrincipalArn": role_arn}}
    assert (
        only(run, "aws:iam/role:Role", "ingest-role").urn
        in only(run, "aws:secretsmanager/secretPolicy:SecretPolicy").dependencies
    )


def test_the_key_policy_decrypt_grant_carries_both_conditions():
    run = preview("prod")
    decrypt = statements(document(only(run, "aws:kms/key:Key", "api-key-key")))[
        "DecryptThroughSecretsManagerForThisSecret"
    ]

    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"},
        "StringLike": {
            "kms:EncryptionContext:SecretARN": (
                f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:keyless-ingest/prod/weather-api-key-??????"
            )
        },
    }


def test_every_log_group_has_a_retention(run):
    log_groups = of_type(run, "aws:cloudwatch/logGroup:LogGroup")

    assert log_groups
    expected = {"prod": 90, "dev": 7}[run.stack]
    assert {g.inputs["name"]: g.inputs["retentionInDays"] for g in log_groups}[
        f"/aws/lambda/keyless-ingest-{run.stack}-ingest"
    ] == expected
    assert all(isinstance(g.inputs.get("retentionInDays"), int | float) for g in log_groups)


def test_every_policy_and_the_environment_are_known_at_the_first_preview(run):
    """One exception, the network perimeter: it names the stack's own endpoints, whose ids AWS assigns when it
    creates them. It is a document object whose only unknowns are those ids; everything else in it is known."""
    checked = set()
    for resource in run.resources:
        for prop in ("policy", "assumeRolePolicy", "environment"):
            if prop not in resource.inputs:
                continue
            value = resource.inputs[prop]
            if resource.name == "ingest-network-perimeter":
                for statement in value["Statement"]:
                    endpoint = statement["Condition"]["StringNotEquals"]["aws:SourceVpce"]
                    rest = {**statement, "Condition": {}}
                    assert not contains_unknown(rest), statement["Sid"]
                    assert endpoint is UNKNOWN or endpoint.startswith("vpce-"), statement["Sid"]
            else:
                assert not contains_unknown(value), f"{resource.name}.{prop} is unknown"
            checked.add(f"{resource.name}.{prop}")
    # What every variant has (the README's architecture): the function's environment and role, its network perimeter,
    # the secret's policy, its key's, and the alarm topic's.
    assert checked >= {
        "ingest-function.environment",
        "ingest-role.assumeRolePolicy",
        "ingest-policy.policy",
        "ingest-network-perimeter.policy",
        "api-key-policy.policy",
        "api-key-key.policy",
        "secret-access-topic-policy.policy",
        "secret-access-topic-key.policy",
    }


def test_exports_for_operators():
    first = preview("prod")
    full = preview("prod", first_preview=False)

    assert set(first.outputs) == {
        "secretArn",
        "secretName",
        "functionName",
        "tableName",
        "vpcId",
        "alarmTopicArn",
        "dashboardName",
        "auditLogGroupName",
        "secretAudience",
        "secretsManagerEndpointId",
    }
    assert first.outputs["secretName"] == "keyless-ingest/prod/weather-api-key"
    # What the unexpected-read alarm watches, known at the first preview (access_report.report --stack reads it).
    assert first.outputs["secretAudience"] == {
        "partition": "aws",
        "region": "eu-west-1",
        "accountId": ACCOUNT,
        "secretName": "keyless-ingest/prod/weather-api-key",
        "readerRoleArns": [f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-ingest-exec"],
    }
    assert first.outputs["secretArn"] is UNKNOWN
    # The perimeter's endpoint: AWS assigns its id, so access_report takes it with --endpoint once it exists.
    assert first.outputs["secretsManagerEndpointId"] is UNKNOWN
    assert full.outputs["secretsManagerEndpointId"].startswith("vpce-")
    assert full.outputs["secretArn"].startswith(
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:keyless-ingest/prod/weather-api-key-"
    )
    assert full.outputs["functionName"] == "keyless-ingest-prod-ingest"
    assert full.outputs["tableName"] == "keyless-ingest-prod-readings"
    assert preview("prod-existing", first_preview=False).outputs["vpcId"] == "vpc-0123456789abcdef0"


def test_prod_and_dev_differ_where_the_stack_files_say():
    prod, dev = preview("prod"), preview("dev")

    assert len(of_type(prod, "aws:ec2/natGateway:NatGateway")) == 1
    assert of_type(dev, "aws:ec2/natGateway:NatGateway") == []
    assert only(prod, "aws:dynamodb/table:Table").inputs["deletionProtectionEnabled"] is True
    assert only(dev, "aws:dynamodb/table:Table").inputs["deletionProtectionEnabled"] is False
    # Unreserved in both: a reservation fails on a new account (tests/test_aws_contract.py).
    assert only(prod, "aws:lambda/function:Function", "ingest-function").inputs["reservedConcurrentExecutions"] == -1
    assert only(dev, "aws:lambda/function:Function", "ingest-function").inputs["tracingConfig"] == {
        "mode": "PassThrough"
    }


def test_the_function_ships_the_bundle_with_its_hash():
    function = only(preview("prod"), "aws:lambda/function:Function", "ingest-function")

    archive = function.inputs["code"]
    assert Path(archive.path).name.endswith(".zip")
    assert Path(archive.path).is_file()
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", function.inputs["sourceCodeHash"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"keyless-ingest:networkMode": "hybrid"}, "keyless-ingest:networkMode: must be 'create' or 'existing'"),
        ({"keyless-ingest:logRetentionDays": "10"}, "keyless-ingest:logRetentionDays: CloudWatch Logs does not accept"),
        (
            {**EXISTING_NETWORK, "keyless-ingest:subnetIds": '["subnet-0aaaaaaaaaaaaaaaa"]'},
            "keyless-ingest:subnetIds: networkMode=existing needs at least two",
        ),
        ({**EXISTING_NETWORK, "keyless-ingest:subnetIds": "[]"}, "keyless-ingest:subnetIds"),
        ({**EXISTING_NETWORK, "keyless-ingest:vpcId": ""}, "keyless-ingest:vpcId: networkMode=existing needs"),
        ({**EXISTING_NETWORK, "keyless-ingest:routeTableIds": "[]"}, "keyless-ingest:routeTableIds"),
        ({**EXISTING_NETWORK, "keyless-ingest:enableNatGateway": "true"}, "keyless-ingest:enableNatGateway"),
        ({"keyless-ingest:subnetIds": '["subnet-1"]'}, "keyless-ingest:networkMode: is 'create', so vpcId"),
        # The Pulumi CLI's own wording for a value of the wrong type (pkg/workspace/config.go).
        (
            {"keyless-ingest:subnetIds": '"subnet-1"'},
            "Stack 'prod' with configuration key 'keyless-ingest:subnetIds' must be of type 'array<string>'",
        ),
        ({"keyless-ingest:apiBaseUrl": "http://api.weather.example"}, "keyless-ingest:apiBaseUrl: must be an https"),
        ({"keyless-ingest:apiBaseUrl": "https://u:p@api.weather.example"}, "must not carry credentials"),
        ({"keyless-ingest:secretCacheTtlSeconds": "0"}, "keyless-ingest:secretCacheTtlSeconds: must be between"),
        ({"keyless-ingest:secretCacheTtlSeconds": "soon"}, "keyless-ingest:secretCacheTtlSeconds"),
        ({"keyless-ingest:logLevel": "LOUD"}, "keyless-ingest:logLevel: must be one of"),
        ({"keyless-ingest:reservedConcurrency": "0"}, "keyless-ingest:reservedConcurrency: 0 would stop"),
        ({"keyless-ingest:secretRecoveryWindowDays": "90"}, "keyless-ingest:secretRecoveryWindowDays"),
        ({"keyless-ingest:secretName": "has spaces"}, "keyless-ingest:secretName: may hold only"),
        ({"keyless-ingest:rotationFunctionArn": "rotate-me"}, "keyless-ingest:rotationFunctionArn"),
        ({"keyless-ingest:vpcCidr": "8.8.0.0/16"}, "keyless-ingest:vpcCidr: '8.8.0.0/16' must be a private IPv4"),
    ],
)
def test_bad_config_fails_with_a_message_naming_the_key(overrides, message):
    with pytest.raises(PreviewError, match=re.escape(message)):
        run_program(ROOT, "prod", config_overrides=overrides)


@pytest.mark.slow
@pytest.mark.parametrize("first_preview", [True, False], ids=["first-preview", "later-preview"])
@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_real_stack_passes_the_policy_pack_through_the_offline_preview(stack, first_preview):
    # WHEN the stack is previewed as `make preview` does, with its own policy config (Pulumi.<stack>.yaml)
    flags = ["--first-preview"] if first_preview else []
    result = subprocess.run(
        [sys.executable, "-m", "offline_preview.cli", "--stack", stack, "--json", *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # THEN no policy is violated, not even as advisory, and none met a value it could not know; dev (no trail to
    # read) shows exactly one advisory: its secret has no unexpected-read alarm, which the preview also warns of
    assert result.returncode == 0, result.stderr + result.stdout[-2000:]
    document = json.loads(result.stdout)
    shown = {(v["policy"], v["enforcement"], v["urn"].rsplit("::", 1)[1]) for v in document["violations"]}
    expected = {("secret-unexpected-access-alarm", "advisory", "api-key-secret")} if stack == "dev" else set()
    assert shown == expected
    warned = "secret-read alarms (unexpected reads, read spike, throttled reads) are OFF" in result.stderr
    assert warned == (stack == "dev")
    assert document["policy_pack"] == {"name": "keyless-guard", "version": "0.2.0", "not_run_for_unknowns": 0}
    assert len(document["resources"]) == len(preview(stack, first_preview).resources)
