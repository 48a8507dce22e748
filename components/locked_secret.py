"""A Secrets Manager secret that only named roles can read, encrypted with its own KMS key.

The program never sets the secret's value: it is put there out of band (see the README), so it never passes
through code, stack config, state or build output.
"""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws_context import AwsContext
from components.grants import SECRET_READ_ACTIONS, SOURCE_VPCE_KEY
from components.iam import PolicyDocument, Principal, Statement
from components.managed_key import create_managed_key


class LockedSecretArgs(TypedDict):
    """Inputs of LockedSecret."""

    context: NotRequired[AwsContext]
    """Partition, region and account the ARNs are built from. Default: read through this component's provider."""
    secret_name: str
    """Secret name, e.g. keyless-ingest/prod/weather-api-key. The value is never set here."""
    description: str
    """What the secret holds and who puts it there."""
    reader_role_arns: Sequence[str]
    """The only principals allowed to call GetSecretValue and to decrypt through Secrets Manager. The roles must
    exist before this component: KMS and Secrets Manager reject policies naming unknown principals, so pass
    `depends_on` in the options."""
    key_alias: str
    """Alias of the customer-managed key, e.g. alias/keyless-ingest-prod-secret."""
    recovery_window_days: NotRequired[int]
    """Days a deleted secret can be restored (7 to 30). Default 30."""
    rotation_function_arn: NotRequired[str | None]
    """ARN of a rotation Lambda (in this account); when given, a rotation schedule is added, and Secrets Manager may
    invoke the function for this secret only. Needs `rotation_role_arn`."""
    rotation_role_arn: NotRequired[str | None]
    """Execution role of the rotation function; must be one of `reader_role_arns` (the secret policy denies
    GetSecretValue to everyone else)."""
    rotation_days: NotRequired[int]
    """Days between rotations when a rotation function is given. Default 30."""
    reads_only_through_endpoints: NotRequired[bool]
    """Deny GetSecretValue to every principal (the readers, a rotation function's role included) on a call that
    did not come through a VPC endpoint, i.e. from the internet. Which endpoint is the readers' own policies' to
    pin (LeastPrivilegeFunction's `secrets_manager_endpoint_id`): pulumi-aws takes a secret policy only as a string,
    so naming an endpoint id that AWS has not assigned yet would leave the whole policy unknown at the first
    preview, unread by the policy pack. Default False."""
    source_vpce_ids: NotRequired[Sequence[str]]
    """Endpoint ids known before anything is created (an adopted VPC's own Secrets Manager endpoint): the policy
    then denies GetSecretValue on any call that did not come through one of them, which also covers calls from the
    internet. Default: none (see `reads_only_through_endpoints`)."""


class LockedSecret(pulumi.ComponentResource):
    """A Secrets Manager secret without a value, under its own KMS key, that only the named roles can read."""

    arn: pulumi.Output[str]
    """ARN of the secret (with its random suffix)."""
    name: pulumi.Output[str]
    """Name of the secret."""
    key_arn: pulumi.Output[str]
    """ARN of the customer-managed KMS key that encrypts the secret."""
    key_alias_arn: pulumi.Output[str]
    """ARN of the key's alias, known at preview."""
    arn_pattern: pulumi.Output[str]
    """`arn:...:secret:<name>-??????`, known at preview: what identity and key policies grant."""

    def __init__(self, name: str, args: LockedSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:LockedSecret", name, None, opts)
        context = AwsContext.resolve(args.get("context"), parent=self)
        readers = tuple(args["reader_role_arns"])
        if not readers:
            raise ValueError(f"LockedSecret {name}: reader_role_arns must name at least one role")
        recovery_window = args.get("recovery_window_days", 30)
        if not 7 <= recovery_window <= 30:
            raise ValueError(
                f"LockedSecret {name}: recovery_window_days must be between 7 and 30, got {recovery_window}"
            )
        arn_pattern = context.secret_arn_pattern(args["secret_name"])
        # Children do not inherit the component's depends_on, and the key and secret policies are what must wait
        # for the reader roles to exist.
        readers_exist = opts.depends_on if opts is not None else None
        child = pulumi.ResourceOptions(parent=self, depends_on=readers_exist)

        managed = create_managed_key(
            f"{name}-key",
            context=context,
            description=f"Encrypts the secret {args['secret_name']}; decrypt only through Secrets Manager.",
            alias=args["key_alias"],
            service_statements=(_decrypt_statement(context, readers, arn_pattern),),
            parent=self,
            depends_on=readers_exist,
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            name=args["secret_name"],
            description=args["description"],
            # The alias ARN is known at preview (the key's ARN is not), so the policy pack can check the key.
            kms_key_id=managed.alias_arn,
            recovery_window_in_days=recovery_window,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[managed.alias]),
        )
        aws.secretsmanager.SecretPolicy(
            f"{name}-policy",
            secret_arn=secret.arn,
            policy=_secret_policy(
                readers,
                through_endpoints=args.get("reads_only_through_endpoints", False),
                endpoint_ids=tuple(args.get("source_vpce_ids", ())),
            ).to_json(),
            block_public_policy=True,
            opts=child,
        )
        rotation_function_arn = args.get("rotation_function_arn")
        if rotation_function_arn:
            self._rotation(name, context, secret, rotation_function_arn, args, readers, child)

        self.arn = secret.arn
        self.name = secret.name
        self.key_arn = managed.key.arn
        self.key_alias_arn = pulumi.Output.from_input(managed.alias_arn)
        self.arn_pattern = pulumi.Output.from_input(arn_pattern)
        self.register_outputs(
            {
                "arn": self.arn,
                "name": self.name,
                "keyArn": self.key_arn,
                "keyAliasArn": self.key_alias_arn,
                "arnPattern": self.arn_pattern,
            }
        )

    def _rotation(
        self,
        name: str,
        context: AwsContext,
        secret: aws.secretsmanager.Secret,
        function_arn: str,
        args: LockedSecretArgs,
        readers: tuple[str, ...],
        child: pulumi.ResourceOptions,
    ) -> None:
        rotation_role = args.get("rotation_role_arn")
        if not rotation_role or rotation_role not in readers:
            raise ValueError(
                f"LockedSecret {name}: rotation_function_arn needs rotation_role_arn, and that role must be one of "
                "reader_role_arns (the secret policy denies GetSecretValue to every other principal)"
            )
        # Secrets Manager invokes the rotation function as its service principal; the permission names this secret
        # and this account, so no other secret (or account) can make Secrets Manager call the function.
        invoke = aws.lambda_.Permission(
            f"{name}-rotation-invoke",
            function=function_arn,
            action="lambda:InvokeFunction",
            principal="secretsmanager.amazonaws.com",
            source_arn=secret.arn,
            source_account=context.account_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.secretsmanager.SecretRotation(
            f"{name}-rotation",
            secret_id=secret.id,
            rotation_lambda_arn=function_arn,
            rotation_rules={"automatically_after_days": args.get("rotation_days", 30)},
            # RotateSecret rotates at once by default, while the secret has no value yet (it is put out of band):
            # the first rotation waits for the schedule.
            rotate_immediately=False,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[invoke])),
        )


