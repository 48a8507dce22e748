import pytest

from components.audit_trail import AuditTrail, AuditTrailArgs
from components.aws_context import AwsContext
from mock_engine.recorded import UNKNOWN
from offline_preview.cli import PreviewError
from tests.stack_inspection import ACCOUNT, REGION, document, only, run_components, statements

CONTEXT = AwsContext("aws", REGION, ACCOUNT)
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/ki-audit"
BUCKET_ARN = "arn:aws:s3:::ki-trail-111122223333"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/cloudtrail/ki"
KEY_ALIAS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/ki-trail"


def trail_args(**overrides) -> AuditTrailArgs:
    args: AuditTrailArgs = {
        "context": CONTEXT,
        "trail_name": "ki-audit",
        "bucket_name": "ki-trail-111122223333",
        "log_group_name": "/aws/cloudtrail/ki",
        "key_alias": "alias/ki-trail",
        "role_name": "ki-cloudtrail-to-logs",
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


@pytest.fixture(scope="module")
def run():
    return run_components(lambda: AuditTrail("audit", trail_args()), first_preview=True)


def test_trail_is_multi_region_validated_encrypted_and_delivers_to_the_log_group(run):
    trail = only(run, "aws:cloudtrail/trail:Trail").inputs

    assert trail["name"] == "ki-audit"
    assert trail["isMultiRegionTrail"] is True
    assert trail["enableLogFileValidation"] is True
    assert trail["includeGlobalServiceEvents"] is True
    assert trail["eventSelectors"] == [{"readWriteType": "All", "includeManagementEvents": True}]
    assert trail["s3BucketName"] == "ki-trail-111122223333"
    # The key's ARN (computed, so unknown at the first preview), never the alias ARN AWS would not store.
    assert trail["kmsKeyId"] is UNKNOWN
    assert only(run, "aws:kms/key:Key").urn in only(run, "aws:cloudtrail/trail:Trail").property_dependencies["kmsKeyId"]
    assert trail["cloudWatchLogsGroupArn"] == f"{LOG_GROUP_ARN}:*"
    assert trail["cloudWatchLogsRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/ki-cloudtrail-to-logs"


def test_trail_waits_for_the_policies_it_is_checked_against(run):
    trail = only(run, "aws:cloudtrail/trail:Trail")

    for type_token in (
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:kms/key:Key",
        "aws:kms/alias:Alias",
        "aws:cloudwatch/logGroup:LogGroup",
    ):
        assert only(run, type_token).urn in trail.dependencies


def test_bucket_is_not_public_is_kms_encrypted_versioned_and_owner_enforced(run):
    access = only(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    encryption = only(
        run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs

    assert only(run, "aws:s3/bucket:Bucket").inputs["bucket"] == "ki-trail-111122223333"
    assert {
        k: access[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    } == {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    assert access["bucket"] == "ki-trail-111122223333"
    assert encryption["rules"] == [
        {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ALIAS_ARN},
            "bucketKeyEnabled": False,
        }
    ]
    assert only(run, "aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"] == {
        "status": "Enabled"
    }
    assert only(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }


def test_bucket_policy_allows_only_cloudtrail_for_this_trail_and_denies_plain_http(run):
    policy = statements(document(only(run, "aws:s3/bucketPolicy:BucketPolicy")))
    this_trail = {"aws:SourceArn": TRAIL_ARN, "aws:SourceAccount": ACCOUNT}

    assert policy == {
        "CloudTrailChecksAcl": {
            "Sid": "CloudTrailChecksAcl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["s3:GetBucketAcl"],
            "Resource": [BUCKET_ARN],
            "Condition": {"StringEquals": this_trail},
        },
        "CloudTrailWritesThisAccountsLogs": {
            "Sid": "CloudTrailWritesThisAccountsLogs",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["s3:PutObject"],
            "Resource": [f"{BUCKET_ARN}/AWSLogs/{ACCOUNT}/*"],
            "Condition": {"StringEquals": {**this_trail, "s3:x-amz-acl": "bucket-owner-full-control"}},
        },
        "DenyInsecureTransport": {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:*"],
            "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    }
    allowed = {str(s["Principal"]) for s in policy.values() if s["Effect"] == "Allow"}
    assert allowed == {str({"Service": "cloudtrail.amazonaws.com"})}


def test_key_lets_cloudtrail_encrypt_for_this_trail_only(run):
    key = only(run, "aws:kms/key:Key")
    policy = statements(document(key))

    assert key.inputs["enableKeyRotation"] is True
    assert set(policy) == {"EnableIamPolicies", "CloudTrailEncryptsThisTrailsLogs", "CloudTrailDescribesKey"}
    assert policy["CloudTrailEncryptsThisTrailsLogs"]["Action"] == ["kms:GenerateDataKey*"]
    assert policy["CloudTrailEncryptsThisTrailsLogs"]["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": TRAIL_ARN},
    }
    assert policy["CloudTrailDescribesKey"]["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}


def test_delivery_role_is_trusted_by_cloudtrail_and_writes_to_its_log_group_only(run):
    role = only(run, "aws:iam/role:Role")
    trust = statements(document(role, "assumeRolePolicy"))
    policy = statements(document(only(run, "aws:iam/rolePolicy:RolePolicy")))

    assert role.inputs["name"] == "ki-cloudtrail-to-logs"
    # No condition: CloudTrail sends neither aws:SourceAccount nor aws:SourceArn here (tests/test_aws_contract.py).
    assert trust == {
        "CloudTrailDeliversToLogs": {
            "Sid": "CloudTrailDeliversToLogs",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["sts:AssumeRole"],
        }
    }
    assert policy == {
        "WriteTrailStreams": {
            "Sid": "WriteTrailStreams",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{LOG_GROUP_ARN}:log-stream:{ACCOUNT}_CloudTrail_*"],
        }
    }


def test_log_group_has_retention_and_the_given_key():
    run = run_components(
        lambda: AuditTrail("audit", trail_args(log_retention_days=30, log_kms_key_arn="arn:aws:kms:k")),
        first_preview=True,
    )

    group = only(run, "aws:cloudwatch/logGroup:LogGroup").inputs

    assert (group["name"], group["retentionInDays"], group["kmsKeyId"]) == ("/aws/cloudtrail/ki", 30, "arn:aws:kms:k")


def test_a_retention_cloudwatch_does_not_accept_is_refused():
    with pytest.raises(PreviewError, match="does not accept a retention of 10 days"):
        run_components(lambda: AuditTrail("audit", trail_args(log_retention_days=10)))


def test_a_bucket_name_s3_would_reject_is_refused():
    with pytest.raises(PreviewError, match="is not a valid S3 bucket name"):
        run_components(lambda: AuditTrail("audit", trail_args(bucket_name="x" * 64)))
