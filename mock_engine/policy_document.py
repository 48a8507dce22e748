"""`aws.iam.get_policy_document` computed for real, offline: the same JSON the AWS provider would return.

The invoke is a pure function of its arguments, implemented in the Terraform AWS provider as the
`aws_iam_policy_document` data source (internal/service/iam/policy_document_data_source.go and policy_model.go in
hashicorp/terraform-provider-aws). What this module follows from it:

- `sourcePolicyDocuments` are merged first (their non-empty Sids must be unique), then the document built from
  `statements` (Sids unique among them), then each of `overridePolicyDocuments`. Merging replaces the statement with
  the same non-empty Sid in place and appends the others; a later non-empty Id replaces the Id; a later Version wins
  when it is greater. The deprecated `sourceJson` / `overrideJson` act as one more source / override document.
- A statement's Effect defaults to Allow. Actions, NotActions, Resources, NotResources and a principal's identifiers
  are sets: one value is written as a string, several as a list in reverse lexical order. Principals are grouped by
  type (a lone principal of type `*` with identifier `*` is written as `"*"`); conditions by test and variable, values
  in the order given, one value as a string.
- In resources, principals and condition values `&{` is written as `${` (the escape Terraform needs for IAM policy
  variables), which version 2008-10-17 does not support.
- `json` is Go's `json.MarshalIndent(doc, "", "  ")` (keys in that order, `<`, `>` and `&` escaped), `minifiedJson`
  the compact form, `id` the CRC-32 of `json`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mock_engine.errors import PreviewError

DEFAULT_VERSION = "2012-10-17"
TOKEN = "aws:iam/getPolicyDocument:getPolicyDocument"  # noqa: S105 (an invoke token, not a credential)
_ORDER = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition")
"""Go writes a statement's fields in the declaration order of its struct."""
_PRINCIPAL_FIELDS = (("principals", "Principal"), ("notPrincipals", "NotPrincipal"))


def get_policy_document(args: Mapping[str, Any]) -> dict[str, Any]:
    """The invoke's result (camelCase fields of `GetPolicyDocumentResult`) for its camelCase args."""
    merged: dict[str, Any] = {"Version": "", "Statement": []}
    sources = [*(args.get("sourcePolicyDocuments") or [])]
    if args.get("sourceJson"):
        sources.append(args["sourceJson"])
    source_sids: set[str] = set()
    for text in sources:
        document = _parse(text, "sourcePolicyDocuments")
        for statement in document["Statement"]:
            sid = statement.get("Sid", "")
            if sid and sid in source_sids:
                raise PreviewError(f"{TOKEN}: duplicate Sid ({sid}) in sourcePolicyDocuments")
            source_sids.add(sid)
        _merge(merged, document)

    own: dict[str, Any] = {"Version": args.get("version") or DEFAULT_VERSION, "Statement": []}
    if args.get("policyId"):
        own["Id"] = args["policyId"]
    sids: set[str] = set()
    for statement in args.get("statements") or []:
        sid = statement.get("sid") or ""
        if sid and sid in sids:
            raise PreviewError(f"{TOKEN}: found duplicate sid ({sid}); either remove the sid or ensure it is unique")
        sids.add(sid)
        own["Statement"].append(_statement(statement, own["Version"]))
    _merge(merged, own)

    overrides = [*(args.get("overridePolicyDocuments") or [])]
    if args.get("overrideJson"):
        overrides.append(args["overrideJson"])
    for text in overrides:
        _merge(merged, _parse(text, "overridePolicyDocuments"))

    document = {key: merged[key] for key in ("Version", "Id", "Statement") if merged.get(key)}
    pretty = _go_json(document, indent=2)
    return {
        "id": str(zlib.crc32(pretty.encode())),
        "json": pretty,
        "minifiedJson": _go_json(document, indent=None),
        "version": args.get("version") or DEFAULT_VERSION,
        "policyId": args.get("policyId"),
        "statements": args.get("statements") or [],
        "sourcePolicyDocuments": args.get("sourcePolicyDocuments") or [],
        "overridePolicyDocuments": args.get("overridePolicyDocuments") or [],
    }


def _merge(target: dict[str, Any], new: Mapping[str, Any]) -> None:
    if new.get("Id"):
        target["Id"] = new["Id"]
    if str(new.get("Version") or "") > target["Version"]:
        target["Version"] = new["Version"]
    statements: list[dict[str, Any]] = target["Statement"]
    for statement in new["Statement"]:
        sid = statement.get("Sid")
        index = next((i for i, old in enumerate(statements) if sid and old.get("Sid") == sid), None)
        if index is None:
            statements.append(statement)
        else:
            statements[index] = statement


