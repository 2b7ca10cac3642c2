"""vcf-processor on moto (mock_aws): real buckets, real bcftools runs, plan/process/shard/gather."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import subprocess
from pathlib import Path

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config as BotoConfig

from genomics import synth
from genomics.corpus import CORPUS
from genomics.errors import TransientError
from genomics.processing import service, vcf
from handlers import vcf_processor

BCF_FILE = CORPUS / "htslib/tabix/vcf_file.bcf"
STATS_COUNTS = CORPUS / "qc_oracles/bcftools_stats/stats.counts.vcf"
EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")  # Debian bio-eagle-examples (BGZF)


def _onekg() -> Path:
    import vcf as pyvcf  # PyPI pyvcf3 ships 1kg.vcf.gz (plain gzip, no ##contig lines)

    return Path(pyvcf.__file__).parent / "test" / "1kg.vcf.gz"


def _env(stack, monkeypatch, **overrides: str) -> None:
    for k, v in {**stack.env("vcf-processor"), **overrides}.items():
        monkeypatch.setenv(k, v)


def _upload(stack, data: bytes, key: str, job_id: str = "job-1") -> dict:
    raw = stack.names.bucket("raw")
    resp = boto3.client("s3").put_object(Bucket=raw, Key=key, Body=data)
    project, sample_id, _ = key.split("/", 2)
    return {
        "job_id": job_id, "project": project, "sample_id": sample_id, "assay": "wgs",
        "input": {"bucket": raw, "key": key, "version_id": resp["VersionId"],
                  "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "format": "vcf"},
    }


def _invoke(stack, event: dict) -> dict:
    return vcf_processor.handler(event, stack.context("vcf-processor"))


def _run_scatter(stack, event: dict) -> tuple[dict, list[dict], dict]:
    plan = _invoke(stack, {**event, "action": "plan"})
    assert plan["mode"] == "scatter" and plan["step"]["function"] == "vcf-processor"
    shards = [_invoke(stack, {**event, "action": "shard", "plan": plan, "shard": s}) for s in plan["shards"]]
    gathered = _invoke(stack, {**event, "action": "gather", "plan": plan, "shards": shards})
    return plan, shards, gathered


def _keys(bucket: str, prefix: str = "") -> list[str]:
    resp = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def _get(bucket: str, key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def _records(data: bytes, tmp_path: Path, name: str) -> list[str]:
    p = tmp_path / name
    p.write_bytes(data)
    out = subprocess.run(["bcftools", "view", "--no-version", "-H", str(p)], capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()


def test_vcf_processor_process_publishes_deterministic_keys(stack, monkeypatch, tmp_path):
    _env(stack, monkeypatch)
    data = EUR.read_bytes()
    event = _upload(stack, data, "proj/EUR/EUR_test.vcf.gz")
    processed = stack.names.bucket("processed")
    out = _invoke(stack, {**event, "action": "process"})
    prefix = f"processed/proj/EUR/{hashlib.sha256(data).hexdigest()}/"
    assert out["vcf_key"] == prefix + "EUR_test.norm.vcf.gz"
    assert out["index_key"] == prefix + "EUR_test.norm.vcf.gz.tbi"
    assert out["sidecar_key"] == prefix + "EUR_test.norm.vcf.gz.json"
    assert out["bucket"] == processed and out["records_in"] == 2000 and out["contigs"] == ["21", "22"]
    assert out["step"]["function"] == "vcf-processor" and out["step"]["memory_limit_mb"] > 0
    assert _keys(processed) == sorted([out["vcf_key"], out["index_key"], out["sidecar_key"]])
    side = json.loads(_get(processed, out["sidecar_key"]))
    body = _get(processed, out["vcf_key"])
    assert side["outputs"]["vcf"]["md5"] == hashlib.md5(body).hexdigest()
    assert side["outputs"]["vcf"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert side["records_out"] == out["records_out"] == len(_records(body, tmp_path, "a.vcf.gz"))
    assert side["reference"] is None and "no reference configured" in side["reference_note"]
    assert side["tools"]["bcftools"] == "1.16" and side["commands"][0][:2] == ["bcftools", "norm"]
    # The raw object is untouched: one version, same bytes.
    raw = stack.names.bucket("raw")
    versions = boto3.client("s3").list_object_versions(Bucket=raw, Prefix="proj/")["Versions"]
    assert len(versions) == 1 and _get(raw, "proj/EUR/EUR_test.vcf.gz") == data
    # Reprocessing (another job) yields the same keys, the same bytes and nothing else.
    again = _invoke(stack, {**event, "job_id": "job-2", "action": "process"})
    assert {k: again[k] for k in ("vcf_key", "index_key", "sidecar_key")} == {
        k: out[k] for k in ("vcf_key", "index_key", "sidecar_key")
    }
    assert _keys(processed) == sorted([out["vcf_key"], out["index_key"], out["sidecar_key"]])
    assert _get(processed, out["vcf_key"]) == body


def test_vcf_processor_plan_single_below_threshold(stack, monkeypatch):
    _env(stack, monkeypatch)
    event = _upload(stack, EUR.read_bytes(), "proj/EUR/EUR_test.vcf.gz")
    plan = _invoke(stack, {**event, "action": "plan"})
    assert plan["mode"] == "single" and plan["shards"] == []
    assert plan["source"] == {k: event["input"][k] for k in ("bucket", "key", "version_id")}
    assert plan["work_prefix"] == "tmp/job-1/"


def test_vcf_processor_scatter_plain_vcf_equals_single(stack, monkeypatch, tmp_path):
    path = tmp_path / "multi.vcf"
    with open(path, "w") as fh:
        synth.write(fh, 3000, 2, synth.default_contigs(3, 200_000), seed=11)
    lines = path.read_text().splitlines()
    head = [line for line in lines if line.startswith("#")]
    recs = [line for line in lines if not line.startswith("#")]
    random.Random(2).shuffle(recs)  # unsorted input: plan must write a sorted, indexed copy
    data = ("\n".join(head + recs) + "\n").encode()
    _env(stack, monkeypatch)
    event = _upload(stack, data, "proj/S1/multi.vcf")
    single = _invoke(stack, {**event, "action": "process"})
    processed = stack.names.bucket("processed")
    single_body = _records(_get(processed, single["vcf_key"]), tmp_path, "single.vcf.gz")

    _env(stack, monkeypatch, SCATTER_THRESHOLD_BYTES="1000", SCATTER_REGION_BASES="60000")
    plan, shards, gathered = _run_scatter(stack, {**event, "job_id": "job-s"})
    assert plan["source"]["bucket"] == processed and plan["source"]["key"].startswith("tmp/job-s/")
    assert len(plan["shards"]) == 12 and [s["index"] for s in shards] == list(range(12))
    assert all(s["step"]["function"] == "vcf-processor" for s in shards)
    assert sum(s["records"] for s in shards) == gathered["records_out"] == single["records_out"]
    assert gathered["vcf_key"] == single["vcf_key"] and gathered["records_in"] == 3000
    assert _records(_get(processed, gathered["vcf_key"]), tmp_path, "g.vcf.gz") == single_body
    side = json.loads(_get(processed, gathered["sidecar_key"]))
    assert side["mode"] == "scatter" and side["shards"] == 12
    assert any(c[:2] == ["bcftools", "concat"] for c in side["commands"])
    assert _keys(processed, "tmp/") == []


def test_vcf_processor_scatter_bgzf_raw_is_read_in_place(stack, monkeypatch, tmp_path):
    data = EUR.read_bytes()
    _env(stack, monkeypatch)
    event = _upload(stack, data, "proj/EUR/EUR_test.vcf.gz")
    processed = stack.names.bucket("processed")
    single = _invoke(stack, {**event, "action": "process"})
    single_body = _records(_get(processed, single["vcf_key"]), tmp_path, "single.vcf.gz")
    _env(stack, monkeypatch, SCATTER_THRESHOLD_BYTES="1000", SCATTER_REGION_BASES="5000000")
    plan, _, gathered = _run_scatter(stack, {**event, "job_id": "job-s"})
    src = plan["source"]
    assert (src["bucket"], src["key"], src["version_id"]) == (
        event["input"]["bucket"], event["input"]["key"], event["input"]["version_id"])
    assert src["index_key"].startswith("tmp/job-s/source/")
    assert _records(_get(processed, gathered["vcf_key"]), tmp_path, "g.vcf.gz") == single_body
    assert _keys(processed, "tmp/") == []


def test_vcf_processor_scatter_gzip_without_contig_lines(stack, monkeypatch, tmp_path):
    data = _onekg().read_bytes()
    _env(stack, monkeypatch)
    event = _upload(stack, data, "proj/KG/1kg.vcf.gz")
    processed = stack.names.bucket("processed")
    single = _invoke(stack, {**event, "action": "process"})
    assert single["records_in"] == 381 and single["contigs"] == ["2"]
    single_body = _records(_get(processed, single["vcf_key"]), tmp_path, "single.vcf.gz")
    _env(stack, monkeypatch, SCATTER_THRESHOLD_BYTES="1000", SCATTER_REGION_BASES="10000")
    _, _, gathered = _run_scatter(stack, {**event, "job_id": "job-s"})
    assert _records(_get(processed, gathered["vcf_key"]), tmp_path, "g.vcf.gz") == single_body


def test_vcf_processor_bcf_scatter_equals_single(stack, monkeypatch, tmp_path):
    # stats.counts.vcf (bcftools' own test input: multiallelics that split into exact duplicates) as BCF.
    bcf = tmp_path / "counts.bcf"
    subprocess.run(["bcftools", "view", "--no-version", "-Ob", "-o", str(bcf), str(STATS_COUNTS)], check=True)
    _env(stack, monkeypatch)
    event = _upload(stack, bcf.read_bytes(), "proj/C/counts.bcf")
    processed = stack.names.bucket("processed")
    single = _invoke(stack, {**event, "action": "process"})
    assert single["vcf_key"].endswith("/counts.norm.vcf.gz")
    single_body = _records(_get(processed, single["vcf_key"]), tmp_path, "single.vcf.gz")
    assert len({tuple(r.split("\t")[:5]) for r in single_body}) == len(single_body)
    _env(stack, monkeypatch, SCATTER_THRESHOLD_BYTES="100", SCATTER_REGION_BASES="1003")
    plan, _, gathered = _run_scatter(stack, {**event, "job_id": "job-s"})
    # Regions of 1003 bases: records at POS 1000..1006 straddle a boundary; X is its own shard.
    assert {s["contig"] for s in plan["shards"]} == {"1", "X"} and len(plan["shards"]) > 3
    assert _records(_get(processed, gathered["vcf_key"]), tmp_path, "g.vcf.gz") == single_body


def test_vcf_processor_number_mismatch_bcf_completes_with_repairs(stack, monkeypatch, tmp_path):
    """htslib's vcf_file.bcf (INFO/AC with the wrong count for Number=A) completes on the single and the
    scatter path; the sidecar lists the repair and carries validation's conformance report; raw untouched."""
    _env(stack, monkeypatch)
    data = BCF_FILE.read_bytes()
    event = _upload(stack, data, "proj/B/vcf_file.bcf")
    conformance = {"profile": "default", "valid": True, "warning_count": 1, "codes": {"VCF_INFO_NUMBER": 1},
                   "warnings": [{"code": "VCF_INFO_NUMBER", "message": "AC has 1 value, Number=A", "line": 38}],
                   "truncated": False}
    event["input"]["conformance"] = conformance
    single = _invoke(stack, {**event, "action": "process"})
    assert [(r["repair"], r["key"]) for r in single["repairs"]] == [("number_relaxed", "INFO/AC")]
    processed = stack.names.bucket("processed")
    side = json.loads(_get(processed, single["sidecar_key"]))
    assert side["conformance"] == conformance
    assert side["repairs"][0]["first"] == "4:3258501" and side["repairs"][0]["from"] == "A"
    assert _get(event["input"]["bucket"], event["input"]["key"]) == data
    single_body = _records(_get(processed, single["vcf_key"]), tmp_path, "single.vcf.gz")
    _env(stack, monkeypatch, SCATTER_THRESHOLD_BYTES="100", SCATTER_REGION_BASES="1000000")
    _plan, _, gathered = _run_scatter(stack, {**event, "job_id": "job-s"})
    # Scatter relaxes AC only in the shard that needs it (contig 4); the other shards split AC per ALT.
    gathered_body = _records(_get(processed, gathered["vcf_key"]), tmp_path, "g.vcf.gz")
    assert [r for r in gathered_body if r.startswith("4\t")] == [r for r in single_body if r.startswith("4\t")]
    assert len(gathered_body) == len(single_body)
    gheader = subprocess.run(["bcftools", "view", "-h", str(tmp_path / "g.vcf.gz")], capture_output=True,
                             text=True, check=True).stdout
    assert "##INFO=<ID=AC,Number=.," in gheader
    gside = json.loads(_get(processed, gathered["sidecar_key"]))
    assert ("number_relaxed", "INFO/AC") in {(r["repair"], r["key"]) for r in gside["repairs"]}


