"""The project dashboard on moto: jobs written through the real Ledger API, page content, no Scan."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import boto3
import pytest
from moto import mock_aws

from genomics.dashboard import (
    CONTENT_TYPE,
    dashboard_key,
    latest_jobs,
    publish_dashboard,
    reason_of,
    render_dashboard,
)
from genomics.deployment import REPORTS_PREFIX, TABLES, Names
from genomics.ledger import Ledger, ObjectRef, model
from genomics.local.deploy import table_request
from genomics.qc import gate as qc_gate
from genomics.qc.service import batch_put, metric_items

NAMES = Names("dash", "123456789012", "us-east-1")
PROJECT = "cohort7"
RAW = "raw-bucket"
PROCESSED = "processed-bucket"
HOSTILE = 'VCF_BAD_ALT: line 12: ALT "<script>alert(1)</script>" is not a base'


def _forbid_scan(**_: Any) -> None:
    raise AssertionError("a DynamoDB Scan was issued: the dashboard must use keys and indexes only")


class Page(HTMLParser):
    """The parts of the page the tests look at: job rows (status, cells), links, count badges."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.deliveries: list[list[str]] = []
        self.chunks: list[str] = []
        self.links: list[str] = []
        self.scripts = 0
        self.external: list[str] = []
        self._row: dict[str, Any] | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag in ("link", "img", "iframe") or (tag == "style" and a.get("src")):
            self.external.append(tag)
        if tag == "tr" and a.get("data-status"):
            self._row = {"status": a["data-status"], "job_id": a.get("data-job-id"), "cells": []}
        elif tag == "tr" and a.get("class") == "delivery":
            self._row = {"delivery": True, "cells": []}
        if tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "div" and self._cell is not None:
            self._cell.append(" ")  # a block inside a cell is a separate line
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "summary" and self._cell is not None:
            self._cell.append(" ")  # what unfolds below a summary is a separate line
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self._row is not None:
            if self._row.get("delivery"):
                self.deliveries.append(self._row["cells"])
            else:
                self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())

    def row(self, sample: str) -> dict[str, Any]:
        found = [r for r in self.rows if r["cells"][0] == sample]
        assert len(found) == 1, (sample, self.rows)
        return found[0]


@pytest.fixture
def ledger(aws_env: None) -> Iterator[Ledger]:
    with mock_aws():
        ddb = boto3.client("dynamodb")
        for role, spec in TABLES.items():
            ddb.create_table(**table_request(NAMES.table(role), spec))
        ddb.meta.events.register("before-call.dynamodb.Scan", _forbid_scan)
        yield Ledger(NAMES.table("metadata"), NAMES.table("jobs"), NAMES.table("qc"), client=ddb)


def _start(ledger: Ledger, sample: str, name: str, *, version: str = "v1", run: int = 1,
           project: str = PROJECT, fmt: str = "vcf", sha: str | None = None) -> tuple[str, ObjectRef]:
    ref = ObjectRef(RAW, f"{project}/{sample}/{name}", version)
    job_id = ref.job_id(run)
    assert ledger.create_job(ref, job_id=job_id, project=project, sample_id=sample, actor="test", run=run)
    ledger.record_file(ref, project=project, sample_id=sample, job_id=job_id)
    ledger.transition(job_id, model.VALIDATING, actor="validation-handler")
    ledger.update_job(job_id, {"format": fmt, "sha256": sha or (sample.encode().hex() * 8)[:64], "assay": "cohort"})
    return job_id, ref


def _finish(ledger: Ledger, job_id: str, target: str, *, outputs: dict[str, Any], qc: dict[str, Any],
            records: tuple[int, int] | None, usd: float) -> None:
    ledger.transition(
        job_id, target, actor="metadata-updater",
        attributes={"outputs": outputs or None, "qc": qc, "cost": {"usd": usd, "lambda_gb_seconds": 1.5},
                    "records_in": records and records[0], "records_out": records and records[1]},
    )


