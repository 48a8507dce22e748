"""One failing and one passing example per rule, with why the rule exists: the fixtures the rule pages are made of.

`tests/policies/rule_pages.py` renders `policies/rules/<rule>.md` from these and from the pack's own metadata
(GetAnalyzerInfo); `tests/policies/test_rule_pages.py` runs every example through the pack process and fails when a
failing example stops failing, a passing one starts failing, or a page differs from what the generator writes.

A passing example is judged for its own rule only (other rules may have something to say about a fixture cut this
small). Values that look like credentials are never written here: the credential examples use a word password
(`hunter2-...`) under a secret-like name, which every credential rule refuses as a literal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi

from components.aws_context import AwsContext
from components.monitoring_model import SecretReads
from components.secret_audience import SecretAudience
from mock_engine.recorded import RecordedResource
from tests.policies.builders import ACCOUNT, REGION, UNKNOWN, arn, doc, res
from tests.policies.test_services import network

ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
ROLE: Final = "aws:iam/role:Role"
SECRET: Final = "aws:secretsmanager/secret:Secret"
SECRET_POLICY: Final = "aws:secretsmanager/secretPolicy:SecretPolicy"
FUNCTION: Final = "aws:lambda/function:Function"
LOG_GROUP: Final = "aws:cloudwatch/logGroup:LogGroup"
TRAIL: Final = "aws:cloudtrail/trail:Trail"
SECRET_PATTERN: Final = arn("secretsmanager", "secret:thirdparty/weather-api-key-??????")
READER: Final = f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-ingest-exec"
KEY_ALIAS: Final = arn("kms", "alias/keyless-ingest-prod-secret")
KEY_ARN: Final = arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
GITHUB: Final = "token.actions.githubusercontent.com"
WORD_PASSWORD: Final = "hunter2-" + "correct-horse"
"""A literal under a secret-like name: refused by every credential rule, and no scanner's idea of a key."""


@dataclass(frozen=True)
class Example:
    """A rule's reason to exist and two small stacks: one it refuses, one it accepts."""

    why: str
    failing: Sequence[RecordedResource]
    passing: Sequence[RecordedResource]


def role_policy(name: str, *statements: Mapping[str, Any]) -> RecordedResource:
    return res(ROLE_POLICY, name, {"role": "keyless-ingest-prod-ingest-exec", "policy": doc(*statements)})


def allow(action: object, resource: object, **extra: object) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust_role(name: str, *statements: Mapping[str, Any]) -> RecordedResource:
    return res(ROLE, name, {"name": name, "assumeRolePolicy": doc(*statements)})


def github_trust(**operators: Mapping[str, Any]) -> dict[str, Any]:
    condition: dict[str, Any] = {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}}
    for operator, clauses in operators.items():
        condition.setdefault(operator, {}).update(clauses)
    return {
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition,
    }


def secret(name: str = "weather-api-key", **inputs: Any) -> RecordedResource:
    return res(SECRET, name, {"name": f"thirdparty/{name}", **inputs})


def read(principal: object, **extra: object) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        **extra,
    }


DENY_OTHERS: Final = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:PrincipalArn": [READER]}},
}


def secret_policy(target: RecordedResource, *statements: Mapping[str, Any]) -> RecordedResource:
    return res(
        SECRET_POLICY,
        f"{target.name}-policy",
        {"secretArn": UNKNOWN, "policy": doc(*statements)},
        prop_deps={"secretArn": [target]},
    )


def function(name: str = "ingest", **inputs: Any) -> RecordedResource:
    return res(FUNCTION, name, {"name": name, "runtime": "python3.12", "handler": "handler.main", **inputs})


def container_task(environment: Sequence[Mapping[str, str]], secrets: Sequence[Mapping[str, str]] = ()) -> Any:
    definition = {
        "name": "app",
        "image": "public.ecr.aws/docker/library/python:3.12",
        "environment": list(environment),
        "secrets": list(secrets),
    }
    return res(
        "aws:ecs/taskDefinition:TaskDefinition",
        "app",
        {"family": "app", "containerDefinitions": json.dumps([definition])},
    )


