"""Private networking for the function: subnets with no route to the internet, and private paths to AWS.

Secrets Manager is reached through an interface endpoint with private DNS (so the SDK's default hostname
resolves to it) and DynamoDB through a gateway endpoint. In a VPC this component creates, both carry endpoint
policies limited to the one secret and the one table. Calling a third-party API needs internet egress, which only
the explicit NAT option adds: without it the function reaches AWS privately and nothing else.

An adopted (`existing`) VPC is shared with other workloads, and an endpoint serves the whole VPC: private DNS sends
every Secrets Manager call in the VPC to the interface endpoint, and a gateway endpoint takes over DynamoDB routes on
its route tables. So in that mode the component uses endpoints the VPC already has when named, and gives the ones it
creates AWS's default (full-access) policy and a security group open to HTTPS from the whole VPC range: a one-secret,
one-table policy would deny every other workload there. The execution role's policy and the secret's resource policy
still confine the function.
"""

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws_context import AwsContext
from components.grants import SECRET_READ_ACTIONS, TABLE_WRITE_ACTIONS
from components.iam import PolicyDocument, Principal, Statement

NETWORK_TAG_KEY = "keyless-ingest-network"
"""Tag on the function's own private subnets and security group, and on nothing else (not the public subnet, not the
endpoint's security group). The execution role may attach network interfaces only to resources carrying it, since
their ids are not known when the role's policy is written."""
MEMBER_TAG_KEY = "keyless-ingest-network-member"
"""Tag on every resource of the network, for finding and costing them; grants nothing."""

HTTPS = 443


class NetworkMode(StrEnum):
    """Whether PrivateNetwork builds the VPC or adopts one."""

    CREATE = "create"
    """Create a VPC with two private subnets."""
    EXISTING = "existing"
    """Adopt an existing VPC and its private subnets."""


class PrivateNetworkArgs(TypedDict):
    """Inputs of PrivateNetwork."""

    context: NotRequired[AwsContext]
    """Partition, region and account. Default: read through this component's provider."""
    mode: NetworkMode
    """`create` a VPC with two private subnets, or adopt an `existing` VPC and its subnets."""
    secret_arn_pattern: str
    """The one secret the Secrets Manager endpoint lets through."""
    table_arn: str
    """The one table the DynamoDB endpoint lets through."""
    allowed_principal_arns: Sequence[str]
    """The roles allowed to use the endpoints (the function's execution role)."""
    vpc_cidr: NotRequired[str]
    """`create` only: the VPC's private range, /16 to /22. Default 10.42.0.0/16."""
    enable_nat_gateway: NotRequired[bool]
    """`create` only: add a public subnet, internet gateway and NAT gateway so the function can call the
    third-party API. Default False."""
    vpc_id: NotRequired[str]
    """`existing` only: the VPC to adopt."""
    subnet_ids: NotRequired[Sequence[str]]
    """`existing` only: private subnets (two or more, in different AZs) for the function and the endpoint."""
    route_table_ids: NotRequired[Sequence[str]]
    """`existing` only: the route tables of those subnets, for the DynamoDB gateway endpoint."""
    secrets_manager_endpoint_id: NotRequired[str | None]
    """`existing` only: the VPC's Secrets Manager interface endpoint (private DNS on) to use instead of creating
    one. Left as it is: no policy or security group change. Its group must admit HTTPS from the function."""
    dynamodb_endpoint_id: NotRequired[str | None]
    """`existing` only: the VPC's DynamoDB gateway endpoint, already on `route_table_ids`, to use instead of
    creating one. Left as it is."""
    placement_tag_value: NotRequired[str]
    """Value of the placement tag (NETWORK_TAG_KEY) on the function's subnets and security group. It must differ
    between stacks in one account, or one stack's execution role could place interfaces in another's subnets.
    Default `<project>-<stack>-<name>`."""