def _decrypt_statement(context: AwsContext, readers: tuple[str, ...], arn_pattern: str) -> Statement:
    # In a key policy, Resource "*" means "this key": a key policy cannot name another key.
    return Statement(
        sid="DecryptThroughSecretsManagerForThisSecret",
        principal=Principal.aws(*readers),
        actions=("kms:Decrypt",),
        resources=("*",),
        conditions={
            "StringEquals": {"kms:ViaService": context.service_host("secretsmanager")},
            # Secrets Manager puts the secret's full ARN in the encryption context; the pattern ties the
            # grant to this secret even though its random suffix is not known yet.
            "StringLike": {"kms:EncryptionContext:SecretARN": arn_pattern},
        },
    )


def _secret_policy(
    readers: tuple[str, ...], *, through_endpoints: bool, endpoint_ids: tuple[str, ...]
) -> PolicyDocument:
    # In a secret's resource policy, Resource "*" means "this secret".
    perimeter = (
        # The shape of AWS's data perimeter examples (aws-samples/data-perimeter-policy-examples, network perimeter):
        # Principal "*" and a condition on the network keys. Their exceptions for AWS services acting on a caller's
        # behalf (aws:ViaAWSService, aws:PrincipalIsAWSService) are left out on purpose: no service reads this
        # secret for anyone, and each exception would be a path around the endpoint for stolen credentials.
        (
            Statement(
                sid="DenyReadsOutsideTheEndpoints",
                effect="Deny",
                principal=Principal.anyone(),
                actions=SECRET_READ_ACTIONS,
                resources=("*",),
                # aws:SourceVpce is in the request context only for calls made through a VPC endpoint, and a negated
                # operator is true when the key is absent: either form refuses a call from the internet.
                conditions=(
                    {"StringNotEquals": {SOURCE_VPCE_KEY: endpoint_ids}}
                    if endpoint_ids
                    else {"Null": {SOURCE_VPCE_KEY: "true"}}
                ),
            ),
        )
        if through_endpoints or endpoint_ids
        else ()
    )
    return PolicyDocument(
        (
            Statement(
                sid="AllowReaders",
                principal=Principal.aws(*readers),
                actions=SECRET_READ_ACTIONS,
                resources=("*",),
            ),
            # An explicit deny beats any identity policy in the account, so an over-broad grant elsewhere
            # (an admin role, a *FullAccess policy) still cannot read the value.
            Statement(
                sid="DenyEveryoneElse",
                effect="Deny",
                principal=Principal.anyone(),
                actions=SECRET_READ_ACTIONS,
                resources=("*",),
                conditions={"StringNotEquals": {"aws:PrincipalArn": readers}},
            ),
            *perimeter,
        )
    )
