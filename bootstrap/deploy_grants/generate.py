"""The CI roles' permissions, derived from the stack's own plan: writes `bootstrap/permissions/<stack>.json`.

    venv/bin/python -m bootstrap.deploy_grants [--stack prod] [--check]

The stack program runs offline (offline_preview.cli, names known as in a second preview). Every resource type it
registers maps to the IAM resource types it acts on (`RESOURCE_TYPES`, the one hand table: which Pulumi type touches
which IAM resource type is in no library). The ARN format of each IAM resource type, and the actions at each access
level, come from policy_sentry's copy of the AWS Service Authorization Reference through its CRUD policy writer:

- resources the program names (table, function, roles, log groups, secret, topic, bucket, trail, ...) get their
  exact ARNs;
- resources whose ids AWS generates (VPC, subnets, security groups, route tables, gateways, addresses, endpoints,
  KMS keys) get their type's ARN in this account and region, narrowed by the stack tag that the provider's
  `aws:defaultTags` puts on everything it creates (`aws:RequestTag` on Create*, `aws:ResourceTag` afterwards);
  an action that supports neither condition key is left out and listed under `omitted`, with the reason;
- wildcard-only actions: every Read and List action of the plan's services; Write only where the action supports
  `aws:RequestTag` (kms:CreateKey), under that condition.

The deploy role gets Read, List, Write, Tagging and Permissions management; the preview role only Read and List.
iam:PassRole and the guard Denys are not here: the bootstrap program adds them (components.deploy_policies).

Why a committed file rather than running the plan inside the bootstrap program: an administrator reviews exactly
what the CI roles may do before running `pulumi up` on the bootstrap stack, the diff of this file shows every
change in those grants when the stack changes, and the bootstrap program stays a plain Pulumi program that neither
imports the stack program nor runs it. `tests/bootstrap/test_deploy_grants.py` fails when the file is out of date.

ARNs are written with `${Partition}`, `${Region}` and `${Account}` placeholders, which the bootstrap program
replaces with its own account's values; the plan's example account id never reaches a policy.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from policy_sentry.command.write_policy import write_policy_with_template
from policy_sentry.querying.actions import get_action_data, get_actions_that_support_wildcard_arns_only
from policy_sentry.querying.arns import get_arn_types_for_service

from mock_engine.recorded import UNKNOWN, RecordedResource
from offline_preview.cli import ACCOUNT_ID, REPO_ROOT, PreviewError, run_program

PERMISSIONS_DIR: Final = REPO_ROOT / "bootstrap" / "permissions"
STACK_TAG_KEY: Final = "keyless-ingest-stack"
"""The tag `aws:defaultTags` in Pulumi.<stack>.yaml puts on every taggable resource of the stack."""
PLACEHOLDER_REGION: Final = "${Region}"
PLACEHOLDER_ACCOUNT: Final = "${Account}"
PLACEHOLDER_PARTITION: Final = "${Partition}"


@dataclass(frozen=True)
class Touches:
    """One IAM resource type a Pulumi resource acts on, and where its name is in the resource's inputs."""

    service: str
    iam_type: str
    """The resource type's name in the Service Authorization Reference (policy_sentry's key)."""
    name_input: str | None = None
    """Input holding the physical name; None when AWS generates the id (scoped by the stack tag instead)."""
    suffix: str = ""
    """Appended to the name: a secret's `-??????`, a log group's `:*` for its streams."""
    wildcard_only: bool = False
    """The API has no resource type for it: its Write actions (those named after `iam_type`) support only `*`."""


