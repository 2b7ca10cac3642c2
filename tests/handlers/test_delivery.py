"""Delivery on moto: every job kind (VCF outputs; BAM/CRAM/FASTQ QC report and metrics), multipart copies,
an interrupted delivery resumed idempotently, ineligible jobs withheld.

The jobs are made by the real cores in the order the workflow runs them: the ledger records the upload,
vcf-processor processes a VCF, quality-metrics QCs the output (or the raw reads), metadata-updater's
finalize writes the final record that delivery reads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from genomics import synth
from genomics.corpus import CORPUS
from genomics.delivery import DeliveryError, Transfer, deliver
from genomics.ledger import ObjectRef, model
from genomics.ledger.updater import Prices, finalize
from genomics.qc.service import run_quality_metrics
from handlers import vcf_processor

EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")  # Debian bio-eagle-examples
PROJECT = "proj"
# level-1.bam is a small test BAM (44 % properly paired, shallow): this stack does not gate on pairing or depth.
SMALL_BAM_GATE = {"wgs": {"pct_properly_paired": None, "mean_coverage": None, "target_mean_depth": None,
                          "pct_target_10x": None, "pct_target_20x": None}}


def _s3() -> Any:
    return boto3.client("s3")


def _get(bucket: str, key: str) -> bytes:
    return _s3().get_object(Bucket=bucket, Key=key)["Body"].read()


def _keys(bucket: str, prefix: str) -> set[str]:
    pages = _s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"] for p in pages for o in p.get("Contents", [])}


def make_job(stack, monkeypatch, key: str, data: bytes, fmt: str, *, thresholds: Any = None,
             reference_uri: str = "", assay: str = "wgs") -> dict[str, Any]:
    """Upload ``data`` as ``key`` and take it through the workflow's cores to its final ledger record."""
    names, ledger = stack.names, stack.ledger
    raw = names.bucket("raw")
    resp = _s3().put_object(Bucket=raw, Key=key, Body=data)
    ref = ObjectRef(raw, key, resp["VersionId"], resp["ETag"], len(data))
    project, sample_id, _ = key.split("/", 2)
    job_id = ref.job_id()
    ledger.create_job(ref, job_id=job_id, project=project, sample_id=sample_id, actor="test")
    ledger.record_file(ref, project=project, sample_id=sample_id, job_id=job_id)
    ledger.transition(job_id, model.VALIDATING, actor="test")
    event: dict[str, Any] = {
        "job_id": job_id, "project": project, "sample_id": sample_id, "assay": assay,
        "input": {"bucket": raw, "key": key, "version_id": resp["VersionId"],
                  "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "format": fmt},
    }
    processed: dict[str, Any] = {"skipped": True}
    if fmt in ("vcf", "bcf"):
        ledger.transition(job_id, model.PROCESSING, actor="test")
        for k, v in stack.env("vcf-processor").items():
            monkeypatch.setenv(k, v)
        processed = vcf_processor.handler({**event, "action": "process"}, stack.context("vcf-processor"))
    ledger.transition(job_id, model.QC, actor="test")
    qc = run_quality_metrics({**event, "processed": processed}, s3=_s3(), dynamodb=boto3.client("dynamodb"),
                             table=names.table("qc"), processed_bucket=names.bucket("processed"),
                             thresholds=thresholds, reference_uri=reference_uri)
    finalize(ledger, {**event, "processed": processed, "qc": qc}, "arn:test", Prices())
    return ledger.get_job(job_id)


@pytest.fixture
def project(stack, monkeypatch) -> dict[str, dict[str, Any]]:
    """One job of each kind, plus a QC_FAILED BAM; keyed by sample."""
    s3 = _s3()
    s3.create_bucket(Bucket="refs")
    s3.put_object(Bucket="refs", Key="ce/ce.fa", Body=(CORPUS / "cram/ce.fa").read_bytes())
    bam = (CORPUS / "bam/passed/level-1.bam").read_bytes()
    return {
        "V1": make_job(stack, monkeypatch, f"{PROJECT}/V1/EUR_test.vcf.gz", EUR.read_bytes(), "vcf",
                       assay="cohort"),
        "B1": make_job(stack, monkeypatch, f"{PROJECT}/B1/reads.bam", bam, "bam", thresholds=SMALL_BAM_GATE),
        "C1": make_job(stack, monkeypatch, f"{PROJECT}/C1/x.cram",
                       (CORPUS / "cram/3.0/passed/0500_mapped.cram").read_bytes(), "cram",
                       reference_uri="s3://refs/ce/ce.fa", thresholds=SMALL_BAM_GATE),
        "F1": make_job(stack, monkeypatch, f"{PROJECT}/F1/r1.fq", (CORPUS / "fastq/htslib/r1.fq").read_bytes(),
                       "fastq"),
        "B2": make_job(stack, monkeypatch, f"{PROJECT}/B2/reads.bam", bam, "bam"),  # default gate: QC_FAILED
    }


def _deliver(stack, **kwargs: Any) -> dict[str, Any]:
    names = stack.names
    kwargs.setdefault("manifest_interval", 0.0)
    kwargs.setdefault("partner", "acme")
    return deliver(stack.ledger, _s3(), project=PROJECT, delivery_bucket=names.bucket("delivery"),
                   processed_bucket=names.bucket("processed"), **kwargs)


def _expected_keys() -> dict[str, set[str]]:
    base = f"partners/acme/{PROJECT}"
    qc = {s: {f"{base}/{s}/{f}.multiqc_report.html", f"{base}/{s}/{f}.qc.json"}
          for s, f in (("V1", "EUR_test.vcf.gz"), ("B1", "reads.bam"), ("C1", "x.cram"), ("F1", "r1.fq"))}
    qc["V1"] |= {f"{base}/V1/EUR_test.norm.vcf.gz", f"{base}/V1/EUR_test.norm.vcf.gz.tbi",
                 f"{base}/V1/EUR_test.norm.vcf.gz.json"}
    return qc


def test_delivery_every_job_kind(stack, project):
    assert project["B1"]["outputs"] == {"report_key": project["B1"]["outputs"]["report_key"]}  # QC only
    assert project["B2"]["status"] == model.QC_FAILED
    out = _deliver(stack, delivery_id="d1")
    delivery = stack.names.bucket("delivery")
    expected = _expected_keys()
    assert out["status"] == "complete" and out["manifest_key"] == f"partners/acme/{PROJECT}/MANIFEST-d1.json"
    assert {d["sample_id"]: set(d["keys"]) for d in out["delivered"]} == expected, out["withheld"]
    assert [(w["sample_id"], w["status"]) for w in out["withheld"]] == [("B2", model.QC_FAILED)]
    assert "pct_properly_paired" in out["withheld"][0]["reason"]
    assert _keys(delivery, f"partners/acme/{PROJECT}/") == set().union(*expected.values()) | {out["manifest_key"]}
    processed = stack.names.bucket("processed")
    for entry in out["delivered"]:
        for obj in entry["objects"]:
            src_bucket, src_key = obj["source"][5:].split("/", 1)
            assert src_bucket == processed and obj["action"] == "copied"
            assert _get(delivery, obj["key"]) == _get(processed, src_key)
    bam_metrics = json.loads(_get(delivery, f"partners/acme/{PROJECT}/B1/reads.bam.qc.json"))
    assert bam_metrics["metrics"]["reads"] == 20000 and bam_metrics["format"] == "bam"
    head = _s3().head_object(Bucket=delivery, Key=f"partners/acme/{PROJECT}/B1/reads.bam.multiqc_report.html")
    assert head["ContentType"] == "text/html" and head["Metadata"]["source-size"] == str(head["ContentLength"])
    # The manifest in S3 is the one returned; the ledger has the delivery, complete.
    stored = json.loads(_get(delivery, out["manifest_key"]))
    assert stored["status"] == "complete" and stored["delivered"] == out["delivered"]
    (record,) = stack.ledger.deliveries(PROJECT)
    assert record["status"] == "complete" and record["manifest_key"] == out["manifest_key"]
    assert sorted(record["samples"]) == ["B1", "C1", "F1", "V1"] and record["withheld"] == ["B2"]


def test_delivery_missing_eligibility_is_never_eligible(stack, monkeypatch):
    job = make_job(stack, monkeypatch, f"{PROJECT}/F2/r1.fq", (CORPUS / "fastq/htslib/r1.fq").read_bytes(), "fastq")
    assert job["status"] == model.COMPLETED and job["eligible_for_delivery"] is True
    # A COMPLETED job recorded without the flag (e.g. by an older writer): withheld, not delivered.
    stack.ledger.client.update_item(TableName=stack.names.table("jobs"), Key={"job_id": {"S": job["job_id"]}},
                                    UpdateExpression="REMOVE eligible_for_delivery")
    out = _deliver(stack)
    assert out["delivered"] == []
    assert [(w["sample_id"], w["reason"]) for w in out["withheld"]] == [("F2", "not marked eligible for delivery")]
    assert _keys(stack.names.bucket("delivery"), f"partners/acme/{PROJECT}/F2/") == set()


def test_delivery_source_missing_withholds_the_sample(stack, project):
    _s3().delete_object(Bucket=stack.names.bucket("processed"), Key=project["V1"]["outputs"]["index_key"])
    out = _deliver(stack)
    assert "V1" not in {d["sample_id"] for d in out["delivered"]}
    (v1,) = [w for w in out["withheld"] if w["sample_id"] == "V1"]
    assert v1["reason"].startswith("DELIVERY_SOURCE_MISSING: ")
    assert project["V1"]["outputs"]["index_key"] in v1["reason"]
    assert _keys(stack.names.bucket("delivery"), f"partners/acme/{PROJECT}/V1/") == set()


class _CutAfter:
    """A botocore before-call hook: the network goes away on the (n+1)-th copy request."""

    def __init__(self, n: int, manifest_key: str, bucket: str) -> None:
        self.n, self.calls, self.manifest_key, self.bucket = n, 0, manifest_key, bucket
        self.manifest_at_cut: dict[str, Any] | None = None

    def __call__(self, **kwargs: Any) -> None:
        self.calls += 1
        if self.calls <= self.n:
            return
        self.manifest_at_cut = json.loads(_get(self.bucket, self.manifest_key))
        raise EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")


def _copies(doc: dict[str, Any]) -> list[str]:
    entries = [*doc["delivered"], *([doc["copying"]] if doc.get("copying") else [])]
    return [o["key"] for e in entries for o in e["objects"]]


def test_delivery_interrupted_then_resumed(stack, project):
    delivery = stack.names.bucket("delivery")
    manifest_key = f"partners/acme/{PROJECT}/MANIFEST-d2.json"
    s3 = _s3()
    cut = _CutAfter(4, manifest_key, delivery)
    s3.meta.events.register("before-call.s3.CopyObject", cut)
    with pytest.raises(EndpointConnectionError):
        deliver(stack.ledger, s3, project=PROJECT, partner="acme", delivery_bucket=delivery,
                processed_bucket=stack.names.bucket("processed"), delivery_id="d2", manifest_interval=0.0)
    # Written as it went: at the cut, the manifest already listed the four objects copied.
    assert cut.manifest_at_cut is not None and len(_copies(cut.manifest_at_cut)) == 4
    left = json.loads(_get(delivery, manifest_key))
    assert left["status"] == "interrupted" and "EndpointConnectionError" in left["error"]
    copied_first = _copies(left)
    assert len(copied_first) == 4
    assert _keys(delivery, f"partners/acme/{PROJECT}/") == set(copied_first) | {manifest_key}
    assert stack.ledger.deliveries(PROJECT)[0]["status"] == "in_progress"

    # One delivered object is damaged meanwhile: the retry copies it again.
    s3.put_object(Bucket=delivery, Key=copied_first[0], Body=b"not the report")
    out = _deliver(stack)  # no id: the unfinished delivery of the same selection is resumed
    assert out["delivery_id"] == "d2" and out["run"]["resumed"] is True
    expected = set().union(*_expected_keys().values())
    assert out["run"]["skipped"] == 3 and out["run"]["copied"] == len(expected) - 3
    assert out["status"] == "complete" and set(_copies(out)) == expected
    processed = stack.names.bucket("processed")
    for entry in out["delivered"]:
        for obj in entry["objects"]:
            assert _get(delivery, obj["key"]) == _get(processed, obj["source"].split("/", 3)[3])
    (record,) = stack.ledger.deliveries(PROJECT)
    assert record["sk"] == "DELIVERY#d2" and record["status"] == "complete"

    # Once complete, a further run starts a new delivery, and finds everything already there.
    again = _deliver(stack)
    assert again["delivery_id"] != "d2" and again["run"] == {"copied": 0, "skipped": len(expected),
                                                             "bytes_copied": 0, "resumed": False}


def test_delivery_resume_picks_the_unfinished_delivery_of_the_same_selection(stack, project):
    delivery = stack.names.bucket("delivery")
    s3 = _s3()
    s3.meta.events.register("before-call.s3.CopyObject", _CutAfter(1, f"partners/acme/{PROJECT}/MANIFEST-all.json",
                                                                   delivery))
    with pytest.raises(EndpointConnectionError):
        deliver(stack.ledger, s3, project=PROJECT, partner="acme", delivery_bucket=delivery,
                processed_bucket=stack.names.bucket("processed"), delivery_id="all", manifest_interval=0.0)
    only_f1 = _deliver(stack, samples={"F1"})  # a newer delivery, of another selection, completes
    assert only_f1["delivery_id"] != "all" and only_f1["status"] == "complete" and not only_f1["run"]["resumed"]
    assert [d["sample_id"] for d in only_f1["delivered"]] == ["F1"]
    resumed = _deliver(stack)
    assert resumed["delivery_id"] == "all" and resumed["run"]["resumed"] and resumed["status"] == "complete"
    assert resumed["run"]["skipped"] == 1 + 2  # B1's report from the cut run, F1's two from the other delivery
    with pytest.raises(DeliveryError) as e:  # a named delivery keeps its selection
        _deliver(stack, delivery_id="all", samples={"V1"})
    assert e.value.code == "DELIVERY_NOT_RESUMABLE"


def test_delivery_multipart_copy_of_a_large_output(stack, monkeypatch, tmp_path):
    """An output above the multipart threshold is copied in parts (UploadPartCopy), the bytes intact;
    a rerun recognises it by the source ETag it recorded (a multipart copy has another ETag)."""
    job = make_job(stack, monkeypatch, f"{PROJECT}/F3/r1.fq", (CORPUS / "fastq/htslib/r1.fq").read_bytes(), "fastq")
    processed = stack.names.bucket("processed")
    # A large report stands in for a large output: our generator's VCF text, 11+ MiB.
    big = tmp_path / "big.vcf"
    with big.open("w") as fh:
        synth.write(fh, 140_000, 4, synth.default_contigs(2), seed=3)
    data = big.read_bytes()
    assert len(data) > 11 * 1024 * 1024
    _s3().put_object(Bucket=processed, Key=job["outputs"]["report_key"], Body=data, ContentType="text/html")
    s3 = _s3()
    parts: list[dict[str, Any]] = []
    s3.meta.events.register("before-call.s3.UploadPartCopy", lambda params, **_: parts.append(params))
    mib = 1024 * 1024
    transfer = Transfer(multipart_threshold=5 * mib, multipart_chunksize=5 * mib)
    out = deliver(stack.ledger, s3, project=PROJECT, partner="acme", delivery_bucket=stack.names.bucket("delivery"),
                  processed_bucket=processed, transfer=transfer, manifest_interval=0.0)
    dest = f"partners/acme/{PROJECT}/F3/r1.fq.multiqc_report.html"
    assert len(parts) == -(-len(data) // (5 * mib)) >= 3
    assert _get(stack.names.bucket("delivery"), dest) == data
    head = s3.head_object(Bucket=stack.names.bucket("delivery"), Key=dest)
    assert head["ETag"].rstrip('"').endswith(f"-{len(parts)}") and head["ContentType"] == "text/html"
    (obj,) = [o for o in out["delivered"][0]["objects"] if o["key"] == dest]
    assert obj["size"] == len(data) and obj["action"] == "copied"
    rerun = deliver(stack.ledger, s3, project=PROJECT, partner="acme", delivery_bucket=stack.names.bucket("delivery"),
                    processed_bucket=processed, transfer=transfer)
    assert rerun["run"]["copied"] == 0 and len(parts) == -(-len(data) // (5 * mib))


def test_delivery_rejects_a_bad_partner_name(stack):
    with pytest.raises(DeliveryError) as e:
        _deliver(stack, partner="Acme Labs")
    assert e.value.code == "DELIVERY_PARTNER_INVALID"
    assert _keys(stack.names.bucket("delivery"), "partners/") == set()
