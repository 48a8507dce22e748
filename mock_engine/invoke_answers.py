"""Answers to the invokes (data sources) a program calls during the offline preview.

Each answer is a function of the invoke's camelCase args and the run's `Place` (account and region). The data sources
here read real AWS state, which the preview cannot see: they answer with plausible values in the mock account
111122223333 and the configured region, deterministic for the same args. `aws:iam/getPolicyDocument` is computed for
real (mock_engine.policy_document). Every answer is then shaped after the SDK's declared result type
(mock_engine.sdk_shapes), so fields not given here are empty lists/maps, False or 0, never values of the wrong type.

A program that needs another invoke, or other values (the outputs of a CloudFormation stack, say), supplies them with
`--invoke-answers FILE`: a JSON object from invoke token to the result's camelCase fields, e.g.
`{"aws:cloudformation/getStack:getStack": {"outputs": {"VpcId": "vpc-0123"}}}`. Those fields are laid over the built-in
answer, or stand alone for an invoke with none.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mock_engine import policy_document, sdk_shapes

ACCOUNT_ID = "111122223333"
"""AWS's documented example account id: no real account can be reached or named by mistake."""


@dataclass(frozen=True)
class Place:
    """Where the preview pretends to run."""

    region: str
    account: str = ACCOUNT_ID

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"


Answer = Callable[[Mapping[str, Any], Place], dict[str, Any]]


