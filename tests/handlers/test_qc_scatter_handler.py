"""quality-metrics' scatter actions on moto: the plan finds or builds the BAM index, routes by the
cost-time model, writes the shards to S3; shards read only their byte ranges; gather publishes exactly
the single pass's samtools numbers, metrics and QC items (the workflow's Map runs the same calls)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from genomics import synth
from genomics.deployment import Settings
from genomics.qc import scatter_service
from tests.handlers.test_quality_metrics import PROCESSED, RAW, Ctx, _items, _upload, cloud
from tests.unit.test_qc_scatter import NOT_EXACT, _augment

# quality-metrics' moto stack (buckets, QC table, the function's environment), as its own tests use it.
FIXTURES = (cloud,)
SCATTER = Settings(stack="qct", single_budget_s=0, qc_shard_reads=1, distributed_map_min_shards=1000)


@pytest.fixture(scope="module")
def bams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("qcs")
    written = synth.write_reads(str(tmp / "clean.bam"), "bam", 6_000, synth.default_contigs(3, 200_000), seed=9)
    messy = tmp / "messy.bam"
    _augment(written["reads"], str(messy))
    unsorted = tmp / "unsorted.bam"
    subprocess.run(["samtools", "sort", "-n", "-o", str(unsorted), str(messy)], check=True)
    # a header contig without reads (WGS and panel targets cover it at depth 0)
    header = subprocess.run(["samtools", "view", "-H", str(messy)], check=True, capture_output=True, text=True).stdout
    lines = header.splitlines()
    last_sq = max(i for i, ln in enumerate(lines) if ln.startswith("@SQ"))
    lines.insert(last_sq + 1, "@SQ\tSN:chrEmpty\tLN:50000")
    (tmp / "empty.sam").write_text("\n".join(lines) + "\n")
    empty = tmp / "empty.bam"
    with open(empty, "wb") as fh:
        subprocess.run(["samtools", "reheader", str(tmp / "empty.sam"), str(messy)], check=True, stdout=fh)
    return {"messy": messy, "unsorted": unsorted, "empty_contig": empty}


def _event(cloud: dict[str, Any], path: Path, sample: str, key: str | None = None) -> dict[str, Any]:
    inp = _upload(cloud["s3"], RAW, key or f"P1/{sample}/reads.bam", path.read_bytes())
    inp["format"] = "bam"
    return {"job_id": f"job-{sample}", "project": "P1", "sample_id": sample, "assay": "wgs", "input": inp}


def _router(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("QC_ROUTER", scatter_service.router_env(settings))


def _run_scatter(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from handlers.quality_metrics import handler

    plan = handler({**event, "action": "plan"}, Ctx())
    assert plan["mode"] == "scatter", plan
    shards = plan["shards"]
    for item in shards:
        out = handler({**event, "action": "shard", "shard": item, "plan": plan}, Ctx())
        assert out["index"] == item["index"] and out["step"]["function"] == "quality-metrics"
    return plan, handler({**event, "action": "gather", "plan": plan}, Ctx())


def _raw(cloud: dict[str, Any], event: dict[str, Any], tool: str) -> str:
    key = f"reports/P1/{event['sample_id']}/{event['input']['sha256']}/raw/{tool}.txt"
    return cloud["s3"].get_object(Bucket=PROCESSED, Key=key)["Body"].read().decode()


def _comparable(text: str) -> list[str]:
    return [x for x in text.splitlines() if x and not x.startswith("#") and x.split("\t")[0] not in NOT_EXACT]


def test_qc_scatter_builds_the_index_and_gather_equals_single_pass(cloud, monkeypatch, bams):
    from handlers.quality_metrics import handler

    single_event = _event(cloud, bams["messy"], "SINGLE")
    single = handler(single_event, Ctx())
    _router(monkeypatch, SCATTER)
    event = _event(cloud, bams["messy"], "SCAT")
    plan, gathered = _run_scatter(event)
    assert plan["shard_count"] == 4 and plan["shards"][-1]["unplaced"] and not plan["distributed"]
    assert plan["route"]["mode"] == "scatter" and plan["index"]["key"] == "tmp/job-SCAT/qc/input.bai"
    assert gathered["summary"] == single["summary"] and gathered["verdict"] == single["verdict"]
    assert [s["index"] for s in gathered["shard_steps"]] == [0, 1, 2, 3]
    assert _comparable(_raw(cloud, event, "samtools_stats")) == _comparable(_raw(cloud, single_event, "samtools_stats"))
    assert _raw(cloud, event, "samtools_flagstat") == _raw(cloud, single_event, "samtools_flagstat")
    assert _raw(cloud, event, "samtools_idxstats") == _raw(cloud, single_event, "samtools_idxstats")
    scat, one = _items(cloud["ddb"], "SCAT"), _items(cloud["ddb"], "SINGLE")
    values = {k.split("#", 1)[1]: v.get("value") for k, v in scat.items()}
    expected = {k.split("#", 1)[1]: v.get("value") for k, v in one.items()}
    values.pop("record_warnings", None)
    # mosdepth's target coverage too: per shard over its contigs, merged exactly
    assert {"pct_target_10x", "target_bases", "target_mean_depth"} <= set(expected)
    assert values == expected
    assert gathered["verdict"] == single["verdict"]


def test_qc_scatter_uses_the_index_uploaded_beside_the_bam_and_reads_only_ranges(cloud, monkeypatch, bams, tmp_path):
    subprocess.run(["samtools", "index", "-o", str(tmp_path / "x.bai"), str(bams["messy"])], check=True)
    _router(monkeypatch, SCATTER)
    event = _event(cloud, bams["messy"], "IDX")
    cloud["s3"].put_object(Bucket=RAW, Key="P1/IDX/reads.bam.bai", Body=(tmp_path / "x.bai").read_bytes())
    plan, gathered = _run_scatter(event)
    assert gathered["mode"] == "scatter"
    docs = [json.loads(cloud["s3"].get_object(Bucket=PROCESSED, Key=scatter_service.shard_key("job-IDX", i))
                       ["Body"].read()) for i in range(plan["shard_count"])]
    size = event["input"]["size"]
    for d, s in zip(docs, plan["shards"], strict=True):
        assert d["bytes_fetched"] == sum(b - a for a, b in s["ranges"]) and d["validation"]["errors"] == 0
    assert max(d["bytes_fetched"] for d in docs) < size


def test_qc_scatter_many_shards_go_through_the_distributed_map_items(cloud, monkeypatch, bams):
    _router(monkeypatch, Settings(stack="qct", single_budget_s=0, qc_shard_reads=1, distributed_map_min_shards=2))
    from handlers.quality_metrics import handler

    event = _event(cloud, bams["messy"], "DIST")
    plan = handler({**event, "action": "plan"}, Ctx())
    assert plan["mode"] == "scatter" and plan["distributed"] and plan["shards"] == []
    items = json.loads(cloud["s3"].get_object(Bucket=plan["items"]["bucket"], Key=plan["items"]["key"])["Body"].read())
    assert [i["index"] for i in items] == [0, 1, 2, 3]


def test_qc_scatter_unsorted_bam_is_not_scattered_whatever_its_header_says(cloud, monkeypatch, bams):
    from handlers.quality_metrics import handler

    _router(monkeypatch, SCATTER)
    event = _event(cloud, bams["unsorted"], "UNS")
    plan = handler({**event, "action": "plan"}, Ctx())
    assert plan["mode"] == "single" and plan["unsorted_or_unindexed"]
    _router(monkeypatch, Settings(stack="qct", fargate_threshold_bytes=1000))
    assert handler({**event, "action": "plan"}, Ctx())["mode"] == "single"  # Fargate off on this stack
    _router(monkeypatch, Settings(stack="qct", fargate=True, fargate_threshold_bytes=1000))
    assert handler({**event, "action": "plan"}, Ctx())["mode"] == "fargate"


def test_qc_scatter_gather_fails_with_the_shards_record_errors(cloud, monkeypatch, bams):
    from handlers.quality_metrics import handler

    _router(monkeypatch, SCATTER)
    event = _event(cloud, bams["messy"], "BAD")
    plan = handler({**event, "action": "plan"}, Ctx())
    for item in plan["shards"]:
        handler({**event, "action": "shard", "shard": item, "plan": plan}, Ctx())
    key = scatter_service.shard_key("job-BAD", 1)
    doc = json.loads(cloud["s3"].get_object(Bucket=PROCESSED, Key=key)["Body"].read())
    doc["validation"] = {"errors": 2, "warnings": 0, "first_errors": ["SAM_CIGAR_INVALID: bad [record 7]"]}
    cloud["s3"].put_object(Bucket=PROCESSED, Key=key, Body=json.dumps(doc).encode())
    with pytest.raises(scatter_service.RecordsInvalid, match=r"QC_RECORDS_INVALID: 2 record errors.*SAM_CIGAR"):
        handler({**event, "action": "gather", "plan": plan}, Ctx())


def _coverage_items(cloud: dict[str, Any], sample: str) -> dict[str, Any]:
    items = {k.split("#", 1)[1]: v.get("value") for k, v in _items(cloud["ddb"], sample).items()}
    return {k: v for k, v in items.items() if k.startswith(("pct_target_", "target_"))}


@pytest.mark.parametrize("assay", ["wgs", "panel"])
def test_qc_scatter_coverage_equals_single_pass_with_an_empty_contig(cloud, monkeypatch, bams, assay):
    from handlers.quality_metrics import handler

    if assay == "panel":  # intervals on two of the four contigs (one without reads); chr2's shard has none
        cloud["s3"].create_bucket(Bucket="targets")
        cloud["s3"].put_object(Bucket="targets", Key="beds/panel.bed",
                               Body=b"chr1\t1000\t60000\nchr3\t5000\t9000\nchr3\t100000\t150000\n"
                                    b"chrEmpty\t0\t2000\n")
        monkeypatch.setenv("COVERAGE_TARGETS_URI", "s3://targets/beds/")
    single_event = _event(cloud, bams["empty_contig"], f"S{assay}")
    single_event["assay"] = assay
    single = handler(single_event, Ctx())
    _router(monkeypatch, SCATTER)
    event = {**_event(cloud, bams["empty_contig"], f"C{assay}"), "assay": assay}
    plan, gathered = _run_scatter(event)
    assert plan["coverage"]["key"] == f"tmp/job-C{assay}/qc/targets.bed"
    assert any("chrEmpty" in s["contigs"] for s in plan["shards"])
    expected = _coverage_items(cloud, f"S{assay}")
    assert expected["target_bases"] == {"N": "115000" if assay == "panel" else "650000"}
    assert _coverage_items(cloud, f"C{assay}") == expected
    assert gathered["verdict"] == single["verdict"] and gathered["summary"] == single["summary"]
    notes = gathered["notes"]
    assert any("shards" in n for n in notes) and not any("mosdepth" in n for n in notes), notes
    assert (_raw(cloud, event, "mosdepth_summary").splitlines()[-1]
            == _raw(cloud, single_event, "mosdepth_summary").splitlines()[-1])  # the total_region row
