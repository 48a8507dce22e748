"""Bundle files read in their own syntax, so that an unquoted credential is judged like an environment variable.

The shared detectors read quoted literals and `.env` assignments; a password in `.pypirc`, `.netrc`, a Dockerfile
`ENV`, a YAML `access_token:`, a shell heredoc or a `--authkey` flag is none of those. Each format here is parsed
with the library made for it (configparser, netrc, PyYAML, json, tomllib, shlex, Python's own `ast`) and every
(name, value) it holds goes through `env_values.variable_problems`, the judge of environment variables. A file
that does not parse in its format falls back to the text detectors alone. Findings carry a line, never a value.
"""

from __future__ import annotations

import ast
import base64
import binascii
import configparser
import json
import netrc
import os
import re
import shlex
import tempfile
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Final

import yaml

from keyless_guard.detectors import Finding, format_findings, is_placeholder, looks_random, random_tokens
from keyless_guard.env_values import (
    NameKind,
    Problem,
    assignments,
    describe,
    is_public_jwk,
    name_kind,
    named_value,
    names_a_digest,
    names_an_id,
    variable_problems,
)

_INI_SUFFIXES: Final = (".ini", ".cfg", ".conf", ".properties")
_INI_NAMES: Final = frozenset({".pypirc", "pypirc", ".npmrc", "npmrc", ".yarnrc", ".pip.conf", "pip.conf", ".s3cfg"})
_NETRC_NAMES: Final = frozenset({".netrc", "_netrc", "netrc"})
_PGPASS_NAMES: Final = frozenset({".pgpass", "pgpass", "pgpass.conf"})
_DOCKERFILE = re.compile(r"(?i)(^|[./_-])(docker|container)file([._-].*)?$|\.dockerfile$")
_SHELL_SUFFIXES: Final = (".sh", ".bash", ".zsh", ".ksh")
_SHEBANG = re.compile(r"#!\s*\S*/(env\s+)?(ba|z|k|da)?sh\b")
_YAML_SUFFIXES: Final = (".yaml", ".yml")
_SECRET_KINDS: Final = (NameKind.SECRET, NameKind.ABOUT_SECRET)
_SAFE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_MAX_PARSE: Final = 1024 * 1024
"""Files over 1 MiB are left to the text detectors (a lock file, a data dump); parsing them costs more than it finds."""


def file_kind(name: str, text: str) -> str:
    """The syntax a bundle file is written in, from its name and, for scripts, its shebang."""
    path = PurePosixPath(name)
    base = path.name.lower()
    if base in _NETRC_NAMES:
        return "netrc"
    if base in _PGPASS_NAMES:
        return "pgpass"
    if base in _INI_NAMES or base.endswith(_INI_SUFFIXES):
        return "ini"
    if base.endswith(_YAML_SUFFIXES):
        return "yaml"
    if base.endswith(".ipynb"):
        return "notebook"
    if base.endswith(".json"):
        return "json"
    if base.endswith(".toml"):
        return "toml"
    if _DOCKERFILE.search(base):
        return "dockerfile"
    if base.endswith((".py", ".pyi")):
        return "python"
    if base.endswith(_SHELL_SUFFIXES) or base == "bootstrap" or _SHEBANG.match(text[:128]):
        return "shell"
    if "extensions" in path.parts[:-1] and "." not in base:
        return "shell"  # a layer's extension is an executable under extensions/, most often a shell script
    return "code"


def format_aware_findings(name: str, text: str) -> tuple[list[Finding], bool]:
    """Findings from the file's own syntax, and whether the file parsed as a tree (JSON, YAML, TOML): a tree's values
    are judged here one by one, so its quoted strings need no entropy pass."""
    if len(text) > _MAX_PARSE:
        return [], False
    kind = file_kind(name, text)
    if kind in _STRUCTURED:
        parsed = _STRUCTURED[kind](text)
        # Only JSON, YAML and TOML replace the quoted-literal pass: configparser also "parses" files that are not
        # INI (an nginx .conf reads as keys without values), so line formats keep the text detectors as well.
        return (list(parsed), kind in _TREE_FORMATS) if parsed is not None else ([], False)
    if kind == "python":
        return list(python_findings(text)), False
    if kind == "shell":
        return list(shell_findings(text)), False
    if kind == "dockerfile":
        return list(dockerfile_findings(text)), False
    findings = list(_code_pair_findings(text))
    if name.lower().endswith(_JS_SUFFIXES):
        findings.extend(_template_literal_findings(text))
    return findings, False


