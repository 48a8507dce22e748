"""A program using a component package implemented by a provider plugin (awsx), as its generated SDK registers it.

`Vpc` below is registered exactly as pulumi_awsx 3.11's generated `pulumi_awsx/ec2/vpc.py` registers `awsx:ec2:Vpc`
(`super().__init__('awsx:ec2:Vpc', resource_name, __props__, opts, remote=True)`, outputs set to None for the plugin
to fill); the package itself is not installed here, so the class stands in for it.
"""

from typing import Any

import pulumi
import pulumi_aws as aws


class Vpc(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]

    def __init__(self, resource_name: str, cidr_block: str, opts: pulumi.ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {"cidr_block": cidr_block, "vpc_id": None, "subnets": None}
        super().__init__("awsx:ec2:Vpc", resource_name, props, opts, remote=True)


vpc = Vpc("main", cidr_block="10.0.0.0/16")
aws.s3.Bucket("logs")
pulumi.export("vpcId", vpc.vpc_id)
