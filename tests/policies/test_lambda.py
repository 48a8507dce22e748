"""Lambda environment and code-bundle rules, through the pack process."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pulumi
import pytest

from bundle_builder.builder import build_bundle
from mock_engine.recorded import RecordedResource
from tests.policies.builders import UNKNOWN, arn, found, report, res
from tests.policies.corpus import AWS_EXAMPLE_ACCESS_KEY_ID, AWS_EXAMPLE_SECRET_ACCESS_KEY, CREDENTIALS, IDENTIFIERS

FUNCTION = "aws:lambda/function:Function"
ENV_RULE = "lambda-env-no-credentials"
CODE_RULE = "lambda-code-no-credentials"
RNG = random.Random(7)


def function(name: str, variables: object = None, code: object = None) -> RecordedResource:
    inputs: dict[str, object] = {"name": name, "role": arn("iam", "role/r", region="")}
    if variables is not None:
        inputs["environment"] = {"variables": variables}
    if code is not None:
        inputs["code"] = code
    return res(FUNCTION, name, inputs)


def test_the_real_environment_passes(pack):
    variables = {
        "SECRET_ID": "thirdparty/weather-api-key",
        "TABLE_NAME": "keyless-ingest-prod-readings",
        "API_BASE_URL": "https://api.weather.example/v1",
        "SECRET_CACHE_TTL_SECONDS": "300",
        "LOG_LEVEL": "INFO",
    }
    assert found(pack, function("fn", variables), policy=ENV_RULE) == set()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_ID", "thirdparty/weather-api-key"),
        ("API_KEY_SECRET_ARN", IDENTIFIERS["secret arn"](RNG)),
        ("API_KEY_SECRET_NAME", "thirdparty/weather-api-key"),
        ("REQUEST_ID", IDENTIFIERS["uuid"](RNG)),
        ("GIT_SHA", IDENTIFIERS["commit sha"](RNG)),
        ("KMS_KEY", IDENTIFIERS["kms key arn"](RNG)),
        ("AWS_REGION_NAME", "eu-west-1"),
        ("API_BASE_URL", "https://api.weather.example/v1?units=metric"),
        ("DB_PASSWORD_PARAMETER", "/prod/db/password"),
        ("EMPTY_TOKEN", ""),
    ],
)
def test_references_and_identifiers_pass(pack, name, value):
    assert found(pack, function("fn", {name: value}), policy=ENV_RULE) == set()


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_credentials_of_every_kind_fail_under_a_neutral_name(pack, kind):
    value = CREDENTIALS[kind](RNG)
    assert found(pack, function("fn", {"UPSTREAM": value}), policy=ENV_RULE) == {(ENV_RULE, "fn")}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AWS_ACCESS_KEY_ID", AWS_EXAMPLE_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", AWS_EXAMPLE_SECRET_ACCESS_KEY),
        ("AWS_SESSION_TOKEN", "anything"),
        ("API_KEY", "hunter2"),  # named like a secret, literal value
        ("dbPassword", "correct horse"),
        ("WEATHER_TOKEN", "12345"),
    ],
)
def test_secret_names_with_literals_and_aws_credentials_fail(pack, name, value):
    assert found(pack, function("fn", {name: value}), policy=ENV_RULE) == {(ENV_RULE, "fn")}


def test_message_names_the_variable_and_never_the_value(pack):
    value = CREDENTIALS["github token"](RNG)
    result = report(pack, function("fn", {"UPSTREAM": value, "LOG_LEVEL": "INFO"}))
    messages = [v.message for v in result.violations if v.policy == ENV_RULE]
    assert len(messages) == 1
    assert "UPSTREAM" in messages[0]
    assert value not in messages[0]
    assert value[4:12] not in messages[0]


def test_unknown_value_reports_known_ones_and_an_advisory(pack):
    result = report(pack, function("fn", {"AWS_SECRET_ACCESS_KEY": "x", "TABLE": UNKNOWN}))
    assert {(v.policy, v.enforcement, v.cant_run) for v in result.violations if v.policy == ENV_RULE} == {
        (ENV_RULE, "mandatory", False),
        (ENV_RULE, "advisory", True),
    }


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture
def bundles(tmp_path: Path) -> dict[str, object]:
    leaked = CREDENTIALS["stripe live key"](RNG)
    clean_code = 'import os\nSECRET_ID = os.environ["SECRET_ID"]\nREQUEST = "6f1c2a3e-8d9b-4c7a-9e2f-1a2b3c4d5e6f"\n'
    leaky_code = f'import os\n\n\nAPI = "{leaked}"\n'
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    (clean_dir / "app.py").write_text(clean_code)
    leaky_dir = tmp_path / "leaky"
    (leaky_dir / "pkg").mkdir(parents=True)
    (leaky_dir / "pkg" / "settings.py").write_text(leaky_code)
    (tmp_path / "leaky.zip").write_bytes(_zip({"handler/app.py": clean_code, "handler/keys.py": leaky_code}))
    (tmp_path / "clean.zip").write_bytes(_zip({"app.py": clean_code}))
    return {
        "clean-dir": pulumi.FileArchive(str(clean_dir)),
        "clean-zip": pulumi.FileArchive(str(tmp_path / "clean.zip")),
        "clean-assets": pulumi.AssetArchive({"app.py": pulumi.StringAsset(clean_code)}),
        "leaky-dir": pulumi.FileArchive(str(leaky_dir)),
        "leaky-zip": pulumi.FileArchive(str(tmp_path / "leaky.zip")),
        "leaky-assets": pulumi.AssetArchive(
            {"app.py": pulumi.StringAsset(clean_code), "lib": pulumi.FileArchive(str(leaky_dir))}
        ),
        "missing": pulumi.FileArchive(str(tmp_path / "nope.zip")),
        "remote": pulumi.RemoteArchive("https://bundles.example/handler.zip"),
        "leaked": leaked,
    }


def test_code_bundles(pack, bundles):
    names = ["clean-dir", "clean-zip", "clean-assets", "leaky-dir", "leaky-zip", "leaky-assets", "missing", "remote"]
    functions = [function(name, code=bundles[name]) for name in names]
    assert found(pack, *functions, policy=CODE_RULE) == {
        (CODE_RULE, "leaky-dir"),
        (CODE_RULE, "leaky-zip"),
        (CODE_RULE, "leaky-assets"),
        (CODE_RULE, "missing"),  # an unscanned bundle is not a clean one
        (CODE_RULE, "remote"),
    }


def test_code_message_names_file_and_line_not_the_value(pack, bundles):
    result = report(pack, function("leaky-zip", code=bundles["leaky-zip"]))
    messages = [v.message for v in result.violations if v.policy == CODE_RULE]
    assert len(messages) == 1
    assert "handler/keys.py line 4" in messages[0]
    assert str(bundles["leaked"]) not in messages[0]


def test_the_real_lambda_bundle_is_clean(pack):
    bundle = build_bundle()
    assert found(pack, function("fn", code=pulumi.FileArchive(str(bundle.path))), policy=CODE_RULE) == set()


def test_package_metadata_is_not_code_but_the_same_line_in_code_is(pack):
    # A README line from a wheel's METADATA: an image URL whose path is a 32-hex digest.
    line = '<img src="https://media.example/images/' + RNG.randbytes(16).hex() + '/tenor.gif"/>\n'
    metadata = pulumi.AssetArchive(
        {"lib-1.0.dist-info/METADATA": pulumi.StringAsset(line), "app.py": pulumi.StringAsset("import os\n")}
    )
    code = pulumi.AssetArchive({"app.py": pulumi.StringAsset(f"BANNER = '{line.strip()}'\n")})
    functions = [function("metadata", code=metadata), function("code", code=code)]
    assert found(pack, *functions, policy=CODE_RULE) == {(CODE_RULE, "code")}


def test_secret_named_assignments_in_code(pack):
    literal = pulumi.AssetArchive({"settings.py": pulumi.StringAsset('DB_PASSWORD = "correct-horse"\n')})
    reference = pulumi.AssetArchive(
        {"settings.py": pulumi.StringAsset('secret_id = "thirdparty/weather-api-key"\napi_key = os.environ["K"]\n')}
    )
    functions = [function("literal", code=literal), function("reference", code=reference)]
    assert found(pack, *functions, policy=CODE_RULE) == {(CODE_RULE, "literal")}
