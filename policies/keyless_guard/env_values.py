"""One configuration variable (name and value) judged as a credential, not as tokens.

Shared by every rule that reads environment variables: Lambda functions, ECS containers, CodeBuild projects and the
assignments in EC2 user data. A variable is a problem when:

- its name is an AWS credential variable (`AWS_SECRET_ACCESS_KEY`): the role provides credentials;
- its value is a credential by format (detect-secrets' plugins), a URL with a password or `?api_key=`, a random
  token, or a bare 32+ hex key (40 and 64 hex too, unless the name says digest, hash, SHA, commit, ETag or version);
- its name says it holds a secret (`DB_PASSWORD`, `PGPASSWORD`, `JWTSecret`, `SMTP_PASS`) and the value is a literal
  rather than a reference or a placeholder; the whole value is judged, so punctuation cannot cut it into tokens too
  short to look random;
- its value is structured (JSON, YAML, a query string, a `k=v;` connection string, base64 of JSON) and one of its
  inner pairs is a problem by these same rules.

What passes: references in exact forms (`detectors.is_reference`), placeholders, values public by design (PEM public
keys and certificates, Stripe publishable keys, Sentry DSNs), lower-case ids under an `..._ID` name (Cognito app
client ids, AppSync API ids), and settings under secret-like names (`PASSWORD_MIN_LENGTH=12`,
`SECRET_ROTATION_ENABLED=true`, `AUTH_TOKEN_CACHE=redis`). A problem is a sentence naming where, never the value.
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

from keyless_guard.detectors import (
    AWS_CREDENTIAL_NAMES,
    format_findings,
    is_placeholder,
    is_reference,
    looks_random,
    value_findings,
)

# Names ---------------------------------------------------------------------------------------------------------------

_NAME_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
"""snake_case, kebab-case, camelCase and acronyms: `JWTSecret` -> JWT, Secret; `APIToken` -> API, Token."""
_SECRET_NOUNS: Final = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "pw",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "credential",
        "credentials",
        "creds",
        "auth",
        "apikey",
    }
)
_KEY_QUALIFIERS: Final = frozenset(
    {
        "api",
        "app",
        "access",
        "account",
        "admin",
        "auth",
        "client",
        "consumer",
        "cookie",
        "crypto",
        "decryption",
        "encryption",
        "hmac",
        "jwt",
        "license",
        "licence",
        "master",
        "private",
        "root",
        "secret",
        "service",
        "session",
        "shared",
        "signing",
        "webhook",
    }
)
"""`<qualifier>_KEY` names a key (`SIGNING_KEY`, `NEW_RELIC_LICENSE_KEY`); `S3_KEY`, `PARTITION_KEY` do not."""
_GLUED: Final = ("passphrase", "password", "passwd", "credentials", "credential", "secret", "token", "key", "pwd")
"""Secret words split off the end of a glued word (`DBPASSWORD`, `SECRETKEY`, `PGPASSWORD`); short abbreviations
(`pass`, `pw`, `auth`) only count as whole words, so `BYPASS` and `COMPASS` stay words."""
_TRAILING: Final = frozenset(
    {
        "prod",
        "production",
        "dev",
        "development",
        "staging",
        "test",
        "qa",
        "live",
        "primary",
        "secondary",
        "old",
        "new",
        "current",
        "previous",
        "next",
        "v",
        "value",
        "val",
        "raw",
        "plain",
        "plaintext",
        "string",
        "str",
        "text",
        "b64",
        "base",
        "encoded",
        "hex",
        # Access qualifiers: `DB_PASSWORD_READONLY` is still the read-only user's password.
        "readonly",
        "ro",
        "rw",
        "readwrite",
        "read",
        "write",
        "replica",
        "reader",
        "writer",
    }
)
"""Words after the head noun that qualify it (`API_KEY_PROD`, `PASSWORD_VALUE`, `SECRET_B64`) and numbers."""
_REFERENCE_HEADS: Final = frozenset(
    {"id", "ids", "arn", "arns", "name", "names", "path", "param", "parameter", "ref", "reference", "file", "location"}
)
_SETTING_HEADS: Final = frozenset(
    {
        "length",
        "len",
        "min",
        "max",
        "size",
        "bytes",
        "bits",
        "ttl",
        "seconds",
        "secs",
        "sec",
        "minutes",
        "mins",
        "hours",
        "days",
        "ms",
        "timeout",
        "interval",
        "period",
        "expiry",
        "expiration",
        "lifetime",
        "duration",
        "age",
        "enabled",
        "disabled",
        "enable",
        "disable",
        "required",
        "count",
        "limit",
        "retries",
        "attempts",
        "audience",
        "aud",
        "issuer",
        "iss",
        "cache",
        "algorithm",
        "alg",
        "type",
        "mode",
        "format",
        "scheme",
        "scope",
        "scopes",
        "endpoint",
        "url",
        "uri",
        "host",
        "port",
        "region",
        "stage",
        "level",
        "policy",
        "strategy",
        "provider",
        "backend",
        "store",
        "prefix",
        "suffix",
        "encoding",
        "pattern",
        "rotation",
    }
)
"""Head words of settings about a secret (`PASSWORD_MIN_LENGTH`, `TOKEN_ISSUER`, `AUTH_TOKEN_CACHE`)."""
_DIGEST_WORDS: Final = frozenset({"digest", "hash", "sha", "commit", "etag", "version", "checksum", "revision", "md"})
_ID_HEADS: Final = frozenset({"id", "ids"})
_ALGORITHM_WORDS: Final = frozenset({"sha", "md", "aes", "rsa", "ecdsa", "ed", "gcm", "cbc", "hs", "rs", "es", "bit"})
"""Words between a key qualifier and `key` that name the algorithm, not what the variable holds."""
_NAME_CACHE: Final = 4096
"""Variable names repeat across resources; the cache is bounded so that generated names cannot grow it."""


class NameKind(Enum):
    # Enum labels, not credentials (ruff's S105 matches the word).
    SECRET = "secret"  # noqa: S105
    """The name says the variable holds a secret: API_KEY, DB_PASSWORD, PGPASSWORD."""
    ABOUT_SECRET = "about a secret"  # noqa: S105
    """A secret word followed by an unknown head (PASSWORD_HINT): a setting-shaped value passes, a literal does not."""
    SETTING = "setting"
    """A secret word, but the head is a reference or a setting (SECRET_ID, TOKEN_TTL_SECONDS, TOKEN_ISSUER)."""
    NEUTRAL = "neutral"


@lru_cache(maxsize=_NAME_CACHE)
def name_words(name: str) -> tuple[str, ...]:
    """The words of a variable name, as people write them: `DBPASSWORD` -> db, password; `JWTSecret` -> jwt, secret."""
    words: list[str] = []
    for part in _NAME_WORD.findall(name):
        words.extend(_unglue(part.lower()))
    return tuple(words)


def _unglue(word: str) -> list[str]:
    if word in _SECRET_NOUNS or word in _KEY_QUALIFIERS:
        return [word]
    for suffix in _GLUED:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            return [*_unglue(word[: -len(suffix)]), suffix]
    return [word]


def _is_secret_word(words: tuple[str, ...], index: int) -> bool:
    word = words[index]
    if word in _SECRET_NOUNS:
        return True
    if word != "key":
        return False
    # `WEBHOOK_HMAC_SHA256_KEY`: the qualifier may stand before an algorithm name (sha, 256, aes, ...).
    before = index - 1
    while before >= 0 and (words[before].isdigit() or words[before] in _ALGORITHM_WORDS):
        before -= 1
    return before >= 0 and words[before] in _KEY_QUALIFIERS


@lru_cache(maxsize=_NAME_CACHE)
def name_kind(name: str) -> NameKind:
    words = name_words(name)
    end = len(words)
    while end > 1 and (words[end - 1] in _TRAILING or words[end - 1].isdigit()):
        end -= 1
    if not any(_is_secret_word(words, i) for i in range(end)):
        return NameKind.NEUTRAL
    head = words[end - 1]
    if _is_secret_word(words, end - 1):
        return NameKind.SECRET
    if head in _REFERENCE_HEADS or head in _SETTING_HEADS:
        return NameKind.SETTING
    return NameKind.ABOUT_SECRET


def names_a_digest(name: str) -> bool:
    """The name says digest, hash, SHA, commit, ... and its head is not a key word: in `WEBHOOK_HMAC_SHA256_KEY` the
    key word wins (an HMAC-SHA256 key), in `SIGNING_KEY_SHA256` the digest does (a digest of the key)."""
    return any(word in _DIGEST_WORDS for word in name_words(name)) and name_kind(name) is not NameKind.SECRET


def names_an_id(name: str) -> bool:
    words = name_words(name)
    return bool(words) and words[-1] in _ID_HEADS


# Values --------------------------------------------------------------------------------------------------------------

_SMALL_INT = re.compile(r"[-+]?\d{1,6}")
_BOOLEAN: Final = frozenset({"true", "false", "yes", "no", "on", "off", "enabled", "disabled", "none", "null"})
_DURATION_OR_SIZE = re.compile(
    r"(?i)\d+(\.\d+)?\s*(ms|s|sec|secs|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|[kmgt]i?b|b|bytes)"
    r"|P(\d+[YMWD])*(T(\d+[HMS])+)?"
)
_ENUM_WORD = re.compile(r"[A-Za-z]+\d{0,3}([-_.][A-Za-z]+\d{0,3})*")
"""`HS256`, `v2`, `read-only`; a word followed by four or more digits (`Reporting1234`, `Summer2024`) is the shape of a
human password, not of a setting."""
_MAX_ENUM = 32
_HEX_KEY = re.compile(r"[0-9a-fA-F]{32,}")
_LOWER_ID = re.compile(r"[a-z0-9]{8,40}")
"""Cognito app client ids and AppSync API ids are 26 lower-case letters and digits (the APIs document only
`[\\w+]+`, 1-128); an `_ID` name holding that shape is an identifier, which the client side sees anyway."""
_PEM_PUBLIC = re.compile(
    r"((\s|\\n)*-----BEGIN (?P<label>PUBLIC KEY|RSA PUBLIC KEY|CERTIFICATE)-----"
    r"([A-Za-z0-9+/=\s]|\\n)*-----END (?P=label)-----)+(\s|\\n)*"
)
"""PEM public keys and certificates, with real newlines or `\\n` escapes (the body's alternatives are disjoint, so
matching stays linear)."""
_STRIPE_PUBLISHABLE = re.compile(r"pk_(live|test)_[0-9A-Za-z]{10,247}")
_SENTRY_KEY = re.compile(r"[0-9a-f]{32}")
_SENTRY_PROJECT = re.compile(r"/(\d+)")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_KV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_ .-]{0,63}")
_YAML_HINT = re.compile(r"^\s*[A-Za-z_][\w.-]*\s*:(\s|$)", re.MULTILINE)
_SAFE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_PUBLIC_KEY_TYPES: Final = frozenset({"RSA", "EC", "OKP"})
_JWK_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MAX_NESTING = 16
_MAX_NODES = 2000
_MAX_PARSED = 64 * 1024
"""A larger value is judged as one string: ECS allows 64 KiB of container definitions, EC2 16 KB of user data."""


def is_setting_value(value: str) -> bool:
    """A small integer, a boolean, a duration or size, or an enum-like word: a setting, not a secret."""
    text = value.strip()
    return bool(
        _SMALL_INT.fullmatch(text)
        or text.lower() in _BOOLEAN
        or _DURATION_OR_SIZE.fullmatch(text)
        or (len(text) <= _MAX_ENUM and _ENUM_WORD.fullmatch(text))
    )


def is_public_by_design(value: str) -> bool:
    """PEM public keys and certificates, Stripe publishable keys, Sentry DSNs: made to be seen.

    Stripe documents publishable keys (`pk_live_`, `pk_test_`) as made for client-side code
    (https://docs.stripe.com/keys), and gitleaks dropped them from its Stripe rule for that reason
    (gitleaks/gitleaks#1320). Sentry: "DSNs are safe to keep public because they only allow submission of new
    events" (https://docs.sentry.io/concepts/key-terms/dsn-explainer/); a legacy DSN with a secret key
    (`https://public:secret@...`) has a password and is still a credential.
    """
    text = value.strip()
    return bool(
        ("-----BEGIN" in text and _PEM_PUBLIC.fullmatch(text))
        or (text.startswith("pk_") and _STRIPE_PUBLISHABLE.fullmatch(text))
        or ("@" in text and _is_sentry_dsn(text))
    )


def _is_sentry_dsn(text: str) -> bool:
    try:
        parts = urlsplit(text)
        user, password = parts.username, parts.password
    except ValueError:
        return False
    return (
        parts.scheme in {"http", "https"}
        and user is not None
        and password is None
        and bool(_SENTRY_KEY.fullmatch(user))
        and bool(_SENTRY_PROJECT.fullmatch(parts.path))
        and not parts.query
    )


@dataclass(frozen=True)
class Problem:
    what: str
    """What is wrong, never the value."""
    path: tuple[str, ...] = ()
    """Inner keys, for a structured value (`("db", "password")`)."""


@dataclass
class _Budget:
    nodes: int = _MAX_NODES


def variable_problems(name: str, value: Any) -> list[Problem]:
    """What is wrong with one variable; never includes the value."""
    if name in AWS_CREDENTIAL_NAMES:
        return [Problem("is an AWS credential variable; the execution role provides credentials")]
    return sorted(set(_judge(name, value, 0, _Budget())), key=lambda p: (p.path, p.what))


def _judge(name: str, value: Any, depth: int, budget: _Budget) -> Iterator[Problem]:
    budget.nodes -= 1
    if budget.nodes < 0 or depth > _MAX_NESTING:
        yield Problem("is too large or too deeply nested to judge")
        return
    if value is None or value == "" or isinstance(value, bool):
        if isinstance(value, bool) and name_kind(name) is NameKind.SECRET:
            yield Problem("is named like a secret but holds a literal value rather than a reference to one")
        return
    if isinstance(value, dict | list):
        yield from _judge_structure(name, value, depth + 1, budget)
        return
    text = value if isinstance(value, str) else str(value)
    if is_public_by_design(text):
        return
    parse = depth < _MAX_NESTING and len(text) <= _MAX_PARSED
    structure = _parse_structure(text, name_kind(name) is not NameKind.SECRET) if parse else None
    if structure is not None:
        inner = list(_judge_structure(name, structure, depth + 1, budget))
        # A credential format the pairs do not show (in a key, across pairs) is still one.
        yield from inner or (Problem(f"holds a credential by format ({kind})") for kind in format_findings(text))
        return
    if is_placeholder(text.strip()) or is_reference(text.strip()):
        return
    if name_kind(name) is not NameKind.SECRET:
        inline = list(_inline_secrets(text))
        if inline:
            yield from inline
            return
    yield from _judge_scalar(name, text)


def _inline_pair(stop: str) -> re.Pattern[str]:
    return re.compile(
        r"""(?:^|[\s;&?,(:])(?P<key>[A-Za-z_][\w.-]{0,63})\s*=\s*"""
        rf"""(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|\{{(?P<br>[^}}]*)\}}(?=[{stop}]|$)|(?P<bare>[^{stop}"']+))"""
    )


_INLINE_PAIRS: Final = {";": _inline_pair(";"), "&": _inline_pair("&\\s"), " ": _inline_pair("\\s")}
"""`key=value` inside a longer value: JDBC's `;password=...;` (a `{braced}` value too), a Kafka JAAS config's
`password="..."`, libpq's `password='a b c'`."""
_ORACLE_CONNECT = re.compile(
    r"(?:jdbc:oracle:(?:thin|oci):)?(?P<user>[A-Za-z][\w$#]{0,29})/(?P<password>[^@\s/\"']+)@"
    r"(?://[A-Za-z0-9.-]+(?::\d+)?(?:/[\w.$-]+)?|[A-Za-z0-9.-]+:\d+(?:[/:][\w.$-]+)?)"
)
"""Oracle's `user/password@host:port/service` (thin driver and EZConnect); `repo/name@sha256:...` has no port or
service after the host, and is not read as one."""


def _inline_secrets(text: str) -> Iterator[Problem]:
    """Secret-named `key=value` pairs and Oracle's `user/password@` inside a value that is not a structure."""
    # A bare value runs to the text's own separator: a password may hold `&` or `{` inside a `;` list.
    separator = ";" if ";" in text else "&" if "&" in text else " "
    for match in _INLINE_PAIRS[separator].finditer(text):
        key = match.group("key")
        if name_kind(key) is not NameKind.SECRET:
            continue
        inner = next(v for v in match.group("dq", "sq", "br", "bare") if v is not None)
        if not inner or is_placeholder(inner.strip()) or inner.strip().lower() in _BOOLEAN:
            continue  # `awsDebugCreds=false` is a switch
        for problem in _judge_scalar(key, inner):
            yield Problem(problem.what, (key if _SAFE_KEY.fullmatch(key) else "?", *problem.path))
    oracle = _ORACLE_CONNECT.fullmatch(text.strip())
    if oracle is not None and not is_placeholder(oracle["password"]):
        yield Problem("holds a connection string with a password (user/password@host)")


def _judge_scalar(name: str, text: str) -> Iterator[Problem]:
    stripped = text.strip()
    if _HEX_KEY.fullmatch(stripped):
        if not (names_a_digest(name) or names_an_id(name)):
            yield Problem(
                "holds a hex key (hex is exempt as a digest or id only under a name that says digest, hash, SHA, "
                "commit, ETag, version or id)"
            )
        return
    public_id = names_an_id(name) and _LOWER_ID.fullmatch(stripped)
    kinds = format_findings(stripped) if public_id else value_findings(text)
    if kinds:
        yield Problem(f"holds a value that looks like a credential ({', '.join(sorted(set(kinds)))})")
        return
    kind = name_kind(name)
    if kind is NameKind.SECRET or (kind is NameKind.ABOUT_SECRET and not is_setting_value(text)):
        yield Problem("is named like a secret but holds a literal value rather than a reference to one")


def is_public_jwk(structure: Any) -> bool:
    """A JSON Web Key with no private member: public by design, like a PEM public key.

    RFC 7518 section 6 lists the private members: `d` (RSA, EC; OKP in RFC 8037), `p`, `q`, `dp`, `dq`, `qi`, `oth`
    (RSA); an `oct` key is its `k`, a shared secret, so it is never public."""
    return (
        isinstance(structure, dict)
        and structure.get("kty") in _PUBLIC_KEY_TYPES
        and not any(member in structure for member in _JWK_PRIVATE_MEMBERS)
    )


def named_value(structure: dict[Any, Any]) -> tuple[str, Any] | None:
    """`{"name": "DB_PASSWORD", "value": "..."}` (ECS, CodeBuild, Kubernetes, any `[{name, value}]` list), in any case:
    the value is judged under the name it carries."""
    keys = {str(key).lower(): key for key in structure}
    if len(keys) != len(structure) or set(keys) - {"name", "key", "value", "type"} or "value" not in keys:
        return None
    label = structure.get(keys.get("name", keys.get("key")))
    return (label, structure[keys["value"]]) if isinstance(label, str) else None


def _judge_structure(name: str, structure: Any, depth: int, budget: _Budget) -> Iterator[Problem]:
    pairs: list[tuple[str, Any]]
    if is_public_jwk(structure):
        return
    named = named_value(structure) if isinstance(structure, dict) else None
    if named is not None:
        for problem in _judge(named[0], named[1], depth, budget):
            label = named[0] if _SAFE_KEY.fullmatch(named[0]) and not looks_random(named[0]) else "?"
            yield Problem(problem.what, (label, *problem.path))
        return
    if isinstance(structure, dict):
        pairs = [(str(key), inner) for key, inner in structure.items()]
    elif isinstance(structure, list):
        pairs = [(name, inner) for inner in structure]
    else:
        pairs = [(name, structure)]
    for key, inner in pairs:
        for problem in _judge(key, inner, depth, budget):
            label = key if isinstance(structure, dict) and _SAFE_KEY.fullmatch(key) and not looks_random(key) else "?"
            path = (label, *problem.path) if isinstance(structure, dict) else problem.path
            yield Problem(problem.what, path)


def _parse_structure(text: str, key_values: bool) -> Any:
    """The value as JSON, base64 of JSON, YAML mapping, query string or `k=v;` list; None for a plain value.

    Under a secret-like name (`key_values` false) only JSON and YAML count: a punctuated password may contain `=`,
    `;` and `&`, and is judged whole."""
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            return json.loads(stripped)
        except (ValueError, RecursionError):
            pass
        try:
            # A Python dict's or list's repr (single quotes, True/None): literals only, nothing is evaluated.
            literal = ast.literal_eval(stripped)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            literal = None
        if isinstance(literal, dict | list):
            return literal
    if _BASE64.fullmatch(stripped) and len(stripped) % 4 == 0:
        try:
            decoded = base64.b64decode(stripped, validate=True).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if decoded[:1] in "{[":
            try:
                return json.loads(decoded)
            except (ValueError, RecursionError):
                pass
    if "://" not in stripped.split("\n", 1)[0] and _YAML_HINT.search(stripped):
        try:
            document = yaml.safe_load(stripped)
        except (yaml.YAMLError, RecursionError):
            document = None
        if isinstance(document, dict):
            return document
    return _key_values(stripped) if key_values else None


def _key_values(text: str) -> dict[str, str] | None:
    """`Server=x;Password=y;`, `a=b&c=d`, `host=x password=y` (libpq): at least two `key=value` pieces.

    A piece without `=` after the first pair continues the previous value (a password containing `;`). One pair
    alone is not a structure: `jMw=Ss}x` is a punctuated password, not a setting named jMw.
    """
    if "=" not in text or "://" in text:
        return None
    separator = ";" if ";" in text else "&" if "&" in text else None
    if separator:
        pieces = text.split(separator)
    else:
        try:
            # libpq's `key=value` list quotes a value with spaces in single quotes (shell-like quoting).
            pieces = shlex.split(text)
        except ValueError:
            return None
    pairs: dict[str, str] = {}
    last = None
    for piece in (p for p in pieces if p.strip()):
        key, equals, inner = piece.partition("=")
        if equals and _KV_KEY.fullmatch(key.strip()) and inner.strip("="):
            last = key.strip()
            pairs[last] = inner
        elif last is not None and separator:
            pairs[last] += separator + piece
        else:
            return None
    return pairs if len(pairs) >= 2 else None


_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(?P<value>.*?)\s*$")


def assignments(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, name, value) of each `NAME=value` / `export NAME=value` line of a `.env` file or shell script:
    quotes around the value removed, a trailing ` # comment` dropped from an unquoted one, comment lines skipped."""
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ASSIGNMENT.match(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        value = match.group("value")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        yield number, match.group("name"), value


def describe(variable: str, problem: Problem) -> str:
    """`environment variable DB_CONFIG (at password) holds ...`: where, then what; never the value."""
    where = f" (at {'.'.join(problem.path)})" if problem.path else ""
    return f"{variable}{where} {problem.what}"