def digest(*parts: object, length: int = 17) -> str:
    """A stable hex digest of `parts`, for ids that differ by name but not from run to run."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


def _filter_value(args: Mapping[str, Any], name: str) -> str | None:
    for item in args.get("filters") or []:
        if isinstance(item, Mapping) and item.get("name") == name and item.get("values"):
            return str(item["values"][0])
    return None


def _caller_identity(_: Mapping[str, Any], place: Place) -> dict[str, Any]:
    return {
        "accountId": place.account,
        "arn": f"arn:aws:iam::{place.account}:user/offline-preview",
        "userId": "AIDAOFFLINEPREVIEW",
        "id": place.account,
    }


def _partition(_: Mapping[str, Any], __: Place) -> dict[str, Any]:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}


def _region(_: Mapping[str, Any], place: Place) -> dict[str, Any]:
    region = place.region
    return {
        "region": region,
        "name": region,
        "id": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": region,
    }


def _availability_zones(_: Mapping[str, Any], place: Place) -> dict[str, Any]:
    region = place.region
    return {
        "names": [f"{region}{zone}" for zone in "abc"],
        "zoneIds": [f"{region[:3]}{region[-1]}-az{n}" for n in (1, 2, 3)],
        "groupNames": [region],
        "id": region,
    }


def _prefix_list(args: Mapping[str, Any], _: Place) -> dict[str, Any]:
    return {"id": "pl-" + digest(args.get("name"), length=8), "name": args.get("name"), "cidrBlocks": []}


def _vpc(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    vpc_id = args.get("id") or "vpc-" + digest("vpc", args.get("filters"), args.get("tags"))
    return {
        "id": vpc_id,
        "arn": place.arn("ec2", f"vpc/{vpc_id}"),
        # The offline preview cannot see the real VPC; a private /16 stands in for its range.
        "cidrBlock": "10.0.0.0/16",
        "enableDnsSupport": True,
        "enableDnsHostnames": True,
        "ownerId": place.account,
        "state": "available",
    }


def _ami(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    image_id = "ami-" + digest("ami", args.get("owners"), args.get("filters"), args.get("nameRegex"))
    owners = [str(owner) for owner in args.get("owners") or []]
    name = (_filter_value(args, "name") or "offline-preview-image").replace("*", "2026.01.01")
    return {
        "id": image_id,
        "imageId": image_id,
        "arn": place.arn("ec2", f"image/{image_id}", account=False),
        "name": name,
        "architecture": _filter_value(args, "architecture") or "x86_64",
        "ownerId": next((owner for owner in owners if owner.isdigit()), place.account),
        "imageOwnerAlias": next((owner for owner in owners if not owner.isdigit()), None),
        "owners": owners,
        "state": "available",
        "imageType": "machine",
        "rootDeviceName": "/dev/xvda",
        "rootDeviceType": "ebs",
        "virtualizationType": _filter_value(args, "virtualization-type") or "hvm",
        "hypervisor": "xen",
        "platformDetails": "Linux/UNIX",
        "usageOperation": "RunInstances",
        "creationDate": "2026-01-01T00:00:00.000Z",
        "enaSupport": True,
        "mostRecent": bool(args.get("mostRecent")),
    }


def _zone(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    name = str(args.get("name") or "example.com").rstrip(".")
    zone_id = args.get("zoneId") or "Z" + digest("zone", name, args.get("privateZone"), length=20).upper()
    servers = [f"ns-{n}.awsdns-{n:02d}.{tld}" for n, tld in ((1, "com"), (2, "net"), (3, "org"), (4, "co.uk"))]
    return {
        "id": zone_id,
        "zoneId": zone_id,
        "name": name,
        "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
        "privateZone": bool(args.get("privateZone")),
        "vpcId": args.get("vpcId"),
        "nameServers": servers,
        "primaryNameServer": servers[0],
        "callerReference": "offline-preview",
        "comment": "",
        "resourceRecordSetCount": 2,
        "tags": dict(args.get("tags") or {}),
    }


def _cloudformation_stack(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    name = str(args.get("name") or "stack")
    uid = digest("stack", name, length=32)
    stack_id = place.arn("cloudformation", f"stack/{name}/{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:]}")
    return {
        "id": stack_id,
        "name": name,
        "description": "",
        "templateBody": "{}",
        "timeoutInMinutes": 0,
        "tags": dict(args.get("tags") or {}),
    }


def _ids(kind: str, prefix: str) -> Answer:
    """A list data source (`getSubnets`, `getRouteTables`, ...): two ids, stable for the same filters."""

    def answer(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
        key = (kind, args.get("filters"), args.get("tags"), args.get("vpcId"))
        ids = [prefix + digest(*key, n) for n in (1, 2)]
        return {"id": place.region, "ids": ids, "tags": dict(args.get("tags") or {})}

    return answer


def _subnet(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    subnet_id = args.get("id") or "subnet-" + digest("subnet", args.get("filters"), args.get("tags"))
    zone = args.get("availabilityZone") or f"{place.region}a"
    return {
        "id": subnet_id,
        "arn": place.arn("ec2", f"subnet/{subnet_id}"),
        "vpcId": args.get("vpcId") or "vpc-" + digest("vpc", subnet_id),
        "cidrBlock": args.get("cidrBlock") or "10.0.1.0/24",
        "availabilityZone": zone,
        "availabilityZoneId": f"{place.region[:3]}{place.region[-1]}-az1",
        "availableIpAddressCount": 250,
        "ownerId": place.account,
        "state": "available",
        "tags": dict(args.get("tags") or {}),
    }


def _route_table(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    table_id = args.get("routeTableId") or "rtb-" + digest("rtb", args.get("subnetId"), args.get("filters"))
    return {
        "id": table_id,
        "routeTableId": table_id,
        "arn": place.arn("ec2", f"route-table/{table_id}"),
        "vpcId": args.get("vpcId") or "vpc-" + digest("vpc", table_id),
        "subnetId": args.get("subnetId"),
        "ownerId": place.account,
        "tags": dict(args.get("tags") or {}),
    }


def _iam_policy(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    name = args.get("name") or str(args.get("arn") or "policy").rsplit("/", 1)[-1]
    path = args.get("pathPrefix") or "/"
    arn = args.get("arn") or f"arn:aws:iam::{place.account}:policy{path}{name}"
    return {
        "id": arn,
        "arn": arn,
        "name": name,
        "path": path,
        "policyId": "ANPA" + digest("policy", arn, length=17).upper(),
        "description": "",
        # The preview cannot read the real document; an empty one grants nothing, so no policy rule can pass on it.
        "policy": '{"Version":"2012-10-17","Statement":[]}',
        "attachmentCount": 0,
        "tags": {},
    }


def _registry_login(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    registry = str(args.get("registryId") or place.account)
    # Placeholder credentials: base64 of "AWS:<word>", the shape ECR returns, with no secret in it.
    password = "offline-preview-placeholder"  # noqa: S105 (a placeholder word, not a credential)
    return {
        "id": place.region,
        "registryId": registry,
        "authorizationToken": base64.b64encode(f"AWS:{password}".encode()).decode(),
        "userName": "AWS",
        "password": password,
        "proxyEndpoint": f"https://{registry}.dkr.ecr.{place.region}.amazonaws.com",
        "expiresAt": "2026-01-01T12:00:00Z",
    }


def _cluster_auth(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    name = args.get("name")
    return {"id": name, "name": name, "token": "k8s-aws-v1.offline-preview-placeholder"}


def _autoscaling_group(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    name = str(args.get("name") or "group")
    uid = digest("asg", name, length=32)
    uuid = f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:]}"
    return {
        "id": name,
        "name": name,
        "arn": place.arn("autoscaling", f"autoScalingGroup:{uuid}:autoScalingGroupName/{name}"),
        "availabilityZones": [f"{place.region}a", f"{place.region}b"],
        "minSize": 1,
        "maxSize": 1,
        "desiredCapacity": 1,
        "defaultCooldown": 300,
        "healthCheckType": "EC2",
        "healthCheckGracePeriod": 300,
        "serviceLinkedRoleArn": (
            f"arn:aws:iam::{place.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
        ),
        "status": "",
        "vpcZoneIdentifier": "",
    }


def _network_interface(args: Mapping[str, Any], place: Place) -> dict[str, Any]:
    eni_id = args.get("id") or "eni-" + digest("eni", args.get("filters"), args.get("tags"))
    return {
        "id": eni_id,
        "arn": place.arn("ec2", f"network-interface/{eni_id}"),
        "subnetId": "subnet-" + digest("subnet", eni_id),
        "vpcId": "vpc-" + digest("vpc", eni_id),
        "availabilityZone": f"{place.region}a",
        "interfaceType": "interface",
        "privateIp": "10.0.1.10",
        "privateIps": ["10.0.1.10"],
        "privateDnsName": f"ip-10-0-1-10.{place.region}.compute.internal",
        "macAddress": "02:00:00:00:00:01",
        "ownerId": place.account,
        "securityGroups": ["sg-" + digest("sg", eni_id)],
        "description": "",
        "tags": dict(args.get("tags") or {}),
    }


BUILT_IN: dict[str, Answer] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getPrefixList:getPrefixList": _prefix_list,
    "aws:ec2/getVpc:getVpc": _vpc,
    "aws:ec2/getAmi:getAmi": _ami,
    "aws:route53/getZone:getZone": _zone,
    "aws:cloudformation/getStack:getStack": _cloudformation_stack,
    "aws:ec2/getSubnets:getSubnets": _ids("subnets", "subnet-"),
    "aws:ec2/getSubnet:getSubnet": _subnet,
    "aws:ec2/getRouteTable:getRouteTable": _route_table,
    "aws:ec2/getRouteTables:getRouteTables": _ids("route-tables", "rtb-"),
    "aws:ec2/getNetworkInterface:getNetworkInterface": _network_interface,
    "aws:ec2/getNetworkInterfaces:getNetworkInterfaces": _ids("network-interfaces", "eni-"),
    "aws:iam/getPolicy:getPolicy": _iam_policy,
    policy_document.TOKEN: lambda args, _: policy_document.get_policy_document(args),
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": _registry_login,
    "aws:ecr/getCredentials:getCredentials": _registry_login,
    "aws:eks/getClusterAuth:getClusterAuth": _cluster_auth,
    "aws:autoscaling/getGroup:getGroup": _autoscaling_group,
}
"""Invoke token -> answer; tokens named in the issue's survey of real programs, plus those this project calls."""


