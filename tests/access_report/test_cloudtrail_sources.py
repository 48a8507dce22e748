"""The live sources through botocore's Stubber: moto implements neither CloudTrail LookupEvents nor Logs Insights
results (NOTES.md). Pagination, throttling, pacing and a query that times out, on a fake clock: nothing waits.

LookupEvents: one lookup attribute per call, NextToken pagination, 2 requests per second, ThrottlingException past it:
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
Logs Insights: StartQuery, then GetQueryResults until `Complete` (or Failed, Cancelled, Timeout), StopQuery:
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html
"""

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from access_report.cloudtrail_sources import InsightsSource, LookupSource, SourceError, read_event_files
from access_report.report import Clients, run
from tests.fixtures import cloudtrail_records as ct

SINCE = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
UNTIL = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
RECORDS = read_event_files(ct.ROOT)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(service: str) -> Any:
    # AWS's documented example keys; the Stubber answers every call, nothing leaves the process.
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=ct.REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )


def lookup_request(source: str, token: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": source}],
        "StartTime": SINCE,
        "EndTime": UNTIL,
        "MaxResults": 50,
    }
    if token:
        request["NextToken"] = token
    return request


def lookup_page(records: list[dict[str, Any]], token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "Events": [
            {
                "EventId": record["eventID"],
                "EventName": record["eventName"],
                "EventSource": record["eventSource"],
                "CloudTrailEvent": json.dumps(record),
            }
            for record in records
        ]
    }
    if token:
        page["NextToken"] = token
    return page


def of_source(source: str) -> list[dict[str, Any]]:
    return [record for record in RECORDS if record["eventSource"] == source]


def test_lookup_follows_every_page_of_each_event_source_at_two_requests_a_second():
    cloudtrail, time = client("cloudtrail"), FakeTime()
    secrets_manager, kms = of_source("secretsmanager.amazonaws.com"), of_source("kms.amazonaws.com")
    with Stubber(cloudtrail) as stub:
        stub.add_response(
            "lookup_events", lookup_page(secrets_manager[:10], "t1"), lookup_request("secretsmanager.amazonaws.com")
        )
        stub.add_response(
            "lookup_events",
            lookup_page(secrets_manager[10:], None),
            lookup_request("secretsmanager.amazonaws.com", "t1"),
        )
        stub.add_response("lookup_events", lookup_page(kms), lookup_request("kms.amazonaws.com"))
        source = LookupSource(cloudtrail, time.sleep, time.clock)

        records = source.records(("secretsmanager.amazonaws.com", "kms.amazonaws.com"), SINCE, UNTIL)

        stub.assert_no_pending_responses()
    assert records == secrets_manager + kms
    assert source.calls == 3
    # Back-to-back calls are spaced 0.5 s apart: never more than 2 a second.
    assert time.sleeps == [0.5, 0.5]


def test_lookup_backs_off_on_throttling_and_then_succeeds():
    cloudtrail, time = client("cloudtrail"), FakeTime()
    with Stubber(cloudtrail) as stub:
        for _ in range(2):
            stub.add_client_error("lookup_events", service_error_code="ThrottlingException", http_status_code=400)
        stub.add_response("lookup_events", lookup_page(RECORDS[:2]), lookup_request("secretsmanager.amazonaws.com"))
        source = LookupSource(cloudtrail, time.sleep, time.clock)

        records = source.records(("secretsmanager.amazonaws.com",), SINCE, UNTIL)

        stub.assert_no_pending_responses()
    assert records == RECORDS[:2]
    assert time.sleeps == [1.0, 2.0]
    assert source.calls == 3


