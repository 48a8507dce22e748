"""A Lambda function on an execution role that can do exactly what the function does, and no more."""

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict, cast

import pulumi
import pulumi_aws as aws

from components.aws_context import AwsContext
from components.grants import (
    SECRET_READ_ACTIONS,
    TABLE_WRITE_ACTIONS,
    endpoint_placeholder,
    outside_endpoint_deny,
    outside_function_deny,
    secret_read_statement,
    table_write_statement,
)
from components.iam import PolicyDocument, Principal, Statement
from components.log_retention import require_valid_retention
from components.private_network import FunctionPlacement, create_interface_statements


class LeastPrivilegeFunctionArgs(TypedDict):
    """Inputs of LeastPrivilegeFunction."""

    context: NotRequired[AwsContext]
    """Partition, region and account the ARNs are built from. Default: read through this component's provider."""
    function_name: str
    """Physical function name; explicit so that its log group and ARNs are known at preview."""
    role_name: str
    """Physical name of the execution role; explicit so that other policies can name the role at preview."""
    code: pulumi.Input[pulumi.Archive]
    """The deployment bundle (handler code and its dependencies)."""
    environment: Mapping[str, str]
    """Names and settings only, never a secret value: the policy pack rejects credentials here."""
    writable_table_arns: NotRequired[Sequence[str]]
    """DynamoDB tables the function may write items to (BatchWriteItem, the handler's only call). Default: none."""
    readable_secret_arns: NotRequired[Sequence[str]]
    """Secrets the function may read (GetSecretValue only), as ARNs or `<name>-??????` patterns; decryption is
    granted by each secret's key policy (LockedSecret does), not by the role. Default: none."""
    code_sha256: NotRequired[str]
    """Base64 SHA-256 of the bundle, so an unchanged bundle never triggers an update."""
    handler: NotRequired[str]
    """Entry point inside the bundle. Default app.lambda_handler."""
    runtime: NotRequired[str]
    """Default python3.12."""
    architecture: NotRequired[str]
    """Default arm64 (the bundle's wheels are built for it)."""
    memory_mb: NotRequired[int]
    """Default 256."""
    timeout_seconds: NotRequired[int]
    """Default 30."""
    log_retention_days: NotRequired[int]
    """Retention of the function's log group; one of the values CloudWatch accepts. Default 14."""
    log_kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Customer-managed key that encrypts the log group. Default: CloudWatch's own encryption."""
    placement: NotRequired[FunctionPlacement | None]
    """Run in these private subnets and security groups. Default: outside any VPC."""
    reserved_concurrency: NotRequired[int | None]
    """Reserved concurrent executions; None leaves the function on the account's unreserved pool."""
    tracing: NotRequired[bool]
    """X-Ray active tracing. Default False."""
    secrets_manager_endpoint_id: NotRequired[pulumi.Input[str] | None]
    """The Secrets Manager interface endpoint the function reads its secrets through; the role then denies reading
    them through any other path. Default: no network condition on the secret reads."""
    dynamodb_endpoint_id: NotRequired[pulumi.Input[str] | None]
    """The DynamoDB gateway endpoint the function writes through; the role then denies writing the tables through
    any other path. Default: no network condition on the table writes."""


