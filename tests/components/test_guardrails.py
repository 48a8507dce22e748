"""Guardrails: the AWS Config rules that mirror keyless-guard, the custom env rule on its own function, the
NON_COMPLIANT notification, and the recorder in create-recorder mode."""

import json
from typing import Any

import boto3
import pulumi
import pytest

from components.aws_context import AwsContext
from components.guardrails import (
    MODES,
    RECORDED_TYPES,
    Guardrails,
    GuardrailsArgs,
    compliance_event_pattern,
    compliance_event_rule_arn,
    require_mode,
)
from tests.fake_aws import start_moto_server, take_down, use_fake_aws
from tests.stack_inspection import ACCOUNT, REGION, build_error, document, of_type, only, run_components, statements

CONTEXT = AwsContext("aws", REGION, ACCOUNT)
RULE = "aws:cfg/rule:Rule"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:ki-prod-secret-alarms"


def args(**overrides: Any) -> GuardrailsArgs:
    base: GuardrailsArgs = {
        "context": CONTEXT,
        "mode": "existing-recorder",
        "name_prefix": "ki-prod",
        "rule_code": pulumi.AssetArchive({}),
        "watched_function_names": ["ki-prod-ingest"],
        "vpc_function_name": "ki-prod-ingest",
        "log_group_names": ["/aws/lambda/ki-prod-ingest"],
        "log_retention_days": 90,
        "alarm_topic_arn": TOPIC,
    }
    base.update(overrides)  # type: ignore[typeddict-item]
    return base


def build(**overrides: Any):
    return run_components(lambda: Guardrails("guardrails", args(**overrides)))


def rules(run) -> dict[str, Any]:
    return {r.inputs["name"]: r.inputs for r in of_type(run, RULE)}


def test_existing_recorder_adds_the_managed_rules_and_the_custom_rule_only():
    run = build()

    # Identifiers from AWS's managed-rules list (each rule's page in the AWS Config developer guide).
    assert {
        name: rule["source"].get("sourceIdentifier")
        for name, rule in rules(run).items()
        if rule["source"]["owner"] == "AWS"
    } == {
        "ki-prod-secret-cmk": "SECRETSMANAGER_USING_CMK",
        "ki-prod-lambda-not-public": "LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED",
        "ki-prod-lambda-in-vpc": "LAMBDA_INSIDE_VPC",
        "ki-prod-iam-no-admin-statements": "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
        "ki-prod-iam-no-admin-attached": "IAM_POLICY_BLACKLISTED_CHECK",
        "ki-prod-kms-rotation": "CMK_BACKING_KEY_ROTATION_ENABLED",
        "ki-prod-log-retention": "CW_LOGGROUP_RETENTION_PERIOD_CHECK",
        "ki-prod-access-keys-rotated": "ACCESS_KEYS_ROTATED",
        "ki-prod-root-no-access-key": "IAM_ROOT_ACCESS_KEY_CHECK",
    }
    assert rules(run)["ki-prod-lambda-env-no-credentials"]["source"]["owner"] == "CUSTOM_LAMBDA"
    for recorder_type in (
        "aws:cfg/recorder:Recorder",
        "aws:cfg/deliveryChannel:DeliveryChannel",
        "aws:s3/bucket:Bucket",
    ):
        assert of_type(run, recorder_type) == []


def test_parameters_carry_the_stacks_retention_and_log_groups():
    found = rules(build())

    assert json.loads(found["ki-prod-log-retention"]["inputParameters"]) == {
        "LogGroupNames": "/aws/lambda/ki-prod-env-rule,/aws/lambda/ki-prod-ingest",
        "MinRetentionTime": "90",
    }
    assert json.loads(found["ki-prod-access-keys-rotated"]["inputParameters"]) == {"maxAccessKeyAge": "90"}
    assert json.loads(found["ki-prod-iam-no-admin-attached"]["inputParameters"]) == {
        "policyArns": "arn:aws:iam::aws:policy/AdministratorAccess"
    }
    periodic = {name for name, rule in found.items() if rule.get("maximumExecutionFrequency") == "TwentyFour_Hours"}
    assert periodic == {
        "ki-prod-kms-rotation",
        "ki-prod-log-retention",
        "ki-prod-access-keys-rotated",
        "ki-prod-root-no-access-key",
    }


