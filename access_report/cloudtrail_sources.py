"""Where access_report.report gets CloudTrail records from: log files, CloudTrail LookupEvents, Logs Insights.

Each source returns plain records (the dicts CloudTrail writes); the analysis does not know which one it got.

- Files: what a trail delivers to S3, `{"Records": [...]}` as `.json` or `.json.gz`, a file or a folder searched
  recursively (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html).
- LookupEvents: management events of the last 90 days, one lookup attribute per call (here the event source), 50
  events a page, at most 2 requests per second per account and region; a faster caller gets ThrottlingException
  (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html). The source paces its calls
  and backs off on throttling itself, so botocore's own retries are turned off for its client.
- Logs Insights: a query over the trail's log group, for windows longer than LookupEvents covers. The query runs in
  AWS; the source polls GetQueryResults until it completes or the timeout passes, then stops it
  (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html,
  API_GetQueryResults.html: statuses Scheduled, Running, Complete, Failed, Cancelled, Timeout, Unknown; at most
  10,000 rows a query).

Clock and sleep are injected, so tests drive pagination, throttling and timeouts without waiting.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_logs import CloudWatchLogsClient

Record = dict[str, Any]
Sleep = Callable[[float], None]
Clock = Callable[[], float]

LOOKUP_MIN_INTERVAL_SECONDS = 0.5
"""LookupEvents allows 2 requests per second per account and region."""
LOOKUP_MAX_RETRIES = 5
LOOKUP_FIRST_BACKOFF_SECONDS = 1.0
INSIGHTS_LIMIT = 10_000
"""The most rows one Logs Insights query returns."""


class SourceError(Exception):
    """A source cannot be read; the message says which and why, on one line, and never holds a record's content."""


# --- files


def read_event_files(path: Path) -> list[Record]:
    """Every record of every `.json` / `.json.gz` CloudTrail log file at `path` (a file, or a folder, recursively)."""
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith((".json", ".json.gz")))
        if not files:
            raise SourceError(f"{path}: no CloudTrail log files (.json or .json.gz) in this folder")
    else:
        files = [path]
    records: list[Record] = []
    for file in files:
        records.extend(_read_log_file(file))
    return records


def _read_log_file(path: Path) -> list[Record]:
    try:
        raw = path.read_bytes()
        text = gzip.decompress(raw) if path.name.endswith(".gz") else raw
        document = json.loads(text)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError: catch it first
        raise SourceError(f"{path}: not a gzip file") from exc
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not JSON") from exc
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise SourceError(f'{path}: not a CloudTrail log file (expected {{"Records": [...]}})')
    return records


# --- CloudTrail LookupEvents


@dataclass
class LookupSource:
    """CloudTrail LookupEvents, one event source at a time, paced and with backoff on throttling."""

    client: CloudTrailClient
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    calls: int = 0
    """LookupEvents requests sent (throttled ones included)."""
    _last_call: float | None = field(default=None, repr=False)

    def records(self, event_sources: tuple[str, ...], since: datetime, until: datetime) -> list[Record]:
        records: list[Record] = []
        for event_source in event_sources:
            records.extend(self._records_of(event_source, since, until))
        return records

    def _records_of(self, event_source: str, since: datetime, until: datetime) -> Iterator[Record]:
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": event_source}],
                "StartTime": since,
                "EndTime": until,
                "MaxResults": 50,
            }
            if token:
                request["NextToken"] = token
            page = self._call(request)
            for event in page.get("Events", []):
                raw = event.get("CloudTrailEvent")
                if raw:
                    try:
                        yield json.loads(raw)
                    except json.JSONDecodeError as exc:
                        raise SourceError("LookupEvents returned an event that is not JSON") from exc
            token = page.get("NextToken")
            if not token:
                return

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        backoff = LOOKUP_FIRST_BACKOFF_SECONDS
        for attempt in range(LOOKUP_MAX_RETRIES + 1):
            self._pace()
            try:
                return dict(self.client.lookup_events(**request))
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code != "ThrottlingException" or attempt == LOOKUP_MAX_RETRIES:
                    raise SourceError(f"CloudTrail LookupEvents failed: {code or 'error'}: {_message(exc)}") from exc
                self.sleep(backoff)
                backoff *= 2
            except BotoCoreError as exc:
                raise SourceError(f"CloudTrail LookupEvents failed: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _pace(self) -> None:
        now = self.clock()
        if self._last_call is not None:
            wait = self._last_call + LOOKUP_MIN_INTERVAL_SECONDS - now
            if wait > 0:
                self.sleep(wait)
                now += wait
        self._last_call = now
        self.calls += 1


# --- CloudWatch Logs Insights


@dataclass
class InsightsSource:
    """One Logs Insights query over the trail's log group, polled until it completes or `timeout_seconds` pass."""

    client: CloudWatchLogsClient
    log_group_name: str
    timeout_seconds: float = 300.0
    poll_interval_seconds: float = 2.0
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    warnings: list[str] = field(default_factory=list)

    def records(self, filter_expression: str, since: datetime, until: datetime) -> list[Record]:
        query = f"fields @message | filter {filter_expression} | sort @timestamp asc | limit {INSIGHTS_LIMIT}"
        try:
            started = self.client.start_query(
                logGroupName=self.log_group_name,
                startTime=int(since.timestamp()),
                endTime=int(until.timestamp()),
                queryString=query,
                limit=INSIGHTS_LIMIT,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise SourceError(
                f"Logs Insights StartQuery on {self.log_group_name} failed: {code}: {_message(exc)}"
            ) from exc
        except BotoCoreError as exc:
            raise SourceError(f"Logs Insights StartQuery failed: {exc}") from exc
        query_id = started["queryId"]
        deadline = self.clock() + self.timeout_seconds
        while True:
            try:
                result = self.client.get_query_results(queryId=query_id)
            except (ClientError, BotoCoreError) as exc:
                raise SourceError(f"Logs Insights GetQueryResults failed: {exc}") from exc
            status = result.get("status")
            if status == "Complete":
                return self._rows(result.get("results", []))
            if status in ("Failed", "Cancelled", "Timeout", "Unknown"):
                raise SourceError(f"the Logs Insights query on {self.log_group_name} ended with status {status}")
            if self.clock() >= deadline:
                self._stop(query_id)
                raise SourceError(
                    f"the Logs Insights query on {self.log_group_name} did not finish within "
                    f"{self.timeout_seconds:g} s (stopped it); narrow --since/--until or raise --timeout"
                )
            self.sleep(self.poll_interval_seconds)

    def _stop(self, query_id: str) -> None:
        try:
            self.client.stop_query(queryId=query_id)
        except (ClientError, BotoCoreError):
            # The query may have finished meanwhile; the timeout is what the operator needs to hear about.
            return

    def _rows(self, rows: Any) -> list[Record]:
        if len(rows) >= INSIGHTS_LIMIT:
            self.warnings.append(
                f"the Logs Insights query returned its maximum of {INSIGHTS_LIMIT} rows: later events are missing; "
                "narrow --since/--until"
            )
        records: list[Record] = []
        for row in rows:
            message = next((cell.get("value") for cell in row if cell.get("field") == "@message"), None)
            if not message:
                continue
            try:
                record = json.loads(message)
            except json.JSONDecodeError:
                continue  # not a CloudTrail record: the group may hold other lines
            if isinstance(record, dict):
                records.append(record)
        return records


def _message(exc: ClientError) -> str:
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return (message.splitlines() or [""])[0]
