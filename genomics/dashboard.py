"""The Web UI: one static, self-contained HTML page per project, built from ledger queries only.

The page has a header (project, generation time, one coloured badge per job status), one row per
file's latest job (sample, key, format, status, QC verdict and the metric that decided it, the reason
a job did not complete, records in/out, estimated cost, outputs) and the project's deliveries.

The page is the jinja2 template ``templates/dashboard.html.j2`` (package data) with autoescape on: every
value from the ledger is escaped; the page carries a Content-Security-Policy that forbids
scripts and every external resource (inline CSS only), so a hostile file name or error message cannot
run anything in a steward's browser. Outputs are links made by ``link(bucket, key)`` (e.g. presigned
GET URLs) or, without it, plain ``s3://bucket/key`` text.

Reads use only keys and indexes (``jobs_for_project``: jobs by-project; ``samples_in_project``:
metadata by-project; ``deliveries``: PROJECT#<p> items; ``qc_for_sample``: the QC table by sample),
never Scan.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from botocore.exceptions import BotoCoreError, ClientError

from genomics.deployment import REPORTS_PREFIX
from genomics.errors import aws_call
from genomics.ledger import Ledger, model
from genomics.status import latest_jobs, reason_of

CONTENT_TYPE = "text/html; charset=utf-8"

Link = Callable[[str, str], str]


CODES: dict[str, str] = {
    "DASHBOARD_ERROR": "the dashboard could not be rendered (see the message)",
    "DASHBOARD_PUBLISH_FAILED": "S3 refused the upload of the dashboard page",
    "DASHBOARD_LINK_FAILED": "a presigned URL for an output could not be made (credentials or configuration)",
}


class DashboardError(Exception):
    code = "DASHBOARD_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        if code:
            self.code = code
        super().__init__(message)


class PublishError(DashboardError):
    """S3 refused the upload of the page."""

    code = "DASHBOARD_PUBLISH_FAILED"


class LinkError(DashboardError):
    """A presigned URL could not be made (bad credentials or configuration)."""

    code = "DASHBOARD_LINK_FAILED"


# Output attributes of a job (genomics.ledger.updater.finalize) and their labels, in display order.
OUTPUTS: tuple[tuple[str, str], ...] = (("vcf_key", "VCF"), ("index_key", "index"), ("report_key", "MultiQC"))

# Badge colours per status: (background, text).
_COLOURS: dict[str, tuple[str, str]] = {
    model.COMPLETED: ("#1a7f37", "#ffffff"),
    model.QC_FAILED: ("#bc4c00", "#ffffff"),
    model.REJECTED: ("#8250df", "#ffffff"),
    model.FAILED: ("#cf222e", "#ffffff"),
    model.RECEIVED: ("#57606a", "#ffffff"),
    model.VALIDATING: ("#0969da", "#ffffff"),
    model.PROCESSING: ("#0969da", "#ffffff"),
    model.QC: ("#0969da", "#ffffff"),
}
_UNKNOWN = ("#6e7781", "#ffffff")
_VERDICT_CLASS = {"pass": "v-pass", "warn": "v-warn", "fail": "v-fail"}

@functools.cache
def _environment() -> jinja2.Environment:
    """genomics/templates (package data), autoescaped; a missing value renders as nothing."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("genomics", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=lambda value: "" if value is None else value,
        keep_trailing_newline=True,
    )