def test_vcf_processor_unreadable_input_is_coded(stack, monkeypatch):
    _env(stack, monkeypatch)
    event = _upload(stack, gzip.compress(b"not a variant file\n" * 100), "proj/J/junk.vcf.gz")
    with pytest.raises(vcf.UnreadableInput) as ei:
        _invoke(stack, {**event, "action": "process"})
    assert ei.value.code == "PROC_UNREADABLE_INPUT" and ei.value.code in service.CODES


def test_vcf_processor_missing_version_is_coded(stack, monkeypatch):
    _env(stack, monkeypatch)
    event = _upload(stack, EUR.read_bytes(), "proj/EUR/EUR_test.vcf.gz")
    event["input"]["version_id"] = "nonexistent-version"
    with pytest.raises(vcf.InputNotFound) as ei:
        _invoke(stack, {**event, "action": "process"})
    assert ei.value.code == "PROC_INPUT_NOT_FOUND"


# --------------------------------------------------------------------------------------------------
# Reference: REFERENCE_URI=s3://<processed>/references, <assembly>.fa + .fai
# --------------------------------------------------------------------------------------------------
def _reference(stack, tmp_path: Path) -> str:
    rng = random.Random(3)
    seq = "".join(rng.choice("ACGT") for _ in range(3000))
    seq = seq[:1000] + "CA" * 10 + seq[1020:]
    fa = tmp_path / "mini.fa"
    fa.write_text(">c1\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n")
    subprocess.run(["samtools", "faidx", str(fa)], check=True)
    s3 = boto3.client("s3")
    bucket = stack.names.bucket("processed")
    s3.put_object(Bucket=bucket, Key="references/mini.fa", Body=fa.read_bytes())
    s3.put_object(Bucket=bucket, Key="references/mini.fa.fai", Body=Path(f"{fa}.fai").read_bytes())
    return seq


