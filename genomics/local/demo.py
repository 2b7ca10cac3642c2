"""`genomics local demo`: the whole pipeline on moto server on this machine, on real files.

Deploys the stack description into moto server (buckets, tables, the functions, the S3 notification,
the dead-letter queue and the state machine), uploads real data — the 1000 Genomes chr21 VCF from
Debian's bio-eagle-examples (BGZF), 1kg.vcf.gz from PyPI's pyvcf3 (plain gzip), lambda-phage reads from
bowtie2-examples, a BAM made from those reads (aligned with minimap2 to the lambda reference that
bowtie2-examples ships, sorted and indexed with samtools) and an invalid VCF the demo writes — and waits
for every job to end. It needs nothing but what `make demo` installs (no corpus, no network).
The S3 notification invokes validation-handler; moto's own Step Functions interpreter runs the
workflow, whose Lambda tasks run in-process through genomics.local.adapter.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from genomics import tools
from genomics.deployment import Names, Settings
from genomics.ledger import Ledger, ObjectRef, model
from genomics.local.deploy import LocalStack, deploy
from genomics.local.server import ACCOUNT_ID, REGION, local_cloud
from genomics.status import reason_of

PROJECT = "demo"
ROOT = Path(__file__).resolve().parents[2]
EUR_VCF = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")
BOWTIE2_EXAMPLES = Path("/usr/share/doc/bowtie2/examples")
LAMBDA_READS = (BOWTIE2_EXAMPLES / "reads" / "reads_1.fq.gz", BOWTIE2_EXAMPLES / "reads" / "reads_2.fq.gz")
# Over the demo's Fargate threshold (2.2 MB of plain gzip, unsplittable): QC'd by a Fargate task (docs/scaling.md).
LONG_READS = BOWTIE2_EXAMPLES / "reads" / "longreads.fq.gz"
LAMBDA_REFERENCE = BOWTIE2_EXAMPLES / "reference" / "lambda_virus.fa.gz"
# The demo's REJECTED row: a VCF whose second record calls allele 2 where only one ALT allele exists, so a
# genotype would point at no allele (the kind of error validation refuses in every profile).
BROKEN_VCF = (
    "##fileformat=VCFv4.2\n"
    "##source=genomics-demo\n"
    "##contig=<ID=21,length=48129895>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNA00001\tNA00002\n"
    "21\t9411239\t.\tC\tT\t50\tPASS\t.\tGT\t0|1\t0/0\n"
    "21\t9411245\t.\tA\tG\t50\tPASS\t.\tGT\t0|2\t1/1\n"
)
# Inputs over 2 MB never run as one Lambda: the aligned BAM scatters, the long-read FASTQ goes to Fargate.
DEMO_SETTINGS = Settings(stack="local", scatter_threshold_bytes=500_000, scatter_region_bases=20_000_000,
                         fargate=True, fargate_threshold_bytes=2_000_000)


@dataclass(frozen=True)
class Upload:
    """A file the demo uploads to ``demo/<sample_id>/<file name>`` in the raw bucket, with the assay and
    validation profile it is uploaded under."""

    path: Path
    sample_id: str
    assay: str = "wgs"
    profile: str = "strict"

    @property
    def key(self) -> str:
        """Where it lands in the raw bucket (``<project>/<sample_id>/<file>``, the layout ingest reads)."""
        return f"{PROJECT}/{self.sample_id}/{self.path.name}"


class DemoDataMissing(RuntimeError):
    """A package that ships the demo's inputs is not installed (the message names it and how to install)."""

    code = "DEMO_DATA_MISSING"


def _pyvcf_1kg() -> Path:
    spec = importlib.util.find_spec("vcf")
    if spec is None or not spec.submodule_search_locations:
        raise DemoDataMissing("pyvcf3 is not installed: pip install pyvcf3 (it ships 1kg.vcf.gz)")
    return Path(next(iter(spec.submodule_search_locations))) / "test" / "1kg.vcf.gz"


def _require(paths: list[Path]) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise DemoDataMissing(
            "demo data not found: "
            + ", ".join(missing)
            + " (make demo installs bio-eagle-examples, bowtie2-examples and pyvcf3: run `make demo`)"
        )


def write_broken_vcf(out_dir: Path) -> Path:
    """The demo's invalid upload (see :data:`BROKEN_VCF`)."""
    path = out_dir / "broken_upload.vcf"
    path.write_text(BROKEN_VCF, encoding="utf-8")
    return path


