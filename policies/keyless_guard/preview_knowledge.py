"""A policy the pack cannot read at preview time is a finding, not a pass.

A document built with `pulumi.Output.json_dumps` over computed ARNs is unknown until the resources exist, so at the
first `pulumi preview` every document rule can only answer "can't run" (an advisory): the preview would go green with
`"Action": "*"` inside. The same holds for the ARN of an attached policy and a secret's KMS key when they come from
outside the stack's own resources. This stack rule makes each of those a violation of its own, naming how to make the
value known (explicit names and invoke-built ARNs, as keyless-ingest builds its own policies).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Resource, Stack, StackReport, stack_rule
from keyless_guard.iam import ATTACHMENTS, EXCLUSIVE_ATTACHMENTS, POLICY_PROP, ROLE
from keyless_guard.kms import KEY_TYPES
from keyless_guard.values import Unknown

DOCUMENT_PROPS: Final[dict[str, tuple[str, ...]]] = {
    ROLE: ("assumeRolePolicy", "inlinePolicies"),
    **{resource_type: (prop,) for resource_type, prop in POLICY_PROP.items()},
    "aws:secretsmanager/secret:Secret": ("policy",),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("policy",),
    **{key_type: ("policy",) for key_type in KEY_TYPES},
    "aws:kms/keyPolicy:KeyPolicy": ("policy",),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("policy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
}
"""Resource type -> the properties that hold a policy document (JSON text or object): the identity policies the IAM
rules read, and the resource policies."""
_POLICY: Final = "aws:iam/policy:Policy"
_KEYS: Final = (*KEY_TYPES, "aws:kms/alias:Alias")
_HOW: Final = (
    "Build the document from values known before anything exists: explicit resource names and ARNs assembled from "
    "aws.get_caller_identity / get_region / get_partition (f-strings), not from the outputs of resources being "
    "created."
)


def _holds_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(_holds_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_unknown(v) for v in value)
    return False


def _from_stack(stack: Stack, resource: Resource, prop: str, types: tuple[str, ...]) -> bool:
    """True if `prop` of `resource` flows from a resource of one of `types` in this stack."""
    found = (stack.by_urn(urn) for urn in resource.property_dependencies.get(prop, ()))
    return any(r is not None and r.type in types for r in found)


def _unknown_documents(resource: Resource) -> Iterator[str]:
    for prop in DOCUMENT_PROPS.get(resource.type, ()):
        if _holds_unknown(resource.props.get(prop)):
            yield prop


def _unknown_policy_arns(stack: Stack, resource: Resource) -> Iterator[str]:
    if resource.type in ATTACHMENTS:
        candidates = {"policyArn": resource.props.get("policyArn")}
    elif resource.type == ROLE:
        candidates = {"managedPolicyArns": resource.props.get("managedPolicyArns")}
    elif resource.type in EXCLUSIVE_ATTACHMENTS:
        prop = EXCLUSIVE_ATTACHMENTS[resource.type]
        candidates = {prop: resource.props.get(prop)}
    else:
        return
    for prop, value in candidates.items():
        if _holds_unknown(value) and not _from_stack(stack, resource, prop, (_POLICY,)):
            yield prop


@stack_rule(
    name="policy-known-at-preview",
    description="Policy documents, attached policy ARNs and secret keys must be known at preview, so the pack can "
    "judge them before anything is created.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation=_HOW,
    equivalent="none in Checkov or cdk-nag (both read synthesized templates, where nothing is unknown)",
)
def policy_known_at_preview(stack: Stack, report: StackReport) -> None:
    for resource in stack.resources:
        for prop in _unknown_documents(resource):
            report(
                f"The policy document in {prop} is unknown at preview (it is built from outputs of resources not "
                f"created yet), so no rule of this pack can judge it and it would pass unread. {_HOW}",
                resource.urn,
            )
        for prop in _unknown_policy_arns(stack, resource):
            report(
                f"{prop} is unknown at preview and does not come from an aws.iam.Policy of this stack, so it could "
                "attach any managed policy, AdministratorAccess included. Attach AWS-managed policies by their "
                "literal ARN and your own by the Policy resource's arn.",
                resource.urn,
            )
        for prop in _unknown_secret_keys(stack, resource):
            report(
                f"{prop} is unknown at preview and does not come from a KMS key or alias of this stack, so it may "
                "be the AWS-managed key. Pass the key's alias ARN (known before the key exists) or the key of this "
                "stack.",
                resource.urn,
            )


def _unknown_secret_keys(stack: Stack, resource: Resource) -> Iterator[str]:
    """kmsKeyId of a secret and of each of its replicas, unknown and not flowing from a key of this stack."""
    if resource.type != "aws:secretsmanager/secret:Secret":
        return
    if isinstance(resource.props.get("kmsKeyId"), Unknown) and not _from_stack(stack, resource, "kmsKeyId", _KEYS):
        yield "kmsKeyId"
    replicas = resource.props.get("replicas")
    if _holds_unknown(replicas) and not _from_stack(stack, resource, "replicas", _KEYS):
        yield "replicas (kmsKeyId)"
