"""What real AWS would reject, or accept and then not do, pinned on the recorded plans (issue 8).

Mocks accept every one of these mistakes, so each test states the AWS behaviour it relies on and cites where it comes
from: an AWS documentation page or a public report of the failure. Plans: prod and dev as their stack files say, prod
with rotation configured, and prod adopting an existing VPC with and without its own endpoints; all as the first
`pulumi preview` of a new stack sees them (computed ids and ARNs unknown), unless a test says otherwise.
"""

import ast
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import pulumi
import pytest
import yaml

from bundle_builder import BundleError, build_bundle
from components.private_network import NETWORK_TAG_KEY
from mock_engine.recorded import UNKNOWN, RecordedResource
from offline_preview.cli import PreviewError, ProgramRun, run_program
from tests.stack_inspection import (
    ACCOUNT,
    EXISTING_NETWORK,
    REGION,
    ROTATION,
    ROTATION_FUNCTION,
    ROTATION_ROLE,
    document,
    of_type,
    only,
    statements,
)

ROOT = Path(__file__).resolve().parent.parent
EXISTING_VPC = EXISTING_NETWORK
EXISTING_ENDPOINTS = {
    **EXISTING_VPC,
    "keyless-ingest:secretsManagerEndpointId": "vpce-0123456789abcdef0",
    "keyless-ingest:dynamodbEndpointId": "vpce-0fedcba9876543210",
}
PLANS: dict[str, tuple[str, dict[str, str]]] = {
    "prod": ("prod", {}),
    "dev": ("dev", {}),
    "rotation": ("prod", ROTATION),
    "existing-vpc": ("prod", EXISTING_VPC),
    "existing-endpoints": ("prod", EXISTING_ENDPOINTS),
}
TRAIL = "aws:cloudtrail/trail:Trail"
ROLE = "aws:iam/role:Role"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@cache
def plan(name: str, first_preview: bool = True) -> ProgramRun:
    stack, overrides = PLANS[name]
    return run_program(ROOT, stack, first_preview=first_preview, config_overrides=overrides)


def exec_role(stack: str = "prod") -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-{stack}-ingest-exec"


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def delivery_role(run: ProgramRun) -> RecordedResource:
    role_arn = only(run, TRAIL).inputs["cloudWatchLogsRoleArn"]
    (role,) = [r for r in of_type(run, ROLE) if role_arn.endswith(f":role/{r.inputs['name']}")]
    return role


# --- 1. CloudTrail's CloudWatch Logs delivery role


def test_the_trails_logs_delivery_role_trusts_cloudtrail_without_source_conditions():
    """CloudTrail does not send aws:SourceAccount or aws:SourceArn when it assumes the role it delivers to CloudWatch
    Logs with; either condition breaks delivery (CreateTrail: InvalidCloudWatchLogsRoleArnException, or no events).
    Sources: https://github.com/prowler-cloud/prowler/issues/4714 (adding the confused-deputy condition broke the
    CloudTrail-to-CloudWatch role) and https://github.com/awsdocs/aws-cloudtrail-user-guide/pull/17 (merged,
    "Removing non-working conditions": the keys are not available to CloudTrail)."""
    run = plan("prod")
    role = delivery_role(run)

    (statement,) = statements(document(role, "assumeRolePolicy")).values()

    assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole"]
    assert "Condition" not in statement
    # The exception is this role only: every other service trust in the stack that could carry them still does
    # (the bucket policy keeps aws:SourceArn and aws:SourceAccount for CloudTrail's own writes).
    bucket_policy = statements(document(only(run, "aws:s3/bucketPolicy:BucketPolicy")))
    assert set(bucket_policy["CloudTrailWritesThisAccountsLogs"]["Condition"]["StringEquals"]) >= {
        "aws:SourceArn",
        "aws:SourceAccount",
    }


# --- 2. The trail's KMS key and the S3 Bucket Key


