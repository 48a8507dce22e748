"""Stack config as the Pulumi CLI reads it: passphrase-encrypted secrets, secrets that cannot be decrypted offline, a
stack with no stack file (template defaults), and the region from the environment.

The ciphertexts come from Pulumi's own tests (pulumi/pulumi, read at 1b59498):
- `pkg/secrets/passphrase/manager_test.go`: the state `v1:fozI5u6B030=:...` made with the passphrase "password";
- `pkg/backend/diy/backend_test.go`: states made with "abc123" and "123abc";
- `tests/roundtrip/roundtrip_test.go` (TestConfigRoundtripComments): a stack file with `encryptionsalt` and
  `foo:d: {secure: v1:T1ftqhY0hqr+EJK6:...}`, made with the passphrase "TestConfigRoundtripComments".
Each state's last part is the word "pulumi" encrypted with the derived key (`symmetricCrypterFromPhraseAndState`):
AES-GCM authenticates, so a wrong key derivation or cipher cannot produce it.
"""

import base64
import os
import textwrap
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from offline_preview.cli import EXIT_OK, PreviewError, load_stack_config, main, run_program
from offline_preview.stack_config import PLACEHOLDER, passphrase_key

PASSWORD = "pass" + "word"
MANAGER_TEST_STATE = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="
ROUNDTRIP_PASSPHRASE = "TestConfigRoundtripComments"
ROUNDTRIP_SALT = "v1:ThS5UPxP9qc=:v1:UZYAXF+ylaJ0rGhv:9OTvBnOEDFgxs7btjzSu+LZ470vLpg=="
ROUNDTRIP_SECURE = "v1:T1ftqhY0hqr+EJK6:+jvd5PMecFx80tcavzuZY4tLatgIfoe/xR72GA=="

PROGRAM = """\
import pulumi
import pulumi_aws as aws

config = pulumi.Config()
token = config.require_secret("d")
aws.ssm.Parameter("token", type="SecureString", value=token)
aws.ssm.Parameter("label", type="String", value=config.require("a"))
pulumi.export("token", token)
pulumi.export("length", token.apply(len))
"""


def write_project(folder: Path, stack_file: str | None, project_extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text("name: foo\nruntime: python\n" + project_extra)
    if stack_file is not None:
        (folder / "Pulumi.test.yaml").write_text(textwrap.dedent(stack_file))
    (folder / "__main__.py").write_text(PROGRAM)
    return folder


def roundtrip_stack(provider_line: str = f"encryptionsalt: {ROUNDTRIP_SALT}\n") -> str:
    return provider_line + (
        f"config:\n  aws:region: eu-west-1\n  foo:a: some-value\n  foo:d:\n    secure: {ROUNDTRIP_SECURE}\n"
    )


@pytest.fixture
def no_passphrase(monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("phrase", "state"),
    [
        (PASSWORD, MANAGER_TEST_STATE),
        ("abc123", "v1:4iF78gb0nF0=:v1:Co6IbTWYs/UdrjgY:FSrAWOFZnj9ealCUDdJL7LrUKXX9BA=="),
        ("123abc", "v1:C7H2a7/Ietk=:v1:yfAd1zOi6iY9DRIB:dumdsr+H89VpHIQWdB01XEFqYaYjAg=="),
        (ROUNDTRIP_PASSPHRASE, ROUNDTRIP_SALT),
    ],
)
def test_the_key_from_pulumis_own_passphrase_states_opens_their_check_value(phrase, state):
    assert len(passphrase_key(phrase, state, Path("Pulumi.test.yaml"))) == 32


def test_a_wrong_passphrase_is_refused_as_the_cli_refuses_it():
    with pytest.raises(PreviewError, match=r"Pulumi.test.yaml: incorrect passphrase"):
        passphrase_key("abc123", MANAGER_TEST_STATE, Path("Pulumi.test.yaml"))


def test_pulumis_roundtrip_stack_file_decrypts_with_its_passphrase(tmp_path, no_passphrase):
    no_passphrase.setenv("PULUMI_CONFIG_PASSPHRASE", ROUNDTRIP_PASSPHRASE)
    write_project(tmp_path, roundtrip_stack())

    stack = load_stack_config(tmp_path, "test")

    assert stack.values["foo:d"] == "secret-value"
    assert stack.values["foo:a"] == "some-value"
    assert stack.secret_keys == frozenset({"foo:d"})
    assert stack.placeholders == ()
    assert stack.placeholder_warning() is None


def test_the_passphrase_file_is_read_trimmed_as_the_cli_reads_it(tmp_path, no_passphrase):
    phrase_file = tmp_path / "phrase.txt"
    phrase_file.write_text(ROUNDTRIP_PASSPHRASE + "\n")
    no_passphrase.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(phrase_file))

    stack = load_stack_config(write_project(tmp_path / "p", roundtrip_stack()), "test")

    assert stack.values["foo:d"] == "secret-value"


