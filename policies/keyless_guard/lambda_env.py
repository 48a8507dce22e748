"""Lambda environment variables carry names and settings, never credentials."""

from __future__ import annotations

from typing import Final

from pulumi_policy import EnforcementLevel, Severity

from keyless_guard.env_values import describe, variable_problems
from keyless_guard.framework import Report, Resource, resource_rule
from keyless_guard.values import Unknown, as_dict, known

FUNCTION: Final = "aws:lambda/function:Function"


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
            report(
                f"{describe(f'environment variable {name}', problem)}. Store secrets in Secrets Manager; pass their "
                "name."
            )
    if unknown is not None:
        # Known variables are reported above; an unknown value cannot be judged, so the SDK's advisory says so.
        known(variables[unknown], "environment", "variables", unknown)
