"""The component package: every public ComponentResource in `components/`, hosted for programs in any Pulumi language.

`pulumi package add` runs this directory's `__main__.py`, which calls `host()`. Pulumi's analyzer then infers the
schema from the type annotations: each component's `args` TypedDict gives its inputs, its `pulumi.Output[T]` class
annotations its outputs, and the docstrings under each field their descriptions.
"""

import importlib
import inspect
import pkgutil
from pathlib import Path

import pulumi
from pulumi.provider.experimental import component_provider_host

PACKAGE_NAME = "keyless-ingest"
"""The schema's package name: type tokens are `keyless-ingest:index:<ClassName>`."""

_NOT_COMPONENT_MODULES = frozenset({"__main__", "package"})


def public_components() -> list[type[pulumi.ComponentResource]]:
    """Every ComponentResource subclass defined in a module of `components/` whose name does not start with `_`,
    in module order. A new component is hosted without being listed anywhere."""
    found: list[type[pulumi.ComponentResource]] = []
    for module_info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if module_info.name in _NOT_COMPONENT_MODULES or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__package__ or 'components'}.{module_info.name}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, pulumi.ComponentResource)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found.append(value)
    return found


def host() -> None:
    """Serve the provider gRPC protocol for every public component (blocks until the engine stops the plugin)."""
    component_provider_host(public_components(), PACKAGE_NAME)