PULUMI_REGISTRY = "https://www.pulumi.com/registry/packages/aws/api-docs/"
RESOURCE_TYPES: Final[Mapping[str, tuple[Touches, ...]]] = {
    # Source of every entry: the resource's page in the Pulumi registry (PULUMI_REGISTRY + "<module>/<name>/"),
    # which names the AWS API resource it manages and its inputs. ARN formats are policy_sentry's, not ours.
    "aws:dynamodb/table:Table": (Touches("dynamodb", "table", "name"),),
    "aws:lambda/function:Function": (Touches("lambda", "function", "name"),),
    "aws:iam/role:Role": (Touches("iam", "role", "name"),),
    # An inline role policy is a sub-resource of its role (iam:PutRolePolicy acts on the role).
    "aws:iam/rolePolicy:RolePolicy": (Touches("iam", "role", "role"),),
    "aws:cloudwatch/logGroup:LogGroup": (
        Touches("logs", "log-group", "name"),
        Touches("logs", "log-group", "name", ":*"),
    ),
    # logs:PutMetricFilter acts on the log group the filter reads.
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": (Touches("logs", "log-group", "logGroupName"),),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (Touches("cloudwatch", "alarm", "name"),),
    # logs:PutQueryDefinition / DeleteQueryDefinition act on no resource type (Service Authorization Reference).
    "aws:cloudwatch/queryDefinition:QueryDefinition": (Touches("logs", "QueryDefinition", wildcard_only=True),),
    "aws:cloudwatch/dashboard:Dashboard": (Touches("cloudwatch", "dashboard", "dashboardName"),),
    "aws:kms/key:Key": (Touches("kms", "key"),),
    # kms:CreateAlias acts on the alias and on the key it points at.
    "aws:kms/alias:Alias": (Touches("kms", "alias", "name"), Touches("kms", "key")),
    # Secrets Manager appends six random characters to the name.
    "aws:secretsmanager/secret:Secret": (Touches("secretsmanager", "Secret", "name", "-??????"),),
    "aws:secretsmanager/secretPolicy:SecretPolicy": (Touches("secretsmanager", "Secret", "secretArn"),),
    # With rotationFunctionArn: RotateSecret acts on the secret (and invokes the function it names);
    # lambda:AddPermission acts on the rotation function, named by its ARN.
    "aws:secretsmanager/secretRotation:SecretRotation": (
        Touches("secretsmanager", "Secret", "secretId"),
        Touches("lambda", "function", "rotationLambdaArn"),
    ),
    "aws:lambda/permission:Permission": (Touches("lambda", "function", "function"),),
    "aws:sns/topic:Topic": (Touches("sns", "topic", "name"),),
    "aws:sns/topicPolicy:TopicPolicy": (Touches("sns", "topic", "arn"),),
    "aws:s3/bucket:Bucket": (Touches("s3", "bucket", "bucket"),),
    "aws:s3/bucketPolicy:BucketPolicy": (Touches("s3", "bucket", "bucket"),),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (Touches("s3", "bucket", "bucket"),),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (Touches("s3", "bucket", "bucket"),),
    "aws:s3/bucketVersioning:BucketVersioning": (Touches("s3", "bucket", "bucket"),),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        Touches("s3", "bucket", "bucket"),
    ),
    "aws:cloudtrail/trail:Trail": (Touches("cloudtrail", "trail", "name"),),
    # Guardrails (components/guardrails.py). A Config rule's ARN carries its generated id (config-rule/<id>).
    "aws:cfg/rule:Rule": (Touches("config", "ConfigRule"),),
    "aws:cfg/recorder:Recorder": (Touches("config", "ConfigurationRecorder"),),
    "aws:cfg/recorderStatus:RecorderStatus": (Touches("config", "ConfigurationRecorder"),),
    # config:PutDeliveryChannel / DeleteDeliveryChannel act on no resource type (Service Authorization Reference).
    "aws:cfg/deliveryChannel:DeliveryChannel": (Touches("config", "DeliveryChannel", wildcard_only=True),),
    "aws:cloudwatch/eventRule:EventRule": (Touches("events", "rule-on-default-event-bus", "name"),),
    # events:PutTargets / RemoveTargets act on the rule.
    "aws:cloudwatch/eventTarget:EventTarget": (Touches("events", "rule-on-default-event-bus", "rule"),),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (Touches("s3", "bucket", "bucket"),),
    # iam:AttachRolePolicy acts on the role.
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (Touches("iam", "role", "role"),),
    "aws:accessanalyzer/analyzer:Analyzer": (Touches("access-analyzer", "Analyzer", "analyzerName"),),
    "aws:ec2/vpc:Vpc": (Touches("ec2", "vpc"),),
    "aws:ec2/subnet:Subnet": (Touches("ec2", "subnet"), Touches("ec2", "vpc")),
    "aws:ec2/securityGroup:SecurityGroup": (Touches("ec2", "security-group"), Touches("ec2", "vpc")),
    "aws:ec2/routeTable:RouteTable": (Touches("ec2", "route-table"), Touches("ec2", "vpc")),
    # A route is a sub-resource of its route table; an association joins a route table and a subnet.
    "aws:ec2/route:Route": (Touches("ec2", "route-table"),),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (Touches("ec2", "route-table"), Touches("ec2", "subnet")),
    "aws:ec2/internetGateway:InternetGateway": (Touches("ec2", "internet-gateway"), Touches("ec2", "vpc")),
    "aws:ec2/natGateway:NatGateway": (
        Touches("ec2", "natgateway"),
        Touches("ec2", "subnet"),
        Touches("ec2", "elastic-ip"),
    ),
    "aws:ec2/eip:Eip": (Touches("ec2", "elastic-ip"),),
    "aws:ec2/vpcEndpoint:VpcEndpoint": (
        Touches("ec2", "vpc-endpoint"),
        Touches("ec2", "vpc"),
        Touches("ec2", "subnet"),
        Touches("ec2", "security-group"),
        Touches("ec2", "route-table"),
    ),
}
"""Pulumi resource type -> the IAM resource types its create, update, read and delete act on."""