def _vcf_outputs(sample: str) -> dict[str, str]:
    base = f"processed/{sample}/abc"
    return {"bucket": PROCESSED, "vcf_key": f"{base}.vcf.gz", "index_key": f"{base}.vcf.gz.tbi",
            "sidecar_key": f"{base}.json", "report_key": f"{REPORTS_PREFIX}/{PROJECT}/{sample}/multiqc_report.html"}


@pytest.fixture
def populated(ledger: Ledger) -> dict[str, str]:
    """Six files in the project (one reprocessed), one file in another project, one delivery."""
    ids: dict[str, str] = {}
    # COMPLETED VCF whose first run FAILED; the second run supersedes it.
    first, _ = _start(ledger, "S_ok", "calls.vcf.gz")
    ledger.transition(first, model.FAILED, actor="metadata-updater",
                      attributes={"reason": "TransientError: throttled", "error": "TransientError"})
    ids["S_ok_first"] = first
    second, _ = _start(ledger, "S_ok", "calls.vcf.gz", run=2)
    for t in (model.PROCESSING, model.QC):
        ledger.transition(second, t, actor="metadata-updater")
    passing = qc_gate.evaluate({"records": 5000, "snps": 4000, "ts_tv": 2.1, "missing_rate": 0.01}, "cohort")
    _finish(ledger, second, model.COMPLETED, outputs=_vcf_outputs("S_ok"),
            qc={"verdict": passing["verdict"], "deciding_metric": passing["deciding_metric"],
                "reasons": passing["reasons"], "summary": {"records": 4990}}, records=(5000, 4990), usd=0.000123)
    ids["S_ok"] = second

    # QC_FAILED: the gate's real verdict; its metrics written to the QC table as quality-metrics does.
    sha = "f" * 64
    qcf, _ = _start(ledger, "S_qc", "pilot.vcf.gz", sha=sha)
    for t in (model.PROCESSING, model.QC):
        ledger.transition(qcf, t, actor="metadata-updater")
    metrics = {"records": 900, "snps": 800, "ts_tv": 2.0, "missing_rate": 0.44}
    verdict = qc_gate.evaluate(metrics, "cohort")
    batch_put(ledger.client, ledger.qc_table,
              metric_items(project=PROJECT, sample_id="S_qc", job_id=qcf, sha256=sha, assay="cohort", fmt="vcf",
                           metrics=metrics, verdict=verdict, report_key=None))
    _finish(ledger, qcf, model.QC_FAILED, outputs=_vcf_outputs("S_qc"),
            qc={"verdict": verdict["verdict"], "deciding_metric": verdict["deciding_metric"],
                "reasons": verdict["reasons"], "summary": {"records": 900}}, records=(900, 900), usd=0.0002)
    ids["S_qc"] = qcf

    # REJECTED with a hostile reason (a file's content can put anything into an error message).
    rej, _ = _start(ledger, "S_bad", "broken<b>.vcf")
    ledger.transition(rej, model.REJECTED, actor="validation-handler", attributes={"reason": HOSTILE})
    ids["S_bad"] = rej

    # FAILED in processing.
    fail, _ = _start(ledger, "S_fail", "huge.vcf.gz")
    ledger.transition(fail, model.PROCESSING, actor="metadata-updater")
    ledger.transition(fail, model.FAILED, actor="metadata-updater",
                      attributes={"error": "ToolError", "reason": "ToolError: bcftools norm exited 255"})
    ids["S_fail"] = fail

    # Still running.
    run, _ = _start(ledger, "S_run", "new.vcf.gz")
    ledger.transition(run, model.PROCESSING, actor="metadata-updater")
    ids["S_run"] = run

    # Reads: QC'd as uploaded; only a report, recorded without a bucket (it is in the processed bucket).
    fq, _ = _start(ledger, "S_reads", "reads_1.fq.gz", fmt="fastq")
    ledger.transition(fq, model.QC, actor="metadata-updater")
    _finish(ledger, fq, model.COMPLETED,
            outputs={"report_key": f"{REPORTS_PREFIX}/{PROJECT}/S_reads/multiqc_report.html"},
            qc={"verdict": "warn", "deciding_metric": "mean_quality", "reasons": ["mean_quality=25 warn"],
                "summary": {"reads": 10000}}, records=None, usd=0.00005)
    ids["S_reads"] = fq

    other, _ = _start(ledger, "X1", "other.vcf.gz", project="otherproj")
    ledger.transition(other, model.REJECTED, actor="validation-handler", attributes={"reason": "VCF_X: other"})

    ledger.record_delivery(PROJECT, "acme", "d-1", {
        "at": "2026-11-20T10:00:00.000000Z", "manifest_key": "partners/acme/cohort7/manifest-d-1.json",
        "samples": ["S_ok"], "withheld": ["S_qc", "S_bad"]})
    return ids


