import pytest

from components.aws_context import AwsContext
from components.log_encryption_key import LOGS_KEY_ACTIONS, LogEncryptionKey
from offline_preview.cli import PreviewError
from tests.stack_inspection import ACCOUNT, REGION, document, only, resolved, run_components, statements

CONTEXT = AwsContext("aws", REGION, ACCOUNT)


def test_only_cloudwatch_logs_of_this_region_may_use_the_key_and_only_for_the_named_groups():
    components = []
    run = run_components(
        lambda: components.append(
            LogEncryptionKey(
                "logs-key",
                {
                    "context": CONTEXT,
                    "log_group_names": ["/aws/lambda/fn", "/aws/cloudtrail/ki"],
                    "key_alias": "alias/ki-logs",
                },
            )
        ),
        first_preview=True,
    )
    key = only(run, "aws:kms/key:Key")

    policy = statements(document(key))

    assert key.inputs["enableKeyRotation"] is True
    assert only(run, "aws:kms/alias:Alias").inputs["name"] == "alias/ki-logs"
    assert resolved(components[0].alias_arn) == f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/ki-logs"
    assert policy == {
        "EnableIamPolicies": {
            "Sid": "EnableIamPolicies",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["kms:*"],
            "Resource": ["*"],
        },
        "CloudWatchLogsForTheseGroupsOnly": {
            "Sid": "CloudWatchLogsForTheseGroupsOnly",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
            "Action": list(LOGS_KEY_ACTIONS),
            "Resource": ["*"],
            "Condition": {
                "ArnEquals": {
                    "kms:EncryptionContext:aws:logs:arn": [
                        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/fn",
                        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/cloudtrail/ki",
                    ]
                }
            },
        },
    }
    assert not any(action.endswith("*") for action in LOGS_KEY_ACTIONS)


def test_a_key_for_no_log_group_is_refused():
    with pytest.raises(PreviewError, match="log_group_names must name at least one log group"):
        run_components(
            lambda: LogEncryptionKey("k", {"context": CONTEXT, "log_group_names": [], "key_alias": "alias/k"})
        )
