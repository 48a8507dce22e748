"""Where a program constructed each resource: the program's own source lines, for SARIF and other reports.

The engine never learns where a resource was written, and the mock monitor is called later, from the SDK's executor
thread, where the program's frames are gone. The one moment the program's call stack is still there is the resource's
constructor, and the SDK offers a public hook that runs inside it: a stack transformation
(`pulumi.runtime.register_stack_transformation`), which every resource of the stack inherits through its parent
chain. It changes nothing (returns None); it walks the stack to the frames that are in the program's directory
(not its virtualenv or any installed package) and keeps them, innermost first, keyed by the resource object, whose
URN is read once the run is over.
"""

from __future__ import annotations

import inspect
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pulumi
import pulumi.runtime

MAX_FRAMES: Final = 8
"""Enough for a resource inside a component inside a component, called from the program."""
_DRIVER: Final = Path(__file__).resolve().parent
"""This package: the frames from here outwards run the program, they are not the program."""
_STOP: Final = "\0driver"

Site = tuple[str, int]
"""A source file relative to the program directory (POSIX separators) and a 1-based line."""


class ConstructionSites:
    """Records, for every resource constructed while it is installed, the program lines that constructed it."""

    def __init__(self, program_dir: Path) -> None:
        self.program_dir = program_dir.resolve()
        self._excluded = tuple(
            {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} - {self.program_dir}
        )
        self._recorded: list[tuple[pulumi.Resource, tuple[Site, ...]]] = []
        self._files: dict[str, str | None] = {}

    def install(self) -> None:
        """Register the recording transformation on the root stack; call inside the program run, before the program."""
        pulumi.runtime.register_stack_transformation(self._record)

    def _record(self, args: pulumi.ResourceTransformationArgs) -> None:
        sites: list[Site] = []
        here = inspect.currentframe()
        for frame, line in traceback.walk_stack(here.f_back if here is not None else None):
            relative = self._program_file(frame.f_code.co_filename)
            if relative is _STOP:
                break
            if relative is not None:
                sites.append((relative, line))
                if len(sites) == MAX_FRAMES:
                    break
        if sites:
            self._recorded.append((args.resource, tuple(sites)))

    def _program_file(self, filename: str) -> str | None:
        """The file relative to the program directory; None for a file outside the program; _STOP for the driver."""
        if filename not in self._files:
            self._files[filename] = self._relative(filename)
        return self._files[filename]

    def _relative(self, filename: str) -> str | None:
        if filename.startswith("<"):
            return None
        path = Path(filename).resolve()
        if path.is_relative_to(_DRIVER):
            return _STOP
        if not path.is_relative_to(self.program_dir) or "site-packages" in path.parts:
            return None
        if any(path.is_relative_to(prefix) for prefix in self._excluded):
            return None
        return path.relative_to(self.program_dir).as_posix()

    def by_urn(self, resolve: Any) -> Mapping[str, tuple[Site, ...]]:
        """URN -> sites, once the run is over; `resolve` waits for an Output's value (the run's own loop)."""
        found: dict[str, tuple[Site, ...]] = {}
        for resource, sites in self._recorded:
            urn = resolve(resource.urn)
            if isinstance(urn, str):
                found.setdefault(urn, sites)
        return found
