"""SecretAudience: one definition of "this secret", "this region" and "an expected reader"."""

import pytest

from access_report.filter_pattern import FilterPattern
from components.aws_context import AwsContext
from components.secret_audience import SecretAudience, require_role_arn

CONTEXT = AwsContext("aws", "eu-west-1", "111122223333")
ROLE = "arn:aws:iam::111122223333:role/service-role/fn-exec"
AUDIENCE = SecretAudience.of(CONTEXT, "team/api-key", [ROLE])
PARTIAL = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:team/api-key"


@pytest.mark.parametrize(
    ("secret_id", "expected"),
    [
        ("team/api-key", True),
        (PARTIAL, True),
        (f"{PARTIAL}-AbCdEf", True),
        # Filter patterns only know `*`: a look-alike `<name>-<more>` is flagged by the alarm and the report alike.
        (f"{PARTIAL}-old-AbCdEf", True),
        ("team/api-key-AbCdEf", False),
        ("team/api", False),
        ("arn:aws:secretsmanager:us-east-1:111122223333:secret:team/api-key-AbCdEf", False),
        ("arn:aws:secretsmanager:eu-west-1:444455556666:secret:team/api-key-AbCdEf", False),
        (None, False),
        (["team/api-key"], False),
    ],
)
def test_names_secret_means_what_the_filter_patterns_identifiers_mean(secret_id, expected):
    record = {"requestParameters": {"secretId": secret_id}}
    as_pattern = FilterPattern.parse(
        "{ " + " || ".join(f'$.requestParameters.secretId = "{value}"' for value in AUDIENCE.identifiers()) + " }"
    )

    assert AUDIENCE.names_secret(secret_id) is expected
    assert as_pattern.matches(record) is expected


def test_an_expected_reader_is_a_session_of_a_reader_role_and_nothing_else():
    def identity(**fields: object) -> dict[str, object]:
        return {"userIdentity": fields}

    session = identity(type="AssumedRole", sessionContext={"sessionIssuer": {"arn": ROLE}})
    other_role = identity(type="AssumedRole", sessionContext={"sessionIssuer": {"arn": ROLE + "-2"}})
    user = identity(type="IAMUser", arn=ROLE)  # even an IAM user whose ARN string looked like the role's

    records: list[dict[str, object]] = [session, other_role, user, {}]
    assert [AUDIENCE.is_expected(r) for r in records] == [True, False, False, False]


@pytest.mark.parametrize(
    "arn",
    ["arn:aws:iam::111122223333:user/alice", "arn:aws:sts::111122223333:assumed-role/fn/x", "fn-exec", ""],
)
def test_readers_must_be_role_arns(arn):
    with pytest.raises(ValueError, match="is not an IAM role ARN"):
        require_role_arn(arn)
    with pytest.raises(ValueError, match="is not an IAM role ARN"):
        SecretAudience.of(CONTEXT, "team/api-key", [arn])


def test_a_secret_name_secrets_manager_would_refuse_is_refused():
    with pytest.raises(ValueError, match="is not a Secrets Manager secret name"):
        SecretAudience.of(CONTEXT, 'bad"name', [])


def test_describe_is_what_the_stack_exports():
    assert AUDIENCE.describe() == {
        "partition": "aws",
        "region": "eu-west-1",
        "accountId": "111122223333",
        "secretName": "team/api-key",
        "readerRoleArns": [ROLE],
    }


def test_an_endpoint_that_is_not_a_vpce_id_is_refused():
    audience = SecretAudience.of(AwsContext("aws", "eu-west-1", "111122223333"), "team/key", [])

    with pytest.raises(ValueError, match="'vpce-0A1B' is not a VPC endpoint id"):
        audience.with_endpoints(["vpce-0A1B"])
    assert audience.with_endpoints(["vpce-0a1b2c3d"]).describe()["endpointIds"] == ["vpce-0a1b2c3d"]
    assert "endpointIds" not in audience.describe()
