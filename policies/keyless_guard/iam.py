"""Identity policies, managed-policy attachments and access keys.

Only Allow statements grant; a Deny's wildcards narrow access and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Report, Resource, resource_rule
from keyless_guard.iam_actions import (
    ArnScope,
    ResourceSupport,
    classify_arn,
    covers_whole_service,
    created_type,
    resource_support,
)
from keyless_guard.iam_documents import Statement, read_statements
from keyless_guard.values import as_dict, as_list

POLICY_PROP: Final = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
    # An IAM Identity Center permission set's inline policy is an identity policy of every user it is assigned to.
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": "inlinePolicy",
}
ROLE: Final = "aws:iam/role:Role"
ATTACHMENTS: Final = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
EXCLUSIVE_ATTACHMENTS: Final = {
    # pulumi-aws 7 recommends these over a role's managedPolicyArns: one resource holds every attached ARN.
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": "policyArns",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": "policyArns",
    "aws:ssoadmin/managedPolicyAttachmentsExclusive:ManagedPolicyAttachmentsExclusive": "managedPolicyArns",
}
"""Attachment type -> the property that lists every managed-policy ARN it attaches."""
SSO_MANAGED_ATTACHMENT: Final = "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment"
SSO_CUSTOMER_ATTACHMENT: Final = "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment"
SSO_BOUNDARY: Final = "aws:ssoadmin/permissionsBoundaryAttachment:PermissionsBoundaryAttachment"
IDENTITY_POLICY_TYPES: Final = (*POLICY_PROP, ROLE)
ACCESS_KEY: Final = "aws:iam/accessKey:AccessKey"
_WILDCARD = re.compile(r"[*?]")
_RESOURCE_CONDITION = re.compile(
    r"^[a-z0-9-]+:resourcetag/.+$|^ec2:(vpc|subnet|networkinterfaceid)$|^secretsmanager:secretid$"
)
"""Condition keys that pin a grant to specific resources, so a resource-type ARN is narrowed by them."""
_TAG_ON_CREATE: Final = "ec2:createaction"
"""ec2:CreateTags with a positive `ec2:CreateAction` condition tags only the resource that the named Create call is
creating in the same request (AWS: "Grant permission to tag resources during creation",
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html)."""
_CREATED_BY_OTHER_VERBS: Final = {"ec2:allocateaddress": "elastic-ip"}
"""Creating actions not named Create<Type>: ec2:AllocateAddress creates an Elastic IP (ARN type `elastic-ip`)."""
_BROAD_MANAGED: Final = frozenset(
    {"administratoraccess", "poweruseraccess", "readonlyaccess", "iamfullaccess", "secretsmanagerreadwrite"}
)


def identity_statements(resource: Resource, report: Report) -> Iterator[tuple[str, Statement]]:
    """(where, statement) for every statement of the resource's identity policies; malformed documents reported."""
    documents: list[tuple[str, Any]] = []
    if resource.type in POLICY_PROP:
        prop = POLICY_PROP[resource.type]
        documents.append((prop, resource.props.get(prop)))
    elif resource.type == ROLE:
        for index, inline in enumerate(as_list(resource.props.get("inlinePolicies"), "inlinePolicies")):
            entry = as_dict(inline, "inlinePolicies", index)
            name = entry.get("name")
            where = f"inlinePolicies[{index}]" + (f" ({name})" if isinstance(name, str) else "")
            documents.append((where, entry.get("policy")))
    for where, document in documents:
        if document is not None:
            yield from ((where, statement) for statement in read_statements(document, where, report))


def _for_allow_statements(check: Callable[[str, Statement, Report], None]) -> Callable[[Resource, Report], None]:
    def run(resource: Resource, report: Report) -> None:
        for where, statement in identity_statements(resource, report):
            if statement.allows:
                check(where, statement, report)

    return run


def _wildcard_actions(where: str, statement: Statement, report: Report) -> None:
    wild = [action for action in statement.actions if _WILDCARD.search(action)]
    if wild:
        report(
            f"{where} {statement.label} allows wildcard actions {sorted(wild)}. "
            "List the exact actions the principal calls (for example secretsmanager:GetSecretValue)."
        )


