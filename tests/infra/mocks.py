"""Pulumi mocks that record every resource the program declares.

``RecordingMocks.resources`` holds one dict per ``new_resource`` call: type, name, inputs (camelCase,
numbers as floats, as the engine delivers them), outputs (what the mock answered) and parent URN.
Outputs add plausible computed attributes (``arn``, ``id``, ECR ``repositoryUrl``, image ``digest``)
so downstream resources see realistic values.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"
ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def fake_digest(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def _arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT_ID) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def computed_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What AWS would compute for the resource types the program declares."""
    physical = inputs.get("name") or inputs.get("bucket") or name
    out: dict[str, Any] = {}
    if typ == "aws:s3/bucket:Bucket":
        out = {"arn": f"arn:{PARTITION}:s3:::{physical}", "bucket": physical}
    elif typ == "aws:lambda/function:Function":
        out = {"arn": _arn("lambda", f"function:{physical}")}
    elif typ == "aws:iam/role:Role":
        out = {"arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{physical}", "name": physical}
    elif typ == "aws:sfn/stateMachine:StateMachine":
        out = {"arn": _arn("states", f"stateMachine:{physical}")}
    elif typ == "aws:dynamodb/table:Table":
        out = {"arn": _arn("dynamodb", f"table/{physical}")}
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        out = {"arn": _arn("logs", f"log-group:{physical}")}
    elif typ == "aws:sqs/queue:Queue":
        out = {
            "arn": _arn("sqs", physical),
            "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{physical}",
        }
    elif typ == "aws:sns/topic:Topic":
        out = {"arn": _arn("sns", physical)}
    elif typ == "aws:kms/key:Key":
        out = {"arn": _arn("kms", f"key/{name}"), "keyId": name}
    elif typ == "aws:ecr/repository:Repository":
        out = {
            "arn": _arn("ecr", f"repository/{physical}"),
            "registryId": ACCOUNT_ID,
            "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{physical}",
        }
    elif typ == "docker-build:index:Image":
        digest = fake_digest(name)
        tags = inputs.get("tags") or []
        out = {"digest": digest, "ref": f"{tags[0]}@{digest}" if tags else ""}
    elif typ == "aws:ec2/subnet:Subnet":
        out = {"arn": _arn("ec2", f"subnet/subnet-{name}")}
    elif typ == "aws:ec2/securityGroup:SecurityGroup":
        out = {"arn": _arn("ec2", f"security-group/sg-{name}")}
    elif typ == "aws:apigatewayv2/api:Api":
        api_id = hashlib.sha256(name.encode()).hexdigest()[:10]
        out = {
            "arn": f"arn:{PARTITION}:apigateway:{REGION}::/apis/{api_id}",
            "executionArn": _arn("execute-api", api_id),
            "apiEndpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com",
        }
    elif typ == "aws:iam/policy:Policy":
        out = {"arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:policy/{physical}"}
    elif typ == "aws:cloudtrail/trail:Trail":
        out = {"arn": _arn("cloudtrail", f"trail/{physical}")}
    elif typ == "aws:cognito/userPool:UserPool":
        pool_id = f"{REGION}_" + hashlib.sha256(name.encode()).hexdigest()[:9]
        out = {"arn": _arn("cognito-idp", f"userpool/{pool_id}"),
               "endpoint": f"cognito-idp.{REGION}.amazonaws.com/{pool_id}"}
    elif typ == "aws:ecs/cluster:Cluster":
        out = {"arn": _arn("ecs", f"cluster/{physical}")}
    elif typ == "aws:ecs/taskDefinition:TaskDefinition":
        family = inputs.get("family") or name
        out = {"arn": _arn("ecs", f"task-definition/{family}:1"),
               "arnWithoutRevision": _arn("ecs", f"task-definition/{family}"), "revision": 1}
    elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
        out = {"prefixListId": f"pl-{name}"}
    return out


class RecordingMocks(pulumi.runtime.Mocks):
    """Records resources and answers the invokes the program makes."""

    def __init__(self) -> None:
        self.resources: list[dict[str, Any]] = []
        self.calls: list[str] = []
        # The record new_resource made last on this thread: the engine registers resources from several
        # threads at once, and RegisterResource completes the record on the thread that made it.
        self.local = threading.local()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = {**args.inputs, **computed_outputs(args.typ, args.name, args.inputs)}
        record = {
            "type": args.typ,
            "name": args.name,
            "inputs": dict(args.inputs),
            "outputs": outputs,
            "parent": "",
            "urn": "",
            "custom": bool(args.custom),
        }
        self.resources.append(record)
        self.local.record = record
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append(args.token)
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/test",
                "userId": "AIDATEST",
                "id": ACCOUNT_ID,
            }
        if token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION, "endpoint": f"ec2.{REGION}.amazonaws.com",
                    "description": "Europe (Ireland)"}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION,
                    "reverseDnsPrefix": "com.amazonaws"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": ZONES, "zoneIds": ["euw1-az1", "euw1-az2", "euw1-az3"], "id": REGION}
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "authorizationToken": "dGVzdDp0ZXN0",
                "password": "test",
                "userName": "AWS",
                "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com",
                "expiresAt": "2099-01-01T00:00:00Z",
                "id": REGION,
                "registryId": ACCOUNT_ID,
            }
        raise NotImplementedError(f"the program called {token!r}, which these mocks do not answer")


class RecordingMonitor(MockMonitor):
    """Adds each registration's parent URN and own URN to the record (``MockResourceArgs`` lacks them)."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self._recording = mocks

    def RegisterResource(self, request: Any) -> Any:
        self._recording.local.record = None
        response = super().RegisterResource(request)
        # The record this call's new_resource made, on this thread. Not a search by (type, name): that pair is
        # not unique (components "sweeper" of two types both declare "sweeper-role"), and while one thread
        # serialises its outputs another may append a record of the same type and name.
        record = self._recording.local.record
        if record is not None:
            record["parent"] = request.parent
            record["urn"] = response.urn
            record["options"] = resource_options(request)
            record["options"]["aliases"] = self.alias_urns(request)
        return response

    def alias_urns(self, request: Any) -> list[str]:
        """The URNs the resource's aliases name (an alias spec completed from the resource itself, as the
        engine does: same parent, type and name unless the spec says otherwise)."""
        urns = [str(a) for a in request.aliasURNs]
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            urns.append(self.make_urn(parent, spec.type or request.type, spec.name or request.name))
        return urns


def resource_options(request: Any) -> dict[str, Any]:
    """The resource options the engine received (``protect``, ``retain_on_delete``, ``provider``,
    ``depends_on``, ``aliases``), so tests can assert them as they assert inputs."""
    return {
        "protect": request.HasField("protect") and bool(request.protect),
        "retain_on_delete": request.HasField("retainOnDelete") and bool(request.retainOnDelete),
        "provider": request.provider,
        "depends_on": sorted(request.dependencies),
        "aliases": [str(a) for a in request.aliasURNs] + [str(a) for a in request.aliases],
    }
