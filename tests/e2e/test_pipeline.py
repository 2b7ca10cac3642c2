"""The whole system on moto server: S3 notification -> validation-handler -> moto's Step Functions
interpreter -> vcf-processor / quality-metrics / metadata-updater (in-process via the adapter)."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
from pathlib import Path

import boto3
import pytest

from genomics.cli import main as cli_main
from genomics.ledger import Ledger, model
from genomics.local.demo import DEMO_SETTINGS, Upload, api_call, demo_uploads, run_uploads
from tests.localcloud import deployed, no_scans

_scans: list[str] = []


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Deploy once, upload the demo's real files, wait for every job; Scan is forbidden throughout."""
    with no_scans("no-scan", _scans), deployed("e2e", DEMO_SETTINGS) as (cloud, stack):
        uploads = demo_uploads(tmp_path_factory.mktemp("demo-inputs"))
        rows = run_uploads(stack, uploads, timeout_s=600)
        yield cloud, stack, {r["sample_id"]: r for r in rows}, uploads


def _ledger(stack) -> Ledger:
    n = stack.names
    return Ledger(n.table("metadata"), n.table("jobs"), n.table("qc"), client=boto3.client("dynamodb"))


def _download(bucket: str, key: str, dest: Path) -> Path:
    boto3.client("s3").download_file(bucket, key, str(dest))
    return dest


def _records(path: Path) -> list[str]:
    out = subprocess.run(["bcftools", "view", "-H", str(path)], capture_output=True, check=True, text=True)
    return out.stdout.splitlines()


def test_e2e_every_job_ends(pipeline):
    _cloud, _stack, rows, uploads = pipeline
    assert {r["status"] for r in rows.values()} <= set(model.TERMINAL)
    assert len(rows) == len(uploads)


def test_e2e_vcf_normalised_sorted_indexed(pipeline, tmp_path):
    _cloud, stack, rows, _ = pipeline
    row = rows["EUR_chr21"]
    assert row["status"] == model.COMPLETED, row
    processed = stack.names.bucket("processed")
    vcf = _download(processed, row["outputs"]["vcf_key"], tmp_path / "out.vcf.gz")
    _download(processed, row["outputs"]["index_key"], tmp_path / ("out.vcf.gz." + row["outputs"]["index_key"][-3:]))
    with open(vcf, "rb") as fh:  # BGZF: gzip member with the BC extra subfield
        head = fh.read(18)
    assert head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"
    records = _records(vcf)
    positions = [(r.split("\t")[0], int(r.split("\t")[1])) for r in records]
    blocks = [c for i, (c, _) in enumerate(positions) if i == 0 or positions[i - 1][0] != c]
    assert len(blocks) == len(set(blocks)), "each contig must be one contiguous block"
    for contig in blocks:
        pos = [p for c, p in positions if c == contig]
        assert pos == sorted(pos), contig
    assert all("," not in r.split("\t")[4] for r in records), "multiallelic records must be split"
    # The index answers a region query.
    region = subprocess.run(["bcftools", "view", "-H", "-r", "21:38000000-40000000", str(vcf)],
                            capture_output=True, check=True, text=True).stdout.splitlines()
    assert 0 < len(region) < len(records)
    sidecar = json.loads(boto3.client("s3").get_object(Bucket=processed, Key=row["outputs"]["sidecar_key"])["Body"]
                         .read())
    assert sidecar["records_out"] == len(records)
    assert row["qc"]["records"] == len(records)


def test_e2e_scattered_equals_single_pass(pipeline, tmp_path):
    """1kg.vcf.gz is over the demo's scatter threshold: the Map state processed it per contig."""
    from genomics.processing.vcf import process_local

    _cloud, stack, rows, uploads = pipeline
    row = rows["1kg_multi"]
    # The pilot release misses 44 % of genotypes: processed and indexed, then held back by the gate.
    assert row["status"] == model.QC_FAILED and "missing_rate" in row["reason"], row
    job = _ledger(stack).get_job(row["job_id"])
    assert any(s["name"].startswith("shard-") for s in job["steps"]), job["steps"]
    scattered = _records(_download(stack.names.bucket("processed"), row["outputs"]["vcf_key"], tmp_path / "s.vcf.gz"))
    src = next(u.path for u in uploads if u.sample_id == "1kg_multi")
    single = process_local(str(src), str(tmp_path / "single"))
    single_vcf = next((tmp_path / "single").glob("*.vcf.gz"))
    assert single["records_out"] == len(scattered)
    assert _records(single_vcf) == scattered