def _not_action_or_resource(where: str, statement: Statement, report: Report) -> None:
    fields = [
        name
        for name, values in (("NotAction", statement.not_actions), ("NotResource", statement.not_resources))
        if values
    ]
    if fields:
        report(
            f"{where} {statement.label} is an Allow with {' and '.join(fields)}, which grants everything not "
            "listed, including actions and resources added later. Use Action and Resource lists instead."
        )


def _star_resource(where: str, statement: Statement, report: Report) -> None:
    if "*" not in statement.resources:
        return
    scoped = sorted(
        action
        for action in statement.actions
        if not _WILDCARD.search(action)
        and resource_support(action) in (ResourceSupport.RESOURCE_LEVEL, ResourceSupport.UNKNOWN_ACTION)
    )
    if scoped:
        report(
            f"{where} {statement.label} grants {scoped} on Resource '*', but these actions support "
            "resource-level permissions (or are not in the IAM action database). Name the resource ARNs; keep "
            "'*' only for actions that support no resource, in a statement of their own."
        )


def _unscopable(statement: Statement) -> bool:
    """Every action supports only `Resource: "*"` (or AWS documents it must be `*`)."""
    return bool(statement.actions) and all(
        not _WILDCARD.search(action)
        and resource_support(action) in (ResourceSupport.WILDCARD_ONLY, ResourceSupport.MUST_BE_STAR)
        for action in statement.actions
    )


def _broad_arns(where: str, statement: Statement, report: Report) -> None:
    narrowed = any(_RESOURCE_CONDITION.match(key) for key in statement.restricting_keys())
    unscopable = _unscopable(statement)
    for arn in statement.resources:
        if arn == "*":
            continue
        if unscopable and all(covers_whole_service(arn, a.partition(":")[0]) for a in statement.actions):
            continue  # `s3:ListAllMyBuckets` on `arn:aws:s3:::*` is the same grant as on "*", which it needs
        arn_class = classify_arn(arn)
        if arn_class.acceptable:
            continue
        if arn_class.scope is ArnScope.RESOURCE_TYPE and (
            narrowed
            or all(_same_type(_created(action), arn_class.resource_type) for action in statement.actions)
            or _tags_on_create_only(statement)
            or _kms_tags_on_create_only(statement, arn_class.resource_type)
        ):
            continue
        report(
            f"{where} {statement.label} grants on {arn}, which {arn_class.scope.value}. Name the specific "
            "resource (a trailing wildcard after its name is fine), or narrow a resource-type ARN with a "
            "resource condition such as aws:ResourceTag/<key> or ec2:Vpc."
        )


def _same_type(created: str, arn_type: str) -> bool:
    """`nat-gateway` (from ec2:CreateNatGateway) and `natgateway` (the ARN's keyword) name the same type."""
    return bool(created) and created.replace("-", "") == arn_type.replace("-", "")


def _created(action: str) -> str:
    """The type an action creates: `Create<Type>` by AWS's naming, and ec2:AllocateAddress an Elastic IP."""
    return _CREATED_BY_OTHER_VERBS.get(action.lower()) or created_type(action)


def _kms_tags_on_create_only(statement: Statement, arn_type: str) -> bool:
    """Tags given to kms:CreateKey are authorized as kms:TagResource in an IAM policy that covers at least every key of
    the account and Region (KMS developer guide, "Controlling access to tags"), pinned here by aws:RequestTag."""
    return (
        arn_type == "key"
        and all(action.lower() == "kms:tagresource" for action in statement.actions)
        and any(key.startswith("aws:requesttag/") for key in statement.restricting_keys())
    )


def _tags_on_create_only(statement: Statement) -> bool:
    return all(action.lower() == "ec2:createtags" for action in statement.actions) and (
        _TAG_ON_CREATE in statement.restricting_keys()
    )


no_wildcard_actions = resource_rule(
    name="iam-no-wildcard-actions",
    description="Identity policies must not allow '*', service wildcards or wildcard action patterns.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Replace each wildcard with the exact actions needed.",
    equivalent="CKV_AWS_1 / CKV_AWS_49 / CKV_AWS_62 / CKV_AWS_63; cdk-nag AwsSolutions-IAM5",
    resource_types=IDENTITY_POLICY_TYPES,
)(_for_allow_statements(_wildcard_actions))

