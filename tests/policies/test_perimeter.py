"""The perimeter rules and the one unknown the first preview accepts, through the pack process.

Sources: Lambda developer guide, "Using source function ARN to control function access behavior"
(https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html: Lambda injects
`lambda:SourceFunctionArn` into the execution environment's credentials; identity policies and SCPs, not resource
policies); AWS's data perimeter examples (aws-samples/data-perimeter-policy-examples, resource_control_policies/
network_perimeter_sourcevpc_rcp.json: a Deny with Principal "*" and a negated condition on the network key);
pulumi-aws takes IAM documents as objects (its SDK types them `Union[str, PolicyDocumentArgs]`, the bridge
serialises them with TransformJSONDocument) but a secret policy only as a string (resources.go maps
aws_secretsmanager_secret_policy with no transform).
"""

from __future__ import annotations

from typing import Any

from tests.policies.builders import UNKNOWN, arn, doc, found, report, res

FUNCTION = arn("lambda", "function:ingest")
SECRET = arn("secretsmanager", "secret:team/key-??????")
TABLE = arn("dynamodb", "table/readings")
READER = arn("iam", "role/ingest-exec", region="")
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INSIDE = {"ArnEquals": {"lambda:SourceFunctionArn": FUNCTION}}
ALLOW_READERS = {
    "Effect": "Allow",
    "Principal": {"AWS": READER},
    "Action": "secretsmanager:GetSecretValue",
    "Resource": "*",
}
LAMBDA_TRUST = doc(
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
)


def network_deny(condition: dict[str, dict[str, Any]], action: str = "secretsmanager:GetSecretValue") -> dict[str, Any]:
    return {"Sid": "Net", "Effect": "Deny", "Principal": "*", "Action": action, "Resource": "*", "Condition": condition}


# --- secret-network-perimeter


