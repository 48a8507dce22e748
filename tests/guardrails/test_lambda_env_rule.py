"""The Config rule's Lambda, driven by events of the shapes AWS documents, against botocore's Stubber.

Event shapes: "Example Events for AWS Config Rules"
(https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config_develop-rules_example-events.html): a
change-triggered event (`configurationItem`, `messageType` ConfigurationItemChangeNotification), an oversized one
(`configurationItemSummary`) and a periodic one (ScheduledNotification); the item below is AWS's EC2 example with the
resource type, ids and configuration of a Lambda function. Stubber (not moto) because moto cannot throttle
PutEvaluations on demand, and the Stubber checks every call against botocore's service model.
"""

import json
import logging
import secrets
import string
import traceback
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from guardrails.lambda_env_rule import (
    COMPLIANT,
    COMPLIANT_ANNOTATION,
    MAX_ANNOTATION,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    LambdaEnvRule,
    RuleEventError,
    evaluate_variables,
)

ACCOUNT = "123456789012"
FUNCTION = "keyless-ingest-prod-ingest"
RULE_FUNCTION = "keyless-ingest-prod-env-rule"
CAPTURED = "2016-02-17T01:36:34.043Z"
CAPTURED_AT = datetime(2016, 2, 17, 1, 36, 34, 43000, tzinfo=UTC)
SAFE_ENVIRONMENT = {"SECRET_ID": "keyless-ingest/prod/weather-api-key", "LOG_LEVEL": "INFO", "TABLE_NAME": "readings"}


def planted_access_key() -> str:
    """An AWS access key id's shape, built at run time so that no credential-like literal is in the repository."""
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


def planted_token() -> str:
    return secrets.token_urlsafe(30)


def rule_event(invoking: dict[str, Any], *, left_scope: bool = False) -> dict[str, Any]:
    return {
        "invokingEvent": json.dumps(invoking),
        "ruleParameters": json.dumps({"functionNames": f"{FUNCTION},{RULE_FUNCTION}"}),
        "resultToken": "myResultToken",
        "eventLeftScope": left_scope,
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/config-role",
        "configRuleArn": f"arn:aws:config:us-east-2:{ACCOUNT}:config-rule/config-rule-0123456",
        "configRuleName": "keyless-ingest-prod-lambda-env-no-credentials",
        "configRuleId": "config-rule-0123456",
        "accountId": ACCOUNT,
        "version": "1.0",
    }


def change_event(
    configuration: dict[str, Any] | None,
    *,
    name: str = FUNCTION,
    status: str = "OK",
    resource_type: str = "AWS::Lambda::Function",
    left_scope: bool = False,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "configurationItemCaptureTime": CAPTURED,
        "awsAccountId": ACCOUNT,
        "configurationItemStatus": status,
        "resourceId": name,
        "resourceName": name,
        "ARN": f"arn:aws:lambda:us-east-2:{ACCOUNT}:function:{name}",
        "awsRegion": "us-east-2",
        "availabilityZone": "Not Applicable",
        "resourceType": resource_type,
        "tags": {},
        "relationships": [],
        "configuration": configuration,
    }
    return rule_event(
        {"configurationItem": item, "messageType": "ConfigurationItemChangeNotification"}, left_scope=left_scope
    )


def lambda_configuration(variables: dict[str, str]) -> dict[str, Any]:
    """What Config records for a function: GetFunctionConfiguration's fields in camelCase."""
    return {"functionName": FUNCTION, "runtime": "python3.12", "environment": {"variables": variables}}


def expected_evaluation(compliance: str, annotation: str, resource: str = FUNCTION, when: datetime = CAPTURED_AT):
    return {
        "ComplianceResourceType": "AWS::Lambda::Function",
        "ComplianceResourceId": resource,
        "ComplianceType": compliance,
        "Annotation": annotation,
        "OrderingTimestamp": when,
    }


