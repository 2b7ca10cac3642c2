"""CRAM scatter on moto server: a sorted CRAM (no .crai uploaded: the plan builds it) with the stack's
reference goes through the workflow's QcPlan → Lambda shards (sparse CRAM and reference each) → QcGather,
and the stored samtools numbers equal one samtools pass. Real files, real samtools, moto's interpreter."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3

from genomics import synth
from genomics.deployment import Names, Settings
from genomics.ledger import model
from genomics.local.demo import Upload, run_uploads
from tests.e2e.test_scale import _comparable, _job, _stored_stats
from tests.localcloud import ACCOUNT_ID, REGION, deployed, history_events
from tests.unit.test_qc_scatter import _augment


def test_e2e_scale_sorted_cram_scatters_and_equals_one_pass(tmp_path: Path) -> None:
    written = synth.write_reads(str(tmp_path / "three.bam"), "bam", 3_000, synth.default_contigs(3, 250_000),
                                seed=23)
    bam = tmp_path / "messy.bam"
    _augment(written["reads"], str(bam))  # 3 contigs + unplaced reads: 4 shards
    cram = tmp_path / "messy.cram"
    reference = written["reference"]
    subprocess.run(["samtools", "view", "-C", "-T", reference, "-o", str(cram), str(bam)], check=True)
    names = Names(stack="scalecram", account_id=ACCOUNT_ID, region=REGION)
    ref_key = "references/cramscale.fa"
    settings = Settings(stack="scalecram", single_budget_s=0, qc_shard_reads=1,
                        reference_uri=f"s3://{names.bucket('processed')}/{ref_key}")
    with deployed("scalecram", settings) as (_cloud, stack):
        s3 = boto3.client("s3")
        for suffix in ("", ".fai"):
            s3.upload_file(reference + suffix, names.bucket("processed"), ref_key + suffix)
        row = run_uploads(stack, [Upload(cram, "cram")], timeout_s=600)[0]
        assert row["status"] in (model.COMPLETED, model.QC_FAILED), row
        job = _job(stack, row["job_id"])
        steps = [s["name"] for s in job["steps"]]
        assert steps[-1] == "qc-gather" and sum(n.startswith("qc-shard-") for n in steps) == 4, steps
        single = subprocess.run(["samtools", "stats", "--reference", reference, str(cram)], capture_output=True,
                                text=True, check=True).stdout
        assert _comparable(_stored_stats(stack, row)) == _comparable(single)
        entered = {e["stateEnteredEventDetails"]["name"] for e in history_events(job["execution_arn"])
                   if "stateEnteredEventDetails" in e}
        assert {"QcPlan", "QcShardsInline", "QcGather"} <= entered, entered

