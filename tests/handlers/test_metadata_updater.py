"""metadata-updater on moto: transitions, failure with error and cause, the final record with cost."""

from __future__ import annotations

import pytest

from genomics.ledger import InvalidTransition, ObjectRef, model
from genomics.ledger.updater import Prices, estimate_cost
from handlers import metadata_updater

REF = ObjectRef("raw-bucket", "proj/S1/in.vcf.gz", "v1", '"e"', 100)


def _invoke(stack, event, monkeypatch):
    for k, v in stack.env("metadata-updater").items():
        monkeypatch.setenv(k, v)
    return metadata_updater.handler(event, stack.context("metadata-updater"))


def _job(stack, *states):
    job_id = REF.job_id()
    stack.ledger.create_job(REF, job_id=job_id, project="proj", sample_id="S1", actor="test")
    stack.ledger.record_file(REF, project="proj", sample_id="S1", job_id=job_id)
    for s in states:
        stack.ledger.transition(job_id, s, actor="test")
    return job_id


def _state(job_id, verdict="pass"):
    return {
        "job_id": job_id, "project": "proj", "sample_id": "S1", "assay": "wgs",
        "input": {"bucket": REF.bucket, "key": REF.key, "version_id": "v1", "sha256": "a" * 64, "size": 100,
                  "format": "vcf"},
        "plan": {"mode": "single", "shards": [], "step": {"function": "vcf-processor", "duration_ms": 1000,
                                                          "memory_limit_mb": 3008, "max_rss_mb": 50}},
        "processed": {"bucket": "proc", "vcf_key": "processed/x.vcf.gz", "index_key": "processed/x.vcf.gz.tbi",
                      "sidecar_key": "processed/x.json", "records_in": 10, "records_out": 12,
                      "step": {"function": "vcf-processor", "duration_ms": 2000, "memory_limit_mb": 3008,
                               "max_rss_mb": 80}},
        "qc": {"verdict": verdict, "reasons": ["ts_tv 1.2 outside 1.8-2.3"] if verdict == "fail" else [],
               "deciding_metric": "ts_tv" if verdict == "fail" else None, "summary": {"records": 12},
               "report_key": "reports/x/multiqc_report.html",
               "step": {"function": "quality-metrics", "duration_ms": 500, "memory_limit_mb": 3008,
                        "max_rss_mb": 60}},
    }


def test_metadata_updater_transition_and_repeat(stack, monkeypatch):
    job_id = _job(stack, model.VALIDATING)
    assert _invoke(stack, {"action": "transition", "to": "PROCESSING", "job_id": job_id}, monkeypatch)["status"] == (
        "PROCESSING")
    _invoke(stack, {"action": "transition", "to": "PROCESSING", "job_id": job_id}, monkeypatch)  # retried task
    assert [h["to"] for h in stack.ledger.get_job(job_id)["history"]].count("PROCESSING") == 1


def test_metadata_updater_rejects_going_back(stack, monkeypatch):
    job_id = _job(stack, model.VALIDATING, model.PROCESSING, model.QC)
    with pytest.raises(InvalidTransition):
        _invoke(stack, {"action": "transition", "to": "PROCESSING", "job_id": job_id}, monkeypatch)


def test_metadata_updater_finalize_completed_with_outputs_and_cost(stack, monkeypatch):
    job_id = _job(stack, model.VALIDATING, model.PROCESSING, model.QC)
    out = _invoke(stack, {"action": "finalize", "execution": "arn:x", "state": _state(job_id)}, monkeypatch)
    job = stack.ledger.get_job(job_id)
    assert out["status"] == job["status"] == model.COMPLETED
    assert job["outputs"]["vcf_key"] == "processed/x.vcf.gz" and job["outputs"]["report_key"].endswith(".html")
    assert [s["name"] for s in job["steps"]] == ["plan", "process", "qc"]
    expected = estimate_cost(job["steps"], 9, Prices())  # a single-pass VCF job enters 9 states
    assert job["cost"] == expected and job["cost"]["usd"] > 0
    assert job["eligible_for_delivery"] is True
    assert stack.ledger.sample("S1")["files"][0]["status"] == model.COMPLETED


