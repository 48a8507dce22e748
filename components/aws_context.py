"""Partition, region and account, and the ARNs built from them.

The three values come from invokes (`aws.get_partition`, `aws.get_region`, `aws.get_caller_identity`), which
resolve during preview. ARNs built here are therefore known at the first preview of a fresh stack, unlike
the `arn` outputs of resources that do not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwsContext:
    partition: str
    region: str
    account_id: str
    dns_suffix: str = "amazonaws.com"
    """From `aws.get_partition`: differs in the China and GovCloud partitions."""

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    @property
    def account_root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def role_arn(self, role_name: str) -> str:
        return self.arn("iam", f"role/{role_name}", regional=False)

    def secret_arn_pattern(self, secret_name: str) -> str:
        """Secrets Manager appends `-` and six random characters to every secret's ARN; `??????` matches them
        and nothing longer, so a secret named `<name>-other` is not covered."""
        return self.arn("secretsmanager", f"secret:{secret_name}-??????")

    def table_arn(self, table_name: str) -> str:
        return self.arn("dynamodb", f"table/{table_name}")

    def log_group_arn(self, log_group_name: str) -> str:
        return self.arn("logs", f"log-group:{log_group_name}")

    def kms_alias_arn(self, alias_name: str) -> str:
        return self.arn("kms", alias_name)

    def service_endpoint(self, service: str) -> str:
        """The VPC endpoint service name, e.g. `com.amazonaws.eu-west-1.secretsmanager`."""
        return f"com.amazonaws.{self.region}.{service}"

    def service_host(self, service: str) -> str:
        """The value of `kms:ViaService` for requests a service makes on a caller's behalf."""
        return f"{service}.{self.region}.{self.dns_suffix}"
