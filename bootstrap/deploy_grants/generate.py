"""The CI roles' permissions, from the call contract and the stack's plan: writes `bootstrap/permissions/<stack>.json`.

    venv/bin/python -m bootstrap.deploy_grants [--stack prod] [--check]

The stack program runs offline (offline_preview, names known as in a second preview). Every custom resource it
registers is looked up in `contract.yaml`, the one reviewed table of the AWS calls pulumi-aws makes for that type
(create, the read after create and on refresh, update, delete, tagging) with their authorization context, cited to
terraform-provider-aws's source or AWS's documentation. A type with no contract stops generation: nothing is
granted by guess. Each call becomes a grant:

- on a resource the program names (table, function, roles, log groups, secret, topic, bucket, trail, alias, ...):
  its exact ARN;
- on a resource whose id AWS generates (VPC, subnets, security groups, route tables, gateways, addresses,
  endpoints, KMS keys): the type's ARN in this account and Region, tied to the stack tag that the provider's
  `aws:defaultTags` puts on it: `aws:RequestTag` on the call that creates it (and `ec2:CreateAction` with the
  bare API name on EC2's tag-on-create), `aws:ResourceTag` afterwards;
- on a resource the stack only references by a configured id (the adopted VPC, subnets and route tables of
  networkMode=existing, the rotation function): that id's exact ARN, since it carries no stack tag;
- `Resource: "*"` only for actions that support no resource type (checked against policy_sentry by the tests),
  and every grant on all resources of a type (`any:`) in a statement of its own, with the contract's reason.

The deploy role gets every phase; the preview role only the `read` rows (configuration, never items or log
events), which is also what `pulumi refresh` calls. iam:PassRole and the guard Denys are not here: the bootstrap
program adds them (components.deploy_policies), and generation checks that every PassRole of the contract is one
the stack's roles allow.

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
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from policy_sentry.querying.arns import get_arn_types_for_service

from bootstrap.deploy_grants.contract import CONTRACT_PATH, Call, ContractError, TypeContract, load_contract
from mock_engine.recorded import UNKNOWN, RecordedResource
from offline_preview.cli import ACCOUNT_ID, REPO_ROOT, PreviewError, run_program

PERMISSIONS_DIR: Final = REPO_ROOT / "bootstrap" / "permissions"
STACK_TAG_KEY: Final = "keyless-ingest-stack"
"""The tag `aws:defaultTags` in Pulumi.<stack>.yaml puts on every taggable resource of the stack."""
PLACEHOLDER_REGION: Final = "${Region}"
PLACEHOLDER_ACCOUNT: Final = "${Account}"
PLACEHOLDER_PARTITION: Final = "${Partition}"
LEFT_TO_BOOTSTRAP: Final = frozenset({"iam:PassRole"})
"""Granted by the bootstrap program with its own conditions (only this stack's roles, iam:PassedToService)."""
CONTRACT_FILE: Final = "bootstrap/deploy_grants/contract.yaml"

# Scopes of a grant, which decide its condition.
EXACT: Final = "exact"
GENERATED: Final = "generated"
WILDCARD: Final = "wildcard"
ANY: Final = "any"


class PermissionsError(Exception):
    """The plan cannot be turned into permissions; the message says which resource and why."""


@dataclass(frozen=True)
class Target:
    """One IAM resource a call acts on, as the grant will name it."""

    service: str
    iam_type: str
    arn: str
    """With the ${Partition}/${Region}/${Account} placeholders; `type/*` for generated ids and `any:`."""
    scope: str
    identifier: str | None = None
    """The physical name, configured id or ARN the target was resolved from (None when generated or `*`)."""


@dataclass(frozen=True)
class CallInstance:
    """One contract call on one resource of the plan: what a test replays as a request."""

    pulumi_type: str
    resource_name: str
    call: Call
    target: Target
    source: str
    """`<provider file>: <function>` or the AWS page, for messages and the permissions file."""


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


def _arn_format(service: str, iam_type: str) -> str:
    arn_format = get_arn_types_for_service(service).get(iam_type)
    if arn_format is None:
        raise PermissionsError(f"{CONTRACT_FILE}: policy_sentry knows no resource type {service}:{iam_type}")
    return arn_format


_ACCOUNT_VARIABLES: Final = frozenset({PLACEHOLDER_PARTITION, PLACEHOLDER_REGION, PLACEHOLDER_ACCOUNT})


def _fill(arn_format: str, name: str) -> str:
    """Put `name` in the format's first resource variable (`${TableName}`, `${RecorderName}`, ...) and `*` in any
    later one (a configuration recorder's `${RecorderId}`, which AWS generates); keep the three placeholders."""
    variables = [found for found in re.findall(r"\$\{[^}]+\}", arn_format) if found not in _ACCOUNT_VARIABLES]
    if not variables:
        raise PermissionsError(f"unexpected ARN format {arn_format}")
    head, _, tail = arn_format.partition(variables[0])
    for later in variables[1:]:
        tail = tail.replace(later, "*", 1)
    return head + name + tail


def _placeholders(value: str, region: str) -> str:
    return (
        value.replace("arn:aws:", f"arn:{PLACEHOLDER_PARTITION}:")
        .replace(f":{region}:", f":{PLACEHOLDER_REGION}:")
        .replace(ACCOUNT_ID, PLACEHOLDER_ACCOUNT)
    )


def _name_in_arn(iam_type: str, name: str) -> str:
    """The name as the ARN spells it: a KMS alias ARN is `...:alias/<name>`, the input `alias/<name>` already."""
    if iam_type == "alias" and name.startswith("alias/"):
        return name[len("alias/") :]
    return name


class _Plan:
    """The plan's resources and how a value found in an input maps back to the resource that produced it."""

    def __init__(self, resources: Sequence[RecordedResource], contracts: Mapping[str, TypeContract], region: str):
        self.region = region
        self.contracts = contracts
        self.custom = [resource for resource in resources if resource.custom]
        self.by_output: dict[str, RecordedResource] = {}
        for resource in self.custom:
            for key in ("id", "arn", "name"):
                value = resource.outputs.get(key)
                if isinstance(value, str) and value:
                    self.by_output.setdefault(value, resource)

    def self_target(self, resource: RecordedResource) -> Target:
        contract = self.contracts[resource.type]
        target = contract.self_target
        if target is None:
            raise PermissionsError(f"{CONTRACT_FILE}: {resource.type} has no 'self' target but a call uses it")
        arn_format = _arn_format(target.service, target.iam_type)
        if target.name_input is None:
            return Target(target.service, target.iam_type, _fill(arn_format, "*"), GENERATED)
        value = resource.inputs.get(target.name_input)
        if value is UNKNOWN or not isinstance(value, str) or not value:
            raise PermissionsError(
                f"{resource.type} {resource.name}: input {target.name_input} is not a known name, so its ARN cannot "
                "be granted; give the resource an explicit name"
            )
        name = _placeholders(_name_in_arn(target.iam_type, value), self.region) + target.suffix
        return Target(target.service, target.iam_type, _fill(arn_format, name), EXACT, value)

    def referenced(self, resource: RecordedResource, service: str, iam_type: str, input_name: str) -> list[Target]:
        raw = resource.inputs.get(input_name)
        if raw is None or raw == []:
            # The input is not set (a gateway endpoint has no subnets): the call names no such resource.
            return []
        values = raw if isinstance(raw, list) else [raw]
        targets = []
        for value in values:
            if value is UNKNOWN or not isinstance(value, str) or not value:
                raise PermissionsError(
                    f"{resource.type} {resource.name}: input {input_name} is unknown, so the {service}:{iam_type} "
                    "it names cannot be granted"
                )
            producer = self.by_output.get(value)
            if producer is not None and producer.type in self.contracts and producer is not resource:
                produced = self.self_target(producer)
                if (produced.service, produced.iam_type) == (service, iam_type):
                    targets.append(produced)
                    continue
            targets.append(self._configured(service, iam_type, value))
        return targets

    def _configured(self, service: str, iam_type: str, value: str) -> Target:
        """A resource the stack does not create (an adopted VPC, a rotation function): its exact ARN."""
        if value.startswith("arn:"):
            arn = _placeholders(value, self.region)
            if service == "secretsmanager":
                arn = arn[: -len("-??????")] + "-??????"
            return Target(service, iam_type, arn, EXACT, value)
        arn = _fill(_arn_format(service, iam_type), _placeholders(_name_in_arn(iam_type, value), self.region))
        return Target(service, iam_type, arn, EXACT, value)


LOG_GROUP_STREAMS: Final = ":*"
"""CloudWatch Logs authorizes some calls on `log-group:<name>` and others on `log-group:<name>:*` (the form
DescribeLogGroups returns; CloudWatch Logs user guide, "CloudWatch Logs permissions reference"): both are granted."""


def _targets(plan: _Plan, resource: RecordedResource, call: Call) -> list[Target]:
    targets = []
    for target in _resolve(plan, resource, call):
        targets.append(target)
        if target.iam_type == "log-group" and target.scope == EXACT and not target.arn.endswith(LOG_GROUP_STREAMS):
            targets.append(
                Target(target.service, target.iam_type, target.arn + LOG_GROUP_STREAMS, EXACT, target.identifier)
            )
    return targets


def _resolve(plan: _Plan, resource: RecordedResource, call: Call) -> list[Target]:
    spec = call.resource
    if spec == "self":
        return [plan.self_target(resource)]
    if spec == "*":
        return [Target("", "", "*", WILDCARD)]
    if spec.startswith("any:"):
        _, service, iam_type = spec.split(":", 2)
        return [Target(service, iam_type, _fill(_arn_format(service, iam_type), "*"), ANY)]
    service, _, rest = spec.partition(":")
    if "@" in rest:
        iam_type, _, input_name = rest.partition("@")
        return plan.referenced(resource, service, iam_type, input_name)
    if "=" in rest:
        iam_type, _, name = rest.partition("=")
        return [Target(service, iam_type, _fill(_arn_format(service, iam_type), name), EXACT, name)]
    raise PermissionsError(f"{CONTRACT_FILE}: {resource.type} {call.action}: cannot read resource {spec!r}")


def call_instances(
    resources: Sequence[RecordedResource], region: str, contracts: Mapping[str, TypeContract] | None = None
) -> list[CallInstance]:
    """Every contract call on every custom resource of the plan, resolved to its targets."""
    contracts = load_contract() if contracts is None else contracts
    plan = _Plan(resources, contracts, region)
    instances: list[CallInstance] = []
    for resource in plan.custom:
        contract = contracts.get(resource.type)
        if contract is None:
            raise PermissionsError(
                f"{resource.type} ({resource.name}) has no call contract: add it to {CONTRACT_FILE}, citing the "
                "terraform-provider-aws functions that make its calls"
            )
        for call in contract.calls:
            if call.when is not None and not resource.inputs.get(call.when):
                continue
            _check_policy_arn(resource, call, region)
            for target in _targets(plan, resource, call):
                own_file = not call.source.startswith(("AWS:", "invoke "))
                source = f"{contract.file}: {call.source}" if own_file else call.source
                instances.append(CallInstance(resource.type, resource.name, call, target, source))
    return instances


def _check_policy_arn(resource: RecordedResource, call: Call, region: str) -> None:
    """A `policy-arn:` call attaches exactly the managed policy the contract names, never another one."""
    expected = call.context_value("policy-arn:")
    if expected is None:
        return
    planned = resource.inputs.get("policyArn")
    if not isinstance(planned, str) or _placeholders(planned, region) != expected:
        raise PermissionsError(
            f"{resource.type} {resource.name}: attaches {planned!r}, but {CONTRACT_FILE} allows only {expected}; "
            "a managed policy is granted only after review in the contract"
        )


def _condition(instance: CallInstance, tag_value: str) -> dict[str, dict[str, Any]]:
    """The condition a grant needs so that it reaches only what the call is meant to act on."""
    call, scope = instance.call, instance.target.scope
    equals: dict[str, Any] = {}
    if scope == GENERATED:
        if call.request_tagged:
            equals[f"aws:RequestTag/{STACK_TAG_KEY}"] = tag_value
            create_action = call.context_value("create-action:")
            if create_action is not None:
                equals["ec2:CreateAction"] = create_action
        else:
            equals[f"aws:ResourceTag/{STACK_TAG_KEY}"] = tag_value
    elif scope in (WILDCARD, ANY) and call.request_tagged:
        equals[f"aws:RequestTag/{STACK_TAG_KEY}"] = tag_value
    service_name = call.context_value("service-name:")
    if service_name is not None:
        equals["iam:AWSServiceName"] = service_name
    policy_arn = call.context_value("policy-arn:")
    if policy_arn is not None:
        equals["iam:PolicyARN"] = policy_arn
    return {"StringEquals": equals} if equals else {}


_SID_KIND: Final = {EXACT: "Named", GENERATED: "StackTagged", WILDCARD: "NoResourceType", ANY: "AnyOfType"}


def statements(instances: Iterable[CallInstance], tag_value: str) -> list[dict[str, Any]]:
    """Group the grants into statements: same condition and same resources share one statement.

    `ec2:CreateAction` values of one action on one ARN are merged into one list, so tag-on-create for
    every EC2 type the stack creates is one statement per resource type.
    """
    grants: dict[tuple[str, str, str, str | None], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    create_actions: dict[tuple[str, str], set[str]] = defaultdict(set)
    for instance in instances:
        if instance.call.action in LEFT_TO_BOOTSTRAP or not instance.call.grant:
            continue
        condition = _condition(instance, tag_value)
        equals = dict(condition.get("StringEquals", {}))
        create_action = equals.pop("ec2:CreateAction", None)
        if create_action is not None:
            create_actions[(instance.call.action, instance.target.arn)].add(create_action)
            equals["ec2:CreateAction"] = None
        key = (
            instance.target.scope,
            json.dumps(equals, sort_keys=True),
            instance.call.action,
            instance.call.why if instance.target.scope == ANY else None,
        )
        grants[key][instance.target.arn].add(instance.call.action)
    merged: dict[tuple[str, str, str | None, tuple[str, ...]], set[str]] = defaultdict(set)
    for (scope, equals_json, action, why), by_arn in grants.items():
        # Split by the CreateAction list each ARN needs; other grants have one group.
        by_values: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for arn in by_arn:
            by_values[tuple(sorted(create_actions.get((action, arn), ())))].append(arn)
        for values, grouped in by_values.items():
            equals = json.loads(equals_json)
            if "ec2:CreateAction" in equals:
                equals["ec2:CreateAction"] = list(values)
            merged[(scope, json.dumps(equals, sort_keys=True), why, tuple(sorted(grouped)))].add(action)
    result: list[dict[str, Any]] = []
    counters: dict[str, int] = defaultdict(int)
    for (scope, equals_json, why, arns), actions in sorted(merged.items(), key=lambda item: _order(item[0])):
        kind = _SID_KIND[scope]
        counters[kind] += 1
        statement: dict[str, Any] = {
            "Sid": f"{kind}{counters[kind]}",
            "Action": sorted(actions),
            "Resource": list(arns),
        }
        equals = json.loads(equals_json)
        if equals:
            statement["Condition"] = {"StringEquals": equals}
        if why:
            statement["Reason"] = why
        result.append(statement)
    return result


def _order(key: tuple[str, str, str | None, tuple[str, ...]]) -> tuple[int, str, str, str]:
    scope, equals_json, why, arns = key
    return (list(_SID_KIND).index(scope), equals_json, ",".join(arns), why or "")


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


def _check_pass_role(instances: Iterable[CallInstance], roles: Sequence[Mapping[str, Any]]) -> None:
    """Every iam:PassRole the contract needs is one the bootstrap program's PassRole statement allows."""
    allowed = {role["arn"]: set(role["services"]) for role in roles}
    for instance in instances:
        if instance.call.action != "iam:PassRole":
            continue
        service = instance.call.context_value("passed-to:")
        if instance.target.arn not in allowed or service not in allowed[instance.target.arn]:
            raise PermissionsError(
                f"{instance.pulumi_type} {instance.resource_name}: passes {instance.target.arn} to {service}, which is "
                "not a role of this stack trusted by that service; only the stack's own roles may be passed"
            )


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value or [] if isinstance(item, str)]


def _not_granted(contracts: Mapping[str, TypeContract], instances: Iterable[CallInstance]) -> list[dict[str, str]]:
    """Calls the contract records but does not grant, and dependent actions it judged not needed, with reasons."""
    entries = {
        (action, why): {"action": action, "why": why}
        for pulumi_type in {instance.pulumi_type for instance in instances}
        for action, why in contracts[pulumi_type].not_needed
    }
    for instance in instances:
        if not instance.call.grant and instance.call.why:
            entries[(instance.call.action, instance.call.why)] = {
                "action": instance.call.action,
                "why": instance.call.why,
            }
    return [entries[key] for key in sorted(entries)]


def build(stack: str, config_overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The permissions document for `stack`, from a fresh offline run of the stack program."""
    try:
        contracts = load_contract()
    except ContractError as exc:
        raise PermissionsError(str(exc)) from exc
    try:
        run = run_program(REPO_ROOT, stack, config_overrides=config_overrides)
    except PreviewError as exc:
        raise PermissionsError(f"the stack program did not run: {exc}") from exc
    region = run.config["aws:region"]
    tag_value = stack_tag(run.config, stack)
    instances = call_instances(run.resources, region, contracts)
    roles = _stack_roles(run.resources, region)
    _check_pass_role(instances, roles)
    planned = sorted({resource.type for resource in run.resources if resource.custom})
    return {
        "generatedBy": f"venv/bin/python -m bootstrap.deploy_grants --stack {stack} (do not edit by hand)",
        "contract": CONTRACT_FILE,
        "project": run.project,
        "stack": stack,
        "namePrefix": f"{run.project}-{stack}",
        "stackTag": {"key": STACK_TAG_KEY, "value": tag_value},
        "resourceTypes": planned,
        "stackRoles": roles,
        "deploy": statements(instances, tag_value),
        "preview": statements([i for i in instances if i.call.phase == "read"], tag_value),
        "notGranted": _not_granted(contracts, instances),
    }


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


__all__ = ["CONTRACT_PATH", "PermissionsError", "build", "call_instances", "main", "path_for", "render", "stack_tag"]

if __name__ == "__main__":
    sys.exit(main())