def _link(bucket: str, key: str) -> str:
    return f"https://dl.example.test/{bucket}/{urllib.parse.quote(key)}?sig=a&exp=3600"


def test_dashboard_one_row_per_file_latest_job(ledger, populated):
    page = Page(render_dashboard(ledger, PROJECT, link=_link, generated_at="2026-11-23T12:00:00.000000Z"))
    samples = sorted(r["cells"][0] for r in page.rows)
    assert samples == ["S_bad", "S_fail", "S_ok", "S_qc", "S_reads", "S_run"]  # X1 is another project's
    ok = page.row("S_ok")
    assert ok["job_id"] == populated["S_ok"] and ok["status"] == model.COMPLETED  # run 2, not the FAILED run 1
    assert {r["job_id"] for r in page.rows}.isdisjoint({populated["S_ok_first"]})
    assert ok["cells"][1] == f"{PROJECT}/S_ok/calls.vcf.gz" and ok["cells"][2] == "vcf"
    assert ok["cells"][6] == "5,000 → 4,990" and ok["cells"][7] == "$0.000123"
    assert page.row("S_run")["status"] == model.PROCESSING
    assert page.row("S_fail")["cells"][5] == "ToolError: bcftools norm exited 255"
    assert page.row("S_reads")["cells"][6] == "10,000 reads"
    with pytest.raises(AssertionError, match="Scan"):  # the guard is live: rendering above issued none
        ledger.client.scan(TableName=ledger.jobs_table)


def test_dashboard_header_counts_and_generated_time(ledger, populated):
    text = render_dashboard(ledger, PROJECT, generated_at="2026-11-23T12:00:00.000000Z")
    assert 'datetime="2026-11-23T12:00:00.000000Z"' in text
    assert "Generated 2026-11-23 12:00:00 UTC" in Page(text).text
    header = text.split('<div class="counts" id="counts">', 1)[1].split("</div>", 1)[0]
    for status, n in ((model.COMPLETED, 2), (model.QC_FAILED, 1), (model.REJECTED, 1), (model.FAILED, 1),
                      (model.PROCESSING, 1), (model.VALIDATING, 0)):
        assert f'{status}<span class="n">{n}</span>' in header, status
    assert "6 samples &middot; 6 files &middot; 7 jobs (1 superseded by a later run)" in text


def test_dashboard_hostile_reason_is_escaped(ledger, populated):
    text = render_dashboard(ledger, PROJECT, link=_link)
    page = Page(text)
    assert page.scripts == 0 and page.external == []
    assert "<script>" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    bad = page.row("S_bad")
    assert bad["status"] == model.REJECTED and bad["cells"][5] == HOSTILE  # shown verbatim as text
    assert bad["cells"][1] == f"{PROJECT}/S_bad/broken<b>.vcf"
    assert "default-src 'none'" in text  # and the CSP forbids scripts even if escaping were missed


