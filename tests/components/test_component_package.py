"""The component package as `pulumi package add` sees it: the host process, its schema, and one Construct.

The host is started as the CLI starts a source-based Python plugin (tests/components/package_host.py); GetSchema is what
`pulumi package get-schema` prints and what SDK generation reads. Every public ComponentResource in `components/` must
be in the schema with documented inputs and outputs, so a new component without annotations fails here.
"""

import importlib
import inspect
import json
import pkgutil
import typing
from collections.abc import Iterator
from typing import Any

import grpc  # type: ignore[import-untyped]
import pulumi
import pytest
from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi.runtime.proto import errors_pb2, provider_pb2, status_pb2

import components
from tests.components.package_host import PACKAGE_DIR, PackageHost, package_host, to_struct
from tests.stack_inspection import ACCOUNT, REGION

TOKEN = "keyless-ingest:index:{}"

# Inputs and outputs of every component: camelCase name -> type, "?" when optional. `list[...]`/`map[...]` are arrays
# and string-keyed maps; a bare capitalised name is one of the package's own types.
EXPECTED: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "AuditQueries": (
        {
            "context": "AwsContext?",
            "namePrefix": "string",
            "secretName": "string",
            "readerRoleArns": "list[string]",
            "logGroupName": "string",
            "keyArn": "string",
        },
        {"queryNames": "list[string]"},
    ),
    "AuditTrail": (
        {
            "context": "AwsContext?",
            "trailName": "string",
            "bucketName": "string",
            "logGroupName": "string",
            "keyAlias": "string",
            "roleName": "string",
            "logRetentionDays": "integer?",
            "logKmsKeyArn": "string?",
        },
        {
            "trailArn": "string",
            "bucketArn": "string",
            "logGroupName": "string",
            "bucketPolicy": "string",
            "keyPolicy": "string",
            "deliveryRolePolicy": "string",
            "deliveryRoleTrust": "string",
        },
    ),
    "DeployRole": (
        {
            "roleName": "string",
            "description": "string",
            "oidcProviderArn": "string",
            "oidcIssuer": "string",
            "audience": "string",
            "subjects": "list[string]",
            "permissionPolicies": "list[string]",
            "inlinePolicy": "string",
            "maxSessionSeconds": "integer?",
        },
        {"arn": "string", "name": "string"},
    ),
    "LeastPrivilegeFunction": (
        {
            "context": "AwsContext?",
            "functionName": "string",
            "roleName": "string",
            "code": "pulumi.json#/Archive",
            "environment": "map[string]",
            "writableTableArns": "list[string]?",
            "readableSecretArns": "list[string]?",
            "codeSha256": "string?",
            "handler": "string?",
            "runtime": "string?",
            "architecture": "string?",
            "memoryMb": "integer?",
            "timeoutSeconds": "integer?",
            "logRetentionDays": "integer?",
            "logKmsKeyArn": "string?",
            "placement": "FunctionPlacement?",
            "reservedConcurrency": "integer?",
            "tracing": "boolean?",
            "secretsManagerEndpointId": "string?",
            "dynamodbEndpointId": "string?",
        },
        {
            "functionName": "string",
            "functionArn": "string",
            "roleArn": "string",
            "logGroupName": "string",
            "rolePolicy": "string",
            "networkPerimeterPolicy": "string?",
        },
    ),
    "Guardrails": (
        {
            "context": "AwsContext?",
            "mode": "string",
            "namePrefix": "string",
            "ruleCode": "pulumi.json#/Archive",
            "ruleCodeSha256": "string?",
            "watchedFunctionNames": "list[string]",
            "vpcFunctionName": "string",
            "logGroupNames": "list[string]",
            "logRetentionDays": "integer",
            "logKmsKeyArn": "string?",
            "alarmTopicArn": "string",
            "watchedRoleId": "string?",
            "scopeTagKey": "string?",
            "scopeTagValue": "string?",
            "maxAccessKeyAgeDays": "integer?",
            "bucketExpirationDays": "integer?",
        },
        {
            "ruleNames": "list[string]",
            "functionName": "string",
            "rolePolicy": "string",
            "eventPattern": "string",
            "recorderName": "string",
        },
    ),
    "LockedSecret": (
        {
            "context": "AwsContext?",
            "secretName": "string",
            "description": "string",
            "readerRoleArns": "list[string]",
            "keyAlias": "string",
            "recoveryWindowDays": "integer?",
            "rotationFunctionArn": "string?",
            "rotationRoleArn": "string?",
            "rotationDays": "integer?",
            "readsOnlyThroughEndpoints": "boolean?",
            "sourceVpceIds": "list[string]?",
        },
        {"arn": "string", "name": "string", "keyArn": "string", "keyAliasArn": "string", "arnPattern": "string"},
    ),
    "LogEncryptionKey": (
        {"context": "AwsContext?", "logGroupNames": "list[string]", "keyAlias": "string"},
        {"arn": "string", "aliasArn": "string", "policy": "string"},
    ),
    "PrivateNetwork": (
        {
            "context": "AwsContext?",
            "mode": "NetworkMode",
            "secretArnPattern": "string",
            "tableArn": "string",
            "allowedPrincipalArns": "list[string]",
            "vpcCidr": "string?",
            "enableNatGateway": "boolean?",
            "vpcId": "string?",
            "subnetIds": "list[string]?",
            "routeTableIds": "list[string]?",
            "secretsManagerEndpointId": "string?",
            "dynamodbEndpointId": "string?",
            "placementTagValue": "string?",
        },
        {
            "vpcId": "string",
            "subnetIds": "list[string]",
            "lambdaSecurityGroupId": "string",
            "endpointSecurityGroupId": "string?",
            "secretsManagerEndpointId": "string",
            "dynamodbEndpointId": "string",
            "natGatewayId": "string?",
            "placementTagValue": "string",
        },
    ),
    "ResultsTable": (
        {"context": "AwsContext?", "tableName": "string", "deletionProtection": "boolean?"},
        {"name": "string", "arn": "string"},
    ),
    "SecretAccessMonitoring": (
        {
            "context": "AwsContext?",
            "namePrefix": "string",
            "secretName": "string",
            "readerRoleArns": "list[string]",
            "functionName": "string",
            "functionRoleArn": "string",
            "cacheTtlSeconds": "integer",
            "metricNamespace": "string",
            "auditLogGroupName": "string?",
            "reservedConcurrency": "integer?",
            "unreservedConcurrencyLimit": "integer?",
            "natGatewayId": "string?",
            "alarmEmail": "string?",
            "thresholds": "AlarmThresholdsArgs?",
            "perimeterEndpointIds": "list[string]?",
            "secretReadAlarms": "boolean?",
            "eventRuleArns": "list[string]?",
        },
        {
            "topicArn": "string",
            "topicPolicy": "string",
            "alarmArns": "map[string]",
            "auditLogGroupName": "string?",
            "unexpectedReadsPattern": "string?",
            "dashboardName": "string",
        },
    ),
}

