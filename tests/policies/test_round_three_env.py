"""Issue 23, environment values: the classes a broader review got through, and the false blocks to remove, through
the pack process (lambda-env-no-credentials). Each case is one function named after it; the assertion is the exact
set flagged. Credential-looking values are generated at run time."""

from __future__ import annotations

import base64
import json
import random
import string
import uuid

from tests.policies.corpus import ALNUM, HEX
from tests.policies.test_env_values import flagged

RNG = random.Random(23)


def pick(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def b64url(n: int) -> str:
    return base64.urlsafe_b64encode(RNG.randbytes(n)).rstrip(b"=").decode()


def public_jwks() -> str:
    keys = [{"kty": "RSA", "kid": f"k{i}", "use": "sig", "alg": "RS256", "n": b64url(256), "e": "AQAB"} for i in (1, 2)]
    return json.dumps({"keys": keys})


def test_connection_strings_without_a_url_password(pack):
    secret = pick(ALNUM, 12)
    cases = {
        "jdbc-sqlserver": {"DB_URL": f"jdbc:sqlserver://db.internal:1433;databaseName=app;user=svc;password={secret};"},
        "jdbc-sqlserver-braced": {"DB_URL": f"jdbc:sqlserver://db:1433;user=svc;password={{{secret};x}};encrypt=true"},
        "oracle-thin": {"DB_URL": f"jdbc:oracle:thin:scott/{secret}@//db.internal:1521/ORCLPDB1"},
        "oracle-ezconnect": {"ORACLE_CONNECT": f"app/{secret}@db.internal:1521/orcl"},
        "kafka-jaas": {
            "KAFKA_SASL_JAAS_CONFIG": "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="svc" password="{secret}";'
        },
        "libpq-quoted": {"DATABASE_DSN": "host=db.internal user=svc password='correct horse battery staple'"},
        # Look-alikes: no password, a placeholder, an image digest that has `/` and `@`.
        "jdbc-no-password": {"DB_URL": "jdbc:sqlserver://db.internal:1433;databaseName=app;integratedSecurity=true;"},
        "jdbc-placeholder": {"DB_URL": "jdbc:sqlserver://db:1433;user=svc;password=${DB_PASSWORD};"},
        "oracle-wallet": {"DB_URL": "jdbc:oracle:thin:@//db.internal:1521/ORCLPDB1"},
        "image-digest": {"IMAGE": f"acme/ingest@sha256:{pick(HEX, 64)}"},
        "jaas-no-password": {
            "KAFKA_SASL_JAAS_CONFIG": "software.amazon.msk.auth.iam.IAMLoginModule required awsDebugCreds=false;"
        },
    }
    assert flagged(pack, cases) == {
        "jdbc-sqlserver",
        "jdbc-sqlserver-braced",
        "oracle-thin",
        "oracle-ezconnect",
        "kafka-jaas",
        "libpq-quoted",
    }


def test_python_reprs_and_name_value_lists_are_structures(pack):
    secret = pick(ALNUM, 12)
    cases = {
        "dict-repr": {"DB_CONFIG": repr({"user": "svc", "password": secret, "ssl": True})},
        "name-value-list": {"EXTRA_ENV": json.dumps([{"name": "DB_PASSWORD", "value": secret}])},
        "pascal-name-value": {"EXTRA_ENV": json.dumps([{"Name": "API_TOKEN", "Value": secret}])},
        "dict-repr-settings": {"DB_CONFIG": repr({"user": "svc", "port": 5432, "ssl": True})},
        "name-value-settings": {"EXTRA_ENV": json.dumps([{"name": "LOG_LEVEL", "value": "INFO"}])},
        "name-value-reference": {"EXTRA_ENV": json.dumps([{"name": "DB_PASSWORD", "value": "/prod/db/password"}])},
    }
    assert flagged(pack, cases) == {"dict-repr", "name-value-list", "pascal-name-value"}


def test_authorization_headers(pack):
    cases = {
        "bearer-uuid": {"UPSTREAM_HEADERS": f"Authorization: Bearer {uuid.UUID(int=RNG.getrandbits(128))}"},
        "bearer-whole": {"UPSTREAM_HEADER": f"Bearer {pick(ALNUM, 24)}"},
        "basic": {"UPSTREAM_HEADER": "Basic " + base64.b64encode(f"svc:{pick(ALNUM, 10)}".encode()).decode()},
        "bearer-placeholder": {"UPSTREAM_HEADERS": "Authorization: Bearer ${TOKEN}"},
        "scheme-only": {"AUTH_SCHEME": "Bearer"},
        "prose": {"UPSTREAM_NOTE": "Bearer tokens come from Cognito"},
    }
    assert flagged(pack, cases) == {"bearer-uuid", "bearer-whole", "basic"}


def test_secret_names_with_a_qualifier_after_the_head_and_human_passwords(pack):
    cases = {
        "readonly": {"DB_PASSWORD_READONLY": "Reporting" + str(RNG.randrange(1000, 9999))},
        "replica": {"DB_PASSWORD_REPLICA": pick(string.ascii_letters, 10)},
        "hint-password-shaped": {"PASSWORD_HINT": "Summer" + str(RNG.randrange(2000, 2030))},
        # Settings under secret-like names still pass.
        "hint-word": {"PASSWORD_HINT": "birthday"},
        "algorithm": {"TOKEN_SIGNING_ALG": "HS256"},
        "readonly-reference": {"DB_PASSWORD_READONLY": "/prod/db/readonly-password"},
    }
    assert flagged(pack, cases) == {"readonly", "replica", "hint-password-shaped"}


def test_a_key_word_wins_over_a_digest_word_in_the_name(pack):
    cases = {
        "hmac-sha256-key": {"WEBHOOK_HMAC_SHA256_KEY": pick(HEX, 64)},
        "signing-key-sha": {"SIGNING_KEY_SHA256": pick(HEX, 64)},
        "image-sha256": {"IMAGE_SHA256": pick(HEX, 64)},
    }
    assert flagged(pack, cases) == {"hmac-sha256-key"}


def test_key_formats_the_stock_plugins_do_not_list(pack):
    body = base64.b64encode(RNG.randbytes(96)).decode()
    encrypted = "-----BEGIN " + f"ENCRYPTED PRIVATE KEY-----\n{body}\n-----END " + "ENCRYPTED PRIVATE KEY-----"
    token = "HRKU" + "-" + str(uuid.UUID(int=RNG.getrandbits(128)))
    cases = {
        "encrypted-private-key": {"TLS_MATERIAL": encrypted},
        "vendor-uuid": {"UPSTREAM": token},
        "lower-prefixed-id": {"LAST_REQUEST": "req-" + str(uuid.UUID(int=RNG.getrandbits(128)))},
        "bare-uuid": {"REQUEST_ID": str(uuid.UUID(int=RNG.getrandbits(128)))},
    }
    assert flagged(pack, cases) == {"encrypted-private-key", "vendor-uuid"}


def test_public_by_design_jwks_and_integrity_hashes_pass(pack):
    private_jwk = json.dumps({"keys": [{"kty": "RSA", "n": b64url(256), "e": "AQAB", "d": b64url(256)}]})
    shared_jwk = json.dumps({"keys": [{"kty": "oct", "k": b64url(32)}]})
    integrity = "sha512-" + base64.b64encode(RNG.randbytes(64)).decode()
    cases = {
        "jwks": {"JWKS": public_jwks()},
        "jwks-private": {"JWKS": private_jwk},
        "jwks-oct": {"JWKS": shared_jwk},
        "integrity": {"BUNDLE_INTEGRITY": integrity},
    }
    assert flagged(pack, cases) == {"jwks-private", "jwks-oct"}