DEPLOY_LEVELS: Final = ("read", "list", "write", "tagging", "permissions-management")
PREVIEW_LEVELS: Final = ("read", "list")
CREATE_VERBS: Final = ("Create", "Allocate")
"""Actions that bring a resource into existence: they can only be tied to the stack tag by `aws:RequestTag`."""
LEFT_TO_BOOTSTRAP: Final = frozenset({"iam:PassRole"})
"""Granted by the bootstrap program with its own conditions (only this stack's roles, iam:PassedToService)."""
NEVER: Final[Mapping[str, str]] = {
    "iam:CreateServiceLinkedRole": "creates AWS service roles outside the stack's prefix; the stack needs none",
    "iam:DeleteServiceLinkedRole": "the stack owns no service-linked role",
}
"""Actions the CRUD writer lists for a resource type that the deployer must not get, with the reason."""


class PermissionsError(Exception):
    """The plan cannot be turned into permissions; the message says which resource and why."""


@dataclass(frozen=True)
class Target:
    service: str
    iam_type: str
    arn: str
    generated: bool


def stack_tag(config: Mapping[str, str], stack: str) -> str:
    """The value of the stack tag from `aws:defaultTags`; the stack must set it for generated ids to be scoped."""
    raw = config.get("aws:defaultTags")
    tags = (json.loads(raw) if raw else {}).get("tags") or {}
    value = tags.get(STACK_TAG_KEY)
    if not isinstance(value, str) or not value:
        raise PermissionsError(
            f"Pulumi.{stack}.yaml must set aws:defaultTags.tags.{STACK_TAG_KEY}: resources whose ids AWS generates "
            "can only be granted through that tag"
        )
    return value


def targets(resources: Iterable[RecordedResource], region: str) -> list[Target]:
    """Every (IAM resource type, ARN) the plan's custom resources act on, with placeholders for account/region."""
    found: dict[str, Target] = {}
    for resource in resources:
        if not resource.custom:
            continue
        touches = RESOURCE_TYPES.get(resource.type)
        if touches is None:
            raise PermissionsError(
                f"{resource.type} ({resource.name}) is not in bootstrap.deploy_grants.generate.RESOURCE_TYPES: add "
                "the IAM resource types it acts on, citing its Pulumi registry page"
            )
        for touch in touches:
            if touch.wildcard_only:
                continue
            target = _target(resource, touch, region)
            found.setdefault(target.arn, target)
    return sorted(found.values(), key=lambda target: target.arn)


