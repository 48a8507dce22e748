"""Read a Pulumi project's `Pulumi.yaml` and a stack's `Pulumi.<stack>.yaml` as the Pulumi CLI does, offline.

    from offline_preview.stack_config import load_stack_config
    stack = load_stack_config(Path("."), "prod")
    stack.values          # {"aws:region": "eu-west-1", "keyless-ingest:...": ...}
    stack.secret_keys     # keys whose values the program must treat as secrets
    stack.placeholders    # secret keys that could not be decrypted offline (they hold PLACEHOLDER)

The result is what the CLI hands a program (`namespace:key` -> string, and the secret keys); any tool that needs a
stack's config without the Pulumi service can use it. Errors are `offline_preview.errors.PreviewError`, naming the
file and the key.

Secrets (`key: {secure: v1:...}`, what `pulumi config set --secret` writes) are decrypted as the CLI decrypts them when
the stack uses the passphrase secrets provider and a passphrase is set; the CLI's source is the reference:

- which secrets manager a stack uses: pulumi/pulumi `pkg/cmd/pulumi/stack/secrets.go` (`GetSecretsManager`): a
  `secretsprovider` other than `passphrase`/`default` is a cloud KMS (`pkg/secrets/cloud/manager.go`: awskms://,
  azurekeyvault://, gcpkms://, hashivault://); else an `encryptionsalt` means the passphrase provider; else the
  backend's default, the Pulumi Cloud service. Only the passphrase provider can be reached offline.
- the passphrase: `PULUMI_CONFIG_PASSPHRASE` if set (even empty), else the file `PULUMI_CONFIG_PASSPHRASE_FILE` names,
  whitespace trimmed (`pkg/secrets/passphrase/manager.go`, `readPassphrase`).
- the key: PBKDF2-HMAC-SHA256 of the passphrase over the salt, 1,000,000 iterations, 32 bytes
  (`sdk/go/common/resource/config/crypt.go`, `NewSymmetricCrypterFromPassphrase`); the salt is the second field of
  `encryptionsalt: v1:<salt b64>:v1:<nonce b64>:<ciphertext b64>`, whose last part decrypts to "pulumi" with the
  right passphrase (`symmetricCrypterFromPhraseAndState`).
- a value: `v1:<nonce b64>:<ciphertext b64>`, AES-256-GCM with no additional data (`symmetricCrypter.DecryptValue`).

A secret that cannot be decrypted offline (a cloud KMS, the service, no passphrase set) becomes PLACEHOLDER, still a
secret, and is listed in `placeholders` so that the preview can warn once, naming the keys.

With no `Pulumi.<stack>.yaml` the stack config is empty, as for a stack the CLI has just created, except for the
project's `template.config` defaults: the CLI writes those into a new stack's config when it creates the stack from
the project (`pulumi new`, or `pulumi up` of a template: `pkg/cmd/pulumi/project/newcmd/config.go`,
`resolveTemplateConfig` takes `tcv.Default` for a key with no value). An existing stack file is read as it is: the CLI
never applies `template.config` to one.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from offline_preview.errors import PreviewError

PLACEHOLDER: Final = "offline-preview-undecryptable-secret"
"""The value a secret gets when it cannot be decrypted offline. It stays a secret: the preview never shows it."""

PBKDF2_ITERATIONS: Final = 1_000_000
"""crypt.go: "1,000,000 iterations was chosen because it took a little over a second on an i7-7700HQ"."""

_KEY_BYTES: Final = 32
_STATE_CHECK: Final = "pulumi"


@dataclass(frozen=True)
class StackConfig:
    """A stack's config as the CLI hands it to the program."""

    project: str
    values: dict[str, str]
    """`namespace:key` -> string; objects and numbers JSON-encoded, as `Config.get_object`/`get_int` parse them."""
    secret_keys: frozenset[str] = frozenset()
    """Keys whose value is a secret (`pulumi.runtime.set_all_config`'s second argument)."""
    placeholders: tuple[str, ...] = ()
    """Secret keys that could not be decrypted offline and hold PLACEHOLDER."""
    undecryptable_reason: str = ""
    """Why `placeholders` could not be decrypted (which secrets provider, or no passphrase set)."""
    stack_file: Path | None = None
    """The Pulumi.<stack>.yaml read, or None when the stack has none."""

    def placeholder_warning(self) -> str | None:
        """The one warning the preview prints when some secrets hold placeholders, or None."""
        if not self.placeholders:
            return None
        return (
            f"warning: {len(self.placeholders)} secret config value(s) cannot be decrypted offline "
            f"({self.undecryptable_reason}): {', '.join(self.placeholders)}; the program gets a placeholder secret "
            "for each"
        )


