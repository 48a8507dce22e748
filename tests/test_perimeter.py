"""The perimeter, evaluated on the plans' own policies: the function's credentials work only inside the function and
only through the stack's endpoints; anyone else is refused as before.

Four cases per plan (prod and dev as their stack files say, an adopted VPC with and without its own endpoints,
rotation on), with every id known (a plan after the first `pulumi up`):
- the function through its endpoints: allowed;
- the same credentials without `lambda:SourceFunctionArn` (used anywhere but inside the function): denied. Lambda
  injects the key into the execution environment's credentials and documents it for this use, in identity policies
  and SCPs, not in resource-based policies (Lambda developer guide, "Using source function ARN to control function
  access behavior": https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html);
- the same credentials outside the endpoint (no `aws:SourceVpce`, as from the internet, or another VPC's endpoint):
  denied. `aws:SourceVpce` is in the request context only for a call made through a VPC endpoint, and CloudTrail
  records the same id as `vpcEndpointId` (IAM user guide, global condition keys:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcevpce;
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html);
- anyone else, even with an identity policy granting every secret: denied.

Evaluation follows AWS's logic within one account (tests/iam_evaluation.py): an explicit Deny in any policy wins,
and a resource policy that names the role grants its sessions on its own, which is why the role carries an explicit
Deny (`ReadApiKeyOnlyInsideTheFunction`) and not only a condition on its Allow
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).

The table's perimeter is a Deny in the role's policy, not a DynamoDB resource-based policy (README, "The
perimeter"): the threat is this one role's credentials, the role's own policy already carries the function condition
that a resource policy cannot (lambda:SourceFunctionArn is for identity policies and SCPs), and a table policy would
add a resource type and deploy grants for the same effect, capped at 20 KB ("DynamoDB resource-based policy
considerations": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/rbac-considerations.html; examples:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/rbac-examples.html). No AWS page found here states
in so many words that a table policy honours aws:SourceVpce; the role's Deny does not depend on it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components.grants import SECRET_READ_ACTIONS, TABLE_WRITE_ACTIONS
from offline_preview.cli import ProgramRun, run_program
from tests.iam_evaluation import Request, evaluate
from tests.stack_inspection import ACCOUNT, EXISTING_NETWORK, REGION, ROTATION, ROTATION_ROLE, document, of_type, only

ROOT = Path(__file__).resolve().parent.parent
EXISTING_VPC = EXISTING_NETWORK
NAMED_SM, NAMED_DDB = "vpce-0123456789abcdef0", "vpce-0fedcba9876543210"
PLANS: dict[str, tuple[str, dict[str, str]]] = {
    "prod": ("prod", {}),
    "dev": ("dev", {}),
    "existing-vpc": ("prod", EXISTING_VPC),
    "existing-endpoints": (
        "prod",
        {
            **EXISTING_VPC,
            "keyless-ingest:secretsManagerEndpointId": NAMED_SM,
            "keyless-ingest:dynamodbEndpointId": NAMED_DDB,
        },
    ),
    "rotation": ("prod", ROTATION),
}
ELSEWHERE = "vpce-0badbadbadbadbad0"
"""Another VPC's endpoint, e.g. one in the attacker's own account."""
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


@cache
def plan(name: str) -> ProgramRun:
    stack, overrides = PLANS[name]
    return run_program(ROOT, stack, first_preview=False, config_overrides=overrides)


class Perimeter:
    """One plan's policies and the values a real call would carry."""

    def __init__(self, name: str) -> None:
        run = plan(name)
        self.stack = PLANS[name][0]
        prefix = f"keyless-ingest-{self.stack}"
        self.role = f"arn:aws:iam::{ACCOUNT}:role/{prefix}-ingest-exec"
        self.function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{prefix}-ingest"
        self.table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{prefix}-readings"
        self.secret = only(run, "aws:secretsmanager/secret:Secret").outputs["arn"]
        self.role_documents = [document(r) for r in of_type(run, "aws:iam/rolePolicy:RolePolicy")]
        self.secret_policy = document(only(run, "aws:secretsmanager/secretPolicy:SecretPolicy"))
        endpoints = {r.inputs["serviceName"].rsplit(".", 1)[1]: r.outputs["id"] for r in of_type(run, ENDPOINT)}
        self.sm_endpoint = endpoints.get("secretsmanager", NAMED_SM)
        self.ddb_endpoint = endpoints.get("dynamodb", NAMED_DDB)

    def read(self, principal: str, own_policies: list[dict[str, Any]], **context: str) -> str:
        (action,) = SECRET_READ_ACTIONS
        request = Request(action, self.secret, {"aws:PrincipalArn": principal, **context}, principal)
        return evaluate([*own_policies, self.secret_policy], request)

    def write(self, **context: str) -> str:
        (action,) = TABLE_WRITE_ACTIONS
        return evaluate(self.role_documents, Request(action, self.table, {"aws:PrincipalArn": self.role, **context}))

    def inside(self, endpoint: str) -> dict[str, str]:
        return {"lambda:SourceFunctionArn": self.function, "aws:SourceVpce": endpoint}