def test_lookup_gives_up_after_repeated_throttling_with_one_line():
    cloudtrail, time = client("cloudtrail"), FakeTime()
    with Stubber(cloudtrail) as stub:
        for _ in range(6):
            stub.add_client_error(
                "lookup_events",
                service_error_code="ThrottlingException",
                service_message="Rate exceeded",
                http_status_code=400,
            )
        source = LookupSource(cloudtrail, time.sleep, time.clock)

        with pytest.raises(SourceError, match=r"^CloudTrail LookupEvents failed: ThrottlingException: Rate exceeded$"):
            source.records(("secretsmanager.amazonaws.com",), SINCE, UNTIL)

        stub.assert_no_pending_responses()
    assert time.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_lookup_reports_other_errors_at_once():
    cloudtrail, time = client("cloudtrail"), FakeTime()
    with Stubber(cloudtrail) as stub:
        stub.add_client_error(
            "lookup_events", service_error_code="AccessDeniedException", service_message="no", http_status_code=400
        )

        with pytest.raises(SourceError, match="AccessDeniedException: no"):
            LookupSource(cloudtrail, time.sleep, time.clock).records(("kms.amazonaws.com",), SINCE, UNTIL)

    assert time.sleeps == []


def rows(records: list[dict[str, Any]]) -> list[list[dict[str, str]]]:
    return [
        [{"field": "@timestamp", "value": record["eventTime"]}, {"field": "@message", "value": json.dumps(record)}]
        for record in records
    ]


def start_query_request(log_group: str) -> dict[str, Any]:
    return {
        "logGroupName": log_group,
        "startTime": int(SINCE.timestamp()),
        "endTime": int(UNTIL.timestamp()),
        "queryString": ANY,
        "limit": 10_000,
    }


def test_insights_polls_until_the_query_completes():
    logs, time = client("logs"), FakeTime()
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q-1"}, start_query_request("trail-group"))
        for _ in range(2):
            stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": "q-1"})
        complete = [*rows(RECORDS[:3]), [{"field": "@message", "value": "not a CloudTrail record"}]]
        stub.add_response("get_query_results", {"status": "Complete", "results": complete}, {"queryId": "q-1"})
        source = InsightsSource(logs, "trail-group", sleep=time.sleep, clock=time.clock)

        records = source.records('eventSource = "secretsmanager.amazonaws.com"', SINCE, UNTIL)

        stub.assert_no_pending_responses()
    assert records == RECORDS[:3]
    assert time.sleeps == [2.0, 2.0]
    assert source.warnings == []


def test_an_insights_query_that_times_out_is_stopped_and_reported():
    logs, time = client("logs"), FakeTime()
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q-2"}, start_query_request("trail-group"))
        for _ in range(4):
            stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": "q-2"})
        stub.add_response("stop_query", {"success": True}, {"queryId": "q-2"})
        source = InsightsSource(logs, "trail-group", timeout_seconds=5, sleep=time.sleep, clock=time.clock)

        with pytest.raises(SourceError, match="did not finish within 5 s \\(stopped it\\)"):
            source.records("x", SINCE, UNTIL)

        stub.assert_no_pending_responses()
    assert time.sleeps == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("status", ["Failed", "Cancelled", "Timeout"])
def test_an_insights_query_that_fails_in_aws_is_reported(status):
    logs, time = client("logs"), FakeTime()
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q-3"}, start_query_request("trail-group"))
        stub.add_response("get_query_results", {"status": status, "results": []}, {"queryId": "q-3"})

        with pytest.raises(SourceError, match=f"ended with status {status}"):
            InsightsSource(logs, "trail-group", sleep=time.sleep, clock=time.clock).records("x", SINCE, UNTIL)


def test_an_insights_result_at_its_row_limit_warns_that_events_are_missing():
    logs, time = client("logs"), FakeTime()
    full = rows(RECORDS[:1]) * 10_000
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q-4"}, start_query_request("trail-group"))
        stub.add_response("get_query_results", {"status": "Complete", "results": full}, {"queryId": "q-4"})
        source = InsightsSource(logs, "trail-group", sleep=time.sleep, clock=time.clock)

        assert len(source.records("x", SINCE, UNTIL)) == 10_000

    assert source.warnings == [
        "the Logs Insights query returned its maximum of 10000 rows: later events are missing; narrow --since/--until"
    ]


class StubbedClients(Clients):
    def __init__(self, clients: dict[str, Any], time: FakeTime) -> None:
        super().__init__(sleep=time.sleep, clock=time.clock)
        self.clients = clients

    def client(self, service: str, region: str | None) -> Any:
        assert region == ct.REGION
        return self.clients[service]


WINDOW = ["--since", SINCE.isoformat(), "--until", UNTIL.isoformat()]


