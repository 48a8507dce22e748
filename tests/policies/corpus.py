"""Identifiers and credentials built at run time from a seeded RNG, so nothing that looks real is committed.

Used by the detector tests and by `benchmarks.detector_precision`, which reports the false-positive rate of
keyless-guard's detectors against detect-secrets' stock plugins.
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
# AWS's documented example key pair (docs.aws.amazon.com/IAM/latest/UserGuide/security-creds.html).
AWS_EXAMPLE_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_EXAMPLE_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(rng: random.Random) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64url(json.dumps({"sub": _pick(rng, ALNUM, 8), "iat": rng.randrange(10**9)}).encode())
    return f"{header}.{body}.{_b64url(rng.randbytes(32))}"


def _private_key(rng: random.Random) -> str:
    marker = " ".join(("RSA", "PRIVATE", "KEY"))
    return f"-----BEGIN {marker}-----\n{_pick(rng, B64, 64)}\n-----END {marker}-----"


CREDENTIALS: dict[str, Callable[[random.Random], str]] = {
    "aws access key id": lambda rng: "AKIA" + _pick(rng, string.ascii_uppercase + "234567", 16),
    "aws secret access key": lambda rng: _pick(rng, B64, 40),
    "github token": lambda rng: "ghp_" + _pick(rng, ALNUM, 36),
    "slack bot token": lambda rng: "-".join(("xoxb", _pick(rng, string.digits, 12), _pick(rng, ALNUM, 24))),
    "stripe live key": lambda rng: "sk_" + "live_" + _pick(rng, ALNUM, 24),
    "jwt": _jwt,
    "private key": _private_key,
    "url with password": lambda rng: f"https://ingest:{_pick(rng, ALNUM, 16)}@api.weather.example/v1",
    "url with api_key query": lambda rng: f"https://api.weather.example/v1?city=x&api_key={_pick(rng, HEX, 32)}",
    "32-hex api key": lambda rng: _pick(rng, HEX, 32),
    "32-char alnum api key": lambda rng: _pick(rng, ALNUM, 32),
    "base64 token": lambda rng: base64.b64encode(rng.randbytes(30)).decode(),
    "base64url token": lambda rng: _b64url(rng.randbytes(32)),
}

IDENTIFIERS: dict[str, Callable[[random.Random], str]] = {
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "commit sha": lambda rng: _pick(rng, HEX, 40),
    "sha-256 digest": lambda rng: _pick(rng, HEX, 64),
    "secret arn": lambda rng: (
        f"arn:aws:secretsmanager:eu-west-1:111122223333:secret:thirdparty/weather-api-key-{_pick(rng, ALNUM, 6)}"
    ),
    "kms key arn": lambda rng: (
        f"arn:aws:kms:eu-west-1:111122223333:key/{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    ),
    "role arn": lambda rng: f"arn:aws:iam::111122223333:role/keyless-ingest-{_pick(rng, string.ascii_lowercase, 6)}",
    "secret name": lambda rng: f"thirdparty/{_pick(rng, string.ascii_lowercase, 7)}-api-key",
    "table name": lambda rng: f"keyless-ingest-{rng.choice(['prod', 'dev'])}-readings",
    "plain url": lambda rng: f"https://api.weather.example/v{rng.randrange(1, 4)}/current",
    "region": lambda rng: rng.choice(["eu-west-1", "us-east-1", "ap-southeast-2"]),
    "log level": lambda rng: rng.choice(["DEBUG", "INFO", "WARNING"]),
    "ttl seconds": lambda rng: str(rng.randrange(30, 3600)),
    "subnet id": lambda rng: "subnet-" + _pick(rng, HEX, 17),
    "security group id": lambda rng: "sg-" + _pick(rng, HEX, 17),
    "account id": lambda rng: _pick(rng, string.digits, 12),
    "s3 key": lambda rng: f"bundles/{_pick(rng, HEX, 40)}/handler.zip",
    "iso timestamp": lambda rng: f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T10:00:00Z",
}


def samples(kinds: dict[str, Callable[[random.Random], str]], per_kind: int, seed: int = 4) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(kind, make(rng)) for kind, make in kinds.items() for _ in range(per_kind)]
