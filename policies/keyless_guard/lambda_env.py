"""Lambda environment variables carry names and settings, never credentials."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any, Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.detectors import AWS_CREDENTIAL_NAMES, is_reference, value_findings
from keyless_guard.framework import Report, Resource, resource_rule
from keyless_guard.values import Unknown, as_dict, known

FUNCTION: Final = "aws:lambda/function:Function"
_NAME_TOKENS = re.compile(r"[_\-.]+|(?<=[a-z])(?=[A-Z])")
_SECRET_WORDS: Final = frozenset(
    {"secret", "password", "passwd", "pwd", "passphrase", "token", "apikey", "credential", "credentials", "privatekey"}
)
_SECRET_PAIRS: Final = frozenset({("api", "key"), ("private", "key"), ("access", "key"), ("auth", "key")})
_REFERENCE_SUFFIXES: Final = frozenset(
    {
        "id",
        "ids",
        "arn",
        "arns",
        "name",
        "names",
        "path",
        "param",
        "parameter",
        "ttl",
        "seconds",
        "secs",
        "minutes",
        "ms",
        "timeout",
        "region",
        "url",
        "uri",
        "endpoint",
        "header",
        "enabled",
        "file",
        "version",
        "type",
        "stage",
    }
)
"""A name ending in one of these holds a reference or a setting (`SECRET_ID`, `SECRET_CACHE_TTL_SECONDS`)."""


def names_a_secret(name: str) -> bool:
    """True if the variable name says it holds a secret (API_KEY, dbPassword) and not a reference to one."""
    tokens = [t.lower() for t in _NAME_TOKENS.split(name) if t]
    if not tokens or tokens[-1] in _REFERENCE_SUFFIXES:
        return False
    return bool(_SECRET_WORDS & set(tokens)) or any(pair in _SECRET_PAIRS for pair in pairwise(tokens))


def variable_problems(name: str, value: Any) -> list[str]:
    """What is wrong with one environment variable; never includes the value."""
    if name in AWS_CREDENTIAL_NAMES:
        return ["is an AWS credential variable; the execution role provides credentials"]
    if value is None or value == "":
        return []
    text = value if isinstance(value, str) else str(value)
    kinds = value_findings(text)
    if kinds:
        return [f"holds a value that looks like a credential ({', '.join(sorted(set(kinds)))})"]
    if names_a_secret(name) and not is_reference(text):
        return ["is named like a secret but holds a literal value rather than a reference to one"]
    return []


@resource_rule(
    name="lambda-env-no-credentials",
    description="Lambda environment variables must not hold credentials or secret literals.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation=(
        "Put the value in Secrets Manager and pass only the secret's name or ARN (for example SECRET_ID); "
        "never set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN."
    ),
    equivalent="CKV_AWS_45; cdk-nag none",
    resource_types=(FUNCTION,),
)
def no_credentials_in_env(resource: Resource, report: Report) -> None:
    environment = as_dict(resource.props.get("environment"), "environment")
    variables = as_dict(environment.get("variables"), "environment", "variables")
    unknown = None
    for name, value in sorted(variables.items()):
        if isinstance(value, Unknown):
            unknown = name
            value = None
        for problem in variable_problems(name, value):
            report(f"environment variable {name} {problem}. Store secrets in Secrets Manager; pass their name.")
    if unknown is not None:
        # Known variables are reported above; an unknown value cannot be judged, so the SDK's advisory says so.
        known(variables[unknown], "environment", "variables", unknown)
