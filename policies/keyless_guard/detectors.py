"""Credential detectors shared by the Lambda environment and code rules.

Two layers: detect-secrets' format plugins (AWS keys, private keys, JWTs, GitHub/Slack/Stripe/... tokens, basic-auth
URLs), which are precise, and an entropy test of our own for credentials with no recognisable format. detect-secrets'
stock high-entropy plugins flag UUIDs, commit SHAs and ARNs; ours first splits a value into tokens at separators and
skips tokens that are identifiers (UUIDs, 40/64-hex digests, AWS resource ids, account ids), and only then asks for
length, mixed character classes and Shannon entropy. detect-secrets' own heuristic filters decide what is a UUID, a
written-out alphabet and a template placeholder. policies/README.md reports the measured false-positive rate.
Findings carry a kind and a line number, never the matched text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.filters.heuristic import is_potential_uuid, is_sequential_string, is_templated_secret
from detect_secrets.plugins.keyword import KeywordDetector

_NOT_FORMAT_PLUGINS: Final = frozenset(
    # Our entropy test replaces the stock ones; the keyword plugin runs on code only (`_keyword_findings`), since
    # environment variables have their own name rule; a public IP address is not a credential.
    {"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector", "IPPublicDetector"}
)
_KEYWORD_HINT = re.compile(r"(?i)pass|secret|token|api_?key|private_?key|credential")
_ARN = re.compile(r"arn:aws(-cn|-us-gov|-iso[a-z-]*)?:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:\S+")
_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):[A-Za-z0-9/_+=.@:-]+\}\}")
_PREFIXED_REFERENCE = re.compile(r"(ssm|secretsmanager):[A-Za-z0-9/_+=.@-]+")
_NAME_PATH = re.compile(r"/?[a-z0-9]+([-_.][a-z0-9]+)*(/[a-z0-9]+([-_.][a-z0-9]+)*)*")
"""The stack's secret and parameter naming: lower-case words in a path (`keyless-ingest/prod/weather-api-key`,
`/prod/db/password`), as `__main__.py` names its secret (`<project>/<stack>/weather-api-key`)."""
AWS_CREDENTIAL_NAMES: Final = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})

_UUID_LENGTH = 36
_DIGEST = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}|[0-9A-F]{40}|[0-9A-F]{64}")
_PREFIXED_ID = re.compile(r"[a-z][a-z0-9]{0,15}[-_][0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A lower-case type prefix on a UUID (`req-<uuid>`, `order_<uuid>`): an id. A capital vendor prefix is a token."""
_AWS_ID = re.compile(r"[a-z]{1,6}(-[a-z]+)?-[0-9a-f]{8,17}")  # subnet-0a1b..., sg-..., vpce-..., eni-...
_CHUNK_SPLIT = re.compile(r"[\s:,;@&?#'\"`()\[\]{}<>|\\*!$%^~]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+=*")
_SUBRESOURCE_INTEGRITY = re.compile(r"sha(1|256|384|512)-[A-Za-z0-9+/]{27,86}={0,2}")
"""W3C Subresource Integrity (`sha512-<base64 digest>`), as npm's package-lock.json and yarn.lock record downloads."""
_HEX = re.compile(r"[0-9a-fA-F]+")
_SECRET_QUERY_KEYS: Final = frozenset(
    {"key", "apikey", "api_key", "api-key", "token", "access_token", "secret", "password", "pwd", "sig", "signature"}
)
_NAME_PARTS = re.compile(r"[-_.]")
_WORD = re.compile(r"[a-z]{2,}|[A-Z]{2,}|([A-Z]+[a-z]{2,}){1,3}")
_PLACEHOLDER = re.compile(r"%s|(.)\1*|\$[A-Z_][A-Z0-9_]*|\$\([^()]*\)")
"""Besides detect-secrets' templates (`{x}`, `<x>`, `${x}`): printf's `%s`, `xxxx` / `****`, a shell variable
(`$DB_PASSWORD`, upper case: a generated password may start with `$`), a command substitution (`$(aws ...)`)."""
_ALPHABET_TAIL = "+/-_=."
_PLACEHOLDER_WORDS: Final = frozenset({"password", "passwd", "secret", "pass", "changeme", "example", "redacted"})
_HUMP = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_MIN_WORD_HUMP = 3.0
_MIN_VOWELS = 0.3
"""English words are about 40% vowels; random letters about 23% (a, e, i, o, u, y of 26)."""
_MIN_TOKEN = 20
_MIN_ID = 8
_HEX_ENTROPY = 3.0
_TEXT_ENTROPY = 3.7
_LETTERS_ONLY_ENTROPY = 4.2