class Stubs:
    def __init__(self) -> None:
        self.config = boto3.client(
            "config", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.lambda_ = boto3.client(
            "lambda", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.config_stub = Stubber(self.config)
        self.lambda_stub = Stubber(self.lambda_)
        self.sleeps: list[float] = []
        self.rule = LambdaEnvRule(self.config, self.lambda_, sleep=self.sleeps.append)

    def expect_put(self, *evaluations: dict[str, Any]) -> None:
        self.config_stub.add_response(
            "put_evaluations",
            {"FailedEvaluations": []},
            {"Evaluations": list(evaluations), "ResultToken": "myResultToken"},
        )


@pytest.fixture
def stubs():
    stubs = Stubs()
    with stubs.config_stub, stubs.lambda_stub:
        yield stubs
    stubs.config_stub.assert_no_pending_responses()
    stubs.lambda_stub.assert_no_pending_responses()


# The pure judgement ----------------------------------------------------------------------------------------------


def test_evaluate_variables_passes_names_and_settings():
    assert evaluate_variables(SAFE_ENVIRONMENT) == (COMPLIANT, COMPLIANT_ANNOTATION)
    assert evaluate_variables({}) == (COMPLIANT, COMPLIANT_ANNOTATION)
    assert evaluate_variables(None) == (COMPLIANT, COMPLIANT_ANNOTATION)


def test_evaluate_variables_names_the_variable_and_reason_never_the_value():
    key = planted_access_key()
    compliance, annotation = evaluate_variables({**SAFE_ENVIRONMENT, "AWS_SECRET_ACCESS_KEY": key})

    assert compliance == NON_COMPLIANT
    assert annotation == (
        "environment variable AWS_SECRET_ACCESS_KEY is an AWS credential variable; the execution role provides "
        "credentials"
    )
    assert key not in annotation


def test_evaluate_variables_counts_further_findings_and_stays_within_256_characters():
    # Trailing digits qualify the noun (API_KEY_2), and the name sorts before API_TOKEN, so it is the one named.
    long_name = "API_KEY_" + "9" * 300
    compliance, annotation = evaluate_variables({long_name: planted_token(), "API_TOKEN": planted_token()})

    assert compliance == NON_COMPLIANT
    assert len(annotation) == MAX_ANNOTATION
    assert annotation.endswith("... (+1 more)")
    assert annotation.startswith("environment variable API_KEY_999")


def test_evaluate_variables_agrees_with_the_pack_on_a_credential_by_format():
    # The pack's lambda-env-no-credentials reports a key by its format whatever the variable's name.
    compliance, annotation = evaluate_variables({"UPSTREAM": planted_access_key()})
    assert compliance == NON_COMPLIANT
    assert annotation == "environment variable UPSTREAM holds a value that looks like a credential (AWS Access Key)"


# Change-triggered evaluations ------------------------------------------------------------------------------------


def test_compliant_function_from_the_configuration_item(stubs):
    stubs.expect_put(expected_evaluation(COMPLIANT, COMPLIANT_ANNOTATION))

    evaluations = stubs.rule.handle(change_event(lambda_configuration(SAFE_ENVIRONMENT)))

    assert [(e.resource_id, e.compliance_type) for e in evaluations] == [(FUNCTION, COMPLIANT)]


def test_non_compliant_function_from_the_configuration_item(stubs):
    annotation = (
        "environment variable AWS_ACCESS_KEY_ID is an AWS credential variable; the execution role provides "
        "credentials (+1 more)"
    )
    stubs.expect_put(expected_evaluation(NON_COMPLIANT, annotation))

    stubs.rule.handle(
        change_event(
            lambda_configuration(
                {**SAFE_ENVIRONMENT, "AWS_ACCESS_KEY_ID": planted_access_key(), "UPSTREAM_TOKEN": planted_token()}
            )
        )
    )


def test_reads_the_function_when_the_item_does_not_carry_its_variables(stubs):
    stubs.lambda_stub.add_response(
        "get_function_configuration",
        {"FunctionName": FUNCTION, "Environment": {"Variables": {"API_KEY": planted_token()}}},
        {"FunctionName": FUNCTION},
    )
    _, annotation = evaluate_variables({"API_KEY": planted_token()})
    stubs.expect_put(expected_evaluation(NON_COMPLIANT, annotation))

    stubs.rule.handle(change_event({"functionName": FUNCTION, "runtime": "python3.12"}))


def test_oversized_item_reads_the_function(stubs):
    stubs.lambda_stub.add_response(
        "get_function_configuration",
        {"FunctionName": FUNCTION, "Environment": {"Variables": SAFE_ENVIRONMENT}},
        {"FunctionName": FUNCTION},
    )
    stubs.expect_put(expected_evaluation(COMPLIANT, COMPLIANT_ANNOTATION))
    summary = {
        "changeType": "UPDATE",
        "configurationItemVersion": "1.2",
        "configurationItemCaptureTime": CAPTURED,
        "configurationStateId": 0,
        "awsAccountId": ACCOUNT,
        "configurationItemStatus": "OK",
        "resourceType": "AWS::Lambda::Function",
        "resourceId": FUNCTION,
        "resourceName": FUNCTION,
        "ARN": f"arn:aws:lambda:us-east-2:{ACCOUNT}:function:{FUNCTION}",
        "awsRegion": "us-east-2",
        "availabilityZone": "Not Applicable",
        "configurationStateMd5Hash": "8f1ee69b287895a0f8bc5753eca68e96",
        "resourceCreationTime": "2016-10-06T16:46:10.489Z",
    }
    invoking = {
        "configurationItemSummary": summary,
        "messageType": "OversizedConfigurationItemChangeNotification",
        "notificationCreationTime": "2016-10-06T16:46:16.261Z",
        "recordVersion": "1.0",
    }

    stubs.rule.handle(rule_event(invoking))


@pytest.mark.parametrize("status", ["ResourceDeleted", "ResourceDeletedNotRecorded"])
def test_deleted_function_is_not_applicable(stubs, status):
    stubs.expect_put(expected_evaluation(NOT_APPLICABLE, "The function was deleted or left the rule's scope."))

    stubs.rule.handle(change_event(None, status=status))


def test_function_that_left_the_scope_is_not_applicable(stubs):
    stubs.expect_put(expected_evaluation(NOT_APPLICABLE, "The function was deleted or left the rule's scope."))
    stubs.rule.handle(change_event(lambda_configuration(SAFE_ENVIRONMENT), left_scope=True))


def test_function_of_another_stack_is_not_applicable_and_never_read(stubs):
    stubs.expect_put(
        expected_evaluation(NOT_APPLICABLE, "Not a function of this stack (functionNames).", resource="someone-else")
    )
    # No lambda stub response queued: a read would fail the test.
    stubs.rule.handle(change_event({"functionName": "someone-else"}, name="someone-else"))


def test_function_gone_before_it_was_read_is_not_applicable(stubs):
    stubs.lambda_stub.add_client_error("get_function_configuration", "ResourceNotFoundException", http_status_code=404)
    stubs.expect_put(expected_evaluation(NOT_APPLICABLE, "The function no longer exists."))
    stubs.rule.handle(change_event({"functionName": FUNCTION}))


# Periodic evaluations --------------------------------------------------------------------------------------------


def test_periodic_run_reads_every_watched_function(stubs):
    when = datetime(2016, 10, 6, 16, 46, 16, 261000, tzinfo=UTC)
    # Names in sorted order: keyless-ingest-prod-env-rule, then keyless-ingest-prod-ingest.
    stubs.lambda_stub.add_response(
        "get_function_configuration", {"FunctionName": RULE_FUNCTION}, {"FunctionName": RULE_FUNCTION}
    )
    stubs.lambda_stub.add_response(
        "get_function_configuration",
        {"FunctionName": FUNCTION, "Environment": {"Variables": {"API_KEY": planted_token()}}},
        {"FunctionName": FUNCTION},
    )
    stubs.expect_put(
        expected_evaluation(COMPLIANT, COMPLIANT_ANNOTATION, resource=RULE_FUNCTION, when=when),
        expected_evaluation(NON_COMPLIANT, evaluate_variables({"API_KEY": planted_token()})[1], when=when),
    )
    invoking = {
        "awsAccountId": ACCOUNT,
        "notificationCreationTime": "2016-10-06T16:46:16.261Z",
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    }

    stubs.rule.handle(rule_event(invoking))


# Throttling and failures -----------------------------------------------------------------------------------------


def test_throttled_put_evaluations_is_retried_with_backoff(stubs):
    for _ in range(2):
        stubs.config_stub.add_client_error("put_evaluations", "ThrottlingException", "Rate exceeded", 400)
    stubs.expect_put(expected_evaluation(COMPLIANT, COMPLIANT_ANNOTATION))

    stubs.rule.handle(change_event(lambda_configuration(SAFE_ENVIRONMENT)))

    assert stubs.sleeps == [0.2, 0.4]


def test_throttling_that_never_ends_gives_up_after_five_attempts(stubs):
    for _ in range(5):
        stubs.config_stub.add_client_error("put_evaluations", "ThrottlingException", "Rate exceeded", 400)

    with pytest.raises(ClientError, match="ThrottlingException"):
        stubs.rule.handle(change_event(lambda_configuration(SAFE_ENVIRONMENT)))
    assert len(stubs.sleeps) == 4


def test_other_errors_are_not_retried(stubs):
    stubs.config_stub.add_client_error("put_evaluations", "InvalidResultTokenException", "bad token", 400)
    with pytest.raises(ClientError, match="InvalidResultTokenException"):
        stubs.rule.handle(change_event(lambda_configuration(SAFE_ENVIRONMENT)))
    assert stubs.sleeps == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"resultToken": "t"}, "invokingEvent is not a JSON string"),
        ({"invokingEvent": "{not json", "resultToken": "t"}, "invokingEvent is not valid JSON"),
        (
            {
                "invokingEvent": json.dumps({"messageType": "Other"}),
                "ruleParameters": '{"functionNames": "f"}',
                "resultToken": "t",
            },
            "unsupported messageType 'Other'",
        ),
        ({"invokingEvent": "{}", "ruleParameters": "{}", "resultToken": "t"}, "ruleParameters has no functionNames"),
        ({"invokingEvent": "{}", "ruleParameters": '{"functionNames": "f"}'}, "the event has no resultToken"),
    ],
)
def test_malformed_events_get_a_one_line_error_naming_the_field(event, message):
    rule = LambdaEnvRule(None, None)
    with pytest.raises(RuleEventError, match=message):
        rule.handle(event)


