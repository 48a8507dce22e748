"""Identifiers and credentials built at run time from a seeded RNG, so nothing that looks real is committed.

Used by the detector tests and by `benchmarks.detector_precision`, which reports the false-positive rate of
keyless-guard's detectors against detect-secrets' stock plugins. `CREDENTIALS` and `IDENTIFIERS` are values alone;
`NAMED_CREDENTIALS` and `NAMED_IDENTIFIERS` are (variable name, value) pairs as a program writes them, for the classes
that only a name decides: a punctuated password under `DB_PASSWORD`, a hex key under `SIGNING_KEY`, a setting under
`PASSWORD_MIN_LENGTH`, a public client id under `COGNITO_CLIENT_ID`.
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


PUNCTUATION = "!#$%&*()-_=+[]{}<>:?"
"""pulumi_random's RandomPassword default special characters (`overrideSpecial` unset)."""


def _password(rng: random.Random, n: int = 16) -> str:
    return _pick(rng, ALNUM + PUNCTUATION, n - 2) + rng.choice(PUNCTUATION) + rng.choice(string.digits)


def _pem(label: str, rng: random.Random) -> str:
    body = base64.b64encode(rng.randbytes(270)).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def _b64json(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


Named = Callable[[random.Random], tuple[str, str]]


def _named(name: str, make: Callable[[random.Random], str]) -> Named:
    return lambda rng: (name, make(rng))


NAMED_CREDENTIALS: dict[str, Named] = {
    **{kind: _named("UPSTREAM", make) for kind, make in CREDENTIALS.items()},
    "punctuated password": _named("DB_PASSWORD", _password),
    "punctuated password, well-known name": _named("PGPASSWORD", _password),
    "password, abbreviated name": _named("SMTP_PASS", lambda rng: _pick(rng, ALNUM, 12)),
    "password, glued name": _named("DBPASSWORD", lambda rng: _pick(rng, ALNUM, 12)),
    "secret, camelCase name": _named("JWTSecret", lambda rng: _pick(rng, ALNUM, 12)),
    "token, acronym name": _named("APIToken", lambda rng: _pick(rng, ALNUM, 12)),
    "base64 password with a slash": _named(
        "API_TOKEN", lambda rng: _pick(rng, ALNUM, 7) + "/" + _pick(rng, ALNUM + "+", 8)
    ),
    "64-hex signing key": _named("SIGNING_KEY", lambda rng: _pick(rng, HEX, 64)),
    "40-hex license key": _named("NEW_RELIC_LICENSE_KEY", lambda rng: _pick(rng, HEX, 40)),
    "64-hex key, neutral name": _named("UPSTREAM", lambda rng: _pick(rng, HEX, 64)),
    "json with a password": _named(
        "DB_CONFIG", lambda rng: json.dumps({"user": "svc", "password": _password(rng), "port": 5432})
    ),
    "connection string with a password": _named(
        "DB_CONNECTION", lambda rng: f"Server=db.internal;Database=app;User Id=svc;Password={_password(rng)};"
    ),
    "yaml with a token": _named(
        "APP_CONFIG", lambda rng: f"upstream:\n  url: https://api.weather.example\n  token: {_pick(rng, ALNUM, 14)}\n"
    ),
    "query string with a client secret": _named(
        "OAUTH_PARAMS", lambda rng: f"client=ingest&client_secret={_pick(rng, ALNUM, 12)}"
    ),
    "base64 json with an api key": _named(
        "APP_SETTINGS", lambda rng: _b64json({"region": "eu-west-1", "apiKey": _pick(rng, ALNUM, 14)})
    ),
    # Issue 23: formats without `://` credentials, structures of other syntaxes, names with qualifiers.
    "jdbc sql server password": _named(
        "DB_URL", lambda rng: f"jdbc:sqlserver://db.internal:1433;databaseName=app;user=svc;password={_password(rng)};"
    ),
    "oracle thin user/password": _named(
        "DB_URL", lambda rng: f"jdbc:oracle:thin:svc/{_pick(rng, ALNUM, 12)}@//db.internal:1521/ORCLPDB1"
    ),
    "kafka jaas password": _named(
        "KAFKA_SASL_JAAS_CONFIG",
        lambda rng: (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="svc" password="{_pick(rng, ALNUM, 14)}";'
        ),
    ),
    "libpq quoted passphrase": _named(
        "DATABASE_DSN",
        lambda rng: (
            "host=db user=svc password='" + " ".join(_pick(rng, string.ascii_lowercase, 5) for _ in range(4)) + "'"
        ),
    ),
    "python dict repr with a password": _named(
        "DB_CONFIG", lambda rng: repr({"user": "svc", "password": _pick(rng, ALNUM, 12), "ssl": True})
    ),
    "name/value list with a password": _named(
        "EXTRA_ENV", lambda rng: json.dumps([{"name": "DB_PASSWORD", "value": _pick(rng, ALNUM, 12)}])
    ),
    "authorization bearer uuid": _named(
        "UPSTREAM_HEADERS", lambda rng: f"Authorization: Bearer {uuid.UUID(int=rng.getrandbits(128), version=4)}"
    ),
    "password with a qualifier after it": _named(
        "DB_PASSWORD_READONLY",
        lambda rng: rng.choice(["Reporting", "Summer", "Welcome"]) + str(rng.randrange(1000, 9999)),
    ),
    "hex key under a digest and key name": _named("WEBHOOK_HMAC_SHA256_KEY", lambda rng: _pick(rng, HEX, 64)),
    "encrypted private key": _named(
        "TLS_MATERIAL",
        lambda rng: (
            "-----BEGIN " + "ENCRYPTED PRIVATE KEY-----\n" + _pick(rng, B64, 64) + "\n-----END ENCRYPTED"
            " PRIVATE KEY-----"
        ),
    ),
    "vendor-prefixed uuid token": _named(
        "UPSTREAM", lambda rng: "HRKU" + "-" + str(uuid.UUID(int=rng.getrandbits(128), version=4))
    ),
}

NAMED_IDENTIFIERS: dict[str, Named] = {
    "uuid": _named("REQUEST_ID", IDENTIFIERS["uuid"]),
    "commit sha": _named("GIT_COMMIT", IDENTIFIERS["commit sha"]),
    "sha-256 digest": _named("BUNDLE_SHA256", IDENTIFIERS["sha-256 digest"]),
    "secret arn": _named("API_KEY_SECRET_ARN", IDENTIFIERS["secret arn"]),
    "kms key arn": _named("KMS_KEY_ARN", IDENTIFIERS["kms key arn"]),
    "role arn": _named("ROLE_ARN", IDENTIFIERS["role arn"]),
    "secret name": _named("SECRET_ID", IDENTIFIERS["secret name"]),
    "table name": _named("TABLE_NAME", IDENTIFIERS["table name"]),
    "plain url": _named("API_BASE_URL", IDENTIFIERS["plain url"]),
    "region": _named("AWS_REGION_NAME", IDENTIFIERS["region"]),
    "log level": _named("LOG_LEVEL", IDENTIFIERS["log level"]),
    "ttl seconds": _named("SECRET_CACHE_TTL_SECONDS", IDENTIFIERS["ttl seconds"]),
    "subnet id": _named("SUBNET_ID", IDENTIFIERS["subnet id"]),
    "security group id": _named("SECURITY_GROUP_ID", IDENTIFIERS["security group id"]),
    "account id": _named("ACCOUNT_ID", IDENTIFIERS["account id"]),
    "s3 key": _named("BUNDLE_S3_KEY", IDENTIFIERS["s3 key"]),
    "iso timestamp": _named("DEPLOYED_AT", IDENTIFIERS["iso timestamp"]),
    "ssm parameter name": _named(
        "DB_PASSWORD_PARAMETER", lambda rng: f"/prod/{_pick(rng, string.ascii_lowercase, 5)}/password"
    ),
    "stack secret name under a secret name": _named(
        "API_KEY",
        lambda rng: f"keyless-ingest/{rng.choice(['prod', 'dev'])}/{_pick(rng, string.ascii_lowercase, 6)}-api-key",
    ),
    "dynamic reference": _named(
        "DB_PASSWORD", lambda rng: f"{{{{resolve:secretsmanager:prod/{_pick(rng, string.ascii_lowercase, 5)}}}}}"
    ),
    "password min length": _named("PASSWORD_MIN_LENGTH", lambda rng: str(rng.randrange(8, 64))),
    "token ttl seconds": _named("TOKEN_TTL_SECONDS", lambda rng: str(rng.randrange(60, 86400))),
    "secret rotation days": _named("SECRET_ROTATION_DAYS", lambda rng: str(rng.randrange(1, 365))),
    "secret rotation enabled": _named("SECRET_ROTATION_ENABLED", lambda rng: rng.choice(["true", "false", "True"])),
    "token audience": _named(
        "TOKEN_AUDIENCE", lambda rng: rng.choice(["api://default", "https://api.weather.example", "ingest"])
    ),
    "token issuer": _named(
        "TOKEN_ISSUER", lambda rng: f"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_{_pick(rng, ALNUM, 9)}"
    ),
    "auth token cache": _named(
        "AUTH_TOKEN_CACHE", lambda rng: rng.choice(["redis", "memory", "in-process", "dynamodb"])
    ),
    "token refresh duration": _named("TOKEN_REFRESH", lambda rng: rng.choice(["15m", "1h", "30s", "PT5M"])),
    "cognito app client id": _named(
        "COGNITO_CLIENT_ID", lambda rng: _pick(rng, string.ascii_lowercase + string.digits, 26)
    ),
    "appsync api id": _named("APPSYNC_API_ID", lambda rng: _pick(rng, string.ascii_lowercase + string.digits, 26)),
    "cognito user pool id": _named("USER_POOL_ID", lambda rng: f"eu-west-1_{_pick(rng, ALNUM, 9)}"),
    "pem public key": _named("JWT_PUBLIC_KEY", lambda rng: _pem("PUBLIC KEY", rng)),
    "stripe publishable key": _named("STRIPE_PUBLISHABLE_KEY", lambda rng: "pk_" + "live_" + _pick(rng, ALNUM, 24)),
    "sentry dsn": _named(
        "SENTRY_DSN",
        lambda rng: (
            f"https://{_pick(rng, HEX, 32)}@o{rng.randrange(10**5, 10**7)}.ingest.sentry.io/{rng.randrange(10**6)}"
        ),
    ),
    "base64 json settings": _named(
        "APP_SETTINGS",
        lambda rng: _b64json({"logLevel": "INFO", "retries": rng.randrange(1, 9), "region": "eu-west-1"}),
    ),
    "json with a secret reference": _named(
        "DB_CONFIG",
        lambda rng: json.dumps({"user": "svc", "passwordSecretArn": IDENTIFIERS["secret arn"](rng), "port": 5432}),
    ),
    "connection string with a placeholder": _named(
        "DB_CONNECTION",
        lambda rng: f"Server=db{rng.randrange(9)}.internal;Database=app;User Id=svc;Password=${{DB_PASSWORD}};",
    ),
    # Issue 23: look-alikes of the classes above, and the false blocks it removed.
    "jdbc url without a password": _named(
        "DB_URL", lambda rng: f"jdbc:sqlserver://db{rng.randrange(9)}.internal:1433;databaseName=app;encrypt=true;"
    ),
    "oracle url with a wallet": _named("DB_URL", lambda rng: f"jdbc:oracle:thin:@//db{rng.randrange(9)}:1521/ORCL"),
    "image reference with a digest": _named("IMAGE", lambda rng: f"acme/ingest@sha256:{_pick(rng, HEX, 64)}"),
    "kafka jaas with iam": _named(
        "KAFKA_SASL_JAAS_CONFIG",
        lambda rng: (
            "software.amazon.msk.auth.iam.IAMLoginModule required awsDebugCreds=" + rng.choice(["true;", "false;"])
        ),
    ),
    "python dict repr of settings": _named(
        "DB_CONFIG", lambda rng: repr({"user": "svc", "port": rng.randrange(1024, 65535), "ssl": True})
    ),
    "name/value list of settings": _named(
        "EXTRA_ENV", lambda rng: json.dumps([{"name": "LOG_LEVEL", "value": rng.choice(["INFO", "DEBUG"])}])
    ),
    "authorization placeholder": _named("UPSTREAM_HEADERS", lambda rng: "Authorization: Bearer ${UPSTREAM_TOKEN}"),
    "hex digest of a key": _named("SIGNING_KEY_SHA256", lambda rng: _pick(rng, HEX, 64)),
    "prefixed request id": _named(
        "LAST_REQUEST", lambda rng: rng.choice(["req-", "order_"]) + str(uuid.UUID(int=rng.getrandbits(128), version=4))
    ),
    "subresource integrity hash": _named(
        "BUNDLE_INTEGRITY", lambda rng: "sha512-" + base64.b64encode(rng.randbytes(64)).decode()
    ),
    "jwks of rsa public keys": _named(
        "JWKS",
        lambda rng: json.dumps(
            {"keys": [{"kty": "RSA", "kid": _pick(rng, ALNUM, 8), "n": _b64url(rng.randbytes(256)), "e": "AQAB"}]}
        ),
    ),
}


def named_samples(kinds: dict[str, Named], per_kind: int, seed: int = 4) -> list[tuple[str, str, str]]:
    """(kind, variable name, value) triples."""
    rng = random.Random(seed)
    return [(kind, *make(rng)) for kind, make in kinds.items() for _ in range(per_kind)]


def samples(kinds: dict[str, Callable[[random.Random], str]], per_kind: int, seed: int = 4) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(kind, make(rng)) for kind, make in kinds.items() for _ in range(per_kind)]
