"""quality-metrics handler on moto: metrics items, sparse failing-metric index, report and raw outputs
in the processed bucket, idempotent re-runs, cohort report, TransientError on throttling."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from genomics import deployment
from genomics.corpus import CORPUS
from genomics.deployment import TABLES, Names, Settings
from genomics.qc.service import QcNoResults, TransientError, cohort_report
from tests.faults import inject

ORACLES = CORPUS / "qc_oracles"
NAMES = Names("qct", "123456789012", "us-east-1")
TABLE = NAMES.table("qc")
RAW = NAMES.bucket("raw")
PROCESSED = NAMES.bucket("processed")


def _create_qc_table(ddb: Any) -> None:
    spec = TABLES["qc"]
    keys = [{"AttributeName": spec.hash_key, "KeyType": "HASH"},
            {"AttributeName": spec.range_key, "KeyType": "RANGE"}]
    gsis = [{"IndexName": i.name,
             "KeySchema": [{"AttributeName": i.hash_key, "KeyType": "HASH"},
                           {"AttributeName": i.range_key, "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": i.projection}} for i in spec.indexes]
    ddb.create_table(TableName=TABLE, KeySchema=keys, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in spec.attributes()],
                     GlobalSecondaryIndexes=gsis)


@pytest.fixture
def cloud(aws_env, monkeypatch) -> Iterator[dict[str, Any]]:
    env = deployment.environment("quality-metrics", NAMES, Settings(stack="qct"))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        s3 = boto3.client("s3")
        for b in (RAW, PROCESSED):
            s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
        ddb = boto3.client("dynamodb")
        _create_qc_table(ddb)
        yield {"s3": s3, "ddb": ddb}


class Ctx:
    """The Lambda context attributes the handler and Powertools read."""

    memory_limit_in_mb = 3008
    function_name = "genomics-hnd-quality-metrics"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:genomics-hnd-quality-metrics"
    aws_request_id = "req-qc"
    function_version = "$LATEST"
    log_group_name = "/aws/lambda/genomics-hnd-quality-metrics"
    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _upload(s3: Any, bucket: str, key: str, data: bytes) -> dict[str, Any]:
    resp = s3.put_object(Bucket=bucket, Key=key, Body=data)
    return {"bucket": bucket, "key": key, "version_id": resp.get("VersionId"),
            "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _bgzip(tmp: Path, name: str) -> bytes:
    shutil.copy(ORACLES / "bcftools_stats" / name, tmp / name)
    subprocess.run(["bgzip", "-f", str(tmp / name)], check=True)
    return (tmp / f"{name}.gz").read_bytes()


def _vcf_event(cloud: dict[str, Any], tmp: Path, sample: str = "S1", project: str = "P1") -> dict[str, Any]:
    raw = (ORACLES / "bcftools_stats/stats.counts.vcf").read_bytes()
    inp = _upload(cloud["s3"], RAW, f"{project}/{sample}/in.vcf", raw)
    inp["format"] = "vcf"
    gz = _bgzip(tmp, "stats.counts.vcf")
    key = f"processed/{project}/{sample}/{inp['sha256']}/out.vcf.gz"
    cloud["s3"].put_object(Bucket=PROCESSED, Key=key, Body=gz)
    return {"job_id": f"job-{sample}", "project": project, "sample_id": sample, "assay": "wgs",
            "input": inp, "processed": {"bucket": PROCESSED, "vcf_key": key}}


def _items(ddb: Any, sample: str) -> dict[str, dict[str, Any]]:
    resp = ddb.query(TableName=TABLE, KeyConditionExpression="sample_id = :s",
                     ExpressionAttributeValues={":s": {"S": sample}})
    return {it["metric_key"]["S"]: it for it in resp["Items"]}


def test_quality_metrics_vcf_stores_metrics_report_and_raw(cloud, tmp_path):
    from handlers.quality_metrics import handler

    event = _vcf_event(cloud, tmp_path)
    out = handler(event, Ctx())
    # WGS thresholds: 7 SNPs < 1000 -> Ts/Tv not evaluated; 4 het + 6 hom-alt < 100 -> het/hom not
    # evaluated; missing 2 of 36 genotypes = 0.0556 > 0.05 (warn band) -> fail; no FORMAT/DP -> depth n/a.
    assert out["verdict"] == "fail"
    assert out["deciding_metric"] == "missing_rate"
    assert any("ts_tv not evaluated" in r for r in out["reasons"])
    assert any("het_hom_ratio not evaluated" in r for r in out["reasons"])
    assert any("mean_depth not evaluated" in r for r in out["reasons"])
    assert out["summary"]["records"] == 12 and out["summary"]["snps"] == 7 and out["summary"]["indels"] == 1
    assert out["summary"]["ts_tv"] == 1.0
    assert out["step"]["function"] == "quality-metrics" and out["step"]["memory_limit_mb"] == 3008
    sha = event["input"]["sha256"]
    assert out["report_key"] == f"reports/P1/S1/{sha}/multiqc_report.html"
    s3 = cloud["s3"]
    html = s3.get_object(Bucket=PROCESSED, Key=out["report_key"])["Body"].read().decode()
    assert "bcftools" in html.lower() and "QC gate" in html
    raw = s3.get_object(Bucket=PROCESSED, Key=f"reports/P1/S1/{sha}/raw/bcftools_stats.txt")["Body"].read()
    assert b"number of records:\t12" in raw

    items = _items(cloud["ddb"], "S1")
    p = sha[:16]
    assert items[f"{p}#records"]["value"] == {"N": "12"}
    assert items[f"{p}#ts_tv"]["verdict"] == {"S": "not_evaluated"}
    assert items[f"{p}#missing_rate"]["gsi_fail"] == {"S": "P1#missing_rate"}
    assert items[f"{p}#missing_rate"]["job_id"] == {"S": "job-S1"}
    assert "gsi_fail" not in items[f"{p}#records"]
    summary = items[f"{p}#_summary"]
    assert summary["verdict"] == {"S": "fail"} and summary["deciding_metric"] == {"S": "missing_rate"}
    assert summary["report_key"] == {"S": out["report_key"]}

    failing = cloud["ddb"].query(TableName=TABLE, IndexName="by-failing-metric",
                                 KeyConditionExpression="gsi_fail = :g",
                                 ExpressionAttributeValues={":g": {"S": "P1#missing_rate"}})["Items"]
    assert [i["sample_id"]["S"] for i in failing] == ["S1"]


def test_quality_metrics_rerun_is_idempotent_and_thresholds_apply(cloud, tmp_path, monkeypatch):
    from handlers.quality_metrics import handler

    event = _vcf_event(cloud, tmp_path)
    handler(event, Ctx())
    before = _items(cloud["ddb"], "S1")
    # A stack that tolerates 10 % missing genotypes: the same content now passes; items are replaced.
    monkeypatch.setenv("QC_THRESHOLDS", json.dumps({"wgs": {"missing_rate": {"warn": [None, 0.1],
                                                                                "pass": [None, 0.1]}}}))
    out = handler(event, Ctx())
    after = _items(cloud["ddb"], "S1")
    assert set(after) == set(before)
    assert out["verdict"] == "pass"
    p = event["input"]["sha256"][:16]
    assert "gsi_fail" not in after[f"{p}#missing_rate"]
    assert cloud["ddb"].query(TableName=TABLE, IndexName="by-failing-metric",
                              KeyConditionExpression="gsi_fail = :g",
                              ExpressionAttributeValues={":g": {"S": "P1#missing_rate"}})["Count"] == 0


def test_quality_metrics_bam_raw_object(cloud):
    from handlers.quality_metrics import handler

    data = (CORPUS / "bam/passed/level-1.bam").read_bytes()
    inp = _upload(cloud["s3"], RAW, "P1/B1/reads.bam", data)
    inp["format"] = "bam"
    event = {"job_id": "job-B1", "project": "P1", "sample_id": "B1", "assay": "wgs", "input": inp,
             "processed": {"skipped": True}}
    out = handler(event, Ctx())
    assert out["summary"]["reads"] == 20000
    assert out["summary"]["pct_mapped"] == pytest.approx(100 * 18822 / 20000, abs=1e-3)
    assert out["verdict"] == "fail"  # 44 % properly paired, far below the WGS warn band
    items = _items(cloud["ddb"], "B1")
    p = inp["sha256"][:16]
    assert items[f"{p}#pct_properly_paired"]["gsi_fail"] == {"S": "P1#pct_properly_paired"}
    prefix = f"reports/P1/B1/{inp['sha256']}/raw/"
    keys = {o["Key"] for o in cloud["s3"].list_objects_v2(Bucket=PROCESSED, Prefix=prefix)["Contents"]}
    assert keys == {prefix + f"{t}.txt" for t in ("samtools_stats", "samtools_flagstat", "samtools_idxstats",
                                                   "mosdepth_summary", "mosdepth_global_dist",
                                                   "mosdepth_region_dist")}
    # coverage (mosdepth) over the WGS target: no reference configured, so the header's whole contigs
    assert items[f"{p}#target_bases"]["value"]["N"] != "0"
    assert items[f"{p}#pct_target_10x"]["verdict"]["S"] in ("pass", "warn", "fail")


def test_quality_metrics_bam_streamed_without_scratch(cloud):
    from genomics.qc.service import run_quality_metrics

    data = (CORPUS / "bam/passed/level-1.bam").read_bytes()
    inp = _upload(cloud["s3"], RAW, "P1/B2/reads.bam", data)
    inp["format"] = "bam"
    event = {"job_id": "job-B2", "project": "P1", "sample_id": "B2", "assay": "wgs", "input": inp,
             "processed": {"skipped": True}}
    out = run_quality_metrics(event, s3=cloud["s3"], dynamodb=cloud["ddb"], scratch_limit=0)
    assert out["summary"]["reads"] == 20000
    assert "mean_coverage" not in out["summary"]  # needs idxstats' reference length: not on a stream


def test_quality_metrics_cohort_report(cloud, tmp_path):
    from handlers.quality_metrics import handler

    handler(_vcf_event(cloud, tmp_path, sample="S1"), Ctx())
    handler(_vcf_event(cloud, tmp_path, sample="S2"), Ctx())
    with pytest.raises(QcNoResults):
        cohort_report(cloud["s3"], PROCESSED, "P2")
    key = cohort_report(cloud["s3"], PROCESSED, "P1")
    assert key.startswith("reports/P1/_cohort/") and key.endswith("/multiqc_report.html")
    html = cloud["s3"].get_object(Bucket=PROCESSED, Key=key)["Body"].read().decode()
    assert "S1" in html and "S2" in html


def test_quality_metrics_throttled_dynamodb_raises_transient(cloud, tmp_path):
    from handlers.quality_metrics import handler

    event = _vcf_event(cloud, tmp_path)
    with inject("dynamodb", "BatchWriteItem", "ProvisionedThroughputExceededException", times=10), \
            pytest.raises(TransientError):
        handler(event, Ctx())


def test_quality_metrics_s3_5xx_raises_transient(cloud, tmp_path):
    from handlers.quality_metrics import handler

    event = _vcf_event(cloud, tmp_path)
    with inject("s3", "PutObject", "InternalError", status=500, times=10), pytest.raises(TransientError):
        handler(event, Ctx())


def test_quality_metrics_cram_reference_from_reference_uri(cloud, monkeypatch):
    from handlers.quality_metrics import handler

    s3 = cloud["s3"]
    s3.create_bucket(Bucket="refs")
    s3.put_object(Bucket="refs", Key="grch/ce.fa", Body=(CORPUS / "cram/ce.fa").read_bytes())
    monkeypatch.setenv("REFERENCE_URI", "s3://refs/grch/ce.fa")
    inp = _upload(s3, RAW, "P1/C1/x.cram", (CORPUS / "cram/3.0/passed/0500_mapped.cram").read_bytes())
    inp["format"] = "cram"
    event = {"job_id": "job-C1", "project": "P1", "sample_id": "C1", "assay": "panel", "input": inp,
             "processed": {"skipped": True}}
    out = handler(event, Ctx())
    sam = (CORPUS / "cram/3.0/passed/0500_mapped.sam").read_text().splitlines()
    primary = [ln for ln in sam if ln and not ln.startswith("@") and not int(ln.split("\t")[1]) & 0x900]
    assert out["summary"]["reads"] == len(primary)
    assert out["verdict"] == "warn"  # a handful of reads: below every minimum count -> nothing evaluated
    assert "no metric could be evaluated for this input" in out["reasons"]


def test_quality_metrics_fastq_raw_object(cloud):
    from handlers.quality_metrics import handler

    data = (CORPUS / "fastq/htslib/r1.fq").read_bytes()
    inp = _upload(cloud["s3"], RAW, "P1/F1/r1.fq", data)
    inp["format"] = "fastq"
    event = {"job_id": "job-F1", "project": "P1", "sample_id": "F1", "input": inp,
             "processed": {"skipped": True}}  # no assay: DEFAULT_ASSAY (wgs) applies
    out = handler(event, Ctx())
    assert out["summary"]["reads"] == 5
    assert out["verdict"] == "warn" and out["deciding_metric"] is None
    doc = json.loads(cloud["s3"].get_object(
        Bucket=PROCESSED, Key=f"reports/P1/F1/{inp['sha256']}/qc.json")["Body"].read())
    assert doc["assay"] == "wgs" and len(doc["distributions"]["quality_per_cycle"]) == 100
    html = cloud["s3"].get_object(Bucket=PROCESSED, Key=out["report_key"])["Body"].read().decode()
    assert "mean quality per cycle" in html
