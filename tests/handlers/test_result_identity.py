"""Result identity on moto: content + assay + profile + thresholds + reference decide a result; identical
uploads collapse to one processing run (a conditional write), duplicates carry the original's verdict,
assay and delivery eligibility explicitly, and different identities never share or overwrite results."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from genomics.corpus import CORPUS
from genomics.ingest import IngestConfig, ingest_record
from genomics.ledger import ObjectRef, model
from genomics.ledger.sweeper import Deadlines, sweep
from genomics.ledger.updater import Prices, handle
from genomics.local.adapter import atomic_dynamodb_writes
from genomics.qc.service import run_quality_metrics
from tests.handlers.conftest import s3_event

SMALL = CORPUS / "qc_oracles/bcftools_stats/stats.counts.vcf"  # QC: wgs fail, cohort warn


@pytest.fixture(autouse=True)
def _atomic() -> None:
    atomic_dynamodb_writes()  # DynamoDB's conditional writes are atomic; moto's are made so


def _config(stack) -> IngestConfig:
    return IngestConfig(raw_bucket=stack.names.bucket("raw"), state_machine_arn=stack.state_machine_arn)


def _put(stack, key: str, assay: str, body: bytes | None = None) -> tuple[dict[str, Any], ObjectRef]:
    raw = stack.names.bucket("raw")
    body = SMALL.read_bytes() if body is None else body
    resp = boto3.client("s3").put_object(Bucket=raw, Key=key, Body=body, Metadata={"assay": assay})
    event = s3_event(raw, key, resp["VersionId"], len(body), resp["ETag"])
    return event["Records"][0], ObjectRef(raw, key, resp["VersionId"], resp["ETag"], len(body))


def _ingest(stack, record: dict[str, Any]) -> dict[str, Any]:
    return ingest_record(record, config=_config(stack), ledger=stack.ledger)


def _executions(stack) -> list[dict[str, Any]]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)["executions"]


def _finish(stack, job_id: str, verdict: str) -> dict[str, Any]:
    """What the workflow does for the owner: PROCESSING -> QC -> Finalize (metadata-updater's core)."""
    for s in (model.PROCESSING, model.QC):
        stack.ledger.transition(job_id, s, actor="workflow")
    state = {"job_id": job_id, "input": {"format": "vcf"},
             "processed": {"bucket": "b", "vcf_key": f"processed/{job_id}.vcf.gz"},
             "qc": {"verdict": verdict, "deciding_metric": "ts_tv", "reasons": [f"ts_tv {verdict}"],
                    "report_key": f"reports/{job_id}/multiqc_report.html"}}
    return handle({"action": "finalize", "state": state, "execution": "x"}, stack.ledger, Prices())


def test_identity_twenty_concurrent_identical_uploads_collapse_to_one_run(stack):
    records = [_put(stack, f"p/S1/copy{i:02d}.vcf", "cohort")[0] for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda r: _ingest(stack, r), records))
    started = [r for r in results if r.get("execution_arn")]
    waiting = [r for r in results if r.get("waiting")]
    assert len(started) == 1 and len(_executions(stack)) == 1, results
    owner = started[0]["job_id"]
    assert len(waiting) == 19 and {r["duplicate_of"] for r in waiting} == {owner}
    assert {stack.ledger.get_job(r["job_id"])["status"] for r in waiting} == {model.VALIDATING}
    out = _finish(stack, owner, "pass")
    assert out["status"] == model.COMPLETED and out["duplicates"] == 19
    for r in waiting:
        job = stack.ledger.get_job(r["job_id"])
        assert job["status"] == model.COMPLETED and job["duplicate_of"] == owner
        assert job["eligible_for_delivery"] is True and job["assay"] == "cohort"
        assert job["qc"]["verdict"] == "pass" and job["outputs"]["vcf_key"] == f"processed/{owner}.vcf.gz"


def test_identity_assay_changes_the_result_and_duplicates_carry_verdict_assay_eligibility(stack):
    cohort, ref_cohort = _put(stack, "p/S1/a.vcf", "cohort")
    first = _ingest(stack, cohort)
    assert first["execution_arn"]
    _finish(stack, first["job_id"], "fail")  # QC_FAILED under cohort
    # The same bytes as wgs in the same sample: another result, computed on its own.
    wgs, _ = _put(stack, "p/S1/b.vcf", "wgs")
    other = _ingest(stack, wgs)
    assert other.get("execution_arn") and not other.get("duplicate_of")
    a, b = stack.ledger.get_job(first["job_id"]), stack.ledger.get_job(other["job_id"])
    assert a["sha256"] == b["sha256"] and a["result_id"] != b["result_id"]
    assert a["identity"]["assay"] == "cohort" and b["identity"]["assay"] == "wgs"
    # The same bytes as cohort again: a duplicate of the QC_FAILED job, never eligible, verdict carried.
    again, ref_again = _put(stack, "p/S1/c.vcf", "cohort")
    dup = _ingest(stack, again)
    job = stack.ledger.get_job(dup["job_id"])
    assert dup["duplicate_of"] == first["job_id"] and job["status"] == model.QC_FAILED
    assert job["eligible_for_delivery"] is False and job["assay"] == "cohort" and job["qc"]["verdict"] == "fail"
    assert ref_cohort.job_id() != ref_again.job_id() and len(_executions(stack)) == 2