def align_lambda_reads(out_dir: Path) -> Path:
    """FASTQ -> BAM: align the lambda-phage read pairs of bowtie2-examples to its lambda reference with
    minimap2 (short-read preset), then coordinate-sort and index with samtools. Returns the BAM."""
    _require([LAMBDA_REFERENCE, *LAMBDA_READS])
    bam = out_dir / "lambda_aligned.bam"
    sam = tools.run(
        ["minimap2", "-a", "-x", "sr", "-t", "2", "-R", r"@RG\tID:lambda\tSM:lambda_aligned",
         str(LAMBDA_REFERENCE), *map(str, LAMBDA_READS)]
    ).stdout
    tools.run(["samtools", "sort", "-T", str(out_dir / "sort"), "-o", str(bam), "-"], input_bytes=sam)
    tools.run(["samtools", "index", str(bam)])
    return bam


def demo_uploads(work_dir: Path) -> list[Upload]:
    """The demo's uploads; the ones the demo makes (the aligned BAM, the broken VCF) are written to
    ``work_dir``."""
    _require([EUR_VCF, LAMBDA_READS[0], LONG_READS])
    onekg = _pyvcf_1kg()
    _require([onekg])
    work_dir.mkdir(parents=True, exist_ok=True)
    return [
        Upload(EUR_VCF, "EUR_chr21", assay="cohort"),
        # The 1000 Genomes pilot header declares FORMAT GQ as Float (spec: Integer): legacy profile.
        Upload(onekg, "1kg_multi", assay="cohort", profile="legacy"),
        Upload(LAMBDA_READS[0], "lambda_phage"),
        Upload(align_lambda_reads(work_dir), "lambda_aligned", assay="panel"),
        Upload(write_broken_vcf(work_dir), "broken_upload"),
        Upload(LONG_READS, "long_reads"),
    ]


def _ledger(stack: LocalStack) -> Ledger:
    n = stack.names
    return Ledger(n.table("metadata"), n.table("jobs"), n.table("qc"), client=boto3.client("dynamodb"))


def run_uploads(stack: LocalStack, uploads: list[Upload], timeout_s: float = 900.0) -> list[dict[str, Any]]:
    """Upload each file (the notification fires on put) and wait until every job has ended."""
    s3 = boto3.client("s3")
    ledger = _ledger(stack)
    refs: list[tuple[Upload, ObjectRef]] = []
    raw = stack.names.bucket("raw")
    for up in uploads:
        with open(up.path, "rb") as fh:
            resp = s3.put_object(
                Bucket=raw, Key=up.key, Body=fh, Metadata={"assay": up.assay, "validation-profile": up.profile}
            )
        refs.append((up, ObjectRef(raw, up.key, resp.get("VersionId"))))
    deadline = time.monotonic() + timeout_s
    rows: list[dict[str, Any]] = []
    for up, ref in refs:
        job = _wait_job(ledger, ref.job_id(), deadline)
        rows.append(row(up, job))
    return rows


def _wait_job(ledger: Ledger, job_id: str, deadline: float) -> dict[str, Any]:
    from genomics.ledger.store import JobNotFound

    while True:
        try:
            job = ledger.get_job(job_id)
            if job["status"] in model.TERMINAL:
                return job
        except JobNotFound:
            job = {"job_id": job_id, "status": "MISSING", "reason": "no job was created (see the DLQ)"}
        if time.monotonic() > deadline:
            return {**job, "reason": f"still {job['status']} at the demo's deadline"}
        time.sleep(0.25)


def row(up: Upload, job: dict[str, Any]) -> dict[str, Any]:
    qc = job.get("qc") or {}
    summary = qc.get("summary") or {}
    outputs = {k: v for k, v in (job.get("outputs") or {}).items() if k != "bucket"}
    reason = reason_of(job) or job.get("reason")
    return {
        "sample_id": up.sample_id,
        "file": up.key,
        "status": job["status"],
        "reason": reason,
        "qc": {
            "verdict": qc.get("verdict"),
            "records": summary.get("records"),
            "snps": summary.get("snps"),
            "indels": summary.get("indels"),
            "ts_tv": summary.get("ts_tv"),
            "reads": summary.get("reads"),
        },
        "outputs": outputs,
        "job_id": job["job_id"],
    }