# Structured files -----------------------------------------------------------------------------------------------------


def _line_of(text: str, path: tuple[str, ...]) -> int:
    """The line where the last key of `path` appears (after its parents), 1 when it cannot be placed."""
    lines = text.splitlines()
    start = 0
    found = 0
    for key in path:
        if key == "?":
            continue
        pattern = re.compile(rf"(^|[^\w-]){re.escape(key)}([^\w-]|$)")
        for number in range(start, len(lines)):
            if pattern.search(lines[number]):
                found = start = number
                break
    return found + 1


_MAX_DEPTH: Final = 64


def _judge_document(text: str, label: str, document: Any) -> Iterator[Finding]:
    """Each leaf of a parsed file judged under its key, the way a structured environment value's pairs are; a file
    is walked here rather than as one value, so a large data file is not one value over the judge's node budget."""
    for path, name, value in _leaves(document, (), label, 0):
        if value is None or isinstance(value, bool):
            continue  # a switch (`"MasterUserPassword": false` in a schema), never a credential
        # A key that is not identifier-shaped (`AWS::SecretsManager::Secret`, a sentence) is data, not a name.
        for problem in variable_problems(name if _SAFE_KEY.fullmatch(name) else label, value):
            full = (*path, *problem.path)
            yield Finding(
                describe(f"{label} (at {'.'.join(full)})" if full else label, Problem(problem.what)),
                _line_of(text, full),
            )


def _leaves(node: Any, path: tuple[str, ...], name: str, depth: int) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    if depth > _MAX_DEPTH:
        yield path, name, "{...}"  # judged as an opaque string: too deep to be a configuration anyone writes
        return
    if isinstance(node, dict):
        if is_public_jwk(node):
            return
        named = named_value(node)
        if named is not None:
            yield (*path, _label(named[0])), named[0], named[1]
            return
        for key, inner in node.items():
            yield from _leaves(inner, (*path, _label(str(key))), str(key), depth + 1)
    elif isinstance(node, list):
        for inner in node:
            yield from _leaves(inner, path, name, depth + 1)
    else:
        yield path, name, node


def _label(key: str) -> str:
    return key if _SAFE_KEY.fullmatch(key) and not looks_random(key) else "?"


def _json_file(text: str) -> Iterator[Finding] | None:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return _judge_document(text, "JSON value", document)


def _toml_file(text: str) -> Iterator[Finding] | None:
    try:
        document = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    return _judge_document(text, "TOML value", document)


def _yaml_file(text: str) -> Iterator[Finding] | None:
    try:
        documents = list(yaml.safe_load_all(text))
    except (yaml.YAMLError, RecursionError):
        return None
    if not any(isinstance(document, dict | list) for document in documents):
        return None
    return (f for document in documents for f in _judge_document(text, "YAML value", document))


def _ini_file(text: str) -> Iterator[Finding] | None:
    # npm's keys hold `:` (`//registry.npmjs.org/:_authToken=...`), so only `=` separates there.
    delimiters = ("=",) if text.lstrip().startswith("//") or "_auth" in text else ("=", ":")
    parser = _CaseKeepingParser(interpolation=None, strict=False, allow_no_value=True, delimiters=delimiters)
    try:
        # .npmrc, .properties and pip.conf need no section; a header makes them INI without changing the values.
        parser.read_string(text if text.lstrip().startswith("[") else "[DEFAULT]\n" + text)
    except configparser.Error:
        return None
    pairs = [
        (key, value)
        for section in (parser[name] for name in ("DEFAULT", *parser.sections()))
        for key, value in section.items()
        if value
    ]
    return _judge_pairs(text, pairs, "setting")


class _CaseKeepingParser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr  # `DB_PASSWORD` and `apiToken` keep the case the name judge splits on


def _judge_pairs(text: str, pairs: Iterable[tuple[str, str]], what: str) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for key, value in pairs:
        if (key, value) in seen:
            continue  # DEFAULT's values repeat in every section
        seen.add((key, value))
        # npm writes a registry's token as `//registry.npmjs.org/:_authToken`: the name is what follows the last `:`.
        name = key.rsplit(":", 1)[-1] if key.startswith("//") else key
        for problem in variable_problems(name, value):
            yield Finding(describe(f"{what} {name}", problem), _line_of(text, (key.rsplit(":", 1)[-1],)))


