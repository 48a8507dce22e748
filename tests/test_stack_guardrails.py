"""The stack's guardrails in its three modes (keyless-ingest:configRules), under the preview mocks and through the
policy pack: off (dev's default) creates nothing, existing-recorder (prod's) adds rules only, create-recorder also the
recorder. Each mode's plan passes keyless-guard with no mandatory violation, first preview and later previews."""

import json
from functools import cache
from pathlib import Path

import pytest

from bundle_builder.builder import build_rule_bundle
from mock_engine.program_run import ProgramRun
from offline_preview.analyzer_client import PolicyReport, analyze
from offline_preview.cli import PreviewError, run_program
from tests.stack_inspection import ACCOUNT, REGION, document, of_type, only, statements

ROOT = Path(__file__).resolve().parent
ROOT = ROOT.parent
RULE = "aws:cfg/rule:Rule"
RECORDER_TYPES = (
    "aws:cfg/recorder:Recorder",
    "aws:cfg/deliveryChannel:DeliveryChannel",
    "aws:cfg/recorderStatus:RecorderStatus",
)
MODES = {
    "dev-off": ("dev", None),
    "prod-existing-recorder": ("prod", None),
    "prod-create-recorder": ("prod", "create-recorder"),
    "dev-existing-recorder": ("dev", "existing-recorder"),
    "prod-off": ("prod", "off"),
}


@cache
def plan(variant: str, first_preview: bool = True) -> ProgramRun:
    stack, mode = MODES[variant]
    overrides = {"keyless-ingest:configRules": mode} if mode else {}
    return run_program(ROOT, stack, first_preview=first_preview, config_overrides=overrides)


@cache
def pack_report(variant: str, first_preview: bool) -> PolicyReport:
    run = plan(variant, first_preview)
    return analyze(
        run.resources,
        pack_dir=ROOT / "policies",
        policy_config=json.loads((ROOT / run.config["keyless-ingest:policyConfig"]).read_text()),
        project=run.project,
        stack=run.stack,
        stack_config=run.config,
        base_dir=ROOT,
    )


def rule_names(run: ProgramRun) -> set[str]:
    return {r.inputs["name"] for r in of_type(run, RULE)}


@pytest.mark.parametrize("variant", ["dev-off", "prod-off"])
def test_off_creates_no_config_resource_and_leaves_the_topic_to_the_alarms(variant):
    run = plan(variant)

    assert [r for r in run.resources if r.type.startswith("aws:cfg/")] == []
    assert [r.name for r in of_type(run, "aws:lambda/function:Function")] == ["ingest-function"]
    topic_policy = statements(document(only(run, "aws:sns/topicPolicy:TopicPolicy")))
    assert "EventRulesOfThisStackPublish" not in topic_policy


def test_prod_adds_the_rules_to_the_accounts_recorder_and_creates_none():
    run = plan("prod-existing-recorder")

    assert rule_names(run) == {
        f"keyless-ingest-prod-{suffix}"
        for suffix in (
            "lambda-env-no-credentials",
            "secret-cmk",
            "lambda-not-public",
            "lambda-in-vpc",
            "iam-no-admin-statements",
            "iam-no-admin-attached",
            "kms-rotation",
            "log-retention",
            "access-keys-rotated",
            "root-no-access-key",
        )
    }
    for recorder_type in RECORDER_TYPES:
        assert of_type(run, recorder_type) == []


def test_create_recorder_adds_the_recorder_and_every_rule_waits_for_it():
    run = plan("prod-create-recorder")
    status = only(run, "aws:cfg/recorderStatus:RecorderStatus")

    assert only(run, "aws:cfg/recorder:Recorder").inputs["name"] == "keyless-ingest-prod-recorder"
    assert (
        only(run, "aws:cfg/deliveryChannel:DeliveryChannel").inputs["s3BucketName"]
        == f"keyless-ingest-prod-config-{ACCOUNT}"
    )
    assert all(status.urn in rule.dependencies for rule in of_type(run, RULE)), "a rule does not wait for the recorder"
    assert rule_names(run) == rule_names(plan("prod-existing-recorder"))


