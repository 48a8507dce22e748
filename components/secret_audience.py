"""Who is expected to read one secret, and which CloudTrail records are about it: the one description that the
metric filters (components/monitoring_model.py), the saved Logs Insights queries (components/audit_queries.py) and
the operator report (access_report/report.py) are all built from, so the alarm and the report cannot disagree.

Three facts, each with one definition here:

- **this secret**: a `requestParameters.secretId` that is the secret's name, its partial ARN (no suffix), or its
  full ARN (the partial ARN, `-` and the six random characters Secrets Manager appends). Metric filters only know
  the `*` wildcard, so the full ARN is matched as `<partial ARN>-*`; the report uses exactly the same rule, so a
  read of a look-alike secret named `<name>-<more>` is flagged by both (a false alarm is the safe way to be wrong).
- **this region**: `awsRegion` equals the secret's region. A multi-region trail also records reads of a same-named
  secret in other regions, which are other secrets (a name resolves in the caller's region).
- **an expected reader**: the call was made with temporary credentials of one of the reader roles, i.e.
  `userIdentity.sessionContext.sessionIssuer.arn` is one of their ARNs. IAM users, the root user, services and
  principals of other accounts never are.
- **inside the perimeter**: the call came through one of the stack's VPC endpoints, i.e. `vpcEndpointId` is one of
  `endpoint_ids` (CloudTrail records the field only for calls made through an endpoint). With no ids given, any
  endpoint counts and only a call with no `vpcEndpointId` (from the internet) is outside. An expected reader's read
  from outside is the stolen-credential signal: the principal is right, the place is wrong.

CloudTrail record fields: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
and https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html

This module imports no pulumi, so the access report can use it cheaply; policies/ never imports it.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.aws_context import AwsContext

SECRETS_MANAGER = "secretsmanager.amazonaws.com"
KMS = "kms.amazonaws.com"
READ_EVENT = "GetSecretValue"
"""The record every read leaves. BatchGetSecretValue also writes one GetSecretValue record for each secret it is
asked for (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html), so counting
GetSecretValue records counts batch reads too, once each."""
BATCH_READ_EVENT = "BatchGetSecretValue"
SECRET_CHANGE_EVENTS = (
    "PutSecretValue",
    "UpdateSecret",
    "RotateSecret",
    "PutResourcePolicy",
    "DeleteResourcePolicy",
    "DeleteSecret",
    "RestoreSecret",
    "UpdateSecretVersionStage",
    "TagResource",
)
KEY_CHANGE_EVENTS = ("PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey")
DENIED_ERROR_CODES = ("AccessDenied", "AccessDeniedException")

# JSON selectors as CloudWatch filter patterns write them; the report reads the same paths.
EVENT_SOURCE = "$.eventSource"
EVENT_NAME = "$.eventName"
AWS_REGION = "$.awsRegion"
ERROR_CODE = "$.errorCode"
REQUESTED_ID = "$.requestParameters.secretId"
VPC_ENDPOINT = "$.vpcEndpointId"
"""The VPC endpoint a call came through; absent for a call that came through none (record contents page above)."""
SOURCE_ADDRESS = "$.sourceIPAddress"
SESSION_ISSUER = "$.userIdentity.sessionContext.sessionIssuer.arn"
"""For a call made with a role's temporary credentials, the role's IAM ARN (path included). Absent for IAM users,
the root user and calls from another account, which the unexpected-read pattern must therefore also catch."""

_ROLE_ARN = re.compile(r"arn:[a-z-]+:iam::\d{12}:role/[\w+=,.@/-]+")
ENDPOINT_ID = re.compile(r"vpce-[0-9a-f]{8,17}")
"""A VPC endpoint id: `vpce-` and 8 to 17 hexadecimal digits (stack_settings checks config values with it)."""
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")


def select(record: Mapping[str, Any], selector: str) -> Any:
    """The value at a `$.a.b.c` selector, or None when any step is missing or not an object."""
    value: Any = record
    for part in selector.removeprefix("$.").split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def require_role_arn(arn: str) -> str:
    """Return `arn` if it is an IAM role ARN; the reader check compares role ARNs, so nothing else can match."""
    if not _ROLE_ARN.fullmatch(arn):
        raise ValueError(f"{arn!r} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)")
    return arn


@dataclass(frozen=True)
class SecretAudience:
    """One secret, its region and account, and the roles expected to read it."""

    context: AwsContext
    """Partition, region and account of the secret."""
    secret_name: str
    """The secret's name (never its value)."""
    reader_role_arns: tuple[str, ...]
    """IAM role ARNs whose sessions are expected to read the secret."""
    endpoint_ids: tuple[str, ...] = ()
    """The VPC endpoints an expected reader's reads come through; empty means any endpoint."""

    def __post_init__(self) -> None:
        if not _SECRET_NAME.fullmatch(self.secret_name):
            raise ValueError(f"{self.secret_name!r} is not a Secrets Manager secret name")
        for arn in self.reader_role_arns:
            require_role_arn(arn)
        for endpoint in self.endpoint_ids:
            if not ENDPOINT_ID.fullmatch(endpoint):
                raise ValueError(f"{endpoint!r} is not a VPC endpoint id (vpce- and hexadecimal digits)")

    @classmethod
    def of(
        cls, context: AwsContext, secret_name: str, reader_role_arns: Sequence[str], endpoint_ids: Sequence[str] = ()
    ) -> "SecretAudience":
        return cls(context, secret_name, tuple(reader_role_arns), tuple(endpoint_ids))

    def with_endpoints(self, endpoint_ids: Sequence[str]) -> "SecretAudience":
        """The same audience whose perimeter is `endpoint_ids` (known once the endpoints exist)."""
        return SecretAudience(self.context, self.secret_name, self.reader_role_arns, tuple(endpoint_ids))

    @property
    def partial_arn(self) -> str:
        """The secret's ARN without the random suffix."""
        return self.context.arn("secretsmanager", f"secret:{self.secret_name}")

    @property
    def arn_pattern(self) -> str:
        """The ARN with `??????` for the suffix, as IAM policies name the secret."""
        return self.context.secret_arn_pattern(self.secret_name)

    def identifiers(self) -> tuple[str, ...]:
        """The SecretId values that name this secret, as filter-pattern values (`*` is the wildcard)."""
        return (self.secret_name, self.partial_arn, f"{self.partial_arn}-*")

    # --- classification of one CloudTrail record (the report)

    def names_secret(self, secret_id: object) -> bool:
        """True when `secret_id` is one of `identifiers()`, with the same meaning of `*` as a filter pattern."""
        if not isinstance(secret_id, str):
            return False
        return secret_id in (self.secret_name, self.partial_arn) or secret_id.startswith(f"{self.partial_arn}-")

    def in_region(self, record: Mapping[str, Any]) -> bool:
        return bool(select(record, AWS_REGION) == self.context.region)

    def is_read(self, record: Mapping[str, Any]) -> bool:
        """A GetSecretValue record of this secret in its region, successful or not, by anyone."""
        return (
            select(record, EVENT_SOURCE) == SECRETS_MANAGER
            and select(record, EVENT_NAME) == READ_EVENT
            and self.in_region(record)
            and self.names_secret(select(record, REQUESTED_ID))
        )

    def is_expected(self, record: Mapping[str, Any]) -> bool:
        """The caller used a session of one of the reader roles."""
        return select(record, SESSION_ISSUER) in self.reader_role_arns

    def is_unexpected_read(self, record: Mapping[str, Any]) -> bool:
        return self.is_read(record) and not self.is_expected(record)

    def came_through_endpoint(self, record: Mapping[str, Any]) -> bool:
        """The call came through one of `endpoint_ids` (through any endpoint when none are given)."""
        endpoint = select(record, VPC_ENDPOINT)
        if not isinstance(endpoint, str) or not endpoint:
            return False
        return not self.endpoint_ids or endpoint in self.endpoint_ids

    def is_read_outside_perimeter(self, record: Mapping[str, Any]) -> bool:
        """A read by an expected reader's session that did not come through the stack's endpoints: the right
        principal in the wrong place, i.e. its credentials used somewhere else (successful or denied)."""
        return self.is_read(record) and self.is_expected(record) and not self.came_through_endpoint(record)

    def is_change(self, record: Mapping[str, Any]) -> bool:
        """A Secrets Manager call that changes this secret, its value, versions, tags or policy."""
        return (
            select(record, EVENT_SOURCE) == SECRETS_MANAGER
            and select(record, EVENT_NAME) in SECRET_CHANGE_EVENTS
            and self.in_region(record)
            and self.names_secret(select(record, REQUESTED_ID))
        )

    def is_decrypt_for_secret(self, record: Mapping[str, Any]) -> bool:
        """A KMS Decrypt whose encryption context names this secret: Secrets Manager decrypting it for a caller
        (https://docs.aws.amazon.com/kms/latest/developerguide/services-secrets-manager.html#asm-encryption-context)."""
        return (
            select(record, EVENT_SOURCE) == KMS
            and select(record, EVENT_NAME) == "Decrypt"
            and self.in_region(record)
            and self.names_secret(select(record, "$.requestParameters.encryptionContext.SecretARN"))
        )

    # --- CloudWatch Logs Insights (saved queries and the report's --insights source)

    def insights_read_filter(self) -> str:
        """An Insights `filter` expression equal to `is_read`."""
        return self._insights_secret_calls(f'eventName = "{READ_EVENT}"')

    def insights_change_filter(self, key_arn: str | None) -> str:
        """Changes to the secret (`is_change`) and, when `key_arn` is given, to its KMS key."""
        secret = f"({self._insights_secret_calls(f'eventName in [{_insights_list(SECRET_CHANGE_EVENTS)}]')})"
        if key_arn is None:
            return secret
        key_changes = f"eventName in [{_insights_list(KEY_CHANGE_EVENTS)}]"
        return f'{secret} or (eventSource = "{KMS}" and {key_changes} and resources.0.ARN = "{key_arn}")'

    def insights_source_filter(self) -> str:
        """Every record the report may need in one window: this secret's Secrets Manager calls, KMS calls whose
        encryption context names it, and KMS key changes (the report keeps those on the secret's key)."""
        region = f'awsRegion = "{self.context.region}"'
        names_it = self._insights_names_secret("requestParameters.encryptionContext.SecretARN")
        key_changes = f"eventName in [{_insights_list(KEY_CHANGE_EVENTS)}]"
        return (
            f'({self._insights_secret_calls(region)}) or (eventSource = "{KMS}" and {region} and '
            f"({key_changes} or {names_it}))"
        )

    def _insights_secret_calls(self, condition: str) -> str:
        return (
            f'eventSource = "{SECRETS_MANAGER}" and {condition} and awsRegion = "{self.context.region}" and '
            f"{self._insights_names_secret('requestParameters.secretId')}"
        )

    def _insights_names_secret(self, field: str) -> str:
        return (
            f'({field} = "{self.secret_name}" or {field} = "{self.partial_arn}" or '
            f"{field} like /^{insights_regex_literal(self.partial_arn + '-')}/)"
        )

    def describe(self) -> dict[str, object]:
        """What a stack exports about the audience (JSON), read back by `access_report.report --stack`."""
        return {
            "partition": self.context.partition,
            "region": self.context.region,
            "accountId": self.context.account_id,
            "secretName": self.secret_name,
            "readerRoleArns": list(self.reader_role_arns),
            **({"endpointIds": list(self.endpoint_ids)} if self.endpoint_ids else {}),
        }


def _insights_list(values: Sequence[str]) -> str:
    return ", ".join(f'"{value}"' for value in values)


def insights_regex_literal(text: str) -> str:
    """`text` as a literal inside an Insights `/regex/`: regex metacharacters and the `/` delimiter escaped."""
    return re.sub(r"([\\^$.|?*+()\[\]{}/])", r"\\\1", text)
