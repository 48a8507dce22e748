"""Read a Pulumi project's `Pulumi.yaml` and a stack's `Pulumi.<stack>.yaml` as the Pulumi CLI does, offline.

    from offline_preview.stack_config import load_stack_config
    project, config = load_stack_config(Path("."), "prod")   # {"aws:region": "eu-west-1", "keyless-ingest:...": ...}

The result is what the CLI hands a program (`namespace:key` -> string); any tool that needs a stack's config without
the Pulumi service can use it. Errors are `mock_engine.errors.PreviewError`, naming the file and the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mock_engine.errors import PreviewError


def load_project(program_dir: Path) -> tuple[str, dict[str, Any]]:
    """The project name and the parsed Pulumi.yaml."""
    project_file = program_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise PreviewError(f"{project_file}: no Pulumi.yaml, so {program_dir} is not a Pulumi project")
    document = _read_yaml(project_file)
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise PreviewError(f"{project_file}: 'name' must be the project name")
    return name, document


def load_stack_config(program_dir: Path, stack: str) -> tuple[str, dict[str, str]]:
    """The project name and the stack's config as the CLI hands it to a program: `namespace:key` -> string.

    Project defaults from Pulumi.yaml come first and Pulumi.<stack>.yaml overrides them, as the CLI does.
    Non-string values are JSON-encoded, which is what `Config.get_object`/`get_int`/`get_bool` parse.
    """
    project, document = load_project(program_dir)
    config: dict[str, str] = {}
    declared = document.get("config") or {}
    if not isinstance(declared, dict):
        raise PreviewError(f"{program_dir / 'Pulumi.yaml'}: 'config' must be a mapping")
    for key, spec in declared.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(spec, dict) and "default" in spec:
            config[full_key] = _config_string(full_key, spec["default"])
        elif not isinstance(spec, dict):
            config[full_key] = _config_string(full_key, spec)

    stack_file = program_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise PreviewError(f"{stack_file}: no such stack config (create it or pick another --stack)")
    stack_config = _read_yaml(stack_file).get("config") or {}
    if not isinstance(stack_config, dict):
        raise PreviewError(f"{stack_file}: 'config' must be a mapping")
    for key, value in stack_config.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and "secure" in value:
            raise PreviewError(
                f"{stack_file}: {full_key} is an encrypted secret, which cannot be read offline (and this "
                "project keeps no secret in stack config)"
            )
        config[full_key] = _config_string(full_key, value)
    return project, config


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PreviewError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise PreviewError(f"{path}: expected a mapping at the top level")
    return document


def _config_string(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | list | dict):
        return json.dumps(value)
    raise PreviewError(f"config {key}: unsupported value of type {type(value).__name__}")