def _netrc_file(text: str) -> Iterator[Finding] | None:
    # The netrc module reads only paths; a private temporary copy is parsed and removed at once.
    handle, path = tempfile.mkstemp(prefix="keyless-guard-", suffix=".netrc")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        parsed = netrc.netrc(path)
    except (netrc.NetrcParseError, OSError):
        return None
    finally:
        os.unlink(path)
    findings: list[Finding] = []
    for host, (login, account, password) in parsed.hosts.items():
        line = _line_of(text, (host,))
        if password and not is_placeholder(password):
            findings.append(Finding(f"netrc machine {host} holds a password", line))
        for value in (login, account):
            if value and format_findings(value):
                findings.append(Finding(f"netrc machine {host} holds a credential as its login or account", line))
    return iter(findings)


def _pgpass_file(text: str) -> Iterator[Finding] | None:
    """`hostname:port:database:username:password` per line, `\\:` and `\\\\` escaped (libpq, "The Password File")."""
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = re.split(r"(?<!\\):", line, maxsplit=4)
        if len(fields) != 5:
            return None
        if fields[4] and not is_placeholder(fields[4]):
            findings.append(Finding("pgpass entry holds a password", number))
    return iter(findings)


_TREE_FORMATS: Final = frozenset({"json", "yaml", "toml"})
_STRUCTURED: Final = {
    "json": _json_file,
    "yaml": _yaml_file,
    "ini": _ini_file,
    "toml": _toml_file,
    "netrc": _netrc_file,
    "pgpass": _pgpass_file,
}