class LeastPrivilegeFunction(pulumi.ComponentResource):
    """A Lambda function on its own execution role, which may write its own logs and do exactly what the grants say."""

    function_name: pulumi.Output[str]
    """Name of the function."""
    function_arn: pulumi.Output[str]
    """ARN of the function."""
    role_arn: pulumi.Output[str]
    """ARN of the execution role, known at preview."""
    log_group_name: pulumi.Output[str]
    """The function's log group, known at preview."""
    role_policy: pulumi.Output[str]
    """The execution role's inline policy JSON, as sent to AWS."""
    network_perimeter_policy: pulumi.Output[str] | None
    """The role's second inline policy, denying the secret reads and table writes that do not come through the
    given endpoints, as JSON; None when no endpoint is given."""

    def __init__(self, name: str, args: LeastPrivilegeFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:LeastPrivilegeFunction", name, None, opts)
        self._context = AwsContext.resolve(args.get("context"), parent=self)
        self._name = name
        function_name = args["function_name"]
        # Known at preview, so the identity perimeter on every grant is known too.
        self._function_arn = self._context.arn("lambda", f"function:{function_name}")
        role_arn = self._context.role_arn(args["role_name"])
        self._log_group_name = f"/aws/lambda/{function_name}"
        retention = require_valid_retention(args.get("log_retention_days", 14), setting="log_retention_days")
        placement = args.get("placement")
        tracing = args.get("tracing", False)
        child = pulumi.ResourceOptions(parent=self)

        self._role = aws.iam.Role(
            f"{name}-role",
            name=args["role_name"],
            description=f"Execution role of {function_name}",
            assume_role_policy=self._trust_policy().to_json(),
            opts=child,
        )
        policy_json = self._role_policy(args, placement, tracing=tracing).to_json()
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name="least-privilege",
            role=self._role.name,
            policy=policy_json,
            opts=child,
        )
        perimeter = self._network_perimeter(args)
        self.network_perimeter_policy = None
        if perimeter is not None:
            document, values = perimeter
            # Sent as an object: only the endpoint ids are unknown at the first preview, so the pack reads the rest
            # (pulumi-aws accepts a document object for a role policy and serialises it).
            perimeter_policy = aws.iam.RolePolicy(
                f"{name}-network-perimeter",
                name="network-perimeter",
                role=self._role.name,
                policy=cast("aws.iam.PolicyDocumentArgsDict", document.to_dict_with(values)),
                opts=child,
            )
            self.network_perimeter_policy = pulumi.Output.all(**values).apply(document.to_json_with)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=self._log_group_name,
            retention_in_days=retention,
            kms_key_id=args.get("log_kms_key_arn"),
            opts=child,
        )
        reserved = args.get("reserved_concurrency")
        function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            # The known ARN, not role.arn: keeps the function's inputs known at preview; depends_on keeps order.
            role=role_arn,
            runtime=args.get("runtime", "python3.12"),
            architectures=[args.get("architecture", "arm64")],
            handler=args.get("handler", "app.lambda_handler"),
            code=args["code"],
            source_code_hash=args.get("code_sha256"),
            memory_size=args.get("memory_mb", 256),
            timeout=args.get("timeout_seconds", 30),
            environment={"variables": dict(args["environment"])},
            logging_config={"log_format": "Text", "log_group": self._log_group_name},
            tracing_config={"mode": "Active" if tracing else "PassThrough"},
            reserved_concurrent_executions=reserved if reserved is not None else -1,
            vpc_config=(
                {"subnet_ids": placement["subnet_ids"], "security_group_ids": placement["security_group_ids"]}
                if placement is not None
                else None
            ),
            # The role must hold its permissions (network interfaces included) before Lambda validates it, and
            # the log group must exist so that the first invocation does not create one without retention.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self._role, role_policy, log_group, *([perimeter_policy] if perimeter is not None else [])],
            ),
        )
        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = pulumi.Output.from_input(role_arn)
        self.log_group_name = pulumi.Output.from_input(self._log_group_name)
        self.role_policy = pulumi.Output.from_input(policy_json)
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": self.function_arn,
                "roleArn": self.role_arn,
                "logGroupName": self.log_group_name,
                "rolePolicy": self.role_policy,
                **(
                    {"networkPerimeterPolicy": self.network_perimeter_policy}
                    if self.network_perimeter_policy is not None
                    else {}
                ),
            }
        )

    @property
    def role(self) -> aws.iam.Role:
        """Python only (not in the package schema): the execution role, for `depends_on` of resources whose policies
        name it (KMS and Secrets Manager reject a policy naming a role that does not exist yet)."""
        return self._role

    def _trust_policy(self) -> PolicyDocument:
        return PolicyDocument(
            (
                Statement(
                    sid="LambdaInThisAccountOnly",
                    principal=Principal.service("lambda.amazonaws.com"),
                    actions=("sts:AssumeRole",),
                    conditions={"StringEquals": {"aws:SourceAccount": self._context.account_id}},
                ),
            )
        )

    def _network_perimeter(
        self, args: LeastPrivilegeFunctionArgs
    ) -> tuple[PolicyDocument, dict[str, pulumi.Input[str]]] | None:
        """Denies of the grants' actions outside the given endpoints, with the placeholders to fill in. A Deny in the
        role rather than in a table policy: see README, "The perimeter"."""
        statements: list[Statement] = []
        values: dict[str, pulumi.Input[str]] = {}
        secrets, tables = args.get("readable_secret_arns"), args.get("writable_table_arns")
        secrets_endpoint, tables_endpoint = args.get("secrets_manager_endpoint_id"), args.get("dynamodb_endpoint_id")
        if secrets and secrets_endpoint is not None:
            statements.append(
                outside_endpoint_deny("ReadApiKeyOnlyThroughEndpoint", SECRET_READ_ACTIONS, secrets, "secretsmanager")
            )
            values[endpoint_placeholder("secretsmanager")] = secrets_endpoint
        if tables and tables_endpoint is not None:
            statements.append(
                outside_endpoint_deny("WriteReadingsOnlyThroughEndpoint", TABLE_WRITE_ACTIONS, tables, "dynamodb")
            )
            values[endpoint_placeholder("dynamodb")] = tables_endpoint
        return (PolicyDocument(tuple(statements)), values) if statements else None

    def _role_policy(
        self, args: LeastPrivilegeFunctionArgs, placement: FunctionPlacement | None, *, tracing: bool
    ) -> PolicyDocument:
        context = self._context
        statements: list[Statement] = [
            Statement(
                sid="WriteOwnLogs",
                actions=("logs:CreateLogStream", "logs:PutLogEvents"),
                # `:*` covers the log streams of this one log group.
                resources=(f"{context.log_group_arn(self._log_group_name)}:*",),
            )
        ]
        if args.get("writable_table_arns"):
            statements.append(table_write_statement(args["writable_table_arns"], self._function_arn))
        if args.get("readable_secret_arns"):
            statements.append(secret_read_statement(args["readable_secret_arns"], self._function_arn))
        # One Deny per service: a statement pairing an action with another service's resource is invalid.
        for sid, actions, arns in (
            ("WriteReadingsOnlyInsideTheFunction", TABLE_WRITE_ACTIONS, args.get("writable_table_arns")),
            ("ReadApiKeyOnlyInsideTheFunction", SECRET_READ_ACTIONS, args.get("readable_secret_arns")),
        ):
            if arns:
                statements.append(outside_function_deny(sid, self._function_arn, actions, arns))
        if placement is not None:
            # Left out on purpose: ec2:AssignPrivateIpAddresses / UnassignPrivateIpAddresses. The Lambda guide and
            # AWSLambdaVPCAccessExecutionRole list them, but they act on interfaces whose ids nobody knows in
            # advance, so they could only be granted on every interface in the account, and this function never
            # needs a secondary private address. If Lambda ever rejects the role for lacking them, add them here.
            statements.extend(create_interface_statements(placement, context))
            statements.append(
                Statement(
                    sid="ManageInterfaces",
                    actions=(
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:DeleteNetworkInterface",
                    ),
                    # The Describe actions support no resource-level permissions, and the Lambda developer guide
                    # requires ec2:DeleteNetworkInterface on "*" for a function's execution role:
                    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
                    resources=("*",),
                )
            )
        if tracing:
            statements.append(
                Statement(
                    sid="SendTraces",
                    actions=("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
                    # X-Ray's write actions support no resource-level permissions.
                    resources=("*",),
                )
            )
        return PolicyDocument(tuple(statements))
