"""AuditQueries: the three saved Logs Insights queries, on the trail's log group, built from the SecretAudience."""

import pulumi
import pytest

from components.audit_queries import AuditQueries
from components.aws_context import AwsContext
from components.secret_audience import SecretAudience
from mock_engine.recorded import UNKNOWN
from tests.stack_inspection import ACCOUNT, REGION, of_type, run_components

CONTEXT = AwsContext("aws", REGION, ACCOUNT)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/fn-exec"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
QUERY = "aws:cloudwatch/queryDefinition:QueryDefinition"
PARTIAL = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ki/prod/api-key"


def build(key_arn: pulumi.Input[str] = KEY, *, first_preview: bool = False):
    def body() -> None:
        AuditQueries(
            "audit-queries",
            {
                "context": CONTEXT,
                "name_prefix": "ki-prod",
                "secret_name": "ki/prod/api-key",
                "reader_role_arns": [ROLE],
                "log_group_name": "org-trail/management-events",
                "key_arn": key_arn,
            },
        )

    return run_components(body, first_preview=first_preview)


def test_three_saved_queries_in_one_folder_on_the_trail_log_group():
    run = build()

    queries = {q.inputs["name"]: q.inputs for q in of_type(run, QUERY)}

    assert set(queries) == {
        "ki-prod/who read the secret",
        "ki-prod/denied reads",
        "ki-prod/changes to the secret and its key",
    }
    assert {tuple(q["logGroupNames"]) for q in queries.values()} == {("org-trail/management-events",)}


def test_names_and_queries_fit_what_cloudwatch_logs_accepts():
    """Names up to 255 characters, query strings up to 10,000:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-querydefinition.html"""
    queries = [q.inputs for q in of_type(build(), QUERY)]

    assert len(queries) == 3
    assert all(len(q["name"]) <= 255 and 0 < len(q["queryString"]) <= 10_000 for q in queries)


def test_the_queries_filter_with_the_audiences_own_expressions():
    audience = SecretAudience.of(CONTEXT, "ki/prod/api-key", [ROLE])
    queries = {q.inputs["name"].split("/", 1)[1]: q.inputs["queryString"] for q in of_type(build(), QUERY)}

    assert queries["who read the secret"] == AuditQueries.who_read(audience)
    assert f"| filter {audience.insights_read_filter()}\n" in queries["who read the secret"]
    assert "by userIdentity.sessionContext.sessionIssuer.arn, userIdentity.arn" in queries["who read the secret"]
    assert (
        f"| filter ({audience.insights_read_filter()}) and errorCode like /AccessDenied/\n" in queries["denied reads"]
    )
    changes = queries["changes to the secret and its key"]
    assert changes == AuditQueries.changes(audience, KEY)
    assert f'resources.0.ARN = "{KEY}"' in changes
    assert '"PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey"' in changes


def test_the_read_filter_names_the_secret_three_ways_in_its_region_only():
    audience = SecretAudience.of(CONTEXT, "ki/prod/api-key", [ROLE])

    assert audience.insights_read_filter() == (
        'eventSource = "secretsmanager.amazonaws.com" and eventName = "GetSecretValue" and '
        f'awsRegion = "{REGION}" and (requestParameters.secretId = "ki/prod/api-key" or '
        f'requestParameters.secretId = "{PARTIAL}" or requestParameters.secretId like '
        f"/^arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ki\\/prod\\/api-key-/)"
    )


def test_the_change_query_waits_for_the_keys_arn_at_a_first_preview():
    run = build(key_arn=pulumi.Output.from_input(UNKNOWN), first_preview=True)  # type: ignore[arg-type]

    queries = {q.inputs["name"]: q.inputs["queryString"] for q in of_type(run, QUERY)}

    assert queries["ki-prod/changes to the secret and its key"] is UNKNOWN
    assert isinstance(queries["ki-prod/who read the secret"], str)


@pytest.mark.parametrize(
    ("text", "literal"),
    [("a/b", "a\\/b"), ("x.y-1", "x\\.y-1"), ("p+q=r@s", "p\\+q=r@s")],
)
def test_secret_names_become_regex_literals(text, literal):
    from components.secret_audience import insights_regex_literal

    assert insights_regex_literal(text) == literal
