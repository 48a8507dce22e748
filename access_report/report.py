"""Who accessed this secret: an operator report over CloudTrail, without guessing.

    venv/bin/python -m access_report (--events PATH | --lookup | --insights)
        (--stack NAME | --secret-arn ARN_OR_NAME [--reader ROLE_ARN ...]) [--endpoint VPCE_ID ...]
        [--since WHEN] [--until WHEN] [--account ID] [--region REGION] [--key-arn ARN ...]
        [--log-group NAME] [--timeout SECONDS] [--json] [--plot FILE.png]

Sources: `--events` reads CloudTrail log files as a trail delivers them to S3 (a file or a folder, recursively);
`--lookup` asks CloudTrail LookupEvents (last 90 days); `--insights` runs a Logs Insights query on the trail's log
group (`--log-group`, or the stack's). `--stack` reads the secret's name, region and expected readers from the
stack, the way the program builds them (it runs the program offline, as offline_preview.cli does).

What is a read of this secret, and who is expected to make it, comes from components.secret_audience, the same
description the stack's unexpected-read metric filter is built from: the principals this report flags are exactly
those whose reads raise the alarm.

Reads outside the perimeter: a read by an expected reader that did not come through the stack's Secrets Manager
endpoint (`--endpoint`, repeatable; the stack exports it as secretsManagerEndpointId) or, with no `--endpoint`,
through no endpoint at all. The principal is right and the place is wrong: its credentials are used elsewhere. The
report lists each such read with its source address (`sourceIPAddress`) and endpoint (`vpcEndpointId`), by the same
rule as the stack's outside-the-perimeter alarm (SecretAudience.is_read_outside_perimeter).

Exit codes: 0 nothing unexpected, 3 a principal that is not an expected reader read or tried to read the secret, or
an expected reader read it from outside the perimeter, 4 no record in the window concerned the secret (the wrong
secret, region or source, or records that are not CloudTrail's: "nobody read it" cannot be told from "asked about the
wrong thing"), 2 bad input or a source that cannot be read (one line on stderr). The report never prints a request's
parameters, so no secret value can reach it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from access_report import chart as access_chart
from access_report.cloudtrail_sources import (
    Clock,
    InsightsSource,
    LookupSource,
    Record,
    Sleep,
    SourceError,
    read_event_files,
)
from components.aws_context import AwsContext
from components.secret_audience import (
    BATCH_READ_EVENT,
    DENIED_ERROR_CODES,
    ENDPOINT_ID,
    KEY_CHANGE_EVENTS,
    KMS,
    SECRETS_MANAGER,
    SESSION_ISSUER,
    SOURCE_ADDRESS,
    VPC_ENDPOINT,
    SecretAudience,
    require_role_arn,
    select,
)

EXIT_OK, EXIT_BAD_INPUT, EXIT_UNEXPECTED = 0, 2, 3
EXIT_NOTHING_ABOUT_THE_SECRET = 4
LIVE_DEFAULT_WINDOW = timedelta(hours=24)
LOOKUP_HISTORY = timedelta(days=90)
"""How far back LookupEvents reaches (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html)."""
_RELATIVE = re.compile(r"(\d+)([mhd])")
_SECRET_ARN = re.compile(
    r"arn:(?P<partition>[a-z-]+):secretsmanager:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):secret:(?P<rest>.+)"
)
_SUFFIX = re.compile(r"(?P<name>.+)-[A-Za-z0-9]{6}")
_ACCOUNT = re.compile(r"\d{12}")
CLOUDTRAIL_FIELDS = ("eventTime", "eventSource", "eventName")


class InputError(Exception):
    """Bad command-line input; the message names the option."""


# --- the report


@dataclass
class PrincipalRow:
    principal: str
    expected: bool
    reads: int = 0
    denied: int = 0
    other_errors: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    sessions: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    times: list[datetime] = field(default_factory=list)


@dataclass
class OutsideRead:
    """A read by an expected reader that did not come through the perimeter's endpoints."""

    time: datetime
    principal: str
    source_address: str
    endpoint: str
    """The `vpcEndpointId` it came through, or `-` for none (the internet)."""
    denied: bool


@dataclass
class Change:
    time: datetime
    event: str
    principal: str
    source: str


