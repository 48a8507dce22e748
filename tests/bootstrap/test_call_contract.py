"""Every call of the contract, replayed as an AWS request against the CI roles' policies, is allowed; the guard
cases are denied. For prod, dev, a rotation-enabled stack and the existing-network mode.

The policies are the ones the bootstrap program attaches (components.deploy_policies.role_policies over the
generated permissions), with this account's values. Each request is built here, not by the generator: its ARN
from the formats AWS documents for each resource type (Service Authorization Reference, "Resource types defined
by ..." of each service; KMS alias ARNs `arn:aws:kms:<region>:<account>:alias/<name>`), and its context as AWS
sends it: `aws:RequestTag/<key>` and `aws:TagKeys` on a tagged create, `ec2:CreateAction` with the bare API name
on EC2's tag-on-create, `aws:ResourceTag/<key>` on a resource the stack created, no tag at all on an adopted
resource, `iam:PassedToService` and `iam:AWSServiceName`. Nothing here ran against AWS.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from bootstrap.deploy_grants.generate import (
    ANY,
    EXACT,
    GENERATED,
    STACK_TAG_KEY,
    CallInstance,
    build,
    call_instances,
)
from components.aws_context import AwsContext
from components.deploy_policies import role_policies
from offline_preview.cli import REPO_ROOT, run_program
from tests.iam_evaluation import ContextValue, Request, evaluate
from tests.stack_inspection import EXISTING_NETWORK, ROTATION

PLAN_ACCOUNT = "111122223333"
ACCOUNT = "444455556666"
"""A different account from the plan's, so an ARN that kept the plan's account would not match."""
REGION = "eu-west-1"
CONTEXT = AwsContext(partition="aws", region=REGION, account_id=ACCOUNT, dns_suffix="amazonaws.com")
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "prod": ("prod", {}),
    "dev": ("dev", {}),
    "prod-rotation": ("prod", ROTATION),
    "prod-existing-network": ("prod", EXISTING_NETWORK),
    "dev-existing-network": ("dev", EXISTING_NETWORK),
    # The guardrails' third mode (tests/test_stack_guardrails.py builds it the same way): the recorder, its role,
    # its managed policy, its status, its delivery channel and bucket.
    "prod-create-recorder": ("prod", {"keyless-ingest:configRules": "create-recorder"}),
}

# ARN formats as AWS documents them, with {id} the resource's id or name.
ARN_FORMATS = {
    ("ec2", "vpc"): "arn:aws:ec2:{region}:{account}:vpc/{id}",
    ("ec2", "subnet"): "arn:aws:ec2:{region}:{account}:subnet/{id}",
    ("ec2", "security-group"): "arn:aws:ec2:{region}:{account}:security-group/{id}",
    ("ec2", "route-table"): "arn:aws:ec2:{region}:{account}:route-table/{id}",
    ("ec2", "internet-gateway"): "arn:aws:ec2:{region}:{account}:internet-gateway/{id}",
    ("ec2", "elastic-ip"): "arn:aws:ec2:{region}:{account}:elastic-ip/{id}",
    ("ec2", "natgateway"): "arn:aws:ec2:{region}:{account}:natgateway/{id}",
    ("ec2", "vpc-endpoint"): "arn:aws:ec2:{region}:{account}:vpc-endpoint/{id}",
    ("ec2", "network-interface"): "arn:aws:ec2:{region}:{account}:network-interface/{id}",
    ("kms", "key"): "arn:aws:kms:{region}:{account}:key/{id}",
    ("kms", "alias"): "arn:aws:kms:{region}:{account}:alias/{id}",
    ("iam", "role"): "arn:aws:iam::{account}:role/{id}",
    ("lambda", "function"): "arn:aws:lambda:{region}:{account}:function:{id}",
    ("logs", "log-group"): "arn:aws:logs:{region}:{account}:log-group:{id}",
    ("cloudwatch", "alarm"): "arn:aws:cloudwatch:{region}:{account}:alarm:{id}",
    ("cloudwatch", "dashboard"): "arn:aws:cloudwatch::{account}:dashboard/{id}",
    ("dynamodb", "table"): "arn:aws:dynamodb:{region}:{account}:table/{id}",
    ("secretsmanager", "Secret"): "arn:aws:secretsmanager:{region}:{account}:secret:{id}-AbCdEf",
    ("sns", "topic"): "arn:aws:sns:{region}:{account}:{id}",
    ("s3", "bucket"): "arn:aws:s3:::{id}",
    ("cloudtrail", "trail"): "arn:aws:cloudtrail:{region}:{account}:trail/{id}",
    ("access-analyzer", "Analyzer"): "arn:aws:access-analyzer:{region}:{account}:analyzer/{id}",
    ("route53", "hostedzone"): "arn:aws:route53:::hostedzone/{id}",
    ("events", "rule-on-default-event-bus"): "arn:aws:events:{region}:{account}:rule/{id}",
    ("config", "ConfigRule"): "arn:aws:config:{region}:{account}:config-rule/{id}",
    # The recorder's ARN ends in an id AWS generates after its name (Service Authorization Reference, AWS Config).
    ("config", "ConfigurationRecorder"): (
        "arn:aws:config:{region}:{account}:configuration-recorder/{id}/a1b2c3d4e5f6g7h8"
    ),
}
GENERATED_IDS = {
    "vpc": "vpc-0a1b2c3d4e5f60718",
    "subnet": "subnet-0a1b2c3d4e5f60718",
    "security-group": "sg-0a1b2c3d4e5f60718",
    "route-table": "rtb-0a1b2c3d4e5f60718",
    "internet-gateway": "igw-0a1b2c3d4e5f60718",
    "elastic-ip": "eipalloc-0a1b2c3d4e5f60718",
    "natgateway": "nat-0a1b2c3d4e5f60718",
    "vpc-endpoint": "vpce-0a1b2c3d4e5f60718",
    "network-interface": "eni-0a1b2c3d4e5f60718",
    "key": "1234abcd-12ab-34cd-56ef-1234567890ab",
    "hostedzone": "Z0123456789ABCDEFGHIJ",
    "ConfigRule": "config-rule-ab12cd",
}


@cache
def permissions(variant: str) -> dict[str, Any]:
    stack, overrides = VARIANTS[variant]
    return build(stack, overrides)


@cache
def instances(variant: str) -> tuple[CallInstance, ...]:
    stack, overrides = VARIANTS[variant]
    run = run_program(REPO_ROOT, stack, config_overrides=overrides)
    return tuple(call_instances(run.resources, run.config["aws:region"]))


def secret_name(variant: str) -> str:
    return f"keyless-ingest/{VARIANTS[variant][0]}/weather-api-key"


@cache
def documents(variant: str, deploy: bool) -> list[dict[str, Any]]:
    managed, inline = role_policies(permissions(variant), CONTEXT, secret_name(variant), deploy=deploy)
    return [document.to_dict() for document in (*managed, inline)]


def request_for(instance: CallInstance, stack: str) -> Request:
    """The request AWS evaluates when the provider makes this call."""
    call, target = instance.call, instance.target
    if target.scope in (EXACT,) and target.identifier and target.identifier.startswith("arn:"):
        arn = target.identifier.replace(PLAN_ACCOUNT, ACCOUNT)
    elif target.arn == "*":
        arn = "*"
    else:
        if target.scope in (GENERATED, ANY):
            identifier = GENERATED_IDS[target.iam_type]
        else:
            assert target.identifier is not None
            identifier = target.identifier.replace(PLAN_ACCOUNT, ACCOUNT)
            if target.iam_type == "alias":
                identifier = identifier.removeprefix("alias/")
        arn = ARN_FORMATS[(target.service, target.iam_type)].format(region=REGION, account=ACCOUNT, id=identifier)
        if target.arn.endswith(":*") and target.iam_type == "log-group":
            arn += ":*"
    context: dict[str, ContextValue] = {}
    if call.request_tagged:
        context[f"aws:RequestTag/{STACK_TAG_KEY}"] = stack
        context["aws:TagKeys"] = [STACK_TAG_KEY, "keyless-ingest-network-member"]
    elif target.scope == GENERATED:
        context[f"aws:ResourceTag/{STACK_TAG_KEY}"] = stack
    for prefix, key in (
        ("create-action:", "ec2:CreateAction"),
        ("passed-to:", "iam:PassedToService"),
        ("service-name:", "iam:AWSServiceName"),
        ("policy-arn:", "iam:PolicyARN"),
    ):
        value = call.context_value(prefix)
        if value is not None:
            context[key] = value.replace("${Partition}", "aws")
    return Request(call.action, arn, context)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_deploy_role_is_allowed_every_call_of_the_contract(variant):
    stack = VARIANTS[variant][0]
    refused = [
        f"{i.pulumi_type} {i.resource_name}: {i.call.phase} {request_for(i, stack)} ({i.source})"
        for i in instances(variant)
        if i.call.grant and evaluate(documents(variant, True), request_for(i, stack)) != "allow"
    ]
    assert len(instances(variant)) > 100
    assert refused == []


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_calls_the_contract_declines_to_grant_are_refused_and_listed_with_their_reason(variant):
    stack = VARIANTS[variant][0]
    declined = [i for i in instances(variant) if not i.call.grant]
    listed = {entry["action"] for entry in permissions(variant)["notGranted"]}

    assert all(evaluate(documents(variant, True), request_for(i, stack)) != "allow" for i in declined)
    assert {i.call.action for i in declined} <= listed
    # Lambda's leftover interfaces (subnet and security group deletes) in every variant; the hosted-zone association
    # where an interface endpoint with private DNS is created; creating a Config rule wherever prod's guardrails are
    # on (configRules is off in dev).
    expected = {"ec2:DeleteNetworkInterface", "route53:AssociateVPCWithHostedZone"}
    if stack == "prod":
        expected.add("config:PutConfigRule")
    assert {i.call.action for i in declined} == expected


def test_creating_a_config_rule_is_refused_but_changing_or_deleting_the_stacks_own_rules_is_allowed():
    """PutConfigRule creates and overwrites (Config API reference, PutConfigRule: "Adds or updates"); a rule's ARN is
    config-rule/<ConfigRuleId>, an id AWS generates (Service Authorization Reference, AWS Config resource types).
    Requests written out by hand."""
    rule = f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/config-rule-ab12cd"
    tagged_request = {f"aws:RequestTag/{STACK_TAG_KEY}": "prod", "aws:TagKeys": [STACK_TAG_KEY]}
    deploy = documents("prod", True)

    # An untagged rule of someone else's, overwritten with the stack tag in the request: refused.
    assert evaluate(deploy, Request("config:PutConfigRule", rule, tagged_request)) != "allow"
    # The stack's own rule (it carries the stack tag): updated, tagged and deleted.
    own = {f"aws:ResourceTag/{STACK_TAG_KEY}": "prod"}
    for action in ("config:PutConfigRule", "config:DeleteConfigRule", "config:TagResource"):
        assert evaluate(deploy, Request(action, rule, own)) == "allow", action
    # Another stack's rule: refused.
    other = {f"aws:ResourceTag/{STACK_TAG_KEY}": "dev"}
    assert evaluate(deploy, Request("config:DeleteConfigRule", rule, other)) != "allow"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_preview_role_is_allowed_every_read_of_the_contract_so_preview_and_refresh_work(variant):
    stack = VARIANTS[variant][0]
    reads = [i for i in instances(variant) if i.call.phase == "read"]
    refused = [
        f"{i.pulumi_type}: {request_for(i, stack)}"
        for i in reads
        if evaluate(documents(variant, False), request_for(i, stack)) != "allow"
    ]
    assert len(reads) > 30
    assert refused == []


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_preview_role_is_refused_every_write_of_the_contract(variant):
    stack = VARIANTS[variant][0]
    writes = [i for i in instances(variant) if i.call.phase != "read"]
    allowed = [
        f"{i.pulumi_type}: {i.call.action}"
        for i in writes
        if evaluate(documents(variant, False), request_for(i, stack)) == "allow"
        # A few describes are also called while creating (the caller checks of CreateFunction / CreateVpcEndpoint).
        and not i.call.action.split(":")[1].startswith(("Describe", "Get", "List"))
    ]
    assert allowed == []


def arn(service: str, iam_type: str, identifier: str) -> str:
    return ARN_FORMATS[(service, iam_type)].format(region=REGION, account=ACCOUNT, id=identifier)


def guard_cases(stack: str) -> list[tuple[str, Request]]:
    """Requests neither CI role may make, whatever the stack needs."""
    secret = arn("secretsmanager", "Secret", f"keyless-ingest/{stack}/weather-api-key")
    key = arn("kms", "key", GENERATED_IDS["key"])
    own_tag = {f"aws:ResourceTag/{STACK_TAG_KEY}": stack}
    table = arn("dynamodb", "table", f"keyless-ingest-{stack}-readings")
    log_group = arn("logs", "log-group", f"/aws/lambda/keyless-ingest-{stack}-ingest")
    foreign_vpc = arn("ec2", "vpc", "vpc-0fedcba9876543210")
    return [
        ("read the API key", Request("secretsmanager:GetSecretValue", secret)),
        ("read the API key in a batch", Request("secretsmanager:BatchGetSecretValue", "*")),
        (
            "decrypt with the secret's key through Secrets Manager",
            Request("kms:Decrypt", key, {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com", **own_tag}),
        ),
        ("decrypt with a stack key directly", Request("kms:Decrypt", key, own_tag)),
        ("read table items", Request("dynamodb:GetItem", table)),
        ("scan the table", Request("dynamodb:Scan", table)),
        ("query the table", Request("dynamodb:Query", table)),
        ("read log events", Request("logs:FilterLogEvents", log_group)),
        ("read log events", Request("logs:GetLogEvents", log_group + ":log-stream:x")),
        ("run a Logs Insights query", Request("logs:StartQuery", log_group)),
        ("unmask log data", Request("logs:Unmask", log_group)),
        (
            "invoke the function",
            Request("lambda:InvokeFunction", arn("lambda", "function", f"keyless-ingest-{stack}-ingest")),
        ),
        ("create a role outside the prefix", Request("iam:CreateRole", arn("iam", "role", "escape-admin"))),
        ("create a policy outside the prefix", Request("iam:CreatePolicy", f"arn:aws:iam::{ACCOUNT}:policy/escape")),
        (
            "attach AdministratorAccess to a stack role",
            Request(
                "iam:AttachRolePolicy",
                arn("iam", "role", f"keyless-ingest-{stack}-ingest-exec"),
                {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
            ),
        ),
        (
            "attach the recorder role's managed policy to another stack role",
            Request(
                "iam:AttachRolePolicy",
                arn("iam", "role", f"keyless-ingest-{stack}-ingest-exec"),
                {"iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"},
            ),
        ),
        (
            "point another configuration recorder at a stack role",
            Request(
                "config:PutConfigurationRecorder",
                arn("config", "ConfigurationRecorder", "default"),
            ),
        ),
        (
            "edit the deploy role itself",
            Request("iam:PutRolePolicy", arn("iam", "role", f"keyless-ingest-ci-{stack}-deploy")),
        ),
        (
            "pass a foreign role to Lambda",
            Request(
                "iam:PassRole",
                arn("iam", "role", "OrganizationAccountAccessRole"),
                {"iam:PassedToService": "lambda.amazonaws.com"},
            ),
        ),
        (
            "pass the stack's role to EC2",
            Request(
                "iam:PassRole",
                arn("iam", "role", f"keyless-ingest-{stack}-ingest-exec"),
                {"iam:PassedToService": "ec2.amazonaws.com"},
            ),
        ),
        ("create a KMS key without the stack tag", Request("kms:CreateKey", "*")),
        (
            "create a KMS key tagged for another stack",
            Request("kms:CreateKey", "*", {f"aws:RequestTag/{STACK_TAG_KEY}": "other", "aws:TagKeys": [STACK_TAG_KEY]}),
        ),
        ("create a VPC without the stack tag", Request("ec2:CreateVpc", arn("ec2", "vpc", GENERATED_IDS["vpc"]))),
        (
            "capture a foreign VPC by tagging it with the stack tag",
            Request(
                "ec2:CreateTags",
                foreign_vpc,
                {f"aws:RequestTag/{STACK_TAG_KEY}": stack, "aws:TagKeys": [STACK_TAG_KEY]},
            ),
        ),
        (
            "delete another stack's subnet",
            Request(
                "ec2:DeleteSubnet",
                arn("ec2", "subnet", "subnet-0fedcba9876543210"),
                {f"aws:ResourceTag/{STACK_TAG_KEY}": "other"},
            ),
        ),
        (
            "create a security group in a VPC that is neither the stack's nor the configured one",
            Request("ec2:CreateSecurityGroup", foreign_vpc),
        ),
        (
            "put a policy on another stack's key",
            Request("kms:PutKeyPolicy", key, {f"aws:ResourceTag/{STACK_TAG_KEY}": "other"}),
        ),
        (
            "create a service-linked role for another service",
            Request(
                "iam:CreateServiceLinkedRole",
                arn("iam", "role", "aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk"),
                {"iam:AWSServiceName": "elasticbeanstalk.amazonaws.com"},
            ),
        ),
    ]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("deploy", [True, False], ids=["deploy", "preview"])
def test_the_guard_cases_are_denied_to_both_roles(variant, deploy):
    stack = VARIANTS[variant][0]
    allowed = [what for what, request in guard_cases(stack) if evaluate(documents(variant, deploy), request) == "allow"]
    assert allowed == []


@pytest.mark.parametrize("deploy", [True, False], ids=["deploy", "preview"])
def test_reading_the_api_key_is_denied_explicitly_so_no_future_grant_can_open_it(deploy):
    """An explicit Deny beats any Allow (IAM user guide, policy evaluation logic): even with an allow-all document
    added, the key stays unreadable. kms:ViaService names the service calling KMS for the caller (KMS developer
    guide, "kms:ViaService")."""
    allow_all = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    with_everything = [*documents("prod", deploy), allow_all]
    secret = arn("secretsmanager", "Secret", "keyless-ingest/prod/weather-api-key")
    via = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}

    assert evaluate(with_everything, Request("secretsmanager:GetSecretValue", secret)) == "explicit-deny"
    assert (
        evaluate(with_everything, Request("kms:Decrypt", arn("kms", "key", GENERATED_IDS["key"]), via))
        == "explicit-deny"
    )
    assert evaluate(with_everything, Request("iam:CreateRole", arn("iam", "role", "escape"))) == "explicit-deny"


CONFIG_ROLE_POLICY = "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


def test_the_recorder_role_gets_exactly_aws_configrole_and_no_other_role_or_policy_does():
    """create-recorder attaches AWS's managed policy for a recorder's role (Config developer guide, "Permissions for
    the IAM role assigned to AWS Config"); iam:PolicyARN is the policy being attached (IAM user guide, "IAM condition
    context keys"). Requests written out by hand."""
    recorder_role = arn("iam", "role", "keyless-ingest-prod-config-recorder")
    ingest_role = arn("iam", "role", "keyless-ingest-prod-ingest-exec")
    create_recorder = documents("prod-create-recorder", True)
    rules_only = documents("prod", True)

    attach = Request("iam:AttachRolePolicy", recorder_role, {"iam:PolicyARN": CONFIG_ROLE_POLICY})
    assert evaluate(create_recorder, attach) == "allow"
    assert evaluate(create_recorder, Request("iam:DetachRolePolicy", recorder_role, attach.context)) == "allow"
    # Any other AWS-managed policy stays under the guard's explicit Deny, on the recorder role too.
    admin = Request("iam:AttachRolePolicy", recorder_role, {"iam:PolicyARN": ADMIN_POLICY})
    assert evaluate(create_recorder, admin) == "explicit-deny"
    # AWS_ConfigRole on any other stack role: never granted.
    assert evaluate(create_recorder, Request("iam:AttachRolePolicy", ingest_role, attach.context)) != "allow"
    # A plan that creates no recorder keeps the guard whole: AWS_ConfigRole is refused explicitly.
    assert evaluate(rules_only, attach) == "explicit-deny"


def test_the_guardrails_roles_are_passed_only_to_the_services_that_run_them():
    """PutConfigurationRecorder passes the recorder's role (Service Authorization Reference: iam:PassRole is its
    dependent action); CreateFunction passes the rule function's role. iam:PassedToService names the receiving
    service (IAM user guide, "Grant a user permissions to pass a role")."""
    recorder_role = arn("iam", "role", "keyless-ingest-prod-config-recorder")
    rule_role = arn("iam", "role", "keyless-ingest-prod-env-rule-exec")
    deploy = documents("prod-create-recorder", True)

    def pass_to(role: str, service: str) -> str:
        return evaluate(deploy, Request("iam:PassRole", role, {"iam:PassedToService": service}))

    assert pass_to(recorder_role, "config.amazonaws.com") == "allow"
    assert pass_to(rule_role, "lambda.amazonaws.com") == "allow"
    rule_role_in_prod = Request("iam:PassRole", rule_role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert evaluate(documents("prod", True), rule_role_in_prod) == "allow"
    assert pass_to(recorder_role, "ec2.amazonaws.com") != "allow"
    assert pass_to(arn("iam", "role", "AWSServiceRoleForConfig"), "config.amazonaws.com") != "allow"
    assert evaluate(documents("prod", True), Request("iam:PassRole", recorder_role, {})) != "allow"


def test_the_three_denials_found_in_the_review_are_now_allowed():
    """The requests of issue 16 as AWS documents them, written out by hand (not from the contract):
    EC2 tag-on-create with the bare API name (EC2 user guide, "Grant permission to tag resources during creation");
    tags in CreateKey authorized as kms:TagResource on keys not yet known (KMS developer guide, "Controlling access to
    tags"); the first analyzer's service-linked role (IAM user guide, "Using service-linked roles for IAM Access
    Analyzer"). Plus the alias ARN and the NAT gateway's Elastic IP found in the same review (NOTES.md)."""
    deploy = documents("prod", True)
    tags = {f"aws:RequestTag/{STACK_TAG_KEY}": "prod", "aws:TagKeys": [STACK_TAG_KEY]}
    vpc = arn("ec2", "vpc", GENERATED_IDS["vpc"])

    assert evaluate(deploy, Request("ec2:CreateTags", vpc, {**tags, "ec2:CreateAction": "CreateVpc"})) == "allow"
    assert evaluate(deploy, Request("ec2:CreateTags", vpc, {**tags, "ec2:CreateAction": "ec2:CreateVpc"})) != "allow"
    assert evaluate(deploy, Request("kms:CreateKey", "*", tags)) == "allow"
    assert evaluate(deploy, Request("kms:TagResource", arn("kms", "key", GENERATED_IDS["key"]), tags)) == "allow"
    slr = arn("iam", "role", "aws-service-role/access-analyzer.amazonaws.com/AWSServiceRoleForAccessAnalyzer")
    service = {"iam:AWSServiceName": "access-analyzer.amazonaws.com"}
    assert evaluate(deploy, Request("iam:CreateServiceLinkedRole", slr, service)) == "allow"
    assert evaluate(deploy, Request("kms:CreateAlias", arn("kms", "alias", "keyless-ingest-prod-api-key"))) == "allow"
    address = arn("ec2", "elastic-ip", GENERATED_IDS["elastic-ip"])
    assert evaluate(deploy, Request("ec2:AllocateAddress", address, tags)) == "allow"
    assert (
        evaluate(deploy, Request("ec2:CreateTags", address, {**tags, "ec2:CreateAction": "AllocateAddress"})) == "allow"
    )


def test_in_existing_network_mode_the_adopted_ids_are_named_and_need_no_stack_tag():
    """The adopted VPC, subnets and route tables carry no stack tag: the grants name the configured ids."""
    deploy = documents("prod-existing-network", True)
    adopted_vpc = arn("ec2", "vpc", "vpc-0123456789abcdef0")
    adopted_subnet = arn("ec2", "subnet", "subnet-0aaaaaaaaaaaaaaaa")
    other_vpc = arn("ec2", "vpc", "vpc-0fedcba9876543210")

    assert evaluate(deploy, Request("ec2:CreateSecurityGroup", adopted_vpc)) == "allow"
    assert evaluate(deploy, Request("ec2:CreateVpcEndpoint", adopted_subnet)) == "allow"
    assert evaluate(deploy, Request("ec2:CreateSecurityGroup", other_vpc)) == "implicit-deny"
    assert evaluate(deploy, Request("ec2:DeleteSubnet", adopted_subnet)) == "implicit-deny"
    assert evaluate(deploy, Request("ec2:DeleteVpc", adopted_vpc)) == "implicit-deny"
    # The program reads the adopted VPC on every preview (aws.ec2.get_vpc): the preview role may, untagged as it is.
    preview = documents("prod-existing-network", False)
    assert evaluate(preview, Request("ec2:DescribeVpcAttribute", adopted_vpc)) == "allow"
    assert evaluate(preview, Request("ec2:DescribeVpcAttribute", other_vpc)) == "implicit-deny"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_role_fits_iams_size_and_attachment_quotas(variant):
    """IAM quotas (IAM user guide, "IAM and AWS STS quotas"): a managed policy holds at most 6,144 characters and a
    role's inline policies 10,240 (whitespace not counted); a role takes 10 managed policies by default."""
    for deploy in (True, False):
        managed, inline = role_policies(permissions(variant), CONTEXT, secret_name(variant), deploy=deploy)
        assert 1 <= len(managed) <= 10
        assert max(len(re.sub(r"\s", "", document.to_json())) for document in managed) <= 6144
        assert len(re.sub(r"\s", "", inline.to_json())) <= 10240
