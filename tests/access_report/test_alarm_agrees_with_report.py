"""The unexpected-read metric filter the prod stack deploys matches exactly the reads the report flags, and no others,
on the same recorded CloudTrail events the report tests use.

The patterns are read from the program's own LogMetricFilter resources (what AWS receives) and evaluated by
access_report.filter_pattern (tested on AWS's documented examples), once with each reading of `!=` on a missing
property, which AWS's syntax page leaves open.
"""

from functools import cache

import pytest

from access_report.cloudtrail_sources import read_event_files
from access_report.filter_pattern import FilterPattern
from access_report.report import build_report, principal_of
from components.aws_context import AwsContext
from components.secret_audience import SecretAudience
from offline_preview.cli import REPO_ROOT, ProgramRun, run_program
from tests.fixtures import cloudtrail_records as ct
from tests.stack_inspection import only

FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
RECORDS = read_event_files(ct.ROOT)


@cache
def prod() -> ProgramRun:
    return run_program(REPO_ROOT, "prod", first_preview=True)


def deployed_pattern(metric: str) -> FilterPattern:
    return FilterPattern.parse(only(prod(), FILTER, f"secret-access-{metric}").inputs["pattern"])


def prod_audience() -> SecretAudience:
    # The preview's account is AWS's example account, which the fixtures use too.
    return SecretAudience.of(AwsContext("aws", ct.REGION, ct.ACCOUNT), ct.SECRET_NAME, [ct.FUNCTION_ROLE])


@pytest.mark.parametrize("missing_matches_not_equal", [False, True])
def test_the_unexpected_read_filter_matches_exactly_the_reads_the_report_flags(missing_matches_not_equal):
    pattern = deployed_pattern("unexpected-secret-reads")
    audience = prod_audience()

    alarmed = {
        record["eventID"]
        for record in RECORDS
        if pattern.matches(record, missing_matches_not_equal=missing_matches_not_equal)
    }
    flagged = {record["eventID"] for record in RECORDS if audience.is_unexpected_read(record)}
    report = build_report(RECORDS, audience, secret_arn=ct.SECRET_ARN, since=None, until=None)
    unexpected_principals = {row.principal for row in report.principals if not row.expected}

    assert alarmed == flagged
    # Not vacuous: the fixtures hold unexpected reads, expected reads and reads of other secrets.
    assert len(alarmed) == 5
    assert (
        {principal_of(r) for r in RECORDS if r["eventID"] in alarmed}
        == unexpected_principals
        == {
            ct.CONSOLE_USER,
            ct.DENIED_ROLE,
            ct.BATCH_ROLE,
            f"account {ct.OTHER_ACCOUNT}",
        }
    )
    assert report.unexpected == 4


def test_the_every_read_filter_matches_exactly_the_reads_the_report_counts():
    pattern = deployed_pattern("secret-reads")
    audience = prod_audience()

    counted = {record["eventID"] for record in RECORDS if audience.is_read(record)}
    report = build_report(RECORDS, audience, secret_arn=ct.SECRET_ARN, since=None, until=None)

    assert {record["eventID"] for record in RECORDS if pattern.matches(record)} == counted
    assert len(counted) == sum(row.reads + row.denied for row in report.principals) == 11


def test_a_read_of_the_same_name_in_another_region_raises_no_alarm():
    """On a multi-region trail the same name in another region is another secret (issue 8). The record's region:
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html"""
    elsewhere = [r for r in RECORDS if r["awsRegion"] == ct.OTHER_REGION and r["eventName"] == "GetSecretValue"]

    assert elsewhere
    assert elsewhere[0]["requestParameters"]["secretId"] == ct.SECRET_NAME
    assert not deployed_pattern("unexpected-secret-reads").matches(elsewhere[0])
    assert not deployed_pattern("secret-reads").matches(elsewhere[0])
    # The same record moved to the secret's region is an unexpected read, for the alarm and the report alike.
    here = {**elsewhere[0], "awsRegion": ct.REGION}
    assert deployed_pattern("unexpected-secret-reads").matches(here)
    assert prod_audience().is_unexpected_read(here)


# --- the stolen-credential signal: an expected reader's read from outside the perimeter


@cache
def prod_after_deploy() -> ProgramRun:
    """Endpoint ids known (the mocks assign them), as after the first `pulumi up`."""
    return run_program(REPO_ROOT, "prod", first_preview=False)


def stolen_credential_reads() -> list[dict[str, object]]:
    """The function's own recorded read, replayed as an attacker holding its credentials would leave it:
    from the internet (CloudTrail writes no vpcEndpointId for a call made through no endpoint:
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html),
    denied there (the perimeter's work), and through another VPC's endpoint."""
    (function_read,) = [r for r in RECORDS if prod_audience().is_read(r) and prod_audience().is_expected(r)][:1]
    laptop = {k: v for k, v in function_read.items() if k not in ("vpcEndpointId", "vpcEndpointAccountId")}
    return [
        {**laptop, "eventID": "stolen-1", "sourceIPAddress": "203.0.113.50"},
        {**laptop, "eventID": "stolen-2", "sourceIPAddress": "203.0.113.50", "errorCode": "AccessDenied"},
        {
            **function_read,
            "eventID": "stolen-3",
            "sourceIPAddress": "10.9.8.7",
            "vpcEndpointId": "vpce-0badbadbadbadbad0",
        },
    ]


@pytest.mark.parametrize("missing_matches_not_equal", [False, True])
def test_the_outside_the_perimeter_filter_matches_exactly_the_reads_the_report_marks(missing_matches_not_equal):
    deployed = only(prod_after_deploy(), FILTER, "secret-access-secret-reads-outside-perimeter").inputs["pattern"]
    endpoint = only(prod_after_deploy(), "aws:ec2/vpcEndpoint:VpcEndpoint", "network-secretsmanager").outputs["id"]
    # The stack names its own endpoint; the recorded events name the fixtures' endpoint: the same place.
    assert deployed.count(f'"{endpoint}"') == 1
    pattern = FilterPattern.parse(deployed.replace(endpoint, ct.VPC_ENDPOINT))
    audience = prod_audience().with_endpoints([ct.VPC_ENDPOINT])
    records = [*RECORDS, *stolen_credential_reads()]

    alarmed = {
        str(record["eventID"])
        for record in records
        if pattern.matches(record, missing_matches_not_equal=missing_matches_not_equal)
    }
    report = build_report(records, audience, secret_arn=ct.SECRET_ARN, since=None, until=None)

    assert alarmed == {str(r["eventID"]) for r in records if audience.is_read_outside_perimeter(r)}
    # Not vacuous: the recorded reads through the endpoint stay quiet, the three replays do not.
    assert alarmed == {"stolen-1", "stolen-2", "stolen-3"}
    assert sorted((read.source_address, read.endpoint, read.denied) for read in report.outside) == [
        ("10.9.8.7", "vpce-0badbadbadbadbad0", False),
        ("203.0.113.50", "-", False),
        ("203.0.113.50", "-", True),
    ]
    assert report.alarming