def test_identity_failed_original_ends_its_duplicates_and_releases_the_identity(stack):
    first = _ingest(stack, _put(stack, "p/S1/one.vcf", "cohort")[0])
    second = _ingest(stack, _put(stack, "p/S1/two.vcf", "cohort")[0])
    assert second["waiting"]
    handle({"action": "fail", "job_id": first["job_id"], "error": "States.Timeout", "cause": "x"},
           stack.ledger, Prices())
    job = stack.ledger.get_job(second["job_id"])
    assert job["status"] == model.FAILED and job["error_code"] == "JOB_ORIGINAL_FAILED"
    assert job["eligible_for_delivery"] is False
    third = _ingest(stack, _put(stack, "p/S1/three.vcf", "cohort")[0])
    assert third.get("execution_arn") and not third.get("duplicate_of")  # computes it again


def test_identity_sweeper_leaves_a_waiting_duplicate_while_its_original_runs(stack):
    from datetime import UTC, datetime, timedelta

    first = _ingest(stack, _put(stack, "p/S1/x.vcf", "cohort")[0])
    dup = _ingest(stack, _put(stack, "p/S1/y.vcf", "cohort")[0])
    stack.ledger.transition(first["job_id"], model.PROCESSING, actor="workflow")
    later = datetime.now(UTC) + timedelta(hours=2)
    assert sweep(stack.ledger, Deadlines.parse("VALIDATING=60"), now=later)["ended"] == []
    assert stack.ledger.get_job(dup["job_id"])["status"] == model.VALIDATING
    # The original gets stuck too: the sweeper ends it, and its duplicate with it.
    result = sweep(stack.ledger, Deadlines.parse("PROCESSING=60"), now=later)
    assert [e["job_id"] for e in result["ended"]] == [first["job_id"]]
    assert stack.ledger.get_job(dup["job_id"])["status"] == model.FAILED


def test_identity_qc_items_and_reports_of_two_identities_never_overwrite(stack, monkeypatch):
    for k, v in stack.env("quality-metrics").items():
        monkeypatch.setenv(k, v)
    body = SMALL.read_bytes()
    raw = stack.names.bucket("raw")
    version = boto3.client("s3").put_object(Bucket=raw, Key="p/S1/q.vcf", Body=body)["VersionId"]
    sha = hashlib.sha256(body).hexdigest()
    verdicts, reports = {}, {}
    for assay in ("wgs", "cohort"):
        event = {"job_id": f"job-{assay}", "project": "p", "sample_id": "S1", "assay": assay,
                 "input": {"bucket": raw, "key": "p/S1/q.vcf", "version_id": version, "sha256": sha,
                           "size": len(body), "format": "vcf", "result_id": hashlib.sha256(assay.encode()).hexdigest()},
                 "processed": {"skipped": True}}
        out = run_quality_metrics(event)
        verdicts[assay], reports[assay] = out["verdict"], out["report_key"]
    assert verdicts == {"wgs": "fail", "cohort": "warn"} and reports["wgs"] != reports["cohort"]
    summaries = {i["job_id"]: i["verdict"] for i in stack.ledger.qc_for_sample("S1") if i["metric"] == "_summary"}
    assert summaries == {"job-wgs": "fail", "job-cohort": "warn"}
    processed = stack.names.bucket("processed")
    for report in reports.values():
        boto3.client("s3").head_object(Bucket=processed, Key=report)


def test_identity_reprocessing_after_a_failed_original_computes_once(stack):
    from genomics.ingest import reprocess

    first = _ingest(stack, _put(stack, "p/S1/f1.vcf", "cohort")[0])
    second = _ingest(stack, _put(stack, "p/S1/f2.vcf", "cohort")[0])
    handle({"action": "fail", "job_id": first["job_id"], "error": "Runtime.ExitError", "cause": "x"},
           stack.ledger, Prices())
    assert stack.ledger.get_job(second["job_id"])["status"] == model.FAILED
    again_second = reprocess(second["job_id"], config=_config(stack), ledger=stack.ledger)
    again_first = reprocess(first["job_id"], config=_config(stack), ledger=stack.ledger)
    assert again_second.get("execution_arn") and again_first.get("waiting")  # one computes, one waits
    assert again_first["duplicate_of"] == again_second["job_id"]
    _finish(stack, again_second["job_id"], "pass")
    assert stack.ledger.get_job(again_first["job_id"])["status"] == model.COMPLETED


def test_identity_owner_retry_keeps_the_registered_duplicates(stack):
    """The owner's ingest fails after its claim (StartExecution throttled); a duplicate registers; the
    owner's retry claims again and must not lose the duplicate."""
    from genomics.errors import TransientError
    from tests.faults import inject

    record, ref = _put(stack, "p/S1/o1.vcf", "cohort")
    with inject("stepfunctions", "StartExecution", "ThrottlingException", times=1), pytest.raises(TransientError):
        _ingest(stack, record)
    assert stack.ledger.get_job(ref.job_id())["status"] == model.INGEST_FAILED
    dup = _ingest(stack, _put(stack, "p/S1/o2.vcf", "cohort")[0])
    assert dup["waiting"] and dup["duplicate_of"] == ref.job_id()
    retry = _ingest(stack, record)  # Lambda's retry of the owner's event
    assert retry.get("execution_arn")
    _finish(stack, ref.job_id(), "pass")
    assert stack.ledger.get_job(dup["job_id"])["status"] == model.COMPLETED
