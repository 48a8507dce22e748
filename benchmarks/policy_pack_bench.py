"""Throughput of the keyless-guard pack through the Analyzer protocol against its floor, and `make preview`'s time.

    venv/bin/python -m benchmarks.policy_pack_bench [--apps 200] [--repeat 5] [--no-make] [--policy-pack DIR]

A generated stack of `apps` x 10 resources (2,000 by default) shaped like the real one: per app an execution role
and its inline policy, a function in a VPC with five environment variables and a small code archive, its log group,
a secret with its resource policy, a KMS key, an endpoint security group and a Secrets Manager endpoint, all tied
by property dependencies. Every resource goes through Analyze (inputs) and the stack through one AnalyzeStack, as
`pulumi preview --policy-pack` does, to two pack processes: a one-policy no-op pack (the floor: one unary call per
resource through the stock SDK) and the pack measured, one warm-up run each and then runs alternated so that both
see the same load. Resources per second counts both phases; the ratio of the medians is the figure to compare.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Final

import pulumi

from benchmarks import readme_figures, results
from mock_engine.recorded import RecordedResource
from offline_preview.analyzer_client import PackProcess
from tests.policies.builders import ACCOUNT, UNKNOWN, arn, doc, res, stack

REPO = Path(__file__).resolve().parent.parent
NO_OP_PACK: Final = """\
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

def no_op(args, report_violation):
    return None

PolicyPack("no-op", enforcement_level=EnforcementLevel.MANDATORY,
           policies=[ResourceValidationPolicy(name="no-op", description="Checks nothing.", validate=no_op)])
"""
"""The floor: one no-op policy, so each Analyze is one unary gRPC call, the SDK's request handling and nothing else."""


