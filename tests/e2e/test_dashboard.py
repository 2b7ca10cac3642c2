"""The Web UI on a deployed local stack: real uploads through the real pipeline, a delivery, then the
project dashboard published to the processed bucket, downloaded, its links followed, and rendered by
headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request

import boto3
import pytest

from genomics.dashboard import CONTENT_TYPE, publish_dashboard, render_dashboard
from genomics.delivery import deliver
from genomics.deployment import REPORTS_PREFIX
from genomics.ledger import Ledger, model
from genomics.local.demo import DEMO_SETTINGS, EUR_VCF, PROJECT, Upload, run_uploads, write_broken_vcf
from tests.localcloud import deployed, no_scans
from tests.unit.test_dashboard import Page

_scans: list[str] = []


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Deploy, upload a valid cohort VCF and the demo's invalid VCF, wait for both, deliver."""
    with no_scans("dash-no-scan", _scans), deployed("dash", DEMO_SETTINGS) as (cloud, stack):
        broken = write_broken_vcf(tmp_path_factory.mktemp("dash-inputs"))
        uploads = [Upload(EUR_VCF, "EUR_chr21", assay="cohort"), Upload(broken, "broken_upload")]
        rows = {r["sample_id"]: r for r in run_uploads(stack, uploads, timeout_s=300)}
        n = stack.names
        ledger = Ledger(n.table("metadata"), n.table("jobs"), n.table("qc"), client=boto3.client("dynamodb"))
        deliver(ledger, boto3.client("s3"), project=PROJECT, partner="acme",
                delivery_bucket=n.bucket("delivery"), processed_bucket=n.bucket("processed"), delivery_id="d-e2e")
        yield cloud, stack, ledger, rows


def test_e2e_dashboard_published_and_downloadable(site):
    _cloud, stack, ledger, rows = site
    assert rows["EUR_chr21"]["status"] == model.COMPLETED and rows["broken_upload"]["status"] == model.REJECTED
    s3 = boto3.client("s3")
    processed = stack.names.bucket("processed")
    key = publish_dashboard(ledger, s3, project=PROJECT, bucket=processed, expires_s=900)
    assert key == f"{REPORTS_PREFIX}/{PROJECT}/dashboard.html"
    obj = s3.get_object(Bucket=processed, Key=key)
    assert obj["ContentType"] == CONTENT_TYPE
    text = obj["Body"].read().decode("utf-8")
    page = Page(text)
    assert {r["cells"][0]: r["status"] for r in page.rows} == {"EUR_chr21": model.COMPLETED,
                                                               "broken_upload": model.REJECTED}
    eur = page.row("EUR_chr21")
    assert eur["job_id"] == rows["EUR_chr21"]["job_id"] and eur["cells"][2] == "vcf"
    assert eur["cells"][4].startswith("pass")
    r_in, r_out = (int(x.replace(",", "")) for x in eur["cells"][6].split(" → "))
    assert r_out == rows["EUR_chr21"]["qc"]["records"] and r_in >= 1
    assert eur["cells"][7].startswith("$") and float(eur["cells"][7][1:]) > 0
    assert eur["cells"][9] == "VCF TBI MultiQC"
    bad = page.row("broken_upload")
    assert bad["cells"][5] == rows["broken_upload"]["reason"] and "VCF_" in bad["cells"][5]
    assert bad["cells"][9] == "—"
    # Deliveries: EUR delivered, the rejected upload withheld.
    assert len(page.deliveries) == 1
    partner, _at, delivered, withheld, manifest = page.deliveries[0]
    assert partner == "acme" and delivered == "1: EUR_chr21" and withheld == "1: broken_upload"
    assert manifest.endswith(".json") and "acme" in manifest
    assert _scans == []


def test_e2e_dashboard_links_fetch_the_outputs(site):
    """The presigned links in the published page download the very objects the job recorded."""
    _cloud, stack, ledger, rows = site
    s3 = boto3.client("s3")
    processed = stack.names.bucket("processed")
    key = publish_dashboard(ledger, s3, project=PROJECT, bucket=processed)
    page = Page(s3.get_object(Bucket=processed, Key=key)["Body"].read().decode("utf-8"))
    outputs = rows["EUR_chr21"]["outputs"]
    assert len(page.links) == 3
    for attr in ("vcf_key", "index_key", "report_key"):
        url = next(u for u in page.links if outputs[attr] in urllib.request.unquote(u))
        with urllib.request.urlopen(url, timeout=30) as resp:
            body = resp.read()
        assert body == s3.get_object(Bucket=processed, Key=outputs[attr])["Body"].read(), attr
    assert _scans == []


def test_e2e_dashboard_renders_in_chromium(site, tmp_path):
    """Headless Chromium lays the page out (a screenshot is written); the page loads nothing external."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is required for this test: apt-get install -y chromium"
    _cloud, _stack, ledger, _rows = site
    page = tmp_path / "dash.html"
    page.write_text(render_dashboard(ledger, PROJECT), encoding="utf-8")
    png = tmp_path / "dash.png"
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--screenshot={png}",
         "--window-size=1400,900", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
