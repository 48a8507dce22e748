"""A role that CI assumes through OIDC to preview or deploy one stack: exact subjects, one hour, nothing else.

No `from __future__ import annotations` here: Pulumi's component analyzer reads these annotations at run time
to host the component as a multi-language package.
"""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.deploy_policies import MAX_SESSION_SECONDS, trust_policy


class DeployRoleArgs(TypedDict):
    """Inputs of DeployRole."""

    role_name: str
    """Physical role name. Keep it outside the stack's name prefix, so the stack's own grants cannot reach it."""
    description: str
    """What the role is for, e.g. "pulumi preview of keyless-ingest prod from pull requests"."""
    oidc_provider_arn: str
    """ARN of the IAM OIDC provider the role trusts (created or adopted by the bootstrap program)."""
    oidc_issuer: str
    """The provider's URL without https://, e.g. token.actions.githubusercontent.com: the condition-key prefix."""
    audience: str
    """The exact `aud` the workflow's token carries (sts.amazonaws.com for aws-actions/configure-aws-credentials)."""
    subjects: Sequence[str]
    """The exact `sub` values allowed, e.g. repo:acme/keyless-ingest:environment:prod. No wildcard."""
    permission_policies: Sequence[str]
    """Policy documents (JSON), each created as a customer-managed policy and attached to the role."""
    inline_policy: str
    """Policy document (JSON) kept inline: the PassRole grant and the Denys that hold whatever else is attached."""
    max_session_seconds: NotRequired[int]
    """Longest session the role issues, 900 to 3600. Default 3600."""


class DeployRole(pulumi.ComponentResource):
    """An IAM role that CI assumes through OIDC (exact audience and subjects, one-hour sessions) to preview or deploy
    one stack."""

    arn: pulumi.Output[str]
    """ARN of the role: the value of the GitHub variable that role-to-assume reads."""
    name: pulumi.Output[str]
    """Name of the role."""

    def __init__(self, name: str, args: DeployRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:DeployRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        session = args.get("max_session_seconds", MAX_SESSION_SECONDS)
        if not 900 <= session <= MAX_SESSION_SECONDS:
            raise ValueError(f"max_session_seconds must be between 900 and {MAX_SESSION_SECONDS}, got {session}")
        trust = trust_policy(args["oidc_provider_arn"], args["oidc_issuer"], args["audience"], args["subjects"])
        role = aws.iam.Role(
            f"{name}-role",
            name=args["role_name"],
            description=args["description"],
            assume_role_policy=trust.to_json(),
            max_session_duration=session,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-guard",
            name="pass-role-and-guard-denies",
            role=role.name,
            policy=args["inline_policy"],
            opts=child,
        )
        for index, document in enumerate(args["permission_policies"], start=1):
            policy = aws.iam.Policy(
                f"{name}-permissions-{index}",
                name=f"{args['role_name']}-{index}",
                description=f"{args['description']} (part {index} of {len(args['permission_policies'])})",
                policy=document,
                opts=child,
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-permissions-{index}", role=role.name, policy_arn=policy.arn, opts=child
            )
        self.arn = role.arn
        self.name = role.name
        self.register_outputs({"arn": self.arn, "name": self.name})
