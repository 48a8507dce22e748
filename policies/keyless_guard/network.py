"""Private networking for functions in a VPC (stack rules).

A resource's VPC is found without reading unknown ids: a literal `vpcId` where the program set one (existing VPC),
else the `aws:ec2/vpc:Vpc` resources it reaches through the engine's dependency graph (function -> subnets and
security groups -> VPC; endpoint -> VPC). Ingress rules are judged on protocol, ports and CIDR blocks only; their
source security groups, unknown at the first preview, are never read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any, Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Resource, Stack, StackReport, stack_rule
from keyless_guard.lambda_env import FUNCTION
from keyless_guard.values import Unknown, as_dict, as_list, known

VPC: Final = "aws:ec2/vpc:Vpc"
ENDPOINT: Final = "aws:ec2/vpcEndpoint:VpcEndpoint"
SECURITY_GROUP: Final = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE: Final = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE: Final = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_ASSOCIATION: Final = "aws:ec2/securityGroupAssociation:SecurityGroupAssociation"
_EVERY_IPV4: Final = ipaddress.IPv4Network("0.0.0.0/0")
_EVERY_IPV6: Final = ipaddress.IPv6Network("::/0")


def _edges(resource: Resource, prop: str) -> tuple[str, ...]:
    """URNs that flowed into `prop`, or all of the resource's dependencies if the engine gave none for it."""
    return resource.property_dependencies.get(prop) or resource.dependencies


def vpc_keys(stack: Stack, resource: Resource, prop: str) -> set[str]:
    """Identities of the VPC(s) `resource` lives in: `id:<literal vpc id>` and URNs of Vpc resources."""
    keys = set()
    for urn in stack.reachable(_edges(resource, prop)) | {resource.urn}:
        found = stack.by_urn(urn)
        if found is None:
            continue
        if found.type == VPC:
            keys.add(found.urn)
        vpc_id = found.props.get("vpcId")
        if isinstance(vpc_id, str) and vpc_id:
            keys.add(f"id:{vpc_id}")
    return keys


def _in_vpc(function: Resource) -> bool:
    """The function is configured into a VPC: it has subnets (listed, or unknown until the VPC exists)."""
    config = function.props.get("vpcConfig")
    subnets = config.get("subnetIds") if isinstance(config, dict) else None
    return isinstance(subnets, Unknown) or (isinstance(subnets, list) and bool(subnets))


def endpoints(stack: Stack, service: str, endpoint_type: str) -> Iterator[Resource]:
    """VPC endpoints for `com.amazonaws.<region>.<service>` of the given type (Interface, Gateway)."""
    for endpoint in stack.of_type(ENDPOINT):
        name = known(endpoint.props.get("serviceName"), "serviceName")
        kind = known(endpoint.props.get("vpcEndpointType") or "Gateway", "vpcEndpointType")
        if isinstance(name, str) and name.endswith(f".{service}") and kind == endpoint_type:
            yield endpoint


def _missing_endpoint(stack: Stack, report: StackReport, service: str, endpoint_type: str, private_dns: bool) -> None:
    candidates = [
        (e, vpc_keys(stack, e, "vpcId"))
        for e in endpoints(stack, service, endpoint_type)
        if not private_dns or known(e.props.get("privateDnsEnabled"), "privateDnsEnabled") is True
    ]

    def judge(function: Resource) -> None:
        if not _in_vpc(function):
            return
        keys = vpc_keys(stack, function, "vpcConfig")
        if not keys:
            report(
                "Cannot tell which VPC this function runs in (no literal vpcId, no subnet, security group or "
                "VPC of this stack behind vpcConfig), so its endpoints cannot be checked.",
                function.urn,
            )
        elif not any(keys & endpoint_keys for _, endpoint_keys in candidates):
            dns = " with private DNS enabled" if private_dns else ""
            report(
                f"This function runs in a VPC with no {service} {endpoint_type} endpoint{dns} in that VPC.",
                function.urn,
            )

    stack.judge_each(stack.of_type(FUNCTION), judge)


@stack_rule(
    name="vpc-secretsmanager-endpoint",
    description="A function in a VPC needs a Secrets Manager interface endpoint with private DNS in that VPC.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Add an aws.ec2.VpcEndpoint (Interface, com.amazonaws.<region>.secretsmanager, privateDnsEnabled).",
    equivalent="none in Checkov or cdk-nag",
)
def secretsmanager_endpoint(stack: Stack, report: StackReport) -> None:
    _missing_endpoint(stack, report, "secretsmanager", "Interface", private_dns=True)


@stack_rule(
    name="vpc-dynamodb-gateway-endpoint",
    description="A function in a VPC should reach DynamoDB through a gateway endpoint in that VPC.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    remediation="Add an aws.ec2.VpcEndpoint (Gateway, com.amazonaws.<region>.dynamodb) on the private route tables.",
    equivalent="none in Checkov or cdk-nag",
)
def dynamodb_gateway_endpoint(stack: Stack, report: StackReport) -> None:
    _missing_endpoint(stack, report, "dynamodb", "Gateway", private_dns=False)


