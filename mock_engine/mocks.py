"""The mocks the offline preview runs a program against: plausible resource outputs, invoke answers, and a monitor
that records every registration (parents and dependencies included) for the tree and the policy pack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from mock_engine import invoke_answers, pulumi_internals, sdk_shapes
from mock_engine.errors import PreviewError
from mock_engine.invoke_answers import ACCOUNT_ID, Place, digest
from mock_engine.recorded import UNKNOWN, RecordedResource

STACK_TYPE = "pulumi:pulumi:Stack"

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
    "aws:ec2/instance:Instance": "i-",
    "aws:ec2/networkInterface:NetworkInterface": "eni-",
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
    Outputs are shaped after the provider SDK's declared output types (a policy document given as an object comes
    back as its JSON string, as the provider returns it). `invoke_answers` adds or overrides invoke results
    (see mock_engine.invoke_answers).
    """

    def __init__(
        self,
        region: str,
        *,
        first_preview: bool = False,
        invoke_answers: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.region = region
        self.place = Place(region)
        self.first_preview = first_preview
        self.extra_answers = dict(invoke_answers or {})

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        try:
            return invoke_answers.answer(args.token, args.args, self.place, self.extra_answers), []
        except invoke_answers.NoAnswer as exc:
            raise PreviewError(str(exc)) from None

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        if not args.custom:
            return None, outputs
        outputs = sdk_shapes.shape_fields(outputs, sdk_shapes.resource_output_types(args.typ))
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
            return prefix + digest(args.typ, args.name)
        if args.typ == "aws:kms/key:Key":
            hex32 = digest(args.typ, args.name, length=32)
            return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"
        return _physical_name(args)

    def _arn(self, type_token: str, name: str, resource_id: str) -> str:
        service = type_token.split(":")[1].split("/")[0]
        resource_type = type_token.rsplit(":", 1)[1]
        resource_type = resource_type[0].lower() + resource_type[1:]
        prefix = f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}"
        template = ARN_TEMPLATES.get(type_token)
        if template is not None:
            return template.format(prefix=prefix, name=name, id=resource_id, digest=digest(name, length=6))
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
    return f"{args.name}-{digest(args.name, length=7)}"


class RecordingMonitor(pulumi_internals.MockMonitor):
    """The mock monitor, also keeping what the `Mocks` callbacks never see: parents and dependencies.

    It does not offer resource references (see `pulumi_internals.without_resource_references`): a resource passed as
    an input reaches the mocks and the pack as its id, as the engine hands it to a provider that does not accept them.
    """

    def __init__(self, mocks: PreviewMocks, stack_urn: str) -> None:
        super().__init__(mocks)
        self.stack_urn = stack_urn
        self.recorded: list[RecordedResource] = []

    def GetDeploymentInfo(self, request: Any) -> Any:
        return pulumi_internals.without_resource_references(super().GetDeploymentInfo(request))  # type: ignore[no-untyped-call]

    def SupportsFeature(self, request: Any) -> Any:
        if request.id == "resourceReferences":
            return type("SupportsFeatureResponse", (object,), {"hasSupport": False})
        return super().SupportsFeature(request)  # type: ignore[no-untyped-call]

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine does not prefix children of the stack with the stack's type; the base mock does.
        return super().make_urn("" if parent == self.stack_urn else parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == STACK_TYPE:
            return response
        mark_secret_outputs(response.object, request.additionalSecretOutputs)
        registration = self.resources[response.urn]
        inputs = pulumi_internals.deserialize_properties(request.object)
        self.recorded.append(
            RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or self.stack_urn,
                inputs=unknowns_as_marker(inputs),
                outputs=unknowns_as_marker(registration.state),
                dependencies=tuple(request.dependencies),
                property_dependencies={prop: tuple(deps.urns) for prop, deps in request.propertyDependencies.items()},
                provider=request.provider,
                custom=request.custom,
                remote=request.remote,
            )
        )
        return response


def mark_secret_outputs(state: Any, names: Any) -> None:
    """Mark the outputs a resource declares secret (`additional_secret_outputs`: an RDS instance's `password`, an
    access key's `secret`) as secrets in the registration's response, as the engine does after the provider answers
    (pulumi/pulumi `pkg/resource/deploy/step_executor.go`: `newState.Outputs[k] = resource.MakeSecret(v)`). The SDK
    also marks the ones it gets back; an output the mock did not return stands for one the provider returns unknown at
    preview (RandomPassword's `result`, an access key's `secret`), which the real preview shows as `[secret]`, and
    which without this would show as an unknown that is not secret."""
    fields = state.fields
    for name in names:
        wrapped = type(state)()
        wrapped.fields[pulumi_internals.SECRET_SIG_KEY].string_value = pulumi_internals.SECRET_SIG
        if name in fields:
            current = fields[name]
            already = current.WhichOneof("kind") == "struct_value" and current.struct_value.fields.get(
                pulumi_internals.SECRET_SIG_KEY
            )
            if already:
                continue
            wrapped.fields["value"].CopyFrom(current)
        else:
            wrapped.fields["value"].string_value = pulumi_internals.WIRE_UNKNOWN
        fields[name].struct_value.CopyFrom(wrapped)


def unknowns_as_marker(value: Any) -> Any:
    """Replace the wire's unknown sentinel (and `Unknown` objects) with the one UNKNOWN marker."""
    if pulumi_internals.is_unknown(value):
        return UNKNOWN
    if isinstance(value, dict):
        return {key: unknowns_as_marker(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unknowns_as_marker(item) for item in value]
    return value
