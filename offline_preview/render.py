"""Show a program run as `pulumi preview` does (the tree), or as JSON (`--json`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pulumi

from mock_engine.program_run import ProgramRun
from mock_engine.recorded import SHOWN_SECRET, UNKNOWN, RecordedResource, is_secret


def short_type(type_token: str) -> str:
    """`aws:ec2/vpc:Vpc` -> `aws:ec2:Vpc`, as `pulumi preview` shows types."""
    package, module, name = [*type_token.split(":"), "", ""][:3]
    return f"{package}:{module.split('/')[0]}:{name}" if name else type_token


def render_tree(run: ProgramRun, annotate: Callable[[RecordedResource], Sequence[str]] | None = None) -> str:
    """The resource tree as `pulumi preview` prints it; `annotate` adds lines under a resource."""
    children: dict[str | None, list[RecordedResource]] = {}
    for resource in run.resources:
        children.setdefault(resource.parent, []).append(resource)
    rows: list[tuple[str, str, str, RecordedResource]] = []

    def walk(resource: RecordedResource, prefix: str, connector: str) -> None:
        rows.append((prefix + connector, short_type(resource.type), resource.name, resource))
        kids = children.get(resource.urn, [])
        extension = "" if not connector else ("   " if connector == "└─ " else "│  ")
        for index, child in enumerate(kids):
            walk(child, prefix + extension, "└─ " if index == len(kids) - 1 else "├─ ")

    walk(run.resources[0], "", "")
    type_width = max(len(indent + kind) for indent, kind, _, _ in rows) + 2
    name_width = max(len(name) for _, _, name, _ in rows) + 2
    lines = [
        f"Previewing update ({run.stack}) offline:",
        "",
        f"     {'Type':<{type_width}}{'Name':<{name_width}}Plan",
    ]
    for indent, kind, name, resource in rows:
        lines.append(f" +   {indent + kind:<{type_width}}{name:<{name_width}}create")
        for note in annotate(resource) if annotate else ():
            lines.append(f"     {' ' * len(indent)}  {note}")
    if run.program_output.strip():
        lines += ["", diagnostics(run)]
    if run.outputs:
        lines += ["", "Outputs:"]
        width = max(len(name) for name in run.outputs) + 1
        for name, value in sorted(run.outputs.items()):
            shown = _shown_output(value)
            lines.append(f"    {name + ':':<{width}} {shown}")
    lines += ["", "Resources:", f"    + {len(run.resources)} to create"]
    return "\n".join(lines)


def _shown_output(value: Any) -> str:
    """An export as `pulumi preview` shows it: `[secret]` whether known or not, `output<string>` if unknown."""
    if is_secret(value):
        return SHOWN_SECRET
    if value is UNKNOWN:
        return "output<string>"
    return json.dumps(to_jsonable(value), default=str)


def diagnostics(run: ProgramRun) -> str:
    """What the program printed, under its stack, as `pulumi preview` shows a program's output."""
    stack = run.resources[0]
    printed = [f"    {line}" for line in run.program_output.rstrip().splitlines()]
    return "\n".join(["Diagnostics:", f"  {stack.type} ({stack.name}):", *printed])


def to_jsonable(value: Any) -> Any:
    """Inputs as JSON: unknowns as "<unknown>", secrets as "[secret]", assets and archives by what they point at."""
    if value is UNKNOWN:
        return "<unknown>"
    if is_secret(value):
        return SHOWN_SECRET
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return {"archive" if isinstance(value, pulumi.Archive) else "asset": {"path": value.path}}
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {"assets": {name: to_jsonable(item) for name, item in value.assets.items()}}}
    if isinstance(value, pulumi.StringAsset):
        return {"asset": {"text": value.text}}
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    return value


def resources_json(run: ProgramRun) -> list[dict[str, Any]]:
    return [
        {
            "urn": resource.urn,
            "type": resource.type,
            "name": resource.name,
            "parent": resource.parent,
            "inputs": to_jsonable(dict(resource.inputs)),
        }
        for resource in run.resources
    ]