def cloudtrail_role(condition: Mapping[str, Any] | None) -> RecordedResource:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if condition is not None:
        statement["Condition"] = dict(condition)
    return res(ROLE, "trail-delivery", {"name": "ki-prod-cloudtrail-to-logs", "assumeRolePolicy": doc(statement)})


def trail(**inputs: Any) -> RecordedResource:
    return res(
        TRAIL,
        "audit",
        {
            "name": "ki-prod-audit",
            "s3BucketName": f"ki-prod-trail-{ACCOUNT}",
            "kmsKeyId": KEY_ARN,
            "cloudWatchLogsGroupArn": arn("logs", "log-group:/aws/cloudtrail/ki-prod:*"),
            "cloudWatchLogsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ki-prod-cloudtrail-to-logs",
            **inputs,
        },
    )


def _alarmed_secret() -> list[RecordedResource]:
    name = "keyless-ingest/prod/weather-api-key"
    reads = SecretReads(SecretAudience.of(AwsContext("aws", REGION, ACCOUNT), name, [READER]))
    namespace = "KeylessIngest/prod"
    metric_filter = res(
        "aws:cloudwatch/logMetricFilter:LogMetricFilter",
        "unexpected-reads",
        {
            "logGroupName": "org-trail/management-events",
            "pattern": reads.reads_by_others(),
            "metricTransformation": {"name": "UnexpectedSecretReads", "namespace": namespace, "value": "1"},
        },
    )
    alarm = res(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "unexpected-reads-alarm",
        {
            "name": "unexpected-reads",
            "namespace": namespace,
            "metricName": "UnexpectedSecretReads",
            "statistic": "Sum",
            "threshold": 1,
            "comparisonOperator": "GreaterThanOrEqualToThreshold",
            "period": 300,
            "evaluationPeriods": 1,
            "alarmActions": [arn("sns", "keyless-ingest-prod-secret-alarms")],
        },
    )
    return [res(SECRET, "api-key-secret", {"name": name}), metric_filter, alarm]


ENDPOINT_ID: Final = "vpce-0123456789abcdef0"
FUNCTION_ARN: Final = arn("lambda", "function:keyless-ingest-prod-ingest")
TABLE_ARN: Final = arn("dynamodb", "table/keyless-ingest-prod-readings")
LAMBDA_TRUST: Final = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
READINGS_TABLE: Final = res(
    "aws:dynamodb/table:Table", "readings", {"hashKey": "city", "billingMode": "PAY_PER_REQUEST"}
)
DYNAMODB_ENDPOINT: Final = res(
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "dynamodb-endpoint",
    {"serviceName": f"com.amazonaws.{REGION}.dynamodb", "vpcEndpointType": "Gateway"},
)
NETWORK_DENY: Final = {
    "Sid": "DenyReadsOutsideTheEndpoint",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:SourceVpce": ENDPOINT_ID}},
}


def execution_role() -> RecordedResource:
    """The function's execution role, named as `role_policy` attaches to it."""
    return trust_role("keyless-ingest-prod-ingest-exec", LAMBDA_TRUST)