def _parse(text: Any, argument: str) -> dict[str, Any]:
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except ValueError as exc:
        raise PreviewError(f"{TOKEN}: an entry of {argument} is not JSON ({exc.args[0]})") from exc
    if not isinstance(document, dict):
        raise PreviewError(f"{TOKEN}: an entry of {argument} must be a JSON policy document (an object)")
    statements = document.get("Statement") or []
    document["Statement"] = [_reread(s) for s in ([statements] if isinstance(statements, dict) else statements)]
    document.setdefault("Version", "")
    return document


def _reread(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A statement of a source or override document as the provider re-writes it: fields in its order, principals
    grouped again (so `"*"` and `{"AWS": [...]}` come out as from `statements`)."""
    result = dict(statement)
    for _, field in _PRINCIPAL_FIELDS:
        principal = statement.get(field)
        if principal == "*":
            result[field] = "*"
        elif isinstance(principal, dict):
            result[field] = _principals(
                [(kind, sorted(ids) if isinstance(ids, list) else ids) for kind, ids in principal.items()]
            )
    return {key: result[key] for key in _ORDER if key in result}


def _variables(value: str, version: str) -> str:
    if "&{" in value and version == "2008-10-17":
        raise PreviewError(f"{TOKEN}: {value}: version {version} does not support &{{ (policy variables)")
    return value.replace("&{", "${")


def _string_set(values: Iterable[str], version: str | None = None) -> str | list[str]:
    unique = sorted({v if version is None else _variables(v, version) for v in values}, reverse=True)
    return unique[0] if len(unique) == 1 else unique


def _statement(config: Mapping[str, Any], version: str) -> dict[str, Any]:
    statement: dict[str, Any] = {}
    if config.get("sid"):
        statement["Sid"] = config["sid"]
    statement["Effect"] = config.get("effect") or "Allow"
    for key, field in (("actions", "Action"), ("notActions", "NotAction")):
        if config.get(key):
            statement[field] = _string_set(config[key])
    for key, field in (("resources", "Resource"), ("notResources", "NotResource")):
        if config.get(key):
            statement[field] = _string_set(config[key], version)
    for key, field in _PRINCIPAL_FIELDS:
        if config.get(key):
            statement[field] = _principals(
                [(c.get("type") or "", _string_set(c.get("identifiers") or [], version)) for c in config[key]]
            )
    if config.get("conditions"):
        statement["Condition"] = _conditions(config["conditions"], version)
    return {key: statement[key] for key in _ORDER if key in statement}


def _principals(entries: Sequence[tuple[str, str | list[str]]]) -> Any:
    """(type, identifiers) pairs as IAM JSON: grouped by type, each list in reverse order, `"*"` for `{"*": "*"}`."""
    if len(entries) == 1 and entries[0][0] == "*" and entries[0][1] in ("*", ["*"]):
        return "*"
    grouped: dict[str, Any] = {}
    for kind, identifiers in entries:
        previous = grouped.get(kind)
        if isinstance(identifiers, list):
            grouped[kind] = _as_list(previous) + sorted(identifiers, reverse=True)
        else:
            grouped[kind] = identifiers if previous is None else [*_as_list(previous), identifiers]
    return dict(sorted(grouped.items()))


def _as_list(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _conditions(configs: Sequence[Mapping[str, Any]], version: str) -> dict[str, dict[str, Any]]:
    grouped: dict[str, dict[str, list[str]]] = {}
    for config in configs:
        test, variable = config.get("test"), config.get("variable")
        if not test or not variable:
            raise PreviewError(f"{TOKEN}: every condition needs a test and a variable")
        values = [_variables(str(v), version) for v in config.get("values") or []]
        grouped.setdefault(test, {}).setdefault(variable, []).extend(values)
    return {
        test: {variable: values[0] if len(values) == 1 else values for variable, values in sorted(variables.items())}
        for test, variables in sorted(grouped.items())
    }


def _go_json(document: Any, *, indent: int | None) -> str:
    """JSON as Go's encoding/json writes it: no ASCII escaping, but `<`, `>`, `&` escaped as \\u003c and so on."""
    separators = (",", ": ") if indent is not None else (",", ":")
    text = json.dumps(document, indent=indent, separators=separators, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
