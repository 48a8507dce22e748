import re

import pytest

from components.aws_context import AwsContext
from components.private_network import (
    MEMBER_TAG_KEY,
    NETWORK_TAG_KEY,
    NetworkMode,
    PrivateNetwork,
    PrivateNetworkArgs,
    create_interface_statements,
)
from tests.stack_inspection import ACCOUNT, REGION, build_error, document, of_type, only, run_components, statements

CONTEXT = AwsContext("aws", REGION, ACCOUNT)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/fn-exec"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:team/api-key-??????"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/readings"


def network_args(**overrides) -> PrivateNetworkArgs:
    args: PrivateNetworkArgs = {
        "context": CONTEXT,
        "mode": NetworkMode.CREATE,
        "secret_arn_pattern": SECRET,
        "table_arn": TABLE,
        "allowed_principal_arns": [ROLE],
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


EXISTING = {
    "mode": NetworkMode.EXISTING,
    "vpc_id": "vpc-0123456789abcdef0",
    "subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    "route_table_ids": ["rtb-0cccccccccccccccc"],
}


@pytest.fixture(scope="module")
def created():
    return run_components(lambda: PrivateNetwork("net", network_args()), first_preview=True)


def test_create_mode_builds_two_private_subnets_in_two_zones_and_no_route_to_the_internet(created):
    subnets = of_type(created, "aws:ec2/subnet:Subnet")

    assert {s.inputs["availabilityZone"] for s in subnets} == {f"{REGION}a", f"{REGION}b"}
    assert {s.inputs["cidrBlock"] for s in subnets} == {"10.42.0.0/18", "10.42.64.0/18"}
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    # The default tag value is stack-qualified (project, stack, component name).
    assert all(s.inputs["tags"][NETWORK_TAG_KEY] == "keyless-ingest-test-net" for s in subnets)
    tagged_for_the_function = {r.name for r in created.resources if NETWORK_TAG_KEY in r.inputs.get("tags", {})}
    assert tagged_for_the_function == {"net-private-0", "net-private-1", "net-lambda"}
    endpoint_sg = only(created, "aws:ec2/securityGroup:SecurityGroup", "net-endpoint")
    assert endpoint_sg.inputs["tags"] == {MEMBER_TAG_KEY: "net"}
    assert of_type(created, "aws:ec2/internetGateway:InternetGateway") == []
    assert of_type(created, "aws:ec2/natGateway:NatGateway") == []
    assert of_type(created, "aws:ec2/route:Route") == []
    vpc = only(created, "aws:ec2/vpc:Vpc")
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


def test_secrets_manager_endpoint_is_private_dns_behind_its_own_security_group(created):
    endpoint = only(created, "aws:ec2/vpcEndpoint:VpcEndpoint", "net-secretsmanager")
    endpoint_sg = only(created, "aws:ec2/securityGroup:SecurityGroup", "net-endpoint")

    assert endpoint.inputs["vpcEndpointType"] == "Interface"
    assert endpoint.inputs["serviceName"] == f"com.amazonaws.{REGION}.secretsmanager"
    assert endpoint.inputs["privateDnsEnabled"] is True
    assert endpoint.property_dependencies["securityGroupIds"] == (endpoint_sg.urn,)


def test_endpoint_security_group_admits_only_https_from_the_lambda_security_group(created):
    endpoint_sg = only(created, "aws:ec2/securityGroup:SecurityGroup", "net-endpoint")
    lambda_sg = only(created, "aws:ec2/securityGroup:SecurityGroup", "net-lambda")

    (rule,) = endpoint_sg.inputs["ingress"]
    assert (rule["protocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)
    assert len(rule["securityGroups"]) == 1
    assert "cidrBlocks" not in rule
    assert "ipv6CidrBlocks" not in rule
    assert endpoint_sg.property_dependencies["ingress"] == (lambda_sg.urn,)
    assert endpoint_sg.inputs["egress"] == []


def test_lambda_security_group_egress_is_https_only_and_private_without_nat(created):
    lambda_sg = only(created, "aws:ec2/securityGroup:SecurityGroup", "net-lambda")

    assert lambda_sg.inputs["ingress"] == []
    egress = lambda_sg.inputs["egress"]
    assert [(r["protocol"], r["fromPort"], r["toPort"]) for r in egress] == [("tcp", 443, 443)] * 2
    assert egress[0]["cidrBlocks"] == ["10.42.0.0/16"]
    assert egress[1]["prefixListIds"][0].startswith("pl-")
    assert all("0.0.0.0/0" not in r.get("cidrBlocks", []) for r in egress)


def test_endpoint_policies_allow_only_the_one_secret_and_the_one_table_for_the_role(created):
    secrets = statements(document(only(created, "aws:ec2/vpcEndpoint:VpcEndpoint", "net-secretsmanager")))
    dynamodb_endpoint = only(created, "aws:ec2/vpcEndpoint:VpcEndpoint", "net-dynamodb")
    table = statements(document(dynamodb_endpoint))

    (secret_statement,) = secrets.values()
    assert secret_statement["Action"] == ["secretsmanager:GetSecretValue"]
    assert secret_statement["Resource"] == [SECRET]
    assert secret_statement["Condition"] == {"StringEquals": {"aws:PrincipalArn": ROLE}}
    (table_statement,) = table.values()
    assert table_statement["Action"] == ["dynamodb:BatchWriteItem"]
    assert table_statement["Resource"] == [TABLE]
    assert dynamodb_endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert dynamodb_endpoint.property_dependencies["routeTableIds"] == (
        only(created, "aws:ec2/routeTable:RouteTable").urn,
    )


def test_nat_option_adds_a_public_path_and_opens_https_egress():
    run = run_components(lambda: PrivateNetwork("net", network_args(enable_nat_gateway=True)))

    nat = only(run, "aws:ec2/natGateway:NatGateway")
    public = only(run, "aws:ec2/subnet:Subnet", "net-public")
    assert NETWORK_TAG_KEY not in public.inputs["tags"]  # the function may not place interfaces there
    assert nat.property_dependencies["subnetId"] == (public.urn,)
    only(run, "aws:ec2/internetGateway:InternetGateway")
    default_route = only(run, "aws:ec2/route:Route", "net-private-default")
    assert default_route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert default_route.property_dependencies["natGatewayId"] == (nat.urn,)
    (egress,) = only(run, "aws:ec2/securityGroup:SecurityGroup", "net-lambda").inputs["egress"]
    assert (egress["fromPort"], egress["cidrBlocks"]) == (443, ["0.0.0.0/0"])


def test_existing_mode_adopts_the_vpc_and_scopes_interfaces_to_the_exact_subnets():
    networks = []
    run = run_components(lambda: networks.append(PrivateNetwork("net", network_args(**EXISTING))))

    assert of_type(run, "aws:ec2/vpc:Vpc") == []
    assert of_type(run, "aws:ec2/subnet:Subnet") == []
    endpoint = only(run, "aws:ec2/vpcEndpoint:VpcEndpoint", "net-secretsmanager")
    assert endpoint.inputs["vpcId"] == EXISTING["vpc_id"]
    assert endpoint.inputs["subnetIds"] == EXISTING["subnet_ids"]
    assert only(run, "aws:ec2/vpcEndpoint:VpcEndpoint", "net-dynamodb").inputs["routeTableIds"] == [
        "rtb-0cccccccccccccccc"
    ]
    create = {s.sid: s for s in create_interface_statements(networks[0].placement, CONTEXT)}
    assert create["CreateInterfacesInOwnSubnets"].resources == tuple(
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{subnet}" for subnet in EXISTING["subnet_ids"]
    )
    assert create["CreateInterfacesInOwnSubnets"].conditions == {}
    # The adopted VPC is shared: no one-secret / one-table endpoint policy that would deny its other workloads.
    assert all(e.inputs.get("policy") is None for e in of_type(run, "aws:ec2/vpcEndpoint:VpcEndpoint"))


def test_existing_mode_uses_named_endpoints_without_creating_or_changing_any():
    networks: list[PrivateNetwork] = []
    named = {**EXISTING, "secrets_manager_endpoint_id": "vpce-0aaaaaaaaaaaaaaaa", "dynamodb_endpoint_id": "vpce-0b"}
    run = run_components(lambda: networks.append(PrivateNetwork("net", network_args(**named))))

    assert [r.type for r in run.resources if r.type.startswith("aws:ec2/vpcEndpoint")] == []
    assert [g.name for g in of_type(run, "aws:ec2/securityGroup:SecurityGroup")] == ["net-lambda"]
    assert networks[0].endpoint_security_group_id is None


def test_the_placement_tag_value_can_be_given():
    run = run_components(lambda: PrivateNetwork("net", network_args(placement_tag_value="ki-prod-network")))

    tagged = {
        r.name: r.inputs["tags"][NETWORK_TAG_KEY] for r in run.resources if NETWORK_TAG_KEY in r.inputs.get("tags", {})
    }
    assert tagged == {
        "net-private-0": "ki-prod-network",
        "net-private-1": "ki-prod-network",
        "net-lambda": "ki-prod-network",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mode": "hybrid"}, "mode must be 'create' or 'existing', got 'hybrid'"),
        ({**EXISTING, "subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa"]}, "needs at least two subnet_ids"),
        ({**EXISTING, "vpc_id": ""}, "needs vpc_id"),
        ({**EXISTING, "route_table_ids": []}, "needs route_table_ids"),
        ({**EXISTING, "enable_nat_gateway": True}, "enable_nat_gateway applies only to mode 'create'"),
        ({"dynamodb_endpoint_id": "vpce-0b"}, "apply only to mode 'existing'"),
        ({"vpc_cidr": "8.8.0.0/16"}, "must be a private IPv4 range"),
        ({"vpc_cidr": "10.0.0.0/28"}, "between /16 and /22"),
        ({"vpc_cidr": "not-a-cidr"}, "vpc_cidr: 'not-a-cidr' is not a network in CIDR notation"),
    ],
)
def test_bad_network_arguments_fail_with_a_clear_message(overrides, message):
    error = build_error(lambda: PrivateNetwork("net", network_args(**overrides)))
    assert isinstance(error, ValueError)
    assert re.search(message, str(error))
