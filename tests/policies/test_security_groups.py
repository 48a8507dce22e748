"""vpc-endpoint-sg-https-only reads every way a rule reaches the endpoint, and computes "the whole internet" by CIDR
coverage rather than matching a literal list, through the pack process."""

from __future__ import annotations

import pytest

from keyless_guard.network import covers_every_address
from mock_engine.recorded import RecordedResource
from tests.policies.builders import UNKNOWN, found, res
from tests.policies.test_services import network

RULE = "vpc-endpoint-sg-https-only"
HTTPS = {"protocol": "tcp", "fromPort": 443, "toPort": 443}


@pytest.mark.parametrize(
    ("cidrs", "everything"),
    [
        (["0.0.0.0/0"], True),
        (["0.0.0.0/1", "128.0.0.0/1"], True),
        (["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"], True),
        (["0.0.0.1/0"], True),  # host bits do not narrow a /0
        (["::/0"], True),
        (["::/1", "8000::/1"], True),
        (["0.0.0.0/1"], False),
        (["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], False),
        (["0.0.0.0/1", "128.0.0.0/2"], False),
        (["::/1", "0.0.0.0/1"], False),  # half of each family is not all of either
        ([], False),
    ],
)
def test_coverage(cidrs, everything):
    assert covers_every_address(cidrs) is everything


def endpoint_sg(resources: list[RecordedResource]) -> RecordedResource:
    return next(r for r in resources if r.name == "endpoint-sg")


@pytest.mark.parametrize(
    ("rule", "bad"),
    [
        ({**HTTPS, "cidrBlocks": ["0.0.0.0/1", "128.0.0.0/1"]}, True),
        ({**HTTPS, "ipv6CidrBlocks": ["::/1", "8000::/1"]}, True),
        ({**HTTPS, "cidrBlocks": ["0.0.0.0/1"]}, False),
        ({**HTTPS, "cidrBlocks": ["10.0.0.0/8", "100.64.0.0/10"]}, False),
    ],
)
def test_inline_rules_by_coverage(pack, rule, bad):
    assert found(pack, *network(ingress=[rule]), policy=RULE) == ({(RULE, "endpoint-sg")} if bad else set())


def split_rules(resources: list[RecordedResource], second_cidr: str) -> list[RecordedResource]:
    group = endpoint_sg(resources)
    first = res(
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "low-half",
        {"type": "ingress", "securityGroupId": UNKNOWN, **HTTPS, "cidrBlocks": ["0.0.0.0/1"]},
        prop_deps={"securityGroupId": [group]},
    )
    second = res(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "high-half",
        {"securityGroupId": UNKNOWN, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": second_cidr},
        prop_deps={"securityGroupId": [group]},
    )
    return [*resources, first, second]


def test_separate_rules_that_together_cover_the_internet_fail(pack):
    whole = split_rules(network(ingress=[]), "128.0.0.0/1")
    partial = split_rules(network(ingress=[]), "10.0.0.0/8")
    assert found(pack, *whole, policy=RULE) == {(RULE, "endpoint-sg")}
    assert found(pack, *partial, policy=RULE) == set()


def test_a_security_group_rule_resource_opening_other_ports_fails(pack):
    resources = network(ingress=[])
    ssh = res(
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "ssh",
        {"type": "ingress", "securityGroupId": UNKNOWN, "protocol": "tcp", "fromPort": 22, "toPort": 22},
        prop_deps={"securityGroupId": [endpoint_sg(resources)]},
    )
    egress = res(
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "egress",
        {"type": "egress", "securityGroupId": UNKNOWN, "protocol": "-1", "fromPort": 0, "toPort": 0},
        prop_deps={"securityGroupId": [endpoint_sg(resources)]},
    )
    assert found(pack, *resources, ssh, policy=RULE) == {(RULE, "endpoint-sg")}
    assert found(pack, *resources, egress, policy=RULE) == set()


def associated(resources: list[RecordedResource], ingress: list[dict[str, object]]) -> list[RecordedResource]:
    """An extra group attached to the endpoint with aws.ec2.SecurityGroupAssociation."""
    vpc = next(r for r in resources if r.name == "vpc")
    endpoint = next(r for r in resources if r.name == "secretsmanager")
    extra = res(
        "aws:ec2/securityGroup:SecurityGroup",
        "extra-sg",
        {"vpcId": UNKNOWN, "ingress": ingress},
        prop_deps={"vpcId": [vpc]},
    )
    association = res(
        "aws:ec2/securityGroupAssociation:SecurityGroupAssociation",
        "extra-association",
        {"vpcEndpointId": UNKNOWN, "securityGroupId": UNKNOWN},
        prop_deps={"vpcEndpointId": [endpoint], "securityGroupId": [extra]},
    )
    return [*resources, extra, association]


def test_groups_attached_through_an_association_are_read(pack):
    """aws.ec2.SecurityGroupAssociation adds a group to an interface endpoint besides its securityGroupIds
    (https://www.pulumi.com/registry/packages/aws/api-docs/ec2/securitygroupassociation/)."""
    opened = associated(network(), [{**HTTPS, "cidrBlocks": ["0.0.0.0/0"]}])
    tight = associated(network(), [{**HTTPS, "cidrBlocks": ["10.0.0.0/16"]}])
    assert found(pack, *opened, policy=RULE) == {(RULE, "extra-sg")}
    assert found(pack, *tight, policy=RULE) == set()
