"""Customer-managed KMS keys for logs, alarms and the audit trail: rotation, deletion window, alias and the account's
administration statement in one place, so each caller writes only the statements for the service that uses the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws_context import AwsContext
from components.iam import PolicyDocument, Principal, Statement


def account_administration(context: AwsContext) -> Statement:
    """AWS's default key policy statement: it delegates the key's administration to IAM in this account. Without it
    only the key policy could manage the key, and one bad update would make it unmanageable. In a key policy,
    Resource "*" means "this key"."""
    return Statement(
        sid="EnableIamPolicies",
        principal=Principal.aws(context.account_root_arn),
        actions=("kms:*",),
        resources=("*",),
    )


@dataclass(frozen=True)
class ManagedKey:
    key: aws.kms.Key
    alias: aws.kms.Alias
    """Depend on the alias before naming `alias_arn` in another resource."""
    alias_arn: str
    """ARN of the alias, known at preview."""
    policy: PolicyDocument
    """The key policy, as sent to AWS."""


def create_managed_key(
    resource_name: str,
    *,
    context: AwsContext,
    description: str,
    alias: str,
    service_statements: Sequence[Statement],
    parent: pulumi.Resource,
    depends_on: pulumi.Input[Sequence[pulumi.Input[pulumi.Resource]] | pulumi.Resource] | None = None,
) -> ManagedKey:
    """A symmetric key with rotation on, a 30-day deletion window, an alias, and a policy made of the account's
    administration statement followed by `service_statements`. `depends_on` names the resources the policy's
    principals are, since KMS rejects a policy naming a principal that does not exist yet."""
    policy = PolicyDocument((account_administration(context), *service_statements))
    child = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    key = aws.kms.Key(
        resource_name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy.to_json(),
        opts=child,
    )
    key_alias = aws.kms.Alias(f"{resource_name}-alias", name=alias, target_key_id=key.key_id, opts=child)
    return ManagedKey(key=key, alias=key_alias, alias_arn=context.kms_alias_arn(alias), policy=policy)
