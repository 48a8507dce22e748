"""What one run of a Pulumi program under mocks registered: the data the preview and the policy pack share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi.output

from mock_engine.pulumi_internals import SECRET_SIG, SECRET_SIG_KEY

UNKNOWN: Final = pulumi.output.UNKNOWN
"""A value the engine cannot know during preview (a computed output of a resource not yet created)."""

SHOWN_SECRET: Final = "[secret]"  # noqa: S105 (the mask, not a password)
"""How `pulumi preview` shows a secret, in the tree, its outputs and --json."""


def secret(value: Any) -> dict[str, Any]:
    """`value` marked secret, as the wire marks it (the pack gets the plain value, as the CLI sends it)."""
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def is_secret(value: Any) -> bool:
    """True for a value marked secret by `secret` or by the SDK's serializer."""
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def reveal(value: Any) -> tuple[Any, bool]:
    """`value` with every secret marker inside it removed, and whether there was one.

    What a provider gets: plain values. The caller marks whatever it derives from them secret again, as the engine
    marks a resource's outputs secret when a secret went in.
    """
    if is_secret(value):
        return reveal(value.get("value"))[0], True
    if isinstance(value, dict):
        found = False
        plain: dict[str, Any] = {}
        for key, item in value.items():
            plain[key], inner = reveal(item)
            found = found or inner
        return plain, found
    if isinstance(value, list):
        pairs = [reveal(item) for item in value]
        return [item for item, _ in pairs], any(inner for _, inner in pairs)
    return value, False


@dataclass(frozen=True)
class RecordedResource:
    """One resource registration, with the engine's camelCase property names."""

    urn: str
    type: str
    name: str
    parent: str | None
    """URN of the parent resource; None only for the stack itself."""
    inputs: Mapping[str, Any]
    """Inputs as the engine receives them; may hold UNKNOWN and pulumi Assets/Archives."""
    outputs: Mapping[str, Any]
    """What the mock returned: the inputs plus computed values (UNKNOWN for those in a first preview)."""
    dependencies: tuple[str, ...] = ()
    """URNs this resource depends on."""
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """For each input property, the URNs whose outputs flowed into it."""
    provider: str = ""
    custom: bool = True
    """False for component resources, which own no cloud state."""
    sites: tuple[tuple[str, int], ...] = ()
    """Where the program constructed it: (file relative to the program directory, line), innermost call first (the
    line of the constructor call itself, then the lines that called that code). Empty when the run recorded none."""
    remote: bool = False
    """A component implemented by a provider plugin (awsx, eks: `remote=True`): its children are made by the plugin,
    which the offline preview does not run, so they are neither previewed nor judged by the pack."""