@dataclass
class Report:
    secret_arn: str
    reader_role_arns: tuple[str, ...]
    window_from: datetime | None
    window_to: datetime | None
    principals: list[PrincipalRow]
    changes: list[Change]
    decrypts: dict[str, int]
    batch_calls: dict[str, int]
    records_read: int = 0
    """Every record the source gave, in the window or not."""
    records_about_secret: int = 0
    """Records in the window that read, change or decrypt the secret or change its key."""
    warnings: list[str] = field(default_factory=list)
    outside: list[OutsideRead] = field(default_factory=list)
    endpoint_ids: tuple[str, ...] = ()

    @property
    def unexpected(self) -> int:
        return sum(1 for row in self.principals if not row.expected)

    @property
    def alarming(self) -> bool:
        """What exits 3: an unexpected principal, or an expected one outside the perimeter."""
        return bool(self.unexpected or self.outside)

    def to_json(self) -> dict[str, Any]:
        return {
            "secret_arn": self.secret_arn,
            "window": {"from": _iso(self.window_from), "to": _iso(self.window_to)},
            "principals": [
                {
                    "principal": row.principal,
                    "expected": row.expected,
                    "reads": row.reads,
                    "denied": row.denied,
                    "first_seen": _iso(row.first_seen),
                    "last_seen": _iso(row.last_seen),
                    "sessions": sorted(row.sessions),
                    "sources": sorted(row.sources),
                }
                for row in self.principals
            ],
            "changes": [
                {
                    "time": _iso(change.time),
                    "event": change.event,
                    "principal": change.principal,
                    "source": change.source,
                }
                for change in self.changes
            ],
            "decrypts": [{"principal": principal, "count": count} for principal, count in self.decrypts.items()],
            "unexpected": self.unexpected,
            "records": {"read": self.records_read, "about_secret": self.records_about_secret},
            "perimeter": {"endpoints": list(self.endpoint_ids) or "any"},
            "outside_perimeter": [
                {
                    "time": _iso(read.time),
                    "principal": read.principal,
                    "source_address": read.source_address,
                    "vpc_endpoint": read.endpoint,
                    "denied": read.denied,
                }
                for read in self.outside
            ],
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_time(record: Mapping[str, Any]) -> datetime | None:
    raw = record.get("eventTime")
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def principal_of(record: Mapping[str, Any]) -> str:
    """The role behind an assumed-role session, a user, a service, or another account."""
    identity = record.get("userIdentity") or {}
    issuer = select(record, SESSION_ISSUER)
    if isinstance(issuer, str) and issuer:
        return issuer
    kind = identity.get("type")
    if kind == "AWSAccount":
        return f"account {identity.get('accountId', '?')}"
    if kind == "AWSService":
        return str(identity.get("invokedBy", "an AWS service"))
    if identity.get("arn"):
        return str(identity["arn"])
    return f"{kind or 'unknown'} {identity.get('principalId', '?')}"


def session_of(record: Mapping[str, Any]) -> str | None:
    """The session name of an assumed-role call (a Lambda function's name appears here)."""
    identity = record.get("userIdentity") or {}
    arn = identity.get("arn")
    if identity.get("type") == "AssumedRole" and isinstance(arn, str) and "/" in arn:
        return arn.rsplit("/", 1)[1]
    return None


def source_of(record: Mapping[str, Any]) -> str:
    origin = record.get("vpcEndpointId") or record.get("sourceIPAddress") or "unknown"
    return f"{origin} ({record.get('awsRegion', '?')})"


def build_report(
    records: Sequence[Record],
    audience: SecretAudience,
    *,
    secret_arn: str,
    since: datetime | None,
    until: datetime | None,
    key_arns: Sequence[str] = (),
) -> Report:
    """Classify every record in the window: reads per principal, changes, Decrypts of this secret."""
    in_window = [
        (moment, record)
        for record in records
        if (moment := event_time(record)) is not None
        and (since is None or moment >= since)
        and (until is None or moment <= until)
    ]
    in_window.sort(key=lambda item: item[0])
    keys = set(key_arns)
    rows: dict[str, PrincipalRow] = {}
    decrypts: dict[str, int] = {}
    batch_calls: dict[str, int] = {}
    for _, record in in_window:
        if audience.is_decrypt_for_secret(record):
            keys.update(_resource_arns(record))
    changes: list[Change] = []
    outside: list[OutsideRead] = []
    for moment, record in in_window:
        principal = principal_of(record)
        if audience.is_read_outside_perimeter(record):
            outside.append(
                OutsideRead(
                    moment,
                    principal,
                    str(select(record, SOURCE_ADDRESS) or "unknown"),
                    str(select(record, VPC_ENDPOINT) or "-"),
                    record.get("errorCode") in DENIED_ERROR_CODES,
                )
            )
        if audience.is_read(record):
            row = rows.setdefault(principal, PrincipalRow(principal, expected=audience.is_expected(record)))
            error = record.get("errorCode")
            if error is None:
                row.reads += 1
            elif error in DENIED_ERROR_CODES:
                row.denied += 1
            else:
                row.other_errors += 1
            row.first_seen = row.first_seen or moment
            row.last_seen = moment
            row.times.append(moment)
            if (session := session_of(record)) is not None:
                row.sessions.add(session)
            row.sources.add(source_of(record))
        elif audience.is_change(record) or _is_key_change(record, keys, audience):
            changes.append(Change(moment, str(record.get("eventName")), principal, source_of(record)))
        elif audience.is_decrypt_for_secret(record):
            decrypts[principal] = decrypts.get(principal, 0) + 1
        elif _is_batch_read(record, audience):
            batch_calls[principal] = batch_calls.get(principal, 0) + 1
    principals = sorted(rows.values(), key=lambda row: (row.expected, -(row.reads + row.denied), row.principal))
    moments = [moment for moment, record in in_window if _is_relevant(record, audience, keys)]
    not_cloudtrail = sum(1 for record in records if not all(record.get(f) for f in CLOUDTRAIL_FIELDS))
    return Report(
        secret_arn=secret_arn,
        reader_role_arns=audience.reader_role_arns,
        window_from=since or (moments[0] if moments else None),
        window_to=until or (moments[-1] if moments else None),
        principals=principals,
        changes=changes,
        decrypts=dict(sorted(decrypts.items(), key=lambda item: (-item[1], item[0]))),
        batch_calls=batch_calls,
        records_read=len(records),
        records_about_secret=len(moments),
        warnings=[f"{not_cloudtrail} record(s) lack {', '.join(CLOUDTRAIL_FIELDS)}: not CloudTrail records"]
        if not_cloudtrail
        else [],
        outside=outside,
        endpoint_ids=audience.endpoint_ids,
    )


def _resource_arns(record: Mapping[str, Any]) -> list[str]:
    resources = record.get("resources") or []
    return [
        str(r["ARN"]) for r in resources if isinstance(r, dict) and r.get("type") == "AWS::KMS::Key" and r.get("ARN")
    ]


def _is_key_change(record: Mapping[str, Any], keys: set[str], audience: SecretAudience) -> bool:
    if select(record, "$.eventSource") != KMS or record.get("eventName") not in KEY_CHANGE_EVENTS:
        return False
    if not audience.in_region(record):
        return False
    key_id = select(record, "$.requestParameters.keyId")
    named = set(_resource_arns(record)) | ({key_id} if isinstance(key_id, str) else set())
    key_ids = {arn.rsplit("/", 1)[1] for arn in keys}
    return bool(named & keys) or bool(named & key_ids)


def _is_batch_read(record: Mapping[str, Any], audience: SecretAudience) -> bool:
    """A BatchGetSecretValue naming the secret. Not counted as a read: AWS also writes a GetSecretValue record for
    each secret of the batch, which is."""
    if select(record, "$.eventSource") != SECRETS_MANAGER or record.get("eventName") != BATCH_READ_EVENT:
        return False
    ids = select(record, "$.requestParameters.secretIdList")
    return audience.in_region(record) and isinstance(ids, list) and any(audience.names_secret(i) for i in ids)


def _is_relevant(record: Mapping[str, Any], audience: SecretAudience, keys: set[str]) -> bool:
    return (
        audience.is_read(record)
        or audience.is_change(record)
        or audience.is_decrypt_for_secret(record)
        or _is_key_change(record, keys, audience)
    )


# --- output


def render_table(report: Report) -> str:
    lines = [
        f"Secret   {report.secret_arn}",
        f"Window   {_iso(report.window_from) or '-'} .. {_iso(report.window_to) or '-'}",
        f"Readers  {', '.join(report.reader_role_arns) or '(none given: every reader is unexpected)'}",
        f"Records  {report.records_read} read, {report.records_about_secret} about this secret",
        "",
        "Reads by principal",
    ]
    lines += _table(
        ("PRINCIPAL", "EXPECTED", "READS", "DENIED", "FIRST SEEN", "LAST SEEN", "SESSIONS", "SOURCES"),
        [
            (
                row.principal,
                "yes" if row.expected else "NO",
                str(row.reads),
                str(row.denied),
                _iso(row.first_seen) or "-",
                _iso(row.last_seen) or "-",
                ", ".join(sorted(row.sessions)) or "-",
                ", ".join(sorted(row.sources)),
            )
            for row in report.principals
        ],
        empty="(no reads)",
    )
    perimeter = ", ".join(report.endpoint_ids) or "any VPC endpoint"
    lines += ["", f"Reads by expected readers outside the perimeter ({perimeter})"]
    lines += _table(
        ("TIME", "PRINCIPAL", "SOURCE ADDRESS", "VPC ENDPOINT", "RESULT"),
        [
            (_iso(r.time) or "-", r.principal, r.source_address, r.endpoint, "denied" if r.denied else "read")
            for r in report.outside
        ],
        empty="(none: every read by an expected reader came through the perimeter)",
    )
    if report.batch_calls:
        calls = ", ".join(f"{principal} ({count})" for principal, count in sorted(report.batch_calls.items()))
        lines.append(f"BatchGetSecretValue calls naming the secret (their reads are counted above): {calls}")
    lines += ["", "Changes to the secret and its key"]
    lines += _table(
        ("TIME", "EVENT", "PRINCIPAL", "SOURCE"),
        [(_iso(c.time) or "-", c.event, c.principal, c.source) for c in report.changes],
        empty="(no changes)",
    )
    lines += ["", "KMS Decrypt of this secret (Secrets Manager on the caller's behalf)"]
    lines += _table(
        ("PRINCIPAL", "COUNT"), [(p, str(n)) for p, n in report.decrypts.items()], empty="(no Decrypt events)"
    )
    lines += ["", "Reads per hour"]
    labels = {row.principal: ("  " if row.expected else "! ") + row.principal for row in report.principals}
    lines += access_chart.terminal_chart({row.principal: row.times for row in report.principals}, labels)
    lines.append("")
    for warning in report.warnings:
        lines.append(f"warning: {warning}")
    if not report.records_about_secret:
        lines.append(
            f"No record concerned this secret (exit {EXIT_NOTHING_ABOUT_THE_SECRET}): check the secret, its region and "
            "that the source holds the trail's read events."
        )
    elif report.unexpected:
        lines.append(
            f"{report.unexpected} principal(s) that are not expected readers read or tried to read the secret."
        )
    if report.outside:
        addresses = ", ".join(sorted({r.source_address for r in report.outside}))
        lines.append(
            f"{len(report.outside)} read(s) by expected readers came from outside the perimeter (from {addresses}): "
            "their credentials are used elsewhere. Revoke the role's sessions and rotate the key."
        )
    if not report.alarming and report.records_about_secret:
        lines.append("Nothing unexpected: only expected readers read the secret, through the perimeter.")
    return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str) -> list[str]:
    if not rows:
        return [f"  {empty}"]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  " + "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]