class FunctionPlacement(TypedDict):
    """Where a function runs in the network. PrivateNetwork's `placement` builds it for its own subnets."""

    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets for the function's network interfaces."""
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Security groups of the function."""
    network_tag_value: str
    """Value of the `keyless-ingest-network` tag on those security groups, and on the subnets unless `subnet_arns`
    names them: the execution role may create network interfaces only in resources carrying it (their ids are not
    known when the role's policy is written). A PrivateNetwork tags its function subnets and security group with its
    `placement_tag_value`."""
    subnet_arns: NotRequired[Sequence[str]]
    """Exact ARNs of the subnets when their ids are known at preview; the grant then names them instead of the tag."""


def create_interface_statements(placement: FunctionPlacement, context: AwsContext) -> tuple[Statement, ...]:
    """The narrowest ec2:CreateNetworkInterface grant that lets a function run in `placement`."""
    tagged = {"StringEquals": {f"aws:ResourceTag/{NETWORK_TAG_KEY}": placement["network_tag_value"]}}
    subnet_arns = tuple(placement.get("subnet_arns", ()))
    # CreateNetworkInterface is authorised against each resource it touches: the new interface (whose id
    # cannot exist yet, hence network-interface/*), the subnet and the security groups.
    statements = [
        Statement(
            sid="CreateInterfaces",
            actions=("ec2:CreateNetworkInterface",),
            resources=(context.arn("ec2", "network-interface/*"),),
        ),
        Statement(
            sid="CreateInterfacesWithOwnSecurityGroups",
            actions=("ec2:CreateNetworkInterface",),
            resources=(context.arn("ec2", "security-group/*"),),
            conditions=tagged,
        ),
    ]
    if subnet_arns:
        statements.append(
            Statement(
                sid="CreateInterfacesInOwnSubnets", actions=("ec2:CreateNetworkInterface",), resources=subnet_arns
            )
        )
    else:
        statements.append(
            Statement(
                sid="CreateInterfacesInOwnSubnets",
                actions=("ec2:CreateNetworkInterface",),
                resources=(context.arn("ec2", "subnet/*"),),
                conditions=tagged,
            )
        )
    return tuple(statements)


class PrivateNetwork(pulumi.ComponentResource):
    """Private subnets for the function, with private paths to Secrets Manager and DynamoDB limited to one secret and
    one table, and internet egress only through the explicit NAT option."""

    vpc_id: pulumi.Output[str]
    """The VPC the function runs in."""
    subnet_ids: pulumi.Output[list[str]]
    """The private subnets of the function and the Secrets Manager endpoint."""
    lambda_security_group_id: pulumi.Output[str]
    """Security group of the function: egress HTTPS only."""
    endpoint_security_group_id: pulumi.Output[str] | None
    """Security group of the Secrets Manager endpoint this component creates (ingress HTTPS from the function only,
    or from the whole VPC range in an adopted VPC); None when an existing endpoint is used."""
    secrets_manager_endpoint_id: pulumi.Output[str]
    """The interface endpoint for Secrets Manager: the one the secret's perimeter admits."""
    dynamodb_endpoint_id: pulumi.Output[str]
    """The gateway endpoint for DynamoDB: the one the table writes' perimeter admits."""
    nat_gateway_id: pulumi.Output[str] | None
    """The NAT gateway, when the option is on (absent otherwise)."""
    placement_tag_value: pulumi.Output[str]
    """Value of the placement tag on the function's subnets and security group: a LeastPrivilegeFunction's
    `placement.networkTagValue` (give the same literal, since that input is plain)."""

    def __init__(self, name: str, args: PrivateNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:PrivateNetwork", name, None, opts)
        self._name = name
        self._context = AwsContext.resolve(args.get("context"), parent=self)
        self._child = pulumi.ResourceOptions(parent=self)
        self._tags = {MEMBER_TAG_KEY: name}
        tag_value = args.get("placement_tag_value") or f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
        self._placement_tags = {**self._tags, NETWORK_TAG_KEY: tag_value}
        if args["mode"] != "existing" and (args.get("secrets_manager_endpoint_id") or args.get("dynamodb_endpoint_id")):
            raise ValueError(
                f"PrivateNetwork {name}: secrets_manager_endpoint_id and dynamodb_endpoint_id apply only to mode "
                "'existing'; in mode 'create' the VPC is new and has no endpoints"
            )

        if args["mode"] == "create":
            vpc_cidr = require_private_cidr(args.get("vpc_cidr", "10.42.0.0/16"))
            vpc = self._create_vpc(vpc_cidr, enable_nat=args.get("enable_nat_gateway", False))
        elif args["mode"] == "existing":
            if args.get("enable_nat_gateway"):
                raise ValueError(
                    f"PrivateNetwork {name}: enable_nat_gateway applies only to mode 'create'; an existing VPC "
                    "keeps its own routing"
                )
            vpc = self._adopt_vpc(args)
        else:
            raise ValueError(f"PrivateNetwork {name}: mode must be 'create' or 'existing', got {args['mode']!r}")
        self.vpc_id, self.subnet_ids, self.nat_gateway_id = vpc.vpc_id, vpc.subnet_ids, vpc.nat_gateway_id
        vpc_cidr, subnet_arns = vpc.cidr, vpc.subnet_arns

        internet_egress = args.get("enable_nat_gateway", False)
        lambda_sg = self._lambda_security_group(vpc_cidr, internet_egress=internet_egress)
        # Only a VPC this component creates is the function's alone; see the module docstring.
        owns_vpc = args["mode"] == "create"
        readers = tuple(args["allowed_principal_arns"])
        self.endpoint_security_group_id = None
        existing_sm = args.get("secrets_manager_endpoint_id") or None
        if existing_sm:
            self.secrets_manager_endpoint_id = pulumi.Output.from_input(existing_sm)
        else:
            endpoint_sg = self._endpoint_security_group(lambda_sg, None if owns_vpc else vpc_cidr)
            self.endpoint_security_group_id = endpoint_sg.id
            self.secrets_manager_endpoint_id = aws.ec2.VpcEndpoint(
                f"{name}-secretsmanager",
                vpc_id=self.vpc_id,
                vpc_endpoint_type="Interface",
                service_name=self._context.service_endpoint("secretsmanager"),
                private_dns_enabled=True,
                subnet_ids=self.subnet_ids,
                security_group_ids=[endpoint_sg.id],
                policy=(
                    _endpoint_policy(SECRET_READ_ACTIONS, args["secret_arn_pattern"], readers).to_json()
                    if owns_vpc
                    else None
                ),
                tags=self._tags,
                opts=self._child,
            ).id
        existing_dynamodb = args.get("dynamodb_endpoint_id") or None
        if existing_dynamodb:
            self.dynamodb_endpoint_id = pulumi.Output.from_input(existing_dynamodb)
        else:
            self.dynamodb_endpoint_id = aws.ec2.VpcEndpoint(
                f"{name}-dynamodb",
                vpc_id=self.vpc_id,
                vpc_endpoint_type="Gateway",
                service_name=self._context.service_endpoint("dynamodb"),
                route_table_ids=vpc.route_table_ids,
                policy=(
                    _endpoint_policy(TABLE_WRITE_ACTIONS, args["table_arn"], readers).to_json() if owns_vpc else None
                ),
                tags=self._tags,
                opts=self._child,
            ).id

        self.lambda_security_group_id = lambda_sg.id
        self._placement = FunctionPlacement(
            subnet_ids=self.subnet_ids,
            security_group_ids=[lambda_sg.id],
            network_tag_value=tag_value,
            subnet_arns=subnet_arns,
        )
        self.placement_tag_value = pulumi.Output.from_input(tag_value)
        outputs: dict[str, pulumi.Output[str] | pulumi.Output[list[str]]] = {
            "placementTagValue": self.placement_tag_value,
            "vpcId": self.vpc_id,
            "subnetIds": self.subnet_ids,
            "lambdaSecurityGroupId": self.lambda_security_group_id,
            "secretsManagerEndpointId": self.secrets_manager_endpoint_id,
            "dynamodbEndpointId": self.dynamodb_endpoint_id,
        }
        if self.endpoint_security_group_id is not None:
            outputs["endpointSecurityGroupId"] = self.endpoint_security_group_id
        if self.nat_gateway_id is not None:
            outputs["natGatewayId"] = self.nat_gateway_id
        self.register_outputs(outputs)

    @property
    def placement(self) -> FunctionPlacement:
        """Python only (not in the package schema): what LeastPrivilegeFunction needs to run here. From another
        language, pass `subnetIds`, `[lambdaSecurityGroupId]` and the network's `placementTagValue`."""
        return self._placement

    def _create_vpc(self, vpc_cidr: str, *, enable_nat: bool) -> "_Vpc":
        """Create the VPC, its private subnets and, with `enable_nat`, the NAT gateway."""
        name, child = self._name, self._child
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=vpc_cidr,
            enable_dns_support=True,
            # Private DNS on an interface endpoint needs both DNS attributes on the VPC.
            enable_dns_hostnames=True,
            tags={**self._tags, "Name": name},
            opts=child,
        )
        zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(parent=self)).names
        if len(zones) < 2:
            raise ValueError(f"PrivateNetwork {name}: the region has fewer than two available zones")
        ranges = list(ipaddress.ip_network(vpc_cidr).subnets(prefixlen_diff=2))
        route_table = aws.ec2.RouteTable(f"{name}-private", vpc_id=vpc.id, tags=self._tags, opts=child)
        subnets = []
        for index, zone in enumerate(zones[:2]):
            subnets.append(
                self._subnet(f"{name}-private-{index}", vpc, str(ranges[index]), zone, route_table, for_function=True)
            )
        return _Vpc(
            vpc_id=vpc.id,
            subnet_ids=pulumi.Output.all(*[subnet.id for subnet in subnets]),
            route_table_ids=[route_table.id],
            cidr=vpc_cidr,
            # The subnet ids are computed, so the role's grant names the subnets by tag instead.
            subnet_arns=(),
            nat_gateway_id=self._add_nat_gateway(vpc, route_table, str(ranges[2]), zones[0]) if enable_nat else None,
        )

    def _add_nat_gateway(
        self, vpc: aws.ec2.Vpc, private_routes: aws.ec2.RouteTable, cidr: str, zone: str
    ) -> pulumi.Output[str]:
        name, child = self._name, self._child
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=self._tags, opts=child)
        public_routes = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags=self._tags, opts=child)
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
            opts=child,
        )
        public = self._subnet(f"{name}-public", vpc, cidr, zone, public_routes, for_function=False)
        address = aws.ec2.Eip(f"{name}-nat", domain="vpc", tags=self._tags, opts=child)
        nat = aws.ec2.NatGateway(
            f"{name}-nat",
            subnet_id=public.id,
            allocation_id=address.id,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )
        aws.ec2.Route(
            f"{name}-private-default",
            route_table_id=private_routes.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
            opts=child,
        )
        return nat.id

    def _subnet(
        self, name: str, vpc: aws.ec2.Vpc, cidr: str, zone: str, routes: aws.ec2.RouteTable, *, for_function: bool
    ) -> aws.ec2.Subnet:
        """A subnet in one zone, associated with `routes`; nothing in it gets a public address on launch. Only a
        subnet `for_function` carries the tag that lets the execution role place interfaces in it."""
        subnet = aws.ec2.Subnet(
            name,
            vpc_id=vpc.id,
            cidr_block=cidr,
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={**(self._placement_tags if for_function else self._tags), "Name": f"{name}-{zone}"},
            opts=self._child,
        )
        aws.ec2.RouteTableAssociation(name, subnet_id=subnet.id, route_table_id=routes.id, opts=self._child)
        return subnet

    def _adopt_vpc(self, args: PrivateNetworkArgs) -> "_Vpc":
        """Check and adopt an existing VPC and its private subnets; its range is read with an invoke."""
        vpc_id = args.get("vpc_id", "")
        subnet_ids = list(args.get("subnet_ids", ()))
        route_table_ids = list(args.get("route_table_ids", ()))
        if not vpc_id:
            raise ValueError(f"PrivateNetwork {self._name}: mode 'existing' needs vpc_id")
        if len(subnet_ids) < 2:
            raise ValueError(
                f"PrivateNetwork {self._name}: mode 'existing' needs at least two subnet_ids in different AZs, "
                f"got {len(subnet_ids)}"
            )
        if not route_table_ids:
            raise ValueError(
                f"PrivateNetwork {self._name}: mode 'existing' needs route_table_ids for the DynamoDB endpoint"
            )
        vpc = aws.ec2.get_vpc(id=vpc_id, opts=pulumi.InvokeOptions(parent=self))
        return _Vpc(
            vpc_id=pulumi.Output.from_input(vpc_id),
            subnet_ids=pulumi.Output.from_input(subnet_ids),
            route_table_ids=route_table_ids,
            cidr=vpc.cidr_block,
            subnet_arns=tuple(self._context.arn("ec2", f"subnet/{subnet}") for subnet in subnet_ids),
            nat_gateway_id=None,
        )

    def _lambda_security_group(self, vpc_cidr: str, *, internet_egress: bool) -> aws.ec2.SecurityGroup:
        if internet_egress:
            egress = [_https_rule("HTTPS to the third-party API through the NAT gateway", cidr="0.0.0.0/0")]
        else:
            # No internet route: HTTPS to the interface endpoints inside the VPC and to DynamoDB's prefix list.
            dynamodb = aws.ec2.get_prefix_list(
                name=self._context.service_endpoint("dynamodb"), opts=pulumi.InvokeOptions(parent=self)
            )
            egress = [
                _https_rule("HTTPS to interface endpoints in the VPC", cidr=vpc_cidr),
                _https_rule("HTTPS to DynamoDB through the gateway endpoint", prefix_list_id=dynamodb.id),
            ]
        return aws.ec2.SecurityGroup(
            f"{self._name}-lambda",
            description="keyless-ingest function: egress HTTPS only",
            vpc_id=self.vpc_id,
            ingress=[],
            egress=egress,
            tags=self._placement_tags,
            opts=self._child,
        )

    def _endpoint_security_group(
        self, lambda_sg: aws.ec2.SecurityGroup, shared_vpc_cidr: str | None
    ) -> aws.ec2.SecurityGroup:
        """HTTPS from the function only; in a shared VPC (`shared_vpc_cidr`) from the whole range, since private
        DNS sends every Secrets Manager call in the VPC to this endpoint."""
        if shared_vpc_cidr is None:
            description = "Secrets Manager endpoint: HTTPS from the function only"
            ingress: aws.ec2.SecurityGroupIngressArgsDict = {
                "description": "HTTPS from the function's security group",
                "protocol": "tcp",
                "from_port": HTTPS,
                "to_port": HTTPS,
                "security_groups": [lambda_sg.id],
            }
        else:
            description = "Secrets Manager endpoint: HTTPS from the VPC, whose calls its private DNS receives"
            ingress = {
                "description": "HTTPS from every workload in the VPC",
                "protocol": "tcp",
                "from_port": HTTPS,
                "to_port": HTTPS,
                "cidr_blocks": [shared_vpc_cidr],
            }
        return aws.ec2.SecurityGroup(
            f"{self._name}-endpoint",
            description=description,
            vpc_id=self.vpc_id,
            ingress=[ingress],
            # Security groups are stateful: replies need no egress rule, so the endpoint gets none.
            egress=[],
            tags=self._tags,
            opts=self._child,
        )


