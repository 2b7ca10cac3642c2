"""Sample identity on scattered alignment QC (plan, shards, gather through the handler on moto), on real
1000 Genomes genotypes: the swapped BAM is flagged exactly as single-pass QC flags it, with the same
fingerprint; each shard reads only its contigs' part of the reference."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from genomics.deployment import Settings
from genomics.identity import fingerprint as fp
from genomics.qc import scatter_service
from tests.handlers.test_identity_qc import _bam_event, _vcf_event, files, stack  # noqa: F401
from tests.handlers.test_quality_metrics import PROCESSED, TABLE, Ctx, cloud  # noqa: F401
from tests.unit import identity_data as data

pytestmark = pytest.mark.skipif(not data.EUR.exists(), reason="needs Debian bio-eagle-examples")
SCATTER = Settings(stack="qct", single_budget_s=0, qc_shard_reads=1, distributed_map_min_shards=1000)


def _fingerprint(ddb: Any, sample: str, sha256: str) -> dict[str, Any]:
    key = {"sample_id": {"S": sample}, "metric_key": {"S": f"{sha256[:16]}#_fingerprint"}}
    return ddb.get_item(TableName=TABLE, Key=key)["Item"]


def _scatter(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from handlers.quality_metrics import handler

    plan = handler({**event, "action": "plan"}, Ctx())
    assert plan["mode"] == "scatter", plan
    for item in plan["shards"]:
        handler({**event, "action": "shard", "shard": item, "plan": plan}, Ctx())
    return plan, handler({**event, "action": "gather", "plan": plan}, Ctx())


def test_identity_scattered_swap_is_flagged_like_single_pass(stack, files, monkeypatch):  # noqa: F811
    from handlers.quality_metrics import handler

    s3, ddb = stack["s3"], stack["ddb"]
    handler(_vcf_event(s3, "A", files["A"], sex="female"), Ctx())
    handler(_vcf_event(s3, "B", files["B"], sex="female"), Ctx())
    # the single pass of A's BAM (B's reads) in another project: its fingerprint, sex and coverage
    single_event = _bam_event(s3, "A", files["bam_A"])
    single = handler({**single_event, "project": "Q", "sample_id": "A1", "job_id": "job-single"}, Ctx())
    assert single["identity"]["findings"] == []  # nothing else in project Q
    monkeypatch.setenv("QC_ROUTER", scatter_service.router_env(SCATTER))
    plan, scattered = _scatter(_bam_event(s3, "A", files["bam_A"]))
    assert sorted(c for s in plan["shards"] for c in s["contigs"]) == ["21", "X"]
    codes = {f["code"]: f["samples"] for f in scattered["identity"]["findings"]}
    assert codes == {"IDENTITY_MATCHES_OTHER_SAMPLE": ["A", "B"], "IDENTITY_SAME_SAMPLE_MISMATCH": ["A"]}
    assert scattered["verdict"] in ("warn", "fail") and any(r.startswith("IDENTITY_") for r in scattered["reasons"])
    sha = single_event["input"]["sha256"]
    one, many = _fingerprint(ddb, "A1", sha), _fingerprint(ddb, "A", sha)
    assert fp.decode(many["codes"]["S"]) == fp.decode(one["codes"]["S"])
    assert sum(c != "." for c in fp.decode(many["codes"]["S"])) > 100  # sites called on both contigs
    assert many["kind"]["S"] == "alignment" and many.get("sex") == one.get("sex")
    keep = ("sex", "sex_from", "x_sites", "x_het", "y_x_density", "sites_called", "panel_sites")
    assert {k: scattered["identity"][k] for k in keep} == {k: single["identity"][k] for k in keep}
    assert scattered["summary"] == single["summary"]
    assert not any(n.startswith("identity:") for n in scattered.get("notes", []))
    # every shard holding a contig called its sites (on a sparse copy of the BGZF reference: .fai + .gzi)
    docs = [json.loads(s3.get_object(Bucket=PROCESSED, Key=scatter_service.shard_key("job-A-bam", s["index"]))
                       ["Body"].read()) for s in plan["shards"] if s["contigs"]]
    assert len(docs) == 2 and all("codes" in d["fingerprint"] for d in docs)


def test_identity_scattered_without_reference_says_why(stack, files, monkeypatch):  # noqa: F811
    s3 = stack["s3"]
    monkeypatch.delenv("REFERENCE_URI")
    monkeypatch.setenv("QC_ROUTER", scatter_service.router_env(SCATTER))
    event = _bam_event(s3, "N", files["bam_A"])
    event["input"]["sha256"] = hashlib.sha256(b"N" + Path(files["bam_A"]).read_bytes()).hexdigest()
    _plan, gathered = _scatter(event)
    assert "identity" not in gathered
    assert any(n.startswith("identity: not checked") and "no reference" in n for n in gathered["notes"])


def test_identity_scattered_cram_uses_its_shard_reference(stack, files, monkeypatch, tmp_path):  # noqa: F811
    """The swapped alignment as a CRAM: each shard decodes with its sparse reference and calls the panel's
    sites with the same one; the findings and the fingerprint equal the BAM's."""
    import subprocess

    from handlers.quality_metrics import handler

    s3, ddb = stack["s3"], stack["ddb"]
    handler(_vcf_event(s3, "A", files["A"], sex="female"), Ctx())
    handler(_vcf_event(s3, "B", files["B"], sex="female"), Ctx())
    cram = tmp_path / "a.cram"
    subprocess.run(["samtools", "view", "-C", "-T", str(files["ref"]), "-o", str(cram), str(files["bam_A"])],
                   check=True)
    subprocess.run(["samtools", "index", str(cram)], check=True)
    monkeypatch.setenv("QC_ROUTER", scatter_service.router_env(SCATTER))
    event = _bam_event(s3, "A", cram)
    event["input"]["format"] = "cram"
    s3.put_object(Bucket=event["input"]["bucket"], Key=event["input"]["key"] + ".crai",
                  Body=Path(f"{cram}.crai").read_bytes())
    plan, scattered = _scatter(event)
    assert sorted(c for s in plan["shards"] for c in s["contigs"]) == ["21", "X"]
    codes = {f["code"]: f["samples"] for f in scattered["identity"]["findings"]}
    assert codes == {"IDENTITY_MATCHES_OTHER_SAMPLE": ["A", "B"], "IDENTITY_SAME_SAMPLE_MISMATCH": ["A"]}
    bam_single = handler({**_bam_event(s3, "A", files["bam_A"]), "project": "Q", "sample_id": "A1",
                          "job_id": "job-single"}, Ctx())
    assert bam_single["identity"]["sex"] == scattered["identity"]["sex"]
    sha_bam = hashlib.sha256(Path(files["bam_A"]).read_bytes()).hexdigest()
    assert (fp.decode(_fingerprint(ddb, "A", event["input"]["sha256"])["codes"]["S"])
            == fp.decode(_fingerprint(ddb, "A1", sha_bam)["codes"]["S"]))
