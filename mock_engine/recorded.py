"""What one run of a Pulumi program under mocks registered: the data the preview and the policy pack share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi.output

UNKNOWN: Final = pulumi.output.UNKNOWN
"""A value the engine cannot know during preview (a computed output of a resource not yet created)."""


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
