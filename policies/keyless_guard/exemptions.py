"""Exemptions: a reviewed, expiring waiver of one rule for the resources a glob names, read from the policy config.

They live in the `--policy-pack-config` file the stack already names, under the rule they waive:

    "iam-no-wildcard-actions": {
      "enforcementLevel": "mandatory",
      "exemptions": [{"resource": "legacy-reader-*", "reason": "...", "approvedBy": "...", "expires": "2027-01-31"}]
    }

They are applied in the pack process (`keyless_guard.server`), because the Pulumi CLI runs the pack itself and
hands it this config through `Configure`; the offline preview only shows what the pack reports. An exempted
violation is never dropped: it is reported at the advisory level with a last line `exemption: {...}` naming the
exemption, so every consumer (the CLI, Pulumi Cloud, the offline preview, SARIF) still sees it. An expired exemption
no longer applies: the violation keeps its level, with a last line `exemption expired on <date>: {...}`. An
exemption that matched no violation when the stack was analysed is reported once, as an advisory, as stale.

Rules that find a credential can never be exempted (a leaked key is not a policy choice): an exemption for one is a
config error, as is a missing or empty `resource`, `reason`, `approvedBy` or `expires`, a date that is not ISO
`YYYY-MM-DD`, an unknown key (a typo such as `approved_by` must not pass silently) or a glob that matches every
resource (that is `"enforcementLevel": "disabled"`, said plainly).

In-code exemptions (a tag on the resource) are deliberately not offered: a tag lets the developer whose change is
being judged waive the judgement, with no second person involved (lukehoban, pulumi/pulumi-policy#225: "puts more
power in the hands of individual infrastructure devs to override rules, so is not ideal for truly mandatory
compliance rules"). Every rule this pack blocks with is such a rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from typing import Any, Final

FIELDS: Final = ("resource", "reason", "approvedBy", "expires")
"""Every field an exemption must have, in the order messages show them."""
APPLIED: Final = "exemption: "
EXPIRED: Final = "exemption expired on "
STALE: Final = "stale exemption: "
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


class ExemptionConfigError(ValueError):
    """An exemption in the policy config is malformed or not allowed; the message is one line naming rule and field."""


@dataclass(frozen=True)
class Exemption:
    rule: str
    index: int
    """Position in the rule's `exemptions` list, so a message can point at the entry."""
    resource: str
    """fnmatch-style glob over the resource's name or URN (case-sensitive, as both are)."""
    reason: str
    approved_by: str
    expires: date
    """Last day the exemption applies (inclusive)."""

    def matches(self, name: str, urn: str) -> bool:
        return fnmatchcase(name, self.resource) or fnmatchcase(urn, self.resource)

    def expired(self, today: date) -> bool:
        return today > self.expires

    def as_json(self) -> str:
        """The exemption as one JSON line (field names as in the config), for messages that tools parse back."""
        return json.dumps(
            {
                "rule": self.rule,
                "index": self.index,
                "resource": self.resource,
                "reason": self.reason,
                "approvedBy": self.approved_by,
                "expires": self.expires.isoformat(),
            },
            sort_keys=False,
        )

    def applied_line(self) -> str:
        return APPLIED + self.as_json()

    def expired_line(self) -> str:
        return f"{EXPIRED}{self.expires.isoformat()} and no longer applies: {self.as_json()}"

    def stale_line(self) -> str:
        return (
            f"{STALE}{self.as_json()} matched no violation of {self.rule} in this stack; "
            "remove it from the policy config (or fix its resource glob)."
        )


def parse(config: Mapping[str, Mapping[str, Any]], never_exempt: Collection[str]) -> dict[str, tuple[Exemption, ...]]:
    """Rule name -> its exemptions, from the per-policy config properties the pack receives in `Configure`."""
    found: dict[str, tuple[Exemption, ...]] = {}
    for rule in sorted(config):
        entries = (config[rule] or {}).get("exemptions")
        if entries is None:
            continue
        if rule in never_exempt:
            raise ExemptionConfigError(
                f"policy config {rule}: exemptions are not allowed: {rule} finds credentials, and a leaked "
                "credential is never waived (remove the exemptions and move the value to a secret store)"
            )
        if not isinstance(entries, list):
            raise ExemptionConfigError(f"policy config {rule}: exemptions must be a list of objects")
        found[rule] = tuple(_exemption(rule, index, entry) for index, entry in enumerate(entries))
    return found


def _exemption(rule: str, index: int, entry: Any) -> Exemption:
    where = f"policy config {rule}: exemptions[{index}]"
    if not isinstance(entry, Mapping):
        raise ExemptionConfigError(f"{where} must be an object with {', '.join(FIELDS)}")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise ExemptionConfigError(f"{where} has unknown field {unknown[0]} (fields: {', '.join(FIELDS)})")
    for name in FIELDS:
        value = entry.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ExemptionConfigError(f"{where} is missing {name} (a non-empty string)")
    resource = entry["resource"].strip()
    if not resource.replace("*", "").replace("?", ""):
        raise ExemptionConfigError(
            f"{where}.resource {resource!r} matches every resource; set the rule's enforcementLevel instead"
        )
    expires = entry["expires"].strip()
    try:
        if not _ISO_DATE.fullmatch(expires):
            raise ValueError(expires)
        day = date.fromisoformat(expires)
    except ValueError:
        raise ExemptionConfigError(f"{where}.expires {expires!r} is not an ISO date (YYYY-MM-DD)") from None
    return Exemption(rule, index, resource, entry["reason"].strip(), entry["approvedBy"].strip(), day)


def first_match(exemptions: Iterable[Exemption], name: str, urn: str) -> Exemption | None:
    return next((exemption for exemption in exemptions if exemption.matches(name, urn)), None)
