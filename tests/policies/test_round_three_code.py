"""Issue 23, code bundles (lambda-code-no-credentials): files that are not Python, values inside structured files,
passwords passed as arguments or defaults, values built from literals at run time (issue 18, item 5), and the
silent skips (S3-sourced code, binary and UTF-16 files), through the pack process.

Each case is one function whose bundle holds one file; the assertion is the exact set of functions flagged.
Credential-looking values are generated at run time from pieces; nothing here is a real credential.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from pathlib import Path

import pulumi
import pytest

from mock_engine.recorded import RecordedResource
from tests.policies.builders import arn, found, report, res
from tests.policies.corpus import ALNUM, AWS_EXAMPLE_ACCESS_KEY_ID, HEX

RULE = "lambda-code-no-credentials"
RNG = random.Random(2323)


def pick(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def human_password() -> str:
    """A password a person picks: below the entropy threshold, so only the name it sits under can tell."""
    return RNG.choice(["Reporting", "Welcome", "Harbour"]) + str(RNG.randrange(1000, 9999))


def function(name: str, code: object, **inputs: object) -> RecordedResource:
    props = {"name": name, "role": arn("iam", "role/r", region=""), **({"code": code} if code is not None else {})}
    return res("aws:lambda/function:Function", name, {**props, **inputs})


def bundle(path: str, text: str) -> pulumi.AssetArchive:
    return pulumi.AssetArchive({path: pulumi.StringAsset(text), "app.py": pulumi.StringAsset("import os\n")})


def flagged(pack, cases: dict[str, tuple[str, str]]) -> set[str]:
    functions = [function(name, bundle(path, text)) for name, (path, text) in cases.items()]
    return {name for _, name in found(pack, *functions, policy=RULE)}


def test_credentials_in_files_that_are_not_python_are_judged_in_their_own_syntax(pack):
    pw = human_password()
    netrc = f"machine api.weather.example login svc password {pw}\n"
    cases = {
        "bootstrap": ("bootstrap", f"#!/bin/sh\nset -eu\nexport UPSTREAM_TOKEN={pw}\nexec ./app\n"),
        "pypirc": (".pypirc", f"[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = deploy\npassword = {pw}\n"),
        "netrc": (".netrc", netrc),
        "pgpass": (".pgpass", f"db.internal:5432:app:svc:{pw}\n"),
        "npmrc": (".npmrc", f"registry=https://npm.acme.example/\n//npm.acme.example/:_authToken={pick(ALNUM, 12)}\n"),
        "dockerfile-env": ("Dockerfile", f"FROM public.ecr.aws/lambda/python:3.12\nENV DB_PASSWORD={pw}\n"),
        "dockerfile-legacy": ("build/Dockerfile", f"FROM scratch\nENV API_TOKEN {pw}\n"),
        "yaml-token": (
            "config/settings.yaml",
            f"upstream:\n  url: https://api.weather.example\n  access_token: {pw}\n",
        ),
        "extension-flag": ("extensions/telemetry", f"#!/bin/bash\nexec /opt/agent/run --api-key {pw} --region eu\n"),
        "heredoc-netrc": ("setup.sh", f"#!/bin/sh\ncat > \"$HOME/.netrc\" <<'EOF'\n{netrc}EOF\n"),
        "heredoc-yaml": ("setup.sh", f"cat > /etc/agent.yaml <<EOF\nagent:\n  auth_token: {pw}\nEOF\n"),
        "toml": ("pyproject.toml", f'[tool.upload]\nrepository = "internal"\npassword = "{pw}"\n'),
    }
    look_alikes = {
        "bootstrap-clean": ("bootstrap", "#!/bin/sh\nexport PATH=/opt/bin:$PATH\nexec python -m awslambdaric app.h\n"),
        "pypirc-placeholder": (".pypirc", "[pypi]\nusername = __token__\npassword = ${PYPI_TOKEN}\n"),
        "netrc-no-password": (".netrc", "machine api.weather.example login svc\n"),
        "npmrc-env": (".npmrc", "//npm.acme.example/:_authToken=${NPM_TOKEN}\n"),
        "dockerfile-settings": (
            "Dockerfile",
            "FROM scratch\nENV LOG_LEVEL=INFO SECRET_ID=keyless-ingest/prod/weather-api-key\n"
            "ARG PASSWORD_MIN_LENGTH=16\n",
        ),
        "yaml-settings": ("settings.yml", "token_ttl_seconds: 3600\naccess_token_url: https://auth.example/token\n"),
        "workflow": ("ci.yaml", "env:\n  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n  LOG_LEVEL: debug\n"),
        "shell-flags": ("run.sh", "#!/bin/sh\naws secretsmanager get-secret-value --secret-id prod/db --region eu\n"),
    }
    assert flagged(pack, {**cases, **look_alikes}) == set(cases)


def test_values_inside_structured_files(pack):
    pw = human_password()
    appsettings = {"ConnectionStrings": {"Default": f"Server=db;Database=app;User Id=svc;Password={pw};"}}
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Load\n"]},
            {"cell_type": "code", "source": ["import requests\n", f'requests.get(u, auth=("svc", "{pw}"))\n']},
        ],
        "nbformat": 4,
    }
    cases = {
        "appsettings": ("appsettings.json", json.dumps(appsettings, indent=2)),
        "webhook-dict": ("hooks.py", f'HANDLERS = {{"github": {{"webhook_secret": "{pw}"}}}}\n'),
        "notebook": ("explore.ipynb", json.dumps(notebook, indent=1)),
        "js-template": ("index.mjs", f"const signature = `{pick(ALNUM, 32)}`;\n"),
        "php-define": ("wp-config.php", f"<?php\ndefine('DB_PASSWORD', '{pw}');\n"),
        "js-object": ("config.js", f"module.exports = {{ db: {{ password: '{pw}' }} }};\n"),
    }
    integrity = "sha512-" + base64.b64encode(RNG.randbytes(64)).decode()
    lock = {"packages": {"node_modules/left-pad": {"version": "1.3.0", "integrity": integrity}}}
    jwks = {"keys": [{"kty": "RSA", "kid": "k1", "n": pick(ALNUM + "-_", 342), "e": "AQAB"}]}
    look_alikes = {
        "appsettings-clean": (
            "appsettings.json",
            json.dumps({"ConnectionStrings": {"Default": "Server=db;Database=app;Integrated Security=true;"}}),
        ),
        "package-lock": ("package-lock.json", json.dumps(lock, indent=2)),
        "jwks": ("jwks.json", json.dumps(jwks)),
        "js-template-plain": ("index.mjs", "const url = `https://api.weather.example/v1/${city}/current`;\n"),
        "php-host": (
            "wp-config.php",
            "<?php\ndefine('DB_HOST', 'db.internal');\ndefine('DB_PASSWORD', getenv('DB_PASSWORD'));\n",
        ),
    }
    assert flagged(pack, {**cases, **look_alikes}) == set(cases)


def test_passwords_passed_as_arguments_or_defaults(pack):
    pw = human_password()
    cases = {
        "pydantic-default": ("settings.py", f'class Settings(BaseSettings):\n    db_password: str = "{pw}"\n'),
        "pydantic-field": ("settings.py", f'class S(BaseModel):\n    api_token: SecretStr = Field(default="{pw}")\n'),
        "getenv-default": ("db.py", f'import os\nPASSWORD = os.getenv("DB_PASSWORD", "{pw}")\n'),
        "environ-get-default": ("db.py", f'import os\nTOKEN = os.environ.get("API_TOKEN", "{pw}")\n'),
        "login": ("mail.py", f'smtp.login("svc@acme.example", "{pw}")\n'),
        "auth-tuple": ("client.py", f'requests.get(url, auth=("svc", "{pw}"), timeout=5)\n'),
        "basic-auth": ("client.py", f'auth = HTTPBasicAuth("svc", "{pw}")\n'),
        "keyword": ("db.py", f'conn = psycopg.connect(host="db", user="svc", password="{pw}")\n'),
        "function-default": ("db.py", f'def connect(host: str, password: str = "{pw}") -> None: ...\n'),
    }
    look_alikes = {
        "getenv-no-default": ("db.py", 'import os\nPASSWORD = os.environ["DB_PASSWORD"]\nT = os.getenv("API_TOKEN")\n'),
        "getenv-setting": ("db.py", 'import os\nLEVEL = os.getenv("LOG_LEVEL", "INFO")\n'),
        "login-variables": ("mail.py", "smtp.login(user, password)\nrequests.get(url, auth=(user, password))\n"),
        "empty-default": (
            "settings.py",
            'class S(BaseSettings):\n    db_password: str = ""\n    api_token: str | None = None\n',
        ),
        "hash-new": ("digest.py", 'import hashlib\nh = hashlib.new("sha256")\n'),
    }
    assert flagged(pack, {**cases, **look_alikes}) == set(cases)


def test_values_built_from_literals_at_run_time(pack):
    """Issue 18, item 5: a literal decoded, joined or formatted at run time still hides a key."""
    hex_key = pick(HEX, 64)
    aws_key_b64 = base64.b64encode(AWS_EXAMPLE_ACCESS_KEY_ID.encode()).decode()
    stripe_pieces = ["sk_", "live_", pick(ALNUM, 12), pick(ALNUM, 12)]
    cases = {
        "fromhex-name": ("sign.py", f'HMAC_KEY = bytes.fromhex("{hex_key}")\n'),
        "fromhex-argument": ("sign.py", f'import hmac\nmac = hmac.new(bytes.fromhex("{hex_key}"), body, "sha256")\n'),
        "unhexlify": ("sign.py", f'import binascii\nSECRET = binascii.unhexlify("{hex_key}")\n'),
        "b64decode-credential": ("creds.py", f'import base64\nACCESS = base64.b64decode("{aws_key_b64}").decode()\n'),
        "join": ("pay.py", f"KEY = {''!r}.join({stripe_pieces!r})\n"),
        "concatenation": ("pay.py", "STRIPE = " + " + ".join(repr(p) for p in stripe_pieces) + "\n"),
        "format": ("pay.py", "STRIPE = '{}{}{}{}'.format(" + ", ".join(repr(p) for p in stripe_pieces) + ")\n"),
    }
    look_alikes = {
        "fromhex-digest": ("verify.py", f'EXPECTED_SHA256 = bytes.fromhex("{pick(HEX, 64)}")\n'),
        "fromhex-id": ("ids.py", f'COMMIT_ID = bytes.fromhex("{pick(HEX, 40)}")\n'),
        "b64decode-setting": (
            "cfg.py",
            f'import base64\nBANNER = base64.b64decode("{base64.b64encode(b"hello world").decode()}")\n',
        ),
        "join-path": ("paths.py", 'PREFIX = "/".join(["keyless-ingest", "prod", "weather-api-key"])\n'),
    }
    assert flagged(pack, {**cases, **look_alikes}) == set(cases)


def test_key_formats_the_stock_plugins_do_not_list(pack):
    body = base64.b64encode(RNG.randbytes(96)).decode()
    marker = " ".join(("ENCRYPTED", "PRIVATE", "KEY"))
    token = "HRKU" + "-" + str(uuid.UUID(int=RNG.getrandbits(128)))
    cases = {
        "encrypted-pem": ("certs/client.pem", f"-----BEGIN {marker}-----\n{body}\n-----END {marker}-----\n"),
        "vendor-uuid": ("deploy.py", f'REGISTRY = "{token}"\n'),
    }
    look_alikes = {"request-id": ("trace.py", f'LAST = "req-{uuid.UUID(int=RNG.getrandbits(128))}"\n')}
    assert flagged(pack, {**cases, **look_alikes}) == set(cases)


def write_dir(tmp_path: Path, name: str, files: dict[str, bytes]) -> pulumi.FileArchive:
    root = tmp_path / name
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return pulumi.FileArchive(str(root))


def test_utf16_text_is_decoded_and_scanned_and_binary_files_are_reported(pack, tmp_path):
    leaked = "sk_" + "live_" + pick(ALNUM, 24)
    leaky_text = f'API = "{leaked}"\n'
    clean_text = 'SECRET_ID = "keyless-ingest/prod/weather-api-key"\n'
    pkcs12_like = b"\x30\x82\x0a\x1f\x02\x01\x03\x30\x82\x09\xe5\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01\x00" * 8
    functions = [
        function("utf16-bom", write_dir(tmp_path, "a", {"keys.py": leaky_text.encode("utf-16")})),
        function("utf16-le", write_dir(tmp_path, "b", {"keys.txt": leaky_text.encode("utf-16-le")})),
        function("utf16-clean", write_dir(tmp_path, "c", {"cfg.py": clean_text.encode("utf-16")})),
        function("keystore", write_dir(tmp_path, "d", {"certs/client.p12": pkcs12_like, "app.py": b"import os\n"})),
        function("image", write_dir(tmp_path, "e", {"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00" * 4})),
    ]
    result = report(pack, *functions)
    names = {f.urn: f.name for f in functions}
    messages = {names[v.urn]: v.message for v in result.violations if v.policy == RULE}
    assert set(messages) == {"utf16-bom", "utf16-le", "keystore"}
    assert "keys.py line 1: Stripe Access Key" in messages["utf16-bom"]
    assert "certs/client.p12 was not scanned because it is binary" in messages["keystore"]
    assert leaked not in " ".join(messages.values())


@pytest.mark.parametrize("type_", ["aws:lambda/function:Function", "aws:lambda/layerVersion:LayerVersion"])
def test_code_from_s3_is_reported_as_not_scanned(pack, type_):
    from_s3 = res(type_, "from-s3", {"s3Bucket": "acme-artifacts", "s3Key": "ingest/handler.zip"})
    image = res(
        type_, "image", {"packageType": "Image", "imageUri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/i:1"}
    )
    result = report(pack, from_s3, image)
    messages = [(v.message, v.urn) for v in result.violations if v.policy == RULE]
    assert [urn.rsplit("::", 1)[-1] for _, urn in messages] == ["from-s3"]
    assert "comes from S3 (s3Bucket / s3Key), so it was not scanned" in messages[0][0]


def test_messages_never_echo_the_value(pack):
    pw = human_password()
    result = report(pack, function("netrc", bundle(".netrc", f"machine h login svc password {pw}\n")))
    messages = [v.message for v in result.violations if v.policy == RULE]
    assert messages == [
        "code file .netrc line 1: netrc machine h holds a password. Remove it and read the secret at run time."
    ]
    assert all(pw not in m for m in messages)


def test_an_s3_object_uploaded_from_a_local_archive_is_scanned_as_code(pack, tmp_path):
    """The object the S3-sourced function names: a BucketObjectv2 built from a FileArchive (the issue's example)."""
    leaked = "sk_" + "live_" + pick(ALNUM, 24)
    obj = "aws:s3/bucketObjectv2:BucketObjectv2"
    leaky = write_dir(tmp_path, "leaky", {"app.py": f'API = "{leaked}"\n'.encode()})
    clean = write_dir(tmp_path, "clean", {"app.py": b"import os\n"})
    (tmp_path / "readings.csv").write_text("city,temp\nParis,12\n")
    objects = [
        res(obj, "leaky-bundle", {"bucket": "acme-artifacts", "key": "ingest/handler.zip", "source": leaky}),
        res(obj, "clean-bundle", {"bucket": "acme-artifacts", "key": "ingest/clean.zip", "source": clean}),
        res(
            obj,
            "data",
            {"bucket": "acme-data", "key": "r.csv", "source": pulumi.FileAsset(str(tmp_path / "readings.csv"))},
        ),
    ]
    result = report(pack, *objects)
    messages = [(v.message, v.urn.rsplit("::", 1)[-1]) for v in result.violations if v.policy == RULE]
    assert messages == [
        ("S3 object file app.py line 1: Stripe Access Key. Remove it and read the secret at run time.", "leaky-bundle")
    ]
