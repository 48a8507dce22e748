"""The protocol driver: wire values, policy config, start-up errors, and what GetAnalyzerInfo says."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
from pulumi_policy.deserialize import SPECIAL_ARCHIVE_SIG, SPECIAL_ASSET_SIG, SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from keyless_guard.pack import RULES
from offline_preview.analyzer_client import PackProcess, policy_configs, to_wire
from offline_preview.errors import PolicyPackError
from tests.policies.builders import UNKNOWN, report, res


def test_wire_values_are_what_the_engine_sends(tmp_path):
    value = {
        "unknown": UNKNOWN,
        "nested": [1, True, None, {"x": UNKNOWN}],
        "secret": {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": "plain"},
        "code": pulumi.AssetArchive({"a.py": pulumi.StringAsset("x"), "lib": pulumi.FileArchive("lib")}),
        "file": pulumi.FileAsset("f.txt"),
        "remote": pulumi.RemoteArchive("https://example.com/a.zip"),
    }
    assert to_wire(value, tmp_path) == {
        "unknown": UNKNOWN_STRING_VALUE,
        "nested": [1, True, None, {"x": UNKNOWN_STRING_VALUE}],
        "secret": "plain",
        "code": {
            SPECIAL_SIG_KEY: SPECIAL_ARCHIVE_SIG,
            "assets": {
                "a.py": {SPECIAL_SIG_KEY: SPECIAL_ASSET_SIG, "text": "x"},
                "lib": {SPECIAL_SIG_KEY: SPECIAL_ARCHIVE_SIG, "path": str(tmp_path / "lib")},
            },
        },
        "file": {SPECIAL_SIG_KEY: SPECIAL_ASSET_SIG, "path": str(tmp_path / "f.txt")},
        "remote": {SPECIAL_SIG_KEY: SPECIAL_ARCHIVE_SIG, "uri": "https://example.com/a.zip"},
    }
    with pytest.raises(PolicyPackError, match="cannot send a object"):
        to_wire(object(), tmp_path)


def test_analyzer_info_lists_every_rule_with_its_default_level(pack):
    info = pack.info
    assert info.name == "keyless-guard"
    assert pack.version == "0.2.0"
    assert {p.name for p in info.policies} == {rule.name for rule in RULES}
    assert all(p.description and p.remediation_steps for p in info.policies)


def _levels(pack: PackProcess, config: dict[str, object] | None) -> dict[str, int]:
    return {name: c.enforcementLevel for name, c in policy_configs(pack.info, config).items()}


def test_policy_config_resolution(pack):
    from pulumi.runtime.proto import analyzer_pb2

    mandatory, advisory = analyzer_pb2.MANDATORY, analyzer_pb2.ADVISORY
    defaults = _levels(pack, None)
    assert defaults["vpc-dynamodb-gateway-endpoint"] == advisory
    assert defaults["iam-no-wildcard-actions"] == mandatory
    everything = _levels(pack, {"all": "advisory", "iam-no-access-keys": {"enforcementLevel": "mandatory"}})
    assert {n for n, level in everything.items() if level == mandatory} == {"iam-no-access-keys"}
    configs = policy_configs(pack.info, {"iam-no-access-keys": {"note": "x"}})
    assert dict(configs["iam-no-access-keys"].properties) == {"note": "x"}
    with pytest.raises(PolicyPackError, match="no-such-rule"):
        policy_configs(pack.info, {"no-such-rule": "mandatory"})
    with pytest.raises(PolicyPackError, match="enforcement level"):
        policy_configs(pack.info, {"all": "strict"})


def test_unknowns_reach_the_pack_as_the_engine_sentinel(pack):
    result = report(pack, res("aws:cloudwatch/logGroup:LogGroup", "g", {"retentionInDays": UNKNOWN}))
    [violation] = result.violations
    assert violation.cant_run
    assert violation.enforcement == "advisory"
    assert "retentionInDays" in violation.message
    assert result.not_run_for_unknowns == 1


@pytest.mark.slow
def test_a_pack_that_cannot_start_shows_its_stderr(tmp_path):
    (tmp_path / "__main__.py").write_text("import no_such_module_for_the_pack\n")
    with pytest.raises(PolicyPackError, match="no_such_module_for_the_pack"):
        PackProcess(tmp_path, project="p", stack="s").start()
    with pytest.raises(PolicyPackError, match="not a Python policy pack"):
        PackProcess(Path(tmp_path / "missing"), project="p", stack="s").start()


@pytest.mark.slow
def test_the_pack_gets_the_stack_settings_and_config(tmp_path):
    # GIVEN a pack that reports what the runtime was configured with, as a violation
    (tmp_path / "__main__.py").write_text(
        "import pulumi\n"
        "from pulumi_policy import PolicyPack, ResourceValidationPolicy, EnforcementLevel\n"
        "def check(args, report):\n"
        "    report(f'{pulumi.get_project()}/{pulumi.get_stack()}/{pulumi.runtime.is_dry_run()}/'"
        " + pulumi.Config('aws').get('region'))\n"
        "PolicyPack('probe', enforcement_level=EnforcementLevel.MANDATORY,"
        " policies=[ResourceValidationPolicy(name='probe', description='d', validate=check)])\n"
    )
    with PackProcess(tmp_path, "proj", "stk", dry_run=False, stack_config={"aws:region": "eu-west-1"}) as probe:
        [violation] = probe.analyze(res("aws:s3/bucket:Bucket", "b"))
    assert violation.message == "proj/stk/False/eu-west-1"


def test_readme_documents_every_rule():
    from tests.policies.conftest import REPO

    readme = (REPO / "policies" / "README.md").read_text()
    assert [rule.name for rule in RULES if f"| `{rule.name}`" not in readme] == []
