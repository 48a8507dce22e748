"""Offline `pulumi preview`: run a Pulumi program under mocks and show the resources it would create.

    venv/bin/python -m tools.preview [--stack prod] [--program DIR] [--json]
        [--policy-pack DIR] [--policy-config FILE] [--no-policy] [--first-preview]

The program runs for real (the same `__main__.py` the Pulumi CLI runs) with the stack's config read from
`DIR/Pulumi.<stack>.yaml` over the defaults declared in `DIR/Pulumi.yaml`. Resources go to mocks that answer
with plausible values (ARNs in account 111122223333, the configured region, deterministic ids); invokes
(`aws.get_caller_identity`, `get_region`, ...) answer as AWS would. Nothing reaches AWS or the Pulumi service.

The keyless-guard policy pack then analyses every resource through the Pulumi Analyzer protocol (tools.policy_client)
and its diagnostics are shown under their resources (tools.policy_preview).

Exit codes: 0 the program ran and no mandatory policy failed, 1 a mandatory policy violation, 2 the program (or its
config, or the policy pack) failed; its own error message is shown.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import runpy
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import ROOT, SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from tools import policy_preview
from tools.policy_client import PolicyPackError
from tools.recorded import UNKNOWN, RecordedResource

REPO_ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "111122223333"
"""AWS's documented example account id: no real account can be reached or named by mistake."""
STACK_TYPE = "pulumi:pulumi:Stack"
EXIT_OK, EXIT_PROGRAM_ERROR = 0, 2


class PreviewError(Exception):
    """The program, its project file or its stack config cannot be previewed; the message says why."""


@dataclass(frozen=True)
class ProgramRun:
    """Everything one run of a program registered."""

    project: str
    stack: str
    config: Mapping[str, str]
    resources: list[RecordedResource]
    """In registration order; the first is the stack itself."""
    outputs: Mapping[str, Any] = field(default_factory=dict)
    """Stack exports, resolved (UNKNOWN where a first preview cannot know them)."""

    @property
    def stack_urn(self) -> str:
        return self.resources[0].urn


# --- project and stack config


def load_project(program_dir: Path) -> tuple[str, dict[str, Any]]:
    """The project name and the parsed Pulumi.yaml."""
    project_file = program_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise PreviewError(f"{project_file}: no Pulumi.yaml, so {program_dir} is not a Pulumi project")
    document = _read_yaml(project_file)
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise PreviewError(f"{project_file}: 'name' must be the project name")
    return name, document


def load_stack_config(program_dir: Path, stack: str) -> tuple[str, dict[str, str]]:
    """The project name and the stack's config as the CLI hands it to a program: `namespace:key` -> string.

    Project defaults from Pulumi.yaml come first and Pulumi.<stack>.yaml overrides them, as the CLI does.
    Non-string values are JSON-encoded, which is what `Config.get_object`/`get_int`/`get_bool` parse.
    """
    project, document = load_project(program_dir)
    config: dict[str, str] = {}
    declared = document.get("config") or {}
    if not isinstance(declared, dict):
        raise PreviewError(f"{program_dir / 'Pulumi.yaml'}: 'config' must be a mapping")
    for key, spec in declared.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(spec, dict) and "default" in spec:
            config[full_key] = _config_string(full_key, spec["default"])
        elif not isinstance(spec, dict):
            config[full_key] = _config_string(full_key, spec)

    stack_file = program_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise PreviewError(f"{stack_file}: no such stack config (create it or pick another --stack)")
    stack_config = _read_yaml(stack_file).get("config") or {}
    if not isinstance(stack_config, dict):
        raise PreviewError(f"{stack_file}: 'config' must be a mapping")
    for key, value in stack_config.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and "secure" in value:
            raise PreviewError(
                f"{stack_file}: {full_key} is an encrypted secret, which cannot be read offline (and this "
                "project keeps no secret in stack config)"
            )
        config[full_key] = _config_string(full_key, value)
    return project, config


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PreviewError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise PreviewError(f"{path}: expected a mapping at the top level")
    return document


def _config_string(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | list | dict):
        return json.dumps(value)
    raise PreviewError(f"config {key}: unsupported value of type {type(value).__name__}")


# --- mocks


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc-",
}