def test_secure_values_inside_an_object_are_decrypted_and_the_key_is_secret(tmp_path, no_passphrase):
    # A ciphertext this test makes with the key Pulumi's manager_test state derives from "password".
    key = passphrase_key(PASSWORD, MANAGER_TEST_STATE, Path("x"))
    nonce = bytes(range(12))
    sealed = AESGCM(key).encrypt(nonce, b"inner-value", None)
    secure = f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"
    no_passphrase.setenv("PULUMI_CONFIG_PASSPHRASE", PASSWORD)
    write_project(
        tmp_path,
        f"encryptionsalt: {MANAGER_TEST_STATE}\nconfig:\n  foo:db:\n    user: app\n    password:\n"
        f"      secure: {secure}\n",
    )

    stack = load_stack_config(tmp_path, "test")

    assert stack.values["foo:db"] == '{"user": "app", "password": "inner-value"}'
    assert stack.secret_keys == frozenset({"foo:db"})


@pytest.mark.parametrize(
    ("provider_line", "reason"),
    [
        (
            "secretsprovider: awskms://alias/pulumi?region=eu-west-1\nencryptedkey: AQICAHg=\n",
            "secrets provider awskms",
        ),
        ("secretsprovider: azurekeyvault://vault.vault.azure.net/keys/k\n", "secrets provider azurekeyvault"),
        ("secretsprovider: gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k\n", "secrets provider gcpkms"),
        ("secretsprovider: hashivault://pulumi\n", "secrets provider hashivault"),
        ("", "Pulumi Cloud service"),
        (f"encryptionsalt: {ROUNDTRIP_SALT}\n", "no PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE"),
    ],
)
def test_secrets_that_cannot_be_decrypted_offline_become_placeholder_secrets(
    tmp_path, no_passphrase, provider_line, reason
):
    write_project(tmp_path, roundtrip_stack(provider_line))

    stack = load_stack_config(tmp_path, "test")

    assert stack.values["foo:d"] == PLACEHOLDER
    assert stack.secret_keys == frozenset({"foo:d"})
    assert stack.placeholders == ("foo:d",)
    warning = stack.placeholder_warning()
    assert warning is not None
    assert reason in warning
    assert warning.endswith("foo:d; the program gets a placeholder secret for each")


def test_a_program_with_undecryptable_secrets_previews_with_one_warning_and_never_shows_them(
    tmp_path, no_passphrase, capsys
):
    write_project(tmp_path, roundtrip_stack("secretsprovider: awskms://alias/pulumi\n"))

    assert main(["--program", str(tmp_path), "--stack", "test", "--no-policy"]) == EXIT_OK

    captured = capsys.readouterr()
    assert captured.err.count("warning:") == 1
    assert "cannot be decrypted offline (secrets provider awskms, which needs the cloud): foo:d" in captured.err
    assert PLACEHOLDER not in captured.out
    assert "token:  [secret]" in captured.out


def test_a_passphrase_encrypted_program_previews_with_the_real_value_kept_secret(tmp_path, no_passphrase, capsys):
    no_passphrase.setenv("PULUMI_CONFIG_PASSPHRASE", ROUNDTRIP_PASSPHRASE)
    write_project(tmp_path, roundtrip_stack())

    run = run_program(tmp_path, "test")
    assert main(["--program", str(tmp_path), "--stack", "test", "--no-policy", "--json"]) == EXIT_OK

    token = next(r for r in run.resources if r.name == "token")
    assert token.inputs["value"]["value"] == "secret-value"  # the real value, for the pack
    assert run.outputs["length"]["value"] == len("secret-value")  # derived from a secret: still secret
    out = capsys.readouterr().out
    assert "secret-value" not in out
    assert '"value": "[secret]"' in out


def test_a_stack_with_no_stack_file_gets_template_defaults_as_the_cli_writes_them(tmp_path, no_passphrase):
    write_project(
        tmp_path,
        None,
        "config:\n  a: {type: string, default: from-config}\n"
        "template:\n  config:\n    aws:region:\n      description: The AWS region\n      default: us-west-2\n"
        "    a:\n      default: from-template\n",
    )

    stack = load_stack_config(tmp_path, "test")

    assert stack.stack_file is None
    assert stack.values == {"aws:region": "us-west-2", "foo:a": "from-config"}


def test_an_existing_stack_file_gets_no_template_defaults(tmp_path):
    write_project(tmp_path, "config: {}\n", "template:\n  config:\n    aws:region:\n      default: us-west-2\n")

    assert load_stack_config(tmp_path, "test").values == {}


@pytest.mark.parametrize(
    ("environment", "region"),
    [
        ({"AWS_REGION": "ap-southeast-2", "AWS_DEFAULT_REGION": "sa-east-1"}, "ap-southeast-2"),
        ({"AWS_DEFAULT_REGION": "sa-east-1"}, "sa-east-1"),
    ],
)
def test_the_region_comes_from_the_environment_when_the_stack_sets_none(tmp_path, monkeypatch, environment, region):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text("name: foo\nruntime: python\n")
    (folder / "__main__.py").write_text(
        "import pulumi, pulumi_aws as aws\npulumi.export('region', aws.get_region().region)\n"
        "pulumi.export('set', pulumi.Config('aws').get('region'))\n"
    )

    run = run_program(folder, "dev")

    assert run.outputs == {"region": region, "set": None}
    assert os.environ.get("AWS_REGION") == environment.get("AWS_REGION")
