"""The operator report on the recorded CloudTrail fixtures: the documented JSON, the table, exit codes, bad input."""

import gzip
import json
import secrets
import shutil
from typing import Any

import pytest

from access_report import chart as access_chart
from access_report.report import EXIT_BAD_INPUT, EXIT_NOTHING_ABOUT_THE_SECRET, EXIT_OK, EXIT_UNEXPECTED, run
from tests.fixtures import cloudtrail_records as ct

FIXTURES = ct.ROOT
SECRET = ["--secret-arn", ct.SECRET_ARN]
READER = ["--reader", ct.FUNCTION_ROLE]


def report(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = run(list(args))
    except SystemExit as exc:  # argparse's own errors, which the parser keeps to one line too
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def json_report(capsys, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = report(capsys, *args, "--json")
    return code, json.loads(out)


def test_the_committed_fixture_files_are_what_the_fixture_module_builds():
    on_disk = {str(p.relative_to(FIXTURES)): p.read_bytes() for p in FIXTURES.rglob("*") if p.is_file()}

    assert on_disk == ct.fixture_files()
    # gzip files in nested folders, as a trail delivers them, and one plain .json.
    assert sum(name.endswith(".json.gz") for name in on_disk) == 4
    assert sum(name.endswith(".json") for name in on_disk) == 1
    assert all(name.count("/") >= 8 for name in on_disk)


def test_the_whole_fixture_tree_gives_the_documented_json(capsys):
    code, result = json_report(capsys, "--events", str(FIXTURES), *SECRET, *READER)

    assert code == EXIT_UNEXPECTED
    assert result == {
        "secret_arn": ct.SECRET_ARN,
        "window": {"from": "2026-11-28T10:04:17Z", "to": "2026-11-28T13:06:40Z"},
        "principals": [
            {
                "principal": ct.CONSOLE_USER,
                "expected": False,
                "reads": 2,
                "denied": 0,
                "first_seen": "2026-11-28T12:31:05Z",
                "last_seen": "2026-11-28T12:33:10Z",
                "sessions": [],
                "sources": ["198.51.100.7 (eu-west-1)"],
            },
            {
                "principal": f"account {ct.OTHER_ACCOUNT}",
                "expected": False,
                "reads": 0,
                "denied": 1,
                "first_seen": "2026-11-28T12:45:00Z",
                "last_seen": "2026-11-28T12:45:00Z",
                "sessions": [],
                "sources": ["192.0.2.44 (eu-west-1)"],
            },
            {
                "principal": ct.DENIED_ROLE,
                "expected": False,
                "reads": 0,
                "denied": 1,
                "first_seen": "2026-11-28T12:40:00Z",
                "last_seen": "2026-11-28T12:40:00Z",
                "sessions": ["bob"],
                "sources": ["203.0.113.50 (eu-west-1)"],
            },
            {
                # BatchGetSecretValue: counted once, through the GetSecretValue record AWS writes per secret.
                "principal": ct.BATCH_ROLE,
                "expected": False,
                "reads": 1,
                "denied": 0,
                "first_seen": "2026-11-28T12:50:00Z",
                "last_seen": "2026-11-28T12:50:00Z",
                "sessions": ["nightly-report"],
                "sources": ["203.0.113.80 (eu-west-1)"],
            },
            {
                # The function's role, through the VPC endpoint; the session name is the function's name.
                "principal": ct.FUNCTION_ROLE,
                "expected": True,
                "reads": 6,
                "denied": 0,
                "first_seen": "2026-11-28T10:04:17Z",
                "last_seen": "2026-11-28T13:06:40Z",
                "sessions": [ct.FUNCTION_NAME],
                "sources": [f"{ct.VPC_ENDPOINT} (eu-west-1)"],
            },
        ],
        "changes": [
            {
                "time": "2026-11-28T11:30:00Z",
                "event": "RotateSecret",
                "principal": ct.ADMIN_ROLE,
                "source": "198.51.100.7 (eu-west-1)",
            },
            {
                "time": "2026-11-28T11:31:00Z",
                "event": "PutSecretValue",
                "principal": ct.ADMIN_ROLE,
                "source": "198.51.100.7 (eu-west-1)",
            },
            {
                "time": "2026-11-28T11:32:00Z",
                "event": "UpdateSecretVersionStage",
                "principal": ct.ADMIN_ROLE,
                "source": "198.51.100.7 (eu-west-1)",
            },
            {
                "time": "2026-11-28T11:40:00Z",
                "event": "PutResourcePolicy",
                "principal": ct.ADMIN_ROLE,
                "source": "198.51.100.7 (eu-west-1)",
            },
            # The key was found from the Decrypts whose encryption context names the secret.
            {
                "time": "2026-11-28T11:41:00Z",
                "event": "PutKeyPolicy",
                "principal": ct.ADMIN_ROLE,
                "source": "198.51.100.7 (eu-west-1)",
            },
        ],
        "decrypts": [
            {"principal": ct.FUNCTION_ROLE, "count": 6},
            {"principal": ct.CONSOLE_USER, "count": 2},
            {"principal": ct.BATCH_ROLE, "count": 1},
        ],
        "unexpected": 4,
        # 20 records in expected-only (8 + 5 + 4 + 3) and 9 in unexpected; all but the 3 about other secrets and the
        # BatchGetSecretValue call (its GetSecretValue record is the read) concern this secret.
        "records": {"read": 29, "about_secret": 25},
        # Every recorded read by the function came through an endpoint.
        "perimeter": {"endpoints": "any"},
        "outside_perimeter": [],
    }


def test_the_same_name_in_another_region_and_other_secrets_are_not_this_secret(capsys):
    code, result = json_report(capsys, "--events", str(FIXTURES / "expected-only"), *SECRET, *READER)

    # other-app read the same name in us-east-1 and another secret in eu-west-1: neither is a read of ours.
    assert code == EXIT_OK
    assert [row["principal"] for row in result["principals"]] == [ct.FUNCTION_ROLE]
    assert result["decrypts"] == [{"principal": ct.FUNCTION_ROLE, "count": 6}]
    assert result["unexpected"] == 0


def test_exit_3_on_the_fixtures_with_unexpected_readers_and_0_on_those_without(capsys):
    assert report(capsys, "--events", str(FIXTURES / "unexpected"), *SECRET, *READER)[0] == EXIT_UNEXPECTED
    assert report(capsys, "--events", str(FIXTURES / "expected-only"), *SECRET, *READER)[0] == EXIT_OK


def test_without_readers_every_reader_is_unexpected(capsys):
    code, result = json_report(capsys, "--events", str(FIXTURES / "expected-only"), *SECRET)

    assert code == EXIT_UNEXPECTED
    assert [(row["principal"], row["expected"]) for row in result["principals"]] == [(ct.FUNCTION_ROLE, False)]


@pytest.mark.parametrize("secret", [ct.SECRET_ARN, ct.PARTIAL_ARN])
def test_a_name_a_partial_arn_and_a_full_arn_name_the_same_secret(capsys, secret):
    by_arn = json_report(capsys, "--events", str(FIXTURES), "--secret-arn", secret, *READER)[1]
    by_name = json_report(
        capsys,
        "--events",
        str(FIXTURES),
        "--secret-arn",
        ct.SECRET_NAME,
        "--region",
        ct.REGION,
        "--account",
        ct.ACCOUNT,
        *READER,
    )[1]

    assert {key: value for key, value in by_arn.items() if key != "secret_arn"} == {
        key: value for key, value in by_name.items() if key != "secret_arn"
    }
    assert by_name["secret_arn"] == f"{ct.PARTIAL_ARN}-??????"


def test_the_stack_names_its_secret_and_readers_as_the_program_builds_them(capsys):
    from_stack = json_report(capsys, "--events", str(FIXTURES), "--stack", "prod", "--account", ct.ACCOUNT)
    given = json_report(capsys, "--events", str(FIXTURES), "--secret-arn", ct.PARTIAL_ARN, *READER)

    assert from_stack == given


def test_the_window_keeps_only_records_between_since_and_until(capsys):
    code, result = json_report(
        capsys,
        "--events",
        str(FIXTURES),
        *SECRET,
        *READER,
        "--since",
        "2026-11-28T10:00:00Z",
        "--until",
        "2026-11-28T11:35:00Z",
    )

    assert code == EXIT_OK
    assert result["window"] == {"from": "2026-11-28T10:00:00Z", "to": "2026-11-28T11:35:00Z"}
    assert [(row["principal"], row["reads"]) for row in result["principals"]] == [(ct.FUNCTION_ROLE, 4)]
    assert [change["event"] for change in result["changes"]] == [
        "RotateSecret",
        "PutSecretValue",
        "UpdateSecretVersionStage",
    ]


def test_the_table_shows_every_section_and_flags_the_unexpected(capsys):
    code, out, err = report(capsys, "--events", str(FIXTURES), *SECRET, *READER)

    assert code == EXIT_UNEXPECTED
    assert err == ""
    for heading in (
        "Reads by principal",
        "Changes to the secret and its key",
        "KMS Decrypt of this secret",
        "Reads per hour",
    ):
        assert heading in out
    reads_section = out.split("Reads by principal\n", 1)[1].split("\n\n", 1)[0].splitlines()
    rows = {line.split()[0]: line.split()[1] for line in reads_section[1:] if line.startswith("  arn:aws:iam::")}
    assert rows[ct.FUNCTION_ROLE] == "yes"
    assert rows[ct.CONSOLE_USER] == "NO"
    assert f"! {ct.CONSOLE_USER}" in out
    assert out.rstrip().endswith("4 principal(s) that are not expected readers read or tried to read the secret.")


def test_the_terminal_chart_draws_each_principals_reads_per_hour():
    from datetime import UTC, datetime

    reads = {
        "fn": [datetime(2026, 11, 28, 10, m, tzinfo=UTC) for m in (1, 2, 3, 4)]
        + [datetime(2026, 11, 28, 12, 0, tzinfo=UTC)],
        "alice": [datetime(2026, 11, 28, 12, 30, tzinfo=UTC)] * 2,
    }

    assert access_chart.terminal_chart(reads) == [
        "one column per hour from 2026-11-28T10:00Z; full bar = 4 reads",
        "alice |  ▄| 2",
        "fn    |█ ▂| 5",
    ]


def test_a_long_window_draws_several_hours_per_column_so_a_line_fits_a_terminal():
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 11, 1, tzinfo=UTC)
    reads = {"fn": [start + timedelta(hours=n) for n in range(0, 100)]}

    lines = access_chart.terminal_chart(reads)

    # 100 hours at most 72 columns: two hours a column, 50 columns, each holding two reads.
    assert lines[0] == "one column per 2 hours from 2026-11-01T00:00Z; full bar = 2 reads"
    assert lines[1] == "fn |" + "█" * 50 + "| 100"


def test_plot_writes_a_png(capsys, tmp_path):
    target = tmp_path / "reads.png"

    code, _, err = report(capsys, "--events", str(FIXTURES), *SECRET, *READER, "--plot", str(target))

    assert code == EXIT_UNEXPECTED
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"chart written to {target}" in err


def test_no_secret_value_is_ever_printed(capsys, tmp_path):
    """CloudTrail records no value (https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-cloudtrail.html);
    plant one anyway in the requestParameters of a read and of a PutSecretValue, and look for it everywhere."""
    planted = "sk_" + secrets.token_urlsafe(24)
    tree = tmp_path / "trail"
    shutil.copytree(FIXTURES, tree)
    for path in tree.rglob("*.json.gz"):
        document = json.loads(gzip.decompress(path.read_bytes()))
        for record in document["Records"]:
            if record["eventName"] in ("GetSecretValue", "PutSecretValue"):
                record["requestParameters"]["secretString"] = json.dumps({"api_key": planted})
                record["responseElements"] = {"secretString": planted}
        path.write_bytes(gzip.compress(json.dumps(document).encode()))

    outputs = []
    for extra in ([], ["--json"], ["--plot", str(tmp_path / "reads.png")]):
        code, out, err = report(capsys, "--events", str(tree), *SECRET, *READER, *extra)
        assert code == EXIT_UNEXPECTED
        outputs += [out, err]

    assert all(planted not in output for output in outputs)
    assert planted.encode() not in (tmp_path / "reads.png").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--events", "no/such/dir", *SECRET], "error: no/such/dir: no such file or folder"),
        (["--events", "{empty}", *SECRET], "no CloudTrail log files"),
        (["--events", "{notgzip}", *SECRET], "not a gzip file"),
        (["--events", "{notjson}", *SECRET], "not JSON"),
        (["--events", "{norecords}", *SECRET], 'not a CloudTrail log file (expected {"Records": [...]})'),
        (
            ["--events", str(FIXTURES), *SECRET, "--reader", ct.CONSOLE_USER],
            "--reader: 'arn:aws:iam::111122223333:user/alice' is not an IAM role ARN",
        ),
        (["--events", str(FIXTURES), "--secret-arn", "arn:aws:s3:::bucket"], "is not a Secrets Manager secret ARN"),
        (["--events", str(FIXTURES), "--secret-arn", ct.SECRET_NAME, "--account", ct.ACCOUNT], "a name needs --region"),
        (["--events", str(FIXTURES), "--secret-arn", ct.SECRET_NAME, "--region", ct.REGION], "a name needs --account"),
        (["--events", str(FIXTURES), "--stack", "prod"], "--stack with --events needs --account"),
        (["--events", str(FIXTURES), "--stack", "nosuch", "--account", ct.ACCOUNT], "--stack nosuch: "),
        (["--events", str(FIXTURES), *SECRET, "--since", "yesterday"], "--since: 'yesterday' is neither"),
        (["--events", str(FIXTURES), *SECRET, "--since", "1d", "--until", "2d"], "--since is after --until"),
        (["--events", str(FIXTURES), *SECRET, "--account", "12"], "--account: '12' is not a 12-digit account id"),
        (["--events", str(FIXTURES), *SECRET, "--plot", "chart.svg"], "--plot: chart.svg must be a .png file"),
        (["--events", str(FIXTURES), *SECRET, "--plot", "no/such/reads.png"], "--plot: no such folder no/such"),
        (["--events", str(FIXTURES)], "one of the arguments --stack --secret-arn is required"),
        (["--lookup", "--events", str(FIXTURES), *SECRET], "not allowed with argument"),
        (["--insights", *SECRET, "--account", ct.ACCOUNT], "--insights needs --log-group"),
        (
            ["--events", str(FIXTURES), *SECRET, "--endpoint", "vpce-XYZ"],
            "--endpoint: 'vpce-XYZ' is not a VPC endpoint id (vpce- and hexadecimal digits)",
        ),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(capsys, tmp_path, monkeypatch, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notgzip.json.gz").write_bytes(b"plain")
    (tmp_path / "notjson.json").write_text("[ERROR] not json")
    (tmp_path / "norecords.json").write_text('{"records": []}')
    monkeypatch.chdir(tmp_path)
    args = [
        arg.format(empty="empty", notgzip="notgzip.json.gz", notjson="notjson.json", norecords="norecords.json")
        for arg in args
    ]

    code, out, err = report(capsys, *args)

    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert message in err


OTHER_SECRET = ["--secret-arn", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:someone/else-AbCdEf"]


def test_a_secret_no_record_mentions_exits_4_and_says_how_many_records_were_read(capsys):
    code, out, _ = report(capsys, "--events", str(FIXTURES), *OTHER_SECRET, *READER)

    assert code == EXIT_NOTHING_ABOUT_THE_SECRET == 4
    assert "Records  29 read, 0 about this secret" in out
    assert out.rstrip().endswith(
        "No record concerned this secret (exit 4): check the secret, its region and that the source holds the "
        "trail's read events."
    )
    assert "Nothing unexpected" not in out


def test_records_without_cloudtrail_fields_exit_4_with_a_warning(capsys, tmp_path):
    (tmp_path / "flow.json").write_text(json.dumps({"Records": [{"version": 2, "action": "ACCEPT"}, {"eventTime": 1}]}))

    code, result = json_report(capsys, "--events", str(tmp_path), *SECRET, *READER)
    _, _, err = report(capsys, "--events", str(tmp_path), *SECRET, *READER, "--json")

    assert code == EXIT_NOTHING_ABOUT_THE_SECRET
    assert result["records"] == {"read": 2, "about_secret": 0}
    assert err == "warning: 2 record(s) lack eventTime, eventSource, eventName: not CloudTrail records\n"


def test_the_records_line_counts_what_the_window_kept(capsys):
    code, out, _ = report(capsys, "--events", str(FIXTURES / "expected-only"), *SECRET, *READER)

    # 20 records; the 3 about other secrets (the same name in us-east-1, another secret and its Decrypt) are not ours.
    assert code == EXIT_OK
    assert "Records  20 read, 17 about this secret" in out
    assert out.rstrip().endswith("Nothing unexpected: only expected readers read the secret, through the perimeter.")


def test_the_png_legend_sits_outside_the_plot_so_it_hides_no_bar():
    from datetime import UTC, datetime

    from matplotlib import pyplot

    # GIVEN the busiest hour first, where a legend in the upper left corner of the axes would cover it
    start = datetime(2026, 11, 28, 10, tzinfo=UTC)
    reads = {
        "arn:aws:iam::111122223333:role/keyless-ingest-prod-ingest-exec": [start] * 9 + [start.replace(hour=11)],
        "arn:aws:iam::111122223333:user/alice": [start.replace(hour=12)] * 3,
    }
    figure = access_chart.draw(reads, "Reads")
    try:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
        (axes,) = figure.axes
        (legend,) = [*figure.legends, *filter(None, [axes.get_legend()])]
        legend_box = legend.get_window_extent(renderer)
        # THEN the legend and the plot area do not overlap, and the legend is on the figure
        assert not legend_box.overlaps(axes.get_window_extent(renderer))
        assert figure.bbox.contains(legend_box.x0, legend_box.y0)
        assert figure.bbox.contains(legend_box.x1, legend_box.y1)
        assert [text.get_text() for text in legend.get_texts()] == sorted(reads)
    finally:
        pyplot.close(figure)


def test_the_png_draws_the_last_hour_as_a_step_one_hour_wide():
    from datetime import UTC, datetime

    from matplotlib import pyplot

    start = datetime(2026, 11, 28, 10, tzinfo=UTC)
    figure = access_chart.draw({"arn:aws:iam::111122223333:user/alice": [start, start.replace(hour=12)] * 2}, "Reads")
    try:
        (line,) = figure.axes[0].get_lines()
        xs: Any = line.get_xdata()
        ys: Any = line.get_ydata()
        # 10:00 2 reads, 11:00 none, 12:00 2 reads, held until 13:00
        assert list(zip(xs, ys, strict=True)) == [
            (start, 2),
            (start.replace(hour=11), 0),
            (start.replace(hour=12), 2),
            (start.replace(hour=13), 2),
        ]
    finally:
        pyplot.close(figure)


# --- reads outside the perimeter: the function's credentials used elsewhere


def with_stolen_reads(tmp_path, *replays: dict[str, Any]) -> str:
    """The expected-only fixtures plus the function's own read replayed from elsewhere (`replays` overrides)."""
    folder = tmp_path / "trail"
    shutil.copytree(FIXTURES / "expected-only", folder)
    read = ct.function_read("2026-11-28T14:00:00Z")[0]
    records = []
    for number, change in enumerate(replays):
        record = {k: v for k, v in read.items() if k not in ("vpcEndpointId", "vpcEndpointAccountId")}
        records.append({**record, "eventID": f"replay-{number}", **change})
    (folder / "replays.json").write_text(json.dumps({"Records": records}))
    return str(folder)


def test_reads_outside_the_perimeter_are_marked_with_their_source_addresses_and_exit_3(capsys, tmp_path):
    events = with_stolen_reads(
        tmp_path,
        {"sourceIPAddress": "203.0.113.50"},
        {"sourceIPAddress": "192.0.2.9", "vpcEndpointId": "vpce-0badbadbadbadbad0"},
    )

    code, result = json_report(capsys, "--events", events, *SECRET, *READER, "--endpoint", ct.VPC_ENDPOINT)
    code_any, result_any = json_report(capsys, "--events", events, *SECRET, *READER)
    table_code, table, _ = report(capsys, "--events", events, *SECRET, *READER, "--endpoint", ct.VPC_ENDPOINT)

    assert code == code_any == table_code == EXIT_UNEXPECTED
    assert result["unexpected"] == 0  # the principal is the expected one: only the place is wrong
    assert result["perimeter"] == {"endpoints": [ct.VPC_ENDPOINT]}
    assert [(r["principal"], r["source_address"], r["vpc_endpoint"]) for r in result["outside_perimeter"]] == [
        (ct.FUNCTION_ROLE, "203.0.113.50", "-"),
        (ct.FUNCTION_ROLE, "192.0.2.9", "vpce-0badbadbadbadbad0"),
    ]
    # Without --endpoint any endpoint counts as inside: only the read from the internet is outside.
    assert [r["source_address"] for r in result_any["outside_perimeter"]] == ["203.0.113.50"]
    assert "Reads by expected readers outside the perimeter (vpce-0a1b2c3d4e5f60718)" in table
    assert "2 read(s) by expected readers came from outside the perimeter (from 192.0.2.9, 203.0.113.50)" in table


def test_exit_0_when_every_read_came_through_the_endpoint(capsys):
    code, out, _ = report(
        capsys, "--events", str(FIXTURES / "expected-only"), *SECRET, *READER, "--endpoint", ct.VPC_ENDPOINT
    )

    assert code == EXIT_OK
    assert "(none: every read by an expected reader came through the perimeter)" in out
    assert "Nothing unexpected: only expected readers read the secret, through the perimeter." in out
