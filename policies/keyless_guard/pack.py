"""Every rule of the pack, in the order the README documents them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Final

import yaml

from keyless_guard import (
    cloudtrail,
    compute_env,
    iam,
    iam_validity,
    kms,
    lambda_code,
    lambda_env,
    logs,
    monitoring,
    network,
    perimeter,
    preview_knowledge,
    secretsmanager,
    trust,
)
from keyless_guard.framework import Rule

PACK_NAME: Final = "keyless-guard"
MANIFEST: Final = Path(__file__).resolve().parent.parent / "PulumiPolicy.yaml"


def _manifest_version() -> str:
    """PulumiPolicy.yaml's `version`: the one the CLI reports and `pulumi policy publish` publishes under."""
    version = (yaml.safe_load(MANIFEST.read_text(encoding="utf-8")) or {}).get("version")
    if not isinstance(version, str) or not version:
        raise ValueError(f"{MANIFEST}: version must be set (a semver string such as 0.2.0)")
    return version


PACK_VERSION: Final = _manifest_version()
"""The pack's release (see CHANGELOG.md); the servicer puts it in GetAnalyzerInfo and every diagnostic."""

CREDENTIAL_RULES: Final = frozenset(
    rule.name
    for rule in (
        lambda_env.no_credentials_in_env,
        lambda_code.no_credentials_in_code,
        compute_env.no_credentials_in_compute_env,
        compute_env.no_credentials_in_user_data,
        secretsmanager.secret_no_value_in_program,
    )
)
"""Rules that find a credential (environment variables, code bundles, compute environments, user data, secret values
set from the program). They can never be exempted: a leaked key is not a policy choice."""

_RULES: Final[tuple[Rule, ...]] = (
    iam.no_wildcard_actions,
    iam.no_not_action,
    iam.no_star_resource,
    iam.no_broad_resource_arns,
    iam.no_broad_managed_policies,
    iam.no_access_keys,
    iam_validity.valid_policy,
    preview_knowledge.policy_known_at_preview,
    preview_knowledge.policy_unknown_only_endpoint_ids,
    trust.oidc_subject,
    trust.oidc_subject_exact,
    trust.trust_no_public_principal,
    trust.passrole_scoped,
    lambda_env.no_credentials_in_env,
    lambda_code.no_credentials_in_code,
    compute_env.no_credentials_in_compute_env,
    compute_env.no_credentials_in_user_data,
    secretsmanager.secret_policy_not_public,
    secretsmanager.secret_requires_resource_policy,
    secretsmanager.secret_customer_managed_kms,
    secretsmanager.secret_no_value_in_program,
    perimeter.secret_network_perimeter,
    perimeter.lambda_role_source_function,
    kms.key_rotation,
    kms.key_policy_no_public,
    network.secretsmanager_endpoint,
    network.endpoint_sg_https_only,
    network.dynamodb_gateway_endpoint,
    logs.log_group_retention,
    logs.lambda_log_group,
    monitoring.secret_unexpected_access_alarm,
    cloudtrail.logs_role_trust,
    cloudtrail.kms_key_arn,
)

RULES: Final[tuple[Rule, ...]] = tuple(replace(rule, exemptable=rule.name not in CREDENTIAL_RULES) for rule in _RULES)