no_not_action = resource_rule(
    name="iam-no-not-action-allow",
    description="Identity policies must not use NotAction or NotResource in Allow statements.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Rewrite the statement with explicit Action and Resource lists.",
    equivalent="none in Checkov; cdk-nag none (AwsSolutions-IAM5 never reads NotAction)",
    resource_types=IDENTITY_POLICY_TYPES,
)(_for_allow_statements(_not_action_or_resource))

no_star_resource = resource_rule(
    name="iam-no-star-resource",
    description="Identity policies must not grant Resource '*' to actions that support resource-level permissions.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Scope the statement to resource ARNs; keep '*' only for actions that support no resource.",
    equivalent="CKV_AWS_355 / CKV_AWS_290; cdk-nag AwsSolutions-IAM5",
    resource_types=IDENTITY_POLICY_TYPES,
)(_for_allow_statements(_star_resource))

no_broad_resource_arns = resource_rule(
    name="iam-no-broad-resource-arns",
    description="Identity policies must not use ARN wildcards that widen a grant to a service, account or type.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Name the resource; a wildcard may follow its name (a secret's -?????? suffix, a log group's :*).",
    equivalent="cdk-nag AwsSolutions-IAM5 (wildcard resources); Checkov none",
    resource_types=IDENTITY_POLICY_TYPES,
)(_for_allow_statements(_broad_arns))


def _managed_policy_arns(resource: Resource) -> Iterator[tuple[str, Any]]:
    # A permission set's CustomerManagedPolicyAttachment names a policy by name in each member account: its document
    # is checked where that policy is defined. A PermissionsBoundaryAttachment caps the permission set and grants
    # nothing, even when the boundary is AdministratorAccess. Both are recognised here and yield nothing.
    if resource.type in ATTACHMENTS:
        yield "policyArn", resource.props.get("policyArn")
    elif resource.type == SSO_MANAGED_ATTACHMENT:
        yield "managedPolicyArn", resource.props.get("managedPolicyArn")
    elif resource.type == ROLE:
        for index, arn in enumerate(as_list(resource.props.get("managedPolicyArns"), "managedPolicyArns")):
            yield f"managedPolicyArns[{index}]", arn
    elif resource.type in EXCLUSIVE_ATTACHMENTS:
        prop = EXCLUSIVE_ATTACHMENTS[resource.type]
        for index, arn in enumerate(as_list(resource.props.get(prop), prop)):
            yield f"{prop}[{index}]", arn


def _is_broad_managed(arn: str) -> bool:
    """An AWS-managed policy (`arn:<partition>:iam::aws:policy/...`) that grants a whole service or account."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "iam" or parts[4] != "aws":
        return False
    name = parts[5].rsplit("/", 1)[-1].lower()
    return name in _BROAD_MANAGED or "fullaccess" in name or "administratoraccess" in name


@resource_rule(
    name="iam-no-broad-managed-policies",
    description="Roles, users and groups must not get AWS-managed policies that grant broad access.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Write a least-privilege inline or customer-managed policy for the actions actually needed.",
    equivalent="CKV_AWS_274 (AdministratorAccess); cdk-nag AwsSolutions-IAM4",
    resource_types=(
        *ATTACHMENTS,
        *EXCLUSIVE_ATTACHMENTS,
        ROLE,
        SSO_MANAGED_ATTACHMENT,
        SSO_CUSTOMER_ATTACHMENT,
        SSO_BOUNDARY,
    ),
)
def no_broad_managed_policies(resource: Resource, report: Report) -> None:
    # An unknown element is judged by policy-known-at-preview (a stack rule, which sees whether it flows from an
    # aws.iam.Policy of this stack, whose document the identity-policy rules check). A wholly unknown list raises.
    for where, arn in _managed_policy_arns(resource):
        if isinstance(arn, str) and _is_broad_managed(arn):
            report(f"{where} attaches the AWS-managed policy {arn}, which grants far more than this workload needs.")


@resource_rule(
    name="iam-no-access-keys",
    description="No long-lived IAM access keys: workloads use roles and temporary credentials.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation="Delete the AccessKey; give the workload an IAM role (Lambda execution role, IRSA, SSO).",
    equivalent="CKV_AWS_273 (IAM users); cdk-nag none",
    resource_types=(ACCESS_KEY,),
)
def no_access_keys(resource: Resource, report: Report) -> None:
    report("This stack creates a long-lived IAM access key. Use a role with temporary credentials instead.")
