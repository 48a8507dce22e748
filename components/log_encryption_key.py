"""A customer-managed key that CloudWatch Logs may use for the named log groups of this stack, and for nothing else.

CloudWatch Logs calls KMS as the service principal `logs.<region>.amazonaws.com` and puts the log group's ARN in the
encryption context, so the `kms:EncryptionContext:aws:logs:arn` condition ties the grant to these groups:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
The key must exist (with this policy) before a log group names it, so it is built before the function.
"""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi

from components.aws_context import AwsContext
from components.iam import Principal, Statement
from components.managed_key import create_managed_key

LOGS_KEY_ACTIONS: tuple[str, ...] = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)
"""AWS documents `kms:Encrypt*`, `kms:Decrypt*`, `kms:ReEncrypt*`, `kms:GenerateDataKey*` and `kms:Describe*`; these
are the actions those patterns cover for a symmetric key, minus the data-key-pair operations logs never calls."""


class LogEncryptionKeyArgs(TypedDict):
    """Inputs of LogEncryptionKey."""

    context: NotRequired[AwsContext]
    """Partition, region and account the ARNs are built from. Default: read through this component's provider."""
    log_group_names: Sequence[str]
    """The only log groups CloudWatch Logs may encrypt and decrypt with this key."""
    key_alias: str
    """Alias of the key, e.g. alias/keyless-ingest-prod-logs."""


class LogEncryptionKey(pulumi.ComponentResource):
    """A customer-managed KMS key (rotation on) that only CloudWatch Logs may use, and only for the named log groups."""

    arn: pulumi.Output[str]
    """ARN of the key: what a log group's kmsKeyId takes (CloudWatch Logs does not accept an alias)."""
    alias_arn: pulumi.Output[str]
    """ARN of the key's alias, known at preview."""
    policy: pulumi.Output[str]
    """The key policy JSON, as sent to AWS."""

    def __init__(self, name: str, args: LogEncryptionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:LogEncryptionKey", name, None, opts)
        context = AwsContext.resolve(args.get("context"), parent=self)
        groups = tuple(args["log_group_names"])
        if not groups:
            raise ValueError(f"LogEncryptionKey {name}: log_group_names must name at least one log group")
        key = create_managed_key(
            f"{name}-key",
            context=context,
            description=f"Encrypts the CloudWatch log groups {', '.join(groups)}.",
            alias=args["key_alias"],
            service_statements=(self._logs_statement(context, groups),),
            parent=self,
        )
        self.arn = key.key.arn
        self.alias_arn = pulumi.Output.from_input(key.alias_arn)
        self.policy = pulumi.Output.from_input(key.policy.to_json())
        self.register_outputs({"arn": self.arn, "aliasArn": self.alias_arn, "policy": self.policy})

    @staticmethod
    def _logs_statement(context: AwsContext, groups: tuple[str, ...]) -> Statement:
        return Statement(
            sid="CloudWatchLogsForTheseGroupsOnly",
            principal=Principal.service(f"logs.{context.region}.{context.dns_suffix}"),
            actions=LOGS_KEY_ACTIONS,
            resources=("*",),
            conditions={
                "ArnEquals": {"kms:EncryptionContext:aws:logs:arn": tuple(context.log_group_arn(g) for g in groups)}
            },
        )
