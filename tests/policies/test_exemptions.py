"""Exemptions in the policy config, applied by the pack process itself (as under the Pulumi CLI), and what the
offline preview shows of them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from keyless_guard import exemptions
from offline_preview.analyzer_client import EXEMPTED, EXPIRED, STALE, PackProcess, PolicyReport
from offline_preview.errors import PolicyPackError
from tests.policies.builders import UNKNOWN, doc, report, res
from tests.policies.conftest import REPO

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
WILDCARDS = "iam-no-wildcard-actions"
FUTURE, PAST = "2099-12-31", "2020-01-31"
PROGRAMS = Path(__file__).parent / "programs"
# The rules that find credentials, from the list (environment variables, code bundles, compute
# environments, user data, secret values): written out here, not read from the pack, so a rule dropped from the pack's
# list fails this test.
CREDENTIAL_RULES = (
    "lambda-env-no-credentials",
    "lambda-code-no-credentials",
    "compute-env-no-credentials",
    "ec2-user-data-no-credentials",
    "secret-no-value-in-program",
)


def wildcard(name: str) -> Any:
    statement = {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "arn:aws:secretsmanager:*:*:secret:x"}
    return res(ROLE_POLICY, name, {"role": "r", "policy": doc(statement)})


def exemption(resource: str = "legacy-reader-*", expires: str = FUTURE, **extra: Any) -> dict[str, Any]:
    return {
        "resource": resource,
        "reason": "SEC-1234: the legacy reader is rewritten in Q1",
        "approvedBy": "security@example.com",
        "expires": expires,
        **extra,
    }


def config(*exemptions: Mapping[str, Any], rule: str = WILDCARDS) -> dict[str, Any]:
    return {"all": "mandatory", rule: {"enforcementLevel": "mandatory", "exemptions": list(exemptions)}}


def of(result: PolicyReport, policy: str = WILDCARDS) -> list[tuple[str, str, str]]:
    """(enforcement, resource name, exemption state) of the policy's diagnostics, sorted."""
    return sorted(
        (v.enforcement, v.urn.rsplit("::", 1)[-1], v.exemption_state) for v in result.violations if v.policy == policy
    )


def test_an_exemption_waives_the_named_resource_only_and_says_so(pack: PackProcess) -> None:
    # GIVEN two roles with a wildcard action and an exemption for the legacy one
    result = report(pack, wildcard("legacy-reader-policy"), wildcard("new-reader-policy"), config=config(exemption()))
    # THEN the legacy one is reported as an exempted advisory, the other stays mandatory
    assert of(result) == [("advisory", "legacy-reader-policy", EXEMPTED), ("mandatory", "new-reader-policy", "")]
    exempted = result.in_state(EXEMPTED)[0]
    assert exempted.exemption == {
        "rule": WILDCARDS,
        "index": 0,
        "resource": "legacy-reader-*",
        "reason": "SEC-1234: the legacy reader is rewritten in Q1",
        "approvedBy": "security@example.com",
        "expires": FUTURE,
    }
    # the rule's own message is still there, above the exemption
    assert "secretsmanager:*" in exempted.message
    assert result.in_state(STALE) == []


def test_the_glob_also_matches_the_urn(pack: PackProcess) -> None:
    glob = f"*::{ROLE_POLICY}::legacy-*"
    result = report(pack, wildcard("legacy-x"), config=config(exemption(resource=glob)))
    assert of(result) == [("advisory", "legacy-x", EXEMPTED)]


def test_an_expired_exemption_no_longer_applies_and_the_message_says_it_expired(pack: PackProcess) -> None:
    result = report(pack, wildcard("legacy-reader-policy"), config=config(exemption(expires=PAST)))
    assert of(result) == [("mandatory", "legacy-reader-policy", EXPIRED)]
    assert f"exemption expired on {PAST} and no longer applies" in result.mandatory[0].message
    # an expired exemption that matched is not also reported as stale
    assert result.in_state(STALE) == []