def test_rules_carry_each_stacks_own_retention_log_groups_and_scope():
    prod = {r.inputs["name"]: r.inputs for r in of_type(plan("prod-existing-recorder"), RULE)}
    dev = {r.inputs["name"]: r.inputs for r in of_type(plan("dev-existing-recorder"), RULE)}

    assert json.loads(prod["keyless-ingest-prod-log-retention"]["inputParameters"]) == {
        "LogGroupNames": ",".join(
            sorted(
                [
                    "/aws/lambda/keyless-ingest-prod-ingest",
                    "/aws/cloudtrail/keyless-ingest-prod",
                    "/aws/lambda/keyless-ingest-prod-env-rule",
                ]
            )
        ),
        "MinRetentionTime": "90",
    }
    assert json.loads(dev["keyless-ingest-dev-log-retention"]["inputParameters"])["MinRetentionTime"] == "7"
    # Both stacks' resources carry their own stack tag (aws:defaultTags; dev sets it since issue 16's deploy grants
    # need it), so each stack's rules judge only that stack's resources.
    assert prod["keyless-ingest-prod-secret-cmk"]["scope"] == {"tagKey": "keyless-ingest-stack", "tagValue": "prod"}
    assert dev["keyless-ingest-dev-secret-cmk"]["scope"] == {"tagKey": "keyless-ingest-stack", "tagValue": "dev"}
    assert prod["keyless-ingest-prod-lambda-in-vpc"]["scope"]["complianceResourceId"] == "keyless-ingest-prod-ingest"


def test_the_rule_function_ships_the_rule_bundle_and_writes_to_an_encrypted_log_group():
    run = plan("prod-existing-recorder")
    function = only(run, "aws:lambda/function:Function", "guardrails-rule-function")
    logs_key = statements(document(only(run, "aws:kms/key:Key", "logs-key-key")))

    assert function.inputs["sourceCodeHash"] == build_rule_bundle(ROOT).sha256_base64
    groups = logs_key["CloudWatchLogsForTheseGroupsOnly"]["Condition"]["ArnEquals"][
        "kms:EncryptionContext:aws:logs:arn"
    ]
    assert f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/keyless-ingest-prod-env-rule" in groups


def test_non_compliant_results_reach_the_stacks_alarm_topic_which_admits_only_that_event_rule():
    run = plan("prod-existing-recorder")
    target = only(run, "aws:cloudwatch/eventTarget:EventTarget").inputs
    topic_policy = statements(document(only(run, "aws:sns/topicPolicy:TopicPolicy")))
    topic_key = statements(document(only(run, "aws:kms/key:Key", "secret-access-topic-key")))
    event_rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/keyless-ingest-prod-config-noncompliant"

    assert target["arn"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:keyless-ingest-prod-secret-alarms"
    assert topic_policy["EventRulesOfThisStackPublish"]["Condition"] == {"ArnEquals": {"aws:SourceArn": event_rule}}
    assert topic_policy["EventRulesOfThisStackPublish"]["Principal"] == {"Service": "events.amazonaws.com"}
    assert topic_key["EventBridgeEncryptNotifications"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_a_bad_mode_fails_naming_the_key():
    with pytest.raises(
        PreviewError,
        match="keyless-ingest:configRules: must be one of off, existing-recorder, create-recorder, got 'on'",
    ):
        run_program(ROOT, "dev", config_overrides={"keyless-ingest:configRules": "on"})


@pytest.mark.parametrize("first_preview", [True, False], ids=["first-preview", "preview"])
@pytest.mark.parametrize(
    "variant", ["dev-off", "prod-existing-recorder", "prod-create-recorder", "dev-existing-recorder"]
)
def test_the_pack_passes_every_mode_with_no_mandatory_violation(variant, first_preview):
    report = pack_report(variant, first_preview)

    assert [f"[{v.policy}] {v.message}" for v in report.mandatory] == []
    assert report.not_run_for_unknowns == 0