ARN_TEMPLATES = {
    "aws:lambda/function:Function": "{prefix}:function:{name}",
    # Secrets Manager appends six random characters to every secret ARN.
    "aws:secretsmanager/secret:Secret": "{prefix}:secret:{name}-{digest}",
    "aws:kms/key:Key": "{prefix}:key/{id}",
    "aws:kms/alias:Alias": "{prefix}:{name}",
    "aws:cloudwatch/logGroup:LogGroup": "{prefix}:log-group:{name}",
    "aws:dynamodb/table:Table": "{prefix}:table/{name}",
    "aws:sns/topic:Topic": "{prefix}:{name}",
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{name}",
    "aws:s3/bucketV2:BucketV2": "arn:aws:s3:::{name}",
}
"""ARN shapes that differ from `<prefix>:<resourceType>/<name>`."""


class PreviewMocks(pulumi.runtime.Mocks):
    """Plausible answers for resources and invokes, in account 111122223333 and the stack's region.

    With `first_preview`, a resource's outputs are only what the program gave as inputs: ids, ARNs and
    generated names stay unknown, as in the first `pulumi preview` of a stack whose resources do not exist.
    """

    def __init__(self, region: str, *, first_preview: bool = False) -> None:
        self.region = region
        self.first_preview = first_preview

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = self._invokes().get(args.token)
        if answer is None:
            raise PreviewError(f"the offline preview has no answer for the invoke {args.token}")
        return answer(args.args), []

    def _invokes(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        region = self.region
        return {
            "aws:index/getCallerIdentity:getCallerIdentity": lambda _: {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline-preview",
                "userId": "AIDAOFFLINEPREVIEW",
                "id": ACCOUNT_ID,
            },
            "aws:index/getPartition:getPartition": lambda _: {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
                "id": "aws",
            },
            "aws:index/getRegion:getRegion": lambda _: {
                "region": region,
                "name": region,
                "id": region,
                "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region,
            },
            "aws:index/getAvailabilityZones:getAvailabilityZones": lambda _: {
                "names": [f"{region}{zone}" for zone in "abc"],
                "zoneIds": [f"{region[:3]}{region[-1]}-az{n}" for n in (1, 2, 3)],
                "groupNames": [region],
                "id": region,
            },
            "aws:ec2/getPrefixList:getPrefixList": lambda args: {
                "id": "pl-" + _digest(str(args.get("name")), length=8),
                "name": args.get("name"),
                "cidrBlocks": [],
            },
            "aws:ec2/getVpc:getVpc": lambda args: {
                "id": args.get("id"),
                "arn": f"arn:aws:ec2:{region}:{ACCOUNT_ID}:vpc/{args.get('id')}",
                # The offline preview cannot see the real VPC; a private /16 stands in for its range.
                "cidrBlock": "10.0.0.0/16",
                "enableDnsSupport": True,
                "enableDnsHostnames": True,
            },
        }

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        if not args.custom:
            return None, outputs
        if self.first_preview:
            # Known inputs stay known; every computed output is missing, hence unknown to later resources.
            return None, outputs
        resource_id = self._physical_id(args)
        physical_name = _physical_name(args)
        outputs.setdefault("name", physical_name)
        outputs["id"] = resource_id
        outputs["arn"] = self._arn(args.typ, physical_name, resource_id)
        if args.typ == "aws:kms/key:Key":
            outputs["keyId"] = resource_id
        if args.typ == "aws:lambda/function:Function":
            outputs["invokeArn"] = f"arn:aws:apigateway:{self.region}:lambda:path/functions/{outputs['arn']}"
        return resource_id, outputs

    @staticmethod
    def _physical_id(args: pulumi.runtime.MockResourceArgs) -> str:
        prefix = ID_PREFIXES.get(args.typ)
        if prefix is not None:
            return prefix + _digest(args.typ, args.name)
        if args.typ == "aws:kms/key:Key":
            hex32 = _digest(args.typ, args.name, length=32)
            return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"
        return _physical_name(args)

    def _arn(self, type_token: str, name: str, resource_id: str) -> str:
        service = type_token.split(":")[1].split("/")[0]
        resource_type = type_token.rsplit(":", 1)[1]
        resource_type = resource_type[0].lower() + resource_type[1:]
        prefix = f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}"
        template = ARN_TEMPLATES.get(type_token)
        if template is not None:
            return template.format(prefix=prefix, name=name, id=resource_id, digest=_digest(name, length=6))
        if service == "iam":
            return f"arn:aws:iam::{ACCOUNT_ID}:{resource_type}/{name}"
        if service == "ec2":
            return f"{prefix}:{resource_type.lower()}/{resource_id}"
        return f"{prefix}:{resource_type}/{name}"