# --- input


def parse_time(value: str, *, now: datetime, option: str) -> datetime:
    """ISO 8601 (`2026-11-28T10:00:00Z`, `2026-11-28`) or an age before now (`90m`, `24h`, `7d`)."""
    relative = _RELATIVE.fullmatch(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{option}: {value!r} is neither an ISO 8601 time nor an age such as 24h or 7d") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Target:
    audience: SecretAudience
    secret_arn: str
    """As the report shows it: the full ARN if given, else the ARN with `??????` for the suffix."""
    log_group_name: str | None = None


def target_from_arguments(
    secret: str, readers: Sequence[str], *, account: str | None, region: str | None, partition: str = "aws"
) -> Target:
    """The secret and its readers from --secret-arn and --reader."""
    try:
        reader_arns = tuple(require_role_arn(arn) for arn in readers)
    except ValueError as exc:
        raise InputError(f"--reader: {exc}") from exc
    parsed = _SECRET_ARN.fullmatch(secret)
    if secret.startswith("arn:") and parsed is None:
        raise InputError(f"--secret-arn: {secret!r} is not a Secrets Manager secret ARN")
    if parsed:
        rest = parsed.group("rest")
        suffixed = _SUFFIX.fullmatch(rest)
        name = suffixed.group("name") if suffixed else rest
        context = AwsContext(parsed.group("partition"), parsed.group("region"), parsed.group("account"))
        shown = secret if suffixed else context.secret_arn_pattern(name)
    else:
        if not region:
            raise InputError("--secret-arn: a name needs --region (or AWS_REGION), or give the secret's ARN")
        if not account:
            raise InputError("--secret-arn: a name needs --account (or a live source, which asks STS), or give the ARN")
        name = secret
        context = AwsContext(partition, region, account)
        shown = context.secret_arn_pattern(name)
    try:
        audience = SecretAudience(context, name, reader_arns)
    except ValueError as exc:
        raise InputError(f"--secret-arn: {exc}") from exc
    return Target(audience, shown)


def target_from_stack(stack: str, account_in: Callable[[str], str], program_dir: Path | None = None) -> Target:
    """The secret, region and readers as the program builds them for `stack`, in the account `account_in(region)`.

    The program runs offline under the preview's mocks, which answer `aws.get_caller_identity` with AWS's example
    account; ARNs the program built from that answer are moved to `account`."""
    from offline_preview.cli import ACCOUNT_ID, REPO_ROOT, PreviewError, run_program

    try:
        run = run_program(program_dir or REPO_ROOT, stack)
    except PreviewError as exc:
        first_line = (str(exc).splitlines() or ["the program failed"])[0]
        raise InputError(f"--stack {stack}: {first_line}") from exc
    described = run.outputs.get("secretAudience")
    if not isinstance(described, dict):
        raise InputError(f"--stack {stack}: the program exports no secretAudience")
    region = str(described["region"])
    account = account_in(region)
    readers = [_with_account(str(arn), ACCOUNT_ID, account) for arn in described.get("readerRoleArns", [])]
    context = AwsContext(str(described["partition"]), region, account)
    audience = SecretAudience(context, str(described["secretName"]), tuple(readers))
    log_group = run.outputs.get("auditLogGroupName")
    return Target(audience, audience.arn_pattern, log_group if isinstance(log_group, str) else None)


def _with_account(arn: str, placeholder: str, account: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[4] == placeholder:
        parts[4] = account
    return ":".join(parts)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m access_report", description=(__doc__ or "").split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--events", type=Path, metavar="PATH", help="CloudTrail log files (.json, .json.gz), a file or folder"
    )
    source.add_argument("--lookup", action="store_true", help="CloudTrail LookupEvents (management events, 90 days)")
    source.add_argument("--insights", action="store_true", help="Logs Insights over the trail's log group")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--stack", help="read the secret and its readers from this stack (Pulumi.<stack>.yaml)")
    what.add_argument("--secret-arn", metavar="ARN_OR_NAME", help="the secret: its ARN, or its name with --region")
    parser.add_argument("--reader", action="append", default=[], metavar="ROLE_ARN", help="an expected reader role")
    parser.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="VPCE_ID",
        help="the stack's Secrets Manager endpoint (pulumi stack output secretsManagerEndpointId); default: any",
    )
    parser.add_argument("--since", help="start of the window: ISO 8601 or an age (24h, 7d); live default 24h")
    parser.add_argument("--until", help="end of the window: ISO 8601 or an age; default now (live) or no limit")
    parser.add_argument("--account", help="the secret's account id (default for live sources: the caller's, from STS)")
    parser.add_argument("--region", help="the secret's region when --secret-arn is a name (default: AWS_REGION)")
    parser.add_argument(
        "--key-arn", action="append", default=[], help="the secret's KMS key (also found from Decrypts)"
    )
    parser.add_argument("--log-group", help="--insights: the trail's log group (default: the stack's)")
    parser.add_argument("--timeout", type=float, default=300.0, help="--insights: seconds to wait for the query")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw reads per hour into a PNG")
    return parser