EXPECTED_TYPES: dict[str, dict[str, str]] = {
    "AwsContext": {"partition": "string", "region": "string", "accountId": "string", "dnsSuffix": "string"},
    "FunctionPlacement": {
        "subnetIds": "list[string]",
        "securityGroupIds": "list[string]",
        "networkTagValue": "string",
        "subnetArns": "list[string]?",
    },
    "AlarmThresholdsArgs": {
        "periodSeconds": "integer?",
        "functionErrors": "integer?",
        "functionThrottles": "integer?",
        "secretThrottles": "integer?",
        "readSpikeHeadroom": "number?",
        "natBytesOut": "integer?",
        "natPeriodSeconds": "integer?",
    },
}


def kind(prop: dict[str, Any]) -> str:
    ref = prop.get("$ref")
    if ref is not None:
        assert isinstance(ref, str)
        return ref.rsplit(":", 1)[-1] if ref.startswith("#/types/") else ref
    if prop["type"] == "array":
        return f"list[{kind(prop['items'])}]"
    if prop["type"] == "object" and "additionalProperties" in prop:
        return f"map[{kind(prop['additionalProperties'])}]"
    assert isinstance(prop["type"], str)
    return prop["type"]


def shape(properties: dict[str, dict[str, Any]], required: list[str]) -> dict[str, str]:
    return {name: kind(prop) + ("" if name in required else "?") for name, prop in properties.items()}


