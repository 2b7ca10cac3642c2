"""Canary for the moto adapter: a handler really runs in-process through moto's Lambda paths."""

from __future__ import annotations

import itertools
import json

import boto3

from genomics.ledger import Ledger, ObjectRef, model
from genomics.local import adapter
from tests.localcloud import deployed, wait_execution


def _ledger(stack) -> Ledger:
    n = stack.names
    return Ledger(n.table("metadata"), n.table("jobs"), n.table("qc"), client=boto3.client("dynamodb"))


def test_adapter_invoke_api_runs_the_real_handler():
    with deployed("canary") as (_cloud, stack):
        ledger = _ledger(stack)
        ref = ObjectRef("b", "p/s/f.vcf", "v1")
        job_id = ref.job_id()
        assert ledger.create_job(ref, job_id=job_id, project="p", sample_id="s", actor="test")
        before = len(adapter.invocations())
        resp = boto3.client("lambda").invoke(
            FunctionName=stack.names.function("metadata-updater"),
            Payload=json.dumps({"action": "transition", "to": "VALIDATING", "job_id": job_id}),
        )
        body = json.loads(resp["Payload"].read())
        assert "FunctionError" not in resp, body
        assert body == {"job_id": job_id, "status": "VALIDATING"}
        # The effect is in DynamoDB (moto server), written by the handler's own boto3 client.
        job = ledger.get_job(job_id)
        assert job["status"] == model.VALIDATING
        assert [h["by"] for h in job["history"]] == ["test", "metadata-updater"]
        ran = adapter.invocations()[before:]
        assert ran and ran[-1]["handler"] == "handlers.metadata_updater.handler"


def test_adapter_error_becomes_lambda_error_payload():
    with deployed("canary2") as (_cloud, stack):
        resp = boto3.client("lambda").invoke(
            FunctionName=stack.names.function("metadata-updater"),
            Payload=json.dumps({"action": "explode", "job_id": "x"}),
        )
        body = json.loads(resp["Payload"].read())
        assert resp.get("FunctionError")
        assert body["errorType"] == "UpdaterError"
        assert "explode" in body["errorMessage"]


def test_adapter_step_functions_store_only_branch_completes_job():
    """moto's own ASL interpreter runs our definition and calls the handler through MOTO_PORT."""
    with deployed("canary3") as (_cloud, stack):
        ledger = _ledger(stack)
        ref = ObjectRef(stack.names.bucket("raw"), "p/s/run.tar", "v1")
        job_id = ref.job_id()
        ledger.create_job(ref, job_id=job_id, project="p", sample_id="s", actor="test")
        ledger.record_file(ref, project="p", sample_id="s", job_id=job_id)
        ledger.transition(job_id, model.VALIDATING, actor="test")
        payload = {"job_id": job_id, "project": "p", "sample_id": "s", "assay": "wgs",
                   "input": {"bucket": ref.bucket, "key": ref.key, "version_id": "v1", "sha256": "0" * 64,
                             "size": 10, "format": "bcl"}}
        sfn = boto3.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=stack.state_machine_arn, name=job_id,
                                  input=json.dumps(payload))["executionArn"]
        desc = wait_execution(arn)
        assert desc["status"] == "SUCCEEDED", desc
        job = ledger.get_job(job_id)
        assert job["status"] == model.COMPLETED
        assert job["cost"]["sfn_transitions"] == 2


def _probe(stack, name: str, env: dict[str, str], reserved: int | None = None) -> str:
    lam = boto3.client("lambda")
    role = boto3.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName=name, PackageType="Image", Code={"ImageUri": "x/y:z"}, Role=role,
                        ImageConfig={"Command": ["tests.unit.local_probe.handler"]},
                        Environment={"Variables": env}, Timeout=30, MemorySize=128)
    if reserved:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
    return name


def _invoke_all(calls: list[tuple[str, dict]]) -> list[dict]:
    from concurrent.futures import ThreadPoolExecutor

    def one(call: tuple[str, dict]) -> dict:
        resp = boto3.client("lambda").invoke(FunctionName=call[0], Payload=json.dumps(call[1]))
        assert "FunctionError" not in resp
        return json.loads(resp["Payload"].read())

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def _overlap(runs: list[dict]) -> bool:
    spans = sorted((r["started"], r["ended"]) for r in runs)
    return any(b[0] < a[1] for a, b in itertools.pairwise(spans))