def test_no_bucket_key_so_cloudtrail_needs_no_decrypt_and_the_trail_waits_for_what_create_trail_checks():
    """CloudTrail's KMS key policy documentation: "If you are using an existing S3 bucket with an S3 Bucket Key,
    kms:Decrypt permissions are required to create or update a trail with SSE-KMS encryption enabled"
    (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html). The
    stack turns the bucket key off rather than granting CloudTrail Decrypt on the audit log's key. CreateTrail checks
    the bucket policy (InsufficientS3BucketPolicyException) and the bucket's encryption and key policy
    (InsufficientEncryptionPolicyException), per the CloudTrail API reference
    (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html), so the trail depends on
    both explicitly: its inputs are known names, which carry no dependency of their own."""
    run = plan("prod")
    trail = only(run, TRAIL)
    encryption = only(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    key_policy = statements(document(only(run, "aws:kms/key:Key", "secret-access-trail-key")))

    assert [rule["bucketKeyEnabled"] for rule in encryption.inputs["rules"]] == [False]
    cloudtrail_actions = {
        action
        for statement in key_policy.values()
        if statement.get("Principal") == {"Service": "cloudtrail.amazonaws.com"}
        for action in statement["Action"]
    }
    assert cloudtrail_actions == {"kms:GenerateDataKey*", "kms:DescribeKey"}
    assert only(run, "aws:s3/bucketPolicy:BucketPolicy").urn in trail.dependencies
    assert encryption.urn in trail.dependencies


# --- 3. The trail's kmsKeyId


def test_the_trail_names_its_key_by_key_arn_not_alias():
    """AWS stores a trail's KmsKeyId as the key ARN whatever was sent, and the provider does not suppress the
    difference, so an alias ARN shows as an update on every later preview
    (https://github.com/hashicorp/terraform-provider-aws/issues/33928, and #694 there; pulumi-aws wraps that
    provider)."""
    first, later = plan("prod"), plan("prod", first_preview=False)
    key = only(first, "aws:kms/key:Key", "secret-access-trail-key")

    assert only(first, TRAIL).inputs["kmsKeyId"] is UNKNOWN
    assert only(first, TRAIL).property_dependencies["kmsKeyId"] == (key.urn,)
    assert re.fullmatch(rf"arn:aws:kms:{REGION}:{ACCOUNT}:key/[^/]+", only(later, TRAIL).inputs["kmsKeyId"])


# --- 4. Reserved concurrency


def test_the_function_reserves_no_concurrency_by_default_and_the_cap_stays_an_option():
    """Lambda keeps 100 executions unreserved: "You can reserve up to the Unreserved account concurrency value that is
    shown, minus 100 for functions that don't have reserved concurrency"
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), and "New AWS accounts have reduced
    concurrency and memory quotas" (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). On such
    an account a reservation of 10 fails with InvalidParameterValueException ("decreases account's
    UnreservedConcurrentExecution below its minimum value"), so neither stack reserves by default."""
    capped = run_program(
        ROOT, "prod", first_preview=True, config_overrides={"keyless-ingest:reservedConcurrency": "10"}
    )

    for name in ("prod", "dev"):
        assert (
            only(plan(name), "aws:lambda/function:Function", "ingest-function").inputs["reservedConcurrentExecutions"]
            == -1
        )
    assert only(capped, "aws:lambda/function:Function", "ingest-function").inputs["reservedConcurrentExecutions"] == 10


# --- 5. Dev on an account with no trail


def test_dev_deploys_without_a_trail_and_says_the_secret_read_alarms_are_off():
    """PutMetricFilter fails with ResourceNotFoundException when the log group does not exist
    (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutMetricFilter.html, Errors), so a
    placeholder auditLogGroupName breaks `pulumi up` on a fresh account. Dev names no group: it creates no metric
    filter and no alarm on a metric only a filter could feed, and the preview warns (the pack adds its advisory,
    tests/test_stack.py)."""
    run = run_program(ROOT, "dev", first_preview=True)
    with_trail = run_program(
        ROOT, "dev", first_preview=True, config_overrides={"keyless-ingest:auditLogGroupName": "org/trail-events"}
    )

    assert of_type(run, FILTER) == []
    assert of_type(run, TRAIL) == []
    assert {a.inputs["namespace"] for a in of_type(run, ALARM)} == {"AWS/Lambda"}
    assert "warning: keyless-ingest:createTrail is false" in run.program_output
    assert "secret-read alarms (unexpected reads, read spike, throttled reads) are OFF" in run.program_output
    assert {f.inputs["logGroupName"] for f in of_type(with_trail, FILTER)} == {"org/trail-events"}


# --- 6. Rotation


def test_the_rotation_role_is_a_reader_in_every_policy_that_names_readers():
    """The secret's policy denies GetSecretValue to every principal but its readers, and a rotation function must
    read the current value (DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage on the secret:
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html).
    An explicit Deny in a resource policy wins over any Allow
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html), so the rotation
    role must be named in the secret policy, the key policy and the endpoint policy alike."""
    run = plan("rotation")
    readers = sorted([exec_role(), ROTATION_ROLE])

    secret_policy = statements(document(only(run, "aws:secretsmanager/secretPolicy:SecretPolicy")))
    key_policy = statements(document(only(run, "aws:kms/key:Key", "api-key-key")))
    endpoint_policy = statements(document(only(run, ENDPOINT, "network-secretsmanager")))
    monitoring = only(run, FILTER, "secret-access-unexpected-secret-reads").inputs["pattern"]

    assert sorted(as_list(secret_policy["AllowReaders"]["Principal"]["AWS"])) == readers
    assert sorted(secret_policy["DenyEveryoneElse"]["Condition"]["StringNotEquals"]["aws:PrincipalArn"]) == readers
    decrypt = key_policy["DecryptThroughSecretsManagerForThisSecret"]
    assert sorted(as_list(decrypt["Principal"]["AWS"])) == readers
    (endpoint_statement,) = endpoint_policy.values()
    assert sorted(as_list(endpoint_statement["Condition"]["StringEquals"]["aws:PrincipalArn"])) == readers
    # A read by the rotation role is expected, not an alarm (the pattern excludes both readers).
    assert ROTATION_ROLE.rsplit("/", 1)[1] in monitoring


def test_secrets_manager_may_invoke_the_rotation_function_for_this_secret_only_and_waits_for_the_schedule():
    """Secrets Manager invokes the rotation function as secretsmanager.amazonaws.com, which needs a statement in the
    function's resource policy; AWS recommends aws:SourceAccount there, and aws:SourceArn ties the function to the one
    secret (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html,
    "Lambda function resource policy"). RotateSecret rotates immediately by default
    (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html, RotateImmediately), while
    this secret has no value until it is put out of band, so the first rotation waits for the schedule."""
    run = plan("rotation")
    permission = only(run, "aws:lambda/permission:Permission", "api-key-rotation-invoke")
    rotation = only(run, "aws:secretsmanager/secretRotation:SecretRotation")
    secret = only(run, "aws:secretsmanager/secret:Secret")

    assert permission.inputs["function"] == ROTATION_FUNCTION
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["principal"] == "secretsmanager.amazonaws.com"
    assert permission.inputs["sourceAccount"] == ACCOUNT
    assert permission.property_dependencies["sourceArn"] == (secret.urn,)
    assert rotation.inputs["rotateImmediately"] is False
    assert rotation.inputs["rotationLambdaArn"] == ROTATION_FUNCTION
    assert permission.urn in rotation.dependencies


def test_a_rotation_function_without_its_role_is_refused_naming_both_keys():
    """Without the rotation role among the readers, every rotation fails on the secret policy's explicit Deny
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html); the program refuses
    the configuration instead of deploying a rotation that cannot run."""
    only_function = {"keyless-ingest:rotationFunctionArn": ROTATION_FUNCTION}

    with pytest.raises(PreviewError) as raised:
        run_program(ROOT, "prod", config_overrides=only_function)

    message = str(raised.value)
    assert "keyless-ingest:rotationFunctionArn" in message
    assert "keyless-ingest:rotationRoleArn" in message


# --- 7. networkMode existing


def test_existing_mode_uses_the_vpcs_own_endpoints_and_leaves_them_alone():
    """A second Secrets Manager interface endpoint with private DNS in a VPC is refused ("private-dns-enabled cannot
    be set because there is already a conflicting DNS domain ... in the VPC",
    https://github.com/hashicorp/terraform-provider-aws/issues/17535), and a gateway endpoint adds a prefix-list route
    to every route table it is given (https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html,
    Routing), where the VPC's existing DynamoDB endpoint already has one. Named endpoints are used as they are: the
    stack creates no endpoint and no endpoint security group, and changes no policy."""
    run = plan("existing-endpoints")

    assert of_type(run, ENDPOINT) == []
    assert [g.name for g in of_type(run, "aws:ec2/securityGroup:SecurityGroup")] == ["network-lambda"]
    assert not [r for r in run.resources if r.type.startswith("aws:ec2/vpcEndpoint")]


def test_endpoints_created_in_an_adopted_vpc_carry_no_restrictive_policy():
    """An endpoint serves its whole VPC: with private DNS every Secrets Manager call in the VPC resolves to the
    interface endpoint (https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html), and
    the gateway endpoint carries all DynamoDB traffic of its route tables
    (https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html). A one-secret, one-table policy would
    deny every other workload of an adopted VPC, so there the created endpoints get AWS's default policy and the
    interface endpoint admits HTTPS from the VPC's range; in a VPC the stack creates, the restrictive policies stay."""
    adopted, created = plan("existing-vpc"), plan("prod")

    for endpoint in of_type(adopted, ENDPOINT):
        assert endpoint.inputs.get("policy") is None, endpoint.name
    (ingress,) = only(adopted, "aws:ec2/securityGroup:SecurityGroup", "network-endpoint").inputs["ingress"]
    assert ingress["cidrBlocks"] == ["10.0.0.0/16"]  # the adopted VPC's range, as the get_vpc invoke answers
    for endpoint in of_type(created, ENDPOINT):
        assert statements(document(endpoint)), endpoint.name


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"keyless-ingest:secretsManagerEndpointId": "vpce-0123456789abcdef0"},
            "keyless-ingest:secretsManagerEndpointId: applies only to networkMode=existing",
        ),
        (
            {**EXISTING_VPC, "keyless-ingest:dynamodbEndpointId": "rtb-0cccccccccccccccc"},
            "keyless-ingest:dynamodbEndpointId: must be a VPC endpoint id",
        ),
        (
            # The perimeter names this id in the role's Deny and the alarm: vpce- and hexadecimal digits only.
            {**EXISTING_VPC, "keyless-ingest:secretsManagerEndpointId": "vpce-0123456789ABCDEFG"},
            "keyless-ingest:secretsManagerEndpointId: must be a VPC endpoint id (vpce- and hexadecimal digits)",
        ),
    ],
)
def test_endpoint_ids_are_checked(overrides, message):
    """A gateway or interface endpoint id has the form vpce-<hex>
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcEndpoint.html); a create-mode VPC has none."""
    with pytest.raises(PreviewError, match=re.escape(message)):
        run_program(ROOT, "prod", config_overrides=overrides)


