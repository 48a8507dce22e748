"""Partition, region and account, and the ARNs built from them.

The three values come from invokes (`aws.get_partition`, `aws.get_region`, `aws.get_caller_identity`), which
resolve during preview. ARNs built here are therefore known at the first preview of a fresh stack, unlike
the `arn` outputs of resources that do not exist yet.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import pulumi


@dataclass(frozen=True)
class AwsContext:
    """The partition, region and account that ARNs are built from."""

    partition: str
    """AWS partition, e.g. aws, aws-cn or aws-us-gov."""
    region: str
    """Region of the resources, e.g. eu-west-1."""
    account_id: str
    """Twelve-digit account id."""
    dns_suffix: str = "amazonaws.com"
    """From `aws.get_partition`: differs in the China and GovCloud partitions."""

    @classmethod
    def current(cls, *, parent: "pulumi.Resource | None" = None) -> Self:
        """Read the three values with invokes, through `parent`'s provider. The invokes resolve during preview."""
        # Imported here: this module stays free of pulumi for the access report, which only builds ARNs
        # (components/secret_audience).
        import pulumi
        import pulumi_aws as aws

        opts = pulumi.InvokeOptions(parent=parent)
        partition = aws.get_partition(opts=opts)
        return cls(
            partition=partition.partition,
            region=aws.get_region(opts=opts).region,
            account_id=aws.get_caller_identity(opts=opts).account_id,
            dns_suffix=partition.dns_suffix,
        )

    @classmethod
    def resolve(cls, given: "AwsContext | Mapping[str, Any] | None", *, parent: "pulumi.Resource") -> "AwsContext":
        """A component's `context` argument as an AwsContext. A Python program passes an AwsContext; the component
        package host passes the same fields as a mapping (snake_case keys); a program in another language may leave
        it out, and then the values are read through the component's provider (`current`)."""
        if isinstance(given, AwsContext):
            return given
        if given is None:
            return cls.current(parent=parent)
        missing = {"partition", "region", "account_id"} - set(given)
        if missing:
            raise ValueError(f"context: missing {', '.join(sorted(missing))}")
        return cls(
            partition=str(given["partition"]),
            region=str(given["region"]),
            account_id=str(given["account_id"]),
            dns_suffix=str(given.get("dns_suffix") or "amazonaws.com"),
        )

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
