"""The Lambda environment rule's threat on other compute (ECS containers, CodeBuild plain-text variables, EC2 user
data) and SecureString parameters written in the program, through the pack process.

Property names are the engine's camelCase inputs of pulumi-aws 7 (`containerDefinitions` is one JSON string;
`environment.environmentVariables` of a CodeBuild project; `userData` / `userDataBase64`; a launch template's
`userData` is base64). CodeBuild resolves PARAMETER_STORE and SECRETS_MANAGER variables from the name in `value` at
build time, and PLAINTEXT is the default type (AWS::CodeBuild::Project EnvironmentVariable,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-codebuild-project-environmentvariable.html).
"""

from __future__ import annotations

import base64
import gzip
import json
import random

from mock_engine.recorded import RecordedResource
from tests.policies.builders import UNKNOWN, found, report, res
from tests.policies.corpus import ALNUM, AWS_EXAMPLE_ACCESS_KEY_ID, CREDENTIALS, PUNCTUATION

COMPUTE_RULE = "compute-env-no-credentials"
USER_DATA_RULE = "ec2-user-data-no-credentials"
VALUE_RULE = "secret-no-value-in-program"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
CODEBUILD = "aws:codebuild/project:Project"
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
PARAMETER = "aws:ssm/parameter:Parameter"
RNG = random.Random(17)
FETCH = "$(aws secretsmanager get-secret-value --secret-id prod/db --query SecretString --output text)"


