"""quality-metrics' scatter actions for a CRAM on moto: the plan finds the ``.crai`` beside the upload (or
builds it), groups contigs by container bytes and routes to a Lambda scatter; each shard reads a sparse
copy of its containers and of its contigs' reference; gather publishes exactly the single pass's numbers
(samtools stats, flagstat, idxstats, the metrics and QC items, mosdepth coverage)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from genomics import synth
from genomics.qc import scatter_service
from tests.handlers.test_qc_scatter_handler import SCATTER, _comparable, _raw, _router, _run_scatter
from tests.handlers.test_quality_metrics import PROCESSED, RAW, Ctx, _items, _upload, cloud
from tests.unit.test_qc_scatter import _augment

FIXTURES = (cloud,)


@pytest.fixture(scope="module")
def crams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A messy synthetic CRAM on 3 contigs (small slices: several containers per contig), its .crai and
    reference, and the same reads sorted by name (unsorted for coordinates)."""
    tmp = tmp_path_factory.mktemp("qcc")
    written = synth.write_reads(str(tmp / "clean.bam"), "bam", 6_000, synth.default_contigs(3, 200_000), seed=9)
    bam = tmp / "messy.bam"
    _augment(written["reads"], str(bam))
    ref = written["reference"]
    cram = tmp / "messy.cram"
    subprocess.run(["samtools", "view", "-C", "-T", ref, "--output-fmt-option", "seqs_per_slice=1000", "-o",
                    str(cram), str(bam)], check=True, capture_output=True)
    subprocess.run(["samtools", "index", str(cram)], check=True, capture_output=True)
    unsorted = tmp / "unsorted.cram"
    subprocess.run(["samtools", "sort", "-n", "-O", "cram", "--reference", ref, "-o", str(unsorted), str(cram)],
                   check=True, capture_output=True)
    # the same CRAM whose @SQ lines do not name the FASTA it was written with (UR:), as on a Lambda
    no_ur = tmp / "no-ur.cram"
    no_ur.write_bytes(cram.read_bytes())
    header = subprocess.run(["samtools", "view", "-H", str(cram)], check=True, capture_output=True, text=True).stdout
    (tmp / "no-ur.sam").write_text(re.sub(r"\tUR:[^\t\n]*", "", header))
    subprocess.run(["samtools", "reheader", "-i", str(tmp / "no-ur.sam"), str(no_ur)], check=True, capture_output=True)
    return {"cram": cram, "crai": Path(f"{cram}.crai"), "reference": Path(ref), "unsorted": unsorted, "no_ur": no_ur}


def _reference(cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch, crams: dict[str, Path]) -> None:
    cloud["s3"].create_bucket(Bucket="refs")
    for suffix in ("", ".fai"):
        cloud["s3"].put_object(Bucket="refs", Key=f"g/ref.fa{suffix}",
                               Body=Path(f"{crams['reference']}{suffix}").read_bytes())
    monkeypatch.setenv("REFERENCE_URI", "s3://refs/g/ref.fa")


def _event(cloud: dict[str, Any], path: Path, sample: str) -> dict[str, Any]:
    inp = _upload(cloud["s3"], RAW, f"P1/{sample}/reads.cram", path.read_bytes())
    inp["format"] = "cram"
    return {"job_id": f"job-{sample}", "project": "P1", "sample_id": sample, "assay": "wgs", "input": inp}


