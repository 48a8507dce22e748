"""IAM policy documents (identity, key, secret and endpoint policies) read into typed statements.

A document arrives as a JSON string (what pulumi_aws sends) or as an object. Single values and lists are both
accepted where IAM accepts both. A malformed document raises `PolicyDocumentError`, which rules report as a
violation: a document the pack cannot read is not a document it has checked.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from keyless_guard.iam_actions import MIN_NAME_PREFIX, ArnScope, classify_arn
from keyless_guard.values import Unknown, known

_POSITIVE_OPERATORS = ("StringEquals", "StringLike", "ArnEquals", "ArnLike", "IpAddress")
CALLER_KEYS: Final = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalservicename",
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:userid",
        "kms:calleraccount",
    }
)
"""Condition keys that restrict who the caller is or where the call comes from: the keys Amazon S3 accepts as making
a policy "not public" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html,
"The meaning of 'public'"), plus `kms:CallerAccount`, KMS's own account key. Keys such as `aws:SecureTransport`,
`aws:RequestedRegion` or `aws:CurrentTime` restrict how or when, never who: a public grant behind them is public."""


class PolicyDocumentError(ValueError):
    """The document is not valid JSON or not shaped like an IAM policy."""


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principals: tuple[str, ...]
    """Principal values flattened: `*` or the ARNs / service names under AWS, Service, Federated."""
    has_not_principal: bool
    conditions: dict[str, dict[str, tuple[str, ...]]]
    """operator -> condition key -> values."""

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    @property
    def label(self) -> str:
        return statement_label(self.index) + (f" (Sid {self.sid})" if self.sid else "")

    @property
    def public_principal(self) -> bool:
        return "*" in self.principals

    def restricting_keys(self) -> set[str]:
        """Lower-cased condition keys that really narrow the statement, judged on operator and value, not key alone.

        Counted: positive operators (`StringEquals`, `StringLike`, `ArnEquals`, `ArnLike`, `IpAddress`, and their
        `ForAnyValue:` forms), whose values are not all-covering (`*`, `arn:aws:*`, `arn:aws:iam::*:*`, `0.0.0.0/0`).
        Not counted: negated operators, `...IfExists` (true when the key is absent), and `ForAllValues:` (true when
        the key is absent or single-valued and missing, so every request without it matches).
        """
        keys: set[str] = set()
        for operator, clauses in self.conditions.items():
            base = operator.removeprefix("ForAnyValue:")
            if not base.startswith(_POSITIVE_OPERATORS) or "Not" in base or base.endswith("IfExists"):
                continue
            keys.update(
                key.lower()
                for key, values in clauses.items()
                if values and not any(covers_everything(value, operator) for value in values)
            )
        return keys

    def grants(self, action: str) -> bool:
        """True if this Allow covers `action` (lower-case, no wildcard), through Action patterns or NotAction."""
        if not self.allows:
            return False
        if self.not_actions:
            return not any(fnmatch.fnmatchcase(action, pattern.lower()) for pattern in self.not_actions)
        return any(fnmatch.fnmatchcase(action, pattern.lower()) for pattern in self.actions)


def covers_everything(value: str, operator: str) -> bool:
    """True when a condition value matches any caller or resource: a bare wildcard, an ARN wildcarded before its
    account (`arn:aws:*`, `arn:aws:iam::*:*`, `arn:aws:secretsmanager:*`), or an address block covering the internet."""
    if operator.removeprefix("ForAnyValue:").startswith("IpAddress"):
        try:
            return ipaddress.ip_network(value, strict=False).prefixlen == 0
        except ValueError:
            return False
    if not re.search(r"[*?]", value):
        return False
    if re.fullmatch(r"[*?]+", value):
        return True
    parts = value.split(":", 5)
    if parts[0] != "arn":
        return _id_wildcard_covers_all(value)
    if len(parts) == 6 and classify_arn(value).scope in _COVERING_SCOPES:
        # `secret:*`, `vpc/*`, `role*`, `secret:a*`: every resource of the type, as broad as the grant it would narrow
        return True
    wild = [bool(re.search(r"[*?]", part)) for part in parts]
    if len(parts) < 6:
        return True  # `arn:aws:*`, `arn:aws:secretsmanager:*`: the wildcard swallows the account and everything after
    _, _, service, _, account, resource = parts
    # Inside one named account a wildcard still restricts (`arn:aws:iam::111122223333:role/*`); a wildcard in the
    # service or account field, or an account-less ARN whose resource starts with one (`arn:aws:s3:::*`), does not.
    return wild[2] or wild[4] or (not account and resource[:1] in ("*", "?")) or not service


_COVERING_SCOPES: Final = frozenset(
    {ArnScope.RESOURCE_TYPE, ArnScope.SERVICE, ArnScope.ACCOUNT, ArnScope.SHORT_NAME_PREFIX}
)
"""ARN scopes that match every resource of a type (or more); a path (`role/aws-reserved/sso.amazonaws.com/*`) and a
named prefix still restrict."""
_ID_PREFIX = re.compile(r"(vpce|vpc|subnet|sg|eni|igw|nat|rtb|acl|pl|tgw|ami|snap|vol|lt|fs|i|o|ou|r)-")
"""An AWS id's type prefix (`vpce-`, `vpc-`, `subnet-`, organization `o-`, `ou-`): a wildcard right after it covers
every id of the type."""


def _id_wildcard_covers_all(value: str) -> bool:
    """A non-ARN value whose literal part before the first wildcard, after an id's type prefix, is shorter than
    `MIN_NAME_PREFIX` (`vpce-*`, `vpc-0*`, `p*`): it matches every endpoint, VPC or tag value of that kind."""
    literal = re.split(r"[*?]", value, maxsplit=1)[0]
    prefix = _ID_PREFIX.match(literal)
    return len(literal[prefix.end() if prefix else 0 :]) < MIN_NAME_PREFIX


def parse_document(value: Any, *path: str | int) -> list[Statement]:
    """Statements of the policy document `value` (JSON text or object); raises if unknown or malformed."""
    value = known(value, *path)
    if isinstance(value, str):
        parsed = _parse_text(value)
        if isinstance(parsed, PolicyDocumentError):
            raise PolicyDocumentError(str(parsed))
        return list(parsed)
    return _parse_object(value)


@lru_cache(maxsize=512)
def _parse_text(text: str) -> tuple[Statement, ...] | PolicyDocumentError:
    """A JSON document parsed once for every rule that reads it (the same role is read by five rules)."""
    try:
        return tuple(_parse_object(json.loads(text)))
    except ValueError as exc:  # json's JSONDecodeError and our PolicyDocumentError
        return exc if isinstance(exc, PolicyDocumentError) else PolicyDocumentError("is not valid JSON")


def statement_label(index: int) -> str:
    """How messages name the statement at 0-based `index`: counted from 1, as a reader counts ("statement 1" is the
    first). Paths to unknown values (`Statement`, 0, `Action`) stay 0-based, as JSON paths are."""
    return f"statement {index + 1}"


def _parse_object(value: Any) -> list[Statement]:
    if not isinstance(value, dict):
        raise PolicyDocumentError("is not a JSON object")
    statements = value.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise PolicyDocumentError("has no Statement list")
    return [_statement(index, raw) for index, raw in enumerate(statements)]


def read_statements(value: Any, where: str, report: Callable[[str], None] | None) -> list[Statement]:
    """`parse_document`, reporting a malformed document (when `report` is given) instead of raising."""
    try:
        return parse_document(value, where)
    except PolicyDocumentError as exc:
        if report is not None:
            report(f"The policy document in {where} {exc}, so it cannot be checked. Provide a valid IAM JSON policy.")
        return []


def _statement(index: int, raw: Any) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyDocumentError(f"{statement_label(index)} is not an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyDocumentError(f"{statement_label(index)} has no Effect Allow or Deny")
    conditions = raw.get("Condition") or {}
    if not isinstance(conditions, dict) or not all(isinstance(v, dict) for v in conditions.values()):
        raise PolicyDocumentError(f"{statement_label(index)} has a malformed Condition")
    return Statement(
        index=index,
        sid=raw["Sid"] if isinstance(raw.get("Sid"), str) else "",
        effect=effect,
        actions=_strings(raw.get("Action"), index, "Action"),
        not_actions=_strings(raw.get("NotAction"), index, "NotAction"),
        resources=_strings(raw.get("Resource"), index, "Resource"),
        not_resources=_strings(raw.get("NotResource"), index, "NotResource"),
        principals=tuple(_principals(raw.get("Principal"), index)),
        has_not_principal="NotPrincipal" in raw,
        conditions={
            str(op): {
                str(key): _strings(
                    _stand_in(values) if str(key).lower() in _NETWORK_KEYS else values, index, "Condition"
                )
                for key, values in clauses.items()
            }
            for op, clauses in conditions.items()
        },
    )


UNKNOWN_CONDITION_VALUE: Final = "<unknown at preview>"
"""What an `aws:SourceVpce` value unknown at preview reads as (an endpoint id AWS assigns when it creates the
endpoint), so the rest of the document is judged. It holds no wildcard, so it never widens a grant; every other
unknown still stops the rule ("can't run"), and policy-known-at-preview refuses an unknown document unless it flows
only from this stack's own VPC endpoints (preview_knowledge.py)."""
_NETWORK_KEYS: Final = frozenset({"aws:sourcevpce"})


def _stand_in(values: Any) -> Any:
    if isinstance(values, list):
        return [UNKNOWN_CONDITION_VALUE if isinstance(value, Unknown) else value for value in values]
    return UNKNOWN_CONDITION_VALUE if isinstance(values, Unknown) else values


def _strings(value: Any, index: int, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [known(item, "Statement", index, field) for item in (value if isinstance(value, list) else [value])]
    if not all(isinstance(item, str | bool | int | float) for item in items):
        raise PolicyDocumentError(f"{statement_label(index)} has a malformed {field}")
    return tuple(str(item).lower() if isinstance(item, bool) else str(item) for item in items)


def _principals(value: Any, index: int) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, str):
        yield value
        return
    if not isinstance(value, dict):
        raise PolicyDocumentError(f"{statement_label(index)} has a malformed Principal")
    for kind in value:
        yield from _strings(value[kind], index, "Principal")