@pytest.fixture(params=list(PLANS), scope="module")
def perimeter(request: pytest.FixtureRequest) -> Perimeter:
    return Perimeter(request.param)


def test_the_role_pins_each_service_to_the_stacks_own_endpoint(perimeter):
    """In existing mode, a named endpoint is used; otherwise the one the stack creates."""
    pinned = {
        statement["Sid"]: statement["Condition"]["StringNotEquals"]["aws:SourceVpce"]
        for doc in perimeter.role_documents
        for statement in doc["Statement"]
        if "aws:SourceVpce" in statement.get("Condition", {}).get("StringNotEquals", {})
    }

    assert pinned == {
        "ReadApiKeyOnlyThroughEndpoint": perimeter.sm_endpoint,
        "WriteReadingsOnlyThroughEndpoint": perimeter.ddb_endpoint,
    }
    assert perimeter.sm_endpoint != perimeter.ddb_endpoint


def test_the_function_through_its_endpoints_is_allowed(perimeter):
    assert perimeter.read(perimeter.role, perimeter.role_documents, **perimeter.inside(perimeter.sm_endpoint)) == (
        "allow"
    )
    assert perimeter.write(**perimeter.inside(perimeter.ddb_endpoint)) == "allow"


def test_the_same_credentials_without_the_source_function_are_denied(perimeter):
    """Through the right endpoint but not from inside the function: e.g. credentials copied to another host in the
    VPC. The secret policy's Allow names the role, so only the role's explicit Deny stops this read."""
    assert perimeter.read(perimeter.role, perimeter.role_documents, **{"aws:SourceVpce": perimeter.sm_endpoint}) == (
        "explicit-deny"
    )
    assert perimeter.write(**{"aws:SourceVpce": perimeter.ddb_endpoint}) == "explicit-deny"


@pytest.mark.parametrize("where", ["internet", "another endpoint", "the other service's endpoint"])
def test_the_same_credentials_outside_the_endpoint_are_denied(perimeter, where):
    """Even carrying the function's key (an SSRF or a dependency inside the function that sends its calls out)."""
    sm, ddb = {
        "internet": (None, None),
        "another endpoint": (ELSEWHERE, ELSEWHERE),
        "the other service's endpoint": (perimeter.ddb_endpoint, perimeter.sm_endpoint),
    }[where]
    context = {"lambda:SourceFunctionArn": perimeter.function}

    assert perimeter.read(perimeter.role, perimeter.role_documents, **context, **_vpce(sm)) == "explicit-deny"
    assert perimeter.write(**context, **_vpce(ddb)) == "explicit-deny"


def test_anyone_else_is_denied_even_with_a_grant_on_every_secret(perimeter):
    admin = f"arn:aws:iam::{ACCOUNT}:role/Admin"
    everything = {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}

    assert perimeter.read(admin, [everything], **{"aws:SourceVpce": perimeter.sm_endpoint}) == "explicit-deny"
    assert perimeter.read(admin, [everything]) == "explicit-deny"


def test_the_secret_policy_itself_refuses_a_read_from_outside_any_endpoint(perimeter):
    """The resource policy's own share, which holds whoever the reader is (the rotation role too): a call that
    came through no VPC endpoint is denied, whatever the caller's identity policy says."""
    everything = {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}

    assert perimeter.read(perimeter.role, [everything]) == "explicit-deny"
    assert perimeter.read(perimeter.role, [everything], **{"aws:SourceVpce": perimeter.sm_endpoint}) == "allow"


def test_a_named_endpoint_is_pinned_in_the_secret_policy_too():
    """An adopted VPC's endpoint id is known before anything is created, so the secret's own policy names it: even a
    reader whose identity policy allows everything is refused through another endpoint."""
    perimeter = Perimeter("existing-endpoints")
    everything = {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}

    assert perimeter.read(perimeter.role, [everything], **{"aws:SourceVpce": ELSEWHERE}) == "explicit-deny"
    assert perimeter.read(perimeter.role, [everything], **{"aws:SourceVpce": NAMED_SM}) == "allow"


def test_the_rotation_role_reads_through_an_endpoint_or_not_at_all():
    """The rotation function is a reader too, and gets no exception from the network perimeter: outside any VPC
    endpoint its read is denied. Which endpoint it uses is its own role's to pin (this stack does not write that
    role's policy), and the endpoint policy of this stack's endpoint admits it (test_aws_contract)."""
    perimeter = Perimeter("rotation")
    rotation_policy = {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}

    assert perimeter.read(ROTATION_ROLE, [rotation_policy], **{"aws:SourceVpce": perimeter.sm_endpoint}) == "allow"
    assert perimeter.read(ROTATION_ROLE, [rotation_policy]) == "explicit-deny"
    # The documented limit, pinned: another VPC's endpoint is not refused by this secret's policy in create mode
    # (its id is assigned by AWS, and a secret policy is a string pulumi-aws cannot take partly unknown).
    assert perimeter.read(ROTATION_ROLE, [rotation_policy], **{"aws:SourceVpce": ELSEWHERE}) == "allow"


def _vpce(endpoint: str | None) -> dict[str, str]:
    return {} if endpoint is None else {"aws:SourceVpce": endpoint}
