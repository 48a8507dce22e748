"""Plain views of what the engine sends, with unknown values made explicit.

pulumi_policy hands rules proxies that raise `UnknownValueError` on any read of an unknown value, and the SDK turns
that exception into an advisory "can't run policy during preview". Rules here first copy the props into plain Python
values, turning each unknown into an `Unknown` marker, so a rule decides for itself: skip a field it does not need
(a security group id in an ingress rule), or call `known()` on one it cannot decide without, which raises the SDK's
exception and so reports the standard advisory instead of failing open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

UNKNOWN_SENTINELS: Final = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)
"""The engine's unknown sentinels, one per type (the set pulumi_policy's proxy checks)."""


@dataclass(frozen=True)
class Unknown:
    """A value the engine does not know yet (a computed output during preview)."""

    sentinel: str = UNKNOWN_STRING_VALUE


def plain(value: Any) -> Any:
    """Copy a (possibly proxied) property tree into dicts and lists, with `Unknown` markers for unknowns."""
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Mapping):
        return {str(key): _read(value, key) for key in value}
    if isinstance(value, Sequence):
        return [_read(value, index) for index in range(len(value))]
    return value


def marked(value: Any) -> Any:
    """The same plain copy made from deserialized engine values (no proxies): unknown sentinels become `Unknown`."""
    if isinstance(value, str):
        return Unknown(value) if value in UNKNOWN_SENTINELS else value
    if isinstance(value, dict):
        return {str(key): marked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [marked(item) for item in value]
    return value


def _read(container: Any, key: Any) -> Any:
    try:
        return plain(container[key])
    except UnknownValueError as exc:
        return Unknown(exc.unknown_type_sentinel)


def known(value: Any, *path: str | int) -> Any:
    """Return `value`, or raise the SDK's `UnknownValueError` naming `path` if it is unknown."""
    if isinstance(value, Unknown):
        raise UnknownValueError(value.sentinel, [str(part) for part in path])
    return value


def as_dict(value: Any, *path: str | int) -> dict[str, Any]:
    """`value` if it is a mapping, else an empty dict (wrong types read as absent); raises if unknown."""
    value = known(value, *path)
    return value if isinstance(value, dict) else {}


def as_list(value: Any, *path: str | int) -> list[Any]:
    """`value` if it is a list, `[value]` for a scalar, `[]` for None; raises if unknown."""
    value = known(value, *path)
    if isinstance(value, list):
        return value
    return [] if value is None else [value]
