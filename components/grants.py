"""What the function may do, turned into IAM statements in one place, with the perimeter that keeps each grant
inside the function and its endpoints.

Two conditions make the execution role's temporary credentials useless anywhere else:

- `ArnEquals lambda:SourceFunctionArn = <function ARN>` on every data-plane grant. Lambda injects this key into the
  credentials of its execution environment, so a call made with the same credentials from anywhere else lacks it
  and the grant does not apply. It is honoured in identity policies and SCPs, not in resource-based policies
  (Lambda developer guide, "Using source function ARN to control function access behavior":
  https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html).
- `StringNotEquals aws:SourceVpce = <endpoint id>` in an explicit Deny: a call that did not come through the stack's
  endpoint is refused even with the key above (an SSRF inside the function still runs inside it). A negated
  operator is true when the key is absent, which is what a call from the internet looks like (IAM user guide,
  "Condition operators", negated matching: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
"""

from collections.abc import Sequence

from components.iam import Principal, Statement

TABLE_WRITE_ACTIONS: tuple[str, ...] = ("dynamodb:BatchWriteItem",)
"""Exactly the DynamoDB calls the handler makes (tests/components/test_grants_match_handler.py proves it)."""

SECRET_READ_ACTIONS: tuple[str, ...] = ("secretsmanager:GetSecretValue",)
"""The handler reads the value by name; it never calls DescribeSecret."""

SOURCE_FUNCTION_KEY = "lambda:SourceFunctionArn"
SOURCE_VPCE_KEY = "aws:SourceVpce"


def _inside(function_arn: str | None) -> dict[str, dict[str, str]]:
    return {"ArnEquals": {SOURCE_FUNCTION_KEY: function_arn}} if function_arn else {}


def table_write_statement(table_arns: Sequence[str], function_arn: str | None = None) -> Statement:
    """Write items to these DynamoDB tables; with `function_arn`, only from inside that function."""
    return Statement(
        sid="WriteReadings", actions=TABLE_WRITE_ACTIONS, resources=tuple(table_arns), conditions=_inside(function_arn)
    )


def secret_read_statement(secret_arns: Sequence[str], function_arn: str | None = None) -> Statement:
    """Read the values of these secrets (ARNs or `<name>-??????` patterns); with `function_arn`, only from inside
    that function. Decryption is granted by each secret's KMS key policy, not here, so the role can decrypt only
    through Secrets Manager and only for those secrets."""
    return Statement(
        sid="ReadApiKey", actions=SECRET_READ_ACTIONS, resources=tuple(secret_arns), conditions=_inside(function_arn)
    )


def outside_function_deny(sid: str, function_arn: str, actions: Sequence[str], resources: Sequence[str]) -> Statement:
    """Deny `actions` on `resources` to calls that do not carry this function's `lambda:SourceFunctionArn`. The
    Allow's own condition is not enough: a resource policy that names the role (the secret's does) grants the role's
    sessions on its own within one account, and only an explicit Deny overrides it (IAM user guide, "Policy
    evaluation logic": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    return Statement(
        sid=sid,
        effect="Deny",
        actions=tuple(actions),
        resources=tuple(resources),
        conditions={"ArnNotEquals": {SOURCE_FUNCTION_KEY: function_arn}},
    )


def endpoint_placeholder(service: str) -> str:
    """A stand-in for the id of the stack's `service` endpoint, replaced by the id itself when the document is sent
    (`PolicyDocument.to_dict_with`); the angle brackets can never be part of an endpoint id."""
    return f"<{service} endpoint id>"


def outside_endpoint_deny(
    sid: str, actions: Sequence[str], resources: Sequence[str], service: str, *, anyone: bool = False
) -> Statement:
    """Deny `actions` on `resources` to calls that did not come through the stack's `service` endpoint (named by
    `endpoint_placeholder(service)` until the document is sent). `anyone` adds `Principal: "*"`, for a resource
    policy."""
    return Statement(
        sid=sid,
        principal=Principal.anyone() if anyone else None,
        effect="Deny",
        actions=tuple(actions),
        resources=tuple(resources),
        conditions={"StringNotEquals": {SOURCE_VPCE_KEY: endpoint_placeholder(service)}},
    )