# The planted credential ------------------------------------------------------------------------------------------


def test_a_planted_credential_never_reaches_an_evaluation_a_log_line_or_an_exception(caplog, capsys):
    key, token = planted_access_key(), planted_token()
    variables = {"AWS_SECRET_ACCESS_KEY": key, "API_KEY": token, "DB_CONFIG": json.dumps({"password": token})}
    sent: list[dict[str, Any]] = []
    stubs = Stubs()
    stubs.config.meta.events.register(
        "provide-client-params.config.PutEvaluations", lambda params, **_: sent.append(params)
    )
    caplog.set_level(logging.DEBUG)
    failures: list[str] = []
    with stubs.config_stub, stubs.lambda_stub:
        # GIVEN the credential in the configuration item, then only in the function's configuration (read from
        # Lambda), then on a path that fails after judging it.
        stubs.expect_put(expected_evaluation(NON_COMPLIANT, evaluate_variables(variables)[1]))
        stubs.rule.handle(change_event(lambda_configuration(variables)))
        stubs.lambda_stub.add_response(
            "get_function_configuration", {"Environment": {"Variables": variables}}, {"FunctionName": FUNCTION}
        )
        stubs.expect_put(expected_evaluation(NON_COMPLIANT, evaluate_variables(variables)[1]))
        stubs.rule.handle(change_event({"functionName": FUNCTION}))
        stubs.config_stub.add_client_error("put_evaluations", "InternalFailure", "boom", 500)
        try:
            stubs.rule.handle(change_event(lambda_configuration(variables)))
        except ClientError:
            failures.append(traceback.format_exc())
        # A configuration item cut mid-value (invalid JSON) must not echo the document in the error.
        broken = change_event(lambda_configuration(variables))
        broken["invokingEvent"] = broken["invokingEvent"][: broken["invokingEvent"].index(key) + 10]
        try:
            stubs.rule.handle(broken)
        except RuleEventError:
            failures.append(traceback.format_exc())

    output = capsys.readouterr()
    everything = json.dumps(sent, default=str) + caplog.text + output.out + output.err + "".join(failures)
    assert len(sent) == 3
    assert len(failures) == 2
    assert "NON_COMPLIANT" in json.dumps(sent, default=str)
    for planted in (key, token, key[4:12], token[:12]):
        assert planted not in everything
