"""The Lambda environment rule's threat on other compute: ECS container environments, CodeBuild plain-text
variables and EC2 user data carry names and settings, never credentials.

Each variable is judged by `env_values.variable_problems`, exactly as a Lambda environment variable is. User data is a
script or a cloud-config document: its `NAME=value` assignments (with or without `export`) and cloud-config's keys are
judged the same way, and the whole text also goes through the code scan's detectors (credential formats, detect-secrets'
keyword plugin, random quoted literals).
"""

from __future__ import annotations

import base64
import binascii
import email
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from typing import Any, Final

import yaml
from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.code_formats import flag_problems, shell_findings
from keyless_guard.detectors import text_findings
from keyless_guard.env_values import describe, variable_problems
from keyless_guard.framework import Report, Resource, resource_rule
from keyless_guard.values import Unknown, as_dict, as_list, known

TASK_DEFINITION: Final = "aws:ecs/taskDefinition:TaskDefinition"
CODEBUILD_PROJECT: Final = "aws:codebuild/project:Project"
INSTANCE: Final = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE: Final = "aws:ec2/launchTemplate:LaunchTemplate"
_PLAINTEXT: Final = "PLAINTEXT"
_MAX_USER_DATA: Final = 1024 * 1024
"""EC2 accepts 16 KB of user data (before base64); gzip may expand it, so decompression stops at 1 MiB."""
_FIX: Final = "Store secrets in Secrets Manager; pass their name."


def _report_variables(report: Report, where: str, variables: Iterator[tuple[str, Any]]) -> None:
    for name, value in variables:
        for problem in variable_problems(name, value):
            report(f"{describe(f'{where}environment variable {name}', problem)}. {_FIX}")


@resource_rule(
    name="compute-env-no-credentials",
    description="ECS container environments and CodeBuild plain-text variables must not hold credentials.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation=(
        "Put the value in Secrets Manager or a SecureString parameter created out of band. ECS: reference it in the "
        "container's `secrets` (valueFrom); CodeBuild: a variable of type SECRETS_MANAGER or PARAMETER_STORE whose "
        "value is the secret's or parameter's name."
    ),
    equivalent=(
        "AWS Config ECS_NO_ENVIRONMENT_SECRETS and CODEBUILD_PROJECT_ENVVAR_AWSCRED_CHECK (both by name only); "
        "tfsec aws-ecs-no-plaintext-secrets"
    ),
    resource_types=(TASK_DEFINITION, CODEBUILD_PROJECT),
)
def no_credentials_in_compute_env(resource: Resource, report: Report) -> None:
    if resource.type == TASK_DEFINITION:
        _task_definition(resource, report)
    else:
        _codebuild_project(resource, report)


def _task_definition(resource: Resource, report: Report) -> None:
    # containerDefinitions is one JSON string: unknown as a whole when any part is computed (the SDK's advisory).
    text = known(resource.props.get("containerDefinitions"), "containerDefinitions")
    try:
        containers = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        report("containerDefinitions is not valid JSON, so its environment cannot be checked. ECS rejects it too.")
        return
    for index, container in enumerate(as_list(containers)):
        if not isinstance(container, dict):
            continue
        # The provider accepts the API's camelCase and CloudFormation's PascalCase (`Environment`, `Name`, `Value`).
        name = _field(container, "name")
        label = name if isinstance(name, str) else f"#{index}"
        entries = [e for e in as_list(_field(container, "environment")) if isinstance(e, dict)]
        variables = ((str(_field(e, "name")), _field(e, "value")) for e in entries)
        _report_variables(report, f"container {label} ", variables)


def _field(entry: dict[str, Any], name: str) -> Any:
    """`entry[name]`, or its PascalCase spelling."""
    value = entry.get(name)
    return value if value is not None else entry.get(name[:1].upper() + name[1:])


def _codebuild_project(resource: Resource, report: Report) -> None:
    environment = as_dict(resource.props.get("environment"), "environment")
    unknown = None
    plain: list[tuple[str, Any]] = []
    for entry in as_list(environment.get("environmentVariables"), "environment", "environmentVariables"):
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("name"))
        kind = entry.get("type")
        if isinstance(kind, Unknown) or isinstance(entry.get("value"), Unknown):
            unknown = ("environment", "environmentVariables", name)
            continue
        # PARAMETER_STORE / SECRETS_MANAGER values are names that CodeBuild resolves at build time.
        if kind in (None, "", _PLAINTEXT):
            plain.append((name, entry.get("value")))
    _report_variables(report, "", iter(plain))
    _inline_buildspec(resource, report)
    if unknown is not None:
        known(Unknown(), *unknown)