def test_rules_are_scoped_to_the_stacks_resources_where_config_allows():
    found = rules(build(scope_tag_key="keyless-ingest-stack", scope_tag_value="prod", watched_role_id="AROAEXAMPLEID"))

    assert found["ki-prod-lambda-in-vpc"]["scope"] == {
        "complianceResourceTypes": ["AWS::Lambda::Function"],
        "complianceResourceId": "ki-prod-ingest",
    }
    assert found["ki-prod-iam-no-admin-attached"]["scope"] == {
        "complianceResourceTypes": ["AWS::IAM::Role"],
        "complianceResourceId": "AROAEXAMPLEID",
    }
    assert found["ki-prod-secret-cmk"]["scope"] == {"tagKey": "keyless-ingest-stack", "tagValue": "prod"}
    assert found["ki-prod-iam-no-admin-statements"]["scope"] == {"complianceResourceTypes": ["AWS::IAM::Policy"]}
    assert "scope" not in found["ki-prod-kms-rotation"] or not found["ki-prod-kms-rotation"]["scope"]
    # Without the tag, the resource type is the scope.
    assert rules(build())["ki-prod-secret-cmk"]["scope"] == {"complianceResourceTypes": ["AWS::SecretsManager::Secret"]}


def test_the_custom_rule_runs_on_changes_oversized_changes_and_daily():
    rule = rules(build())["ki-prod-lambda-env-no-credentials"]

    assert rule["source"]["sourceIdentifier"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ki-prod-env-rule"
    assert [(d["messageType"], d.get("maximumExecutionFrequency")) for d in rule["source"]["sourceDetails"]] == [
        ("ConfigurationItemChangeNotification", None),
        ("OversizedConfigurationItemChangeNotification", None),
        ("ScheduledNotification", "TwentyFour_Hours"),
    ]
    assert json.loads(rule["inputParameters"]) == {"functionNames": "ki-prod-env-rule,ki-prod-ingest"}
    assert rule["scope"] == {"complianceResourceTypes": ["AWS::Lambda::Function"]}


def test_the_rule_function_has_its_own_least_privilege_role_and_log_group():
    run = build()
    policy = statements(document(only(run, "aws:iam/rolePolicy:RolePolicy", "guardrails-rule-policy")))
    function = only(run, "aws:lambda/function:Function").inputs
    logs = only(run, "aws:cloudwatch/logGroup:LogGroup").inputs
    permission = only(run, "aws:lambda/permission:Permission").inputs

    assert {sid: (s["Action"], s["Resource"]) for sid, s in policy.items()} == {
        "WriteOwnLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/ki-prod-env-rule:*"],
        ),
        "ReadWatchedFunctions": (
            ["lambda:GetFunctionConfiguration"],
            [
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ki-prod-env-rule",
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ki-prod-ingest",
            ],
        ),
        "ReportEvaluations": (["config:PutEvaluations"], ["*"]),
    }
    assert function["handler"] == "lambda_env_rule.lambda_handler"
    assert function["loggingConfig"]["logGroup"] == logs["name"] == "/aws/lambda/ki-prod-env-rule"
    assert logs["retentionInDays"] == 90
    assert "environment" not in function or not function["environment"]
    assert (permission["principal"], permission["sourceAccount"]) == ("config.amazonaws.com", ACCOUNT)


def test_non_compliant_results_reach_the_alarm_topic():
    run = build()
    event_rule = only(run, "aws:cloudwatch/eventRule:EventRule").inputs
    target = only(run, "aws:cloudwatch/eventTarget:EventTarget").inputs

    assert event_rule["name"] == "ki-prod-config-noncompliant"
    assert compliance_event_rule_arn(CONTEXT, "ki-prod").endswith(":rule/ki-prod-config-noncompliant")
    assert target["arn"] == TOPIC
    pattern = json.loads(event_rule["eventPattern"])
    assert pattern["detail-type"] == ["Config Rules Compliance Change"]
    assert set(pattern["detail"]["configRuleName"]) == set(rules(run))


def test_create_recorder_records_only_the_rules_types_into_a_private_encrypted_expiring_bucket():
    run = build(mode="create-recorder")
    recorder = only(run, "aws:cfg/recorder:Recorder").inputs
    channel = only(run, "aws:cfg/deliveryChannel:DeliveryChannel").inputs
    status = only(run, "aws:cfg/recorderStatus:RecorderStatus").inputs
    encryption = only(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    lifecycle = only(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs
    public = only(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    bucket_policy = statements(document(only(run, "aws:s3/bucketPolicy:BucketPolicy")))

    assert recorder["recordingGroup"] == {
        "allSupported": False,
        "includeGlobalResourceTypes": False,
        "resourceTypes": list(RECORDED_TYPES),
    }
    assert channel["s3BucketName"] == f"ki-prod-config-{ACCOUNT}"
    assert (status["name"], status["isEnabled"]) == ("ki-prod-recorder", True)
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert lifecycle["rules"][0]["expiration"]["days"] == 365
    assert all(
        public[flag] for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    assert bucket_policy["ConfigDelivers"]["Resource"] == [
        f"arn:aws:s3:::ki-prod-config-{ACCOUNT}/AWSLogs/{ACCOUNT}/Config/*"
    ]
    assert bucket_policy["DenyInsecureTransport"]["Effect"] == "Deny"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"mode": "on"},
            "Guardrails guardrails: mode: must be one of off, existing-recorder, create-recorder, got 'on'",
        ),
        ({"mode": "off"}, "mode off means no Guardrails"),
        ({"log_retention_days": 10}, "log_retention_days"),
    ],
)
def test_bad_arguments_get_a_clear_error(overrides, message):
    error = build_error(lambda: Guardrails("guardrails", args(**overrides)))
    assert isinstance(error, ValueError)
    assert message in str(error)


