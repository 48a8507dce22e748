"""Saved CloudWatch Logs Insights queries on the trail's log group that answer "who accessed this secret".

Three queries, filed in the console's query list under one folder named after the stack: who read the secret, the
denied reads, and the changes to the secret and its KMS key. Their filters come from the SecretAudience, the same
description the metric filters and the `access_report.report` report are built from.

Query syntax: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html
Saved queries ("To create a folder, use a forward slash (/) to prefix your desired query name with your desired
folder name"; names up to 255 characters, query strings up to 10,000):
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-querydefinition.html
"""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws_context import AwsContext
from components.secret_audience import SESSION_ISSUER, SecretAudience

_ISSUER = SESSION_ISSUER.removeprefix("$.")


class AuditQueriesArgs(TypedDict):
    """Inputs of AuditQueries."""

    context: NotRequired[AwsContext]
    """Partition, region and account of the secret. Default: read through this component's provider."""
    name_prefix: str
    """Folder of the saved queries in the console, e.g. keyless-ingest-prod."""
    secret_name: str
    """Name of the secret the queries look at (never its value)."""
    reader_role_arns: Sequence[str]
    """The roles expected to read the secret."""
    log_group_name: pulumi.Input[str]
    """The CloudWatch Logs group that receives the trail's events."""
    key_arn: pulumi.Input[str]
    """The KMS key that encrypts the secret; the change query includes changes to its policy and state."""


class AuditQueries(pulumi.ComponentResource):
    """Saved CloudWatch Logs Insights queries on the trail's log group: who read the secret, denied reads, and changes
    to the secret and its key."""

    query_names: pulumi.Output[list[str]]
    """Names of the saved queries, as the console lists them."""

    def __init__(self, name: str, args: AuditQueriesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("keyless-ingest:index:AuditQueries", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        context = AwsContext.resolve(args.get("context"), parent=self)
        audience = SecretAudience.of(context, args["secret_name"], args["reader_role_arns"])
        folder = args["name_prefix"]
        log_group = args["log_group_name"]
        queries: dict[str, tuple[str, pulumi.Input[str]]] = {
            "who-read": (f"{folder}/who read the secret", self.who_read(audience)),
            "denied-reads": (f"{folder}/denied reads", self.denied_reads(audience)),
            "changes": (
                f"{folder}/changes to the secret and its key",
                pulumi.Output.from_input(args["key_arn"]).apply(lambda arn: self.changes(audience, arn)),
            ),
        }
        for key, (query_name, query) in queries.items():
            aws.cloudwatch.QueryDefinition(
                f"{name}-{key}",
                name=query_name,
                log_group_names=[log_group],
                query_string=query,
                opts=self._child,
            )
        self.query_names = pulumi.Output.from_input([query_name for query_name, _ in queries.values()])
        self.register_outputs({"queryNames": self.query_names})

    @staticmethod
    def who_read(audience: SecretAudience) -> str:
        """Attempts per caller (role behind a session, user, or other account), with first and last time."""
        return (
            "fields @timestamp, userIdentity.arn, userIdentity.accountId, sourceIPAddress, vpcEndpointId, errorCode\n"
            f"| filter {audience.insights_read_filter()}\n"
            f"| stats count(*) as attempts, min(@timestamp) as first_seen, max(@timestamp) as last_seen "
            f"by {_ISSUER}, userIdentity.arn, userIdentity.accountId, errorCode\n"
            "| sort attempts desc"
        )

    @staticmethod
    def denied_reads(audience: SecretAudience) -> str:
        return (
            "fields @timestamp, userIdentity.arn, userIdentity.accountId, sourceIPAddress, vpcEndpointId, errorCode, "
            "errorMessage\n"
            f"| filter ({audience.insights_read_filter()}) and errorCode like /AccessDenied/\n"
            "| sort @timestamp desc"
        )

    @staticmethod
    def changes(audience: SecretAudience, key_arn: str) -> str:
        return (
            "fields @timestamp, eventSource, eventName, userIdentity.arn, sourceIPAddress, vpcEndpointId\n"
            f"| filter {audience.insights_change_filter(key_arn)}\n"
            "| sort @timestamp desc"
        )
