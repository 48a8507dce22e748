"""KMS keys: rotation on symmetric keys, and no key policy open to everyone without a condition."""

from __future__ import annotations

from typing import Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Report, Resource, resource_rule
from keyless_guard.iam_documents import CALLER_KEYS, read_statements
from keyless_guard.values import known

KEY: Final = "aws:kms/key:Key"
KEY_POLICY: Final = "aws:kms/keyPolicy:KeyPolicy"
KEY_TYPES: Final = (
    KEY,
    "aws:kms/replicaKey:ReplicaKey",
    "aws:kms/externalKey:ExternalKey",
    "aws:kms/replicaExternalKey:ReplicaExternalKey",
)
"""Every key resource that carries its own key policy (`policy`): a replica's policy is its own, not its primary's."""


@resource_rule(
    name="kms-key-rotation",
    description="Symmetric KMS keys must have automatic key rotation enabled.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    remediation="Set enableKeyRotation=True on the key.",
    equivalent="CKV_AWS_7; cdk-nag AwsSolutions-KMS5",
    resource_types=(KEY,),
)
def key_rotation(resource: Resource, report: Report) -> None:
    spec = known(resource.props.get("customerMasterKeySpec") or resource.props.get("keySpec"), "keySpec")
    usage = known(resource.props.get("keyUsage"), "keyUsage")
    if spec not in (None, "SYMMETRIC_DEFAULT") or usage not in (None, "ENCRYPT_DECRYPT"):
        return  # AWS rotates only symmetric encryption keys
    if known(resource.props.get("enableKeyRotation"), "enableKeyRotation") is not True:
        report("This symmetric KMS key does not enable automatic rotation. Set enableKeyRotation=True.")


@resource_rule(
    name="kms-key-policy-no-public",
    description="A KMS key policy must not allow Principal '*' without a condition.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation="Name the principals, or add a condition (kms:ViaService, kms:CallerAccount, aws:PrincipalArn).",
    equivalent="CKV_AWS_33; cdk-nag none",
    resource_types=(*KEY_TYPES, KEY_POLICY),
)
def key_policy_no_public(resource: Resource, report: Report) -> None:
    if resource.props.get("policy") is None:
        return
    for statement in read_statements(resource.props["policy"], "policy", report):
        open_to_all = statement.public_principal or statement.has_not_principal
        if statement.allows and open_to_all and not statement.restricting_keys() & CALLER_KEYS:
            report(
                f"key policy {statement.label} allows Principal '*' without a condition that restricts the caller "
                "(aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount, aws:SourceArn, ...); "
                "keys such as aws:SecureTransport or kms:ViaService alone, ForAllValues:, ...IfExists and wildcard "
                "values do not."
            )