def discovered_components() -> set[type[pulumi.ComponentResource]]:
    """Independently of the host: every public ComponentResource subclass defined in a module of components/."""
    found: set[type[pulumi.ComponentResource]] = set()
    for module_info in pkgutil.iter_modules(components.__path__):
        if module_info.name == "__main__":
            continue
        module = importlib.import_module(f"components.{module_info.name}")
        for name, value in inspect.getmembers(module, inspect.isclass):
            public = not name.startswith("_") and value.__module__ == module.__name__
            if public and issubclass(value, pulumi.ComponentResource):
                found.add(value)
    return found


@pytest.fixture(scope="module")
def host() -> Iterator[PackageHost]:
    with package_host() as running:
        yield running


@pytest.fixture(scope="module")
def schema(host: PackageHost) -> dict[str, Any]:
    response = host.provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60)
    parsed = json.loads(response.schema)
    assert isinstance(parsed, dict)
    return parsed


def test_the_plugin_manifest_declares_a_python_plugin_run_from_this_directory():
    manifest = (PACKAGE_DIR / "PulumiPlugin.yaml").read_text(encoding="utf-8")
    assert "runtime:\n  name: python\n" in manifest
    assert (PACKAGE_DIR / "__main__.py").is_file()
    assert "-r ../requirements.txt" in (PACKAGE_DIR / "requirements.txt").read_text(encoding="utf-8")


def test_the_schema_is_the_keyless_ingest_package_with_every_component(schema):
    assert schema["name"] == "keyless-ingest"
    assert set(schema["resources"]) == {TOKEN.format(name) for name in EXPECTED}
    assert all(resource["isComponent"] for resource in schema["resources"].values())


@pytest.mark.parametrize("component", sorted(EXPECTED))
def test_each_component_has_its_inputs_and_outputs_with_types_requiredness_and_descriptions(schema, component):
    resource = schema["resources"][TOKEN.format(component)]
    inputs, outputs = EXPECTED[component]

    assert shape(resource["inputProperties"], resource.get("requiredInputs", [])) == inputs
    assert shape(resource["properties"], resource.get("required", [])) == outputs
    assert resource["description"]
    undocumented = [
        name
        for name, prop in {**resource["inputProperties"], **resource["properties"]}.items()
        if not prop.get("description", "").strip()
    ]
    assert undocumented == []


def test_the_package_types_are_documented_objects_and_one_enum(schema):
    types = schema["types"]

    assert set(types) == {TOKEN.format(name) for name in [*EXPECTED_TYPES, "NetworkMode"]}
    for name, properties in EXPECTED_TYPES.items():
        declared = types[TOKEN.format(name)]
        assert shape(declared["properties"], declared.get("required", [])) == properties
        assert all(prop.get("description") for prop in declared["properties"].values()), name
    assert [member["value"] for member in types[TOKEN.format("NetworkMode")]["enum"]] == ["create", "existing"]


def test_names_and_arns_that_policies_are_built_from_are_plain_inputs(schema):
    """Plain inputs are values in every SDK, never outputs of other resources: what keeps the policies known at the
    first preview. Archives and the network's ids may be outputs."""
    locked = schema["resources"][TOKEN.format("LockedSecret")]["inputProperties"]
    function = schema["resources"][TOKEN.format("LeastPrivilegeFunction")]["inputProperties"]

    assert locked["readerRoleArns"]["plain"] is True
    assert locked["secretName"]["plain"] is True
    assert function["writableTableArns"]["plain"] is True
    assert "plain" not in function["code"]
    assert "plain" not in function["logKmsKeyArn"]


def test_every_public_component_in_the_source_is_in_the_schema_with_inputs_and_outputs(schema):
    discovered = discovered_components()

    assert {TOKEN.format(cls.__name__) for cls in discovered} == set(schema["resources"])
    for cls in discovered:
        resource = schema["resources"][TOKEN.format(cls.__name__)]
        assert resource["inputProperties"], f"{cls.__name__} has no inputs in the schema"
        assert resource["properties"], f"{cls.__name__} has no outputs in the schema"