def test_a_secret_policy_without_a_network_deny_is_an_advisory_finding(pack):
    bare = res(SECRET_POLICY, "bare", {"secretArn": "x", "policy": doc(ALLOW_READERS)})
    pinned = res(
        SECRET_POLICY,
        "pinned",
        {
            "secretArn": "x",
            "policy": doc(ALLOW_READERS, network_deny({"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}})),
        },
    )
    any_endpoint = res(
        SECRET_POLICY,
        "any-endpoint",
        {"secretArn": "x", "policy": doc(ALLOW_READERS, network_deny({"Null": {"aws:SourceVpce": "true"}}))},
    )
    by_vpc = res(
        SECRET_POLICY,
        "by-vpc",
        {
            "secretArn": "x",
            "policy": doc(ALLOW_READERS, network_deny({"StringNotEqualsIfExists": {"aws:SourceVpc": "vpc-1"}})),
        },
    )
    # Look-alikes that restrict nothing: a positive operator, Null false, another action, an Allow.
    positive = res(
        SECRET_POLICY,
        "positive",
        {
            "secretArn": "x",
            "policy": doc(ALLOW_READERS, network_deny({"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}})),
        },
    )
    null_false = res(
        SECRET_POLICY,
        "null-false",
        {"secretArn": "x", "policy": doc(ALLOW_READERS, network_deny({"Null": {"aws:SourceVpce": "false"}}))},
    )
    other_action = res(
        SECRET_POLICY,
        "other-action",
        {
            "secretArn": "x",
            "policy": doc(
                ALLOW_READERS,
                network_deny({"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}}, "secretsmanager:PutSecretValue"),
            ),
        },
    )

    result = report(pack, bare, pinned, any_endpoint, by_vpc, positive, null_false, other_action)
    flagged = {
        (v.urn.rsplit("::", 1)[1], v.enforcement) for v in result.violations if v.policy == "secret-network-perimeter"
    }

    assert flagged == {
        ("bare", "advisory"),
        ("positive", "advisory"),
        ("null-false", "advisory"),
        ("other-action", "advisory"),
    }
    message = next(v.message for v in result.violations if v.policy == "secret-network-perimeter")
    assert '"aws:SourceVpce"' in message
    assert "StringNotEquals" in message


# --- lambda-role-source-function


def lambda_role(name: str, *inline: dict[str, Any], trust: str = LAMBDA_TRUST) -> Any:
    policies = [{"name": "p", "policy": doc(*inline)}] if inline else []
    return res(ROLE, name, {"name": name, "assumeRolePolicy": trust, "inlinePolicies": policies})


def test_a_lambda_roles_data_plane_grants_without_the_source_function_are_an_advisory_finding(pack):
    read = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET}
    write = {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE}
    logs = {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": arn("logs", "log-group:x:*")}
    open_read = lambda_role("open-read", read)
    pinned = lambda_role("pinned", {**read, "Condition": INSIDE}, {**write, "Condition": INSIDE}, logs)
    wildcard = lambda_role("wildcard", {"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE})
    not_lambda = lambda_role(
        "ec2-role",
        read,
        trust=doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}),
    )
    holder = lambda_role("holder")
    attached = res(ROLE_POLICY, "attached", {"role": "holder", "policy": doc(write)}, prop_deps={"role": [holder]})
    attached_pinned = res(
        ROLE_POLICY, "attached-pinned", {"role": "holder", "policy": doc({**write, "Condition": INSIDE})}
    )

    assert found(
        pack,
        open_read,
        pinned,
        wildcard,
        not_lambda,
        holder,
        attached,
        attached_pinned,
        policy="lambda-role-source-function",
    ) == {
        ("lambda-role-source-function", "open-read"),
        ("lambda-role-source-function", "wildcard"),
        ("lambda-role-source-function", "attached"),
    }
    result = report(pack, open_read)
    (violation,) = [v for v in result.violations if v.policy == "lambda-role-source-function"]
    assert violation.enforcement == "advisory"
    assert "lambda:SourceFunctionArn" in violation.message
    assert "ArnEquals" in violation.message


# --- policy-known-at-preview: the one accepted unknown


def perimeter_document(endpoint_id: Any, *extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteOnlyThroughEndpoint",
                "Effect": "Deny",
                "Action": "dynamodb:BatchWriteItem",
                "Resource": TABLE,
                "Condition": {"StringNotEquals": {"aws:SourceVpce": endpoint_id}},
            },
            *extra,
        ],
    }


def planned(name: str, document: dict[str, Any], source: Any, type_: str = ROLE_POLICY) -> Any:
    """As the preview records it: the document object in the inputs, one unknown string in the planned outputs
    (the provider serialises a document holding an unknown into an unknown)."""
    inputs = {"role": "r", "policy": document}
    return res(type_, name, inputs, outputs={**inputs, "policy": UNKNOWN}, prop_deps={"policy": [source]})


def test_an_own_endpoint_id_in_a_network_condition_is_accepted_and_the_rest_is_judged(pack):
    endpoint = res(ENDPOINT, "own-endpoint", {"serviceName": "com.amazonaws.eu-west-1.dynamodb"})
    own = planned("own", perimeter_document(UNKNOWN), endpoint)
    # The same, with a wildcard grant beside it: the known part is read and the grant found.
    loose = planned("loose", perimeter_document(UNKNOWN, {"Effect": "Allow", "Action": "*", "Resource": "*"}), endpoint)

    result = report(pack, endpoint, own, loose)

    assert {v.policy for v in result.violations if v.urn.endswith("::own")} == set()
    assert "iam-no-wildcard-actions" in {v.policy for v in result.violations if v.urn.endswith("::loose")}
    assert not [v for v in result.violations if v.cant_run]


def test_a_foreign_unknown_is_still_refused(pack):
    endpoint = res(ENDPOINT, "own-endpoint", {"serviceName": "com.amazonaws.eu-west-1.dynamodb"})
    vpc = res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    # An unknown network value that flows from something else than an own endpoint.
    from_vpc = planned("from-vpc", perimeter_document(UNKNOWN), vpc)
    # An own endpoint's output at a key that names who may call, or the whole document built from it as text
    # (Output.json_dumps): the rules cannot read those parts, so the inputs' rule refuses them.
    who = perimeter_document(
        "vpce-0a1b2c3d",
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalArn": UNKNOWN}},
        },
    )
    principal = planned("principal", who, endpoint)
    whole = res(ROLE_POLICY, "whole", {"role": "r", "policy": UNKNOWN}, prop_deps={"policy": [endpoint]})
    # A secret policy is a string in pulumi-aws: an unknown there leaves nothing to judge, whatever it flows from.
    secret = res(SECRET_POLICY, "secret", {"secretArn": "x", "policy": UNKNOWN}, prop_deps={"policy": [endpoint]})

    result = report(pack, endpoint, vpc, from_vpc, principal, whole, secret)
    refused = {
        (v.policy, v.urn.rsplit("::", 1)[1], v.enforcement)
        for v in result.violations
        if v.policy in ("policy-known-at-preview", "policy-unknown-only-endpoint-ids")
    }

    assert refused == {
        ("policy-known-at-preview", "from-vpc", "mandatory"),
        ("policy-known-at-preview", "secret", "mandatory"),
        ("policy-unknown-only-endpoint-ids", "principal", "mandatory"),
        ("policy-unknown-only-endpoint-ids", "whole", "mandatory"),
    }
