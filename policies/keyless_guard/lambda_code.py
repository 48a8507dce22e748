"""A function's code bundle must not carry credentials.

Relative archive paths are resolved against the pack's working directory, then the directory the Pulumi CLI was
started from (`PWD`), then the parent of the pack directory (the project root when the pack lives in
`<project>/policies`); the offline driver sends absolute paths. An archive that cannot be read is reported: an
unscanned bundle is not a clean one.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pulumi
from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.detectors import Finding, decode_text, text_findings
from keyless_guard.framework import Report, Resource, resource_rule
from keyless_guard.lambda_env import FUNCTION
from keyless_guard.values import known

_MAX_FILE_BYTES: Final = 4 * 1024 * 1024
_MAX_REPORTED: Final = 20
_SKIPPED_SUFFIXES: Final = (".pyc", ".pyo", ".so", ".png", ".jpg", ".gif", ".ico", ".whl")
"""Compiled code and images (binary files are skipped anyway; these are skipped without reading)."""
_PACKAGE_METADATA: Final = ".dist-info/"
"""pip writes `<package>.dist-info/` from the wheel: upstream's README (METADATA), license and file list, not code the
function runs. Its prose is full of image hashes and digests (charset_normalizer's README links a tenor GIF by a
32-hex path) that read as high-entropy strings; a credential a team bakes into a bundle lands in code or config."""


class UnreadableArchive(Exception):
    """The archive or asset cannot be opened offline."""


def _resolve(path: str) -> Path:
    candidate = Path(path)
    if candidate.is_absolute():
        bases: list[Path] = [Path("/")]
    else:
        bases = [Path.cwd(), Path(os.environ.get("PWD", ".")), Path.cwd().parent]
    for base in bases:
        if (base / candidate).exists():
            return base / candidate
    raise UnreadableArchive(f"{path} does not exist")


def _zip_files(data: bytes, prefix: str) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.is_dir() and info.file_size <= _MAX_FILE_BYTES:
                yield prefix + info.filename, archive.read(info)


def _tar_files(path: Path, prefix: str) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            extracted = archive.extractfile(member) if member.isfile() and member.size <= _MAX_FILE_BYTES else None
            if extracted is not None:
                yield prefix + member.name, extracted.read()


def _path_files(path: Path, prefix: str) -> Iterator[tuple[str, bytes]]:
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            if file.stat().st_size <= _MAX_FILE_BYTES:
                yield prefix + file.relative_to(path).as_posix(), file.read_bytes()
    elif path.suffix in (".zip", ".jar"):
        yield from _zip_files(path.read_bytes(), prefix)
    elif path.name.endswith((".tar", ".tgz", ".tar.gz")):
        yield from _tar_files(path, prefix)
    elif path.stat().st_size <= _MAX_FILE_BYTES:
        yield prefix + path.name, path.read_bytes()


def archive_files(archive: Any, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    """(name inside the bundle, content) for every file of a pulumi Archive or Asset."""
    if isinstance(archive, pulumi.FileArchive | pulumi.FileAsset):
        yield from _path_files(_resolve(str(archive.path)), prefix)
    elif isinstance(archive, pulumi.StringAsset):
        yield prefix.rstrip("/") or "inline", str(archive.text).encode()
    elif isinstance(archive, pulumi.AssetArchive):
        for name, member in sorted(archive.assets.items()):
            nested = isinstance(member, pulumi.Archive) or (
                isinstance(member, pulumi.FileAsset) and Path(str(member.path)).is_dir()
            )
            yield from archive_files(member, f"{prefix}{name}/" if nested else f"{prefix}{name}")
    elif isinstance(archive, pulumi.RemoteArchive | pulumi.RemoteAsset):
        raise UnreadableArchive("it is remote and the pack scans offline")
    else:
        raise UnreadableArchive(f"it is a {type(archive).__name__}, not a Pulumi archive")


def bundle_findings(archive: Any) -> list[tuple[str, Finding]]:
    findings: list[tuple[str, Finding]] = []
    for name, data in archive_files(archive):
        if name.endswith(_SKIPPED_SUFFIXES) or _PACKAGE_METADATA in name:
            continue
        text = decode_text(data)
        if text is not None:
            findings.extend((name, finding) for finding in text_findings(text, name))
    return findings


@resource_rule(
    name="lambda-code-no-credentials",
    description="A Lambda function's code bundle must not contain credentials.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation="Remove the credential from the code, rotate it, and read it from Secrets Manager at run time.",
    equivalent="Checkov secrets scan (CKV_SECRET_2, CKV_SECRET_6, ...); cdk-nag none",
    resource_types=(FUNCTION,),
)
def no_credentials_in_code(resource: Resource, report: Report) -> None:
    if resource.props.get("code") is None:
        return  # an S3 object or container image is built elsewhere; scan it where it is built
    code = known(resource.props["code"], "code")
    try:
        findings = bundle_findings(code)
    except (UnreadableArchive, OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        report(f"The code archive cannot be scanned because {_reason(exc)}. Point code at a local file or directory.")
        return
    for name, finding in findings[:_MAX_REPORTED]:
        report(f"code file {name} line {finding.line}: {finding.kind}. Remove it and read the secret at run time.")
    if len(findings) > _MAX_REPORTED:
        report(f"... and {len(findings) - _MAX_REPORTED} more credential findings in the code bundle.")


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, UnreadableArchive) else f"it cannot be read ({type(exc).__name__})"
