"""No drift between the Pulumi program and the local mode: both build from genomics.deployment and
genomics.workflow, and this test deploys the local mode into moto next to what the program declares
under mocks (same stack config), then compares every shared resource."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from genomics.deployment import FUNCTIONS, TABLES, Names
from genomics.local.adapter import patched_environ
from genomics.local.deploy import deploy
from infra.config import settings_from
from tests.infra.resources import PROJECT, STACKS, declared_resources, stack_config

MOCK_ACCOUNT, MOCK_REGION = "123456789012", "eu-west-1"


@pytest.fixture(scope="module", params=STACKS)
def both(request):
    stack = request.param
    declared = declared_resources(stack)
    cfg = stack_config(stack)
    settings = settings_from(stack, lambda key: cfg.get(f"{PROJECT}:{key}"))
    names = Names(stack, MOCK_ACCOUNT, MOCK_REGION)
    with (
        patched_environ(
            {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}, unset=("AWS_ENDPOINT_URL",)
        ),
        mock_aws(),
    ):
        session = boto3.Session(region_name=MOCK_REGION)
        local = deploy(names, settings, session)
        yield stack, declared, session, local


def _of(declared: list[dict[str, Any]], typ: str) -> list[dict[str, Any]]:
    return [r for r in declared if r["type"] == typ]


def test_drift_buckets(both):
    stack, declared, session, _local = both
    local = {b["Name"] for b in session.client("s3").list_buckets()["Buckets"]}
    pulumi_names = {r["inputs"].get("bucket") for r in _of(declared, "aws:s3/bucket:Bucket")}
    assert local <= pulumi_names, f"{stack}: local buckets {local - pulumi_names} are not declared by Pulumi"


def test_drift_tables_keys_and_indexes(both):
    stack, declared, session, _local = both
    ddb = session.client("dynamodb")
    for r in _of(declared, "aws:dynamodb/table:Table"):
        inp = r["inputs"]
        desc = ddb.describe_table(TableName=inp["name"])["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in desc["KeySchema"]}
        assert keys.get("HASH") == inp["hashKey"] and keys.get("RANGE") == inp.get("rangeKey"), (stack, r["name"])
        local_gsis = {
            g["IndexName"]: {k["KeyType"]: k["AttributeName"] for k in g["KeySchema"]}
            for g in desc.get("GlobalSecondaryIndexes", [])
        }
        declared_gsis = {}
        for g in inp.get("globalSecondaryIndexes", []):
            ks = g.get("keySchemas") or [{"attributeName": g.get("hashKey"), "keyType": "HASH"}] + (
                [{"attributeName": g["rangeKey"], "keyType": "RANGE"}] if g.get("rangeKey") else []
            )
            declared_gsis[g["name"]] = {k["keyType"]: k["attributeName"] for k in ks}
        assert local_gsis == declared_gsis, (stack, r["name"])
    assert len(_of(declared, "aws:dynamodb/table:Table")) == len(TABLES)


def test_drift_functions_environment_image_command_sizes(both):
    stack, declared, session, _local = both
    lam = session.client("lambda")
    fns = {r["inputs"]["name"]: r["inputs"] for r in _of(declared, "aws:lambda/function:Function")}
    assert len(fns) == len(FUNCTIONS)
    for name, inp in fns.items():
        conf = lam.get_function(FunctionName=name)["Configuration"]
        # ids of resources created at deploy time (the Cognito pool's) differ between moto and the mocks:
        # both must set them, to something
        runtime = FUNCTIONS[name.removeprefix(f"genomics-{stack}-")].runtime_env
        local_env, declared_env = dict(conf["Environment"]["Variables"]), dict(inp["environment"]["variables"])
        for key in runtime:
            assert local_env.pop(key, "") and declared_env.pop(key, ""), (stack, name, key)
        assert local_env == declared_env, (stack, name)
        assert conf["ImageConfigResponse"]["ImageConfig"]["Command"] == inp["imageConfig"]["commands"], (stack, name)
        assert conf["MemorySize"] == int(inp["memorySize"]), (stack, name)
        assert conf["Timeout"] == int(inp["timeout"]), (stack, name)
        assert conf["EphemeralStorage"]["Size"] == int(inp["ephemeralStorage"]["size"]), (stack, name)
        assert conf["PackageType"] == inp.get("packageType", "Image"), (stack, name)


def _arn_to_name(obj: Any) -> Any:
    """Function ARNs differ between mocks and moto only in their prefix: compare by function name; the
    ECS cluster and task definition by name and family; subnet and security group ids are generated, so
    only their number is compared."""
    if isinstance(obj, dict):
        return {k: len(v) if k in ("Subnets", "SecurityGroups") else _arn_to_name(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_arn_to_name(v) for v in obj]
    if isinstance(obj, str) and ":function:" in obj:
        return obj.rsplit(":function:", 1)[1].split(":")[0]
    if isinstance(obj, str) and ":cluster/" in obj:
        return obj.rsplit(":cluster/", 1)[1]
    if isinstance(obj, str) and ":task-definition/" in obj:
        return obj.rsplit(":task-definition/", 1)[1].split(":")[0]
    return obj


def test_drift_state_machine_definition(both):
    stack, declared, session, local = both
    (sm,) = _of(declared, "aws:sfn/stateMachine:StateMachine")
    local_def = json.loads(
        session.client("stepfunctions").describe_state_machine(stateMachineArn=local.state_machine_arn)["definition"]
    )
    assert _arn_to_name(json.loads(sm["inputs"]["definition"])) == _arn_to_name(local_def), stack
    assert sm["inputs"]["name"] == local.names.state_machine


def test_drift_notification_and_dead_letter_queue(both):
    stack, declared, session, local = both
    (note,) = _of(declared, "aws:s3/bucketNotification:BucketNotification")
    conf = session.client("s3").get_bucket_notification_configuration(Bucket=local.names.bucket("raw"))
    local_fns = [(_arn_to_name(c["LambdaFunctionArn"]), c["Events"]) for c in conf["LambdaFunctionConfigurations"]]
    declared_fns = [(_arn_to_name(c["lambdaFunctionArn"]), c["events"]) for c in note["inputs"]["lambdaFunctions"]]
    assert local_fns == declared_fns, stack
    queues = {r["inputs"]["name"] for r in _of(declared, "aws:sqs/queue:Queue")}
    assert local.names.dead_letter_queue in queues, stack
    (invoke_cfg,) = _of(declared, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    local_cfg = session.client("lambda").get_function_event_invoke_config(
        FunctionName=local.names.function("validation-handler")
    )
    assert local_cfg["MaximumRetryAttempts"] == int(invoke_cfg["inputs"].get("maximumRetryAttempts", 2)), stack


def test_drift_sweeper_schedule(both):
    stack, declared, session, local = both
    (schedule,) = _of(declared, "aws:scheduler/schedule:Schedule")
    got = session.client("scheduler").get_schedule(Name=local.names.sweep_schedule)
    assert schedule["inputs"]["name"] == got["Name"], stack
    assert schedule["inputs"]["scheduleExpression"] == got["ScheduleExpression"], stack
    assert _arn_to_name(schedule["inputs"]["target"]["arn"]) == _arn_to_name(got["Target"]["Arn"]), stack
    assert _arn_to_name(got["Target"]["Arn"]) == local.names.function("sweeper"), stack


def test_drift_fargate_cluster_and_task_definition(both):
    """The Fargate QC path: same cluster, task family, size, container (entry point, environment, logs) on
    the stacks that have it, and nowhere else."""
    stack, declared, session, local = both
    tasks = _of(declared, "aws:ecs/taskDefinition:TaskDefinition")
    if local.ecs is None:
        assert tasks == [] and _of(declared, "aws:ecs/cluster:Cluster") == [], stack
        return
    (task,) = tasks
    ecs = session.client("ecs")
    local_task = ecs.describe_task_definition(taskDefinition=local.ecs.task_definition_arn)["taskDefinition"]
    inputs = task["inputs"]
    assert inputs["family"] == local_task["family"] == local.names.task_family, stack
    assert (inputs["cpu"], inputs["memory"]) == (local_task["cpu"], local_task["memory"]), stack
    assert inputs["requiresCompatibilities"] == local_task["requiresCompatibilities"] == ["FARGATE"], stack
    (declared_container,) = json.loads(inputs["containerDefinitions"])
    (local_container,) = local_task["containerDefinitions"]
    for key in ("name", "entryPoint", "command", "environment", "logConfiguration", "memory"):
        assert declared_container[key] == local_container[key], (stack, key)
    (cluster,) = _of(declared, "aws:ecs/cluster:Cluster")
    assert cluster["inputs"]["name"] == _arn_to_name(local.ecs.cluster_arn), stack