def load_project(program_dir: Path) -> tuple[str, dict[str, Any]]:
    """The project name and the parsed Pulumi.yaml."""
    project_file = program_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise PreviewError(f"{project_file}: no Pulumi.yaml, so {program_dir} is not a Pulumi project")
    document = _read_yaml(project_file)
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise PreviewError(f"{project_file}: 'name' must be the project name")
    return name, document


def load_stack_config(program_dir: Path, stack: str) -> StackConfig:
    """The stack's config as the CLI hands it to a program.

    Project defaults from Pulumi.yaml come first and Pulumi.<stack>.yaml overrides them, as the CLI does.
    """
    project, document = load_project(program_dir)
    project_file = program_dir / "Pulumi.yaml"
    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, spec in _mapping(document.get("config"), project_file, "config").items():
        full_key = _full_key(project, key)
        if isinstance(spec, dict) and "default" in spec:
            values[full_key] = _config_string(full_key, spec["default"])
        elif not isinstance(spec, dict):
            values[full_key] = _config_string(full_key, spec)
        if isinstance(spec, dict) and spec.get("secret") is True:
            secret_keys.add(full_key)

    stack_file = program_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        template = _mapping(document.get("template"), project_file, "template")
        for key, spec in _mapping(template.get("config"), project_file, "template.config").items():
            full_key = _full_key(project, key)
            if isinstance(spec, dict) and "default" in spec and full_key not in values:
                values[full_key] = _config_string(full_key, spec["default"])
                if spec.get("secret") is True:
                    secret_keys.add(full_key)
        return StackConfig(project, values, frozenset(secret_keys))

    stack_document = _read_yaml(stack_file)
    decrypter = _Decrypter(stack_file, stack_document)
    placeholders: list[str] = []
    for key, value in _mapping(stack_document.get("config"), stack_file, "config").items():
        full_key = _full_key(project, key)
        plain, secret, undecrypted = decrypter.reveal(full_key, value)
        values[full_key] = _config_string(full_key, plain)
        if secret:
            secret_keys.add(full_key)
        if undecrypted:
            placeholders.append(full_key)
    return StackConfig(
        project,
        values,
        frozenset(secret_keys),
        tuple(placeholders),
        decrypter.reason if placeholders else "",
        stack_file,
    )


