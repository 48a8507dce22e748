"""Perimeter: a secret readable from any network, and a Lambda execution role whose credentials work outside the
function, for other stacks than keyless-ingest (which builds both perimeters). Advisory: a finding to act on, not a
gate, since a secret read by something that cannot use a VPC endpoint has a reason to lack one.

- A secret's resource policy should deny GetSecretValue on a call that did not come through the expected network:
  a Deny of the read with a condition on `aws:SourceVpce` or `aws:SourceVpc` (a negated operator, or `Null` true),
  the shape of AWS's data perimeter examples (aws-samples/data-perimeter-policy-examples, network perimeter).
- A Lambda execution role's grants to read a secret or write a DynamoDB table should hold only inside the function:
  `lambda:SourceFunctionArn`, which Lambda injects into the credentials of the execution environment and documents
  for identity policies (Lambda developer guide, "Using source function ARN to control function access behavior":
  https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html). Without it, credentials taken
  from the function's environment (an SSRF, a dependency that sends its environment away) work from anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.framework import Report, Resource, Stack, StackReport, resource_rule, stack_rule
from keyless_guard.iam import ROLE, identity_statements
from keyless_guard.iam_documents import Statement, read_statements
from keyless_guard.preview_knowledge import own_endpoint_document
from keyless_guard.secretsmanager import SECRET, SECRET_POLICY
from keyless_guard.values import Unknown, known

_READ: Final = "secretsmanager:getsecretvalue"
_NETWORK_KEYS: Final = frozenset({"aws:sourcevpce", "aws:sourcevpc"})
_NEGATED: Final = frozenset({"stringnotequals", "stringnotlike", "stringnotequalsifexists", "stringnotlikeifexists"})
DATA_PLANE_ACTIONS: Final = (
    "secretsmanager:getsecretvalue",
    "dynamodb:putitem",
    "dynamodb:batchwriteitem",
    "dynamodb:updateitem",
    "dynamodb:deleteitem",
)
"""The grants a stolen credential would be used for: reading a secret and writing a table."""
_ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
_SOURCE_FUNCTION: Final = "lambda:sourcefunctionarn"
_FUNCTION_OPERATORS: Final = frozenset({"arnequals", "arnlike", "stringequals", "stringlike"})
NETWORK_REMEDIATION: Final = (
    "Add a statement to the secret's policy that denies reads from anywhere but your endpoint: "
    '{"Sid": "DenyReadsOutsideTheEndpoint", "Effect": "Deny", "Principal": "*", '
    '"Action": "secretsmanager:GetSecretValue", "Resource": "*", '
    '"Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}} '
    '(or {"Null": {"aws:SourceVpce": "true"}} while the endpoint id is not known yet).'
)
ROLE_REMEDIATION: Final = (
    "Give each secret-read and table-write grant of the execution role the condition "
    '{"ArnEquals": {"lambda:SourceFunctionArn": "arn:aws:lambda:<region>:<account>:function:<name>"}}, and add a Deny '
    'of the same actions with {"ArnNotEquals": {"lambda:SourceFunctionArn": "<the same ARN>"}}: a resource policy '
    "that names the role grants it on its own, and only an explicit Deny overrides that."
)


def _network_deny(statement: Statement) -> bool:
    """A Deny of GetSecretValue that applies when the call is not from the expected network."""
    if statement.allows or not any(_matches(pattern, _READ) for pattern in statement.actions):
        return False
    for operator, keys in statement.conditions.items():
        for key, values in keys.items():
            if key.lower() not in _NETWORK_KEYS:
                continue
            if operator.lower() in _NEGATED:
                return True
            if operator.lower() == "null" and values == ("true",):
                return True
    return False


def _matches(pattern: str, action: str) -> bool:
    return fnmatchcase(action, pattern.lower())


@resource_rule(
    name="secret-network-perimeter",
    description="A secret's resource policy should deny reads that do not come through the expected VPC endpoint.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    remediation=NETWORK_REMEDIATION,
    equivalent="none in Checkov or cdk-nag (AWS's data perimeter examples set this in resource control policies)",
    resource_types=(SECRET, SECRET_POLICY),
)
def secret_network_perimeter(resource: Resource, report: Report) -> None:
    document = resource.props.get("policy")
    if document is None:
        return  # a secret with no inline policy: secret-requires-resource-policy judges the pair
    statements = read_statements(document, "policy", report)
    if statements and not any(_network_deny(statement) for statement in statements):
        report(
            "The secret's policy does not deny GetSecretValue from outside your network, so credentials of a "
            f"reader taken elsewhere read it from anywhere. {NETWORK_REMEDIATION}"
        )


def _trusts_lambda(role: Resource) -> bool:
    trust = known(role.props.get("assumeRolePolicy"), "assumeRolePolicy")
    if trust is None:
        return False
    return any(
        statement.allows and "lambda.amazonaws.com" in statement.principals
        for statement in read_statements(trust, "assumeRolePolicy", None)
    )


def _role_policies(stack: Stack, role: Resource) -> Iterator[Resource]:
    """The role's own document and every RolePolicy attached to it, by name or by the engine's dependencies."""
    yield role
    name = role.props.get("name")
    for policy in stack.of_type(_ROLE_POLICY):
        if role.urn in policy.property_dependencies.get("role", ()) or (name and policy.props.get("role") == name):
            yield policy


def _at(report: StackReport, urn: str) -> Report:
    return lambda message: report(message, urn)


def _unbound_grants(resource: Resource, report: Report) -> Iterator[str]:
    for where, statement in identity_statements(resource, report):
        if not statement.allows:
            continue
        granted = [action for action in DATA_PLANE_ACTIONS if statement.grants(action)]
        pinned = any(
            key.lower() == _SOURCE_FUNCTION and operator.lower() in _FUNCTION_OPERATORS
            for operator, keys in statement.conditions.items()
            for key in keys
        )
        if granted and not pinned:
            yield f"{where} {statement.label} ({', '.join(granted)})"


@stack_rule(
    name="lambda-role-source-function",
    description="A Lambda execution role's secret-read and table-write grants should hold only inside the function "
    "(lambda:SourceFunctionArn).",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    remediation=ROLE_REMEDIATION,
    equivalent="none in Checkov or cdk-nag",
)
def lambda_role_source_function(stack: Stack, report: StackReport) -> None:
    def judge(role: Resource) -> None:
        if not _trusts_lambda(role):
            return
        for policy in _role_policies(stack, role):
            if isinstance(policy.props.get("policy"), Unknown) and own_endpoint_document(stack, policy, "policy"):
                continue  # a network perimeter naming this stack's endpoints: judged once their ids are known
            unbound = list(_unbound_grants(policy, _at(report, policy.urn)))
            if unbound:
                report(
                    f"Grants of Lambda execution role {role.name} work outside the function: {'; '.join(unbound)}. "
                    f"Credentials copied from the function's environment use them from anywhere. {ROLE_REMEDIATION}",
                    policy.urn,
                )

    stack.judge_each(stack.of_type(ROLE), judge)