def _target(resource: RecordedResource, touch: Touches, region: str) -> Target:
    arn_format = get_arn_types_for_service(touch.service).get(touch.iam_type)
    if arn_format is None:
        raise PermissionsError(f"policy_sentry knows no resource type {touch.service}:{touch.iam_type}")
    if touch.name_input is None:
        return Target(touch.service, touch.iam_type, _fill(arn_format, "*"), generated=True)
    value = resource.inputs.get(touch.name_input)
    if value is UNKNOWN or not isinstance(value, str) or not value:
        raise PermissionsError(
            f"{resource.type} {resource.name}: input {touch.name_input} is not a known name, so its ARN cannot be "
            "granted; give the resource an explicit name"
        )
    if value.startswith("arn:"):
        # An ARN input (a secret's, a topic's): the same resource the named one is granted on.
        arn = _placeholders(value, region)
        if touch.service == "secretsmanager":
            arn = arn[: -len("-??????")] + "-??????"
        return Target(touch.service, touch.iam_type, arn, generated=False)
    name = _placeholders(value, region)
    return Target(touch.service, touch.iam_type, _fill(arn_format, name + touch.suffix), generated=False)


def _fill(arn_format: str, name: str) -> str:
    """Put `name` in the format's one resource variable (`${TableName}`, ...), keep the three placeholders."""
    head, _, tail = arn_format.rpartition("${")
    if not head or "}" not in tail:
        raise PermissionsError(f"unexpected ARN format {arn_format}")
    return head + name + tail.split("}", 1)[1]


def _placeholders(value: str, region: str) -> str:
    return (
        value.replace("arn:aws:", f"arn:{PLACEHOLDER_PARTITION}:")
        .replace(f":{region}:", f":{PLACEHOLDER_REGION}:")
        .replace(ACCOUNT_ID, PLACEHOLDER_ACCOUNT)
    )


def _sentry_arn(arn: str) -> str:
    """policy_sentry matches ARNs by regex on concrete values: give it the example ones, then put placeholders back."""
    return (
        arn.replace(PLACEHOLDER_PARTITION, "aws")
        .replace(PLACEHOLDER_REGION, "eu-west-1")
        .replace(PLACEHOLDER_ACCOUNT, ACCOUNT_ID)
    )


def crud_statements(found: Sequence[Target], levels: Sequence[str]) -> list[dict[str, Any]]:
    """policy_sentry's CRUD writer over the targets, at the given access levels."""
    services = sorted({target.service for target in found})
    template: dict[str, Any] = {"mode": "crud", "wildcard-only": {}}
    for level in levels:
        template[level] = [_sentry_arn(target.arn) for target in found]
    wildcard = template["wildcard-only"]
    wildcard["service-read"] = services
    wildcard["service-list"] = services
    policy = write_policy_with_template(template)
    statements = []
    for statement in policy["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        statements.append(
            {
                "Sid": statement["Sid"],
                "Action": sorted(statement["Action"]),
                "Resource": sorted(_placeholders(arn, "eu-west-1") for arn in resources),
            }
        )
    return statements


def _condition_keys(action: str, arn_format_type: str | None) -> set[str]:
    service, _, name = action.partition(":")
    keys: set[str] = set()
    for entry in get_action_data(service, name).get(service, []):
        if arn_format_type is None or entry["resource_arn_format"] in (arn_format_type, "*"):
            keys.update(entry["condition_keys"])
    return keys


def creates(action: str, iam_type: str) -> bool:
    """True if `action` brings a resource of `iam_type` into existence (`ec2:CreateNatGateway` and `natgateway`)."""
    name = action.partition(":")[2]
    verb = next((verb for verb in CREATE_VERBS if name.startswith(verb)), None)
    return verb is not None and name[len(verb) :].lower() == iam_type.replace("-", "").lower()