def _ingress_rules(stack: Stack, group: Resource) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, rule) for the group's inline ingress and the separate rule resources attached to it."""
    for index, rule in enumerate(as_list(group.props.get("ingress"), "ingress")):
        yield f"ingress[{index}]", as_dict(rule, "ingress", index)
    for rule in stack.of_type(SG_RULE, SG_INGRESS_RULE):
        if group.urn in _edges(rule, "securityGroupId") and (
            rule.type == SG_INGRESS_RULE or known(rule.props.get("type"), "type") == "ingress"
        ):
            yield f"rule {rule.name}", rule.props


def _cidrs(rule: dict[str, Any]) -> list[str]:
    return [
        *as_list(rule.get("cidrBlocks"), "cidrBlocks"),
        *as_list(rule.get("ipv6CidrBlocks"), "ipv6CidrBlocks"),
        *as_list(rule.get("cidrIpv4"), "cidrIpv4"),
        *as_list(rule.get("cidrIpv6"), "cidrIpv6"),
    ]


def _networks(cidrs: Iterable[Any]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Parsed CIDR blocks (host bits ignored); raises ValueError naming a block that is not one."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(str(known(cidr, "cidrBlocks")).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"'{cidr}' is not a CIDR block") from exc
    return networks


def covers_every_address(cidrs: Iterable[Any]) -> bool:
    """True when the blocks together cover all of IPv4 or all of IPv6 (`0.0.0.0/1` + `128.0.0.0/1` is `0.0.0.0/0`)."""
    networks = _networks(cidrs)
    ipv4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    ipv6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    return list(ipaddress.collapse_addresses(ipv4)) == [_EVERY_IPV4] or list(ipaddress.collapse_addresses(ipv6)) == [
        _EVERY_IPV6
    ]


def ingress_problem(rule: dict[str, Any]) -> str | None:
    """What makes an ingress rule more than HTTPS from inside, reading only protocol, ports and CIDR fields."""
    protocol = str(known(rule.get("protocol", rule.get("ipProtocol")), "protocol")).lower()
    ports = (known(rule.get("fromPort"), "fromPort"), known(rule.get("toPort"), "toPort"))
    if protocol not in ("tcp", "6") or any(p != 443 for p in ports):
        return "admits more than TCP 443"
    if covers_every_address(_cidrs(rule)):
        return "admits the whole internet (its CIDR blocks cover every IPv4 or IPv6 address)"
    return None


def endpoint_groups(stack: Stack, endpoint: Resource) -> tuple[list[Resource], bool]:
    """The stack's security groups on `endpoint` (its securityGroupIds and SecurityGroupAssociations), and whether
    any group on it is not a resource of this stack."""
    urns = list(endpoint.property_dependencies.get("securityGroupIds", ()))
    foreign = bool(endpoint.props.get("securityGroupIds")) and not urns
    for association in stack.of_type(SG_ASSOCIATION):
        if endpoint.urn in _edges(association, "vpcEndpointId"):
            group_urns = association.property_dependencies.get("securityGroupId", ())
            foreign = foreign or not group_urns
            urns.extend(group_urns)
    groups = [g for g in (stack.by_urn(u) for u in dict.fromkeys(urns)) if g is not None and g.type == SECURITY_GROUP]
    return groups, foreign


@stack_rule(
    name="vpc-endpoint-sg-https-only",
    description="The Secrets Manager endpoint's security groups admit only TCP 443, never from 0.0.0.0/0 or ::/0.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Give the endpoint its own security group whose only ingress is TCP 443 from the Lambda group.",
    equivalent="CKV_AWS_24 / CKV_AWS_25 / CKV_AWS_260 (open ingress); cdk-nag AwsSolutions-EC23",
)
def endpoint_sg_https_only(stack: Stack, report: StackReport) -> None:
    stack.judge_each(endpoints(stack, "secretsmanager", "Interface"), partial(_judge_endpoint_groups, stack, report))


def _judge_endpoint_groups(stack: Stack, report: StackReport, endpoint: Resource) -> None:
    groups, foreign = endpoint_groups(stack, endpoint)
    if not groups:
        reason = "uses security groups not defined in this stack" if foreign else "has no security group"
        report(f"This endpoint {reason}, so its ingress cannot be checked.", endpoint.urn)
    for group in groups:
        rules = list(_ingress_rules(stack, group))
        problems = [(where, ingress_problem(rule)) for where, rule in rules]
        for where, problem in problems:
            if problem:
                report(f"Security group {group.name} {where} {problem}; the endpoint needs TCP 443 only.", group.urn)
        every_cidr = [cidr for _, rule in rules for cidr in _cidrs(rule)]
        if not any(problem for _, problem in problems) and covers_every_address(every_cidr):
            report(
                f"Security group {group.name}'s ingress rules together admit the whole internet (their CIDR "
                "blocks cover every IPv4 or IPv6 address); the endpoint needs TCP 443 from the function's group.",
                group.urn,
            )