def _physical_name(args: pulumi.runtime.MockResourceArgs) -> str:
    """The name the program gave (`name`, or `bucket` for S3), else an auto-name like the provider's."""
    for key in ("name", "bucket"):
        value = args.inputs.get(key)
        if isinstance(value, str) and value:
            return value
    return f"{args.name}-{_digest(args.name, length=7)}"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping what the `Mocks` callbacks never see: parents and dependencies."""

    def __init__(self, mocks: PreviewMocks, stack_urn: str) -> None:
        super().__init__(mocks)
        self.stack_urn = stack_urn
        self.recorded: list[RecordedResource] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine does not prefix children of the stack with the stack's type; the base mock does.
        return super().make_urn("" if parent == self.stack_urn else parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == STACK_TYPE:
            return response
        registration = self.resources[response.urn]
        inputs = pulumi.runtime.rpc.deserialize_properties(request.object, keep_unknowns=True)
        self.recorded.append(
            RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or self.stack_urn,
                inputs=_unknowns_as_marker(inputs),
                outputs=_unknowns_as_marker(registration.state),
                dependencies=tuple(request.dependencies),
                property_dependencies={prop: tuple(deps.urns) for prop, deps in request.propertyDependencies.items()},
                provider=request.provider,
                custom=request.custom,
            )
        )
        return response


def _unknowns_as_marker(value: Any) -> Any:
    """Replace the wire's unknown sentinel (and `Unknown` objects) with the one UNKNOWN marker."""
    if isinstance(value, pulumi.output.Unknown) or value == pulumi.runtime.rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return {key: _unknowns_as_marker(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unknowns_as_marker(item) for item in value]
    return value


# --- running a program


def run_program(
    program_dir: Path = REPO_ROOT,
    stack: str = "prod",
    *,
    first_preview: bool = False,
    config_overrides: Mapping[str, str] | None = None,
) -> ProgramRun:
    """Run `program_dir/__main__.py` under mocks for `stack`; raise PreviewError if it fails."""
    program_dir = program_dir.resolve()
    entry = program_dir / "__main__.py"
    if not entry.is_file():
        raise PreviewError(f"{entry}: the program has no __main__.py")
    project, config = load_stack_config(program_dir, stack)
    config.update(config_overrides or {})
    sys.path.insert(0, str(program_dir))
    try:
        return run_under_mocks(
            lambda: runpy.run_path(str(entry), run_name="__main__"),
            project=project,
            stack=stack,
            config=config,
            first_preview=first_preview,
        )
    finally:
        sys.path.remove(str(program_dir))


def run_under_mocks(
    body: Callable[[], object],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    first_preview: bool = False,
) -> ProgramRun:
    """Run `body` (a program, or a test that builds components) as a Pulumi program under PreviewMocks."""
    region = config.get("aws:region")
    if not region:
        raise PreviewError(f"aws:region is not set for stack {stack} (pulumi config set aws:region <region>)")
    stack_urn = f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"
    mocks = PreviewMocks(region, first_preview=first_preview)
    monitor = RecordingMonitor(mocks, stack_urn)
    # A fresh root stack and settings per run, so one process can preview several programs in turn.
    ROOT.set(None)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    pulumi.runtime.set_all_config(dict(config), [])
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=True, monitor=monitor)

    exports: dict[str, pulumi.Output[Any]] = {}

    def program() -> None:
        body()
        root = ROOT.get()
        if isinstance(root, pulumi.runtime.stack.Stack):
            for name, value in root.outputs.items():
                exports[name] = pulumi.Output.from_input(value)

    try:
        _sync_await(run_pulumi_func(program))
        outputs = {name: _resolve(output) for name, output in exports.items()}
    except PreviewError:
        raise
    except Exception as exc:
        raise PreviewError(_program_error(exc)) from exc

    stack_record = RecordedResource(
        urn=stack_urn, type=STACK_TYPE, name=f"{project}-{stack}", parent=None, inputs={}, outputs={}, custom=False
    )
    return ProgramRun(project, stack, dict(config), [stack_record, *monitor.recorded], outputs)