# --- Hardening: the network placement tag


def test_the_placement_tag_value_is_stack_qualified_so_dev_cannot_place_interfaces_in_prods_subnets():
    """The execution role may call ec2:CreateNetworkInterface on subnets and security groups whose
    aws:ResourceTag/<key> equals a value (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html,
    "Controlling access to AWS resources"). Lambda makes that call as the execution role
    (https://github.com/DataBiosphere/azul/issues/5238). With one value in every stack, dev's role could place
    interfaces in prod's subnets in the same account."""
    values = {}
    for name in ("prod", "dev"):
        run = plan(name)
        placement_subnets = [s for s in of_type(run, "aws:ec2/subnet:Subnet") if NETWORK_TAG_KEY in s.inputs["tags"]]
        assert len(placement_subnets) == 2, name
        subnet_tags = {s.inputs["tags"][NETWORK_TAG_KEY] for s in placement_subnets}
        granted = {
            value
            for statement in statements(document(only(run, "aws:iam/rolePolicy:RolePolicy", "ingest-policy"))).values()
            for condition in [statement.get("Condition", {}).get("StringEquals", {})]
            for key, value in condition.items()
            if key == f"aws:ResourceTag/{NETWORK_TAG_KEY}"
        }
        assert subnet_tags == granted, name
        (values[name],) = granted

    assert values == {"prod": "keyless-ingest-prod-network", "dev": "keyless-ingest-dev-network"}


