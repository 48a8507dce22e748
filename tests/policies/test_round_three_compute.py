"""Issue 23, other compute: PascalCase task definitions, a CodeBuild inline buildspec's `env: variables:`, multipart
MIME user data and secrets passed as command-line flags, through the pack process.

Multipart user data is what cloud-init documents for mixing a script and cloud-config ("User data formats: MIME
multi-part archive", https://cloudinit.readthedocs.io/en/latest/explanation/format.html), built here with the
standard library's `email.mime`. The buildspec's `env` section holds `variables` (plain text), `parameter-store` and
`secrets-manager` (names resolved at build time) ("Build specification reference for CodeBuild",
https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html).
"""

from __future__ import annotations

import base64
import json
import random
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import yaml

from mock_engine.recorded import RecordedResource
from tests.policies.builders import found, report, res
from tests.policies.corpus import ALNUM

COMPUTE_RULE = "compute-env-no-credentials"
USER_DATA_RULE = "ec2-user-data-no-credentials"
RNG = random.Random(2324)


def pick(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def human_password() -> str:
    return RNG.choice(["Reporting", "Welcome", "Harbour"]) + str(RNG.randrange(1000, 9999))


def pascal_task(name: str, environment: dict[str, str]) -> RecordedResource:
    definitions = [
        {
            "Name": "app",
            "Image": "public.ecr.aws/docker/library/python:3.12",
            "Environment": [{"Name": k, "Value": v} for k, v in environment.items()],
        }
    ]
    return res(
        "aws:ecs/taskDefinition:TaskDefinition", name, {"family": name, "containerDefinitions": json.dumps(definitions)}
    )


def test_pascal_case_task_definitions_are_read(pack):
    leaky = pascal_task("leaky", {"DB_PASSWORD": human_password(), "LOG_LEVEL": "INFO"})
    clean = pascal_task("clean", {"SECRET_ID": "keyless-ingest/prod/db", "LOG_LEVEL": "INFO"})
    result = report(pack, leaky, clean)
    messages = [(v.message, v.urn.rsplit("::", 1)[-1]) for v in result.violations if v.policy == COMPUTE_RULE]
    assert [urn for _, urn in messages] == ["leaky"]
    assert messages[0][0].startswith("container app environment variable DB_PASSWORD is named like a secret")


def project(name: str, buildspec: object) -> RecordedResource:
    environment = {
        "computeType": "BUILD_GENERAL1_SMALL",
        "image": "aws/codebuild/standard:7.0",
        "type": "LINUX_CONTAINER",
    }
    source = {"type": "NO_SOURCE", "buildspec": buildspec}
    return res("aws:codebuild/project:Project", name, {"name": name, "environment": environment, "source": source})


def buildspec(env: dict[str, object], commands: list[str]) -> str:
    return yaml.safe_dump({"version": 0.2, "env": env, "phases": {"build": {"commands": commands}}})


def test_an_inline_buildspec_is_judged_like_the_projects_variables(pack):
    pw = human_password()
    projects = [
        project("env-variables", buildspec({"variables": {"NPM_TOKEN": pick(ALNUM, 12)}}, ["npm ci"])),
        project("command-flag", buildspec({}, [f"docker login --username ci --password {pw} registry.acme.example"])),
        project(
            "references",
            buildspec(
                {
                    "variables": {"STAGE": "prod", "PASSWORD_MIN_LENGTH": "12"},
                    "parameter-store": {"NPM_TOKEN": "/ci/npm-token"},
                    "secrets-manager": {"GITHUB_TOKEN": "ci/github:token"},
                },
                ["npm ci", "docker login --username ci --password-stdin < token"],
            ),
        ),
        project("file-buildspec", "buildspec.yml"),
    ]
    assert found(pack, *projects, policy=COMPUTE_RULE) == {
        (COMPUTE_RULE, "env-variables"),
        (COMPUTE_RULE, "command-flag"),
    }


def mime(*parts: tuple[str, str]) -> str:
    message = MIMEMultipart()
    for subtype, text in parts:
        part = MIMEText(text, subtype, "utf-8")  # utf-8 makes email encode the body in base64
        message.attach(part)
    return message.as_string()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_multipart_user_data_and_secrets_as_flags(pack):
    authkey = "tskey-" + "auth-" + pick(ALNUM, 10) + "-" + pick(ALNUM, 16)
    pw = human_password()
    clean_script = "#!/bin/bash\n/opt/app/start --secret-id prod/db --region eu-west-1\n"
    cloud_config = "#cloud-config\npackages:\n  - jq\n"
    template = "aws:ec2/launchTemplate:LaunchTemplate"
    instance = "aws:ec2/instance:Instance"
    resources = [
        res(
            template,
            "mime-script",
            {
                "userData": b64(
                    mime(("cloud-config", cloud_config), ("x-shellscript", f"#!/bin/sh\nexport DB_PASSWORD={pw}\n"))
                )
            },
        ),
        res(
            template,
            "mime-clean",
            {"userData": b64(mime(("cloud-config", cloud_config), ("x-shellscript", clean_script)))},
        ),
        res(instance, "flag-authkey", {"userData": f"#!/bin/sh\ntailscale up --authkey {authkey} --ssh\n"}),
        res(instance, "flag-equals", {"userData": f"#!/bin/sh\n/opt/agent --api-token={pw}\n"}),
        res(instance, "curl-user", {"userData": f"#!/bin/sh\ncurl -u svc:{pw} https://repo.acme.example/a.tgz\n"}),
        res(
            instance, "runcmd-flag", {"userData": f"#cloud-config\nruncmd:\n  - mysql --password {pw} -e 'select 1'\n"}
        ),
        res(instance, "flags-clean", {"userData": clean_script}),
        res(instance, "flag-placeholder", {"userData": '#!/bin/sh\ntailscale up --authkey "$TS_AUTHKEY"\n'}),
    ]
    assert found(pack, *resources, policy=USER_DATA_RULE) == {
        (USER_DATA_RULE, "mime-script"),
        (USER_DATA_RULE, "flag-authkey"),
        (USER_DATA_RULE, "flag-equals"),
        (USER_DATA_RULE, "curl-user"),
        (USER_DATA_RULE, "runcmd-flag"),
    }


def test_flag_messages_name_the_flag_not_the_value(pack):
    pw = human_password()
    result = report(
        pack, res("aws:ec2/instance:Instance", "i", {"userData": f"#!/bin/sh\n\n/opt/agent --api-token {pw}\n"})
    )
    messages = [v.message for v in result.violations if v.policy == USER_DATA_RULE]
    assert len(messages) == 1
    assert messages[0].startswith("userData line 3: flag --api-token is named like a secret")
    assert pw not in messages[0]
