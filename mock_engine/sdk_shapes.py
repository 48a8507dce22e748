"""Shape mock answers after the output types a provider SDK declares, as a real provider's answers are shaped.

A mock that echoes a resource's inputs as its outputs, or an invoke's args as its result, hands the SDK values of
the input type where the output type differs: `assume_role_policy=PolicyDocument(...)` is an object going in and a
JSON string coming out (`Output[str]`), which the SDK's result classes reject ("Expected argument 'json' to be a
str"). These functions read the SDK's declared types (the same table the SDK translates outputs with) from the
provider package installed next to the program, so an older `pulumi_aws` gets its own shapes.
"""

from __future__ import annotations

import importlib
import json
import re
import typing
from collections import abc
from typing import Any

from mock_engine import pulumi_internals
from mock_engine.recorded import reveal, secret


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _sdk_module(token: str) -> tuple[Any, str] | None:
    """The generated module that defines `token` (`aws:ec2/getAmi:getAmi` -> pulumi_aws.ec2.get_ami) and the member
    name, or None when the provider SDK is not installed or lays its modules out differently."""
    parts = token.split(":")
    if len(parts) != 3:
        return None
    package, module_path, member = parts
    module, _, file_name = module_path.partition("/")
    python_package = "pulumi_" + package.replace("-", "_")
    dotted = python_package if module in ("index", "") else f"{python_package}.{module.replace('/', '.')}"
    try:
        return importlib.import_module(f"{dotted}.{_snake(file_name or member)}"), member
    except ImportError:
        return None


def resource_output_types(token: str) -> dict[str, Any]:
    """camelCase output name -> declared type for the resource `token`, or {} if its class cannot be found."""
    found = _sdk_module(token)
    if found is None:
        return {}
    resource_class = getattr(found[0], found[1], None)
    if not isinstance(resource_class, type):
        return {}
    return pulumi_internals.resource_property_types(resource_class)


def invoke_result_types(token: str) -> dict[str, Any]:
    """camelCase field -> declared type of the result of the invoke `token` (`GetAmiResult`), or {}."""
    found = _sdk_module(token)
    if found is None:
        return {}
    member = found[1]
    result_class = getattr(found[0], member[0].upper() + member[1:] + "Result", None)
    return pulumi_internals.output_property_types(result_class) if isinstance(result_class, type) else {}


def shape(value: Any, declared: Any) -> Any:
    """`value` converted to the declared output type where a provider would convert it, else unchanged.

    An object or list where a string is declared becomes its JSON (policy documents); lists, maps and nested output
    types are shaped item by item. Unknowns, assets and values of the right type pass through. A value with a secret
    inside is shaped from its plain value and comes back secret as a whole, as the engine marks the output of a secret
    input (never the SDK's secret wrapper turned into text, which would carry the value).
    """
    plain, was_secret = reveal(value)
    if was_secret:
        return secret(shape(plain, declared))
    declared = pulumi_internals.unwrap_type(declared)
    if value is None or pulumi_internals.is_unknown(value):
        return value
    if declared is str:
        if isinstance(value, dict | list):
            # As the bridge's TransformJSONDocument does: a document holding an unknown becomes one unknown string.
            return pulumi_internals.WIRE_UNKNOWN if _holds_unknown(value) else json.dumps(value)
        return value
    origin = typing.get_origin(declared)
    arguments = typing.get_args(declared)
    if origin in (list, abc.Sequence) and arguments and isinstance(value, list):
        return [shape(item, arguments[0]) for item in value]
    if origin in (dict, abc.Mapping) and len(arguments) == 2 and isinstance(value, dict):
        return {key: shape(item, arguments[1]) for key, item in value.items()}
    fields = pulumi_internals.output_property_types(declared)
    if fields and isinstance(value, dict):
        return shape_fields(value, fields)
    return value


def _holds_unknown(value: Any) -> bool:
    if pulumi_internals.is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(_holds_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_unknown(item) for item in value)
    return False


def shape_fields(values: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    """Each value shaped after its field's declared type; fields the SDK does not declare are kept as they are."""
    return {key: shape(value, declared[key]) if key in declared else value for key, value in values.items()}


def empty_value(declared: Any) -> Any:
    """What a provider returns for a collection or scalar it has nothing for: [], {}, False, 0; None otherwise."""
    declared = pulumi_internals.unwrap_type(declared)
    origin = typing.get_origin(declared)
    if origin in (list, abc.Sequence):
        return []
    if origin in (dict, abc.Mapping):
        return {}
    if declared is bool:
        return False
    if declared in (int, float):
        return 0
    return None