class NoAnswer(LookupError):
    """The preview has no answer for an invoke; the message is one line naming the token and the way to add one."""

    def __init__(self, token: str) -> None:
        super().__init__(
            f"the offline preview has no answer for the invoke {token}; supply one with --invoke-answers FILE, "
            f'a JSON object such as {{"{token}": {{"<camelCaseField>": ...}}}}'
        )
        self.token = token


class UnknownField(NoAnswer):
    """An --invoke-answers field the invoke's result type does not declare (a misspelling would otherwise be dropped
    silently and the built-in or empty value used)."""

    def __init__(self, token: str, field: str, declared: Mapping[str, Any]) -> None:
        close = difflib.get_close_matches(field, sorted(declared), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (it has {', '.join(sorted(declared))})"
        LookupError.__init__(self, f"--invoke-answers: {token} has no result field {field!r}{hint}")
        self.token = token


def answer(token: str, args: Mapping[str, Any], place: Place, extra: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The result of the invoke `token`: built-in answer, overlaid by `extra[token]`, shaped after the SDK's type."""
    built_in = BUILT_IN.get(token)
    if built_in is None and token not in extra:
        raise NoAnswer(token)
    declared = sdk_shapes.invoke_result_types(token)
    given = extra.get(token) or {}
    for field in sorted(given) if declared else ():
        if field not in declared:
            raise UnknownField(token, field, declared)
    result = built_in(args, place) if built_in is not None else {}
    result.update(given)
    if not declared:
        return result
    # Args the result type also declares (filters, tags, owners...) come back as the provider returns them.
    for key, value in args.items():
        if key in declared and key not in result:
            result[key] = value
    for key, field_type in declared.items():
        if result.get(key) is None:
            result[key] = sdk_shapes.empty_value(field_type)
    return sdk_shapes.shape_fields({key: value for key, value in result.items() if value is not None}, declared)
