"""A CloudTrail trail for the stack, for accounts without an organisation trail whose events reach CloudWatch Logs.

Multi-region with log file validation; log files go to a private, KMS-encrypted, versioned bucket whose policy lets
only CloudTrail write (for this trail) and refuses plain HTTP; events are also delivered to a CloudWatch Logs group
through a role that can write to that group only, which is where the secret-read metric filters run.
Bucket and key policies follow https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html
and https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html.

The bucket's default encryption has no S3 Bucket Key. With one, CloudTrail's KMS documentation requires `kms:Decrypt`
for CloudTrail on the key to create or update the trail; without one, CloudTrail needs only `GenerateDataKey*` and
`DescribeKey`. A bucket key saves KMS requests, and a trail writes a few thousand files a day across all regions
(cents a month of KMS requests), so it is off rather than granting a service the right to decrypt the audit log.
"""

import re
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws_context import AwsContext
from components.iam import PolicyDocument, Principal, Statement
from components.log_retention import require_valid_retention
from components.managed_key import ManagedKey, create_managed_key
from components.private_bucket import create_private_bucket

CLOUDTRAIL = "cloudtrail.amazonaws.com"
DELIVERY_ROLE_TRUST = PolicyDocument(
    (
        Statement(
            sid="CloudTrailDeliversToLogs",
            principal=Principal.service(CLOUDTRAIL),
            actions=("sts:AssumeRole",),
        ),
    )
)
"""Trust of the role CloudTrail delivers to CloudWatch Logs with; why it has no source condition: `_delivery_role`."""
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class AuditTrailArgs(TypedDict):
    """Inputs of AuditTrail."""

    context: NotRequired[AwsContext]
    """Partition, region and account the ARNs are built from. Default: read through this component's provider."""
    trail_name: str
    """Physical trail name; explicit so that the policies can name the trail's ARN at preview."""
    bucket_name: str
    """Globally unique bucket name for the log files, e.g. <prefix>-trail-<account id>."""
    log_group_name: str
    """CloudWatch Logs group that receives the events."""
    key_alias: str
    """Alias of the key that encrypts the log files."""
    role_name: str
    """Physical name of the role CloudTrail assumes to write to the log group (IAM names are account-wide)."""
    log_retention_days: NotRequired[int]
    """Retention of the log group (the bucket keeps the durable copy). Default 90."""
    log_kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Key that encrypts the log group; its policy must admit CloudWatch Logs for this group. Default: none."""


class AuditTrail(pulumi.ComponentResource):
    """A multi-region CloudTrail trail with read events, into a private KMS-encrypted bucket and a CloudWatch Logs
    group."""

    trail_arn: pulumi.Output[str]
    """ARN of the trail, known at preview."""
    bucket_arn: pulumi.Output[str]
    """ARN of the log-file bucket, known at preview."""
    log_group_name: pulumi.Output[str]
    """The CloudWatch Logs group that receives the events."""
    bucket_policy: pulumi.Output[str]
    """The bucket policy JSON, as sent to AWS."""
    key_policy: pulumi.Output[str]
    """The log-file key's policy JSON, as sent to AWS."""
    delivery_role_policy: pulumi.Output[str]
    """The policy JSON of the role CloudTrail writes to the log group with, as sent to AWS."""
    delivery_role_trust: pulumi.Output[str]
    """The trust policy JSON of that role, as sent to AWS."""

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:AuditTrail", name, None, opts)
        self._context = context = AwsContext.resolve(args.get("context"), parent=self)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        if not _BUCKET_NAME.fullmatch(args["bucket_name"]):
            raise ValueError(
                f"AuditTrail {name}: {args['bucket_name']!r} is not a valid S3 bucket name (3 to 63 a-z0-9.-)"
            )
        self._trail_arn = context.arn("cloudtrail", f"trail/{args['trail_name']}")
        self._bucket_arn = f"arn:{context.partition}:s3:::{args['bucket_name']}"
        log_group_name = args["log_group_name"]
        log_group_arn = context.log_group_arn(log_group_name)

        key = create_managed_key(
            f"{name}-key",
            context=context,
            description=f"Encrypts the log files of the trail {args['trail_name']}.",
            alias=args["key_alias"],
            service_statements=self._cloudtrail_key_statements(),
            parent=self,
        )
        bucket_policy_json = self._bucket_policy().to_json()
        bucket_policy, bucket_encryption = self._bucket(args["bucket_name"], key, bucket_policy_json)
        self._log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name,
            retention_in_days=require_valid_retention(args.get("log_retention_days", 90), setting="log_retention_days"),
            kms_key_id=args.get("log_kms_key_arn"),
            opts=self._child,
        )
        delivery_policy_json = self._delivery_role_policy(log_group_arn).to_json()
        role_policy = self._delivery_role(args["role_name"], delivery_policy_json)
        aws.cloudtrail.Trail(
            f"{name}-trail",
            name=args["trail_name"],
            # Known names, not outputs, keep the trail's inputs known at preview; depends_on keeps the order.
            s3_bucket_name=args["bucket_name"],
            # The key's ARN, not its alias ARN: CloudTrail stores the key ARN and the provider does not suppress the
            # difference, so an alias here would show as an update on every later preview.
            kms_key_id=key.key.arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            # GetSecretValue is a read-only management event: "All" keeps reads, which the alarms depend on.
            event_selectors=[{"read_write_type": "All", "include_management_events": True}],
            cloud_watch_logs_group_arn=f"{log_group_arn}:*",
            cloud_watch_logs_role_arn=context.role_arn(args["role_name"]),
            # CreateTrail checks the bucket policy (InsufficientS3BucketPolicyException), the bucket's encryption
            # and the key policy (InsufficientEncryptionPolicyException) and the delivery role, so it waits for all.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[bucket_policy, bucket_encryption, role_policy, key.key, key.alias, self._log_group],
            ),
        )
        self.trail_arn = pulumi.Output.from_input(self._trail_arn)
        self.bucket_arn = pulumi.Output.from_input(self._bucket_arn)
        self.log_group_name = pulumi.Output.from_input(log_group_name)
        self.key_policy = pulumi.Output.from_input(key.policy.to_json())
        self.bucket_policy = pulumi.Output.from_input(bucket_policy_json)
        self.delivery_role_policy = pulumi.Output.from_input(delivery_policy_json)
        self.delivery_role_trust = pulumi.Output.from_input(DELIVERY_ROLE_TRUST.to_json())
        self.register_outputs(
            {
                "trailArn": self.trail_arn,
                "bucketArn": self.bucket_arn,
                "logGroupName": self.log_group_name,
                "keyPolicy": self.key_policy,
                "bucketPolicy": self.bucket_policy,
                "deliveryRolePolicy": self.delivery_role_policy,
                "deliveryRoleTrust": self.delivery_role_trust,
            }
        )

    @property
    def log_group(self) -> pulumi.Resource:
        """Python only (not in the package schema): the log group, for `depends_on` of metric filters."""
        return self._log_group

    def _cloudtrail_key_statements(self) -> tuple[Statement, ...]:
        this_trail = {"StringEquals": {"aws:SourceArn": self._trail_arn}}
        return (
            Statement(
                sid="CloudTrailEncryptsThisTrailsLogs",
                principal=Principal.service(CLOUDTRAIL),
                actions=("kms:GenerateDataKey*",),
                resources=("*",),
                conditions={
                    **this_trail,
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": self._trail_arn},
                },
            ),
            Statement(
                sid="CloudTrailDescribesKey",
                principal=Principal.service(CLOUDTRAIL),
                actions=("kms:DescribeKey",),
                resources=("*",),
                conditions=this_trail,
            ),
        )

    def _bucket(
        self, bucket_name: str, key: ManagedKey, policy_json: str
    ) -> tuple[aws.s3.BucketPolicy, aws.s3.BucketServerSideEncryptionConfiguration]:
        """The private, versioned, encrypted bucket; returns its policy and encryption, which CreateTrail checks."""
        name, child = self._name, self._child
        bucket = create_private_bucket(name, bucket_name, child)
        aws.s3.BucketOwnershipControls(
            f"{name}-bucket-ownership",
            bucket=bucket.bucket,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-bucket-versioning",
            bucket=bucket.bucket,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-bucket-encryption",
            bucket=bucket.bucket,
            rules=[
                {
                    # S3 takes the alias ARN, which is known at preview (the key's ARN is not).
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.alias_arn,
                    },
                    # No bucket key: see the module docstring (it would need kms:Decrypt for CloudTrail).
                    "bucket_key_enabled": False,
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[key.alias]),
        )
        policy = aws.s3.BucketPolicy(f"{name}-bucket-policy", bucket=bucket.bucket, policy=policy_json, opts=child)
        return policy, encryption

    def _bucket_policy(self) -> PolicyDocument:
        this_trail = {"StringEquals": {"aws:SourceArn": self._trail_arn, "aws:SourceAccount": self._context.account_id}}
        return PolicyDocument(
            (
                Statement(
                    sid="CloudTrailChecksAcl",
                    principal=Principal.service(CLOUDTRAIL),
                    actions=("s3:GetBucketAcl",),
                    resources=(self._bucket_arn,),
                    conditions=this_trail,
                ),
                Statement(
                    sid="CloudTrailWritesThisAccountsLogs",
                    principal=Principal.service(CLOUDTRAIL),
                    actions=("s3:PutObject",),
                    resources=(f"{self._bucket_arn}/AWSLogs/{self._context.account_id}/*",),
                    conditions={
                        "StringEquals": {
                            **this_trail["StringEquals"],
                            "s3:x-amz-acl": "bucket-owner-full-control",
                        }
                    },
                ),
                # A Deny is not a grant: it refuses every request over plain HTTP, whoever makes it.
                Statement(
                    sid="DenyInsecureTransport",
                    effect="Deny",
                    principal=Principal.anyone(),
                    actions=("s3:*",),
                    resources=(self._bucket_arn, f"{self._bucket_arn}/*"),
                    conditions={"Bool": {"aws:SecureTransport": "false"}},
                ),
            )
        )

    def _delivery_role(self, role_name: str, policy_json: str) -> aws.iam.RolePolicy:
        name = self._name
        # The one trust policy in this project without aws:SourceAccount / aws:SourceArn. CloudTrail does not send
        # those keys when it assumes the role to deliver to CloudWatch Logs, so either condition makes CreateTrail
        # fail (InvalidCloudWatchLogsRoleArnException) or events silently stop arriving, and with them the
        # unexpected-read alarm (prowler-cloud/prowler#4714; awsdocs/aws-cloudtrail-user-guide#17, "Removing
        # non-working conditions"). The confused-deputy risk stays small: the role can only append to this one log
        # group's CloudTrail streams, and keyless-guard's cloudtrail-logs-role-trust rule pins this exception.
        role = aws.iam.Role(
            f"{name}-delivery-role",
            name=role_name,
            description="CloudTrail delivers events to one CloudWatch Logs group",
            assume_role_policy=DELIVERY_ROLE_TRUST.to_json(),
            opts=self._child,
        )
        return aws.iam.RolePolicy(
            f"{name}-delivery-policy",
            name="deliver-to-one-log-group",
            role=role.name,
            policy=policy_json,
            opts=self._child,
        )

    def _delivery_role_policy(self, log_group_arn: str) -> PolicyDocument:
        # CloudTrail names its streams <account id>_CloudTrail_<region>; a multi-region trail writes one per region.
        return PolicyDocument(
            (
                Statement(
                    sid="WriteTrailStreams",
                    actions=("logs:CreateLogStream", "logs:PutLogEvents"),
                    resources=(f"{log_group_arn}:log-stream:{self._context.account_id}_CloudTrail_*",),
                ),
            )
        )
