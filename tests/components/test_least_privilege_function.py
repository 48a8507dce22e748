import re
from typing import Any

import pulumi

from components.aws_context import AwsContext
from components.least_privilege_function import LeastPrivilegeFunction, LeastPrivilegeFunctionArgs
from components.private_network import FunctionPlacement
from tests.stack_inspection import ACCOUNT, REGION, build_error, document, of_type, only, run_components, statements

CONTEXT = AwsContext("aws", REGION, ACCOUNT)
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:team/api-key-??????"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/readings"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
ENVIRONMENT = {"SECRET_ID": "team/api-key", "TABLE_NAME": "readings"}
TAGGED = {"StringEquals": {"aws:ResourceTag/keyless-ingest-network": "net"}}


def function_args(**overrides) -> LeastPrivilegeFunctionArgs:
    args: LeastPrivilegeFunctionArgs = {
        "context": CONTEXT,
        "function_name": "fn",
        "role_name": "fn-exec",
        "code": pulumi.AssetArchive({"app.py": pulumi.StringAsset("def lambda_handler(e, c): return e\n")}),
        "environment": ENVIRONMENT,
        "writable_table_arns": [TABLE],
        "readable_secret_arns": [SECRET],
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


def placement(subnet_arns: tuple[str, ...] = ()) -> FunctionPlacement:
    return FunctionPlacement(
        subnet_ids=["subnet-1", "subnet-2"],
        security_group_ids=["sg-1"],
        network_tag_value="net",
        subnet_arns=subnet_arns,
    )


def role_policy(run) -> dict[str, dict[str, Any]]:
    return statements(document(only(run, "aws:iam/rolePolicy:RolePolicy")))


def test_outside_a_vpc_the_role_can_log_write_the_table_and_read_the_secret_and_nothing_else():
    run = run_components(lambda: LeastPrivilegeFunction("fn", function_args()), first_preview=True)

    assert role_policy(run) == {
        "WriteOwnLogs": {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/fn:*"],
        },
        "WriteReadings": {
            "Sid": "WriteReadings",
            "Effect": "Allow",
            "Action": ["dynamodb:BatchWriteItem"],
            "Resource": [TABLE],
            "Condition": {"ArnEquals": {"lambda:SourceFunctionArn": FUNCTION}},
        },
        "ReadApiKey": {
            "Sid": "ReadApiKey",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [SECRET],
            "Condition": {"ArnEquals": {"lambda:SourceFunctionArn": FUNCTION}},
        },
        "WriteReadingsOnlyInsideTheFunction": {
            "Sid": "WriteReadingsOnlyInsideTheFunction",
            "Effect": "Deny",
            "Action": ["dynamodb:BatchWriteItem"],
            "Resource": [TABLE],
            "Condition": {"ArnNotEquals": {"lambda:SourceFunctionArn": FUNCTION}},
        },
        "ReadApiKeyOnlyInsideTheFunction": {
            "Sid": "ReadApiKeyOnlyInsideTheFunction",
            "Effect": "Deny",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [SECRET],
            "Condition": {"ArnNotEquals": {"lambda:SourceFunctionArn": FUNCTION}},
        },
    }
    assert only(run, "aws:lambda/function:Function").inputs.get("vpcConfig") is None
    # No endpoint given: no network perimeter policy (a function outside a VPC has no endpoint to go through).
    assert [r.name for r in of_type(run, "aws:iam/rolePolicy:RolePolicy")] == ["fn-policy"]


def test_trust_policy_admits_only_lambda_from_this_account():
    run = run_components(lambda: LeastPrivilegeFunction("fn", function_args()))

    trust = statements(document(only(run, "aws:iam/role:Role"), "assumeRolePolicy"))

    assert trust == {
        "LambdaInThisAccountOnly": {
            "Sid": "LambdaInThisAccountOnly",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": ["sts:AssumeRole"],
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    }


def test_in_created_subnets_network_interfaces_are_scoped_by_tag_and_star_only_where_aws_requires():
    run = run_components(lambda: LeastPrivilegeFunction("fn", function_args(placement=placement())))
    policy = role_policy(run)

    assert policy["CreateInterfaces"]["Resource"] == [f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/*"]
    assert policy["CreateInterfacesInOwnSubnets"]["Resource"] == [f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/*"]
    assert policy["CreateInterfacesInOwnSubnets"]["Condition"] == TAGGED
    assert policy["CreateInterfacesWithOwnSecurityGroups"]["Resource"] == [
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/*"
    ]
    assert policy["CreateInterfacesWithOwnSecurityGroups"]["Condition"] == TAGGED
    assert policy["ManageInterfaces"]["Resource"] == ["*"]
    assert set(policy["ManageInterfaces"]["Action"]) == {
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
    }
    function = only(run, "aws:lambda/function:Function")
    assert function.inputs["vpcConfig"] == {"subnetIds": ["subnet-1", "subnet-2"], "securityGroupIds": ["sg-1"]}


def test_in_known_subnets_the_subnet_grant_names_them_exactly():
    subnet_arns = (f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-1", f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-2")
    run = run_components(lambda: LeastPrivilegeFunction("fn", function_args(placement=placement(subnet_arns))))

    subnets = role_policy(run)["CreateInterfacesInOwnSubnets"]

    assert subnets["Resource"] == list(subnet_arns)
    assert "Condition" not in subnets


def test_tracing_adds_xray_writes_and_active_mode():
    run = run_components(lambda: LeastPrivilegeFunction("fn", function_args(tracing=True)))

    assert role_policy(run)["SendTraces"]["Action"] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    assert only(run, "aws:lambda/function:Function").inputs["tracingConfig"] == {"mode": "Active"}


def test_function_settings_log_group_and_ordering():
    run = run_components(
        lambda: LeastPrivilegeFunction(
            "fn", function_args(reserved_concurrency=5, log_retention_days=30, code_sha256="c2hhMjU2")
        ),
        first_preview=True,
    )
    function = only(run, "aws:lambda/function:Function")
    log_group = only(run, "aws:cloudwatch/logGroup:LogGroup")

    assert function.inputs["name"] == "fn"
    assert function.inputs["role"] == f"arn:aws:iam::{ACCOUNT}:role/fn-exec"
    assert function.inputs["handler"] == "app.lambda_handler"
    assert function.inputs["runtime"] == "python3.12"
    assert function.inputs["architectures"] == ["arm64"]
    assert function.inputs["sourceCodeHash"] == "c2hhMjU2"
    assert function.inputs["reservedConcurrentExecutions"] == 5
    assert function.inputs["environment"] == {"variables": ENVIRONMENT}
    assert function.inputs["loggingConfig"] == {"logFormat": "Text", "logGroup": "/aws/lambda/fn"}
    assert log_group.inputs == {"name": "/aws/lambda/fn", "retentionInDays": 30}
    role, role_policy_resource = only(run, "aws:iam/role:Role"), only(run, "aws:iam/rolePolicy:RolePolicy")
    assert {role.urn, role_policy_resource.urn, log_group.urn} <= set(function.dependencies)


def test_unreserved_by_default():
    run = run_components(lambda: LeastPrivilegeFunction("fn", function_args()))

    assert only(run, "aws:lambda/function:Function").inputs["reservedConcurrentExecutions"] == -1
    assert len(of_type(run, "aws:cloudwatch/logGroup:LogGroup")) == 1


def test_a_retention_cloudwatch_rejects_fails_before_anything_is_registered():
    error = build_error(lambda: LeastPrivilegeFunction("fn", function_args(log_retention_days=10)))
    assert isinstance(error, ValueError)
    assert re.search("log_retention_days: CloudWatch Logs does not accept a retention of 10 days", str(error))