def test_a_live_exemption_wins_over_an_expired_one_for_the_same_resource(pack: PackProcess) -> None:
    result = report(
        pack, wildcard("legacy-reader-policy"), config=config(exemption(expires=PAST), exemption(resource="legacy-*"))
    )
    assert of(result) == [("advisory", "legacy-reader-policy", EXEMPTED)]
    assert result.in_state(EXEMPTED)[0].exemption["index"] == 1  # type: ignore[index]
    # the expired one matched too, so it is not stale
    assert result.in_state(STALE) == []


def test_an_exemption_that_matches_no_violation_is_stale_once(pack: PackProcess) -> None:
    # GIVEN an exemption for a resource that has no violation, and one for a resource that does not exist
    clean = res(ROLE_POLICY, "legacy-reader-policy", {"role": "r", "policy": doc()})
    result = report(pack, clean, config=config(exemption(), exemption(resource="gone-*")))
    stale = result.in_state(STALE)
    assert sorted((v.policy, v.enforcement, v.exemption["resource"]) for v in stale) == [  # type: ignore[index]
        (WILDCARDS, "advisory", "gone-*"),
        (WILDCARDS, "advisory", "legacy-reader-*"),
    ]
    assert result.mandatory == []


def test_a_stack_rule_violation_can_be_exempted(pack: PackProcess) -> None:
    secret = res("aws:secretsmanager/secret:Secret", "legacy-secret", {"name": "legacy", "kmsKeyId": "k"})
    rule = "secret-requires-resource-policy"
    result = report(pack, secret, config=config(exemption(resource="legacy-*"), rule=rule))
    assert of(result, rule) == [("advisory", "legacy-secret", EXEMPTED)]


def test_without_exemptions_a_new_configuration_forgets_the_last_one(pack: PackProcess) -> None:
    report(pack, wildcard("legacy-reader-policy"), config=config(exemption()))
    result = report(pack, wildcard("legacy-reader-policy"), config={"all": "mandatory"})
    assert of(result) == [("mandatory", "legacy-reader-policy", "")]


@pytest.mark.parametrize("field", ["resource", "reason", "approvedBy", "expires"])
def test_a_missing_field_is_a_config_error_naming_rule_and_field(pack: PackProcess, field: str) -> None:
    entry = exemption()
    del entry[field]
    with pytest.raises(PolicyPackError) as error:
        report(pack, wildcard("x"), config=config(entry))
    assert str(error.value) == f"policy config {WILDCARDS}: exemptions[0] is missing {field} (a non-empty string)"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (exemption(reason="  "), "exemptions[0] is missing reason (a non-empty string)"),
        (exemption(expires="2027-13-01"), "exemptions[0].expires '2027-13-01' is not an ISO date (YYYY-MM-DD)"),
        (exemption(expires="31/01/2027"), "exemptions[0].expires '31/01/2027' is not an ISO date (YYYY-MM-DD)"),
        (exemption(expires="2027-1-31"), "exemptions[0].expires '2027-1-31' is not an ISO date (YYYY-MM-DD)"),
        (
            exemption(approved_by="me"),
            "exemptions[0] has unknown field approved_by (fields: resource, reason, approvedBy, expires)",
        ),
        (
            exemption(resource="*"),
            "exemptions[0].resource '*' matches every resource; set the rule's enforcementLevel instead",
        ),
        ("legacy-*", "exemptions[0] must be an object with resource, reason, approvedBy, expires"),
    ],
)
def test_a_malformed_exemption_is_a_config_error(pack: PackProcess, entry: Any, message: str) -> None:
    with pytest.raises(PolicyPackError) as error:
        report(pack, wildcard("x"), config=config(entry))
    assert str(error.value) == f"policy config {WILDCARDS}: {message}"


@pytest.mark.parametrize("rule", CREDENTIAL_RULES)
def test_a_rule_that_finds_credentials_can_never_be_exempted(pack: PackProcess, rule: str) -> None:
    with pytest.raises(PolicyPackError) as error:
        report(pack, wildcard("x"), config=config(exemption(), rule=rule))
    assert str(error.value) == (
        f"policy config {rule}: exemptions are not allowed: {rule} finds credentials, and a leaked credential is "
        "never waived (remove the exemptions and move the value to a secret store)"
    )