def scope_generated(
    statements: Sequence[dict[str, Any]], found: Sequence[Target], tag_value: str
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Tie statements on generated-id ARNs to the stack tag; drop what cannot carry it (returned as omitted).

    On a resource type's `type/*` ARN, the action that creates that type gets `aws:RequestTag` (the new resource
    carries the stack tag), every other action `aws:ResourceTag` (it acts on an existing resource of the stack).
    EC2 tag-on-create (ec2:CreateTags inside a Create call) is granted with `ec2:CreateAction` as AWS documents.
    """
    generated = {target.arn: target for target in found if target.generated}
    scoped: list[dict[str, Any]] = []
    omitted: list[dict[str, str]] = []
    for statement in statements:
        actions = []
        for action in statement["Action"]:
            if action in NEVER:
                omitted.append({"action": action, "reason": NEVER[action]})
            elif statement["Resource"] == ["*"] and not _wildcard_only(action):
                omitted.append(
                    {
                        "action": action,
                        "reason": "listed by policy_sentry as a dependent action on Resource '*', but it supports "
                        "resource-level permissions, so '*' would reach every such resource in the account",
                    }
                )
            elif action not in LEFT_TO_BOOTSTRAP:
                actions.append(action)
        on_generated = [arn for arn in statement["Resource"] if arn in generated]
        if not on_generated:
            if actions:
                scoped.append({**statement, "Action": actions})
            continue
        target = generated[on_generated[0]]
        arn_format = get_arn_types_for_service(target.service)[target.iam_type]
        groups: dict[str, list[str]] = {"Create": [], "Tagged": [], "TagOnCreate": []}
        for action in actions:
            keys = _condition_keys(action, arn_format)
            if creates(action, target.iam_type) and "aws:RequestTag/${TagKey}" in keys:
                groups["Create"].append(action)
            elif action == "ec2:CreateTags":
                groups["TagOnCreate"].append(action)
            elif "aws:ResourceTag/${TagKey}" in keys:
                groups["Tagged"].append(action)
            else:
                omitted.append(
                    {
                        "action": action,
                        "on": ", ".join(on_generated),
                        "reason": "AWS generates the resource id and the action supports no tag condition key here",
                    }
                )
        create_actions = sorted(
            action for action in actions if creates(action, target.iam_type) and action in groups["Create"]
        )
        conditions: dict[str, dict[str, Any]] = {
            "Create": {"StringEquals": {f"aws:RequestTag/{STACK_TAG_KEY}": tag_value}},
            "Tagged": {"StringEquals": {f"aws:ResourceTag/{STACK_TAG_KEY}": tag_value}},
            "TagOnCreate": {
                "StringEquals": {
                    f"aws:RequestTag/{STACK_TAG_KEY}": tag_value,
                    "ec2:CreateAction": create_actions,
                }
            },
        }
        for group, chosen in groups.items():
            if group == "TagOnCreate" and chosen and not create_actions:
                chosen = []
            if chosen:
                scoped.append(
                    {
                        "Sid": statement["Sid"] + group,
                        "Action": chosen,
                        "Resource": on_generated,
                        "Condition": conditions[group],
                    }
                )
    return scoped, _unique(omitted)


def wildcard_creates(found: Sequence[Target], tag_value: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Wildcard-only Write actions of generated-id services, granted only when tied to the stack tag on creation."""
    statements: list[dict[str, Any]] = []
    omitted: list[dict[str, str]] = []
    for service in sorted({target.service for target in found if target.generated}):
        chosen = []
        for action in sorted(get_actions_that_support_wildcard_arns_only(service)):
            name = action.partition(":")[2]
            if not name.startswith(CREATE_VERBS):
                continue
            if "aws:RequestTag/${TagKey}" in _condition_keys(action, "*"):
                chosen.append(action)
        if chosen:
            statements.append(
                {
                    "Sid": f"{service.capitalize()}CreateTaggedWildcardOnly",
                    "Action": chosen,
                    "Resource": ["*"],
                    "Condition": {"StringEquals": {f"aws:RequestTag/{STACK_TAG_KEY}": tag_value}},
                }
            )
    return statements, omitted


def _wildcard_only(action: str) -> bool:
    service = action.partition(":")[0]
    return action.lower() in {known.lower() for known in get_actions_that_support_wildcard_arns_only(service)}