# --- Hardening: what the README promises


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^#{{2,}} {re.escape(title)}\n(.*?)(?=^#{{2,}} )", text, re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def test_the_destroy_steps_empty_the_versioned_trail_bucket_the_stack_creates():
    """DeleteBucket refuses a bucket that still holds objects, "including all object versions and delete markers"
    (BucketNotEmpty; https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html), and the trail bucket is
    versioned with force_destroy off, on purpose. The README's destroy section names that bucket as the stack
    names it and gives the steps: stop the trail, empty every version, then destroy."""
    section = readme_section("Destroying")
    run = plan("prod")
    bucket = only(run, "aws:s3/bucket:Bucket").inputs["bucket"]

    assert "BucketNotEmpty" in section
    assert bucket.replace(ACCOUNT, "<account id>").replace("-prod-", "-<stack>-") in section
    assert f"--name {only(run, TRAIL).inputs['name']}" in section
    for step in ("aws cloudtrail stop-logging", "list-object-versions", "delete-objects", "pulumi destroy"):
        assert step in section, step


class RecordingConfig(pulumi.Config):
    """`pulumi.Config` that records every key read through it: each getter (`get*`, `require*`, secret or not)
    resolves its key through `full_key`."""

    read: ClassVar[set[str]] = set()

    def full_key(self, key: str) -> str:
        full = super().full_key(key)
        RecordingConfig.read.add(full)
        return full