def test_dashboard_malicious_sample_id_is_escaped(ledger):
    """A sample id is whatever the upload's key said: markup in it, in a delivery or an identity finding,
    is text on the page (the template's autoescape), in cells and in attributes alike."""
    sample = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    job_id, _ref = _start(ledger, sample, "x.vcf.gz")
    finding = {"code": "IDENTITY_MATCHES_OTHER_SAMPLE", "samples": [sample], "message": 'a" onmouseover="alert(3)'}
    _finish(ledger, job_id, model.COMPLETED, outputs={}, records=(1, 1), usd=0.0,
            qc={"verdict": "warn", "identity": {"findings": [finding]}})
    ledger.record_delivery(PROJECT, "acme", "d-x", {"at": "2026-11-20T10:00:00Z", "samples": [sample],
                                                   "withheld": [], "manifest_key": "m.json"})
    text = render_dashboard(ledger, PROJECT)
    page = Page(text)
    assert page.scripts == 0 and page.external == [] and "<img" not in text and "<script" not in text
    assert "onmouseover=" not in text.replace('onmouseover=&#34;', "")  # only inside an escaped attribute
    row = page.row(sample)
    assert row["cells"][0] == sample and row["cells"][1] == f"{PROJECT}/{sample}/x.vcf.gz"
    assert sample in row["cells"][4]
    assert page.deliveries[0][2] == f"1: {sample}"


def test_dashboard_qc_verdict_deciding_metric_and_reason(ledger, populated):
    page = Page(render_dashboard(ledger, PROJECT))
    qc = page.row("S_qc")
    assert qc["status"] == model.QC_FAILED
    assert qc["cells"][4] == "fail missing_rate = 0.44"  # value read from the QC table
    assert qc["cells"][5].startswith("missing_rate=0.44 fail")
    ok = page.row("S_ok")
    assert ok["cells"][4] == "pass" and ok["cells"][5] == "—"  # no reason for a completed job


def test_dashboard_output_links(ledger, populated):
    text = render_dashboard(ledger, PROJECT, link=_link, processed_bucket=PROCESSED)
    page = Page(text)
    base = f"https://dl.example.test/{PROCESSED}/processed/S_ok/abc"
    assert f"{base}.vcf.gz?sig=a&exp=3600" in page.links and f"{base}.vcf.gz.tbi?sig=a&exp=3600" in page.links
    assert f'href="{base}.vcf.gz?sig=a&amp;exp=3600"' in text  # attribute escaped, parsed back intact
    report = f"https://dl.example.test/{PROCESSED}/{urllib.parse.quote(REPORTS_PREFIX + '/' + PROJECT)}/S_reads/"
    assert any(u.startswith(report) for u in page.links)
    assert page.row("S_ok")["cells"][9] == "VCF TBI MultiQC"
    assert page.row("S_bad")["cells"][9] == "—"


def test_dashboard_outputs_as_s3_text_without_link(ledger, populated):
    page = Page(render_dashboard(ledger, PROJECT))
    assert page.links == []
    # Each output: its label and file name, unfolding to the whole location.
    assert page.row("S_ok")["cells"][9] == (
        f"VCF abc.vcf.gz s3://{PROCESSED}/processed/S_ok/abc.vcf.gz "
        f"TBI abc.vcf.gz.tbi s3://{PROCESSED}/processed/S_ok/abc.vcf.gz.tbi "
        f"MultiQC multiqc_report.html s3://{PROCESSED}/{REPORTS_PREFIX}/{PROJECT}/S_ok/multiqc_report.html")
    # Recorded without a bucket and none given: the key alone.
    assert page.row("S_reads")["cells"][9] == (
        f"MultiQC multiqc_report.html {REPORTS_PREFIX}/{PROJECT}/S_reads/multiqc_report.html")


def test_dashboard_deliveries_with_withheld_samples(ledger, populated):
    page = Page(render_dashboard(ledger, PROJECT))
    assert page.deliveries == [["acme", "2026-11-20 10:00:00 UTC", "1: S_ok", "2: S_qc S_bad",
                                "partners/acme/cohort7/manifest-d-1.json"]]


def test_dashboard_empty_project(ledger):
    text = render_dashboard(ledger, "nothing-here")
    assert "No jobs recorded for project nothing-here." in text and "No deliveries yet." in text
    assert Page(text).rows == []


