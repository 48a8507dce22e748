"""The DynamoDB table the handler writes readings to."""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws_context import AwsContext

PARTITION_KEY = "city"
SORT_KEY = "observed_at"


class ResultsTableArgs(TypedDict):
    """Inputs of ResultsTable."""

    context: NotRequired[AwsContext]
    """Partition, region and account the table ARN is built from. Default: read through this component's provider."""
    table_name: str
    """Physical table name, explicit so the ARN is known at preview."""
    deletion_protection: NotRequired[bool]
    """Refuse DeleteTable until switched off. Default True; dev may turn it off."""


class ResultsTable(pulumi.ComponentResource):
    """An on-demand DynamoDB table keyed by city and observation time, encrypted, with point-in-time recovery."""

    name: pulumi.Output[str]
    """Physical name of the table."""
    arn: pulumi.Output[str]
    """ARN of the table."""

    def __init__(self, name: str, args: ResultsTableArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:ResultsTable", name, None, opts)
        context = AwsContext.resolve(args.get("context"), parent=self)
        self._known_arn = context.table_arn(args["table_name"])
        table = aws.dynamodb.Table(
            f"{name}-table",
            name=args["table_name"],
            billing_mode="PAY_PER_REQUEST",
            hash_key=PARTITION_KEY,
            range_key=SORT_KEY,
            attributes=[
                {"name": PARTITION_KEY, "type": "S"},
                {"name": SORT_KEY, "type": "S"},
            ],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=args.get("deletion_protection", True),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = table.name
        self.arn = table.arn
        self.register_outputs({"name": self.name, "arn": self.arn})

    @property
    def known_arn(self) -> str:
        """Python only (not in the package schema): the ARN built from the name, known at preview, for policies."""
        return self._known_arn
