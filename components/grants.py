"""Typed grants: what the function may do, turned into IAM statements in one place."""

from __future__ import annotations

from dataclasses import dataclass

from components.iam import Statement

TABLE_WRITE_ACTIONS: tuple[str, ...] = ("dynamodb:BatchWriteItem",)
"""Exactly the DynamoDB calls the handler makes (tests/components/test_grants_match_handler.py proves it)."""

SECRET_READ_ACTIONS: tuple[str, ...] = ("secretsmanager:GetSecretValue",)
"""The handler reads the value by name; it never calls DescribeSecret."""


@dataclass(frozen=True)
class TableWriteGrant:
    """Write items to one DynamoDB table."""

    table_arn: str

    def statements(self) -> tuple[Statement, ...]:
        return (Statement(sid="WriteReadings", actions=TABLE_WRITE_ACTIONS, resources=(self.table_arn,)),)


@dataclass(frozen=True)
class SecretReadGrant:
    """Read the value of one secret. Decryption is granted by the secret's KMS key policy, not here, so the
    role can decrypt only through Secrets Manager and only for this secret."""

    secret_arn_pattern: str

    def statements(self) -> tuple[Statement, ...]:
        return (Statement(sid="ReadApiKey", actions=SECRET_READ_ACTIONS, resources=(self.secret_arn_pattern,)),)


Grant = TableWriteGrant | SecretReadGrant
