"""Canary for the moto adapter: a handler really runs in-process through moto's Lambda paths."""

from __future__ import annotations

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
