"""A component whose child role policy grants a wildcard: the finding is on a line of this module."""

import json

import pulumi
import pulumi_aws as aws


class Reader(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Reader", name, None, opts)
        statement = {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}
        aws.iam.RolePolicy(
            f"{name}-policy",
            role="reader",
            policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