def test_on_another_pulumi_policy_release_every_schema_refuses_exemptions_instead_of_ignoring_them() -> None:
    """On a pulumi-policy release other than the supported one, `server.install` cannot take over the servicer, so no
    exemption would be applied. The rules the pack then registers refuse any exemption in their schema, which the
    Pulumi CLI checks before the run (ValidatePolicyPackConfig), so a waiver fails loudly rather than being ignored."""
    import jsonschema  # type: ignore[import-untyped]

    from keyless_guard import server
    from keyless_guard.pack import RULES

    unsupported = server.served_rules(RULES, installed=False)
    schemas = {rule.name: rule.config_schema() for rule in unsupported}
    refused = {}
    for name, schema in schemas.items():
        if schema is None:
            continue
        document = {"type": "object", "properties": schema.properties}
        errors = list(jsonschema.Draft7Validator(document).iter_errors({"exemptions": [exemption()]}))
        refused[name] = [error.validator for error in errors]
        assert jsonschema.Draft7Validator(document).is_valid({"exemptions": []})

    assert {name for name, schema in schemas.items() if schema is None} == set(CREDENTIAL_RULES)
    assert set(refused) == {rule.name for rule in RULES} - set(CREDENTIAL_RULES)
    assert set(map(tuple, refused.values())) == {("maxItems",)}
    # On the supported release the rules are served unchanged, and their schema accepts a reviewed exemption.
    assert server.served_rules(RULES, installed=True) == list(RULES)
    supported = {rule.name: rule.config_schema() for rule in RULES}[WILDCARDS]
    assert supported is not None
    assert jsonschema.Draft7Validator({"type": "object", "properties": supported.properties}).is_valid(
        {"exemptions": [exemption()]}
    )


def test_the_cli_gets_a_schema_for_exemptions_of_every_other_rule(pack: PackProcess) -> None:
    schemas = {p.name: json_format.MessageToDict(p.configSchema.properties) for p in pack.info.policies}
    assert {name for name, schema in schemas.items() if "exemptions" not in schema} == set(CREDENTIAL_RULES)
    item = schemas[WILDCARDS]["exemptions"]["items"]
    assert sorted(item["required"]) == ["approvedBy", "expires", "reason", "resource"]


def test_the_pack_reports_its_own_version_everywhere(pack: PackProcess) -> None:
    version = yaml.safe_load((REPO / "policies" / "PulumiPolicy.yaml").read_text())["version"]
    assert pack.info.version == version
    result = report(pack, wildcard("x"), config={"all": "mandatory"})
    # the SDK's "can't run" advisory names pack@version in its text (it said v0.0.1 before)
    unknown = res("aws:cloudwatch/logGroup:LogGroup", "g", {"retentionInDays": UNKNOWN})
    [cant_run] = [v for v in report(pack, unknown, config={"all": "mandatory"}).violations if v.cant_run]
    assert result.violations
    assert f"from policy pack 'keyless-guard@v{version}' during preview" in cant_run.message


# --- through the offline preview's command line