# ------------------------------------------------------------------------------------------ rows
def _deciding_values(ledger: Ledger, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """job_id -> value of the metric that decided its QC verdict (QC table, one query per sample)."""
    wanted: dict[str, list[dict[str, Any]]] = {}
    for j in jobs:
        qc = j.get("qc") or {}
        if qc.get("deciding_metric") and j.get("sha256") and j.get("sample_id"):
            wanted.setdefault(str(j["sample_id"]), []).append(j)
    out: dict[str, Any] = {}
    for sample_id, sample_jobs in wanted.items():
        items = {str(i.get("metric_key")): i.get("value") for i in ledger.qc_for_sample(sample_id)}
        for j in sample_jobs:
            key = f"{str(j.get('result_id') or j['sha256'])[:16]}#{j['qc']['deciding_metric']}"
            if key in items:
                out[str(j["job_id"])] = items[key]
    return out


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _badge(status: str, count: int | None = None) -> dict[str, Any]:
    bg, fg = _COLOURS.get(status, _UNKNOWN)
    return {"status": status, "bg": bg, "fg": fg, "count": count}


def _outputs(job: Mapping[str, Any], link: Link | None, processed_bucket: str | None) -> list[dict[str, Any]]:
    """The job's outputs: a URL from ``link``, or (without it) the file name and its s3:// location."""
    outputs = job.get("outputs") or {}
    bucket = outputs.get("bucket") or processed_bucket
    found: list[dict[str, Any]] = []
    for attr, label in OUTPUTS:
        key = outputs.get(attr)
        if not key:
            continue
        if attr == "index_key":
            label = str(key).rsplit(".", 1)[-1].upper()  # TBI or CSI
        url = None
        if bucket and link is not None:
            try:
                url = link(str(bucket), str(key))
            except (BotoCoreError, ClientError) as e:
                raise LinkError(f"no link for s3://{bucket}/{key}: {e}") from e
        where = f"s3://{bucket}/{key}" if bucket else str(key)
        found.append({"label": label, "url": url, "key": key, "name": str(key).rsplit("/", 1)[-1], "where": where})
    return found


def _records(job: Mapping[str, Any]) -> dict[str, Any] | None:
    r_in, r_out = job.get("records_in"), job.get("records_out")
    if r_in is not None or r_out is not None:
        return {"count_in": _number(r_in), "count_out": _number(r_out), "unit": None}
    summary = (job.get("qc") or {}).get("summary") or {}
    for name in ("records", "reads"):
        if summary.get(name) is not None:
            return {"count": _number(summary[name]), "unit": name}
    return None


def _qc(job: Mapping[str, Any], deciding_value: Any) -> dict[str, Any] | None:
    qc = job.get("qc") or {}
    verdict = qc.get("verdict") or job.get("qc_verdict")
    if not verdict:
        return None
    findings = [
        {"code": f.get("code"), "message": f.get("message"),
         "samples": ", ".join(str(s) for s in f.get("samples") or [])}
        for f in (qc.get("identity") or {}).get("findings") or []
    ]
    return {
        "verdict": verdict,
        "cls": _VERDICT_CLASS.get(str(verdict), "v-other"),
        "metric": qc.get("deciding_metric"),
        "value": None if deciding_value is None else _number(deciding_value),
        "findings": findings,
    }


def _cost(job: Mapping[str, Any]) -> str | None:
    usd = (job.get("cost") or {}).get("usd")
    return None if usd is None else f"${float(usd):.6f}"


def _conformance(job: Mapping[str, Any]) -> dict[str, Any] | None:
    """The job's conformance report: how many warnings (and under which profile), each code's count, and
    the first warnings with their line and record."""
    conf = job.get("conformance") or {}
    if not conf:
        return None
    warnings = [
        {
            "code": w.get("code"),
            "message": w.get("message"),
            "where": " ".join(
                f"{label} {w.get(k)}" for label, k in (("line", "line"), ("record", "record")) if w.get(k) is not None
            ),
        }
        for w in conf.get("warnings") or []
    ]
    return {
        "total": int(conf.get("warning_count") or 0),
        "profile": conf.get("profile"),
        "codes": [(c, int(n)) for c, n in (conf.get("codes") or {}).items()],
        "warnings": warnings,
        "truncated": bool(conf.get("truncated")),
    }


def _warnings_cell(job: Mapping[str, Any]) -> str:
    """The Warnings cell of one job (markup): the template's conformance macro."""
    return str(_environment().get_template("dashboard_macros.html.j2").module.conformance(_conformance(job)))


def _job_view(job: Mapping[str, Any], link: Link | None, processed_bucket: str | None, deciding: Any) -> dict[str, Any]:
    status = str(job.get("status") or "UNKNOWN")
    return {
        "job_id": job.get("job_id"),
        "status": status,
        "badge": _badge(status),
        "sample_id": job.get("sample_id"),
        "file_id": job.get("file_id"),
        "key": str(job.get("key") or ""),
        "format": job.get("format"),
        "qc": _qc(job, deciding),
        "reason": reason_of(job),
        "records": _records(job),
        "cost": _cost(job),
        "updated_at": job.get("updated_at"),
        "outputs": _outputs(job, link, processed_bucket),
        "conformance": _conformance(job),
    }


def _delivery_view(d: Mapping[str, Any]) -> dict[str, Any]:
    status = d.get("status")
    return {
        "partner": d.get("partner"),
        "at": d.get("at"),
        # A delivery that started and did not complete (``genomics deliver`` again resumes it).
        "unfinished": None if status in (None, "complete") else status,
        "delivered": list(d.get("samples") or []),
        "withheld": list(d.get("withheld") or []),
        "manifest_key": d.get("manifest_key"),
    }


# ------------------------------------------------------------------------------------------ page
def render_dashboard(
    ledger: Ledger,
    project: str,
    *,
    link: Link | None = None,
    generated_at: str | None = None,
    processed_bucket: str | None = None,
) -> str:
    """The project's dashboard as one self-contained HTML page (templates/dashboard.html.j2).

    ``link(bucket, key)`` turns an output into a URL (e.g. a presigned GET); without it outputs are shown
    as ``s3://bucket/key`` text. ``processed_bucket`` is where outputs recorded without a bucket live
    (QC reports of reads and alignments). ``generated_at`` defaults to now (UTC, ISO 8601).
    """
    all_jobs = ledger.jobs_for_project(project)
    jobs = latest_jobs(all_jobs)
    samples = ledger.samples_in_project(project)
    deliveries = sorted(ledger.deliveries(project), key=lambda d: str(d.get("at") or ""), reverse=True)
    deciding = _deciding_values(ledger, jobs)

    counts = {s: 0 for s in (model.COMPLETED, model.QC_FAILED, model.REJECTED, model.FAILED, *model.RUNNING)}
    for j in jobs:
        counts[str(j.get("status"))] = counts.get(str(j.get("status")), 0) + 1
    sample_ids = {str(s.get("sample_id")) for s in samples} | {str(j.get("sample_id")) for j in jobs}
    return _environment().get_template("dashboard.html.j2").render(
        project=project,
        generated=generated_at or model.now_iso(),
        badges=[_badge(s, n) for s, n in counts.items()],
        samples=len(sample_ids),
        all_jobs=len(all_jobs),
        superseded=len(all_jobs) - len(jobs),
        total_usd=sum(float((j.get("cost") or {}).get("usd") or 0.0) for j in all_jobs),
        jobs=[_job_view(j, link, processed_bucket, deciding.get(str(j.get("job_id")))) for j in jobs],
        deliveries=[_delivery_view(d) for d in deliveries],
        expiring_links=link is not None,
    )


def dashboard_key(project: str) -> str:
    return f"{REPORTS_PREFIX}/{project}/dashboard.html"


_SIGV4_ID = "genomics-dashboard-sigv4"


def _sigv4_presign(signature_version: Any = None, **_: Any) -> str | None:
    """choose-signer handler: SigV4 query signing instead of botocore's SigV2 default for presigns."""
    if isinstance(signature_version, str) and signature_version.endswith("-query") and "v4a" not in signature_version:
        return "s3v4-query"
    return None


def publish_dashboard(ledger: Ledger, s3: Any, *, project: str, bucket: str, expires_s: int = 3600) -> str:
    """Render with presigned GET URLs (valid ``expires_s``) for the outputs and upload the page to
    ``reports/<project>/dashboard.html`` in the processed bucket ``bucket``. Returns the key."""

    def presign(b: str, k: str) -> str:
        return str(s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": k}, ExpiresIn=expires_s))

    # botocore presigns S3 URLs with SigV2 unless the client was configured for s3v4; SSE-KMS objects
    # (the buckets' default with ``kms`` on) only accept SigV4. Ask for SigV4 while this page is made.
    s3.meta.events.register_first("choose-signer.s3.GetObject", _sigv4_presign, unique_id=_SIGV4_ID)
    try:
        page = render_dashboard(ledger, project, link=presign, processed_bucket=bucket)
    finally:
        s3.meta.events.unregister("choose-signer.s3.GetObject", unique_id=_SIGV4_ID)
    key = dashboard_key(project)
    with aws_call(permanent=lambda e: PublishError(f"could not write s3://{bucket}/{key}: {e}; check the bucket "
                                                   "name and that the caller may s3:PutObject under reports/")):
        s3.put_object(
            Bucket=bucket, Key=key, Body=page.encode("utf-8"), ContentType=CONTENT_TYPE, CacheControl="no-store"
        )
    return key
