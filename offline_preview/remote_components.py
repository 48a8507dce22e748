"""Components implemented by a provider plugin (remote components), which the offline preview cannot look inside.

A component package such as awsx or eks registers its components with `remote=True` (`pulumi.ComponentResource(...,
remote=True)` in the generated SDK): the engine asks the package's provider plugin to `Construct` the component, and
the plugin registers the resources inside it. The offline preview runs no provider plugin, so those resources are not
previewed and the pack never sees them. How many there would be is only known to the plugin: the count is unknown
(None), and the preview says so rather than showing an empty component as if it held nothing.

That is the same gap as a policy document unknown at preview, which keyless-guard's `policy-known-at-preview` turns
into a violation at the level the stack's policy config gives it. So remote components are reported at that level:
mandatory (exit 1) where the stack's config, or the pack's default, makes unread values mandatory; advisory elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from mock_engine.recorded import RecordedResource

GATE_POLICY: Final = "policy-known-at-preview"
"""The pack's policy whose level says how a value the pack cannot read is judged."""
DEFAULT_LEVEL: Final = "mandatory"
"""keyless-guard's own level for GATE_POLICY (policies/keyless_guard/preview_knowledge.py)."""
NAME: Final = "remote-component-not-previewed"


@dataclass(frozen=True)
class RemoteComponent:
    urn: str
    type: str
    name: str
    resources_inside: int | None
    """How many resources the plugin would register inside it; None: unknown offline (always, today)."""

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]

    def note(self) -> str:
        count = "an unknown number of" if self.resources_inside is None else str(self.resources_inside)
        return (
            f"{count} resources inside it are not previewed offline and were not judged by the pack "
            f"(the {self.package} provider plugin builds them)"
        )


def find(resources: Sequence[RecordedResource]) -> list[RemoteComponent]:
    return [RemoteComponent(r.urn, r.type, r.name, None) for r in resources if r.remote]


def level(policy_config: Mapping[str, Any] | None) -> str:
    """The enforcement level the stack's policy config gives GATE_POLICY (its own entry, else "all", else the
    pack's default), as `--policy-pack-config` resolves a policy's level."""
    config = policy_config or {}
    entry = config.get(GATE_POLICY)
    if isinstance(entry, dict):
        entry = entry.get("enforcementLevel")
    if isinstance(entry, str):
        return entry
    overall = config.get("all")
    if isinstance(overall, dict):
        overall = overall.get("enforcementLevel")
    return overall if isinstance(overall, str) else DEFAULT_LEVEL


def summary(components: Sequence[RemoteComponent], enforcement: str | None) -> str:
    if not components:
        return ""
    if enforcement is None:
        verdict = "not judged: the pack did not run"
    else:
        outcome = "the preview fails" if enforcement == "mandatory" else "the preview does not fail on them"
        verdict = f"{enforcement}, the level of {GATE_POLICY}: {outcome}"
    return "\n".join(
        [
            "",
            "",
            f"Remote components: {len(components)} not looked inside ({verdict})",
            *(f"    {c.type} {c.name}: {c.note()}" for c in components),
        ]
    )


def json_fields(components: Sequence[RemoteComponent], enforcement: str | None) -> dict[str, Any]:
    return {
        "remote_components": [
            {
                "urn": c.urn,
                "type": c.type,
                "name": c.name,
                "resources_not_previewed": c.resources_inside,
                "resources_not_previewed_known": c.resources_inside is not None,
                "enforcement": enforcement,
            }
            for c in components
        ]
    }