@dataclass
class Clients:
    """The live sources' boto3 clients, clock and sleep; tests hand in stubbed clients and a fake clock."""

    region: str | None = None
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic

    def client(self, service: str, region: str | None) -> Any:
        import boto3
        from botocore.config import Config

        # The sources pace and retry themselves (LookupEvents allows 2 requests/s).
        config = Config(retries={"max_attempts": 1, "mode": "standard"})
        return boto3.client(service, region_name=region or self.region, config=config)  # type: ignore[call-overload]


def run(argv: Sequence[str] | None = None, *, clients: Clients | None = None, now: datetime | None = None) -> int:
    options = build_parser().parse_args(argv)
    clients = clients or Clients()
    now = now or datetime.now(UTC)
    try:
        report = _report(options, clients, now)
    except (InputError, SourceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if options.json:
        print(json.dumps(report.to_json(), indent=2))
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    else:
        print(render_table(report))
    if options.plot:
        try:
            access_chart.write_png(
                {row.principal: row.times for row in report.principals}, options.plot, f"Reads of {report.secret_arn}"
            )
        except OSError as exc:
            print(f"error: --plot {options.plot}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"chart written to {options.plot}", file=sys.stderr)
    if report.alarming:
        return EXIT_UNEXPECTED
    return EXIT_OK if report.records_about_secret else EXIT_NOTHING_ABOUT_THE_SECRET


def _report(options: argparse.Namespace, clients: Clients, now: datetime) -> Report:
    live = options.lookup or options.insights
    if options.account is not None and not _ACCOUNT.fullmatch(options.account):
        raise InputError(f"--account: {options.account!r} is not a 12-digit account id")
    if options.plot is not None and options.plot.suffix.lower() != ".png":
        raise InputError(f"--plot: {options.plot} must be a .png file")
    if options.plot is not None and not options.plot.parent.is_dir():
        # Checked before the report, so that a cron job does not print a whole report and then fail.
        raise InputError(f"--plot: no such folder {options.plot.parent}")
    since = parse_time(options.since, now=now, option="--since") if options.since else None
    until = parse_time(options.until, now=now, option="--until") if options.until else None
    if live:
        until = until or now
        since = since or until - LIVE_DEFAULT_WINDOW
    if since and until and since > until:
        raise InputError("--since is after --until")

    region = options.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    account = options.account
    if options.stack:
        if options.reader:
            raise InputError("--reader: the stack names its readers; drop --reader or use --secret-arn")
        if account is None and not live:
            raise InputError("--stack with --events needs --account (the offline mode asks no AWS API)")
        given = account
        target = target_from_stack(options.stack, lambda stack_region: given or _caller_account(clients, stack_region))
    else:
        needs_account = not str(options.secret_arn).startswith("arn:") and account is None
        if needs_account and live:
            account = _caller_account(clients, region)
        target = target_from_arguments(options.secret_arn, options.reader, account=account, region=region)
    for endpoint in options.endpoint:
        if not ENDPOINT_ID.fullmatch(endpoint):
            raise InputError(f"--endpoint: {endpoint!r} is not a VPC endpoint id (vpce- and hexadecimal digits)")
    audience = target.audience.with_endpoints(options.endpoint) if options.endpoint else target.audience

    warnings: list[str] = []
    if options.lookup and since is not None and since < now - LOOKUP_HISTORY:
        warnings.append("LookupEvents covers the last 90 days only: earlier events are missing; use --insights")
    if options.events is not None:
        records = read_event_files(options.events)
    elif options.lookup:
        lookup = LookupSource(clients.client("cloudtrail", audience.context.region), clients.sleep, clients.clock)
        records = lookup.records((SECRETS_MANAGER, KMS), *_live_window(since, until))
    else:
        log_group = options.log_group or target.log_group_name
        if not log_group:
            raise InputError("--insights needs --log-group (or --stack, whose trail log group is known)")
        insights = InsightsSource(
            clients.client("logs", audience.context.region),
            log_group,
            timeout_seconds=options.timeout,
            sleep=clients.sleep,
            clock=clients.clock,
        )
        records = insights.records(audience.insights_source_filter(), *_live_window(since, until))
        warnings += insights.warnings
    report = build_report(
        records, audience, secret_arn=target.secret_arn, since=since, until=until, key_arns=options.key_arn
    )
    report.warnings = warnings + report.warnings
    return report


def _live_window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    if since is None or until is None:
        raise InputError("a live source needs a window")  # _report always sets one; kept for the type checker
    return since, until


def _caller_account(clients: Clients, region: str | None) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return str(clients.client("sts", region).get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as exc:
        raise SourceError(f"cannot ask STS for the account ({exc}); pass --account") from exc


def main(argv: Sequence[str] | None = None) -> int:
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
