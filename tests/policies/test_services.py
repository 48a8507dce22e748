"""Secrets Manager, KMS, network and logs rules, through the pack process.

Stack fixtures mirror the real program's first preview: computed ids and ARNs are UNKNOWN and resources are related
through the engine's dependencies and property dependencies only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from mock_engine.recorded import RecordedResource
from tests.policies.builders import ACCOUNT, UNKNOWN, arn, doc, found, report, res

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
READER = f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-fn"
KEY_ALIAS = arn("kms", "alias/keyless-ingest-prod-secret")


def read(principal: object, **extra: object) -> dict[str, object]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        **extra,
    }


DENY_OTHERS = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:PrincipalArn": [READER]}},
}
DENY_OUTSIDE = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": "*",
    "Condition": {"Null": {"aws:SourceVpce": "true"}},
}


def secret(name: str, kms_key_id: object = KEY_ALIAS) -> RecordedResource:
    return res(SECRET, name, {"name": f"thirdparty/{name}", "kmsKeyId": kms_key_id})


def secret_policy(name: str, target: RecordedResource, *statements: Mapping[str, object]) -> RecordedResource:
    return res(
        SECRET_POLICY, name, {"secretArn": UNKNOWN, "policy": doc(*statements)}, prop_deps={"secretArn": [target]}
    )


def test_strict_secret_policy_passes(pack):
    # GIVEN the real stack's policy: allow the reader, deny everyone else (the Deny with Principal "*" is the trap)
    # and every read from outside a VPC endpoint
    target = secret("s")
    policy = secret_policy("s-policy", target, read({"AWS": [READER]}), DENY_OTHERS, DENY_OUTSIDE)
    # (the fixture has no unexpected-access alarm; tests/policies/test_monitoring_rule.py covers that rule)
    assert found(pack, target, policy) == {("secret-unexpected-access-alarm", "s")}


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        (read("*"), True),
        (read({"AWS": "*"}), True),
        (read({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), True),
        (read({"AWS": ACCOUNT}), True),
        ({**read({"AWS": "*"}), "Action": "secretsmanager:*"}, True),
        ({"Effect": "Allow", "NotPrincipal": {"AWS": READER}, "Action": "*", "Resource": "*"}, True),
        (read("*", Condition={"StringEquals": {"aws:PrincipalArn": READER}}), False),
        (read({"AWS": READER}), False),
        ({**read("*"), "Action": "secretsmanager:DescribeSecret"}, False),
    ],
)
def test_public_or_account_wide_read(pack, statement, public):
    target = secret("s")
    policy = secret_policy("p", target, statement)
    expected = {("secret-policy-not-public", "p")} if public else set()
    assert found(pack, target, policy, policy="secret-policy-not-public") == expected


def test_every_secret_needs_a_policy_naming_roles(pack):
    bare = secret("bare")
    account_only = secret("account-only")
    good = secret("good")
    inline = res(SECRET, "inline", {"kmsKeyId": KEY_ALIAS, "policy": doc(read({"AWS": READER}))})
    resources = [
        bare,
        account_only,
        good,
        inline,
        secret_policy("account-only-policy", account_only, read({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})),
        secret_policy("good-policy", good, read({"AWS": READER}), DENY_OTHERS),
    ]
    assert found(pack, *resources, policy="secret-requires-resource-policy") == {
        ("secret-requires-resource-policy", "bare"),
        ("secret-requires-resource-policy", "account-only"),
    }


def test_secret_policy_bound_by_known_arn(pack):
    # GIVEN a later preview, where the secret's ARN is known and the policy names it
    secret_arn = arn("secretsmanager", "secret:thirdparty/s-AbCdEf")
    target = res(SECRET, "s", {"kmsKeyId": KEY_ALIAS}, outputs={"kmsKeyId": KEY_ALIAS, "arn": secret_arn})
    policy = res(SECRET_POLICY, "p", {"secretArn": secret_arn, "policy": doc(read({"AWS": READER}))})
    assert found(pack, target, policy, policy="secret-requires-resource-policy") == set()


@pytest.mark.parametrize(
    ("kms_key_id", "bad"),
    [
        (KEY_ALIAS, False),
        (UNKNOWN, False),  # the computed id of a key created in this stack
        (arn("kms", "key/6f1c2a3e-8d9b-4c7a-9e2f-1a2b3c4d5e6f"), False),
        (None, True),
        ("alias/aws/secretsmanager", True),
        (arn("kms", "alias/aws/secretsmanager"), True),
    ],
)
def test_secret_customer_managed_key(pack, kms_key_id, bad):
    expected = {("secret-customer-managed-kms", "s")} if bad else set()
    assert found(pack, secret("s", kms_key_id), policy="secret-customer-managed-kms") == expected


def test_secret_version_from_program(pack):
    version_type = "aws:secretsmanager/secretVersion:SecretVersion"
    literal = res(version_type, "literal", {"secretId": UNKNOWN, "secretString": "value-from-config"})
    computed = res(version_type, "computed", {"secretId": UNKNOWN, "secretBinary": UNKNOWN})
    assert found(pack, literal, computed, policy="secret-no-value-in-program") == {
        ("secret-no-value-in-program", "literal"),
        ("secret-no-value-in-program", "computed"),
    }


ROOT_DELEGATION = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
DECRYPT_VIA_SM = {
    "Effect": "Allow",
    "Principal": {"AWS": READER},
    "Action": "kms:Decrypt",
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
}


def key(name: str, **inputs: object) -> RecordedResource:
    return res("aws:kms/key:Key", name, {"enableKeyRotation": True, **inputs})


def test_kms_rotation(pack):
    keys = [
        key("rotated"),
        key("not-rotated", enableKeyRotation=False),
        key("default-off", enableKeyRotation=None),
        key("asymmetric", enableKeyRotation=False, customerMasterKeySpec="RSA_2048", keyUsage="SIGN_VERIFY"),
        key("hmac", enableKeyRotation=False, keySpec="HMAC_256", keyUsage="GENERATE_VERIFY_MAC"),
    ]
    assert found(pack, *keys, policy="kms-key-rotation") == {
        ("kms-key-rotation", "not-rotated"),
        ("kms-key-rotation", "default-off"),
    }


def test_kms_key_policy(pack):
    strict = key("strict", policy=doc(ROOT_DELEGATION, DECRYPT_VIA_SM))
    open_key = key("open", policy=doc({**DECRYPT_VIA_SM, "Principal": "*", "Condition": {}}))
    conditioned = key("conditioned", policy=doc({**DECRYPT_VIA_SM, "Principal": {"AWS": "*"}}))
    separate = res(
        "aws:kms/keyPolicy:KeyPolicy",
        "separate",
        {"keyId": UNKNOWN, "policy": doc({**ROOT_DELEGATION, "Principal": "*"})},
    )
    assert found(pack, strict, open_key, conditioned, separate, policy="kms-key-policy-no-public") == {
        ("kms-key-policy-no-public", "open"),
        # kms:ViaService says through which service, not who calls: any principal of any account still matches.
        ("kms-key-policy-no-public", "conditioned"),
        ("kms-key-policy-no-public", "separate"),
    }


# --- network: the create-mode graph of the real stack (ids unknown, relations through dependencies)


def network(
    *, endpoint_dns: bool = True, ingress: list[dict[str, object]] | None = None, dynamodb: bool = True
) -> list[RecordedResource]:
    vpc = res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    subnet = res(
        "aws:ec2/subnet:Subnet", "subnet-a", {"vpcId": UNKNOWN, "cidrBlock": "10.0.1.0/24"}, prop_deps={"vpcId": [vpc]}
    )
    lambda_sg = res("aws:ec2/securityGroup:SecurityGroup", "lambda-sg", {"vpcId": UNKNOWN}, prop_deps={"vpcId": [vpc]})
    rules = (
        ingress
        if ingress is not None
        else [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "securityGroups": UNKNOWN}]
    )
    endpoint_sg = res(
        "aws:ec2/securityGroup:SecurityGroup",
        "endpoint-sg",
        {"vpcId": UNKNOWN, "ingress": rules},
        prop_deps={"vpcId": [vpc], "ingress": [lambda_sg]},
    )
    endpoint = res(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "secretsmanager",
        {
            "vpcId": UNKNOWN,
            "serviceName": "com.amazonaws.eu-west-1.secretsmanager",
            "vpcEndpointType": "Interface",
            "privateDnsEnabled": endpoint_dns,
            "securityGroupIds": UNKNOWN,
            "subnetIds": UNKNOWN,
        },
        prop_deps={"vpcId": [vpc], "securityGroupIds": [endpoint_sg], "subnetIds": [subnet]},
    )
    gateway = res(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "dynamodb",
        {"vpcId": UNKNOWN, "serviceName": "com.amazonaws.eu-west-1.dynamodb", "vpcEndpointType": "Gateway"},
        prop_deps={"vpcId": [vpc]},
    )
    fn = res(
        "aws:lambda/function:Function",
        "fn",
        {"name": "fn", "vpcConfig": {"subnetIds": UNKNOWN, "securityGroupIds": UNKNOWN}},
        prop_deps={"vpcConfig": [subnet, lambda_sg]},
    )
    return [vpc, subnet, lambda_sg, endpoint_sg, endpoint, *([gateway] if dynamodb else []), fn]


NETWORK_RULES = {"vpc-secretsmanager-endpoint", "vpc-endpoint-sg-https-only", "vpc-dynamodb-gateway-endpoint"}


def network_found(pack, resources) -> set[tuple[str, str]]:
    return {v for v in found(pack, *resources) if v[0] in NETWORK_RULES}


def test_create_mode_network_passes_without_reading_unknowns(pack):
    result = report(pack, *network())
    assert network_found(pack, network()) == set()
    assert result.not_run_for_unknowns == 0


def test_existing_mode_network_with_literal_ids_passes(pack):
    sg = res(
        "aws:ec2/securityGroup:SecurityGroup",
        "endpoint-sg",
        {
            "vpcId": "vpc-0abc",
            "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "securityGroups": UNKNOWN}],
        },
    )
    lambda_sg = res("aws:ec2/securityGroup:SecurityGroup", "lambda-sg", {"vpcId": "vpc-0abc"})
    endpoint = res(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "sm",
        {
            "vpcId": "vpc-0abc",
            "serviceName": "com.amazonaws.eu-west-1.secretsmanager",
            "vpcEndpointType": "Interface",
            "privateDnsEnabled": True,
            "securityGroupIds": UNKNOWN,
        },
        prop_deps={"securityGroupIds": [sg]},
    )
    gateway = res(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "ddb",
        {"vpcId": "vpc-0abc", "serviceName": "com.amazonaws.eu-west-1.dynamodb", "vpcEndpointType": "Gateway"},
    )
    fn = res(
        "aws:lambda/function:Function",
        "fn",
        {"name": "fn", "vpcConfig": {"subnetIds": ["subnet-0a", "subnet-0b"], "securityGroupIds": UNKNOWN}},
        prop_deps={"vpcConfig": [lambda_sg]},
    )
    assert network_found(pack, [sg, lambda_sg, endpoint, gateway, fn]) == set()


def test_missing_or_misconfigured_endpoints(pack):
    without_dns = network(endpoint_dns=False, dynamodb=False)
    assert network_found(pack, without_dns) == {
        ("vpc-secretsmanager-endpoint", "fn"),
        ("vpc-dynamodb-gateway-endpoint", "fn"),
    }
    levels = {v.policy: v.enforcement for v in report(pack, *without_dns).violations}
    assert levels["vpc-dynamodb-gateway-endpoint"] == "advisory"


def test_endpoint_in_another_vpc_does_not_count(pack):
    resources = network()
    other_vpc = res("aws:ec2/vpc:Vpc", "other", {"cidrBlock": "10.1.0.0/16"})
    moved = [
        RecordedResource(
            **{**r.__dict__, "property_dependencies": {**r.property_dependencies, "vpcId": (other_vpc.urn,)}}
        )
        if r.name in ("secretsmanager", "dynamodb")
        else r
        for r in resources
    ]
    assert network_found(pack, [other_vpc, *moved]) == {
        ("vpc-secretsmanager-endpoint", "fn"),
        ("vpc-dynamodb-gateway-endpoint", "fn"),
    }


@pytest.mark.parametrize(
    ("rule", "bad"),
    [
        ({"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/16"]}, False),
        ({"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}, True),
        ({"protocol": "tcp", "fromPort": 443, "toPort": 443, "ipv6CidrBlocks": ["::/0"]}, True),
        ({"protocol": "tcp", "fromPort": 0, "toPort": 65535, "securityGroups": UNKNOWN}, True),
        ({"protocol": "-1", "fromPort": 0, "toPort": 0, "securityGroups": UNKNOWN}, True),
    ],
)
def test_endpoint_security_group_ingress(pack, rule, bad):
    expected = {("vpc-endpoint-sg-https-only", "endpoint-sg")} if bad else set()
    assert found(pack, *network(ingress=[rule]), policy="vpc-endpoint-sg-https-only") == expected


def test_separate_ingress_rule_resources_are_checked(pack):
    resources = network(ingress=[])
    endpoint_sg = next(r for r in resources if r.name == "endpoint-sg")
    open_rule = res(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "open",
        {"securityGroupId": UNKNOWN, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
        prop_deps={"securityGroupId": [endpoint_sg]},
    )
    assert found(pack, *resources, open_rule, policy="vpc-endpoint-sg-https-only") == {
        ("vpc-endpoint-sg-https-only", "endpoint-sg")
    }


# --- logs


def test_log_group_retention_and_function_log_groups(pack):
    kept = res("aws:cloudwatch/logGroup:LogGroup", "kept", {"name": "/aws/lambda/with-group", "retentionInDays": 14})
    forever = res("aws:cloudwatch/logGroup:LogGroup", "forever", {"name": "/aws/lambda/forever-fn"})
    with_group = res("aws:lambda/function:Function", "with-group", {"name": "with-group"})
    wired = res(
        "aws:lambda/function:Function",
        "wired",
        {"name": "wired", "loggingConfig": {"logFormat": "JSON", "logGroup": UNKNOWN}},
        prop_deps={"loggingConfig": [kept]},
    )
    forever_fn = res("aws:lambda/function:Function", "forever-fn", {"name": "forever-fn"})
    orphan = res("aws:lambda/function:Function", "orphan", {"name": "orphan"})
    assert {v for v in found(pack, kept, forever, with_group, wired, forever_fn, orphan) if v[0].startswith("l")} == {
        ("log-group-retention", "forever"),
        ("lambda-log-group", "forever-fn"),
        ("lambda-log-group", "orphan"),
    }


def test_policy_config_levels(pack):
    # GIVEN the shipped dev config, which relaxes cost-driven rules to advisory
    from tests.policies.conftest import REPO

    dev = json.loads((REPO / "policies" / "config" / "dev.json").read_text())
    result = report(pack, secret("s", None), config=dev)
    levels = {v.policy: v.enforcement for v in result.violations}
    assert levels == {
        "secret-customer-managed-kms": "advisory",
        "secret-requires-resource-policy": "mandatory",
        "secret-unexpected-access-alarm": "advisory",
    }
    disabled = report(pack, secret("s", None), config={"all": "disabled"})
    assert disabled.violations == []