def _mini_vcf(records: list[str]) -> bytes:
    return (
        "##fileformat=VCFv4.2\n##contig=<ID=c1,length=3000,assembly=mini>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(r + "\n" for r in records)
    ).encode()


def test_vcf_processor_ref_mismatch_is_coded(stack, monkeypatch, tmp_path):
    seq = _reference(stack, tmp_path)
    processed = stack.names.bucket("processed")
    _env(stack, monkeypatch, REFERENCE_URI=f"s3://{processed}/references")
    wrong = "A" if seq[599] != "A" else "C"
    event = _upload(stack, _mini_vcf([f"c1\t600\t.\t{wrong}\tG\t.\t.\t."]), "proj/M/bad.vcf")
    with pytest.raises(vcf.RefMismatch) as ei:
        _invoke(stack, {**event, "action": "process"})
    assert ei.value.code == "PROC_REF_MISMATCH" and ei.value.location.endswith("c1:600")
    assert _keys(processed, "processed/") == [] and _keys(processed, "tmp/") == []


def test_vcf_processor_left_aligns_single_and_scatter(stack, monkeypatch, tmp_path):
    seq = _reference(stack, tmp_path)
    processed = stack.names.bucket("processed")
    _env(stack, monkeypatch, REFERENCE_URI=f"s3://{processed}/references")
    p = 1018
    records = [
        f"c1\t{p}\t.\t{seq[p - 1 : p + 2]}\t{seq[p - 1]}\t.\t.\t.",  # left-aligns to 1000
        f"c1\t1005\t.\t{seq[1004]}\t{'A' if seq[1004] != 'A' else 'C'}\t.\t.\t.",
        f"c1\t2000\t.\t{seq[1999]}\t{'A' if seq[1999] != 'A' else 'G'}\t.\t.\t.",
    ]
    event = _upload(stack, _mini_vcf(records), "proj/M/la.vcf")
    single = _invoke(stack, {**event, "action": "process"})
    side = json.loads(_get(processed, single["sidecar_key"]))
    assert side["reference"] == {"uri": f"s3://{processed}/references/mini.fa", "assembly": "mini"}
    assert side["left_aligned"] and side["realigned"] == 1
    single_body = _records(_get(processed, single["vcf_key"]), tmp_path, "single.vcf.gz")
    assert [int(r.split("\t")[1]) for r in single_body] == [1000, 1005, 2000]
    _env(stack, monkeypatch, REFERENCE_URI=f"s3://{processed}/references", SCATTER_THRESHOLD_BYTES="10",
         SCATTER_REGION_BASES="1010")
    _, _, gathered = _run_scatter(stack, {**event, "job_id": "job-s"})
    assert _records(_get(processed, gathered["vcf_key"]), tmp_path, "g.vcf.gz") == single_body
    assert json.loads(_get(processed, gathered["sidecar_key"]))["reference"]["assembly"] == "mini"


