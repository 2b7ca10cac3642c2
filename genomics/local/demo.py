"""`genomics local demo`: the whole pipeline on moto server on this machine, on real files.

Deploys the stack description into moto server (buckets, tables, the functions, the S3 notification,
the dead-letter queue and the state machine), uploads real data — the 1000 Genomes chr21 VCF from
Debian's bio-eagle-examples (BGZF), 1kg.vcf.gz from PyPI's pyvcf3 (plain gzip), lambda-phage reads from
bowtie2-examples, a BAM and an invalid VCF from the shared corpus — and waits for every job to end.
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

from genomics.deployment import Names, Settings
from genomics.ledger import Ledger, ObjectRef, model
from genomics.local.deploy import LocalStack, deploy
from genomics.local.server import ACCOUNT_ID, REGION, local_cloud
from genomics.status import reason_of

PROJECT = "demo"
ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
# A VCF from the hts-specs suite whose records violate the spec (see the demo's REJECTED row).
INVALID_VCF = "vcf/4.2/failed/failed_body_sample_001.vcf"
DEMO_SETTINGS = Settings(stack="local", scatter_threshold_bytes=500_000, scatter_region_bases=20_000_000)


class DemoDataMissing(RuntimeError):
    code = "DEMO_DATA_MISSING"


@dataclass(frozen=True)
class Upload:
    path: Path
    sample_id: str
    assay: str = "wgs"
    profile: str = "strict"

    @property
    def key(self) -> str:
        return f"{PROJECT}/{self.sample_id}/{self.path.name}"


def _pyvcf_1kg() -> Path:
    spec = importlib.util.find_spec("vcf")
    if spec is None or not spec.submodule_search_locations:
        raise DemoDataMissing("pyvcf3 is not installed: pip install pyvcf3 (it ships 1kg.vcf.gz)")
    return Path(next(iter(spec.submodule_search_locations))) / "test" / "1kg.vcf.gz"


def demo_uploads() -> list[Upload]:
    eur = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")
    reads = Path("/usr/share/doc/bowtie2/examples/reads/reads_1.fq.gz")
    uploads = [
        Upload(eur, "EUR_chr21", assay="cohort"),
        # The 1000 Genomes pilot header declares FORMAT GQ as Float (spec: Integer): legacy profile.
        Upload(_pyvcf_1kg(), "1kg_multi", assay="cohort", profile="legacy"),
        Upload(reads, "lambda_phage"),
        Upload(CORPUS / "bam" / "passed" / "level-1.bam", "chrM_reads", assay="panel"),
        Upload(CORPUS / INVALID_VCF, "broken_upload"),
    ]
    missing = [str(u.path) for u in uploads if not u.path.exists()]
    if missing:
        raise DemoDataMissing(
            "demo data not found: "
            + ", ".join(missing)
            + " (make demo installs bio-eagle-examples, bowtie2-examples and pyvcf3; the corpus is ../shared)"
        )
    return uploads


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
    from genomics.api import gateway_event

    event = gateway_event(route_key, path, query, request_id="demo")
    resp = boto3.client("lambda").invoke(FunctionName=names.function("status-api"), Payload=json.dumps(event))
    out = json.loads(resp["Payload"].read())
    if "statusCode" not in out:
        raise RuntimeError(f"status-api failed: {out}")
    return int(out["statusCode"]), json.loads(out["body"])


def main(as_json: bool = False, out_dir: Path = ROOT / "out" / "demo") -> int:
    uploads = demo_uploads()
    with local_cloud() as cloud:
        names = Names(stack=DEMO_SETTINGS.stack, account_id=ACCOUNT_ID, region=REGION)
        stack = deploy(names, DEMO_SETTINGS)
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


def serve() -> int:
    """Deploy locally and keep moto server up so the CLI can be tried against it."""
    with local_cloud() as cloud:
        names = Names(stack=DEMO_SETTINGS.stack, account_id=ACCOUNT_ID, region=REGION)
        deploy(names, DEMO_SETTINGS)
        print(
            f"export AWS_ENDPOINT_URL={cloud.endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            f"AWS_DEFAULT_REGION={REGION} GENOMICS_STACK={names.stack}"
        )
        print(f"then: genomics upload FILE PROJECT SAMPLE; genomics status SAMPLE  (Ctrl-C stops; pid {os.getpid()})")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping")
    return 0
