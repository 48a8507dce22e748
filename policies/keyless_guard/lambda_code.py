"""A function's or a layer's code bundle must not carry credentials.

Relative archive paths are resolved against the pack's working directory, then the directory the Pulumi CLI was
started from (`PWD`), then the parent of the pack directory (the project root when the pack lives in
`<project>/policies`); the offline driver sends absolute paths. Nothing is skipped silently: an archive that cannot be
read, a file over the size limit, an archive nested too deep and a bundle larger than the scan budget are each
reported, because an unscanned bundle is not a clean one. What is left out on purpose is listed in `bundle_scan`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, Final

import pulumi
from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.code_formats import file_kind, format_aware_findings, notebook_sources
from keyless_guard.detectors import Finding, decode_text, text_findings
from keyless_guard.env_values import assignments, describe, name_words, names_a_digest, variable_problems
from keyless_guard.framework import Report, Resource, resource_rule
from keyless_guard.lambda_env import FUNCTION
from keyless_guard.values import known

LAYER: Final = "aws:lambda/layerVersion:LayerVersion"
BUCKET_OBJECTS: Final = ("aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject")
MAX_FILE_BYTES: Final = 4 * 1024 * 1024
"""A file larger than this is reported as unscanned, not read."""
MAX_BUNDLE_BYTES: Final = 256 * 1024 * 1024
"""Uncompressed bytes read from one bundle, nested archives included (Lambda's own unzipped limit is 250 MB)."""
MAX_ARCHIVE_DEPTH: Final = 3
"""Archives inside archives (a wheel in a zip in a zip) are opened this deep, then reported."""
_MAX_REPORTED: Final = 20
_SKIPPED_SUFFIXES: Final = (
    *(".pyc", ".pyo", ".so", ".pyd", ".dll", ".dylib", ".exe", ".o", ".a", ".class", ".mo"),
    *(".png", ".jpg", ".jpeg", ".gif", ".ico", ".webp", ".bmp", ".woff", ".woff2", ".ttf", ".otf"),
)
"""Compiled code (Python bytecode, native libraries and executables, Java classes, gettext catalogs), images and
fonts: binary, left out on purpose. Any other binary file is reported as not scanned."""
_BINARY_REASON: Final = (
    "it is binary (NUL bytes, and no UTF-16 or UTF-32 text), so the text detectors cannot read it; a keystore "
    "(.p12, .pfx, .jks), a pickle or a database can hold a credential"
)
_ZIP_SUFFIXES: Final = (".zip", ".jar", ".whl", ".egg", ".war", ".ear")
_TAR_SUFFIXES: Final = (".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz")
_PACKAGE_METADATA_FILES: Final = frozenset(
    {
        "METADATA",
        "RECORD",
        "WHEEL",
        "INSTALLER",
        "REQUESTED",
        "top_level.txt",
        "entry_points.txt",
        "direct_url.json",
        "zip-safe",
        "namespace_packages.txt",
        "dependency_links.txt",
    }
)
"""pip's `<package>.dist-info/` bookkeeping (PEP 376, PEP 610, the wheel spec): upstream's README (METADATA), the file
list and install markers. Its prose is full of image hashes and digests that read as high-entropy strings. Only these
names, and license texts, are left out; anything else under `.dist-info/` (a `.py`, a config file) is scanned."""
_LICENSE_NAME = re.compile(r"(?i)(LICEN[CS]E|COPYING|NOTICE|AUTHORS)([-._].*)?")
_DOTENV_NAME = re.compile(r"(^|/)(\.env(\.[\w.-]+)?|[\w.-]+\.env)$")
_HEX_ASSIGNMENT = re.compile(
    r"""(?P<name>[A-Za-z_][A-Za-z0-9_]*)["']?\s*(?::=|[:=])\s*[rbuRBU]?(?P<q>["'])(?P<hex>[0-9a-fA-F]{64}|[0-9a-fA-F]{40})(?P=q)"""
)
_KEY_WORDS: Final = frozenset({"key", "secret", "token", "password", "passwd", "pwd", "credential", "salt", "pepper"})


class UnreadableArchive(Exception):
    """The archive or asset cannot be opened offline."""


@dataclass(frozen=True)
class Unscanned:
    """A part of the bundle the scan could not read, and why."""

    name: str
    reason: str


@dataclass
class BundleScan:
    """What a scan of one bundle found, what it could not read, and how many unchanged installed files it left out."""

    findings: list[tuple[str, Finding]] = field(default_factory=list)
    unscanned: list[Unscanned] = field(default_factory=list)
    unchanged_installed_files: int = 0
    pack_own_files: int = 0
    """This pack's own modules shipped byte for byte (a Config rule that runs the pack's judgement), left out."""


@dataclass
class _Budget:
    left: int = MAX_BUNDLE_BYTES

    def take(self, size: int) -> bool:
        self.left -= size
        return self.left >= 0


@dataclass(frozen=True)
class _Entry:
    name: str
    data: bytes


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


class _Reader:
    """Reads a Pulumi archive or asset into entries, opening nested archives, within the size limits."""

    def __init__(self, scan: BundleScan) -> None:
        self._scan = scan
        self._budget = _Budget()

    def archive(self, archive: Any, prefix: str = "") -> Iterator[_Entry]:
        if isinstance(archive, pulumi.FileArchive | pulumi.FileAsset):
            yield from self._path(_resolve(str(archive.path)), prefix)
        elif isinstance(archive, pulumi.StringAsset):
            name, data = prefix.rstrip("/") or "inline", str(archive.text).encode()
            if self._fits(name, len(data)):
                yield from self._bytes(name, data, depth=0)
        elif isinstance(archive, pulumi.AssetArchive):
            for name, member in sorted(archive.assets.items()):
                nested = isinstance(member, pulumi.Archive) or (
                    isinstance(member, pulumi.FileAsset) and Path(str(member.path)).is_dir()
                )
                yield from self.archive(member, f"{prefix}{name}/" if nested else f"{prefix}{name}")
        elif isinstance(archive, pulumi.RemoteArchive | pulumi.RemoteAsset):
            raise UnreadableArchive("it is remote and the pack scans offline")
        else:
            raise UnreadableArchive(f"it is a {type(archive).__name__}, not a Pulumi archive")

    def _path(self, path: Path, prefix: str) -> Iterator[_Entry]:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                yield from self._file(file, prefix + file.relative_to(path).as_posix())
        elif path.name.endswith(_ZIP_SUFFIXES + _TAR_SUFFIXES):
            # The archive itself is the bundle: its members are named from its root, as Lambda unpacks it.
            yield from self._nested(prefix.rstrip("/") or path.name, path.read_bytes(), depth=0, root=prefix)
        else:
            yield from self._file(path, prefix + path.name if not prefix or prefix.endswith("/") else prefix)

    def _file(self, path: Path, name: str) -> Iterator[_Entry]:
        size = path.stat().st_size
        if self._fits(name, size):
            yield from self._bytes(name, path.read_bytes(), depth=0)

    def _fits(self, name: str, size: int) -> bool:
        if size > MAX_FILE_BYTES:
            self._scan.unscanned.append(Unscanned(name, f"it is over the {MAX_FILE_BYTES // 2**20} MiB file limit"))
            return False
        if not self._budget.take(size):
            self._scan.unscanned.append(
                Unscanned(name, f"the bundle is over the {MAX_BUNDLE_BYTES // 2**20} MiB scan budget")
            )
            return False
        return True

    def _bytes(self, name: str, data: bytes, depth: int) -> Iterator[_Entry]:
        if name.endswith(_ZIP_SUFFIXES + _TAR_SUFFIXES):
            yield from self._nested(name, data, depth + 1, root=name + "!/")
        else:
            yield _Entry(name, data)

    def _nested(self, name: str, data: bytes, depth: int, root: str) -> Iterator[_Entry]:
        """Members of the zip or tar `data` (named `root` + member); reported instead when too deep or unreadable."""
        if depth > MAX_ARCHIVE_DEPTH:
            self._scan.unscanned.append(Unscanned(name, f"it is an archive nested over {MAX_ARCHIVE_DEPTH} deep"))
            return
        try:
            members = list(self._members(name, data, root))
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
            self._scan.unscanned.append(Unscanned(name, f"it cannot be opened as an archive ({type(exc).__name__})"))
            return
        for member, content in members:
            yield from self._bytes(root + member, content, depth)

    def _members(self, name: str, data: bytes, root: str) -> Iterator[tuple[str, bytes]]:
        if name.endswith(_TAR_SUFFIXES):
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                for member in tar.getmembers():
                    if member.isfile() and self._fits(root + member.name, member.size):
                        extracted = tar.extractfile(member)
                        if extracted is not None:
                            yield member.name, extracted.read()
            return
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                # The declared size bounds the read: zipfile never returns more than file_size bytes.
                if not info.is_dir() and self._fits(root + info.filename, info.file_size):
                    yield info.filename, archive.read(info)


def _is_package_metadata(name: str) -> bool:
    path = PurePosixPath(name)
    parents = [p.name for p in path.parents]
    if not any(p.endswith(".dist-info") for p in parents):
        return False
    if path.suffix in (".py", ".pyi", ".pth", ".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".env"):
        return path.name == "direct_url.json"
    return path.name in _PACKAGE_METADATA_FILES or bool(_LICENSE_NAME.fullmatch(path.name))


def _urlsafe_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _recorded_hashes(entries: Iterable[_Entry]) -> dict[str, str]:
    """Bundle path -> `sha256=<urlsafe base64>` from every `*.dist-info/RECORD` (PEP 376 / the wheel spec).

    RECORD paths are relative to the directory that holds the `.dist-info` folder (site-packages, the bundle's root).
    """
    hashes: dict[str, str] = {}
    for entry in entries:
        path = PurePosixPath(entry.name)
        if path.name != "RECORD" or not path.parent.name.endswith(".dist-info"):
            continue
        site = path.parent.parent
        text = decode_text(entry.data) or ""
        for row in csv.reader(io.StringIO(text)):
            if len(row) >= 2 and row[1].startswith("sha256=") and ".." not in PurePosixPath(row[0]).parts:
                hashes[(site / row[0]).as_posix()] = row[1].removeprefix("sha256=")
    return hashes


def _dotenv_findings(text: str) -> Iterator[Finding]:
    """A `.env` file is a list of environment variables: each assignment is judged as one."""
    for number, name, value in assignments(text):
        for problem in variable_problems(name, value):
            yield Finding(describe(f".env variable {name}", problem), number)


def names_a_hex_key(name: str) -> bool:
    """`SIGNING_KEY`, `encryptionKey`, `app_secret`: a key-like name that does not say digest, hash, commit, ..."""
    return bool(set(name_words(name)) & _KEY_WORDS) and not names_a_digest(name)


def _hex_key_findings(text: str) -> Iterator[Finding]:
    """A 40- or 64-hex literal assigned to a key-like name: a signing or encryption key, not a commit or a digest."""
    for match in _HEX_ASSIGNMENT.finditer(text):
        if names_a_hex_key(match.group("name")):
            yield Finding("Hex key assigned to a key-like name", text.count("\n", 0, match.start()) + 1)


def file_findings(name: str, data: bytes) -> list[Finding]:
    """Credentials in one bundle file: the shared detectors, the file read in its own syntax (`code_formats`), `.env`
    assignments and hex keys in code. A binary file gives none here; `bundle_scan` reports it as unscanned."""
    text = decode_text(data)
    if text is None:
        return []
    if file_kind(name, text) == "notebook":
        return _notebook_findings(name, text)
    own_syntax, structured = format_aware_findings(name, text)
    findings = text_findings(text, name, literals=not structured)
    extra = [
        *(_dotenv_findings(text) if _DOTENV_NAME.search(name) else ()),
        *_hex_key_findings(text),
        *own_syntax,
    ]
    flagged = {finding.line for finding in findings}
    for finding in extra:  # one finding a line: the shared detectors' name for it comes first
        if finding.line not in flagged:
            flagged.add(finding.line)
            findings.append(finding)
    return sorted(findings, key=lambda f: (f.line, f.kind))


_PACK_DIR: Final = Path(__file__).resolve().parent


@cache
def _own_module_hashes() -> dict[str, str]:
    """`keyless_guard/<module>.py` -> sha256 (urlsafe base64) of this pack's own source, as it runs now."""
    return {f"{_PACK_DIR.name}/{path.name}": _urlsafe_sha256(path.read_bytes()) for path in _PACK_DIR.glob("*.py")}


def _notebook_findings(name: str, text: str) -> list[Finding]:
    """A notebook's code cells, JSON-decoded (its escaped strings read as written) and scanned as Python."""
    cells = notebook_sources(text)
    if cells is None:
        return text_findings(text, name)
    findings = []
    for cell, source in cells:
        for finding in file_findings(f"{name}#cell{cell}.py", source.encode()):
            findings.append(Finding(f"{finding.kind} (code cell {cell}, line {finding.line})", 1))
    return findings


def bundle_scan(archive: Any, *, skip_unchanged_installed: bool = True) -> BundleScan:
    """Scan every file of a Pulumi archive or asset.

    Left out on purpose: compiled code and images (`_SKIPPED_SUFFIXES`), pip's metadata files under `.dist-info/`, and
    files a `.dist-info/RECORD` in the same bundle lists with the same sha256: a file pip installed unchanged holds
    nothing this project baked in. A third-party file that was edited no longer matches its RECORD and is scanned.
    Also left out: this pack's own modules at `keyless_guard/<module>.py`, byte for byte the source judging now (the
    Config rule of components/guardrails.py ships them to judge at run time as the pack judged at preview). They
    hold the detectors' vocabulary (`ABOUT_SECRET = "about a secret"`) that the keyword detector takes for an
    assignment; an edited copy, or a copy elsewhere in the bundle, is scanned like any file.
    `skip_unchanged_installed=False` scans those too (the benchmark's baseline).
    """
    scan = BundleScan()
    entries = list(_Reader(scan).archive(archive))
    recorded = _recorded_hashes(entries)
    for entry in entries:
        if entry.name.endswith(_SKIPPED_SUFFIXES) or _is_package_metadata(entry.name):
            continue
        if skip_unchanged_installed and recorded.get(entry.name) == _urlsafe_sha256(entry.data):
            scan.unchanged_installed_files += 1
            continue
        if skip_unchanged_installed and _own_module_hashes().get(entry.name) == _urlsafe_sha256(entry.data):
            scan.pack_own_files += 1
            continue
        if decode_text(entry.data) is None:
            scan.unscanned.append(Unscanned(entry.name, _BINARY_REASON))
            continue
        scan.findings.extend((entry.name, finding) for finding in file_findings(entry.name, entry.data))
    return scan


@resource_rule(
    name="lambda-code-no-credentials",
    description="A Lambda function's or layer's code bundle must not contain credentials.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation="Remove the credential from the code, rotate it, and read it from Secrets Manager at run time.",
    equivalent="Checkov secrets scan (CKV_SECRET_2, CKV_SECRET_6, ...); cdk-nag none",
    resource_types=(FUNCTION, LAYER, *BUCKET_OBJECTS),
)
def no_credentials_in_code(resource: Resource, report: Report) -> None:
    if resource.type in BUCKET_OBJECTS:
        _bucket_object(resource, report)
        return
    what = "layer" if resource.type == LAYER else "code"
    if resource.props.get("code") is None:
        # A container image (imageUri) is built and scanned elsewhere (policies/README.md, out of scope). An S3
        # object is not: it is reported, because an unscanned bundle is not a clean one.
        if resource.props.get("s3Bucket") is not None or resource.props.get("s3Key") is not None:
            report(
                f"The {what} comes from S3 (s3Bucket / s3Key), so it was not scanned: the pack reads only local "
                "archives at preview and never reaches S3. Point code at the local archive the object is built from "
                "(code=pulumi.FileArchive(...)); an aws.s3.BucketObjectv2 uploaded from a local archive in this stack "
                "is scanned by this rule, but the function cannot be tied to it here."
            )
        return
    _scan_and_report(known(resource.props["code"], "code"), what, report)


def _bucket_object(resource: Resource, report: Report) -> None:
    """An S3 object uploaded from a local archive (a directory or a zip, jar or tar file) is a bundle on its way to a
    function or layer that names it by s3Key: its files are scanned like code. Other objects are data."""
    source = known(resource.props.get("source"), "source")
    if isinstance(source, pulumi.Archive) or (
        isinstance(source, pulumi.FileAsset) and str(source.path).endswith(_ZIP_SUFFIXES + _TAR_SUFFIXES)
    ):
        _scan_and_report(source, "S3 object", report)


def _scan_and_report(code: Any, what: str, report: Report) -> None:
    try:
        scan = bundle_scan(code)
    except (UnreadableArchive, OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        report(f"The {what} archive cannot be scanned because {_reason(exc)}. Point code at a local file or directory.")
        return
    for name, finding in scan.findings[:_MAX_REPORTED]:
        report(f"{what} file {name} line {finding.line}: {finding.kind}. Remove it and read the secret at run time.")
    if len(scan.findings) > _MAX_REPORTED:
        report(f"... and {len(scan.findings) - _MAX_REPORTED} more credential findings in the {what} bundle.")
    for unscanned in scan.unscanned[:_MAX_REPORTED]:
        report(
            f"{what} file {unscanned.name} was not scanned because {unscanned.reason}; an unscanned file is not a "
            "clean one. Keep it out of the bundle (ship data from S3) or split it."
        )
    if len(scan.unscanned) > _MAX_REPORTED:
        report(f"... and {len(scan.unscanned) - _MAX_REPORTED} more unscanned files in the {what} bundle.")


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, UnreadableArchive) else f"it cannot be read ({type(exc).__name__})"
