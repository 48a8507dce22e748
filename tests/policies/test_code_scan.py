"""The code scan (lambda-code-no-credentials) skips nothing silently, through the pack process.

Fail fixtures and legitimate look-alikes for: files over the size limit, archives inside the bundle, `.env` files,
hex keys in code, what `.dist-info/` may hide, files pip installed unchanged (RECORD hashes), and Lambda layers.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import tarfile
import zipfile
from pathlib import Path

import pulumi
import pytest

from bundle_builder.builder import build_bundle
from keyless_guard.lambda_code import MAX_ARCHIVE_DEPTH, MAX_FILE_BYTES, bundle_scan, names_a_hex_key
from mock_engine.recorded import RecordedResource
from tests.policies.builders import arn, found, report, res
from tests.policies.corpus import CREDENTIALS

CODE_RULE = "lambda-code-no-credentials"
RNG = random.Random(11)
CLEAN_CODE = 'import os\nSECRET_ID = os.environ["SECRET_ID"]\n'


def function(name: str, code: object) -> RecordedResource:
    return res(
        "aws:lambda/function:Function", name, {"name": name, "role": arn("iam", "role/r", region=""), "code": code}
    )


def layer(name: str, code: object) -> RecordedResource:
    return res("aws:lambda/layerVersion:LayerVersion", name, {"layerName": name, "code": code})


def zip_bytes(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def tar_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def leaky_code() -> str:
    return f'API = "{CREDENTIALS["stripe live key"](RNG)}"\n'


def record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def write_zip(tmp_path: Path, name: str, files: dict[str, bytes | str]) -> pulumi.FileArchive:
    path = tmp_path / name
    path.write_bytes(zip_bytes(files))
    return pulumi.FileArchive(str(path))


def test_a_file_over_the_size_limit_is_reported_not_ignored(pack, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    (big / "app.py").write_text(CLEAN_CODE)
    (big / "data.txt").write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    small = tmp_path / "small"
    small.mkdir()
    (small / "app.py").write_text(CLEAN_CODE)
    (small / "data.txt").write_bytes(b"x" * 1024)
    result = report(
        pack, function("big", pulumi.FileArchive(str(big))), function("small", pulumi.FileArchive(str(small)))
    )
    messages = [v.message for v in result.violations if v.policy == CODE_RULE]
    assert len(messages) == 1
    assert "data.txt was not scanned" in messages[0]
    assert "MiB file limit" in messages[0]


def test_an_oversized_member_of_a_zip_is_reported(pack, tmp_path):
    archive = write_zip(tmp_path, "b.zip", {"app.py": CLEAN_CODE, "blob.json": "0" * (MAX_FILE_BYTES + 1)})
    assert found(pack, function("zip", archive), policy=CODE_RULE) == {(CODE_RULE, "zip")}


@pytest.mark.parametrize("suffix", [".whl", ".jar", ".zip"])
def test_archives_inside_the_bundle_are_opened(pack, tmp_path, suffix):
    inner_leaky = zip_bytes({"pkg/keys.py": leaky_code()})
    inner_clean = zip_bytes({"pkg/settings.py": CLEAN_CODE})
    leaky = write_zip(tmp_path, "leaky.zip", {"app.py": CLEAN_CODE, f"vendor/lib{suffix}": inner_leaky})
    clean = write_zip(tmp_path, "clean.zip", {"app.py": CLEAN_CODE, f"vendor/lib{suffix}": inner_clean})
    result = report(pack, function("leaky", leaky), function("clean", clean))
    messages = [(v.message, v.urn) for v in result.violations if v.policy == CODE_RULE]
    assert [m for m, _ in messages] == [
        f"code file vendor/lib{suffix}!/pkg/keys.py line 1: Stripe Access Key. Remove it and read the secret at run "
        "time."
    ]


def test_a_tar_inside_a_zip_is_opened(pack, tmp_path):
    leaky = write_zip(tmp_path, "leaky.zip", {"app.py": CLEAN_CODE, "assets.tar.gz": tar_bytes({"k.py": leaky_code()})})
    clean = write_zip(tmp_path, "clean.zip", {"app.py": CLEAN_CODE, "assets.tar.gz": tar_bytes({"k.py": CLEAN_CODE})})
    assert found(pack, function("leaky", leaky), function("clean", clean), policy=CODE_RULE) == {(CODE_RULE, "leaky")}


def test_archives_nested_too_deep_or_broken_are_reported(pack, tmp_path):
    nested: bytes = zip_bytes({"app.py": CLEAN_CODE})
    for _ in range(MAX_ARCHIVE_DEPTH + 1):
        nested = zip_bytes({"inner.zip": nested})
    deep = write_zip(tmp_path, "deep.zip", {"app.py": CLEAN_CODE, "layers.zip": nested})
    broken = write_zip(tmp_path, "broken.zip", {"app.py": CLEAN_CODE, "lib.whl": b"not a zip at all"})
    two_deep = zip_bytes({"a.zip": zip_bytes({"x.py": CLEAN_CODE})})
    shallow = write_zip(tmp_path, "shallow.zip", {"app.py": CLEAN_CODE, "lib.zip": two_deep})
    result = report(pack, function("deep", deep), function("broken", broken), function("shallow", shallow))
    messages = {
        (v.urn.rsplit("::", 1)[1], v.message.split(" was not scanned because ")[1].split(";")[0])
        for v in result.violations
        if v.policy == CODE_RULE
    }
    assert messages == {
        ("deep", f"it is an archive nested over {MAX_ARCHIVE_DEPTH} deep"),
        ("broken", "it cannot be opened as an archive (BadZipFile)"),
    }


def test_dotenv_files_are_read_as_assignments(pack):
    token = CREDENTIALS["github token"](RNG)
    leaky = pulumi.AssetArchive(
        {
            "app.py": pulumi.StringAsset(CLEAN_CODE),
            ".env": pulumi.StringAsset(f"# local\nexport DB_PASSWORD='hunter2-horse'\nUPSTREAM={token}\n"),
        }
    )
    clean = pulumi.AssetArchive(
        {
            "app.py": pulumi.StringAsset(CLEAN_CODE),
            "config/prod.env": pulumi.StringAsset(
                "SECRET_ID=thirdparty/weather-api-key\nLOG_LEVEL=INFO\nDB_PASSWORD=\n"
            ),
        }
    )
    result = report(pack, function("leaky", leaky), function("clean", clean))
    messages = sorted(v.message for v in result.violations if v.policy == CODE_RULE)
    assert [m.split(":")[0] for m in messages] == ["code file .env line 2", "code file .env line 3"]
    assert all(token not in m and "hunter2" not in m for m in messages)
    clean_line = "SECRET_ID=thirdparty/weather-api-key\nLOG_LEVEL=INFO\n"
    only_dotenv = pulumi.AssetArchive({".env": pulumi.StringAsset(clean_line + "API_TOKEN=correct-horse-battery\n")})
    assert [v.message for v in report(pack, function("dotenv", only_dotenv)).violations if v.policy == CODE_RULE] == [
        "code file .env line 3: .env variable API_TOKEN is named like a secret but holds a literal value rather than "
        "a reference to one. Remove it and read the secret at run time."
    ]


@pytest.mark.parametrize(
    ("name", "key_like"),
    [
        ("SIGNING_KEY", True),
        ("encryptionKey", True),
        ("app_secret", True),
        ("HMAC_SALT", True),
        ("COMMIT_SHA", False),
        ("contentHash", False),
        ("ETAG", False),
        ("SCHEMA_VERSION_KEY", False),
        ("REQUEST_ID", False),
    ],
)
def test_key_like_names(name, key_like):
    assert names_a_hex_key(name) is key_like


def test_hex_keys_in_code_fail_and_digests_pass(pack):
    key64, key40 = RNG.randbytes(32).hex(), RNG.randbytes(20).hex()
    leaky = pulumi.AssetArchive(
        {
            "crypto.py": pulumi.StringAsset(f'SIGNING_KEY = "{key64}"\n'),
            "auth.js": pulumi.StringAsset(f"const encryptionKey = '{key40}';\n"),
        }
    )
    digests = pulumi.AssetArchive(
        {
            "build.py": pulumi.StringAsset(
                f'COMMIT_SHA = "{key40}"\nCONTENT_HASH = "{key64}"\nSCHEMA_VERSION = "{key40}"\n'
            ),
        }
    )
    result = report(pack, function("leaky", leaky), function("digests", digests))
    messages = sorted(v.message for v in result.violations if v.policy == CODE_RULE)
    assert messages == [
        "code file auth.js line 1: Hex key assigned to a key-like name. Remove it and read the secret at run time.",
        "code file crypto.py line 1: Hex key assigned to a key-like name. Remove it and read the secret at run time.",
    ]


def test_dist_info_skips_only_pips_metadata_files(pack):
    leaked = leaky_code()
    metadata_only = pulumi.AssetArchive(
        {
            "lib-1.0.dist-info/METADATA": pulumi.StringAsset(leaked),
            "lib-1.0.dist-info/licenses/LICENSE.txt": pulumi.StringAsset(leaked),
            "app.py": pulumi.StringAsset(CLEAN_CODE),
        }
    )
    code_in_dist_info = pulumi.AssetArchive(
        {"lib-1.0.dist-info/hook.py": pulumi.StringAsset(leaked), "app.py": pulumi.StringAsset(CLEAN_CODE)}
    )
    functions = [function("metadata", metadata_only), function("hidden-code", code_in_dist_info)]
    assert found(pack, *functions, policy=CODE_RULE) == {(CODE_RULE, "hidden-code")}


def installed_package(source: str, *, record_source: str | None = None) -> dict[str, bytes | str]:
    """A pip-installed package whose RECORD lists `record_source` (default: the file as shipped)."""
    listed = (record_source if record_source is not None else source).encode()
    record = record_line("lib/core.py", listed) + "lib-1.0.dist-info/RECORD,,\n"
    return {"lib/core.py": source, "lib-1.0.dist-info/RECORD": record, "app.py": CLEAN_CODE}


def test_files_pip_installed_unchanged_are_skipped_and_edited_ones_scanned(pack, tmp_path):
    upstream = leaky_code()  # a credential-shaped test vector that ships in an upstream package
    unchanged = write_zip(tmp_path, "unchanged.zip", installed_package(upstream))
    edited = write_zip(tmp_path, "edited.zip", installed_package(upstream + leaky_code(), record_source=upstream))
    unlisted = write_zip(tmp_path, "unlisted.zip", {"lib/core.py": upstream, "app.py": CLEAN_CODE})
    functions = [function("unchanged", unchanged), function("edited", edited), function("unlisted", unlisted)]
    assert found(pack, *functions, policy=CODE_RULE) == {(CODE_RULE, "edited"), (CODE_RULE, "unlisted")}


def test_record_hashes_count_unchanged_files(tmp_path):
    archive = write_zip(tmp_path, "a.zip", installed_package(CLEAN_CODE))
    scan = bundle_scan(archive)
    assert (scan.unchanged_installed_files, scan.findings, scan.unscanned) == (1, [], [])


def test_layer_code_is_scanned_like_function_code(pack, tmp_path):
    leaky = write_zip(tmp_path, "layer.zip", {"python/vendor/keys.py": leaky_code()})
    clean = write_zip(tmp_path, "clean-layer.zip", {"python/vendor/settings.py": CLEAN_CODE})
    result = report(pack, layer("leaky-layer", leaky), layer("clean-layer", clean))
    assert [
        (v.message.split(":")[0], v.urn.rsplit("::", 1)[1]) for v in result.violations if v.policy == CODE_RULE
    ] == [("layer file python/vendor/keys.py line 1", "leaky-layer")]


@pytest.mark.slow
def test_the_real_bundle_skips_only_files_its_records_list_unchanged():
    # GIVEN the real Lambda bundle, whose RECORDs are cut to the files it ships
    bundle = build_bundle()
    with zipfile.ZipFile(bundle.path) as archive:
        names = set(archive.namelist())
        records = [n for n in names if n.endswith(".dist-info/RECORD")]
        rows = [row.split(",") for r in records for row in archive.read(r).decode().splitlines()]
    listed = {row[0] for row in rows if row[1].startswith("sha256=")}
    # WHEN it is scanned with and without the skip
    scan = bundle_scan(pulumi.FileArchive(str(bundle.path)))
    scan_all = bundle_scan(pulumi.FileArchive(str(bundle.path)), skip_unchanged_installed=False)
    # THEN every RECORD row names a shipped file, the handler's own code is listed by none,
    # exactly the listed third-party files outside .dist-info are skipped, and neither scan finds anything
    assert listed <= names
    assert "app.py" in names
    assert not {n for n in names if "/" not in n} & listed
    third_party = {n for n in listed if ".dist-info/" not in n}
    assert len(third_party) > 50
    assert scan.unchanged_installed_files == len(third_party)
    assert scan_all.unchanged_installed_files == 0
    assert (scan.findings, scan.unscanned, scan_all.findings, scan_all.unscanned) == ([], [], [], [])
