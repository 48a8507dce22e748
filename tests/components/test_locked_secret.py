import re

import pulumi
import pulumi_aws as aws
import pytest

from components.aws_context import AwsContext
from components.locked_secret import LockedSecret, LockedSecretArgs
from tests.stack_inspection import ACCOUNT, REGION, build_error, document, of_type, only, run_components, statements

CONTEXT = AwsContext("aws", REGION, ACCOUNT)
READER = f"arn:aws:iam::{ACCOUNT}:role/reader"
PATTERN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:team/api-key-??????"


def secret_args(**overrides) -> LockedSecretArgs:
    args: LockedSecretArgs = {
        "context": CONTEXT,
        "secret_name": "team/api-key",
        "description": "test",
        "reader_role_arns": [READER],
        "key_alias": "alias/team-api-key",
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


@pytest.fixture(scope="module")
def run():
    return run_components(lambda: LockedSecret("api-key", secret_args()), first_preview=True)


def test_the_secret_has_no_value_and_uses_the_customer_managed_key_through_its_alias(run):
    secret = only(run, "aws:secretsmanager/secret:Secret")

    assert secret.inputs["name"] == "team/api-key"
    assert secret.inputs["kmsKeyId"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/team-api-key"
    assert secret.inputs["recoveryWindowInDays"] == 30
    assert of_type(run, "aws:secretsmanager/secretVersion:SecretVersion") == []
    assert "secretString" not in secret.inputs
    alias = only(run, "aws:kms/alias:Alias")
    assert alias.urn in secret.dependencies


def test_the_key_rotates_and_lets_readers_decrypt_only_through_secrets_manager_for_this_secret(run):
    key = only(run, "aws:kms/key:Key")
    policy = statements(document(key))

    assert key.inputs["enableKeyRotation"] is True
    assert set(policy) == {"EnableIamPolicies", "DecryptThroughSecretsManagerForThisSecret"}
    decrypt = policy["DecryptThroughSecretsManagerForThisSecret"]
    assert decrypt["Principal"] == {"AWS": READER}
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:SecretARN": PATTERN},
    }
    # AWS's default statement: the account administers the key through IAM, and nobody else is named.
    assert policy["EnableIamPolicies"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert "Condition" not in policy["EnableIamPolicies"]


def test_the_resource_policy_allows_the_readers_and_denies_every_other_principal(run):
    secret_policy = only(run, "aws:secretsmanager/secretPolicy:SecretPolicy")
    policy = statements(document(secret_policy))

    assert secret_policy.inputs["blockPublicPolicy"] is True
    assert secret_policy.property_dependencies["secretArn"] == (only(run, "aws:secretsmanager/secret:Secret").urn,)
    assert policy["AllowReaders"]["Effect"] == "Allow"
    assert policy["AllowReaders"]["Principal"] == {"AWS": READER}
    assert policy["AllowReaders"]["Action"] == ["secretsmanager:GetSecretValue"]
    deny = policy["DenyEveryoneElse"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == ["secretsmanager:GetSecretValue"]
    assert deny["Condition"] == {"StringNotEquals": {"aws:PrincipalArn": READER}}


def test_several_readers_are_all_excluded_from_the_deny():
    other = f"arn:aws:iam::{ACCOUNT}:role/rotator"
    run = run_components(lambda: LockedSecret("s", secret_args(reader_role_arns=[READER, other])))

    deny = statements(document(only(run, "aws:secretsmanager/secretPolicy:SecretPolicy")))["DenyEveryoneElse"]

    assert deny["Condition"] == {"StringNotEquals": {"aws:PrincipalArn": [READER, other]}}


ROTATOR = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotate"
ROTATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/rotate-exec"


def test_rotation_schedule_only_when_a_rotation_function_is_given():
    with_rotation = run_components(
        lambda: LockedSecret(
            "s",
            secret_args(
                reader_role_arns=[READER, ROTATION_ROLE],
                rotation_function_arn=ROTATOR,
                rotation_role_arn=ROTATION_ROLE,
                rotation_days=7,
            ),
        )
    )
    without = run_components(lambda: LockedSecret("s", secret_args()))

    rotation = only(with_rotation, "aws:secretsmanager/secretRotation:SecretRotation")
    invoke = only(with_rotation, "aws:lambda/permission:Permission")
    assert rotation.inputs["rotationLambdaArn"] == ROTATOR
    assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 7}
    assert rotation.inputs["rotateImmediately"] is False
    assert invoke.urn in rotation.dependencies
    assert (invoke.inputs["function"], invoke.inputs["principal"], invoke.inputs["sourceAccount"]) == (
        ROTATOR,
        "secretsmanager.amazonaws.com",
        ACCOUNT,
    )
    secret = only(with_rotation, "aws:secretsmanager/secret:Secret")
    assert invoke.property_dependencies["sourceArn"] == (secret.urn,)
    assert of_type(without, "aws:secretsmanager/secretRotation:SecretRotation") == []
    assert of_type(without, "aws:lambda/permission:Permission") == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reader_role_arns": []}, "reader_role_arns must name at least one role"),
        ({"recovery_window_days": 3}, "recovery_window_days must be between 7 and 30, got 3"),
        ({"rotation_function_arn": ROTATOR}, "rotation_function_arn needs rotation_role_arn"),
        ({"rotation_function_arn": ROTATOR, "rotation_role_arn": ROTATION_ROLE}, "must be one of reader_role_arns"),
    ],
)
def test_bad_arguments_fail_with_a_clear_message(overrides, message):
    error = build_error(lambda: LockedSecret("s", secret_args(**overrides)))
    assert isinstance(error, ValueError)
    assert re.search(message, str(error))


@pytest.fixture
def mocked():
    # Set up the same mocks the preview uses, then hand control to @pulumi.runtime.test.
    run_components(lambda: None)


@pulumi.runtime.test
def test_outputs_resolve_to_the_secret_and_its_key(mocked):
    secret = LockedSecret("outputs", secret_args())

    def check(values: list[str]) -> None:
        arn, name, key_arn, key_alias_arn, arn_pattern = values
        assert arn.startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:team/api-key-")
        assert len(arn) == len(PATTERN)
        assert name == "team/api-key"
        assert key_arn.startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
        assert key_alias_arn == f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/team-api-key"
        assert arn_pattern == PATTERN

    return pulumi.Output.all(secret.arn, secret.name, secret.key_arn, secret.key_alias_arn, secret.arn_pattern).apply(
        check
    )


def test_the_key_and_the_secret_policy_wait_for_the_reader_roles():
    def build():
        reader = aws.iam.Role("reader", name="reader", assume_role_policy="{}")
        LockedSecret("s", secret_args(), opts=pulumi.ResourceOptions(depends_on=[reader]))

    run = run_components(build)
    reader_urn = only(run, "aws:iam/role:Role").urn

    assert reader_urn in only(run, "aws:kms/key:Key").dependencies
    assert reader_urn in only(run, "aws:secretsmanager/secretPolicy:SecretPolicy").dependencies
