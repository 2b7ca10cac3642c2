"""The handler image, run as Lambda runs it: awslambdaric as entrypoint, the function's handler as the
image command, events and results through the Runtime API (tests/images/runtime_api.py), S3 and
DynamoDB on moto server. Results are compared with the same handler function called directly on the
host (same environment, an identical moto server) -- the image must not change what a handler does.

Tools: the image ships Debian's samtools/bcftools/tabix 1.16; the host-side reference calls use the
host's Debian 1.16 CLI too (/usr/bin), so both sides run the same htslib version.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from genomics import deployment
from tests.conftest import CORPUS
from tests.images.conftest import (
    NAMES,
    Cloud,
    Image,
    call_in_process,
    handler_container,
    podman,
    report,
)

pytestmark = pytest.mark.images

ENTRYPOINT = ["/opt/venv/bin/python", "-m", "awslambdaric"]
DEFAULT_CMD = ["handlers.validation_handler.handler"]
# The size goal (bytes, as podman reports them), with MultiQC or without (images/README.md, "Size"):
# exceeding it means something heavy slipped in.
SIZE_GOAL = 300_000_000
# Runtime faults of awslambdaric itself (handler not importable, not found, ...), never a handler error.
RUNTIME_FAULTS = re.compile(r"^Runtime\.")


def _plain(value: Any) -> Any:
    """JSON round trip, so both sides compare as the workflow would see them."""
    return json.loads(json.dumps(value, default=str))


def _without_step(result: dict[str, Any]) -> dict[str, Any]:
    """Drop the per-invocation accounting (wall time, peak RSS): the only nondeterministic field."""
    return {k: v for k, v in _plain(result).items() if k != "step"}


# --------------------------------------------------------------------------------------------------
# The image itself
# --------------------------------------------------------------------------------------------------
def test_image_tools_versions(image: Image) -> None:
    out = podman(
        "run", "--rm", "--pull=never", "--network", "none", "--entrypoint", "/bin/sh", image.name, "-c",
        "samtools --version | head -n 1; bcftools --version | head -n 1; tabix --version | head -n 1; "
        "/opt/venv/bin/python -c 'import sys; print(\"python\", sys.version.split()[0])'; "
        "id -u; for t in gcc cc pip pip3; do command -v $t || echo \"no $t\"; done",
    ).stdout.splitlines()
    assert out[0].startswith("samtools 1.16"), out
    assert out[1].startswith("bcftools 1.16"), out
    assert out[2].startswith("tabix (htslib) 1.16"), out
    assert out[3].startswith("python 3.11."), out
    assert int(out[4]) != 0, f"the image runs as root: {out}"
    assert out[5:] == ["no gcc", "no cc", "no pip", "no pip3"], f"build tools left in the runtime image: {out}"
    assert image.entrypoint == ENTRYPOINT
    assert image.cmd == DEFAULT_CMD
    assert image.user not in ("", "0", "root", "0:0"), image.user

    size_mb = image.size_bytes / 1e6
    report(f"image size {size_mb:.0f} MB (extras: {image.extras or 'none'}); goal {SIZE_GOAL / 1e6:.0f} MB")
    assert image.size_bytes <= SIZE_GOAL, f"image is {size_mb:.0f} MB, over the {SIZE_GOAL / 1e6:.0f} MB goal"


def test_image_mosdepth_coverage_runs(image: Image, tmp_path: Path) -> None:
    """Debian's mosdepth dlopens libhts.so (only libhts-dev has that name): genomics.qc.coverage links it in
    scratch; on the image's read-only root with /tmp as Lambda's, coverage of a real BAM is computed."""
    bam = tmp_path / "reads.bam"
    shutil.copy(CORPUS / "bam" / "passed" / "level-1.bam", bam)
    subprocess.run(["samtools", "index", str(bam)], check=True)
    for path in (tmp_path, bam, Path(f"{bam}.bai")):  # the image's user is not root
        path.chmod(0o755 if path.is_dir() else 0o644)
    script = ("import json, tempfile; from pathlib import Path; from genomics.qc import coverage\n"
              "with tempfile.TemporaryDirectory() as t:\n"
              "    bed = coverage.header_targets('/data/reads.bam', Path(t) / 'wgs.bed')\n"
              "    m = coverage.coverage(coverage.run('/data/reads.bam', bed))\n"
              "    print(json.dumps({k: v for k, v in m.items() if k != 'depth_per_contig'}))")
    out = podman("run", "--rm", "--pull=never", "--network", "none", "--read-only",
                 "--tmpfs", "/tmp:rw,size=256m,mode=1777", "-v", f"{tmp_path}:/data:ro",
                 "--entrypoint", "/opt/venv/bin/python", image.name, "-c", script).stdout
    metrics = json.loads(out.strip().splitlines()[-1])
    assert metrics["target_bases"] > 0 and metrics["target_mean_depth"] > 0


def test_image_cold_start_modules_have_bytecode(image: Image) -> None:
    """What a cold start imports has bytecode in the image (it cannot be written on Lambda's read-only
    file system), though the image keeps bytecode only for that: the warm-up run again inside the
    built image, as the handler user on a read-only root, finds no module loaded from source alone."""
    done = podman(
        "run", "--rm", "--pull=never", "--network", "none", "--read-only", "--tmpfs", "/tmp:rw,size=512m,mode=1777",
        "--entrypoint", "/opt/venv/bin/python", image.name, "-m", "genomics.warmup", "--check",
        timeout=300, check=False,
    )
    assert done.returncode == 0, f"warm-up check failed in the image:\n{done.stdout}\n{done.stderr}"
    assert "0 loaded modules without bytecode" in done.stdout, done.stdout
    if "report" in image.extras:
        assert "report rendered" in done.stdout, done.stdout
    # ... and only for that: the thousands of plotly classes MultiQC never uses stay source only.
    counts = podman(
        "run", "--rm", "--pull=never", "--network", "none", "--entrypoint", "/bin/sh", image.name, "-c",
        "find /opt/venv -name '*.py' | wc -l; find /opt/venv -name '*.pyc' | wc -l",
    ).stdout.split()
    sources, compiled = int(counts[0]), int(counts[1])
    report(f"image bytecode: {compiled} of {sources} dependency modules")
    assert 0 < compiled < sources / 2, f"{compiled} .pyc for {sources} .py: bytecode for everything again?"


@pytest.mark.parametrize("logical", sorted(deployment.FUNCTIONS))
def test_image_entrypoint_loads_each_handler(image: Image, delivery_image: Image, cloud: Cloud, tmp_path: Path,
                                             logical: str) -> None:
    """Each function's image command imports through awslambdaric in the function's own image (handler or
    delivery: FunctionSpec.image) and the runtime asks for work."""
    own = delivery_image if deployment.FUNCTIONS[logical].image == "delivery" else image
    with handler_container(own, logical, cloud, tmp_path) as c:
        try:
            c.api.wait_ready(timeout_s=120)
        except Exception as e:
            pytest.fail(f"{deployment.FUNCTIONS[logical].handler} did not start in the image: {e}\n{c.logs()}")


# --------------------------------------------------------------------------------------------------
# Errors come back as Lambda error payloads, exactly as the handler raised them
# --------------------------------------------------------------------------------------------------
def _job_fields(cloud: Cloud) -> dict[str, Any]:
    return {"job_id": "job-img-1", "project": "P1", "sample_id": "S1", "assay": "wgs",
            "input": {"bucket": NAMES.bucket("raw"), "key": "P1/S1/missing.vcf", "sha256": "0" * 64,
                      "size": 10, "format": "vcf"}}


def test_image_handler_error_is_lambda_error_payload(image: Image, cloud: Cloud, tmp_path: Path) -> None:
    bad_events = [
        {"action": "no-such-action", **_job_fields(cloud)},  # unknown action
        {"action": "process"},  # required job fields missing
    ]
    with handler_container(image, "vcf-processor", cloud, tmp_path) as c:
        outcomes = [c.invoke(e) for e in bad_events]
    for event, got in zip(bad_events, outcomes, strict=True):
        want = call_in_process("vcf-processor", event, cloud)
        assert want.kind == "error", f"the handler accepted a bad event in-process: {event} -> {want.payload}"
        assert got.kind == "error", f"the image answered {got.payload} to {event}"
        assert isinstance(got.payload, dict) and set(got.payload) >= {"errorType", "errorMessage", "stackTrace"}
        assert not RUNTIME_FAULTS.match(got.error_type or ""), got.payload
        assert got.payload["errorType"] == want.payload["errorType"], (got.payload, want.payload)
        assert got.payload["errorMessage"] == want.payload["errorMessage"]


# --------------------------------------------------------------------------------------------------
# Same event, same result: in the image vs. the handler function on the host
# --------------------------------------------------------------------------------------------------
VCF = CORPUS / "qc_oracles" / "bcftools_stats" / "stats.counts.vcf"


def _stage_qc_input(cloud: Cloud, tmp_path: Path) -> dict[str, Any]:
    """The raw upload plus the processed (bgzipped) VCF where vcf-processor would have put it."""
    raw = VCF.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    key = "P1/S1/sample.vcf"
    cloud.s3.put_object(Bucket=NAMES.bucket("raw"), Key=key, Body=raw)
    work = tmp_path / "bgzip"
    work.mkdir(exist_ok=True)
    shutil.copy(VCF, work / "sample.vcf")  # the corpus is read-only: compress a copy
    subprocess.run(["bgzip", "-f", str(work / "sample.vcf")], check=True)
    processed_key = f"processed/P1/S1/{sha}/sample.vcf.gz"
    cloud.s3.put_object(Bucket=NAMES.bucket("processed"), Key=processed_key,
                        Body=(work / "sample.vcf.gz").read_bytes())
    return {"job_id": "job-img-qc", "project": "P1", "sample_id": "S1", "assay": "wgs",
            # No version id: moto makes up a different one on each server; QC reads the processed object.
            "input": {"bucket": NAMES.bucket("raw"), "key": key, "sha256": sha, "size": len(raw), "format": "vcf"},
            "processed": {"bucket": NAMES.bucket("processed"), "vcf_key": processed_key}}


def _qc_items(cloud: Cloud) -> list[dict[str, Any]]:
    resp = cloud.dynamodb.query(TableName=NAMES.table("qc"), KeyConditionExpression="sample_id = :s",
                                ExpressionAttributeValues={":s": {"S": "S1"}})
    return sorted(resp["Items"], key=lambda it: it["metric_key"]["S"])


def _get(cloud: Cloud, key: str) -> bytes:
    return bytes(cloud.s3.get_object(Bucket=NAMES.bucket("processed"), Key=key)["Body"].read())


def test_image_quality_metrics_matches_in_process(image: Image, cloud: Cloud, tmp_path: Path) -> None:
    event = _stage_qc_input(cloud, tmp_path)
    with handler_container(image, "quality-metrics", cloud, tmp_path) as c:
        got = c.invoke(event)
    image_items = _qc_items(cloud)
    image_doc = json.loads(_get(cloud, f"reports/P1/S1/{event['input']['sha256']}/qc.json"))
    image_html = _get(cloud, got.payload["report_key"]).decode(errors="replace") if got.kind == "response" else ""

    cloud.reset()  # the same starting state again, for the same handler called on the host
    assert _stage_qc_input(cloud, tmp_path) == event
    want = call_in_process("quality-metrics", event, cloud)

    assert want.kind == "response", f"quality-metrics failed in-process: {want.payload}"
    assert got.kind == "response", f"quality-metrics failed in the image: {got.payload}"
    assert got.payload["step"]["function"] == "quality-metrics"
    assert _without_step(got.payload) == _without_step(want.payload)
    assert got.payload["summary"]["records"] > 0

    # Side effects: the typed metrics in DynamoDB and the qc.json document are the same ...
    assert image_items == _qc_items(cloud)
    assert image_doc == json.loads(_get(cloud, f"reports/P1/S1/{event['input']['sha256']}/qc.json"))
    # ... and MultiQC rendered the report inside the image.
    assert "multiqc" in image_html.lower() and "bcftools" in image_html.lower()


def test_image_vcf_processor_plan_and_process_match_in_process(image: Image, cloud: Cloud,
                                                                tmp_path: Path) -> None:
    raw = VCF.read_bytes()
    key = "P1/S2/sample.vcf"

    def job_for_fresh_upload() -> dict[str, Any]:
        version = cloud.s3.put_object(Bucket=NAMES.bucket("raw"), Key=key, Body=raw).get("VersionId")
        return {"job_id": "job-img-vcf", "project": "P1", "sample_id": "S2", "assay": "wgs",
                "input": {"bucket": NAMES.bucket("raw"), "key": key, "version_id": version,
                          "sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw), "format": "vcf"}}

    job = job_for_fresh_upload()
    with handler_container(image, "vcf-processor", cloud, tmp_path) as c:
        plan = c.invoke({"action": "plan", **job})
        assert plan.kind == "response", f"plan failed in the image: {plan.payload}"
        processed = c.invoke({"action": "process", "plan": _without_step(plan.payload), **job})
    image_records = _vcf_body(cloud, processed.payload["vcf_key"]) if processed.kind == "response" else []

    cloud.reset()
    host_job = job_for_fresh_upload()
    versions = [job["input"]["version_id"], host_job["input"]["version_id"]]
    host_plan = call_in_process("vcf-processor", {"action": "plan", **host_job}, cloud)
    assert host_plan.kind == "response", f"plan failed in-process: {host_plan.payload}"
    host_processed = call_in_process(
        "vcf-processor", {"action": "process", "plan": _without_step(host_plan.payload), **host_job}, cloud
    )
    assert host_processed.kind == "response", f"process failed in-process: {host_processed.payload}"
    assert processed.kind == "response", f"process failed in the image: {processed.payload}"

    def normalised(result: dict[str, Any], version: str | None) -> dict[str, Any]:
        # The raw object's version id is the only thing that differs between the two moto servers.
        text = json.dumps(_without_step(result))
        return json.loads(text.replace(version, "<raw-version>")) if version else json.loads(text)

    assert normalised(plan.payload, versions[0]) == normalised(host_plan.payload, versions[1])
    assert normalised(processed.payload, versions[0]) == normalised(host_processed.payload, versions[1])
    # The normalised, sorted VCF itself: the same records from the image's bcftools as from the host's.
    assert image_records and image_records == _vcf_body(cloud, host_processed.payload["vcf_key"])


def _vcf_body(cloud: Cloud, key: str) -> list[str]:
    """Header column line and records of a bgzipped VCF (the ## lines carry command lines and dates)."""
    text = gzip.decompress(_get(cloud, key)).decode()
    return [line for line in text.splitlines() if not line.startswith("##")]


def test_image_dependencies_are_the_locked_ones(image: Image, delivery_image: Image) -> None:
    """pip's resolution inside the images is exactly images/constraints.txt: every distribution pinned,
    none resolved afresh (a stale lock would show up as a difference). The lock is the handler image's
    venv plus the delivery image's extra layer, which shares no distribution with the venv."""

    def pins(lines: list[str]) -> set[str]:
        return {ln.strip().lower() for ln in lines if ln.strip() and not ln.startswith("#")}

    def resolved(img: Image, path: str) -> set[str]:
        return pins(podman("run", "--rm", "--pull=never", "--network", "none", "--entrypoint", "/bin/cat",
                           img.name, path).stdout.splitlines())

    venv = resolved(image, "/opt/venv/resolved-requirements.txt")
    delivery = resolved(delivery_image, "/opt/venv/delivery-resolved-requirements.txt")
    locked = pins((Path(__file__).resolve().parents[2] / "images" / "constraints.txt").read_text().splitlines())
    assert any(p.startswith("crypt4gh==") for p in delivery), delivery
    assert not {p.split("==")[0] for p in venv} & {p.split("==")[0] for p in delivery}, "installed twice"
    if "report" in image.extras:
        assert venv | delivery == locked
    else:
        assert venv | delivery <= locked
