"""Environment variables judged as credentials, not as tokens: structured values, punctuated passwords, hex keys,
names as people write them, exact reference forms and the false positives that must go, through the pack process.

Each test builds one function per case (named after the case) and asserts the exact set of functions the
lambda-env-no-credentials rule flags. Credential-looking values are generated at run time.
"""

from __future__ import annotations

import base64
import json
import random
import string

from mock_engine.recorded import RecordedResource
from tests.policies.builders import arn, found, report, res
from tests.policies.corpus import ALNUM, CREDENTIALS, HEX, NAMED_IDENTIFIERS, PUNCTUATION

FUNCTION = "aws:lambda/function:Function"
RULE = "lambda-env-no-credentials"
RNG = random.Random(13)


def pick(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def password(n: int = 18, specials: str = PUNCTUATION) -> str:
    """A random-password generator's output: letters, digits and punctuation, at least one of each special."""
    return pick(ALNUM, n - len(specials[:4])) + specials[:4]


def b64json(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def function(name: str, variables: dict[str, str]) -> RecordedResource:
    return res(
        FUNCTION, name, {"name": name, "role": arn("iam", "role/r", region=""), "environment": {"variables": variables}}
    )


def flagged(pack, cases: dict[str, dict[str, str]]) -> set[str]:
    functions = [function(name, variables) for name, variables in cases.items()]
    return {name for _, name in found(pack, *functions, policy=RULE)}


def test_structured_values_are_parsed_and_their_inner_pairs_judged(pack):
    secret = password()
    cases = {
        "json-password": {"DB_CONFIG": json.dumps({"user": "svc", "password": secret, "port": 5432})},
        "json-nested-token": {"APP_CONFIG": json.dumps({"upstream": {"url": "https://a.example", "apiToken": "x1y2"}})},
        "yaml-token": {"APP_CONFIG": f"upstream:\n  url: https://api.weather.example\n  token: {pick(ALNUM, 12)}\n"},
        "query-string": {"OAUTH_PARAMS": f"client=ingest&client_secret={pick(ALNUM, 12)}"},
        "connection-string": {"DB_CONNECTION": f"Server=db.internal;Database=app;User Id=svc;Password={secret};"},
        "libpq-dsn": {"DATABASE_DSN": f"host=db.internal port=5432 user=svc password={pick(ALNUM, 10)}"},
        "base64-json-key": {"APP_SETTINGS": b64json({"region": "eu-west-1", "apiKey": pick(ALNUM, 14)})},
        "json-in-json": {"APP_CONFIG": json.dumps({"db": json.dumps({"PGPASSWORD": pick(ALNUM, 10)})})},
        "too-deep-to-judge": {"APP_CONFIG": '{"a": ' * 40 + "1" + "}" * 40},
        # Look-alikes: references, placeholders and settings inside.
        "json-reference": {
            "DB_CONFIG": json.dumps({"user": "svc", "passwordSecretArn": NAMED_IDENTIFIERS["secret arn"](RNG)[1]})
        },
        "json-settings": {"APP_CONFIG": json.dumps({"passwordMinLength": 12, "tokenTtlSeconds": 3600, "debug": False})},
        "connection-placeholder": {
            "DB_CONNECTION": "Server=db.internal;Database=app;User Id=svc;Password=${DB_PASSWORD};"
        },
        "yaml-reference": {
            "APP_CONFIG": "db:\n  host: db.internal\n  password: '{{resolve:secretsmanager:prod/db}}'\n"
        },
        "query-plain": {"UPSTREAM_PARAMS": "units=metric&lang=en&city=Dublin"},
        "base64-json-settings": {"APP_SETTINGS": b64json({"logLevel": "INFO", "retries": 3, "region": "eu-west-1"})},
    }
    assert flagged(pack, cases) == {
        "json-password",
        "json-nested-token",
        "yaml-token",
        "query-string",
        "connection-string",
        "libpq-dsn",
        "base64-json-key",
        "json-in-json",
        "too-deep-to-judge",  # reported, never passed unjudged
    }


def test_punctuated_passwords_are_judged_whole_under_secret_like_names(pack):
    cases = {
        "all-specials": {"DB_PASSWORD": password()},
        "equals-and-semicolon": {"DB_PASSWORD": password(specials="=;&/")},
        "slash-and-plus": {"ADMIN_PASSWORD": pick(ALNUM, 7) + "/" + pick(ALNUM, 7) + "+="},
        "short-with-colon": {"API_TOKEN": pick(ALNUM, 5) + ":" + pick(ALNUM, 5)},
        "dynamic-reference": {"DB_PASSWORD": "{{resolve:secretsmanager:prod/db:SecretString:password}}"},
        "dollar-first": {"DB_PASSWORD": "$" + pick(string.ascii_lowercase, 1) + pick(ALNUM, 12)},
        "placeholder": {"DB_PASSWORD": "${DB_PASSWORD}"},
        "shell-variable": {"DB_PASSWORD": "$DB_PASSWORD"},
        "ssm-reference": {"DB_PASSWORD": "ssm:/prod/db/password"},
    }
    assert flagged(pack, cases) == {
        "all-specials",
        "equals-and-semicolon",
        "slash-and-plus",
        "short-with-colon",
        "dollar-first",
    }


def test_hex_keys_are_credentials_unless_the_name_says_digest(pack):
    cases = {
        "signing-key": {"SIGNING_KEY": pick(HEX, 64)},
        "encryption-key": {"ENCRYPTION_KEY": pick(HEX, 40)},
        "license-key": {"NEW_RELIC_LICENSE_KEY": pick(HEX, 40)},
        "app-key": {"PUSHER_APP_KEY": pick(HEX, 64).upper()},
        "neutral-name": {"UPSTREAM": pick(HEX, 64)},
        "commit": {"GIT_COMMIT": pick(HEX, 40)},
        "sha": {"GIT_SHA": pick(HEX, 40)},
        "digest": {"IMAGE_DIGEST": pick(HEX, 64)},
        "hash": {"BUNDLE_HASH": pick(HEX, 64)},
        "etag": {"CONFIG_ETAG": pick(HEX, 32)},
        "version": {"APP_VERSION": pick(HEX, 40)},
        "trace-id": {"TRACE_ID": pick(HEX, 32)},
    }
    assert flagged(pack, cases) == {"signing-key", "encryption-key", "license-key", "app-key", "neutral-name"}


def test_names_are_split_into_words_the_way_people_write_them(pack):
    literal = pick(ALNUM, 10)
    credential_names = [
        "PGPASSWORD",
        "MYSQL_PWD",
        "SMTP_PASS",
        "DB_PW",
        "REDIS_AUTH",
        "PWD",
        "DBPASSWORD",
        "SECRETKEY",
        "JWTSecret",
        "APIToken",
        "apiKey",
        "API_KEY_PROD",
        "PASSWORD_VALUE",
    ]
    look_alikes = {
        "BYPASS_CACHE": "true",
        "COMPASS_HEADING": "north",
        "MONKEY": "banana",
        "PASSWORDLESS_LOGIN": "true",
        "KEYBOARD_LAYOUT": "uk",
        "PARTITION_KEY": "deviceId",
        "S3_KEY": "bundles/handler.zip",
    }
    cases = {name: {name: literal} for name in credential_names}
    cases |= {f"ok-{name}": {name: value} for name, value in look_alikes.items()}
    assert flagged(pack, cases) == set(credential_names)


def test_references_are_exact_forms_and_a_slash_is_not_one(pack):
    cases = {
        "base64-with-slash": {"API_TOKEN": base64.b64encode(RNG.randbytes(12)).decode().replace("A", "/")[:15] + "Q/x"},
        "mixed-case-path": {"DB_PASSWORD": pick(string.ascii_uppercase, 4) + "/" + pick(ALNUM, 6)},
        "arn": {"API_KEY": arn("secretsmanager", "secret:thirdparty/weather-api-key-AbC123")},
        "ssm-prefix": {"DB_PASSWORD": "ssm:/prod/db/password"},
        "secretsmanager-prefix": {"API_KEY": "secretsmanager:thirdparty/weather-api-key"},
        "resolve": {"DB_PASSWORD": "{{resolve:ssm-secure:/prod/db/password:1}}"},
        "stack-naming": {"API_KEY": "keyless-ingest/prod/weather-api-key"},
        "parameter-path": {"DB_PASSWORD_PARAMETER": "/prod/db/password"},
    }
    assert flagged(pack, cases) == {"base64-with-slash", "mixed-case-path"}


def test_settings_public_identifiers_and_public_by_design_values_pass(pack):
    private_marker = " ".join(("RSA", "PRIVATE", "KEY"))
    public_pem = NAMED_IDENTIFIERS["pem public key"](RNG)[1]
    cases = {
        "password-min-length": {"PASSWORD_MIN_LENGTH": "12"},
        "token-ttl-seconds": {"TOKEN_TTL_SECONDS": "3600"},
        "secret-rotation-days": {"SECRET_ROTATION_DAYS": "30"},
        "secret-rotation-enabled": {"SECRET_ROTATION_ENABLED": "true"},
        "token-audience": {"TOKEN_AUDIENCE": "api://default"},
        "token-issuer": {"TOKEN_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_" + pick(ALNUM, 9)},
        "auth-token-cache": {"AUTH_TOKEN_CACHE": "redis"},
        "token-refresh": {"TOKEN_REFRESH_AFTER": "15m"},
        "password-hint-word": {"PASSWORD_HINT": "none"},
        "cognito-client-id": {"COGNITO_CLIENT_ID": pick(string.ascii_lowercase + string.digits, 26)},
        "appsync-api-id": {"APPSYNC_API_ID": pick(string.ascii_lowercase + string.digits, 26)},
        "pem-public-key": {"JWT_PUBLIC_KEY": public_pem},
        "pem-public-key-escaped": {"JWT_PUBLIC_KEY": public_pem.replace("\n", "\\n")},
        "stripe-publishable": {"STRIPE_PUBLISHABLE_KEY": "pk_" + "live_" + pick(ALNUM, 24)},
        "sentry-dsn": {"SENTRY_DSN": f"https://{pick(HEX, 32)}@o4505.ingest.sentry.io/4506"},
        "base64-json-settings": {"APP_SETTINGS": b64json({"logLevel": "DEBUG", "features": ["a", "b"]})},
        # Their failing twins: the same names and shapes holding a credential.
        "password-hint-literal": {"PASSWORD_HINT": password()},
        "ttl-name-random-value": {"TOKEN_TTL_SECONDS": pick(ALNUM, 28)},
        "client-id-name-mixed-case-key": {"COGNITO_CLIENT_ID": pick(ALNUM, 32)},
        "pem-private-key": {"JWT_PUBLIC_KEY": public_pem.replace("PUBLIC KEY", private_marker)},
        "stripe-secret": {"STRIPE_PUBLISHABLE_KEY": "sk_" + "live_" + pick(ALNUM, 24)},
        "sentry-legacy-dsn": {"SENTRY_DSN": f"https://{pick(HEX, 32)}:{pick(HEX, 32)}@sentry.example/4506"},
        "base64-json-password": {"APP_SETTINGS": b64json({"logLevel": "DEBUG", "password": pick(ALNUM, 10)})},
    }
    assert flagged(pack, cases) == {
        "password-hint-literal",
        "ttl-name-random-value",
        "client-id-name-mixed-case-key",
        "pem-private-key",
        "stripe-secret",
        "sentry-legacy-dsn",
        "base64-json-password",
    }


def test_structured_messages_name_the_inner_key_and_never_the_value(pack):
    secret = password()
    token = CREDENTIALS["github token"](RNG)
    variables = {
        "DB_CONFIG": json.dumps({"db": {"user": "svc", "password": secret}}),
        "OTHER": json.dumps({token: "x"}),  # a credential as a key is never echoed
    }
    result = report(pack, function("fn", variables))
    messages = sorted(v.message for v in result.violations if v.policy == RULE)
    assert len(messages) == 2
    assert "environment variable DB_CONFIG (at db.password) is named like a secret" in messages[0]
    assert "environment variable OTHER" in messages[1]
    assert all(secret not in m and token not in m and token[4:12] not in m for m in messages)