def _resolve(output: pulumi.Output[Any]) -> Any:
    known = _sync_await(output.is_known())
    return _sync_await(output.future()) if known else UNKNOWN


def _program_error(exc: BaseException) -> str:
    if isinstance(exc, pulumi.RunError):
        return str(exc)
    # Anything else is a bug in the program: show where it happened.
    return "".join(traceback.format_exception(exc)).rstrip()


# --- showing the result


def short_type(type_token: str) -> str:
    """`aws:ec2/vpc:Vpc` -> `aws:ec2:Vpc`, as `pulumi preview` shows types."""
    package, module, name = [*type_token.split(":"), "", ""][:3]
    return f"{package}:{module.split('/')[0]}:{name}" if name else type_token


def render_tree(run: ProgramRun, annotate: Callable[[RecordedResource], Sequence[str]] | None = None) -> str:
    """The resource tree as `pulumi preview` prints it; `annotate` adds lines under a resource."""
    children: dict[str | None, list[RecordedResource]] = {}
    for resource in run.resources:
        children.setdefault(resource.parent, []).append(resource)
    rows: list[tuple[str, str, str, RecordedResource]] = []

    def walk(resource: RecordedResource, prefix: str, connector: str) -> None:
        rows.append((prefix + connector, short_type(resource.type), resource.name, resource))
        kids = children.get(resource.urn, [])
        extension = "" if not connector else ("   " if connector == "└─ " else "│  ")
        for index, child in enumerate(kids):
            walk(child, prefix + extension, "└─ " if index == len(kids) - 1 else "├─ ")

    walk(run.resources[0], "", "")
    type_width = max(len(indent + kind) for indent, kind, _, _ in rows) + 2
    name_width = max(len(name) for _, _, name, _ in rows) + 2
    lines = [
        f"Previewing update ({run.stack}) offline:",
        "",
        f"     {'Type':<{type_width}}{'Name':<{name_width}}Plan",
    ]
    for indent, kind, name, resource in rows:
        lines.append(f" +   {indent + kind:<{type_width}}{name:<{name_width}}create")
        for note in annotate(resource) if annotate else ():
            lines.append(f"     {' ' * len(indent)}  {note}")
    if run.outputs:
        lines += ["", "Outputs:"]
        width = max(len(name) for name in run.outputs) + 1
        for name, value in sorted(run.outputs.items()):
            shown = "output<string>" if value is UNKNOWN else json.dumps(value)
            lines.append(f"    {name + ':':<{width}} {shown}")
    lines += ["", "Resources:", f"    + {len(run.resources)} to create"]
    return "\n".join(lines)


def to_jsonable(value: Any) -> Any:
    """Inputs as JSON: unknowns as "<unknown>", assets and archives by what they point at."""
    if value is UNKNOWN:
        return "<unknown>"
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return {"archive" if isinstance(value, pulumi.Archive) else "asset": {"path": value.path}}
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {"assets": {name: to_jsonable(item) for name, item in value.assets.items()}}}
    if isinstance(value, pulumi.StringAsset):
        return {"asset": {"text": value.text}}
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    return value


def resources_json(run: ProgramRun) -> list[dict[str, Any]]:
    return [
        {
            "urn": resource.urn,
            "type": resource.type,
            "name": resource.name,
            "parent": resource.parent,
            "inputs": to_jsonable(dict(resource.inputs)),
        }
        for resource in run.resources
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.preview", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="prod", help="stack whose Pulumi.<stack>.yaml to use (default: prod)")
    parser.add_argument(
        "--program",
        type=Path,
        default=REPO_ROOT,
        help="directory of the Pulumi program (default: the repo root)",
    )
    parser.add_argument("--json", action="store_true", help="print the resources as JSON instead of a tree")
    policy_preview.add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    try:
        run = run_program(options.program, options.stack, first_preview=options.first_preview)
        report = policy_preview.run_policies(
            options, run.resources, project=run.project, stack=run.stack, stack_config=run.config
        )
    except (PreviewError, PolicyPackError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROGRAM_ERROR
    if options.json:
        print(json.dumps({"resources": resources_json(run), **policy_preview.json_fields(report)}, indent=2))
    else:
        print(render_tree(run, policy_preview.annotator(report)))
        print(policy_preview.summary(report))
    return policy_preview.exit_code(report, EXIT_OK)


if __name__ == "__main__":
    sys.exit(main())
