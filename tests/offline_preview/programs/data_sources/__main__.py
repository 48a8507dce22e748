import pulumi
import pulumi_aws as aws

ami = aws.ec2.get_ami(
    most_recent=True,
    owners=["amazon"],
    filters=[{"name": "name", "values": ["al2023-ami-*-x86_64"]}],
)
zone = aws.route53.get_zone(name="example.com.")
stack = aws.cloudformation.get_stack(name="network")
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": ["vpc-0123456789abcdef0"]}])
subnet = aws.ec2.get_subnet(id=subnets.ids[0])
route_table = aws.ec2.get_route_table(subnet_id=subnet.id)
route_tables = aws.ec2.get_route_tables(vpc_id=subnet.vpc_id)
token = aws.ecr.get_authorization_token()
credentials = aws.ecr.get_credentials(registry_id="111122223333")
policy = aws.iam.get_policy(name="ReadOnlyAccess")
cluster_auth = aws.eks.get_cluster_auth(name="platform")
group = aws.autoscaling.get_group(name="workers")
interface = aws.ec2.get_network_interface(id="eni-0123456789abcdef0")
interfaces = aws.ec2.get_network_interfaces(filters=[{"name": "subnet-id", "values": [subnet.id]}])

instance = aws.ec2.Instance(
    "web",
    ami=ami.id,
    instance_type="t3.micro",
    subnet_id=subnet.id,
    tags={"zone": zone.name, "stack": stack.id},
)
pulumi.export(
    "answers",
    {
        "ami": [ami.id, ami.arn, ami.architecture, ami.image_owner_alias, ami.name, ami.root_device_name],
        "zone": [zone.zone_id, zone.name, zone.arn, len(zone.name_servers), zone.private_zone],
        "stack": [stack.id, stack.outputs],
        "subnets": subnets.ids,
        "subnet": [subnet.id, subnet.arn, subnet.vpc_id, subnet.cidr_block, subnet.availability_zone],
        "route_table": [route_table.route_table_id, route_table.arn, route_table.subnet_id, route_table.routes],
        "route_tables": route_tables.ids,
        "token": [token.user_name, token.proxy_endpoint, bool(token.authorization_token)],
        "credentials": [credentials.registry_id, credentials.proxy_endpoint],
        "policy": [policy.arn, policy.name, policy.policy],
        "cluster_auth": [cluster_auth.name, bool(cluster_auth.token)],
        "group": [group.arn, group.min_size, group.availability_zones],
        "interface": [interface.id, interface.arn, interface.private_ip, interface.subnet_id],
        "interfaces": interfaces.ids,
    },
)