def test_adapter_functions_run_concurrently_with_isolated_environments():
    with deployed("conc") as (_cloud, stack):
        a = _probe(stack, "probe-a", {"PROBE": "a", "ONLY_A": "1"})
        b = _probe(stack, "probe-b", {"PROBE": "b", "ONLY_B": "1"})
        before = len(adapter.invocations())
        out = _invoke_all([(a, {"sleep": 0.05}), (b, {"sleep": 0.05})])
        assert out[0]["seen"] == [["a", "1", None]] and out[0]["thread_saw"] == "a"
        assert out[1]["seen"] == [["b", None, "1"]] and out[1]["thread_saw"] == "b"
        runs = [r for r in adapter.invocations()[before:] if r["function"] in (a, b)]
        assert len(runs) == 2 and _overlap(runs), runs  # not serialised under one lock
        import os

        assert "PROBE" not in os.environ  # nothing leaked into the process environment


def test_adapter_reserved_concurrency_caps_one_function():
    with deployed("cap") as (_cloud, stack):
        one = _probe(stack, "probe-one", {"PROBE": "1"}, reserved=1)
        before = len(adapter.invocations())
        _invoke_all([(one, {"sleep": 0.03})] * 3)
        runs = [r for r in adapter.invocations()[before:] if r["function"] == one]
        assert len(runs) == 3 and not _overlap(runs), runs


def test_adapter_step_memory_is_the_invocations_own_not_the_servers():
    with deployed("mem") as (_cloud, _stack):
        lam = boto3.client("lambda")
        role = boto3.client("iam").create_role(RoleName="mem-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam.create_function(FunctionName="probe-mem", PackageType="Image", Code={"ImageUri": "x/y:z"}, Role=role,
                            ImageConfig={"Command": ["tests.unit.local_probe.memory"]}, Timeout=60, MemorySize=512)
        big, small = _invoke_all([("probe-mem", {"mb": 160}), ("probe-mem", {"mb": 5})])
        assert big["memory_scope"] == small["memory_scope"] == "child processes"
        assert 160 <= big["max_rss_mb"] < 260, big
        assert small["max_rss_mb"] < 60, small  # its own child, not the big one's nor the server's


def test_adapter_ecs_task_runs_its_command_and_stops_with_its_exit_code():
    """moto's ECS tasks run no container and never stop: the adapter runs the task's command (entry point +
    container override) for real and marks the task STOPPED with the container's exit code."""
    import time

    from genomics.deployment import Settings
    from genomics.qc.fargate import result_key

    with deployed("canary-ecs", Settings(stack="canary-ecs", fargate=True)) as (_cloud, stack):
        ecs = boto3.client("ecs")
        state = {"job_id": "job-ecs", "project": "p", "sample_id": "s", "assay": "wgs",
                 "input": {"bucket": stack.names.bucket("raw"), "key": "p/s/missing.fq.gz", "sha256": "0" * 64,
                           "size": 10, "format": "fastq"},
                 "qcplan": {"mode": "fargate", "ephemeral_gib": 21}}
        task = ecs.run_task(
            cluster=stack.ecs.cluster_arn, taskDefinition=stack.ecs.task_definition_arn, launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": list(stack.ecs.subnet_ids),
                                                          "securityGroups": list(stack.ecs.security_group_ids)}},
            overrides={"containerOverrides": [{"name": "qc", "command": ["--state", json.dumps(state)]}]},
        )["tasks"][0]
        deadline = time.monotonic() + 120
        while True:
            desc = ecs.describe_tasks(cluster=stack.ecs.cluster_arn, tasks=[task["taskArn"]])["tasks"][0]
            if desc["lastStatus"] == "STOPPED" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert desc["lastStatus"] == "STOPPED" and desc["containers"][0]["exitCode"] == 1, desc
        doc = json.loads(boto3.client("s3").get_object(Bucket=stack.names.bucket("processed"),
                                                       Key=result_key("job-ecs"))["Body"].read())
        assert doc["ok"] is False and doc["step"]["platform"] == "fargate", doc
        assert any(t["task_arn"] == task["taskArn"] and t["exit_code"] == 1 for t in adapter.tasks_run())
