"""Alignment QC at scale on moto server: the workflow's plan routes sorted BAMs to Lambda shards (inline
Map for a few shards, Distributed Map reading the plan's S3 items beyond the threshold), gather equals
one samtools pass; an unsorted BAM is QC'd in one pass. Real files, real samtools, moto's interpreter."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
import pytest

from genomics import synth
from genomics.deployment import Settings
from genomics.ledger import Ledger, model
from genomics.local.demo import Upload, run_uploads
from tests.localcloud import deployed, history_events
from tests.unit.test_qc_scatter import NOT_EXACT, _augment

# Every BAM scatters (no single-pass budget), a shard per contig; 4+ shards use the Distributed Map.
SCALE = Settings(stack="scale", single_budget_s=0, qc_shard_reads=1, distributed_map_min_shards=4)


def _comparable(text: str) -> list[str]:
    return [x for x in text.splitlines() if x and not x.startswith("#") and x.split("\t")[0] not in NOT_EXACT]


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("scale")
    four = synth.write_reads(str(tmp / "four.bam"), "bam", 4_000, synth.default_contigs(4, 150_000), seed=21)
    messy = tmp / "messy.bam"
    _augment(four["reads"], str(messy))  # 4 contigs + unplaced reads: 5 shards, Distributed Map
    two = synth.write_reads(str(tmp / "two.bam"), "bam", 2_000, synth.default_contigs(2, 150_000), seed=22)
    unsorted = tmp / "unsorted.bam"
    subprocess.run(["samtools", "sort", "-n", "-o", str(unsorted), two["reads"]], check=True)
    uploads = [Upload(messy, "distributed"), Upload(Path(two["reads"]), "inline"), Upload(unsorted, "unsorted")]
    with deployed("scale", SCALE) as (_cloud, stack):
        rows = {r["sample_id"]: r for r in run_uploads(stack, uploads, timeout_s=600)}
        yield stack, rows, {u.sample_id: u for u in uploads}


def _job(stack, job_id: str) -> dict:
    n = stack.names
    return Ledger(n.table("metadata"), n.table("jobs"), n.table("qc"), client=boto3.client("dynamodb")).get_job(job_id)


def _stored_stats(stack, row: dict) -> str:
    key = row["outputs"]["report_key"].rsplit("/", 1)[0] + "/raw/samtools_stats.txt"
    return boto3.client("s3").get_object(Bucket=stack.names.bucket("processed"), Key=key)["Body"].read().decode()


@pytest.mark.parametrize(("sample", "shards", "map_state"),
                         [("distributed", 5, "QcShardsDistributed"), ("inline", 3, "QcShardsInline")])
def test_e2e_scale_sorted_bam_scatters_and_equals_one_pass(scaled, sample: str, shards: int, map_state: str):
    stack, rows, uploads = scaled
    row = rows[sample]
    assert row["status"] in (model.COMPLETED, model.QC_FAILED), row
    job = _job(stack, row["job_id"])
    names = [s["name"] for s in job["steps"]]
    assert names[-1] == "qc-gather" and sum(n.startswith("qc-shard-") for n in names) == shards, names
    single = subprocess.run(["samtools", "stats", str(uploads[sample].path)], capture_output=True, text=True,
                            check=True).stdout
    assert _comparable(_stored_stats(stack, row)) == _comparable(single)
    assert job["cost"]["usd"] > 0
    entered = {e["stateEnteredEventDetails"]["name"] for e in history_events(job["execution_arn"])
               if "stateEnteredEventDetails" in e}
    assert {"QcPlan", map_state, "QcGather"} <= entered, entered


def test_e2e_scale_unsorted_bam_is_qcd_in_one_pass(scaled):
    stack, rows, _ = scaled
    row = rows["unsorted"]
    assert row["status"] in (model.COMPLETED, model.QC_FAILED), row
    names = [s["name"] for s in _job(stack, row["job_id"])["steps"]]
    assert "qc-plan" in names and names[-1] == "qc" and not any(n.startswith("qc-shard") for n in names)