def test_metadata_updater_finalize_qc_fail_is_not_deliverable(stack, monkeypatch):
    job_id = _job(stack, model.VALIDATING, model.PROCESSING, model.QC)
    out = _invoke(stack, {"action": "finalize", "state": _state(job_id, verdict="fail")}, monkeypatch)
    job = stack.ledger.get_job(job_id)
    assert out["status"] == model.QC_FAILED
    assert job["eligible_for_delivery"] is False and job["qc"]["deciding_metric"] == "ts_tv"


def test_metadata_updater_fail_records_error_and_cause(stack, monkeypatch):
    job_id = _job(stack, model.VALIDATING, model.PROCESSING)
    _invoke(stack, {"action": "fail", "job_id": job_id, "error": "ToolError",
                    "cause": '{"errorMessage": "bcftools norm exited 255"}'}, monkeypatch)
    job = stack.ledger.get_job(job_id)
    assert job["status"] == model.FAILED and job["error"] == "ToolError" and "bcftools" in job["cause"]
    # A later fail for an ended job changes nothing.
    _invoke(stack, {"action": "fail", "job_id": job_id, "error": "Other", "cause": ""}, monkeypatch)
    assert stack.ledger.get_job(job_id)["error"] == "ToolError"


def test_estimate_cost_uses_stated_prices():
    steps = [{"duration_ms": 1024_000, "memory_limit_mb": 1024}]
    cost = estimate_cost(steps, 10, Prices(lambda_gb_second=0.5, sfn_transition=0.01))
    assert cost["lambda_gb_seconds"] == 1024.0
    assert cost["usd"] == pytest.approx(1024 * 0.5 + 0.1)


def test_metadata_updater_finalize_keeps_identity_findings(stack, monkeypatch):
    job_id = _job(stack, model.VALIDATING, model.PROCESSING, model.QC)
    state = _state(job_id, verdict="warn")
    finding = {"code": "IDENTITY_SEX_MISMATCH", "samples": ["S1"],
               "message": "sample S1 was declared female but its X heterozygosity (0% of 61 X sites) says male"}
    state["qc"]["identity"] = {"findings": [finding], "sex": "male", "declared_sex": "female"}
    _invoke(stack, {"action": "finalize", "state": state}, monkeypatch)
    assert stack.ledger.get_job(job_id)["qc"]["identity"]["findings"] == [finding]


def test_metadata_updater_finalize_counts_alignment_qc_shards_in_steps_and_cost(stack, monkeypatch):
    job_id = _job(stack, model.VALIDATING, model.PROCESSING, model.QC)
    step = {"function": "quality-metrics", "duration_ms": 2000, "memory_limit_mb": 3008, "max_rss_mb": 100.0}
    state = {"job_id": job_id, "input": {"format": "bam"},
             "qcplan": {"mode": "scatter", "shard_count": 2, "step": step},
             "qc": {"verdict": "pass", "reasons": [], "report_key": "reports/x.html", "step": step,
                    "shard_steps": [{"index": 0, **step}, {"index": 1, **step}]}}
    _invoke(stack, {"action": "finalize", "execution": "arn:x", "state": state}, monkeypatch)
    job = stack.ledger.get_job(job_id)
    assert [s["name"] for s in job["steps"]] == ["qc-plan", "qc-shard-0", "qc-shard-1", "qc-gather"]
    # Route, NoProcessing, MarkQC, QcKind, QcPlan, QcMode, Map, QcGather, 2 shards, Finalize
    assert job["cost"] == estimate_cost(job["steps"], 11, Prices()) and job["cost"]["lambda_gb_seconds"] > 23