def test_modes():
    assert MODES == ("off", "existing-recorder", "create-recorder")
    assert require_mode("create-recorder", setting="x") == "create-recorder"
    with pytest.raises(ValueError, match="x: must be one of"):
        require_mode("Create-Recorder", setting="x")


def documented_compliance_event(rule_name: str, compliance: str) -> dict[str, Any]:
    """EventBridge's envelope around the compliance-change message of AWS's example: the message
    (https://docs.aws.amazon.com/config/latest/developerguide/example-config-rule-compliance-notification.html) is the
    `detail` of the "Config Rules Compliance Change" event Config sends to EventBridge
    (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-config.html), with this stack's rule and resource."""
    qualifier = {"configRuleName": rule_name, "resourceType": "AWS::Lambda::Function", "resourceId": "ki-prod-ingest"}
    return {
        "version": "0",
        "id": "11fd05dd-47e1-5523-bc01-55b988bb9478",
        "detail-type": "Config Rules Compliance Change",
        "source": "aws.config",
        "account": "123456789012",
        "time": "2016-09-27T19:48:41Z",
        "region": "us-east-2",
        "resources": [],
        "detail": {
            "resourceId": "ki-prod-ingest",
            "awsRegion": "us-east-2",
            "awsAccountId": "123456789012",
            "configRuleName": rule_name,
            "recordVersion": "1.0",
            "configRuleARN": "arn:aws:config:us-east-2:123456789012:config-rule/config-rule-9rpvxc",
            "messageType": "ComplianceChangeNotification",
            "newEvaluationResult": {
                "evaluationResultIdentifier": {
                    "evaluationResultQualifier": qualifier,
                    "orderingTimestamp": "2016-09-27T19:48:40.619Z",
                },
                "complianceType": compliance,
                "resultRecordedTime": "2016-09-27T19:48:41.405Z",
                "configRuleInvokedTime": "2016-09-27T19:48:40.914Z",
                "annotation": None,
                "resultToken": None,
            },
            "oldEvaluationResult": {
                "evaluationResultIdentifier": {
                    "evaluationResultQualifier": qualifier,
                    "orderingTimestamp": "2016-09-27T16:30:49.531Z",
                },
                "complianceType": "COMPLIANT" if compliance == "NON_COMPLIANT" else "NON_COMPLIANT",
                "resultRecordedTime": "2016-09-27T16:30:50.717Z",
                "configRuleInvokedTime": "2016-09-27T16:30:50.105Z",
                "annotation": None,
                "resultToken": None,
            },
            "notificationCreationTime": "2016-09-27T19:48:41.405Z",
        },
    }


@pytest.fixture(scope="module")
def moto_endpoint():
    with pytest.MonkeyPatch.context() as patch:
        server, endpoint = start_moto_server()
        fake: dict[str, str] = {}
        use_fake_aws(fake, endpoint)
        for name, value in fake.items():
            patch.setenv(name, value)
        yield endpoint
        take_down(server)


@pytest.mark.parametrize(
    ("rule_name", "compliance", "delivered"),
    [
        ("ki-prod-lambda-env-no-credentials", "NON_COMPLIANT", True),
        ("ki-prod-kms-rotation", "NON_COMPLIANT", True),
        ("ki-prod-lambda-env-no-credentials", "COMPLIANT", False),
        ("someone-elses-rule", "NON_COMPLIANT", False),
    ],
)
def test_a_documented_event_is_forwarded_only_for_our_rules_turning_non_compliant(
    moto_endpoint, rule_name, compliance, delivered
):
    """Moto's EventBridge matches a rule's pattern on PutEvents and delivers to the target (an SQS queue here, as a
    stand-in for the topic); its TestEventPattern answers nothing in server mode, so delivery is what is observed."""
    events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
    queue = f"guardrails-{rule_name}-{compliance}".lower()
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=queue,
        EventPattern=compliance_event_pattern(["ki-prod-lambda-env-no-credentials", "ki-prod-kms-rotation"]),
    )
    events.put_targets(Rule=queue, Targets=[{"Id": "queue", "Arn": queue_arn}])
    event = documented_compliance_event(rule_name, compliance)

    events.put_events(
        Entries=[{"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"])}]
    )

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    assert len(messages) == (1 if delivered else 0)
    if delivered:
        assert json.loads(messages[0]["Body"])["detail"]["configRuleName"] == rule_name
