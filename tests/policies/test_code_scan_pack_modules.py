"""The code scan leaves out this pack's own modules shipped byte for byte (the Config rule's bundle carries them to
judge at run time as the pack judged at preview), and scans any edited or relocated copy like every other file."""

from __future__ import annotations

import secrets
import zipfile
from pathlib import Path

import pulumi

from keyless_guard.lambda_code import bundle_scan

PACK = Path(__file__).resolve().parents[2] / "policies" / "keyless_guard"


def zip_of(tmp_path: Path, files: dict[str, bytes]) -> pulumi.FileArchive:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return pulumi.FileArchive(str(path))


def planted_line() -> bytes:
    # A password literal built at run time: nothing credential-like is committed.
    return f'\nDB_PASSWORD = "{secrets.token_urlsafe(24)}"\n'.encode()


def test_the_packs_own_modules_unchanged_are_left_out(tmp_path):
    files = {f"keyless_guard/{name}": (PACK / name).read_bytes() for name in ("env_values.py", "detectors.py")}

    scan = bundle_scan(zip_of(tmp_path, files))

    assert scan.pack_own_files == 2
    assert scan.findings == []


def test_an_edited_copy_is_scanned_and_its_credential_found(tmp_path):
    edited = (PACK / "detectors.py").read_bytes() + planted_line()
    lines = edited.count(b"\n")

    scan = bundle_scan(zip_of(tmp_path, {"keyless_guard/detectors.py": edited}))

    assert scan.pack_own_files == 0
    assert ("keyless_guard/detectors.py", lines) in [(name, finding.line) for name, finding in scan.findings]


def test_a_copy_elsewhere_in_the_bundle_is_scanned(tmp_path):
    scan = bundle_scan(zip_of(tmp_path, {"vendored/env_values.py": (PACK / "env_values.py").read_bytes()}))
    assert scan.pack_own_files == 0


def test_a_module_of_the_same_name_with_other_content_is_scanned(tmp_path):
    scan = bundle_scan(zip_of(tmp_path, {"keyless_guard/env_values.py": planted_line()}))

    assert scan.pack_own_files == 0
    assert [(name, finding.line) for name, finding in scan.findings] == [("keyless_guard/env_values.py", 2)]