def events_json(capsys) -> dict[str, Any]:
    assert run(["--events", str(ct.ROOT), "--stack", "prod", "--account", ct.ACCOUNT, *WINDOW, "--json"]) == 3
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_stack_prod_lookup_just_works_and_agrees_with_the_log_files(capsys):
    time = FakeTime()
    sts, cloudtrail = client("sts"), client("cloudtrail")
    with Stubber(sts) as sts_stub, Stubber(cloudtrail) as stub:
        sts_stub.add_response(
            "get_caller_identity",
            {"Account": ct.ACCOUNT, "Arn": f"arn:aws:iam::{ct.ACCOUNT}:user/oncall", "UserId": "AIDAEXAMPLE"},
            {},
        )
        stub.add_response(
            "lookup_events",
            lookup_page(of_source("secretsmanager.amazonaws.com")),
            lookup_request("secretsmanager.amazonaws.com"),
        )
        stub.add_response(
            "lookup_events", lookup_page(of_source("kms.amazonaws.com")), lookup_request("kms.amazonaws.com")
        )

        code = run(
            ["--lookup", "--stack", "prod", *WINDOW, "--json"],
            clients=StubbedClients({"sts": sts, "cloudtrail": cloudtrail}, time),
        )
        live = json.loads(capsys.readouterr().out)

        stub.assert_no_pending_responses()
        sts_stub.assert_no_pending_responses()
    assert code == 3
    assert live == events_json(capsys)
    assert live["unexpected"] == 4


def test_stack_prod_insights_queries_the_stacks_trail_group_and_agrees_with_the_log_files(capsys):
    time = FakeTime()
    logs = client("logs")
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q-5"}, start_query_request("/aws/cloudtrail/keyless-ingest-prod"))
        stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": "q-5"})
        stub.add_response("get_query_results", {"status": "Complete", "results": rows(RECORDS)}, {"queryId": "q-5"})

        code = run(
            ["--insights", "--stack", "prod", "--account", ct.ACCOUNT, *WINDOW, "--json"],
            clients=StubbedClients({"logs": logs}, time),
        )
        live = json.loads(capsys.readouterr().out)

        stub.assert_no_pending_responses()
    assert code == 3
    assert live == events_json(capsys)


def test_an_insights_timeout_is_one_line_and_exit_2(capsys):
    time = FakeTime()
    logs = client("logs")
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q-6"}, start_query_request("my-trail"))
        for _ in range(2):
            stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": "q-6"})
        stub.add_response("stop_query", {"success": True}, {"queryId": "q-6"})

        code = run(
            ["--insights", "--secret-arn", ct.SECRET_ARN, "--log-group", "my-trail", *WINDOW, "--timeout", "1"],
            clients=StubbedClients({"logs": logs}, time),
        )
        captured = capsys.readouterr()

    assert code == 2
    assert captured.out == ""
    assert captured.err == (
        "error: the Logs Insights query on my-trail did not finish within 1 s (stopped it); "
        "narrow --since/--until or raise --timeout\n"
    )


def test_a_lookup_window_older_than_90_days_warns_that_events_are_missing(capsys):
    """LookupEvents returns the last 90 days of management events only (API_LookupEvents, see the module docstring)."""
    now = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    since = datetime(2026, 7, 1, tzinfo=UTC)
    cloudtrail = client("cloudtrail")
    with Stubber(cloudtrail) as stub:
        for source in ("secretsmanager.amazonaws.com", "kms.amazonaws.com"):
            request = {**lookup_request(source), "StartTime": since, "EndTime": now}
            stub.add_response("lookup_events", lookup_page([]), request)

        code = run(
            ["--lookup", "--secret-arn", ct.SECRET_ARN, "--since", since.isoformat(), "--json"],
            clients=StubbedClients({"cloudtrail": cloudtrail}, FakeTime()),
            now=now,
        )
        captured = capsys.readouterr()

        stub.assert_no_pending_responses()
    assert code == 4  # no record about the secret in an empty window
    assert json.loads(captured.out)["principals"] == []
    assert (
        captured.err
        == "warning: LookupEvents covers the last 90 days only: earlier events are missing; use --insights\n"
    )
