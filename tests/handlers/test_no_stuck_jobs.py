"""No job stays non-terminal: a failed ingest rests visibly in INGEST_FAILED, a vanished upload ends
the job, reprocess ends any job, and the sweeper ends whatever is stuck past its state's deadline."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from genomics.ingest import IngestConfig, ingest_record, reprocess
from genomics.ledger import ObjectRef, model
from genomics.ledger.sweeper import Deadlines, sweep
from handlers import sweeper as sweeper_handler
from tests.handlers.conftest import s3_event
from tests.localcloud import no_scans

EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")


def _upload(stack, key: str, body: bytes | None = None) -> tuple[dict, ObjectRef]:
    raw = stack.names.bucket("raw")
    body = EUR.read_bytes() if body is None else body
    resp = boto3.client("s3").put_object(Bucket=raw, Key=key, Body=body)
    return s3_event(raw, key, resp["VersionId"], len(body), resp["ETag"]), ObjectRef(
        raw, key, resp["VersionId"], resp["ETag"], len(body))


def _config(stack) -> IngestConfig:
    return IngestConfig(raw_bucket=stack.names.bucket("raw"), state_machine_arn=stack.state_machine_arn)


def _job_in(stack, key: str, states: tuple[str, ...]) -> str:
    """A job created by the real ingest path, then moved through ``states`` as the workflow would."""
    raw = stack.names.bucket("raw")
    ref = ObjectRef(raw, key, "v1", "e", 10)
    stack.ledger.create_job(ref, job_id=ref.job_id(), project="p", sample_id="S", actor="test")
    stack.ledger.record_file(ref, project="p", sample_id="S", job_id=ref.job_id())
    for s in states:
        attrs = {"lease_until": "2000-01-01T00:00:00.000000Z"} if s == model.VALIDATING else None
        stack.ledger.transition(ref.job_id(), s, actor="test", attributes=attrs)
    return ref.job_id()


def test_ingest_source_gone_ends_the_job_with_its_reason(stack):
    event, ref = _upload(stack, "p/S/gone.vcf.gz")
    boto3.client("s3").delete_object(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id)
    out = ingest_record(event["Records"][0], config=_config(stack), ledger=stack.ledger)
    job = stack.ledger.get_job(ref.job_id())
    assert out["status"] == job["status"] == model.FAILED and job["error_code"] == "INGEST_SOURCE_GONE"
    assert "upload the file again" in job["reason"]


def test_reprocess_ends_a_job_that_never_ended_and_starts_the_next_run(stack):
    event, ref = _upload(stack, "p/S/stuck.vcf.gz")
    raw_record = event["Records"][0]
    stack.ledger.create_job(ref, job_id=ref.job_id(), project="p", sample_id="S", actor="test")
    stack.ledger.transition(ref.job_id(), model.VALIDATING, actor="test",
                            attributes={"lease_until": "2999-01-01T00:00:00.000000Z"})  # a live-looking lease
    assert raw_record["s3"]["object"]["key"] == ref.key
    out = reprocess(ref.job_id(), config=_config(stack), ledger=stack.ledger)
    old = stack.ledger.get_job(ref.job_id())
    assert old["status"] == model.FAILED and old["error_code"] == "JOB_SUPERSEDED"
    assert out["superseded"] == {"job_id": ref.job_id(), "was": model.VALIDATING}
    assert out["job_id"] == ref.job_id(2) and out["status"] == model.VALIDATING and out["execution_arn"]


def test_sweeper_ends_every_stuck_state_and_leaves_live_work_alone(stack):
    stuck = {
        model.RECEIVED: _job_in(stack, "p/S/r.vcf", ()),
        model.VALIDATING: _job_in(stack, "p/S/v.vcf", (model.VALIDATING,)),
        model.PROCESSING: _job_in(stack, "p/S/p.vcf", (model.VALIDATING, model.PROCESSING)),
        model.QC: _job_in(stack, "p/S/q.vcf", (model.VALIDATING, model.QC)),
    }
    leased = _job_in(stack, "p/S/leased.vcf", ())
    stack.ledger.transition(leased, model.VALIDATING, actor="test",
                            attributes={"lease_until": "2999-01-01T00:00:00.000000Z"})
    done = _job_in(stack, "p/S/done.vcf", (model.VALIDATING, model.COMPLETED))
    started = _job_in(stack, "p/S/started.vcf", ())  # validated, workflow started, then nothing
    stack.ledger.transition(started, model.VALIDATING, actor="test",
                            attributes={"lease_until": "2999-01-01T00:00:00.000000Z", "execution_arn": "arn:x"})
    deadlines = Deadlines.parse("RECEIVED=60,VALIDATING=60,PROCESSING=60,QC=60")
    # Now: nothing is past its deadline yet.
    assert sweep(stack.ledger, deadlines)["ended"] == []
    scans: list[str] = []
    with no_scans("sweeper-test", scans):
        result = sweep(stack.ledger, deadlines, now=datetime.now(UTC) + timedelta(minutes=5))
    assert scans == []
    ended = {e["job_id"]: e for e in result["ended"]}
    assert set(ended) == {*stuck.values(), started}
    assert stack.ledger.get_job(started)["error_code"] == "JOB_STUCK"  # the workflow hung, not the ingest
    for state, job_id in stuck.items():
        job = stack.ledger.get_job(job_id)
        expect = model.INGEST_FAILED if state in (model.RECEIVED, model.VALIDATING) else model.FAILED
        assert job["status"] == expect, (state, job)
        assert job["error_code"] == ("INGEST_STUCK" if expect == model.INGEST_FAILED else "JOB_STUCK")
        assert f"in {state}" in job["reason"] and job["history"][-1]["by"] == "sweeper"
    assert stack.ledger.get_job(leased)["status"] == model.VALIDATING
    assert stack.ledger.get_job(done)["status"] == model.COMPLETED
    # Listed among failures, and a second sweep finds nothing more.
    failed = {j["job_id"] for j in stack.ledger.failures_since("2000-01-01T00:00:00Z")}
    assert set(stuck.values()) <= failed
    assert sweep(stack.ledger, deadlines, now=datetime.now(UTC) + timedelta(minutes=5))["ended"] == []


def test_sweeper_ingest_failed_job_is_claimed_again_by_replay(stack):
    event, ref = _upload(stack, "p/S/again.vcf.gz")
    stack.ledger.create_job(ref, job_id=ref.job_id(), project="p", sample_id="S", actor="test")
    sweep(stack.ledger, Deadlines.parse("RECEIVED=1"), now=datetime.now(UTC) + timedelta(seconds=5))
    assert stack.ledger.get_job(ref.job_id())["status"] == model.INGEST_FAILED
    out = ingest_record(event["Records"][0], config=_config(stack), ledger=stack.ledger)  # what replay does
    assert out["status"] == model.VALIDATING and out["execution_arn"]


def test_sweeper_handler_reads_its_deadlines_and_reports(stack, monkeypatch):
    job_id = _job_in(stack, "p/S/h.vcf", (model.VALIDATING, model.PROCESSING))
    for k, v in {**stack.env("sweeper"), "SWEEP_DEADLINES": "PROCESSING=1"}.items():
        monkeypatch.setenv(k, v)
    time.sleep(1.1)
    out = sweeper_handler.handler({}, stack.context("sweeper"))
    assert [e["job_id"] for e in out["ended"]] == [job_id]
    assert stack.ledger.get_job(job_id)["status"] == model.FAILED


@pytest.mark.parametrize("text", ["DONE=5", "QC=0", "QC=x", "PROCESSING"])
def test_sweeper_deadlines_reject_bad_settings(text):
    with pytest.raises(ValueError):
        Deadlines.parse(text)


def test_sweeper_marks_dead_lettered_uploads_ingest_failed_and_leaves_the_messages(stack, monkeypatch):
    import json

    event, ref = _upload(stack, "p/S/dlq.vcf.gz")
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.names.dead_letter_queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
        "requestContext": {"condition": "RetriesExhausted"}, "requestPayload": event,
        "responsePayload": {"errorType": "Runtime.ExitError", "errorMessage": "the process exited"}}))
    for k, v in stack.env("sweeper").items():
        monkeypatch.setenv(k, v)
    out = sweeper_handler.handler({}, stack.context("sweeper"))
    assert [d["job_id"] for d in out["dead_letters"]] == [ref.job_id()]
    job = stack.ledger.get_job(ref.job_id())  # the failed attempt never created it: now it exists
    assert job["status"] == model.INGEST_FAILED and "Runtime.ExitError: the process exited" in job["reason"]
    assert ref.job_id() in {j["job_id"] for j in stack.ledger.failures_since("2000-01-01T00:00:00Z")}
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "1"  # peeked, not taken
    assert sweeper_handler.handler({}, stack.context("sweeper"))["dead_letters"] == []  # marked once
    done = ingest_record(event["Records"][0], config=_config(stack), ledger=stack.ledger)  # the replay
    assert done["status"] == model.VALIDATING and done["execution_arn"]