def app(i: int, vpc: RecordedResource) -> list[RecordedResource]:
    name = f"app{i}"
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    statements: list[dict[str, object]] = [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": arn("logs", f"log-group:/aws/lambda/{name}:*")},
        {"Effect": "Allow", "Action": "dynamodb:BatchWriteItem", "Resource": arn("dynamodb", f"table/{name}")},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": arn("secretsmanager", f"secret:{name}-??????")},
        {"Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": arn("ec2", "network-interface/*")},
        {"Effect": "Allow", "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface"], "Resource": "*"},
    ]  # fmt: skip
    role = res(
        "aws:iam/role:Role",
        f"{name}-role",
        {"name": name, "inlinePolicies": [{"name": "run", "policy": doc(*statements)}]},
    )
    key = res(
        "aws:kms/key:Key",
        f"{name}-key",
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
    secret = res(
        "aws:secretsmanager/secret:Secret", f"{name}-secret", {"name": name, "kmsKeyId": arn("kms", f"alias/{name}")}
    )
    secret_policy = res(
        "aws:secretsmanager/secretPolicy:SecretPolicy",
        f"{name}-secret-policy",
        {
            "secretArn": UNKNOWN,
            "policy": doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": role_arn},
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ),
        },
        prop_deps={"secretArn": [secret]},
    )
    subnet = res("aws:ec2/subnet:Subnet", f"{name}-subnet", {"vpcId": UNKNOWN}, prop_deps={"vpcId": [vpc]})
    sg = res(
        "aws:ec2/securityGroup:SecurityGroup",
        f"{name}-endpoint-sg",
        {"vpcId": UNKNOWN, "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "securityGroups": UNKNOWN}]},
        prop_deps={"vpcId": [vpc]},
    )
    endpoint = res(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        f"{name}-sm",
        {
            "vpcId": UNKNOWN,
            "serviceName": "com.amazonaws.eu-west-1.secretsmanager",
            "vpcEndpointType": "Interface",
            "privateDnsEnabled": True,
            "securityGroupIds": UNKNOWN,
        },
        prop_deps={"vpcId": [vpc], "securityGroupIds": [sg]},
    )
    logs = res(
        "aws:cloudwatch/logGroup:LogGroup", f"{name}-logs", {"name": f"/aws/lambda/{name}", "retentionInDays": 14}
    )
    function = res("aws:lambda/function:Function", name, {
        "name": name, "role": role_arn,
        "environment": {"variables": {
            "SECRET_ID": f"thirdparty/{name}", "TABLE_NAME": name, "LOG_LEVEL": "INFO",
            "API_BASE_URL": "https://api.weather.example/v1", "SECRET_CACHE_TTL_SECONDS": "300"}},
        "code": pulumi.AssetArchive({"app.py": pulumi.StringAsset("import os\nSECRET_ID = os.environ['SECRET_ID']\n")}),
        "vpcConfig": {"subnetIds": UNKNOWN, "securityGroupIds": UNKNOWN},
        "loggingConfig": {"logGroup": f"/aws/lambda/{name}"}},
        prop_deps={"vpcConfig": [subnet], "loggingConfig": [logs]})  # fmt: skip
    return [role, key, secret, secret_policy, subnet, sg, endpoint, logs, function, _gateway(name, vpc)]


def _gateway(name: str, vpc: RecordedResource) -> RecordedResource:
    return res("aws:ec2/vpcEndpoint:VpcEndpoint", f"{name}-ddb", {
        "vpcId": UNKNOWN, "serviceName": "com.amazonaws.eu-west-1.dynamodb", "vpcEndpointType": "Gateway"},
        prop_deps={"vpcId": [vpc]})  # fmt: skip


def generated_stack(apps: int) -> list[RecordedResource]:
    vpc = res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    resources = [r for i in range(apps) for r in app(i, vpc)]
    return stack(vpc, *resources[: apps * 10 - 1])


def measure(pack: PackProcess, resources: Sequence[RecordedResource]) -> tuple[float, float, int]:
    pack.configure({"all": "mandatory"})
    start = time.perf_counter()
    violations = [v for r in resources for v in pack.analyze(r)]
    analyzed = time.perf_counter()
    violations += pack.analyze_stack(resources)
    return analyzed - start, time.perf_counter() - analyzed, len(violations)


PREVIEW = [sys.executable, "-m", "offline_preview", "--stack", "prod", "--first-preview"]
"""What `make preview` runs once its venv is installed (the Makefile's preview target), timed without make."""


def make_preview(extra: Sequence[str] = ()) -> tuple[float, int, int]:
    """Wall time of the preview `make preview` runs, its exit code and the resources it shows."""
    start = time.perf_counter()
    result = subprocess.run([*PREVIEW, *extra], cwd=REPO, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    created = [line for line in result.stdout.splitlines() if line.strip().endswith("to create")]
    return seconds, result.returncode, int(created[-1].split()[1]) if created else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=200, help="10 resources each (default: 200 -> 2,000)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-make", action="store_true", help="skip timing `make preview`")
    parser.add_argument("--policy-pack", type=Path, default=REPO / "policies", help="the pack to measure")
    options = parser.parse_args(argv)
    resources = generated_stack(options.apps)
    with tempfile.TemporaryDirectory() as floor_dir:
        (Path(floor_dir) / "__main__.py").write_text(NO_OP_PACK)
        floor = Contender("no-op floor", Path(floor_dir))
        pack = Contender("keyless-guard", options.policy_pack)
        with floor.process, pack.process:
            for contender in (floor, pack):
                measure(contender.process, resources)  # warm-up: imports, caches, the first gRPC channel setup
            # Alternate the two, run by run, so that both see the same load on a shared machine.
            for _ in range(options.repeat):
                for contender in (floor, pack):
                    contender.runs.append(measure(contender.process, resources))
    print(f"{len(resources)} resources, Analyze on each then one AnalyzeStack, {options.repeat} runs alternated:")
    for contender in (floor, pack):
        contender.print(len(resources))
    figures: dict[str, object] = {
        "resources": len(resources),
        "repeat": options.repeat,
        "rules": len(pack.process.info.policies),
        "floor_per_second": round(floor.per_second(len(resources))),
        "pack_per_second": round(pack.per_second(len(resources))),
    }
    if not options.no_make:
        # Interleaved with the program alone (--no-policy), so that the pack's share is read from the same moments.
        runs = [(make_preview(), make_preview(["--no-policy"])) for _ in range(3)]
        figures["preview"] = {
            "resources": runs[0][0][2],
            "exit_codes": sorted({with_pack[1] for with_pack, _ in runs}),
            "seconds": [round(with_pack[0], 2) for with_pack, _ in runs],
            "program_only_seconds": [round(alone[0], 2) for _, alone in runs],
        }
    results.record("policy_pack_bench", figures)
    print(readme_figures.render("policy-pack"))
    return 0


@dataclass
class Contender:
    label: str
    pack_dir: Path
    runs: list[tuple[float, float, int]] = field(default_factory=list)

    @cached_property
    def process(self) -> PackProcess:
        return PackProcess(self.pack_dir, project="bench", stack="bench", base_dir=REPO)

    def per_second(self, resources: int) -> float:
        return statistics.median(resources / (analyze + stack_time) for analyze, stack_time, _ in self.runs)

    def print(self, resources: int) -> None:
        median = self.per_second(resources)
        print(f"  {self.label}: median {median:.0f} resources/s, {self.runs[0][2]} violations a run")
        for analyze, stack_time, _ in self.runs:
            print(f"    Analyze {analyze:.2f} s, AnalyzeStack {stack_time:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