def write_through_endpoint(endpoint_id: object) -> dict[str, Any]:
    """A role-policy document object (pulumi-aws takes IAM documents as objects) denying table writes that did not
    come through the DynamoDB gateway endpoint, as the stack's `<function>-network-perimeter` policy does."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteReadingsOnlyThroughEndpoint",
                "Effect": "Deny",
                "Action": ["dynamodb:BatchWriteItem", "dynamodb:PutItem"],
                "Resource": TABLE_ARN,
                "Condition": {"StringNotEquals": {"aws:SourceVpce": endpoint_id}},
            }
        ],
    }


def planned_document(name: str, document: Mapping[str, Any], source: RecordedResource) -> RecordedResource:
    """A role policy as the first preview records it: the document object, holding unknowns, in the inputs; one
    unknown string in the planned outputs (the provider serialises a document holding an unknown into an unknown)."""
    inputs = {"role": "keyless-ingest-prod-ingest-exec", "policy": dict(document)}
    return res(ROLE_POLICY, name, inputs, outputs={**inputs, "policy": UNKNOWN}, prop_deps={"policy": [source]})


HANDLER: Final = (
    "import boto3\n\n\ndef main(event, context):\n"
    '    key = boto3.client("secretsmanager").get_secret_value(SecretId="thirdparty/weather-api-key")\n'
    '    return {"ok": bool(key)}\n'
)

EXAMPLES: Final[dict[str, Example]] = {
    "iam-no-wildcard-actions": Example(
        why="A wildcard grants every action the service has and every action it will add, including ones that read "
        "or delete secrets; least privilege lists what the code calls.",
        failing=[role_policy("reader-policy", allow("secretsmanager:*", SECRET_PATTERN))],
        passing=[role_policy("reader-policy", allow("secretsmanager:GetSecretValue", SECRET_PATTERN))],
    ),
    "iam-no-not-action-allow": Example(
        why="`NotAction` in an Allow grants everything except a list, so it widens silently as AWS adds actions.",
        failing=[role_policy("broad-policy", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})],
        passing=[role_policy("deny-policy", {"Effect": "Deny", "NotAction": "iam:GetRole", "Resource": "*"})],
    ),
    "iam-no-star-resource": Example(
        why='`Resource: "*"` on an action that supports resource-level permissions grants it on every resource of '
        "the account, such as every secret instead of the one the function reads.",
        failing=[role_policy("reader-policy", allow("secretsmanager:GetSecretValue", "*"))],
        passing=[role_policy("reader-policy", allow("secretsmanager:GetSecretValue", SECRET_PATTERN))],
    ),
    "iam-no-broad-resource-arns": Example(
        why="An ARN whose wildcard covers a whole service, account or resource type is `*` in all but name.",
        failing=[
            role_policy("reader-policy", allow("secretsmanager:GetSecretValue", arn("secretsmanager", "secret:*")))
        ],
        passing=[role_policy("reader-policy", allow("secretsmanager:GetSecretValue", SECRET_PATTERN))],
    ),
    "iam-no-broad-managed-policies": Example(
        why="AWS-managed administrator, power-user and `*FullAccess` policies grant far more than any one workload "
        "needs, and change when AWS changes them.",
        failing=[
            res(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "admin",
                {"role": "ci", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            )
        ],
        passing=[
            res(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "basic-execution",
                {"role": "ingest", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
            )
        ],
    ),
    "iam-no-access-keys": Example(
        why="An access key is a long-lived credential that must be stored and rotated somewhere; roles give "
        "short-lived credentials to workloads and CI (OIDC) instead.",
        failing=[res("aws:iam/accessKey:AccessKey", "ci-key", {"user": "ci"})],
        passing=[
            trust_role(
                "ci-deploy",
                github_trust(StringEquals={f"{GITHUB}:sub": "repo:acme/keyless-ingest:environment:prod"}),
            )
        ],
    ),
    "iam-policy-valid": Example(
        why="IAM accepts a policy naming an action that does not exist and silently grants nothing: the grant the "
        "author meant is missing, and a later rename may grant something else.",
        failing=[role_policy("writer-policy", allow("dynamodb:BatchWriteItems", arn("dynamodb", "table/readings")))],
        passing=[role_policy("writer-policy", allow("dynamodb:BatchWriteItem", arn("dynamodb", "table/readings")))],
    ),
    "policy-known-at-preview": Example(
        why="A policy document built from outputs unknown at preview cannot be judged; without this rule a wildcard "
        "inside it would pass the first preview unseen.",
        failing=[res(ROLE_POLICY, "computed-policy", {"role": "ingest", "policy": UNKNOWN})],
        passing=[role_policy("known-policy", allow("secretsmanager:GetSecretValue", SECRET_PATTERN))],
    ),
    "policy-unknown-only-endpoint-ids": Example(
        why="pulumi-aws takes IAM documents as objects, so one can hold the output of a resource the same run "
        "creates. The pack reads the known part of such a document at preview and accepts an unknown only as the id "
        "of a VPC endpoint in an `aws:SourceVpce` condition, a network perimeter whose endpoint does not exist yet; "
        "an unknown anywhere else (the resource, who may call) hides the part of the grant that matters from every "
        "rule of the pack when the preview is reviewed.",
        failing=[
            READINGS_TABLE,
            planned_document(
                "writer-policy",
                {
                    "Version": "2012-10-17",
                    "Statement": [allow(["dynamodb:BatchWriteItem", "dynamodb:PutItem"], UNKNOWN)],
                },
                READINGS_TABLE,
            ),
        ],
        passing=[
            DYNAMODB_ENDPOINT,
            planned_document("network-perimeter", write_through_endpoint(UNKNOWN), DYNAMODB_ENDPOINT),
        ],
    ),
    "iam-trust-oidc-subject": Example(
        why="A role that trusts an OIDC issuer without pinning the subject can be assumed by any repository or "
        "pipeline on that issuer, including other organisations'.",
        failing=[trust_role("ci-deploy", github_trust())],
        passing=[
            trust_role(
                "ci-deploy",
                github_trust(StringEquals={f"{GITHUB}:sub": "repo:acme/keyless-ingest:environment:prod"}),
            )
        ],
    ),
    "iam-trust-oidc-subject-exact": Example(
        why="A subject pinned to the repository but with a wildcard after it lets every branch and pull request "
        "of that repository assume the role.",
        failing=[trust_role("ci-deploy", github_trust(StringLike={f"{GITHUB}:sub": "repo:acme/keyless-ingest:*"}))],
        passing=[
            trust_role(
                "ci-deploy",
                github_trust(StringEquals={f"{GITHUB}:sub": "repo:acme/keyless-ingest:environment:prod"}),
            )
        ],
    ),
    "iam-trust-no-public-principal": Example(
        why='A trust policy with `Principal: "*"` and no condition on the caller lets any AWS account assume the role.',
        failing=[trust_role("shared", {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})],
        passing=[
            trust_role(
                "shared",
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
                },
            )
        ],
    ),
    "iam-passrole-scoped": Example(
        why="`iam:PassRole` on every role lets the holder hand any role, an administrator's included, to a service "
        "it controls: a privilege escalation.",
        failing=[role_policy("deployer-policy", allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/*"))],
        passing=[
            role_policy("deployer-policy", allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/keyless-ingest-prod-fn"))
        ],
    ),
    "lambda-env-no-credentials": Example(
        why="Environment variables are readable by anyone who can read the function's configuration "
        "(`lambda:GetFunctionConfiguration`), appear in the state file and in every console view.",
        failing=[function(environment={"variables": {"DB_PASSWORD": WORD_PASSWORD}})],
        passing=[function(environment={"variables": {"DB_PASSWORD_SECRET_ID": "keyless-ingest/prod/db-password"}})],
    ),
    "lambda-code-no-credentials": Example(
        why="A credential in the bundle ships to everyone who can download the function's code and stays in every "
        "published version.",
        failing=[
            function(
                code=pulumi.AssetArchive(
                    {
                        "handler.py": pulumi.StringAsset(HANDLER),
                        ".env": pulumi.StringAsset(f"DB_PASSWORD={WORD_PASSWORD}\n"),
                    }
                )
            )
        ],
        passing=[function(code=pulumi.AssetArchive({"handler.py": pulumi.StringAsset(HANDLER)}))],
    ),
    "compute-env-no-credentials": Example(
        why="A container's plain environment is readable by anyone who can describe the task definition; the "
        "`secrets` block hands the value to the container at start instead.",
        failing=[container_task([{"name": "DB_PASSWORD", "value": WORD_PASSWORD}])],
        passing=[
            container_task(
                [{"name": "LOG_LEVEL", "value": "INFO"}],
                [{"name": "DB_PASSWORD", "valueFrom": arn("secretsmanager", "secret:prod/db-AbC123")}],
            )
        ],
    ),
    "ec2-user-data-no-credentials": Example(
        why="User data is readable by anyone who can describe the instance attribute, and from inside the instance "
        "by any process through the metadata service.",
        failing=[
            res(
                "aws:ec2/instance:Instance",
                "worker",
                {"ami": "ami-0abcdef1234567890", "userData": f"#!/bin/bash\nexport DB_PASSWORD='{WORD_PASSWORD}'\n"},
            )
        ],
        passing=[
            res(
                "aws:ec2/instance:Instance",
                "worker",
                {
                    "ami": "ami-0abcdef1234567890",
                    "userData": "#!/bin/bash\nexport DB_PASSWORD=$(aws secretsmanager get-secret-value "
                    "--secret-id prod/db --query SecretString --output text)\n",
                },
            )
        ],
    ),
    "secret-policy-not-public": Example(
        why="A secret policy that lets every principal read the value makes the secret as public as its ARN.",
        failing=[secret(), secret_policy(secret(), read("*"))],
        passing=[secret(), secret_policy(secret(), read({"AWS": [READER]}), DENY_OTHERS)],
    ),
    "secret-requires-resource-policy": Example(
        why="Without a resource policy, any identity policy in the account that grants `GetSecretValue` on `*` "
        "reads the secret; the resource policy names its only readers.",
        failing=[secret(kmsKeyId=KEY_ALIAS)],
        passing=[secret(kmsKeyId=KEY_ALIAS), secret_policy(secret(), read({"AWS": [READER]}), DENY_OTHERS)],
    ),
    "secret-customer-managed-kms": Example(
        why="With the AWS-managed key, anyone allowed `GetSecretValue` can decrypt; a customer-managed key adds a "
        "second, separately controlled permission and its own audit trail.",
        failing=[secret()],
        passing=[secret(kmsKeyId=KEY_ALIAS)],
    ),
    "secret-no-value-in-program": Example(
        why="A value set from the program lands in the Pulumi state and the deployment's history; the secret's "
        "value belongs in the secret store, set out of band.",
        failing=[
            res(
                "aws:secretsmanager/secretVersion:SecretVersion",
                "api-key-value",
                {"secretId": "thirdparty/weather-api-key", "secretString": UNKNOWN},
            )
        ],
        passing=[
            res(
                "aws:ssm/parameter:Parameter",
                "region",
                {"name": "/prod/region", "type": "String", "value": "eu-west-1"},
            )
        ],
    ),
    "secret-network-perimeter": Example(
        why="A secret policy that names a reader grants the read on its own, wherever the reader's credentials are "
        "used: copied out of the function, they read the secret from a laptop. A Deny of reads that did not come "
        "through your VPC endpoint makes them useless outside your network (the shape of AWS's data perimeter "
        "examples). Advisory: a secret read by something that cannot use an endpoint has a reason to lack it.",
        failing=[secret(kmsKeyId=KEY_ALIAS), secret_policy(secret(), read({"AWS": [READER]}), DENY_OTHERS)],
        passing=[
            secret(kmsKeyId=KEY_ALIAS),
            secret_policy(secret(), read({"AWS": [READER]}), DENY_OTHERS, NETWORK_DENY),
        ],
    ),
    "lambda-role-source-function": Example(
        why="Lambda hands the function its execution role's credentials as environment variables; an SSRF or a "
        "dependency that sends its environment away carries them off, and they work from anywhere until they "
        "expire. Lambda adds `lambda:SourceFunctionArn` to the request context of calls made from inside the "
        "function's execution environment (Lambda developer guide, \"Using source function ARN to control function "
        'access behavior"), so a grant conditioned on it holds only there; a Deny with `ArnNotEquals` on the same '
        "key also overrides a secret policy that names the role. Advisory: it is a second line behind the grants.",
        failing=[
            execution_role(),
            role_policy("ingest-exec-policy", allow("secretsmanager:GetSecretValue", SECRET_PATTERN)),
        ],
        passing=[
            execution_role(),
            role_policy(
                "ingest-exec-policy",
                allow(
                    "secretsmanager:GetSecretValue",
                    SECRET_PATTERN,
                    Condition={"ArnEquals": {"lambda:SourceFunctionArn": FUNCTION_ARN}},
                ),
                {
                    "Effect": "Deny",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": SECRET_PATTERN,
                    "Condition": {"ArnNotEquals": {"lambda:SourceFunctionArn": FUNCTION_ARN}},
                },
            ),
        ],
    ),
    "kms-key-rotation": Example(
        why="Rotation limits how much data one key version protects and is required by most compliance baselines.",
        failing=[res("aws:kms/key:Key", "secrets-key", {"description": "secrets"})],
        passing=[res("aws:kms/key:Key", "secrets-key", {"description": "secrets", "enableKeyRotation": True})],
    ),
    "kms-key-policy-no-public": Example(
        why="A key policy that allows everyone to decrypt turns every ciphertext under it into plain text for any "
        "AWS account.",
        failing=[
            res(
                "aws:kms/key:Key",
                "open-key",
                {
                    "enableKeyRotation": True,
                    "policy": doc(
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "kms:Decrypt",
                            "Resource": "*",
                            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
                        }
                    ),
                },
            )
        ],
        passing=[
            res(
                "aws:kms/key:Key",
                "key",
                {
                    "enableKeyRotation": True,
                    "policy": doc(
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ),
                },
            )
        ],
    ),
    "vpc-secretsmanager-endpoint": Example(
        why="A function in private subnets reaches Secrets Manager either through a NAT gateway (the secret's "
        "traffic leaves the VPC) or through a private endpoint with private DNS.",
        failing=network(endpoint_dns=False),
        passing=network(),
    ),
    "vpc-endpoint-sg-https-only": Example(
        why="The endpoint's security group is the network perimeter around the secret: HTTPS from the function's "
        "security group only.",
        failing=network(ingress=[{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]),
        passing=network(),
    ),
    "vpc-dynamodb-gateway-endpoint": Example(
        why="Without a gateway endpoint, DynamoDB traffic from private subnets crosses a NAT gateway: paid per GB and "
        "outside the VPC's endpoint policies.",
        failing=network(dynamodb=False),
        passing=network(),
    ),
    "log-group-retention": Example(
        why="Logs kept forever keep whatever leaked into them forever, and cost grows without bound.",
        failing=[res(LOG_GROUP, "ingest-logs", {"name": "/aws/lambda/ingest"})],
        passing=[res(LOG_GROUP, "ingest-logs", {"name": "/aws/lambda/ingest", "retentionInDays": 365})],
    ),
    "lambda-log-group": Example(
        why="Lambda creates its log group on first invocation with no retention and no key unless the stack "
        "creates it first.",
        failing=[function("ingest")],
        passing=[
            function("ingest"),
            res(LOG_GROUP, "ingest-logs", {"name": "/aws/lambda/ingest", "retentionInDays": 365}),
        ],
    ),
    "secret-unexpected-access-alarm": Example(
        why="A read of the secret by anyone but its named readers is the first sign of a leak; an alarm on the "
        "audit trail turns it into a page, not a post-mortem finding.",
        failing=[res(SECRET, "api-key-secret", {"name": "keyless-ingest/prod/weather-api-key"})],
        passing=_alarmed_secret(),
    ),
    "cloudtrail-logs-role-trust": Example(
        why="CloudTrail does not send `aws:SourceAccount` or `aws:SourceArn` when it assumes its CloudWatch Logs "
        "role, so the confused-deputy condition that is right elsewhere silently stops delivery here.",
        failing=[cloudtrail_role({"StringEquals": {"aws:SourceAccount": ACCOUNT}}), trail()],
        passing=[cloudtrail_role(None), trail()],
    ),
    "cloudtrail-kms-key-arn": Example(
        why="CloudTrail stores the key as given; an alias that is later pointed at another key silently changes "
        "which key encrypts the audit log.",
        failing=[trail(kmsKeyId="alias/ki-prod-trail")],
        passing=[trail()],
    ),
}