def test_dashboard_publish_presigned_page(ledger, populated):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=PROCESSED)
    key = publish_dashboard(ledger, s3, project=PROJECT, bucket=PROCESSED, expires_s=600)
    assert key == dashboard_key(PROJECT) == f"{REPORTS_PREFIX}/{PROJECT}/dashboard.html"
    obj = s3.get_object(Bucket=PROCESSED, Key=key)
    assert obj["ContentType"] == CONTENT_TYPE
    page = Page(obj["Body"].read().decode("utf-8"))
    vcf = [urllib.parse.urlsplit(u) for u in page.links if "/processed/S_ok/abc.vcf.gz?" in u]
    assert len(vcf) == 1
    query = urllib.parse.parse_qs(vcf[0].query)
    # SigV4 (SSE-KMS objects refuse SigV2 presigned GETs), for the object in the processed bucket.
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["600"]
    assert vcf[0].netloc.startswith(PROCESSED + ".") and vcf[0].path == "/processed/S_ok/abc.vcf.gz"
    # The caller's client is left as it was (the SigV4 choice applied only while publishing).
    later = s3.generate_presigned_url("get_object", Params={"Bucket": PROCESSED, "Key": key})
    assert "X-Amz-Algorithm" not in later
    # The reads report was recorded without a bucket: publish links it in the processed bucket.
    assert any("S_reads/multiqc_report.html" in u for u in page.links)


def test_dashboard_latest_jobs_and_reason_pure():
    jobs = [
        {"job_id": "a", "file_id": "f1", "updated_at": "2026-01-01T00:00:00Z", "run": 1},
        {"job_id": "b", "file_id": "f1", "updated_at": "2026-01-02T00:00:00Z", "run": 2},
        {"job_id": "c", "file_id": "f2", "updated_at": "2026-01-01T00:00:00Z", "run": 1},
    ]
    assert [j["job_id"] for j in latest_jobs(jobs)] == ["b", "c"]
    assert reason_of({"status": model.COMPLETED, "reason": "x"}) is None
    failing = {"status": model.QC_FAILED, "qc": {"reasons": ["a=1 warn (..)", "b=2 fail (..)"]}}
    assert reason_of(failing) == "b=2 fail (..)"
    assert reason_of({"status": model.FAILED, "error": "States.Timeout"}) == "States.Timeout"


def test_dashboard_unfinished_delivery_is_marked(ledger, populated):
    ledger.record_delivery(PROJECT, "acme", "d-2", {
        "at": "2026-11-21T10:00:00.000000Z", "status": "interrupted",
        "manifest_key": "partners/acme/cohort7/MANIFEST-d-2.json", "samples": [], "withheld": [],
    })
    page = Page(render_dashboard(ledger, PROJECT))
    assert page.deliveries[0][:2] == ["acme", "2026-11-21 10:00:00 UTC interrupted"]
    assert page.deliveries[1][1] == "2026-11-20 10:00:00 UTC"  # complete (recorded before status existed)


def test_dashboard_and_status_show_identity_findings(ledger):
    from genomics.status import job_row

    job_id, _ = _start(ledger, "S_swap", "aligned.bam", fmt="bam")
    for t in (model.PROCESSING, model.QC):
        ledger.transition(job_id, t, actor="metadata-updater")
    finding = {"code": "IDENTITY_MATCHES_OTHER_SAMPLE", "samples": ["S_swap", "S_other"],
               "message": "alignment of sample S_swap has the genotypes of sample(s) S_other"}
    _finish(ledger, job_id, model.COMPLETED, outputs={}, records=None, usd=0.01,
            qc={"verdict": "warn", "deciding_metric": "identity", "reasons": [finding["message"]],
                "identity": {"findings": [finding], "sex": "male"}})
    page = Page(render_dashboard(ledger, PROJECT))
    cell = page.row("S_swap")["cells"][4]
    assert "IDENTITY_MATCHES_OTHER_SAMPLE" in cell and "S_other" in cell and cell.startswith("warn identity")
    assert job_row(ledger.get_job(job_id))["identity_findings"] == [finding]