# --------------------------------------------------------------------------------------------------
# Transient AWS failures
# --------------------------------------------------------------------------------------------------
def test_vcf_processor_throttled_s3_raises_transient_error(stack, monkeypatch):
    _env(stack, monkeypatch)
    event = _upload(stack, EUR.read_bytes(), "proj/EUR/EUR_test.vcf.gz")
    s3 = boto3.client("s3", config=BotoConfig(retries={"max_attempts": 2, "mode": "standard"}))

    def slow_down(request, **_):
        body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        return AWSResponse(request.url, 503, {}, _Raw(body))

    s3.meta.events.register("before-send.s3.GetObject", slow_down)
    with pytest.raises(TransientError):
        service.process({**event, "action": "process"}, s3=s3, cfg=service.Config.from_env())
    assert type(TransientError("x")).__name__ == "TransientError"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_):
        yield self._body


def test_vcf_processor_reference_single_fasta_uri_and_missing_assembly(stack, monkeypatch, tmp_path):
    seq = _reference(stack, tmp_path)
    processed = stack.names.bucket("processed")
    p = 1018
    data = _mini_vcf([f"c1\t{p}\t.\t{seq[p - 1 : p + 2]}\t{seq[p - 1]}\t.\t.\t."])
    # One FASTA for every upload: used whatever the header says.
    _env(stack, monkeypatch, REFERENCE_URI=f"s3://{processed}/references/mini.fa")
    event = _upload(stack, data, "proj/M/one.vcf")
    out = _invoke(stack, {**event, "action": "process"})
    side = json.loads(_get(processed, out["sidecar_key"]))
    assert side["reference"]["uri"].endswith("/references/mini.fa") and side["realigned"] == 1
    # A prefix, and an upload that names an assembly the stack has no FASTA for: a coded error.
    _env(stack, monkeypatch, REFERENCE_URI=f"s3://{processed}/references")
    event["input"]["assembly"] = "GRCh99"
    with pytest.raises(vcf.RefNotFound) as ei:
        _invoke(stack, {**event, "job_id": "job-2", "action": "process"})
    assert ei.value.code == "PROC_REF_NOT_FOUND"
    # Header-derived assembly without a FASTA: processed, left-alignment skipped and said so.
    event["input"].pop("assembly")
    other = _upload(stack, data.replace(b"assembly=mini", b"assembly=hg0"), "proj/M/hg0.vcf", job_id="job-3")
    res = _invoke(stack, {**other, "action": "process"})
    side = json.loads(_get(processed, res["sidecar_key"]))
    assert side["reference"] is None and "hg0" in side["reference_note"] and side["realigned"] == 0


