"""mock_engine's façade: every public name resolves to its module's object, and importing the package alone loads
neither pulumi nor the rest (tools that only need its error type stay fast)."""

import importlib
import subprocess
import sys

import pytest

import mock_engine
from mock_engine import program_run


def test_every_public_name_is_its_modules_object():
    for name in mock_engine.__all__:
        module = importlib.import_module(mock_engine._PUBLIC[name])
        assert getattr(mock_engine, name) is getattr(module, name)
    assert mock_engine.RunRequest is program_run.RunRequest


def test_importing_the_package_or_its_errors_loads_no_pulumi():
    probe = (
        "import sys, mock_engine, mock_engine.errors; print(sorted(m for m in sys.modules if m.startswith('pulumi')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = mock_engine.no_such_thing


def test_the_run_request_travels_as_json_unchanged():
    request = program_run.RunRequest(
        "p", "s", {"aws:region": "eu-west-1"}, "eu-west-1", frozenset({"p:k"}), True, {"t": {"a": 1}}, "/x"
    )

    assert program_run.RunRequest.from_json(request.to_json()) == request
