"""A Pulumi program run under mocks, recorded: what the engine would be told, answered as AWS would answer.

This package also runs inside a program's own virtualenv (`python -m mock_engine.program_run REQUEST RESULT`), where
only pulumi and the program's providers are installed: it imports pulumi and its own modules, nothing else. Every
private Pulumi SDK name it needs is in mock_engine.pulumi_internals.

The façade names the package's public parts and loads each on first use (PEP 562), so that importing one of them
(`mock_engine.errors` from a tool that never runs a program) does not pull in pulumi and the rest.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "PreviewError": "mock_engine.errors",
    "ProgramRun": "mock_engine.program_run",
    "RunRequest": "mock_engine.program_run",
    "run_body": "mock_engine.program_run",
    "run_entry_point": "mock_engine.program_run",
    "run_under_mocks": "mock_engine.program_run",
    "RecordedResource": "mock_engine.recorded",
    "UNKNOWN": "mock_engine.recorded",
    "is_secret": "mock_engine.recorded",
    "secret": "mock_engine.recorded",
    "PreviewMocks": "mock_engine.mocks",
    "ACCOUNT_ID": "mock_engine.invoke_answers",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'mock_engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