def pick(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def password() -> str:
    return pick(ALNUM, 14) + PUNCTUATION[:4]


def task(name: str, environment: dict[str, str], **container: object) -> RecordedResource:
    definitions = [
        {
            "name": "app",
            "image": "public.ecr.aws/docker/library/python:3.12",
            "environment": [{"name": k, "value": v} for k, v in environment.items()],
            **container,
        }
    ]
    return res(TASK_DEFINITION, name, {"family": name, "containerDefinitions": json.dumps(definitions)})


def project(name: str, variables: list[dict[str, object]]) -> RecordedResource:
    environment = {
        "computeType": "BUILD_GENERAL1_SMALL",
        "image": "aws/codebuild/standard:7.0",
        "type": "LINUX_CONTAINER",
    }
    return res(CODEBUILD, name, {"name": name, "environment": {**environment, "environmentVariables": variables}})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_ecs_container_environment(pack):
    secret_ref = {
        "name": "DB_PASSWORD",
        "valueFrom": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbC123",
    }
    tasks = [
        task("password", {"DB_PASSWORD": password(), "LOG_LEVEL": "INFO"}),
        task("token", {"UPSTREAM": CREDENTIALS["github token"](RNG)}),
        task("aws-key", {"AWS_ACCESS_KEY_ID": AWS_EXAMPLE_ACCESS_KEY_ID}),
        task("json-config", {"APP_CONFIG": json.dumps({"db": {"password": password()}})}),
        task("clean", {"SECRET_ID": "keyless-ingest/prod/weather-api-key", "TOKEN_TTL_SECONDS": "300"}),
        task("secrets-block", {"LOG_LEVEL": "INFO"}, secrets=[secret_ref]),
        task("settings", {"PASSWORD_MIN_LENGTH": "12", "AUTH_TOKEN_CACHE": "redis"}),
        res(TASK_DEFINITION, "invalid-json", {"family": "x", "containerDefinitions": "[{"}),
    ]
    assert found(pack, *tasks, policy=COMPUTE_RULE) == {
        (COMPUTE_RULE, "password"),
        (COMPUTE_RULE, "token"),
        (COMPUTE_RULE, "aws-key"),
        (COMPUTE_RULE, "json-config"),
        (COMPUTE_RULE, "invalid-json"),
    }


def test_ecs_message_names_the_container_and_variable_not_the_value(pack):
    secret = password()
    result = report(pack, task("t", {"DB_PASSWORD": secret}))
    messages = [v.message for v in result.violations if v.policy == COMPUTE_RULE]
    assert len(messages) == 1
    assert "container app environment variable DB_PASSWORD" in messages[0]
    assert secret not in messages[0]


def test_ecs_unknown_container_definitions_is_an_advisory_not_a_pass(pack):
    # Output.json_dumps over a computed value makes the whole string unknown at the first preview.
    result = report(pack, res(TASK_DEFINITION, "t", {"family": "t", "containerDefinitions": UNKNOWN}))
    assert {(v.policy, v.cant_run) for v in result.violations if v.policy == COMPUTE_RULE} == {(COMPUTE_RULE, True)}


def test_codebuild_plaintext_variables(pack):
    projects = [
        project("plaintext", [{"name": "DB_PASSWORD", "value": password(), "type": "PLAINTEXT"}]),
        project("default-type", [{"name": "NPM_TOKEN", "value": pick(ALNUM, 12)}]),
        project("neutral-name", [{"name": "UPSTREAM", "value": CREDENTIALS["slack bot token"](RNG)}]),
        project(
            "references",
            [
                {"name": "NPM_TOKEN", "value": "/ci/npm-token", "type": "PARAMETER_STORE"},
                {"name": "GITHUB_TOKEN", "value": "ci/github-token:token", "type": "SECRETS_MANAGER"},
                {"name": "STAGE", "value": "prod", "type": "PLAINTEXT"},
                {"name": "PASSWORD_MIN_LENGTH", "value": "12"},
            ],
        ),
    ]
    assert found(pack, *projects, policy=COMPUTE_RULE) == {
        (COMPUTE_RULE, "plaintext"),
        (COMPUTE_RULE, "default-type"),
        (COMPUTE_RULE, "neutral-name"),
    }


def test_ec2_user_data(pack):
    secret = password()
    leaky_script = f"#!/bin/bash\nset -eu\nexport DB_PASSWORD='{secret}'\n/opt/app/start\n"
    clean_script = f"#!/bin/bash\nset -eu\nexport DB_PASSWORD={FETCH}\nexport LOG_LEVEL=INFO\n/opt/app/start\n"
    env_file = f"DB_HOST=db.internal\nDB_PASSWORD={pick(ALNUM, 12)}\n"
    leaky_cloud_config = "#cloud-config\n" + json.dumps(
        {"write_files": [{"path": "/etc/app.env", "content": env_file, "permissions": "0600"}]}
    )
    clean_cloud_config = "#cloud-config\npackages:\n  - jq\nruncmd:\n  - [/opt/app/start, --secret-id, prod/db]\n"
    resources = [
        res(INSTANCE, "instance-script", {"userData": leaky_script}),
        res(
            INSTANCE,
            "instance-aws-key",
            {"userData": f"#!/bin/sh\naws configure set aws_access_key_id {AWS_EXAMPLE_ACCESS_KEY_ID}\n"},
        ),
        # Only the assignment judge sees this one: unquoted, and no keyword detect-secrets knows.
        res(INSTANCE, "instance-hex-key", {"userData": f"#!/bin/sh\nSIGNING_KEY={pick('0123456789abcdef', 64)}\n"}),
        res(INSTANCE, "instance-base64", {"userDataBase64": b64(leaky_script.encode())}),
        res(LAUNCH_TEMPLATE, "template-base64", {"userData": b64(leaky_script.encode())}),
        res(LAUNCH_TEMPLATE, "template-gzip", {"userData": b64(gzip.compress(leaky_script.encode()))}),
        res(LAUNCH_TEMPLATE, "template-cloud-config", {"userData": b64(leaky_cloud_config.encode())}),
        res(LAUNCH_TEMPLATE, "template-not-base64", {"userData": "#!/bin/sh\necho hi\n"}),
        res(INSTANCE, "instance-clean", {"userData": clean_script}),
        res(LAUNCH_TEMPLATE, "template-clean", {"userData": b64(clean_script.encode())}),
        res(LAUNCH_TEMPLATE, "template-clean-gzip", {"userData": b64(gzip.compress(clean_cloud_config.encode()))}),
    ]
    assert found(pack, *resources, policy=USER_DATA_RULE) == {
        (USER_DATA_RULE, "instance-script"),
        (USER_DATA_RULE, "instance-aws-key"),
        (USER_DATA_RULE, "instance-hex-key"),
        (USER_DATA_RULE, "instance-base64"),
        (USER_DATA_RULE, "template-base64"),
        (USER_DATA_RULE, "template-gzip"),
        (USER_DATA_RULE, "template-cloud-config"),
        (USER_DATA_RULE, "template-not-base64"),  # undecodable is reported, never passed unchecked
    }


def test_user_data_message_names_the_line_not_the_value(pack):
    secret = password()
    result = report(pack, res(INSTANCE, "i", {"userData": f"#!/bin/bash\n\nexport DB_PASSWORD='{secret}'\n"}))
    messages = [v.message for v in result.violations if v.policy == USER_DATA_RULE]
    assert len(messages) == 1
    assert "line 3" in messages[0]
    assert secret not in messages[0]


def test_secure_string_parameter_written_in_the_program(pack):
    parameters = [
        res(PARAMETER, "secure-literal", {"name": "/prod/db/password", "type": "SecureString", "value": password()}),
        res(PARAMETER, "secure-computed", {"name": "/prod/db/password", "type": "SecureString", "value": UNKNOWN}),
        res(PARAMETER, "secure-write-only", {"name": "/prod/db/password", "type": "SecureString", "valueWo": "x"}),
        res(PARAMETER, "plain-string", {"name": "/prod/table-name", "type": "String", "value": "readings"}),
        res(PARAMETER, "string-list", {"name": "/prod/azs", "type": "StringList", "value": "eu-west-1a,eu-west-1b"}),
    ]
    assert found(pack, *parameters, policy=VALUE_RULE) == {
        (VALUE_RULE, "secure-literal"),
        (VALUE_RULE, "secure-computed"),
        (VALUE_RULE, "secure-write-only"),
    }


def test_unknown_values_are_advisories_and_known_ones_still_judged(pack):
    # First preview: a user data script or a CodeBuild variable built from a computed output is unknown.
    resources = [
        res(INSTANCE, "user-data", {"userData": UNKNOWN}),
        project(
            "codebuild",
            [
                {"name": "TABLE", "value": UNKNOWN, "type": "PLAINTEXT"},
                {"name": "DB_PASSWORD", "value": password(), "type": "PLAINTEXT"},
            ],
        ),
    ]
    result = report(pack, *resources)
    names = {r.urn: r.name for r in resources}
    rules = {USER_DATA_RULE, COMPUTE_RULE}
    assert {(v.policy, names[v.urn], v.cant_run) for v in result.violations if v.policy in rules} == {
        (USER_DATA_RULE, "user-data", True),
        (COMPUTE_RULE, "codebuild", True),
        (COMPUTE_RULE, "codebuild", False),
    }