def _inline_buildspec(resource: Resource, report: Report) -> None:
    """An inline buildspec's `env: variables:` are plain-text variables like the project's own (its
    `parameter-store` and `secrets-manager` maps hold names); its commands are judged like a shell script.
    A buildspec that is a path in the source (`buildspec.yml`) is read where the source is, not here."""
    source = resource.props.get("source")
    buildspec = source.get("buildspec") if isinstance(source, dict) else None
    if isinstance(buildspec, Unknown):
        known(buildspec, "source", "buildspec")
    if not isinstance(buildspec, str) or "\n" not in buildspec:
        return
    try:
        document = yaml.safe_load(buildspec)
    except yaml.YAMLError:
        report("source.buildspec is not valid YAML, so its env variables cannot be checked. CodeBuild rejects it too.")
        return
    env = document.get("env") if isinstance(document, dict) else None
    variables = env.get("variables") if isinstance(env, dict) else None
    if isinstance(variables, dict):
        _report_variables(report, "buildspec env: variables: ", ((str(k), v) for k, v in variables.items()))
    for message in sorted(set(shell_problems(buildspec))):
        report(f"source.buildspec {message}. {_FIX}")


@resource_rule(
    name="ec2-user-data-no-credentials",
    description="EC2 instance and launch-template user data must not hold credentials.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation=(
        "Have the script read the secret at boot with the instance role (aws secretsmanager get-secret-value "
        "--secret-id <name>); pass only the secret's name in user data."
    ),
    equivalent="CKV_AWS_46 (secrets in EC2 user data); cdk-nag none",
    resource_types=(INSTANCE, LAUNCH_TEMPLATE),
)
def no_credentials_in_user_data(resource: Resource, report: Report) -> None:
    fields = ("userData",) if resource.type == LAUNCH_TEMPLATE else ("userData", "userDataBase64")
    for field in fields:
        value = known(resource.props.get(field), field)
        if not isinstance(value, str) or not value:
            continue
        encoded = resource.type == LAUNCH_TEMPLATE or field == "userDataBase64"
        text = _user_data_text(value, encoded)
        if text is None:
            report(f"{field} could not be decoded (base64, gzip or UTF-8) within 1 MiB, so it was not checked.")
            continue
        for message in sorted(set(user_data_problems(text))):
            report(f"{field} {message}. {_FIX}")


def _user_data_text(value: str, encoded: bool) -> str | None:
    data = value.encode()
    if encoded:
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as archive:
                data = archive.read(_MAX_USER_DATA + 1)
        except (OSError, EOFError, zlib.error):
            return None
        if len(data) > _MAX_USER_DATA:
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def user_data_problems(text: str) -> Iterator[str]:
    """Problems in a user-data script, cloud-config document or multipart MIME archive of them; never the value."""
    if _is_mime(text):
        yield from _mime_problems(text)
        return
    cloud_config = text.lstrip().startswith("#cloud-config")
    filename = "user-data.yaml" if cloud_config else "user-data.sh"
    findings = text_findings(text, filename)
    for finding in findings:
        yield f"line {finding.line} holds a credential ({finding.kind})"
    flagged = {finding.line for finding in findings}
    for number, line in enumerate(text.splitlines(), start=1):
        for message in flag_problems(line) if number not in flagged else ():
            flagged.add(number)
            yield f"line {number}: {message}"
    if cloud_config:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            document = None
        if isinstance(document, dict):
            for problem in variable_problems("cloud-config", document):
                yield describe("cloud-config", problem)
        return
    for message in shell_problems(text, flagged):
        yield message


def shell_problems(text: str, flagged: set[int] | None = None) -> Iterator[str]:
    """A script's assignments, secret-named flags (`--authkey ...`) and heredoc bodies, by line."""
    for finding in shell_findings(text):
        if finding.line not in (flagged or set()):
            yield f"line {finding.line}: {finding.kind}"


def _is_mime(text: str) -> bool:
    head = text.lstrip()[:1024].lower()
    return head.startswith(("content-type: multipart", "mime-version:")) and "boundary=" in head


def _mime_problems(text: str) -> Iterator[str]:
    """cloud-init's multipart user data (`email.mime`): each part decoded (base64, quoted-printable, gzip) and
    judged as what it is; a part that cannot be decoded is reported, never passed."""
    message = email.message_from_string(text)
    for number, part in enumerate((p for p in message.walk() if not p.is_multipart()), start=1):
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        decoded = _user_data_text(base64.b64encode(data).decode(), encoded=True) if data else ""
        if decoded is None:
            yield f"MIME part {number} could not be decoded (gzip or UTF-8), so it was not checked"
            continue
        for problem in user_data_problems(decoded):
            yield f"MIME part {number} ({part.get_content_type()}) {problem}"
