"""What the function may do, turned into IAM statements in one place."""

from collections.abc import Sequence

from components.iam import Statement

TABLE_WRITE_ACTIONS: tuple[str, ...] = ("dynamodb:BatchWriteItem",)
"""Exactly the DynamoDB calls the handler makes (tests/components/test_grants_match_handler.py proves it)."""

SECRET_READ_ACTIONS: tuple[str, ...] = ("secretsmanager:GetSecretValue",)
"""The handler reads the value by name; it never calls DescribeSecret."""


def table_write_statement(table_arns: Sequence[str]) -> Statement:
    """Write items to these DynamoDB tables."""
    return Statement(sid="WriteReadings", actions=TABLE_WRITE_ACTIONS, resources=tuple(table_arns))


def secret_read_statement(secret_arns: Sequence[str]) -> Statement:
    """Read the values of these secrets (ARNs or `<name>-??????` patterns). Decryption is granted by each secret's
    KMS key policy, not here, so the role can decrypt only through Secrets Manager and only for those secrets."""
    return Statement(sid="ReadApiKey", actions=SECRET_READ_ACTIONS, resources=tuple(secret_arns))