def preview(tmp_path: Path, policy_config: Mapping[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "policy.json"
    # The program's role also lacks lambda:SourceFunctionArn; these tests are about one rule's exemptions.
    path.write_text(json.dumps({**policy_config, "lambda-role-source-function": "disabled"}))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "offline_preview",
            "--stack",
            "test",
            "--program",
            str(PROGRAMS / "wildcard_role"),
            "--policy-config",
            str(path),
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_preview_shows_and_lists_exemptions_and_passes(tmp_path: Path) -> None:
    policy_config = config(exemption(resource="reader-policy"), exemption(resource="gone-*"))
    shown = preview(tmp_path, policy_config)
    assert shown.returncode == 0, shown.stderr
    assert "exempted: [iam-no-wildcard-actions]" in shown.stdout
    assert "SEC-1234: the legacy reader is rewritten in Q1 (approved by security@example.com, expires 2099-12-31)" in (
        shown.stdout
    )
    assert "stale exemption: [iam-no-wildcard-actions] exemption 1 of iam-no-wildcard-actions, resource 'gone-*'" in (
        shown.stdout
    )
    assert "    violations: 0 mandatory, 0 advisory" in shown.stdout
    assert "    exemptions: 1 applied, 0 expired, 1 stale" in shown.stdout

    listed = preview(tmp_path, policy_config, "--json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert sorted((e["resource"], e["state"]) for e in document["exemptions"]) == [
        ("gone-*", STALE),
        ("reader-policy", EXEMPTED),
    ]
    exempted = [v for v in document["violations"] if "exemption" in v]
    assert [(v["policy"], v["enforcement"], v["exemption"]["approvedBy"]) for v in exempted] == [
        (WILDCARDS, "advisory", "security@example.com")
    ]


def test_the_preview_fails_on_an_expired_exemption(tmp_path: Path) -> None:
    shown = preview(tmp_path, config(exemption(resource="reader-policy", expires=PAST)))
    assert shown.returncode == 1
    assert "mandatory: [iam-no-wildcard-actions]" in shown.stdout
    assert (
        f"EXPIRED: SEC-1234: the legacy reader is rewritten in Q1 (approved by security@example.com, expires {PAST})"
        in (shown.stdout)
    )


def test_a_config_error_exits_2_with_one_line(tmp_path: Path) -> None:
    entry = exemption(resource="reader-policy")
    del entry["approvedBy"]
    shown = preview(tmp_path, config(entry))
    assert shown.returncode == 2
    assert shown.stderr.splitlines() == [
        f"error: policy config {WILDCARDS}: exemptions[0] is missing approvedBy (a non-empty string)"
    ]


def test_the_readme_example_is_a_valid_reviewed_exemption(pack: PackProcess) -> None:
    readme = (REPO / "policies" / "README.md").read_text()
    section = readme.split("## Exemptions", 1)[1]
    example = json.loads(section.split("```json", 1)[1].split("```", 1)[0])
    [entry] = example[WILDCARDS]["exemptions"]
    assert set(entry) == {"resource", "reason", "approvedBy", "expires"}
    # the example's own date may pass one day; the format and its effect are what the README promises
    example[WILDCARDS]["exemptions"][0]["expires"] = FUTURE
    result = report(pack, wildcard("legacy-reader-7"), config=example)
    assert of(result) == [("advisory", "legacy-reader-7", EXEMPTED)]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
FIELD_VALUES = st.one_of(st.text(max_size=12), st.sampled_from(["2027-01-31", "2027-02-30", "*", "a*", ""]), JSONISH)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([WILDCARDS, "lambda-env-no-credentials", "kms-key-rotation"]),
        st.one_of(
            JSONISH,
            st.fixed_dictionaries(
                {},
                optional={
                    "exemptions": st.one_of(
                        JSONISH,
                        st.lists(
                            st.dictionaries(
                                st.sampled_from(["resource", "reason", "approvedBy", "expires", "note"]),
                                FIELD_VALUES,
                                max_size=5,
                            ),
                            max_size=3,
                        ),
                    )
                },
            ),
        ),
        max_size=3,
    )
)
def test_any_config_is_parsed_or_refused_in_one_line(config: dict[str, Any]) -> None:
    """In process: whatever the file holds, the parser returns exemptions or one ExemptionConfigError line."""
    entries = {rule: value if isinstance(value, dict) else {} for rule, value in config.items()}
    error = ""
    parsed: dict[str, tuple[exemptions.Exemption, ...]] = {}
    try:
        parsed = exemptions.parse(entries, {"lambda-env-no-credentials"})
    except exemptions.ExemptionConfigError as exc:
        error = str(exc)
    if error:
        assert "\n" not in error
        assert error.startswith("policy config ")
    for rule, found in parsed.items():
        assert rule != "lambda-env-no-credentials"
        assert all(e.reason and e.approved_by and e.resource.strip("*?") for e in found)
