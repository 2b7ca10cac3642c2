"""Real caller outputs through the whole system on moto server: one file per class that used to end
FAILED right after validation said VALID (gVCF, sites-only, SV, unsorted, undeclared header keys,
non-diploid, a BAM idxstats cannot read). Each ends COMPLETED or QC_FAILED, with its conformance
warnings on the job, its repairs in the sidecar and both (and QC's notes) in the MultiQC report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import pytest

from genomics.ledger import Ledger, model
from genomics.local.demo import DEMO_SETTINGS, Upload, run_uploads
from tests.conftest import CORPUS
from tests.localcloud import deployed

CALLERS = Path(__file__).resolve().parents[1] / "data" / "callers"
CLASSES = {
    "gvcf": "deepvariant.g.vcf",
    "non_diploid": "gatk_hc.g.vcf",
    "sites_only": "gnomad_sites.vcf",
    "sv": "manta_sv_unsorted.vcf",
    "unsorted": "strelka2_somatic.vcf",
    "undeclared": "old_tool_undeclared.vcf",
}


def _ungrouped_bam(folder: Path) -> Path:
    """Reads on chrM, chr1, then chrM again: not grouped by reference, so idxstats cannot read it."""
    sam = subprocess.run(["samtools", "view", "-h", str(CORPUS / "bam" / "passed" / "level-1.bam")],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    head = [ln for ln in sam if ln.startswith("@")]
    reads = [ln for ln in sam if not ln.startswith("@")][:1500]
    moved = []
    for ln in reads[500:1000]:
        f = ln.split("\t")
        f[2], f[6] = "chr1", "="
        moved.append("\t".join(f))
    bam = folder / "ungrouped.bam"
    text = "\n".join([*head, *reads[:500], *moved, *reads[1000:]]) + "\n"
    subprocess.run(["samtools", "view", "-b", "-o", str(bam), "-"], input=text.encode(), check=True)
    return bam


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("callers")
    uploads = []
    for cls, name in CLASSES.items():
        path = CALLERS / name
        if cls == "undeclared":
            # Its INFO key starting with a digit (1000GAF) is validation's to tier; the processing repairs
            # under test here are those of the undeclared keys, so this copy leaves that one key out.
            path = folder / name
            path.write_text((CALLERS / name).read_text().replace(";1000GAF=0.2", ""))
        uploads.append(Upload(path, f"cls_{cls}", assay="wgs", profile="default"))
    uploads.append(Upload(_ungrouped_bam(folder), "cls_bam_no_index", assay="panel", profile="default"))
    with deployed("e2e-callers", DEMO_SETTINGS) as (_cloud, stack):
        rows = run_uploads(stack, uploads, timeout_s=600)
        n = stack.names
        ledger = Ledger(n.table("metadata"), n.table("jobs"), n.table("qc"), client=boto3.client("dynamodb"))
        out = {}
        for r in rows:
            job = ledger.get_job(r["job_id"]) if r.get("job_id") else {}
            out[r["sample_id"].removeprefix("cls_")] = {"row": r, "job": job, "bucket": n.bucket("processed")}
        yield out


def _get(bucket: str, key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def _report(j: dict) -> str:
    key = j["job"].get("qc", {}).get("report_key") or j["row"]["outputs"].get("report_key")
    assert key, j["job"]
    return _get(j["bucket"], key).decode("utf-8", "replace")


def _qc_json(j: dict) -> dict:
    key = (j["job"].get("qc", {}).get("report_key") or j["row"]["outputs"]["report_key"]).rsplit("/", 1)[0]
    return json.loads(_get(j["bucket"], key + "/qc.json"))


@pytest.mark.parametrize("cls", [*CLASSES, "bam_no_index"])
def test_real_callers_every_class_ends_completed_or_qc_failed(jobs, cls):
    j = jobs[cls]
    assert j["row"]["status"] in (model.COMPLETED, model.QC_FAILED), j["row"]
    html = _report(j)
    assert "qc_gate" in html, "the MultiQC report rendered with the gate"
    side_key = j["row"]["outputs"].get("sidecar_key")
    findings = bool(j["job"].get("conformance", {}).get("warning_count")) or bool(_qc_json(j).get("notes"))
    if side_key:
        findings = findings or bool(json.loads(_get(j["bucket"], side_key))["repairs"])
    assert ("Warnings, repairs and notes" in html) == findings


@pytest.mark.parametrize(("cls", "repair", "key"), [
    ("non_diploid", "polyploid_split", "FORMAT/PL"),
    ("unsorted", "sorted", "records"),
    ("sv", "sorted", "records"),
    ("undeclared", "declared", "FILTER/q10"),
    ("undeclared", "declared", "contig/chrUn_gl000220"),
])
def test_real_callers_repairs_in_sidecar_and_report(jobs, cls, repair, key):
    j = jobs[cls]
    side = json.loads(_get(j["bucket"], j["row"]["outputs"]["sidecar_key"]))
    assert (repair, key) in {(r["repair"], r["key"]) for r in side["repairs"]}
    assert side["conformance"] is not None and side["conformance"]["profile"] == "default"
    html = _report(j)
    assert repair in html and key in html


def test_real_callers_conformance_warnings_visible(jobs):
    j = jobs["undeclared"]
    conf = j["job"]["conformance"]
    assert conf["valid"] and conf["warning_count"] > 0, conf
    side = json.loads(_get(j["bucket"], j["row"]["outputs"]["sidecar_key"]))
    assert side["conformance"]["warning_count"] == conf["warning_count"]
    first = conf["warnings"][0]["code"]
    assert first in _report(j) and "validation warning" in _report(j)


def test_real_callers_sites_only_gets_site_qc(jobs):
    j = jobs["sites_only"]
    doc = _qc_json(j)
    assert doc["metrics"]["records"] == 8 and doc["metrics"]["snps"] == 6
    assert "het_hom_ratio" not in doc["metrics"] and "missing_rate" not in doc["metrics"]
    assert any("sites-only" in n for n in doc["notes"])
    assert "sites-only" in _report(j)


def test_real_callers_sv_and_unsorted_outputs_sorted(jobs, tmp_path):
    for cls in ("sv", "unsorted"):
        j = jobs[cls]
        path = tmp_path / f"{cls}.vcf.gz"
        path.write_bytes(_get(j["bucket"], j["row"]["outputs"]["vcf_key"]))
        rows = subprocess.run(["bcftools", "view", "-H", str(path)], capture_output=True, text=True,
                              check=True).stdout.splitlines()
        by_contig: dict[str, list[int]] = {}
        for r in rows:
            f = r.split("\t")
            by_contig.setdefault(f[0], []).append(int(f[1]))
        assert all(p == sorted(p) for p in by_contig.values()), cls


def test_real_callers_bam_without_index_notes_skipped_metrics(jobs):
    j = jobs["bam_no_index"]
    doc = _qc_json(j)
    assert doc["metrics"]["reads"] == 1500
    assert any("idxstats" in n and "not computed" in n for n in doc["notes"])
    assert "not computed" in _report(j)