def test_vcf_processor_scatter_bgzf_with_undeclared_contigs_uses_a_copy(stack, monkeypatch, tmp_path):
    # 1kg.vcf.gz recompressed as BGZF: indexable in place, but its header declares no contigs.
    bgzf = tmp_path / "1kg.bgzf.vcf.gz"
    with open(bgzf, "wb") as fh:
        subprocess.run(["bgzip", "-c"], input=gzip.decompress(_onekg().read_bytes()), stdout=fh, check=True)
    data = bgzf.read_bytes()
    _env(stack, monkeypatch)
    event = _upload(stack, data, "proj/KG/1kg.bgzf.vcf.gz")
    processed = stack.names.bucket("processed")
    single = _invoke(stack, {**event, "action": "process"})
    single_body = _records(_get(processed, single["vcf_key"]), tmp_path, "single.vcf.gz")
    _env(stack, monkeypatch, SCATTER_THRESHOLD_BYTES="1000", SCATTER_REGION_BASES="10000")
    plan, _, gathered = _run_scatter(stack, {**event, "job_id": "job-s"})
    assert plan["source"]["bucket"] == processed and plan["source"]["key"].startswith("tmp/job-s/")
    assert _records(_get(processed, gathered["vcf_key"]), tmp_path, "g.vcf.gz") == single_body