@dataclass(frozen=True)
class Finding:
    kind: str
    """What was found (`AWS Access Key`, `High-entropy string`, ...); never the value."""
    line: int = 1


@cache
def _format_plugins() -> tuple[Any, ...]:
    plugins: Any = get_mapping_from_secret_type_to_class().values()
    return tuple(cls() for cls in plugins if cls.__name__ not in _NOT_FORMAT_PLUGINS)


def is_placeholder(value: str) -> bool:
    """A template placeholder (`<password>`, `${DB_PASSWORD}`, `{{token}}`, `%s`, `****`), not a value."""
    return is_templated_secret(value) or bool(_PLACEHOLDER.fullmatch(value))


def _matches(plugin: Any, text: str) -> bool:
    """True if the plugin finds a credential in `text` that is not a template placeholder (`<password>`)."""
    return any(
        isinstance(m, str) and not is_placeholder(m) and m.lower() not in _PLACEHOLDER_WORDS
        for m in plugin.analyze_string(text)
    )


_EXTRA_FORMATS: Final = (
    # detect-secrets lists seven PEM headers; PKCS#8's encrypted form (RFC 5958) and any other `... PRIVATE KEY` are
    # private keys too. Same kind name as detect-secrets' plugin, so one line gives one finding.
    ("Private Key", re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d")),
    # A vendor prefix in capitals glued to a UUID (`HRKU-<uuid>`, registry and platform API tokens): a lower-case
    # prefix (`req-<uuid>`, `order_<uuid>`) is an id and stays one.
    (
        "Vendor-prefixed token",
        re.compile(
            r"(?<![\w-])[A-Z][A-Z0-9]{1,9}[-_][0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])"
        ),
    ),
)
_AUTH_SCHEME = re.compile(
    r"(?i)(?:authorization\s*[:=]\s*[\"']?\s*|^\s*|[\"'])(?P<scheme>bearer|basic|token)\s+(?P<credential>[A-Za-z0-9._~+/=-]{8,})"
)
"""An HTTP Authorization value (`Bearer <token>`, `Basic <base64 user:password>`), whole or after `Authorization:`."""


def _auth_header_credential(text: str) -> bool:
    for match in _AUTH_SCHEME.finditer(text):
        credential = match.group("credential")
        if is_placeholder(credential) or credential.lower() in _PLACEHOLDER_WORDS:
            continue
        if match.group("scheme").lower() == "basic":
            try:
                decoded = base64.b64decode(credential + "=" * (-len(credential) % 4), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                continue
            if ":" in decoded:
                return True
        elif any(c.isdigit() for c in credential) or looks_random(credential):
            return True  # `Bearer token` and `Token auth` are prose; a token has digits or randomness
    return False


def format_findings(text: str) -> list[str]:
    """Kinds of credential formats detect-secrets recognises in `text`, and the few it does not list."""
    kinds = [str(plugin.secret_type) for plugin in _format_plugins() if _matches(plugin, text)]
    kinds.extend(kind for kind, pattern in _EXTRA_FORMATS if kind not in kinds and pattern.search(text))
    if ("earer" in text or "asic" in text or "oken" in text) and _auth_header_credential(text):
        kinds.append("HTTP Authorization credential")
    return kinds


def shannon_entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def is_identifier_token(token: str) -> bool:
    """UUIDs, hex digests (commit SHAs, SHA-256), AWS resource ids and plain numbers are identifiers, not secrets."""
    uuid = len(token) == _UUID_LENGTH and is_potential_uuid(token)
    prefixed = len(token) > _UUID_LENGTH and bool(_PREFIXED_ID.fullmatch(token))
    return bool(uuid or prefixed or _DIGEST.fullmatch(token) or _AWS_ID.fullmatch(token) or token.isdigit())


def looks_random(token: str) -> bool:
    """A long token with mixed character classes and high entropy: the shape of a key, not of a word or an id."""
    if len(token) < _MIN_TOKEN or is_identifier_token(token) or _is_alphabet(token) or _word_shaped(token):
        return False
    has_digit = any(c.isdigit() for c in token)
    has_lower = any(c.islower() for c in token)
    has_upper = any(c.isupper() for c in token)
    if _HEX.fullmatch(token):
        return has_digit and (has_lower or has_upper) and shannon_entropy(token) >= _HEX_ENTROPY
    if not has_digit:
        # Letters only: CamelCase words stay below this; 24+ random letters rarely do.
        return has_lower and has_upper and shannon_entropy(token) >= _LETTERS_ONLY_ENTROPY
    return (has_lower or has_upper) and shannon_entropy(token) >= _TEXT_ENTROPY


def _word_shaped(token: str) -> bool:
    """CamelCase words (`CreateOAuth2TokenWithIAM`): long humps; a random key splits into humps of one or two."""
    humps = _HUMP.findall(token)
    letters = [c for c in token.lower() if c.isalpha()]
    vowels = sum(c in "aeiouy" for c in letters) / len(letters) if letters else 0.0
    long_humps = bool(humps) and sum(map(len, humps)) / len(humps) >= _MIN_WORD_HUMP
    return long_humps and vowels >= _MIN_VOWELS and not _HEX.fullmatch(token)


def _is_alphabet(token: str) -> bool:
    """`ABC...XYZabc...xyz0123456789-_`: an alphabet written out (base64 and hex tables), not a key.

    detect-secrets' `is_sequential_string` knows the base64 and hex orders; a URL-safe table ends in `-_` rather than
    `+/`, so trailing punctuation is set aside first.
    """
    return is_sequential_string(token.rstrip(_ALPHABET_TAIL))


def _is_name(token: str) -> bool:
    """A hyphenated or dotted name (`weather-api-key-AbC123`): at least half its parts are lower-case words."""
    parts = [p for p in _NAME_PARTS.split(token) if p]
    return len(parts) > 1 and 2 * sum(bool(_WORD.fullmatch(p)) for p in parts) >= len(parts)


def random_tokens(text: str) -> Iterator[str]:
    """Tokens of `text` that look like keys.

    `text` is cut at separators (whitespace, `:`, `,`, `@`, `?`, quotes, ...). A chunk in the plain base64 alphabet is
    tested whole, since base64 keys contain `/` and `+`; any other chunk (an ARN's or a path's names, `a/b-c`) is
    tested segment by segment, so identifiers inside a path never make it look random.
    """
    for chunk in _CHUNK_SPLIT.split(text):
        if chunk.startswith("sha") and _SUBRESOURCE_INTEGRITY.fullmatch(chunk):
            continue  # a digest of a download (package-lock.json's `integrity`), not a key
        segments = chunk.split("/")
        if _BASE64.fullmatch(chunk) and not any(len(s) >= _MIN_ID and is_identifier_token(s) for s in segments):
            candidates = [chunk.rstrip("=")]
        else:
            candidates = [s.rstrip("=") for s in segments]
        for candidate in candidates:
            pieces = [p for p in _NAME_PARTS.split(candidate) if p] if _is_name(candidate) else [candidate]
            yield from (piece for piece in pieces if looks_random(piece))


def url_credentials(text: str) -> bool:
    """True for a URL with a password in its authority or a secret-named query parameter (`?api_key=...`)."""
    if "://" not in text:
        return False
    try:
        parts = urlsplit(text.strip())
        password = parts.password
    except ValueError:
        return False
    if password:
        return True
    return any(key.lower() in _SECRET_QUERY_KEYS and value for key, value in parse_qsl(parts.query))


_QUOTED = re.compile(r"""(?P<q>["'])(?P<body>[^"'\\\n]{20,})(?P=q)""")
_BINARY_PROBE = 8192


def is_reference(value: str) -> bool:
    """A reference to a secret rather than a value, in one of these exact forms (anything else is judged):

    - an ARN (`arn:aws:secretsmanager:...:secret:name-AbC123`);
    - a CloudFormation dynamic reference (`{{resolve:secretsmanager:name}}`, `{{resolve:ssm-secure:name}}`);
    - `ssm:<parameter name>` or `secretsmanager:<secret name>`;
    - a name in the stack's naming: lower-case words in a path (`keyless-ingest/prod/weather-api-key`, `/prod/db/pw`).

    A `/` alone does not make a reference: a base64 password contains `/` and `+` and upper-case letters, and no
    form here admits a piece that looks random.
    """
    if _DYNAMIC_REFERENCE.fullmatch(value):
        return True
    if _ARN.fullmatch(value) or _PREFIXED_REFERENCE.fullmatch(value):
        return not any(True for _ in random_tokens(value))
    return is_name_path(value)


def is_name_path(value: str) -> bool:
    """Lower-case words and numbers in a path of at least two parts (`keyless-ingest/prod/weather-api-key`).

    Base64 is mixed-case, so a base64 password never reads as one; a password of lower-case letters and digits cut by
    a `/` does (a documented limit)."""
    if "/" not in value.strip("/") or not _NAME_PATH.fullmatch(value):
        return False
    return not any(True for _ in random_tokens(value))


def _keyword_findings(text: str, filename: str) -> Iterator[Finding]:
    """detect-secrets' keyword plugin (`password = "..."`, file-type aware), references and placeholders excepted."""
    plugin = KeywordDetector()
    for number, line in enumerate(text.splitlines(), start=1):
        if not _KEYWORD_HINT.search(line):
            continue
        for secret in plugin.analyze_line(filename=filename, line=line, line_number=number):
            value = secret.secret_value or ""
            if not (is_reference(value) or is_placeholder(value) or value.lower() in _PLACEHOLDER_WORDS):
                yield Finding(str(plugin.secret_type), number)


def text_findings(text: str, filename: str = "", *, literals: bool = True) -> list[Finding]:
    """Credentials in a source file: format detectors over the whole text, detect-secrets' keyword plugin on
    assignments, and the entropy test on quoted literals (`literals=False` leaves out the last two, for a structured
    file whose values are judged one by one in their own syntax)."""
    findings: list[Finding] = list(_keyword_findings(text, filename)) if literals else []
    lines: list[str] | None = None
    for plugin in _format_plugins():
        if not _matches(plugin, text):
            continue  # one pass over the whole file; lines only for the rare file with a hit
        lines = lines if lines is not None else text.splitlines()
        findings.extend(
            Finding(str(plugin.secret_type), number)
            for number, line in enumerate(lines, start=1)
            if _matches(plugin, line)
        )
    for kind, pattern in _EXTRA_FORMATS:
        if pattern.search(text):
            lines = lines if lines is not None else text.splitlines()
            findings.extend(Finding(kind, n) for n, line in enumerate(lines, start=1) if pattern.search(line))
    if "earer" in text or "asic" in text or "oken" in text:
        lines = lines if lines is not None else text.splitlines()
        findings.extend(
            Finding("HTTP Authorization credential", n)
            for n, line in enumerate(lines, start=1)
            if _auth_header_credential(line)
        )
    flagged = {finding.line for finding in findings}
    for literal in _QUOTED.finditer(text) if literals else ():
        line = text.count("\n", 0, literal.start()) + 1
        if line not in flagged and any(True for _ in random_tokens(literal.group("body"))):
            findings.append(Finding("High-entropy string literal", line))
    return sorted(set(findings), key=lambda f: (f.line, f.kind))


_BYTE_ORDER_MARKS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose mark it starts with
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_UTF16_NULS = 0.9
"""Share of NULs on one byte parity (and none on the other) that makes BOM-less text UTF-16: ASCII in UTF-16."""


def decode_text(data: bytes) -> str | None:
    """The file as text: UTF-8 (undecodable bytes replaced), or UTF-16 / UTF-32 by their byte-order mark or, without
    one, by NULs on every other byte; None for a binary file (other NUL bytes in the first 8 KiB)."""
    for mark, codec in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return data.decode(codec, errors="replace")
    probe = data[:_BINARY_PROBE]
    if b"\0" not in probe:
        return data.decode("utf-8", errors="replace")
    even, odd = probe[0::2], probe[1::2]
    if odd and odd.count(0) >= _UTF16_NULS * len(odd) and not even.count(0):
        return data.decode("utf-16-le", errors="replace")
    if even and even.count(0) >= _UTF16_NULS * len(even) and not odd.count(0):
        return data.decode("utf-16-be", errors="replace")
    return None


def value_findings(value: str) -> list[str]:
    """Kinds of credentials in one configuration value (a Lambda environment variable)."""
    kinds = format_findings(value)
    if url_credentials(value):
        kinds.append("URL with embedded credentials")
    if not kinds and any(True for _ in random_tokens(value)):
        kinds.append("High-entropy string")
    return kinds