class _Decrypter:
    """The stack's secrets manager, as far as it can work offline: the passphrase provider with a passphrase set."""

    def __init__(self, stack_file: Path, document: dict[str, Any]) -> None:
        self.stack_file = stack_file
        self.provider = str(document.get("secretsprovider") or "")
        self.salt_state = str(document.get("encryptionsalt") or "")
        self.reason = ""
        self._key: bytes | None = None
        self._tried = False

    def reveal(self, key: str, value: Any) -> tuple[Any, bool, bool]:
        """(plain value, whether a secret was inside, whether one could not be decrypted)."""
        if isinstance(value, dict) and set(value) == {"secure"}:
            ciphertext = value["secure"]
            if not isinstance(ciphertext, str):
                raise PreviewError(f"{self.stack_file}: {key}: 'secure' must be the ciphertext string")
            aes_key = self._aes_key(key)
            if aes_key is None:
                return PLACEHOLDER, True, True
            return _decrypt(aes_key, ciphertext, f"{self.stack_file}: {key}"), True, False
        if isinstance(value, dict):
            found = undecrypted = False
            plain: dict[str, Any] = {}
            for name, item in value.items():
                plain[name], inner, missing = self.reveal(key, item)
                found, undecrypted = found or inner, undecrypted or missing
            return plain, found, undecrypted
        if isinstance(value, list):
            triples = [self.reveal(key, item) for item in value]
            return [t[0] for t in triples], any(t[1] for t in triples), any(t[2] for t in triples)
        return value, False, False

    def _aes_key(self, key: str) -> bytes | None:
        if self._tried:
            return self._key
        self._tried = True
        if self.provider not in ("", "passphrase", "default"):
            scheme = self.provider.split("://", 1)[0]
            self.reason = f"secrets provider {scheme}, which needs the cloud"
            return None
        if not self.salt_state:
            self.reason = "the Pulumi Cloud service secrets provider, which needs the service"
            return None
        phrase = _passphrase()
        if phrase is None:
            self.reason = "no PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE set"
            return None
        self._key = passphrase_key(phrase, self.salt_state, self.stack_file)
        return self._key


def _passphrase() -> str | None:
    if "PULUMI_CONFIG_PASSPHRASE" in os.environ:
        return os.environ["PULUMI_CONFIG_PASSPHRASE"]
    phrase_file = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if not phrase_file:
        return None
    try:
        return Path(phrase_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise PreviewError(f"PULUMI_CONFIG_PASSPHRASE_FILE: cannot read {phrase_file} ({exc.strerror})") from exc


def passphrase_key(phrase: str, state: str, stack_file: Path) -> bytes:
    """The AES key for `encryptionsalt: state`, checked against the state's own "pulumi" ciphertext."""
    parts = state.split(":", 2)
    if len(parts) != 3 or parts[0] != "v1":
        raise PreviewError(f"{stack_file}: encryptionsalt is not a v1 passphrase state")
    try:
        salt = base64.b64decode(parts[1], validate=True)
    except binascii.Error as exc:
        raise PreviewError(f"{stack_file}: encryptionsalt: the salt is not base64") from exc
    key = PBKDF2HMAC(hashes.SHA256(), _KEY_BYTES, salt, PBKDF2_ITERATIONS).derive(phrase.encode("utf-8"))
    try:
        check = _decrypt(key, parts[2], f"{stack_file}: encryptionsalt")
    except PreviewError:
        check = None
    if check != _STATE_CHECK:
        raise PreviewError(
            f"{stack_file}: incorrect passphrase (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE)"
        )
    return key


def _decrypt(key: bytes, value: str, where: str) -> str:
    parts = value.split(":")
    if len(parts) != 3 or parts[0] != "v1":
        raise PreviewError(f"{where}: not a v1:<nonce>:<ciphertext> secret")
    try:
        nonce, ciphertext = base64.b64decode(parts[1], validate=True), base64.b64decode(parts[2], validate=True)
    except binascii.Error as exc:
        raise PreviewError(f"{where}: the secret is not base64") from exc
    if len(nonce) != 12:
        raise PreviewError(f"{where}: bad secret: the nonce size is incorrect")
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, None).decode("utf-8")
    except (InvalidTag, UnicodeDecodeError) as exc:
        raise PreviewError(f"{where}: the secret does not decrypt with this stack's passphrase") from exc


def _full_key(project: str, key: Any) -> str:
    key = str(key)
    return key if ":" in key else f"{project}:{key}"


def _mapping(value: Any, path: Path, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PreviewError(f"{path}: '{field}' must be a mapping")
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PreviewError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise PreviewError(f"{path}: expected a mapping at the top level")
    return document


def _config_string(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | list | dict):
        return json.dumps(value)
    raise PreviewError(f"config {key}: unsupported value of type {type(value).__name__}")