def render(rows: list[dict[str, Any]]) -> str:
    cols = ("sample", "file", "status", "records/reads", "snps", "indels", "ts/tv", "qc", "outputs")
    lines = []
    table = []
    for r in rows:
        q = r["qc"]
        table.append(
            [
                r["sample_id"],
                r["file"].rsplit("/", 1)[-1],
                r["status"],
                str(q["records"] if q["records"] is not None else q["reads"] if q["reads"] is not None else ""),
                "" if q["snps"] is None else str(q["snps"]),
                "" if q["indels"] is None else str(q["indels"]),
                "" if q["ts_tv"] is None else f"{q['ts_tv']:.2f}",
                q["verdict"] or "",
                ", ".join(v.rsplit("/", 1)[-1] for v in r["outputs"].values()),
            ]
        )
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    lines.append("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)))
    for t in table:
        lines.append("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)))
    for r in rows:
        if r["status"] != model.COMPLETED and r.get("reason"):
            lines.append(f"{r['file']}: {r['status']}: {r['reason']}")
    return "\n".join(lines)


def save_outputs(stack: LocalStack, rows: list[dict[str, Any]], out_dir: Path) -> Path:
    """Copy every output (normalised VCF, index, sidecar, MultiQC report) out of moto to ``out_dir``."""
    s3 = boto3.client("s3")
    bucket = stack.names.bucket("processed")
    for r in rows:
        for key in r["outputs"].values():
            dest = out_dir / r["sample_id"] / key.rsplit("/", 1)[-1]
            dest.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(dest))
    return out_dir


def api_call(names: Names, route_key: str, path: dict[str, str] | None = None,
             query: dict[str, str] | None = None) -> tuple[int, Any]:
    """Call the deployed status-api function as API Gateway (HTTP API, payload 2.0) would."""
    from genomics.status_api import gateway_event

    event = gateway_event(route_key, path, query, request_id="demo")
    resp = boto3.client("lambda").invoke(FunctionName=names.function("status-api"), Payload=json.dumps(event))
    out = json.loads(resp["Payload"].read())
    if "statusCode" not in out:
        raise RuntimeError(f"status-api failed: {out}")
    return int(out["statusCode"]), json.loads(out["body"])


def main(as_json: bool = False, out_dir: Path = ROOT / "out" / "demo", serve: bool = False) -> int:
    uploads = demo_uploads(out_dir / "inputs")
    with local_cloud() as cloud:
        names = Names(stack=DEMO_SETTINGS.stack, account_id=ACCOUNT_ID, region=REGION)
        from genomics.identity import local as identity_panel

        settings = identity_panel.with_panel(DEMO_SETTINGS, names)  # sample identity (docs/qc.md)
        stack = deploy(names, settings)
        identity_panel.install_panel(boto3.client("s3"), settings)
        if not as_json:
            print(f"moto server on {cloud.endpoint}; stack {names.prefix} deployed; uploading {len(uploads)} files")
        rows = run_uploads(stack, uploads)
        save_outputs(stack, rows, out_dir)
        from genomics.dashboard import render_dashboard

        # Outputs were copied to <out_dir>/<sample>/<file>; keys are <prefix>/<project>/<sample>/<sha>/<file>.
        page = render_dashboard(
            _ledger(stack),
            PROJECT,
            processed_bucket=names.bucket("processed"),
            link=lambda _bucket, key: f"{key.split('/')[2]}/{key.rsplit('/', 1)[-1]}",
        )
        (out_dir / "dashboard.html").write_text(page, encoding="utf-8")
        code, failures = api_call(names, "GET /failures", query={"since": "1h"})
        if serve:
            rc = report(as_json, rows, out_dir, code, failures)
            serve_web(stack, cloud.endpoint)
            return rc
    rc = report(as_json, rows, out_dir, code, failures)
    if not as_json:
        print("web app: `genomics local demo --serve` (what `make demo` runs in a terminal) serves it on this data")
    return rc


def serve_web(stack: LocalStack, endpoint: str) -> None:
    """After the demo: deliver its project to partner acme and serve the web app until Ctrl-C/SIGTERM."""
    from genomics.delivery import deliver
    from genomics.webapp import local as web

    names = stack.names
    deliver(_ledger(stack), boto3.client("s3"), project=PROJECT, partner="acme",
            delivery_bucket=names.bucket("delivery"), processed_bucket=names.bucket("processed"))
    app = web.start(stack, endpoint)
    print("\n" + web.banner(app) + f"\n(open it in a browser; Ctrl-C stops; pid {os.getpid()})", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping")
    finally:
        app.stop()


def report(as_json: bool, rows: list[dict[str, Any]], out_dir: Path, code: int, failures: dict[str, Any]) -> int:
    """Print the demo's rows (and where its outputs are); 1 when a job did not end."""
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(render(rows))
        print(
            f"\noutputs and MultiQC reports copied to {out_dir}/<sample>/; the project's status page is "
            f"{out_dir}/dashboard.html (open either in a browser)"
        )
        print(f"status API (the status-api function, called as API Gateway calls it): GET /failures?since=1h -> "
              f"{code}, {len(failures.get('jobs', []))} jobs: "
              + ", ".join(f"{j['sample_id']} {j['status']}" for j in failures.get("jobs", [])))
    stuck = [r for r in rows if r["status"] not in model.TERMINAL]
    return 1 if stuck else 0
