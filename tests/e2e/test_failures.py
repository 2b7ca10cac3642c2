"""Idempotency and failure handling on moto server, each test on its own local stack: the same
event delivered 50 times at once, a handler crash midway, transient errors retried, a failed
notification in the dead-letter queue and its replay."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from urllib.parse import unquote_plus

import boto3

from genomics.cli import main as cli_main
from genomics.deployment import Settings
from genomics.ledger import Ledger, ObjectRef, model
from genomics.local import adapter
from genomics.local.demo import _wait_job
from tests.handlers.conftest import s3_event
from tests.localcloud import deployed, wait_execution

EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")
FAST = Settings(stack="fx", scatter_threshold_bytes=10**12)


def _put(stack, key: str, path: Path) -> ObjectRef:
    raw = stack.names.bucket("raw")
    # EUR_test.vcf.gz is a 1000 Genomes population excerpt: QC'd as a cohort.
    resp = boto3.client("s3").put_object(Bucket=raw, Key=key, Body=path.read_bytes(), Metadata={"assay": "cohort"})
    return ObjectRef(raw, key, resp["VersionId"])


def _ledger(stack) -> Ledger:
    n = stack.names
    return Ledger(n.table("metadata"), n.table("jobs"), n.table("qc"), client=boto3.client("dynamodb"))


def _wait_terminal(ledger: Ledger, job_id: str) -> dict:
    return _wait_job(ledger, job_id, time.monotonic() + 300)


def test_e2e_same_event_50_times_concurrently_one_job_one_execution():
    with deployed("conc", FAST) as (_cloud, stack):
        ref = _put(stack, "p/S1/in.vcf.gz", EUR)  # the notification delivers it once
        ledger = _ledger(stack)
        first = _wait_terminal(ledger, ref.job_id())
        assert first["status"] == model.COMPLETED
        event = s3_event(ref.bucket, ref.key, ref.version_id, EUR.stat().st_size)
        lam = boto3.client("lambda")
        errors: list[Exception] = []

        def fire() -> None:
            try:
                lam.invoke(FunctionName=stack.names.function("validation-handler"), Payload=json.dumps(event))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=fire) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(ledger.jobs_for_file(ref.file_id)) == 1
        sfn = boto3.client("stepfunctions")
        assert len(sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]) == 1
        assert ledger.get_job(ref.job_id())["status"] == model.COMPLETED


_real_resolve = adapter.resolve


def _fail_first(monkeypatch, function: str, exc: Exception, times: int = 1) -> dict:
    """Make the in-process handler of ``function`` raise ``exc`` on its first ``times`` invocations."""
    state = {"left": times}
    real = adapter.resolve

    def resolve(path: str):
        fn = real(path)
        if not path.startswith(f"handlers.{function}."):
            return fn

        def wrapped(event, context):
            if state["left"] > 0:
                state["left"] -= 1
                raise exc
            return fn(event, context)

        return wrapped

    monkeypatch.setattr(adapter, "resolve", resolve)
    return state


def test_e2e_handler_crash_midway_marks_job_failed_then_reprocess(monkeypatch, capsys):
    with deployed("crash", FAST) as (cloud, stack):
        _fail_first(monkeypatch, "quality_metrics", RuntimeError("segfault in the middle of QC"), times=10)
        ref = _put(stack, "p/S1/in.vcf.gz", EUR)
        job = _wait_terminal(_ledger(stack), ref.job_id())
        assert job["status"] == model.FAILED
        assert job["error"] == "RuntimeError" and "segfault" in job["cause"]
        assert [h["to"] for h in job["history"]][-2:] == [model.QC, model.FAILED]
        raw = boto3.client("s3").get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
        assert raw == EUR.read_bytes()
        execution = wait_execution(job["execution_arn"])  # the ledger is written before the Fail state
        assert execution["status"] == "FAILED"
        # The cause is fixed: the operator reprocesses; a new job (run 2) completes, the failed one stays.
        monkeypatch.setattr(adapter, "resolve", _real_resolve)
        assert (
            cli_main(["reprocess", job["job_id"], "--stack", stack.names.stack, "--endpoint-url", cloud.endpoint]) == 0
        )
        again = json.loads(capsys.readouterr().out)
        assert again["job_id"] == ref.job_id(2) and again["job_id"] != job["job_id"]
        done = _wait_terminal(_ledger(stack), again["job_id"])
        assert done["status"] == model.COMPLETED and done["run"] == 2
        assert _ledger(stack).get_job(job["job_id"])["status"] == model.FAILED


def test_e2e_async_retry_absorbs_one_failed_notification(monkeypatch):
    from genomics.errors import TransientError

    with deployed("aretry", FAST) as (_cloud, stack):
        state = _fail_first(monkeypatch, "validation_handler", TransientError("throttled"), times=1)
        ref = _put(stack, "p/S1/in.vcf.gz", EUR)
        job = _wait_terminal(_ledger(stack), ref.job_id())
        assert state["left"] == 0 and job["status"] == model.COMPLETED
        msgs = boto3.client("sqs").receive_message(QueueUrl=stack.queue_url, VisibilityTimeout=0)
        assert msgs.get("Messages", []) == []


def test_e2e_transient_error_is_retried_to_completion(monkeypatch):
    from genomics.errors import TransientError

    with deployed("retry", FAST) as (_cloud, stack):
        state = _fail_first(monkeypatch, "vcf_processor", TransientError("throttled"), times=2)
        ref = _put(stack, "p/S1/in.vcf.gz", EUR)
        job = _wait_terminal(_ledger(stack), ref.job_id())
        assert state["left"] == 0
        assert job["status"] == model.COMPLETED, job
        assert [h["to"] for h in job["history"]].count(model.PROCESSING) == 1
        desc = wait_execution(job["execution_arn"])
        assert desc["status"] == "SUCCEEDED"


def test_e2e_failed_notification_lands_in_dlq_and_replays(monkeypatch, capsys):
    from genomics.errors import TransientError

    with deployed("dlq", FAST) as (cloud, stack):
        # The first attempt and Lambda's two asynchronous retries all fail.
        state = _fail_first(monkeypatch, "validation_handler", TransientError("DynamoDB unavailable"), times=3)
        ref = _put(stack, "p/S1/in.vcf.gz", EUR)
        adapter.drain()
        assert state["left"] == 0
        sqs = boto3.client("sqs")
        msgs = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        assert len(msgs.get("Messages", [])) == 1
        body = json.loads(msgs["Messages"][0]["Body"])
        assert unquote_plus(body["requestPayload"]["Records"][0]["s3"]["object"]["key"]) == ref.key
        # The runbook: a dry run first (it only peeks), then the replay, which must get every message.
        target = ["--stack", stack.names.stack, "--endpoint-url", cloud.endpoint]
        assert cli_main(["replay", "--dry-run", *target]) == 0
        peek = json.loads(capsys.readouterr().out)
        assert [unquote_plus(r["key"]) for r in peek["replayed"]] == [ref.key] and peek["remaining"] == 1
        assert cli_main(["replay", *target]) == 0
        result = json.loads(capsys.readouterr().out)
        assert [r["job_id"] for r in result["replayed"]] == [ref.job_id()]
        job = _wait_terminal(_ledger(stack), ref.job_id())
        assert job["status"] == model.COMPLETED
        assert sqs.receive_message(QueueUrl=stack.queue_url, VisibilityTimeout=0).get("Messages", []) == []