def test_e2e_invalid_vcf_rejected_with_code_and_line(pipeline):
    _cloud, _stack, rows, _ = pipeline
    row = rows["broken_upload"]
    assert row["status"] == model.REJECTED
    assert "VCF_" in row["reason"] and "line" in row["reason"]
    assert row["outputs"] == {}


def test_e2e_reads_and_alignments_get_qc(pipeline):
    _cloud, _stack, rows, uploads = pipeline
    fq = rows["lambda_phage"]
    assert fq["status"] in (model.COMPLETED, model.QC_FAILED), fq
    src = next(u.path for u in uploads if u.sample_id == "lambda_phage")
    with gzip.open(src, "rt") as fh:
        n_reads = sum(1 for _ in fh) // 4
    assert fq["qc"]["reads"] == n_reads
    bam = rows["lambda_aligned"]
    assert bam["status"] in (model.COMPLETED, model.QC_FAILED), bam
    assert bam["outputs"].get("report_key", "").endswith(".html")
    # The demo's FASTQ -> BAM step aligned every read pair of the FASTQ upload.
    assert bam["qc"]["reads"] == 2 * n_reads


def test_e2e_raw_uploads_never_modified(pipeline):
    _cloud, stack, _rows, uploads = pipeline
    s3 = boto3.client("s3")
    raw = stack.names.bucket("raw")
    for up in uploads:
        versions = s3.list_object_versions(Bucket=raw, Prefix=up.key)["Versions"]
        assert len(versions) == 1, up.key
        body = s3.get_object(Bucket=raw, Key=up.key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == hashlib.sha256(up.path.read_bytes()).hexdigest()
    assert "DeleteMarkers" not in s3.list_object_versions(Bucket=raw)


def test_e2e_qc_metrics_stored_and_queryable(pipeline):
    _cloud, stack, rows, _ = pipeline
    ledger = _ledger(stack)
    items = ledger.qc_for_sample("EUR_chr21")
    names = {i["metric_key"].split("#", 1)[1] for i in items}
    assert {"records", "snps", "indels", "ts_tv"} <= names
    rec = next(i for i in items if i["metric_key"].endswith("#records"))
    assert rec["value"] == rows["EUR_chr21"]["qc"]["records"]


def test_e2e_status_cli_answers_from_the_ledger(pipeline, capsys):
    cloud, stack, rows, _ = pipeline
    assert cli_main(["status", "EUR_chr21", "--json", "--stack", stack.names.stack,
                     "--endpoint-url", cloud.endpoint]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["project"] == "demo" and out["jobs"][0]["status"] == model.COMPLETED
    assert cli_main(["status", "--failed-since", "1h", "--json", "--stack", stack.names.stack,
                     "--endpoint-url", cloud.endpoint]) == 0
    failed = json.loads(capsys.readouterr().out)
    assert rows["broken_upload"]["job_id"] in {j["job_id"] for j in failed}
    assert cli_main(["status", "--job", rows["EUR_chr21"]["job_id"], "--json", "--stack", stack.names.stack,
                     "--endpoint-url", cloud.endpoint]) == 0
    job = json.loads(capsys.readouterr().out)
    assert [h["to"] for h in job["history"]] == ["RECEIVED", "VALIDATING", "PROCESSING", "QC", "COMPLETED"]
    assert job["cost"]["usd"] > 0 and {s["name"] for s in job["steps"]} >= {"validate", "plan", "qc"}


def test_e2e_status_api_function_answers_like_the_cli(pipeline):
    """The status-api Lambda deployed with the stack (invoked as API Gateway would, through Lambda
    Invoke on moto server) answers from the ledger; a scan would have failed the fixture."""
    _cloud, stack, rows, _ = pipeline
    names = stack.names
    code, sample = api_call(names, "GET /samples/{sample_id}", {"sample_id": "EUR_chr21"})
    assert code == 200 and sample["jobs"][0]["status"] == model.COMPLETED
    assert sample["jobs"][0]["outputs"]["vcf_key"] == rows["EUR_chr21"]["outputs"]["vcf_key"]
    code, failures = api_call(names, "GET /failures", query={"since": "2000-01-01"})
    assert code == 200 and rows["broken_upload"]["job_id"] in {j["job_id"] for j in failures["jobs"]}
    code, failing = api_call(names, "GET /projects/{project}/failing/{metric}",
                             {"project": "demo", "metric": "missing_rate"})
    assert code == 200 and [s["sample_id"] for s in failing["samples"]] == ["1kg_multi"]
    code, err = api_call(names, "GET /jobs/{job_id}", {"job_id": "nope"})
    assert code == 404 and err["error"]["code"] == "API_NOT_FOUND"


def test_e2e_deliver_only_passing_samples(pipeline, capsys):
    cloud, stack, _rows, _ = pipeline
    assert cli_main(["deliver", "demo", "--partner", "acme", "--stack", stack.names.stack,
                     "--endpoint-url", cloud.endpoint]) == 0
    manifest = json.loads(capsys.readouterr().out)
    delivered = {d["sample_id"] for d in manifest["delivered"]}
    withheld = {w["sample_id"] for w in manifest["withheld"]}
    assert "EUR_chr21" in delivered and {"broken_upload", "1kg_multi", "lambda_phage"} <= withheld
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(
        Bucket=stack.names.bucket("delivery"), Prefix="partners/acme/demo/EUR_chr21/").get("Contents", [])]
    assert any(k.endswith(".vcf.gz") for k in keys)
    assert _ledger(stack).deliveries("demo")[0]["partner"] == "acme"


def test_e2e_cost_report_sums_job_estimates(pipeline, capsys):
    cloud, stack, rows, _ = pipeline
    assert cli_main(["cost", "demo", "--json", "--stack", stack.names.stack, "--endpoint-url", cloud.endpoint]) == 0
    cost = json.loads(capsys.readouterr().out)
    ledger = _ledger(stack)
    expected = sum((ledger.get_job(r["job_id"]).get("cost") or {}).get("usd", 0) for r in rows.values())
    assert cost["jobs"] == len(rows)
    assert cost["usd"] == pytest.approx(expected, abs=1e-6) and cost["usd"] > 0


def test_e2e_no_scan_anywhere(pipeline):
    assert _scans == []


def test_e2e_demo_uploads_are_real_files(tmp_path):
    ups = demo_uploads(tmp_path)
    assert all(isinstance(u, Upload) and u.path.stat().st_size > 0 for u in ups)
    # Nothing from outside the repository and the installed packages: no corpus.
    assert not any("corpus" in str(u.path) for u in ups)
    bam = next(u.path for u in ups if u.sample_id == "lambda_aligned")
    assert bam.read_bytes()[:2] == b"\x1f\x8b" and Path(f"{bam}.bai").exists()
    with open(ups[1].path, "rb") as fh:  # pyvcf3's 1kg.vcf.gz is plain gzip, not BGZF
        head = fh.read(16)
    assert head[:3] == b"\x1f\x8b\x08" and head[3] & 0x04 == 0


def test_e2e_demo_routes_the_bam_to_shards_and_the_long_reads_to_fargate(pipeline):
    """Over the demo's 2 MB threshold: the sorted aligned BAM scatters (the plan built its index), the
    plain-gzip long-read FASTQ runs as a Fargate task (the adapter ran its command); both end with QC."""
    _cloud, stack, rows, _ = pipeline
    ledger = _ledger(stack)
    bam = ledger.get_job(rows["lambda_aligned"]["job_id"])
    names = [s["name"] for s in bam["steps"]]
    assert "qc-plan" in names and names[-1] == "qc-gather" and any(n.startswith("qc-shard-") for n in names)
    long_reads = ledger.get_job(rows["long_reads"]["job_id"])
    assert rows["long_reads"]["status"] in (model.COMPLETED, model.QC_FAILED), rows["long_reads"]
    task = next(s for s in long_reads["steps"] if s["name"] == "qc-fargate")
    assert task["platform"] == "fargate" and long_reads["cost"]["fargate_usd"] > 0
    assert rows["long_reads"]["qc"]["reads"] > 0