@pytest.mark.parametrize("uploaded_index", [True, False])
def test_qc_cram_scatter_gather_equals_single_pass(cloud, monkeypatch, crams, uploaded_index):
    from handlers.quality_metrics import handler

    _reference(cloud, monkeypatch, crams)
    tag = "U" if uploaded_index else "B"
    single_event = _event(cloud, crams["cram"], f"ONE{tag}")
    cloud["s3"].put_object(Bucket=RAW, Key=f"P1/ONE{tag}/reads.cram.crai", Body=crams["crai"].read_bytes())
    single = handler(single_event, Ctx())
    _router(monkeypatch, SCATTER)
    event = _event(cloud, crams["cram"], f"SC{tag}")
    if uploaded_index:
        cloud["s3"].put_object(Bucket=RAW, Key=f"P1/SC{tag}/reads.crai", Body=crams["crai"].read_bytes())
    plan, gathered = _run_scatter(event)
    assert plan["shard_count"] == 4 and plan["shards"][-1]["unplaced"] and plan["idxstats"] is None
    assert plan["index"]["key"] == f"tmp/job-SC{tag}/qc/input.crai" and plan["route"]["mode"] == "scatter"
    assert gathered["summary"] == single["summary"] and gathered["verdict"] == single["verdict"]
    assert _comparable(_raw(cloud, event, "samtools_stats")) == _comparable(_raw(cloud, single_event,
                                                                                   "samtools_stats"))
    for tool in ("samtools_flagstat", "samtools_idxstats"):
        assert _raw(cloud, event, tool) == _raw(cloud, single_event, tool), tool
    values = {k.split("#", 1)[1]: v.get("value") for k, v in _items(cloud["ddb"], f"SC{tag}").items()}
    expected = {k.split("#", 1)[1]: v.get("value") for k, v in _items(cloud["ddb"], f"ONE{tag}").items()}
    values.pop("record_warnings", None)
    assert {"pct_target_10x", "target_bases", "mean_coverage"} <= set(expected)
    assert values == expected
    docs = [json.loads(cloud["s3"].get_object(Bucket=PROCESSED, Key=scatter_service.shard_key(f"job-SC{tag}", i))
                       ["Body"].read()) for i in range(plan["shard_count"])]
    for d, s in zip(docs, plan["shards"], strict=True):
        assert d["bytes_fetched"] == sum(b - a for a, b in s["ranges"]) and d["validation"]["errors"] == 0
    assert max(d["bytes_fetched"] for d in docs) < event["input"]["size"] / 2


def test_qc_cram_unsorted_is_not_scattered(cloud, monkeypatch, crams):
    from handlers.quality_metrics import handler

    _reference(cloud, monkeypatch, crams)
    _router(monkeypatch, SCATTER)
    event = _event(cloud, crams["unsorted"], "UNS")
    plan = handler({**event, "action": "plan"}, Ctx())
    assert plan["mode"] == "single" and plan["unsorted_or_unindexed"]


def test_qc_cram_shard_without_a_reference_fails_with_the_coded_error(cloud, monkeypatch, crams):
    from genomics.qc.metrics import QcInputError
    from handlers.quality_metrics import handler

    monkeypatch.delenv("REFERENCE_URI", raising=False)
    _router(monkeypatch, SCATTER)
    event = _event(cloud, crams["no_ur"], "NOREF")
    plan = handler({**event, "action": "plan"}, Ctx())
    assert plan["mode"] == "scatter"
    with pytest.raises(QcInputError, match=r"QC_CRAM_REFERENCE: shard 0: .*reference"):
        handler({**event, "action": "shard", "shard": plan["shards"][0], "plan": plan}, Ctx())


def test_qc_cram_many_shards_go_through_the_distributed_map_items(cloud, monkeypatch, crams):
    from genomics.deployment import Settings
    from handlers.quality_metrics import handler

    _reference(cloud, monkeypatch, crams)
    _router(monkeypatch, Settings(stack="qct", single_budget_s=0, qc_shard_reads=1, distributed_map_min_shards=2))
    event = _event(cloud, crams["cram"], "DIST")
    plan = handler({**event, "action": "plan"}, Ctx())
    assert plan["mode"] == "scatter" and plan["distributed"] and plan["shards"] == []
    items = json.loads(cloud["s3"].get_object(Bucket=plan["items"]["bucket"], Key=plan["items"]["key"])["Body"].read())
    assert [i["index"] for i in items] == [0, 1, 2, 3] and {i["format"] for i in items} == {"cram"}
    assert items[-1]["unplaced"] and [n for i in items for n in i["contigs"]] == ["chr1", "chr2", "chr3"]
