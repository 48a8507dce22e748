"""A policy the pack cannot read at preview time is a finding, not a pass.

A document built with `pulumi.Output.json_dumps` over computed ARNs is unknown until the resources exist, so at the
first `pulumi preview` every document rule can only answer "can't run" (an advisory): the preview would go green with
`"Action": "*"` inside. The same holds for the ARN of an attached policy and a secret's KMS key when they come from
outside the stack's own resources. This stack rule makes each of those a violation of its own, naming how to make the
value known (explicit names and invoke-built ARNs, as keyless-ingest builds its own policies).

One unknown is accepted: the id of a VPC endpoint of this same stack, as the value of a network condition
(`aws:SourceVpce`) in a document sent as an object. A perimeter that names its own endpoint cannot know the id before
the endpoint exists; the rest of the document is known and every rule judges it (iam_documents reads the id as a
placeholder), and pulumi-policy judges the whole document again with the id resolved just before `pulumi up` sends
it. Any other unknown, or an endpoint id that flows from outside the stack, is still refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Report, Resource, Stack, StackReport, resource_rule, stack_rule
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
_ENDPOINT: Final = "aws:ec2/vpcEndpoint:VpcEndpoint"
_NETWORK_KEYS: Final = frozenset({"aws:sourcevpce"})
_DOCUMENT_OBJECTS: Final = frozenset(
    {
        ("aws:iam/role:Role", "assumeRolePolicy"),
        *(
            (t, "policy")
            for t in (
                "aws:iam/rolePolicy:RolePolicy",
                "aws:iam/policy:Policy",
                "aws:iam/userPolicy:UserPolicy",
                "aws:iam/groupPolicy:GroupPolicy",
            )
        ),
    }
)
"""Document properties pulumi-aws also takes as a document object (`Union[str, PolicyDocumentArgs]` in its SDK;
its bridge serialises the object, TransformJSONDocument). Other policies, a secret's included, are strings only, so
an unknown there leaves nothing to judge."""
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


def _only_from(stack: Stack, resource: Resource, prop: str, types: tuple[str, ...]) -> bool:
    """True if `prop` of `resource` flows from resources of this stack, every one of them of one of `types`."""
    found = [stack.by_urn(urn) for urn in resource.property_dependencies.get(prop, ())]
    return bool(found) and all(r is not None and r.type in types for r in found)


def _unknowns_only_in_network_conditions(document: Any) -> bool:
    """True if `document` is an object whose every unknown is a value of an `aws:SourceVpce` condition."""
    if not isinstance(document, dict) or _holds_unknown(document.get("Version")):
        return False
    statements = document.get("Statement")
    if not isinstance(statements, list):
        return False
    for statement in statements:
        if not isinstance(statement, dict):
            return False
        for element, value in statement.items():
            if element != "Condition":
                if _holds_unknown(value):
                    return False
                continue
            if not isinstance(value, dict):
                return False
            for clauses in value.values():
                if not isinstance(clauses, dict):
                    return False
                for key, values in clauses.items():
                    if str(key).lower() not in _NETWORK_KEYS and _holds_unknown(values):
                        return False
    return True


@resource_rule(
    name="policy-unknown-only-endpoint-ids",
    description="An IAM document sent as an object may hold unknowns at preview only as aws:SourceVpce values.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation=_HOW,
    equivalent="none in Checkov or cdk-nag (both read synthesized templates, where nothing is unknown)",
    resource_types=tuple(sorted({type_ for type_, _ in _DOCUMENT_OBJECTS})),
)
def policy_unknown_only_endpoint_ids(resource: Resource, report: Report) -> None:
    """The inputs' half of policy-known-at-preview's one exception: that rule sees the planned outputs, where the
    provider has already turned such a document into one unknown string, and checks where the unknowns flow from;
    this one sees the document and checks where in it they sit."""
    for type_, prop in sorted(_DOCUMENT_OBJECTS):
        if type_ != resource.type:
            continue
        document = resource.props.get(prop)
        if _holds_unknown(document) and not _unknowns_only_in_network_conditions(document):
            report(
                f"The policy document in {prop} is unknown at preview outside an aws:SourceVpce value (or unknown "
                f"as a whole), so the rules of this pack cannot judge it. {_HOW}"
            )


def own_endpoint_document(stack: Stack, resource: Resource, prop: str) -> bool:
    """True if `prop` is a document property pulumi-aws takes as an object and its value flows only from this
    stack's VPC endpoints: unknown in the planned outputs at preview, judged in the inputs by Analyze."""
    return (resource.type, prop) in _DOCUMENT_OBJECTS and _only_from(stack, resource, prop, (_ENDPOINT,))


def _unknown_documents(stack: Stack, resource: Resource) -> Iterator[str]:
    for prop in DOCUMENT_PROPS.get(resource.type, ()):
        document = resource.props.get(prop)
        if not _holds_unknown(document):
            continue
        if own_endpoint_document(stack, resource, prop):
            # The stack sees the planned outputs, where the provider turned a document holding an unknown into one
            # unknown string; the document object itself went through Analyze, where every rule judged it with
            # the aws:SourceVpce values read as placeholders (iam_documents), and policy-unknown-only-endpoint-ids
            # refused it if any other unknown sat in it.
            continue
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
        for prop in _unknown_documents(stack, resource):
            report(
                f"The policy document in {prop} is unknown at preview (it is built from outputs of resources not "
                f"created yet), so no rule of this pack can judge it and it would pass unread. {_HOW} (The one "
                "exception: the id of this stack's own VPC endpoint as an aws:SourceVpce value, in a document sent "
                "as an object.)",
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