def notebook_sources(text: str) -> list[tuple[int, str]] | None:
    """(cell number, source) of a Jupyter notebook's code cells: JSON-decoded, so escaped strings read as written."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        return None
    sources = []
    for number, cell in enumerate(cells, start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source")
            sources.append((number, "".join(source) if isinstance(source, list) else str(source or "")))
    return sources


# Shell scripts and Dockerfiles ----------------------------------------------------------------------------------------

_HEREDOC = re.compile(r"<<-?\s*(?P<q>['\"]?)(?P<tag>[A-Za-z_][A-Za-z0-9_]*)(?P=q)")
_REDIRECT = re.compile(r"""(?<!<)>>?\s*(?P<q>['"]?)(?P<path>[^'"\s<>]+)(?P=q)""")
_FLAG = re.compile(r"--?(?P<name>[A-Za-z][A-Za-z0-9_-]*)(?:=(?P<value>.*))?$", re.DOTALL)
_USER_FLAGS: Final = frozenset({"u", "user", "proxy-user"})
"""curl's `-u user:password`: the password is after the first colon."""


def shell_findings(text: str) -> Iterator[Finding]:
    """A shell script (a custom runtime's `bootstrap`, a layer's extension, user data): assignments, secrets passed
    as flags (`--authkey`, `--password=`, `-u user:pw`), and heredoc bodies read in their own syntax."""
    for number, name, value in assignments(text):
        for problem in variable_problems(name, value):
            yield Finding(describe(f"variable {name}", problem), number)
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        yield from (Finding(message, number) for message in flag_problems(line))
    yield from _heredoc_findings(lines)


def flag_problems(line: str) -> Iterator[str]:
    """Command-line flags of one shell line whose name says secret and whose value is a literal."""
    if "-" not in line:
        return
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return
    for index, word in enumerate(words):
        match = _FLAG.match(word)
        if match is None:
            continue
        name = match.group("name")
        value = match.group("value")
        if value is None and index + 1 < len(words) and not words[index + 1].startswith("-"):
            value = words[index + 1]
        if not value:
            continue
        if name in _USER_FLAGS and ":" in value:
            name, value = "password", value.split(":", 1)[1]
        elif name_kind(name.replace("-", "_")) not in _SECRET_KINDS:
            continue
        for problem in variable_problems(name.replace("-", "_"), value):
            yield describe(f"flag --{name}", problem)


def _heredoc_findings(lines: list[str]) -> Iterator[Finding]:
    """A heredoc body written to a file (`cat > ~/.netrc <<EOF`, `... > config.yaml <<EOF`) is judged as that file
    when its target names the format, and as YAML when it reads as a mapping; assignments are judged already."""
    number = 0
    while number < len(lines):
        match = _HEREDOC.search(lines[number])
        number += 1
        if match is None:
            continue
        start = number
        while number < len(lines) and lines[number].strip() != match.group("tag"):
            number += 1
        body = "\n".join(lines[start:number])
        redirect = _REDIRECT.search(lines[start - 1])
        target = redirect.group("path") if redirect else ""
        kind = file_kind(target, body) if target else "yaml"
        parse = _STRUCTURED.get(kind, _yaml_file)
        findings = parse(body)
        for finding in findings or ():
            yield Finding(finding.kind, finding.line + start)


def dockerfile_findings(text: str) -> Iterator[Finding]:
    """`ENV NAME=value`, `ENV NAME value` and `ARG NAME=default`: they bake the value into the image's layers."""
    for line, instruction in _instructions(text):
        keyword, _, rest = instruction.strip().partition(" ")
        if keyword.upper() not in ("ENV", "ARG"):
            continue
        try:
            words = shlex.split(rest)
        except ValueError:
            continue
        pairs = [(w.split("=", 1)[0], w.split("=", 1)[1]) for w in words if "=" in w]
        if not pairs and len(words) >= 2 and keyword.upper() == "ENV":
            pairs = [(words[0], " ".join(words[1:]))]  # the legacy `ENV NAME value` form
        for name, value in pairs:
            for problem in variable_problems(name, value):
                yield Finding(describe(f"{keyword.upper()} {name}", problem), line)


def _instructions(text: str) -> Iterator[tuple[int, str]]:
    """(first line, instruction) with `\\` continuation lines joined, comment lines dropped."""
    start, parts = 0, list[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        if not parts and (not line.strip() or line.lstrip().startswith("#")):
            continue
        start = start or number
        parts.append(line.rstrip().removesuffix("\\"))
        if not line.rstrip().endswith("\\"):
            yield start, " ".join(parts)
            start, parts = 0, []
    if parts:
        yield start, " ".join(parts)


# Other code: literal values under secret names ------------------------------------------------------------------------

_CODE_PAIR = re.compile(
    r"""(?P<kq>["'`]?)(?P<name>[A-Za-z_$][\w$.-]{0,63})(?P=kq)\s*(?:=>|:=|[:=])\s*"""
    r"""(?P<q>["'`])(?P<value>[^"'`\\\n]{1,200})(?P=q)"""
    r"""|\b(?:define|getenv|Getenv|get|env|fetch|setdefault|getProperty|GetEnvironmentVariable)\s*\(\s*"""
    r"""(?P<cq>["'])(?P<cname>[A-Za-z_][\w.-]{0,63})(?P=cq)\s*,\s*(?P<dq>["'])(?P<default>[^"'\\\n]{1,200})(?P=dq)"""
)
"""`password = "..."`, `apiKey: '...'`, `'db_password' => '...'`, PHP's `define('DB_PASSWORD', '...')`, Go's
`token := "..."`, `getenv("DB_PASSWORD", "...")`: a literal under a name, in any curly-brace language."""


_JS_SUFFIXES: Final = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
_TEMPLATE_LITERAL = re.compile(r"`(?P<body>[^`\\]{20,2000})`")
"""A JavaScript template literal; `${...}` substitutions are cut out by the tokeniser's separators."""


def _template_literal_findings(text: str) -> Iterator[Finding]:
    for match in _TEMPLATE_LITERAL.finditer(text):
        body = re.sub(r"\$\{[^}]*\}", " ", match.group("body"))
        if any(True for _ in random_tokens(body)) or format_findings(body):
            yield Finding("High-entropy string literal", text.count("\n", 0, match.start()) + 1)


_NOT_A_CREDENTIAL = re.compile(r"[\W_]*|.*\*{3,}.*|\[[^]]*\]|<[^>]*>|[a-z]+(?:[_ .:/*-]+[a-z]+)*|[A-Z]+(?:_[A-Z]+)*")
"""In code, a constant under a secret-like name is often not a secret: punctuation, a mask (`:****`), a sentinel
(`[secret]`, `<redacted>`), an identifier in snake or kebab case or prose in lower case (grpc's
`_SEND_MESSAGE_TOKEN = "send_message"`), an upper-case constant name. Environment variables stay strict."""


_REGEX_SYNTAX = re.compile(r"\(\?[:=!<P]|\[\^|\\[wdsbWDSvV]|\][*+?]|\]\{\d+(,\d*)?\}")
"""A regular expression (`(?:key|pwd)`, `[^\\v]`, `\\w+`): a pattern that finds secrets, not one."""


def credential_shaped(value: str) -> bool:
    """False for a code constant that cannot be a credential (see `_NOT_A_CREDENTIAL`, `_REGEX_SYNTAX`)."""
    return not (_NOT_A_CREDENTIAL.fullmatch(value.strip()) or _REGEX_SYNTAX.search(value))


def _code_pair_findings(text: str) -> Iterator[Finding]:
    for match in _CODE_PAIR.finditer(text):
        name = (match.group("name") or match.group("cname")).rsplit(".", 1)[-1].lstrip("$")
        value = match.group("value") or match.group("default")
        if name_kind(name) is not NameKind.SECRET or "${" in value or not credential_shaped(value):
            continue
        for problem in variable_problems(name, value):
            yield Finding(describe(f"literal {name}", problem), text.count("\n", 0, match.start()) + 1)


# Python ---------------------------------------------------------------------------------------------------------------

_ENV_READERS: Final = frozenset({"getenv", "get", "setdefault", "environ_get"})
_PASSWORD_SECOND: Final = frozenset({"login", "HTTPBasicAuth", "HTTPDigestAuth", "BasicAuth", "HTTPProxyAuth"})
"""Calls whose second positional argument is a password: `smtp.login(user, pw)`, `requests`' and `aiohttp`'s auths."""
_KEY_FIRST: Final = frozenset({"HMAC", "Fernet"})
"""Calls whose first positional argument is a key, with `hmac.new(key, ...)`: `HMAC(key, ...)`, `Fernet(key)`."""
_HEX_DECODERS: Final = frozenset({"fromhex", "unhexlify", "a2b_hex"})
_BASE64_DECODERS: Final = frozenset(
    {"b64decode", "urlsafe_b64decode", "standard_b64decode", "decodebytes", "b32decode"}
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class _Folded:
    """A value built from literals."""

    text: str
    how: str
    """`literal`, `hex` (decoded into bytes: key material), `decoded` (base64 of text) or `joined`."""


def _call_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def fold(node: ast.expr | None) -> _Folded | None:
    """The value of an expression built only from literals: concatenation, `"".join([...])`, `.format()`, `%`,
    f-strings of constants, `.encode()`, `bytes.fromhex(...)`, `binascii.unhexlify(...)`, `base64.b64decode(...)`."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return _Folded(node.value, "literal")
        if isinstance(node.value, bytes):
            return _Folded(node.value.decode("latin-1"), "literal")
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        left, right = fold(node.left), fold(node.right)
        if isinstance(node.op, ast.Add) and left and right:
            return _Folded(left.text + right.text, "joined")
        if isinstance(node.op, ast.Mod) and left and isinstance(node.right, ast.Tuple | ast.Constant):
            parts = [fold(e) for e in (node.right.elts if isinstance(node.right, ast.Tuple) else [node.right])]
            if all(parts):
                try:
                    return _Folded(left.text % tuple(p.text for p in parts if p), "joined")
                except (TypeError, ValueError):
                    return None
        return None
    if isinstance(node, ast.JoinedStr):
        pieces = []
        for value in node.values:
            inner = fold(value.value) if isinstance(value, ast.FormattedValue) else fold(value)
            if inner is None:
                return None
            pieces.append(inner.text)
        return _Folded("".join(pieces), "joined")
    if isinstance(node, ast.Call):
        return _fold_call(node)
    return None


def _fold_call(node: ast.Call) -> _Folded | None:
    name = _call_name(node.func)
    receiver = fold(node.func.value) if isinstance(node.func, ast.Attribute) else None
    argument = fold(node.args[0]) if node.args else None
    if name == "join" and receiver is not None and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
        parts = [fold(e) for e in node.args[0].elts]
        return _Folded(receiver.text.join(p.text for p in parts if p), "joined") if all(parts) else None
    if name == "format" and receiver is not None:
        parts = [fold(a) for a in node.args]
        if all(parts) and not node.keywords:
            try:
                return _Folded(receiver.text.format(*(p.text for p in parts if p)), "joined")
            except (IndexError, KeyError, ValueError):
                return None
        return None
    if name in ("encode", "decode", "strip") and receiver is not None:
        return receiver
    if argument is None:
        return None
    if name in _HEX_DECODERS:
        return _Folded(argument.text, "hex") if re.fullmatch(r"[0-9a-fA-F\s]+", argument.text) else None
    if name in _BASE64_DECODERS:
        return _b64_folded(argument.text)
    if name == "bytes" or name == "str":
        return argument
    return None


def _b64_folded(text: str) -> _Folded | None:
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None)
    except (binascii.Error, ValueError):
        return None
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return _Folded(data.hex(), "hex")  # key material: judged like a hex key
    return _Folded(decoded, "decoded") if decoded.isprintable() else _Folded(data.hex(), "hex")


def python_findings(text: str) -> Iterator[Finding]:
    """Credentials that only Python's syntax shows: literals (or values built from literals) under secret names,
    as defaults, in `os.getenv(NAME, default)`, as the password of `login(user, pw)` / `auth=(user, pw)`, and hex or
    base64 literals decoded into key material."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    for node in ast.walk(tree):
        for name, value_node in _named_values(node):
            folded = fold(value_node)
            if folded is None:
                continue
            for message in _judge_folded(name, folded):
                yield Finding(message, getattr(value_node, "lineno", getattr(node, "lineno", 1)))


def _targets(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield node.attr
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        yield node.slice.value  # os.environ["DB_PASSWORD"] = "...", settings["token"] = "..."


def _named_values(node: ast.AST) -> Iterator[tuple[str | None, ast.expr]]:
    """(name, expression) pairs: what a value is called where it is written."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield from ((name, node.value) for name in _targets(target))
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        # pydantic / dataclass fields: `password: str = "..."`, `password: SecretStr = Field("...")`
        value = node.value
        if isinstance(value, ast.Call) and _call_name(value.func) == "Field":
            default = next(
                (k.value for k in value.keywords if k.arg == "default"), value.args[0] if value.args else None
            )
            if default is None:
                return
            value = default
        yield from ((name, value) for name in _targets(node.target))
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.value, value
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        for arg, default in zip(
            positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True
        ):
            yield arg.arg, default
        for arg, kw_default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
            if kw_default is not None:
                yield arg.arg, kw_default
    elif isinstance(node, ast.Call):
        yield from _call_values(node)


def _call_values(node: ast.Call) -> Iterator[tuple[str | None, ast.expr]]:
    name = _call_name(node.func)
    for keyword in node.keywords:
        if keyword.arg == "auth" and isinstance(keyword.value, ast.Tuple) and len(keyword.value.elts) == 2:
            yield "password", keyword.value.elts[1]  # requests' auth=(user, password)
        elif keyword.arg:
            yield keyword.arg, keyword.value
    args = node.args
    if name in _ENV_READERS and len(args) >= 2 and isinstance(args[0], ast.Constant):
        variable = args[0].value
        if isinstance(variable, str) and _ENV_NAME.fullmatch(variable):
            yield variable, args[1]  # os.getenv("DB_PASSWORD", "<default>"): the default ships in the code
    elif name in _PASSWORD_SECOND and len(args) >= 2:
        yield "password", args[1]
    elif args and (name in _KEY_FIRST or (name == "new" and _receiver_name(node.func) == "hmac")):
        yield "hmac_key", args[0]


def _receiver_name(func: ast.expr) -> str:
    return func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""


def _judge_folded(name: str | None, folded: _Folded) -> Iterator[str]:
    label = name or "value"
    if folded.how == "hex":
        # A literal decoded into bytes is key material unless its name says digest or id (an expected checksum).
        if len(folded.text.replace(" ", "")) >= 32 and not (name and (names_a_digest(name) or names_an_id(name))):
            yield f"{label} is a hex or base64 literal decoded into key material at run time"
        return
    if folded.how == "literal" and (name_kind(label) is not NameKind.SECRET or not credential_shaped(folded.text)):
        return  # a plain literal under another name is the entropy test's (quoted literals) and the hex rule's
    for problem in variable_problems(label, folded.text):
        where = f"{label} (built from literals)" if folded.how != "literal" else label
        yield describe(where, problem)
