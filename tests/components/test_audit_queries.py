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
# The secret by name, by partial ARN and by full ARN (a hyphen and six random characters after the name), in its region.
SECRET_IN_REGION = (
    f'awsRegion = "{REGION}" and (requestParameters.secretId = "ki/prod/api-key" or '
    f'requestParameters.secretId = "{PARTIAL}" or requestParameters.secretId like '
    f"/^arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ki\\/prod\\/api-key-/)"
)
READ_FILTER = f'eventSource = "secretsmanager.amazonaws.com" and eventName = "GetSecretValue" and {SECRET_IN_REGION}'


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


def test_the_queries_are_the_logs_insights_queries_written_out_here():
    """Written out by hand from the CloudTrail record fields (userIdentity.sessionContext.sessionIssuer.arn,
    requestParameters.secretId, resources.0.ARN for KMS) and the query syntax
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html), not from the component."""
    queries = {q.inputs["name"].split("/", 1)[1]: q.inputs["queryString"] for q in of_type(build(), QUERY)}

    assert queries == {
        "who read the secret": (
            "fields @timestamp, userIdentity.arn, userIdentity.accountId, sourceIPAddress, vpcEndpointId, errorCode\n"
            f"| filter {READ_FILTER}\n"
            "| stats count(*) as attempts, min(@timestamp) as first_seen, max(@timestamp) as last_seen "
            "by userIdentity.sessionContext.sessionIssuer.arn, userIdentity.arn, userIdentity.accountId, errorCode\n"
            "| sort attempts desc"
        ),
        "denied reads": (
            "fields @timestamp, userIdentity.arn, userIdentity.accountId, sourceIPAddress, vpcEndpointId, errorCode, "
            "errorMessage\n"
            f"| filter ({READ_FILTER}) and errorCode like /AccessDenied/\n"
            "| sort @timestamp desc"
        ),
        "changes to the secret and its key": (
            "fields @timestamp, eventSource, eventName, userIdentity.arn, sourceIPAddress, vpcEndpointId\n"
            '| filter (eventSource = "secretsmanager.amazonaws.com" and eventName in ["PutSecretValue", '
            '"UpdateSecret", "RotateSecret", "PutResourcePolicy", "DeleteResourcePolicy", "DeleteSecret", '
            f'"RestoreSecret", "UpdateSecretVersionStage", "TagResource"] and {SECRET_IN_REGION}) or '
            '(eventSource = "kms.amazonaws.com" and eventName in ["PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey"] '
            f'and resources.0.ARN = "{KEY}")\n'
            "| sort @timestamp desc"
        ),
    }


def test_the_read_filter_names_the_secret_three_ways_in_its_region_only():
    audience = SecretAudience.of(CONTEXT, "ki/prod/api-key", [ROLE])

    assert audience.insights_read_filter() == READ_FILTER


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