def test_vcf_processor_scatter_groups_small_contigs_under_max_shards(stack, monkeypatch, tmp_path):
    """Many small contigs: the plan groups them (SCATTER_MAX_SHARDS) and the result is still identical."""
    import io

    text = io.StringIO()
    synth.write(text, 1200, 2, [(f"ctg{i}", 8_000) for i in range(10)], seed=3)
    _env(stack, monkeypatch)
    event = _upload(stack, text.getvalue().encode(), "proj/M/many.vcf")
    processed = stack.names.bucket("processed")
    single = _invoke(stack, {**event, "action": "process"})
    single_body = _records(_get(processed, single["vcf_key"]), tmp_path, "single.vcf.gz")
    _env(stack, monkeypatch, SCATTER_THRESHOLD_BYTES="100", SCATTER_REGION_BASES="1000000", SCATTER_MAX_SHARDS="3")
    event = {**event, "job_id": "job-g"}
    plan = _invoke(stack, {**event, "action": "plan"})
    assert [s["contig"] for s in plan["shards"]] == ["ctg0", "ctg4", "ctg8"]
    # The grouped contigs' names are in S3, the state carries their count.
    assert [s.get("more_count", 0) for s in plan["shards"]] == [3, 3, 1]
    assert not any("more" in s for s in plan["shards"])
    groups = json.loads(_get(plan["groups"]["bucket"], plan["groups"]["key"]))
    assert groups == {"0": ["ctg1", "ctg2", "ctg3"], "1": ["ctg5", "ctg6", "ctg7"], "2": ["ctg9"]}
    shards = [_invoke(stack, {**event, "action": "shard", "plan": plan, "shard": s}) for s in plan["shards"]]
    gathered = _invoke(stack, {**event, "action": "gather", "plan": plan, "shards": shards})
    assert _records(_get(processed, gathered["vcf_key"]), tmp_path, "g.vcf.gz") == single_body
    assert _keys(processed, "tmp/job-g/") == []  # the groups object went with the other scratch


def test_vcf_processor_plan_state_small_for_many_contigs(stack, monkeypatch):
    """40,000 populated scaffolds (a draft assembly): the plan the workflow carries stays far below Step
    Functions' 256 KiB payload limit (names of grouped contigs are in S3), and every contig is planned once."""
    import io

    contigs = [(f"scaffold_{i}", 2_000) for i in range(40_000)]
    text = io.StringIO()
    synth.write(text, 40_000, 1, contigs, seed=5)
    _env(stack, monkeypatch, SCATTER_THRESHOLD_BYTES="100", SCATTER_REGION_BASES="1000000")
    event = {**_upload(stack, text.getvalue().encode(), "proj/D/draft.vcf"), "job_id": "job-d"}
    plan = _invoke(stack, {**event, "action": "plan"})
    payload = len(json.dumps(plan).encode())
    assert payload < 64 * 1024, f"plan is {payload} bytes"
    assert len(plan["shards"]) <= int(stack.env("vcf-processor")["SCATTER_MAX_SHARDS"])
    groups = json.loads(_get(plan["groups"]["bucket"], plan["groups"]["key"]))
    planned = [n for s in plan["shards"] for n in [s["contig"], *groups.get(str(s["index"]), [])]]
    with_records = sorted({ln.split("\t", 1)[0] for ln in text.getvalue().splitlines() if not ln.startswith("#")},
                          key=lambda c: int(c.rsplit("_", 1)[1]))
    assert planned == with_records


def test_vcf_processor_decimals_in_integer_info_carried_single_and_scatter(stack, monkeypatch, tmp_path):
    """The conformance report (VCF_INFO_TYPE) makes processing scan the streamed upload and declare the
    Integer key that holds decimals Float before htslib reads it, on both paths."""
    src = Path(__file__).resolve().parents[1] / "data" / "callers" / "float_in_integer.vcf"
    _env(stack, monkeypatch)
    event = _upload(stack, gzip.compress(src.read_bytes()), "proj/F/float_in_integer.vcf.gz")
    event["input"]["conformance"] = {"profile": "default", "valid": True, "warning_count": 2,
                                     "codes": {"VCF_INFO_TYPE": 2}, "warnings": [], "truncated": False}
    single = _invoke(stack, {**event, "action": "process"})
    assert ("type_float", "INFO/DP") in {(r["repair"], r["key"]) for r in single["repairs"]}
    processed = stack.names.bucket("processed")
    body = _records(_get(processed, single["vcf_key"]), tmp_path, "single.vcf.gz")
    assert any("DP=12.5;" in r for r in body)
    _env(stack, monkeypatch, SCATTER_THRESHOLD_BYTES="100", SCATTER_REGION_BASES="1500")
    plan, _, gathered = _run_scatter(stack, {**event, "job_id": "job-f"})
    assert ("type_float", "INFO/DP") in {(r["repair"], r["key"]) for r in plan["repairs"]}
    assert _records(_get(processed, gathered["vcf_key"]), tmp_path, "g.vcf.gz") == body