def wildcard_only_writes(resources: Iterable[RecordedResource]) -> list[dict[str, Any]]:
    """Write actions named after a wildcard-only type of the plan (logs:PutQueryDefinition), which support only `*`."""
    wanted = sorted(
        {
            (touch.service, touch.iam_type)
            for resource in resources
            if resource.custom
            for touch in RESOURCE_TYPES.get(resource.type, ())
            if touch.wildcard_only
        }
    )
    statements = []
    for service, iam_type in wanted:
        actions = sorted(
            action
            for action in get_actions_that_support_wildcard_arns_only(service)
            if action.partition(":")[2].endswith(iam_type)
            and any(
                entry["access_level"] == "Write"
                for entry in get_action_data(service, action.partition(":")[2]).get(service, [])
            )
        )
        if not actions:
            raise PermissionsError(f"policy_sentry knows no wildcard-only Write action for {service} {iam_type}")
        statements.append(
            {"Sid": f"{service.capitalize()}Write{iam_type}WildcardOnly", "Action": actions, "Resource": ["*"]}
        )
    return statements


def _unique(entries: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for entry in entries:
        seen.setdefault(json.dumps(entry, sort_keys=True), entry)
    return [seen[key] for key in sorted(seen)]


def build(stack: str) -> dict[str, Any]:
    """The permissions document for `stack`, from a fresh offline run of the stack program."""
    try:
        run = run_program(REPO_ROOT, stack)
    except PreviewError as exc:
        raise PermissionsError(f"the stack program did not run: {exc}") from exc
    region = run.config["aws:region"]
    tag_value = stack_tag(run.config, stack)
    found = targets(run.resources, region)
    deploy, omitted = scope_generated(crud_statements(found, DEPLOY_LEVELS), found, tag_value)
    creates, _ = wildcard_creates(found, tag_value)
    preview, _ = scope_generated(crud_statements(found, PREVIEW_LEVELS), found, tag_value)
    prefix = f"{run.project}-{stack}"
    return {
        "generatedBy": f"venv/bin/python -m bootstrap.deploy_grants --stack {stack} (do not edit by hand)",
        "project": run.project,
        "stack": stack,
        "namePrefix": prefix,
        "stackTag": {"key": STACK_TAG_KEY, "value": tag_value},
        "resourceTypes": sorted({resource.type for resource in run.resources if resource.custom}),
        "stackRoles": _stack_roles(run.resources, region),
        "deploy": deploy + creates + wildcard_only_writes(run.resources),
        "preview": preview,
        "omitted": omitted,
    }


def _stack_roles(resources: Iterable[RecordedResource], region: str) -> list[dict[str, Any]]:
    """The stack's roles and the services their trust policies name: what iam:PassRole may pass, and to whom."""
    roles = []
    for resource in resources:
        if resource.type != "aws:iam/role:Role":
            continue
        trust = json.loads(str(resource.inputs.get("assumeRolePolicy") or "{}"))
        services = sorted(
            {
                service
                for statement in trust.get("Statement", [])
                for service in _as_list((statement.get("Principal") or {}).get("Service"))
            }
        )
        name = resource.inputs.get("name")
        if not isinstance(name, str) or not services:
            raise PermissionsError(f"role {resource.name}: needs an explicit name and a service principal to be passed")
        arn = f"arn:{PLACEHOLDER_PARTITION}:iam::{PLACEHOLDER_ACCOUNT}:role/{name}"
        roles.append({"arn": _placeholders(arn, region), "services": services})
    return sorted(roles, key=lambda role: role["arn"])


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value or [] if isinstance(item, str)]


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def path_for(stack: str) -> Path:
    return PERMISSIONS_DIR / f"{stack}.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bootstrap.deploy_grants", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file differs from the plan")
    options = parser.parse_args(argv)
    try:
        text = render(build(options.stack))
    except PermissionsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target = path_for(options.stack)
    if options.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            print(f"{target} is out of date: run python -m bootstrap.deploy_grants --stack {options.stack}")
            return 1
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