def config_reads(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The project keys the program reads, from runs of the program itself (a created and an adopted network) with
    `pulumi.Config` recording, plus every literal key passed to a getter in the modules that build a Config
    (tests/test_architecture.py keeps those to `__main__.py` and `stack_settings.py`), for branches no plan takes."""
    monkeypatch.setattr(RecordingConfig, "read", set())
    monkeypatch.setattr(pulumi, "Config", RecordingConfig)
    for stack, overrides in (PLANS["prod"], PLANS["existing-endpoints"]):
        run_program(ROOT, stack, first_preview=True, config_overrides=overrides)
    read = {key.removeprefix("keyless-ingest:") for key in RecordingConfig.read if key.startswith("keyless-ingest:")}
    getter = re.compile(r"(get|require)(_secret)?(_bool|_int|_float|_object)?")
    for module in ("__main__.py", "stack_settings.py"):
        for node in ast.walk(ast.parse((ROOT / module).read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and getter.fullmatch(node.func.attr)
                and _is_project_config(node.func.value)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                read.add(node.args[0].value)
    return read


def _is_project_config(receiver: ast.expr) -> bool:
    """The project's Config: `config` (what both modules call the one they get) or `pulumi.Config()` with no
    namespace; a dict's `.get` or `pulumi.Config("aws")` (the provider's namespace) is not a project key read."""
    if isinstance(receiver, ast.Name):
        return receiver.id == "config"
    return isinstance(receiver, ast.Call) and ast.unparse(receiver.func) == "pulumi.Config" and not receiver.args


def test_every_config_key_the_program_reads_is_declared_typed_described_and_defaulted_and_in_the_readme_table(
    monkeypatch: pytest.MonkeyPatch,
):
    """`pulumi config` accepts only declared keys of the declared type when a project declares them
    (https://www.pulumi.com/docs/iac/concepts/projects/project-file/#config-options); the README's table is the
    operator's view of the same list."""
    declared: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    table = readme_section("Configuration")

    read = config_reads(monkeypatch)

    assert read - set(declared) == set()
    # Declared and never read by the program: the preview's --policy-pack-config file (offline_preview.policy_preview).
    assert set(declared) - read == {"policyConfig"}
    for key, spec in declared.items():
        assert {"type", "description", "default"} <= set(spec), key
        assert f"| `{key}` |" in table, key


def test_the_readme_says_what_existing_mode_leaves_alone_and_that_the_first_preview_needs_the_package_index(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    """The first preview builds the Lambda bundle with pip from handler/requirements.txt (bundle_builder/builder.py),
    which reaches the package index (https://pip.pypa.io/en/stable/cli/pip_install/: requirements are fetched from PyPI
    or the configured index); existing mode's own config keys are the ones the README tells the operator to set."""
    text = (ROOT / "README.md").read_text()
    existing = text[text.index("**What existing mode does.**") :].split("\n\n", 1)[0]
    commands: list[list[str]] = []

    def pip_offline(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution (offline)")

    # A build with an empty cache, as on a fresh checkout: the command it runs, answered as pip would offline.
    monkeypatch.setattr(subprocess, "run", pip_offline)
    with pytest.raises(BundleError, match=r"pip could not install .*requirements\.txt"):
        build_bundle(ROOT, build_dir=tmp_path)

    (command,) = commands
    assert command[1:4] == ["-m", "pip", "install"]
    assert command[command.index("-r") + 1] == str(ROOT / "handler" / "requirements.txt")
    assert not {"--no-index", "--find-links", "-f"} & set(command)
    assert "package index" in text
    assert "handler/requirements.txt" in text
    for key in ("secretsManagerEndpointId", "dynamodbEndpointId", "routeTableIds"):
        assert f"`{key}`" in existing, key
    assert "leaves alone" in existing