COMPONENT_CLASSES = sorted(discovered_components(), key=lambda cls: cls.__name__)


@pytest.mark.parametrize("cls", COMPONENT_CLASSES, ids=[cls.__name__ for cls in COMPONENT_CLASSES])
def test_every_public_class_annotation_of_a_component_is_an_output(cls):
    """Anything else (a Role, a PolicyDocument, a plain str) would be an output no other language can use."""
    # Evaluated annotations (component modules do not postpone them), the class's own: the analyzer reads these.
    declared = {name: hint for name, hint in inspect.get_annotations(cls).items() if not name.startswith("_")}

    assert declared
    not_outputs = {
        name: hint
        for name, hint in declared.items()
        if typing.get_origin(hint) is not pulumi.Output
        and pulumi.Output not in {typing.get_origin(arg) for arg in typing.get_args(hint)}
    }
    assert not_outputs == {}


def test_construct_builds_a_locked_secret_through_the_host(host):
    """Construct as a program in another language would: no `context` (the component reads partition, region and
    account through invokes), inputs in camelCase, numbers as floats on the wire."""
    reader = f"arn:aws:iam::{ACCOUNT}:role/reader"
    request = provider_pb2.ConstructRequest(
        project=host.engine.project,
        stack=host.engine.stack,
        config={"aws:region": REGION},
        dryRun=False,
        parallel=1,
        monitorEndpoint=host.engine_address,
        type=TOKEN.format("LockedSecret"),
        name="api-key",
        inputs=to_struct(
            {
                "secretName": "team/api-key",
                "description": "Team API key; put in out of band.",
                "readerRoleArns": [reader],
                "keyAlias": "alias/team-api-key",
                "recoveryWindowDays": 7,
            }
        ),
    )

    response = host.provider.Construct(request, timeout=120)

    state = json_format.MessageToDict(response.state)
    pattern = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:team/api-key-??????"
    assert response.urn.endswith("keyless-ingest:index:LockedSecret::api-key")
    assert state["arnPattern"] == pattern
    assert state["keyAliasArn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/team-api-key"
    assert state["name"] == "team/api-key"
    assert state["arn"].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:team/api-key-")
    assert set(host.engine.invokes) >= {
        "aws:index/getPartition:getPartition",
        "aws:index/getRegion:getRegion",
        "aws:index/getCallerIdentity:getCallerIdentity",
    }
    (secret,) = host.engine.of_type("aws:secretsmanager/secret:Secret")
    assert (secret.name, secret.inputs["recoveryWindowInDays"]) == ("api-key-secret", 7)
    (policy,) = host.engine.of_type("aws:secretsmanager/secretPolicy:SecretPolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["AllowReaders"]["Principal"] == {"AWS": reader}
    assert statements["DenyEveryoneElse"]["Condition"] == {"StringNotEquals": {"aws:PrincipalArn": reader}}
    assert [r.type for r in host.engine.registrations if not r.custom] == [TOKEN.format("LockedSecret")]


def test_construct_reports_a_missing_required_input_by_name(host):
    request = provider_pb2.ConstructRequest(
        project=host.engine.project,
        stack=host.engine.stack,
        monitorEndpoint=host.engine_address,
        type=TOKEN.format("ResultsTable"),
        name="readings",
        inputs=to_struct({"deletionProtection": False}),
    )

    with pytest.raises(grpc.RpcError) as raised:
        host.provider.Construct(request, timeout=60)

    error = raised.value
    assert isinstance(error, grpc.Call)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    (details,) = [value for key, value in error.trailing_metadata() or () if key == "grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    problems = errors_pb2.InputPropertiesError()
    assert status.details[0].Unpack(problems)
    assert [(e.property_path, e.reason) for e in problems.errors] == [
        ("tableName", "Missing required input 'tableName' on 'ResultsTable'")
    ]
    assert host.engine.of_type(TOKEN.format("ResultsTable")) == []
