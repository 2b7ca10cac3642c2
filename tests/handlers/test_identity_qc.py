"""quality-metrics on moto with a sample-identity panel and a reference: real 1000 Genomes genotypes
uploaded as a project's VCFs and BAMs. A duplicate under another id, swapped alignments and a declared
sex that disagrees are flagged (result, qc.json, QC table, report); coverage comes from mosdepth."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from genomics.identity import fingerprint as fp
from tests.handlers.test_quality_metrics import PROCESSED, RAW, TABLE, Ctx, _items, cloud  # noqa: F401
from tests.unit import identity_data as data

pytestmark = pytest.mark.skipif(not data.EUR.exists(), reason="needs Debian bio-eagle-examples")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("idqc")
    source = data.source_vcf(tmp)
    panel = Path(fp.build_panel(str(source), str(tmp / "panel.vcf.gz")))
    sites = [(s.chrom, s.pos, s.ref, s.alt) for s in fp.load_panel(str(panel)).sites]
    ref = data.reference(tmp, sites)
    a = data.sample_vcf(tmp, source, "1_HG00096", "A")
    b = data.sample_vcf(tmp, source, "2_HG00097", "B", male=True)
    c = data.sample_vcf(tmp, source, "1_HG00096", "C")
    # swapped: A's BAM holds B's reads
    bam_a = data.alignment(tmp, "A", b, ref, sites, seed=3)
    return {"panel": panel, "ref": ref, "A": a, "B": b, "C": c, "bam_A": bam_a}


def _put(s3: Any, bucket: str, key: str, path: Path) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


@pytest.fixture
def stack(cloud, files, monkeypatch):  # noqa: F811
    s3 = cloud["s3"]
    _put(s3, PROCESSED, "references/identity/panel.vcf.gz", files["panel"])
    _put(s3, PROCESSED, "references/identity/panel.vcf.gz.tbi", Path(str(files["panel"]) + ".tbi"))
    _put(s3, PROCESSED, "references/GRCh37.fa.gz", files["ref"])
    for ext in (".fai", ".gzi"):
        _put(s3, PROCESSED, f"references/GRCh37.fa.gz{ext}", Path(str(files["ref"]) + ext))
    monkeypatch.setenv("IDENTITY_PANEL_URI", f"s3://{PROCESSED}/references/identity/panel.vcf.gz")
    monkeypatch.setenv("IDENTITY_PANEL_ASSEMBLY", "GRCh37")
    monkeypatch.setenv("REFERENCE_URI", f"s3://{PROCESSED}/references/GRCh37.fa.gz")
    return cloud


def _vcf_event(s3: Any, sample: str, path: Path, sex: str | None = None) -> dict[str, Any]:
    body = path.read_bytes()
    sha = hashlib.sha256(body).hexdigest()
    s3.put_object(Bucket=RAW, Key=f"P/{sample}/in.vcf.gz", Body=body)
    key = f"processed/P/{sample}/{sha}/out.vcf.gz"
    s3.put_object(Bucket=PROCESSED, Key=key, Body=body)
    inp = {"bucket": RAW, "key": f"P/{sample}/in.vcf.gz", "sha256": sha, "size": len(body), "format": "vcf",
           **({"sex": sex} if sex else {})}
    return {"job_id": f"job-{sample}-vcf", "project": "P", "sample_id": sample, "assay": "wgs", "input": inp,
            "processed": {"bucket": PROCESSED, "vcf_key": key}}


def _bam_event(s3: Any, sample: str, path: Path) -> dict[str, Any]:
    body = path.read_bytes()
    sha = hashlib.sha256(body).hexdigest()
    s3.put_object(Bucket=RAW, Key=f"P/{sample}/in.bam", Body=body)
    return {"job_id": f"job-{sample}-bam", "project": "P", "sample_id": sample, "assay": "wgs",
            "input": {"bucket": RAW, "key": f"P/{sample}/in.bam", "sha256": sha, "size": len(body), "format": "bam",
                      "assembly": "GRCh37"},
            "processed": {"skipped": True}}


def test_identity_duplicate_swap_and_sex_through_the_handler(stack, files):
    from handlers.quality_metrics import handler

    s3 = stack["s3"]
    first = handler(_vcf_event(s3, "A", files["A"], sex="female"), Ctx())
    assert first["identity"]["findings"] == [] and first["identity"]["sex"] == "female"
    # B declared female, but its X is hemizygous
    second = handler(_vcf_event(s3, "B", files["B"], sex="female"), Ctx())
    assert [f["code"] for f in second["identity"]["findings"]] == ["IDENTITY_SEX_MISMATCH"]
    # C is A's genotypes under another id
    dup = handler(_vcf_event(s3, "C", files["C"]), Ctx())
    assert [(f["code"], f["samples"]) for f in dup["identity"]["findings"]] == [
        ("IDENTITY_MATCHES_OTHER_SAMPLE", ["C", "A"])]
    assert any(r.startswith("IDENTITY_MATCHES_OTHER_SAMPLE") for r in dup["reasons"])
    # A's BAM holds B's reads: matches B, and not A's own VCF
    swap = handler(_bam_event(s3, "A", files["bam_A"]), Ctx())
    assert "identity" in swap, swap.get("notes")
    codes = {f["code"]: f["samples"] for f in swap["identity"]["findings"]}
    assert codes == {"IDENTITY_MATCHES_OTHER_SAMPLE": ["A", "B"], "IDENTITY_SAME_SAMPLE_MISMATCH": ["A"]}
    assert swap["verdict"] in ("warn", "fail")
    # coverage from mosdepth over the WGS target (the reference minus its N runs)
    assert swap["summary"].get("reads", 0) > 0
    items = _items(stack["ddb"], "A")
    names = {k.split("#", 1)[1] for k in items}
    assert {"target_mean_depth", "pct_target_10x", "pct_target_20x", "_fingerprint"} <= names
    # the fingerprints are in the QC table, one per file, found through the sparse project index
    found = stack["ddb"].query(TableName=TABLE, IndexName="by-project-fingerprint",
                               KeyConditionExpression="gsi_fingerprint = :p",
                               ExpressionAttributeValues={":p": {"S": "P"}})["Items"]
    assert sorted((i["sample_id"]["S"], i["kind"]["S"]) for i in found) == [
        ("A", "alignment"), ("A", "vcf"), ("B", "vcf"), ("C", "vcf")]
    # the report shows the findings
    html = s3.get_object(Bucket=PROCESSED, Key=swap["report_key"])["Body"].read().decode()
    assert "IDENTITY_SAME_SAMPLE_MISMATCH" in html and "mosdepth" in html.lower()
