"""The Fargate path end to end on moto server: an oversized FASTQ (the threshold lowered by config) is
routed by the plan to the workflow's ecs:runTask.sync state; the local adapter runs the task's command
(the image's QC CLI) for real and stops the task with its exit code; QcCollect reads the task's result;
the ledger records the task as a step with its Fargate cost. A smaller FASTQ stays on Lambda."""

from __future__ import annotations

import gzip
from pathlib import Path

import boto3
import pytest

from genomics.deployment import Settings
from genomics.ledger import Ledger, model
from genomics.local import adapter
from genomics.local.demo import Upload, run_uploads
from tests.localcloud import deployed, history_events

BOWTIE2_READS = Path("/usr/share/doc/bowtie2/examples/reads")
# longreads.fq.gz (2.2 MB) is "oversized" here; reads_1.fq.gz (1.2 MB) is not.
FARGATE = Settings(stack="fargate", fargate=True, fargate_threshold_bytes=1_500_000)


@pytest.fixture(scope="module")
def ran():
    uploads = [Upload(BOWTIE2_READS / "longreads.fq.gz", "oversized"), Upload(BOWTIE2_READS / "reads_1.fq.gz", "small")]
    missing = [str(u.path) for u in uploads if not u.path.exists()]
    if missing:
        pytest.fail(f"bowtie2-examples is not installed (scripts/install-system.sh installs it): {missing}")
    with deployed("fargate", FARGATE) as (_cloud, stack):
        before = len(adapter.tasks_run())
        rows = {r["sample_id"]: r for r in run_uploads(stack, uploads, timeout_s=600)}
        n = stack.names
        ledger = Ledger(n.table("metadata"), n.table("jobs"), n.table("qc"), client=boto3.client("dynamodb"))
        jobs = {s: ledger.get_job(r["job_id"]) for s, r in rows.items()}
        yield rows, jobs, adapter.tasks_run()[before:], {u.sample_id: u for u in uploads}


def _entered(job: dict) -> set[str]:
    return {e["stateEnteredEventDetails"]["name"] for e in history_events(job["execution_arn"])
            if "stateEnteredEventDetails" in e}


def test_e2e_fargate_oversized_fastq_runs_as_a_fargate_task(ran):
    rows, jobs, tasks, uploads = ran
    row, job = rows["oversized"], jobs["oversized"]
    assert row["status"] in (model.COMPLETED, model.QC_FAILED), row
    assert {"QcPlan", "QcFargate", "QcCollect"} <= _entered(job)
    assert len(tasks) == 1 and tasks[0]["exit_code"] == 0, tasks
    with gzip.open(uploads["oversized"].path, "rt") as fh:
        reads = sum(1 for _ in fh) // 4
    assert row["qc"]["reads"] == reads


def test_e2e_fargate_task_step_and_cost_in_the_ledger(ran):
    _rows, jobs, _tasks, _ = ran
    job = jobs["oversized"]
    steps = {s["name"]: s for s in job["steps"]}
    task = steps["qc-fargate"]
    assert task["platform"] == "fargate" and task["vcpu"] == FARGATE.fargate_vcpu and task["ephemeral_gib"] == 21
    assert task["duration_ms"] > 0 and task["usd"] > 0
    assert job["cost"]["fargate_usd"] == pytest.approx(float(task["usd"])) and job["cost"]["usd"] > job["cost"][
        "fargate_usd"]


def test_e2e_fargate_small_fastq_stays_on_lambda(ran):
    rows, jobs, _tasks, _ = ran
    assert rows["small"]["status"] in (model.COMPLETED, model.QC_FAILED), rows["small"]
    entered = _entered(jobs["small"])
    assert "QualityMetrics" in entered and "QcFargate" not in entered