@dataclass(frozen=True)
class _Vpc:
    """The VPC the function runs in, created or adopted."""

    vpc_id: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]
    route_table_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    cidr: str
    subnet_arns: tuple[str, ...]
    """Exact subnet ARNs when the ids are known at preview (adopted subnets); empty otherwise."""
    nat_gateway_id: pulumi.Output[str] | None


def _https_rule(
    description: str, *, cidr: str | None = None, prefix_list_id: str | None = None
) -> aws.ec2.SecurityGroupEgressArgsDict:
    rule: aws.ec2.SecurityGroupEgressArgsDict = {
        "description": description,
        "protocol": "tcp",
        "from_port": HTTPS,
        "to_port": HTTPS,
    }
    if cidr is not None:
        rule["cidr_blocks"] = [cidr]
    if prefix_list_id is not None:
        rule["prefix_list_ids"] = [prefix_list_id]
    return rule


def _endpoint_policy(actions: tuple[str, ...], resource: str, principals: tuple[str, ...]) -> PolicyDocument:
    # Endpoint policies take Principal "*" (gateway endpoints accept nothing else); the condition names the roles.
    return PolicyDocument(
        (
            Statement(
                sid="OnlyThisResourceForTheseRoles",
                principal=Principal.anyone(),
                actions=actions,
                resources=(resource,),
                conditions={"StringEquals": {"aws:PrincipalArn": principals}},
            ),
        )
    )


def require_private_cidr(cidr: str, *, setting: str = "vpc_cidr") -> str:
    """Return the normalised range if it can hold the VPC; otherwise raise naming the setting."""
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError as exc:
        raise ValueError(f"{setting}: {cidr!r} is not a network in CIDR notation") from exc
    if not network.is_private or network.version != 4 or not 16 <= network.prefixlen <= 22:
        raise ValueError(f"{setting}: {cidr!r} must be a private IPv4 range between /16 and /22")
    return str(network)
