"""Secrets handed to compute other than Lambda, and a SecureString written from the program:
compute-env-no-credentials (ECS, CodeBuild), ec2-user-data-no-credentials, secret-no-value-in-program."""

import base64
import json

import pulumi
import pulumi_aws as aws

password = pulumi.Config().require_secret("dbPassword")

aws.ssm.Parameter("db-password", name="/prod/db/password", type="SecureString", value=password)
aws.ssm.Parameter("table-name", name="/prod/table-name", type="String", value="keyless-ingest-prod-readings")

aws.ecs.TaskDefinition(
    "app",
    family="app",
    container_definitions=json.dumps(
        [
            {
                "name": "app",
                "image": "public.ecr.aws/docker/library/python:3.12",
                "essential": True,
                "environment": [
                    {"name": "LOG_LEVEL", "value": "INFO"},
                    {"name": "DB_PASSWORD", "value": "not-a-real-password"},
                ],
            }
        ]
    ),
)

aws.codebuild.Project(
    "build",
    name="build",
    service_role="arn:aws:iam::111122223333:role/build",
    artifacts={"type": "NO_ARTIFACTS"},
    source={"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands: [make]\n"},
    environment={
        "compute_type": "BUILD_GENERAL1_SMALL",
        "image": "aws/codebuild/standard:7.0",
        "type": "LINUX_CONTAINER",
        "environment_variables": [
            {"name": "NPM_TOKEN", "value": "not-a-real-token", "type": "PLAINTEXT"},
            {"name": "GITHUB_TOKEN", "value": "ci/github-token", "type": "SECRETS_MANAGER"},
        ],
    },
)

script = "#!/bin/bash\nexport DB_PASSWORD=not-a-real-password\n/opt/app/start\n"
aws.ec2.LaunchTemplate("workers", name="workers", user_data=base64.b64encode(script.encode()).decode())
