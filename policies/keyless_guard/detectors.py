"""Credential detectors shared by the Lambda environment and code rules.

Two layers: detect-secrets' format plugins (AWS keys, private keys, JWTs, GitHub/Slack/Stripe/... tokens, basic-auth
URLs), which are precise, and an entropy test of our own for credentials with no recognisable format. detect-secrets'
stock high-entropy plugins flag UUIDs, commit SHAs and ARNs; ours first splits a value into tokens at separators and
skips tokens that are identifiers (UUIDs, 40/64-hex digests, AWS resource ids, account ids), and only then asks for
length, mixed character classes and Shannon entropy. policies/README.md reports the measured false-positive rate.
Findings carry a kind and a line number, never the matched text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

_NOT_FORMAT_PLUGINS: Final = frozenset(
    # Our entropy test replaces the stock ones; the keyword plugin is replaced by the variable-name rule (env) and
    # by the assignment scan below (code); a public IP address is not a credential.
    {"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector", "IPPublicDetector"}
)
AWS_CREDENTIAL_NAMES: Final = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DIGEST = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}|[0-9A-F]{40}|[0-9A-F]{64}")
_AWS_ID = re.compile(r"[a-z]{1,6}(-[a-z]+)?-[0-9a-f]{8,17}")  # subnet-0a1b..., sg-..., vpce-..., eni-...
_CHUNK_SPLIT = re.compile(r"[\s:,;@&?#'\"()\[\]{}<>|\\]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+=*")
_HEX = re.compile(r"[0-9a-fA-F]+")
_SECRET_QUERY_KEYS: Final = frozenset(
    {"key", "apikey", "api_key", "api-key", "token", "access_token", "secret", "password", "pwd", "sig", "signature"}
)
_MIN_TOKEN = 20
_HEX_ENTROPY = 3.0
_TEXT_ENTROPY = 3.7


@dataclass(frozen=True)
class Finding:
    kind: str
    """What was found (`AWS Access Key`, `High-entropy string`, ...); never the value."""
    line: int = 1


@cache
def _format_plugins() -> tuple[object, ...]:
    plugins: Any = get_mapping_from_secret_type_to_class().values()
    return tuple(cls() for cls in plugins if cls.__name__ not in _NOT_FORMAT_PLUGINS)


def format_findings(text: str) -> list[str]:
    """Kinds of credential formats detect-secrets recognises in `text`."""
    kinds = []
    for plugin in _format_plugins():
        if any(True for _ in plugin.analyze_string(text)):  # type: ignore[attr-defined]
            kinds.append(str(plugin.secret_type))  # type: ignore[attr-defined]
    return kinds


def shannon_entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def is_identifier_token(token: str) -> bool:
    """UUIDs, hex digests (commit SHAs, SHA-256), AWS resource ids and plain numbers are identifiers, not secrets."""
    return bool(_UUID.fullmatch(token) or _DIGEST.fullmatch(token) or _AWS_ID.fullmatch(token) or token.isdigit())


def looks_random(token: str) -> bool:
    """A long token with mixed character classes and high entropy: the shape of a key, not of a word or an id."""
    if len(token) < _MIN_TOKEN or is_identifier_token(token):
        return False
    has_digit = any(c.isdigit() for c in token)
    has_alpha = any(c.isalpha() for c in token)
    if not (has_digit and has_alpha):
        return False
    if _HEX.fullmatch(token):
        return shannon_entropy(token) >= _HEX_ENTROPY
    classes = sum((any(c.islower() for c in token), any(c.isupper() for c in token), has_digit))
    return classes >= 2 and shannon_entropy(token) >= _TEXT_ENTROPY


def random_tokens(text: str) -> Iterator[str]:
    """Tokens of `text` that look like keys.

    `text` is cut at separators (whitespace, `:`, `,`, `@`, `?`, quotes, ...). A chunk in the plain base64 alphabet is
    tested whole, since base64 keys contain `/` and `+`; any other chunk (an ARN's or a path's names, `a/b-c`) is
    tested segment by segment, so identifiers inside a path never make it look random.
    """
    for chunk in _CHUNK_SPLIT.split(text):
        segments = chunk.split("/")
        if _BASE64.fullmatch(chunk) and not any(is_identifier_token(s) for s in segments):
            candidates = [chunk.rstrip("=")]
        else:
            candidates = [s.rstrip("=") for s in segments]
        yield from (c for c in candidates if looks_random(c))


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


def text_findings(text: str) -> list[Finding]:
    """Credentials in a source file: format detectors over the whole text, the entropy test on quoted literals."""
    findings = []
    for plugin in _format_plugins():
        for match in plugin.analyze_string(text):  # type: ignore[attr-defined]
            offset = text.find(match) if isinstance(match, str) and match else -1
            findings.append(Finding(str(plugin.secret_type), text.count("\n", 0, offset) + 1 if offset >= 0 else 0))  # type: ignore[attr-defined]
    for literal in _QUOTED.finditer(text):
        if any(True for _ in random_tokens(literal.group("body"))):
            findings.append(Finding("High-entropy string literal", text.count("\n", 0, literal.start()) + 1))
    return sorted(set(findings), key=lambda f: (f.line, f.kind))


def decode_text(data: bytes) -> str | None:
    """The file as text, or None for a binary file (a NUL byte in its first 8 KiB)."""
    if b"\0" in data[:_BINARY_PROBE]:
        return None
    return data.decode("utf-8", errors="replace")


def value_findings(value: str) -> list[str]:
    """Kinds of credentials in one configuration value (a Lambda environment variable)."""
    kinds = format_findings(value)
    if url_credentials(value):
        kinds.append("URL with embedded credentials")
    if not kinds and any(True for _ in random_tokens(value)):
        kinds.append("High-entropy string")
    return kinds
