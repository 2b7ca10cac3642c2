"""The Web UI: one static, self-contained HTML page per project, built from ledger queries only.

The page has a header (project, generation time, one coloured badge per job status), one row per
file's latest job (sample, key, format, status, QC verdict and the metric that decided it, the reason
a job did not complete, records in/out, estimated cost, outputs) and the project's deliveries.

Every value is escaped with ``html.escape``; the page carries a Content-Security-Policy that forbids
scripts and every external resource (inline CSS only), so a hostile file name or error message cannot
run anything in a steward's browser. Outputs are links made by ``link(bucket, key)`` (e.g. presigned
GET URLs) or, without it, plain ``s3://bucket/key`` text.

Reads use only keys and indexes (``jobs_for_project``: jobs by-project; ``samples_in_project``:
metadata by-project; ``deliveries``: PROJECT#<p> items; ``qc_for_sample``: the QC table by sample),
never Scan.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from genomics.deployment import REPORTS_PREFIX
from genomics.errors import reraise_transient
from genomics.ledger import Ledger, model
from genomics.status import latest_jobs, reason_of

CODES: dict[str, str] = {
    "DASHBOARD_PUBLISH_FAILED": "the dashboard page could not be written to the processed bucket",
    "DASHBOARD_LINK_FAILED": "a presigned URL for an output could not be made",
}

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
_DASH = '<span class="muted">&mdash;</span>'
_VERDICT_CLASS = {"pass": "v-pass", "warn": "v-warn", "fail": "v-fail"}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


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


def _path(key: str) -> str:
    """An escaped key that may wrap after each '/' (and nowhere else unless it must)."""
    return "/<wbr>".join(_e(part) for part in key.split("/"))


def _when(ts: Any) -> str:
    if not ts:
        return _DASH
    text = str(ts)
    day, _, clock = text[:19].partition("T")
    zone = " UTC" if text.endswith("Z") else ""
    return (
        f'<time datetime="{_e(text)}" title="{_e(text)}"><span class="d">{_e(day)}</span> '
        f'<span class="t">{_e(clock)}{zone}</span></time>'
    )


def _badge(status: str, count: int | None = None) -> str:
    bg, fg = _COLOURS.get(status, _UNKNOWN)
    label = _e(status)
    if count is not None:
        zero = " zero" if count == 0 else ""
        return (
            f'<span class="badge{zero}" style="background:{bg};color:{fg}">{label}<span class="n">{count}</span></span>'
        )
    return f'<span class="badge" style="background:{bg};color:{fg}">{label}</span>'


def _output_links(job: Mapping[str, Any], link: Link | None, processed_bucket: str | None) -> str:
    outputs = job.get("outputs") or {}
    bucket = outputs.get("bucket") or processed_bucket
    parts: list[str] = []
    for attr, label in OUTPUTS:
        key = outputs.get(attr)
        if not key:
            continue
        if attr == "index_key":
            label = str(key).rsplit(".", 1)[-1].upper()  # TBI or CSI
        if bucket and link is not None:
            try:
                url = link(str(bucket), str(key))
            except (BotoCoreError, ClientError) as e:
                raise LinkError(f"no link for s3://{bucket}/{key}: {e}") from e
            parts.append(f'<a class="out" href="{_e(url)}" title="{_e(key)}" rel="noopener noreferrer">{_e(label)}</a>')
        else:
            # The file name shows; the whole location (long bucket names, content hashes) unfolds.
            where = f"s3://{bucket}/{key}" if bucket else str(key)
            parts.append(
                f'<details class="out-text"><summary><span class="lbl">{_e(label)}</span> '
                f"<code>{_e(str(key).rsplit('/', 1)[-1])}</code></summary>"
                f'<code class="uri">{_path(where)}</code></details>'
            )
    return " ".join(parts) if parts else _DASH


def _records(job: Mapping[str, Any]) -> str:
    r_in, r_out = job.get("records_in"), job.get("records_out")
    if r_in is not None or r_out is not None:
        return f"{_e(_number(r_in)) or '?'} &rarr; {_e(_number(r_out)) or '?'}"
    summary = (job.get("qc") or {}).get("summary") or {}
    for name in ("records", "reads"):
        if summary.get(name) is not None:
            return f'{_e(_number(summary[name]))} <span class="muted">{name}</span>'
    return _DASH


def _qc_cell(job: Mapping[str, Any], deciding_value: Any) -> str:
    qc = job.get("qc") or {}
    verdict = qc.get("verdict") or job.get("qc_verdict")
    if not verdict:
        return _DASH
    cls = _VERDICT_CLASS.get(str(verdict), "v-other")
    cell = f'<span class="verdict {cls}">{_e(verdict)}</span>'
    metric = qc.get("deciding_metric")
    if metric:
        value = "" if deciding_value is None else f" = {_e(_number(deciding_value))}"
        cell += f'<div class="metric">{_e(metric)}{value}</div>'
    for finding in (qc.get("identity") or {}).get("findings") or []:
        samples = ", ".join(str(s) for s in finding.get("samples") or [])
        cell += (f'<div class="identity" title="{_e(finding.get("message"))}"><code>{_e(finding.get("code"))}'
                 f'</code> {_e(samples)}</div>')
    return cell


def _cost(job: Mapping[str, Any]) -> str:
    usd = (job.get("cost") or {}).get("usd")
    if usd is None:
        return _DASH
    return f"${float(usd):.6f}"


def _warnings_cell(job: Mapping[str, Any]) -> str:
    """The job's conformance report: how many warnings (and under which profile), each code's count, and
    the first warnings with their line and record."""
    conf = job.get("conformance") or {}
    total = int(conf.get("warning_count") or 0)
    if not conf:
        return _DASH
    if not total:
        return f'<span class="muted">none ({_e(conf.get("profile"))})</span>'
    codes = ", ".join(f"{_e(c)}&times;{int(n)}" for c, n in (conf.get("codes") or {}).items())
    items = []
    for w in conf.get("warnings") or []:
        where = " ".join(
            f"{label} {_e(w.get(k))}" for label, k in (("line", "line"), ("record", "record")) if w.get(k) is not None
        )
        items.append(f"<li><code>{_e(w.get('code'))}</code> {_e(where)}: {_e(w.get('message'))}</li>")
    more = '<li class="muted">&hellip; more in the job record</li>' if conf.get("truncated") else ""
    return (
        f'<details class="warnings"><summary>{total} ({_e(conf.get("profile"))})</summary>'
        f'<div class="codes">{codes}</div><ul>{"".join(items)}{more}</ul></details>'
    )


def _job_row(job: Mapping[str, Any], link: Link | None, processed_bucket: str | None, deciding: Any) -> str:
    status = str(job.get("status") or "UNKNOWN")
    reason = reason_of(job)
    key = str(job.get("key") or "")
    cells = [
        f'<td class="sample">{_e(job.get("sample_id"))}</td>',
        f'<td class="key"><code title="{_e(job.get("file_id"))}">{_path(key)}</code></td>',
        f"<td>{_e(job.get('format')) or _DASH}</td>",
        f"<td>{_badge(status)}</td>",
        f'<td class="qc">{_qc_cell(job, deciding)}</td>',
        f'<td class="reason">{_e(reason) if reason else _DASH}</td>',
        f'<td class="num">{_records(job)}</td>',
        f'<td class="num">{_cost(job)}</td>',
        f'<td class="when">{_when(job.get("updated_at"))}</td>',
        f'<td class="outputs">{_output_links(job, link, processed_bucket)}</td>',
        f'<td class="conformance">{_warnings_cell(job)}</td>',
    ]
    return (
        f'<tr class="job s-{_e(status.lower())}" data-job-id="{_e(job.get("job_id"))}" '
        f'data-status="{_e(status)}">' + "".join(cells) + "</tr>"
    )


def _chips(samples: Iterable[Any], cls: str) -> str:
    items = [f'<span class="chip {cls}">{_e(s)}</span>' for s in samples]
    return " ".join(items) if items else '<span class="muted">none</span>'


def _unfinished(d: Mapping[str, Any]) -> str:
    """A delivery that started and did not complete (``genomics deliver`` again resumes it)."""
    status = d.get("status")
    return "" if status in (None, "complete") else f' <span class="chip held">{_e(status)}</span>'


def _delivery_row(d: Mapping[str, Any]) -> str:
    delivered = list(d.get("samples") or [])
    withheld = list(d.get("withheld") or [])
    return (
        '<tr class="delivery">'
        f'<td class="partner">{_e(d.get("partner"))}</td>'
        f'<td class="when">{_when(d.get("at"))}{_unfinished(d)}</td>'
        f'<td class="delivered">{len(delivered)}: {_chips(delivered, "ok")}</td>'
        f'<td class="withheld">{len(withheld)}: {_chips(withheld, "held")}</td>'
        f'<td class="key"><code>{_e(d.get("manifest_key"))}</code></td>'
        "</tr>"
    )


# ------------------------------------------------------------------------------------------ page
_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:#1f2328;background:#f6f8fa}
header{background:#ffffff;border-bottom:1px solid #d0d7de;padding:18px 28px}
h1{margin:0 0 4px;font-size:22px;font-weight:600}
h1 .proj{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.sub{color:#57606a;font-size:13px}
.counts{margin-top:12px;display:flex;flex-wrap:wrap;gap:6px}
main{padding:18px 28px 40px}
section{background:#ffffff;border:1px solid #d0d7de;border-radius:8px;margin-bottom:22px;overflow-x:auto}
h2{font-size:15px;font-weight:600;margin:0;padding:12px 16px;border-bottom:1px solid #d0d7de;background:#f6f8fa}
table{border-collapse:collapse;width:100%}
th,td{padding:7px 10px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
th{font-size:12px;font-weight:600;color:#57606a;text-transform:uppercase;letter-spacing:.03em;background:#ffffff}
tr:last-child td{border-bottom:0}
tr.job:hover td,tr.delivery:hover td{background:#f6f8fa}
tr.s-failed td:first-child{box-shadow:inset 3px 0 0 #cf222e}
tr.s-qc_failed td:first-child{box-shadow:inset 3px 0 0 #bc4c00}
tr.s-rejected td:first-child{box-shadow:inset 3px 0 0 #8250df}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
td.sample{font-weight:600;white-space:nowrap}
td.key{min-width:150px;max-width:280px;overflow-wrap:break-word}
td.conformance{max-width:420px;font-size:13px}td.conformance ul{margin:4px 0;padding-left:16px}
td.reason{min-width:200px;max-width:420px;overflow-wrap:break-word;color:#57606a;font-size:13px}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.when{white-space:nowrap;font-size:13px;color:#57606a}
td.when .t{display:block}
td.outputs{min-width:150px}
.badge{display:inline-flex;align-items:center;gap:6px;border-radius:999px;padding:2px 10px;font-size:12px;
 font-weight:600;white-space:nowrap}
.badge .n{background:rgba(255,255,255,.25);border-radius:999px;padding:0 7px}
.badge.zero{opacity:.35}
.verdict{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600;text-transform:uppercase}
.v-pass{background:#dafbe1;color:#1a7f37}.v-warn{background:#fff8c5;color:#7d4e00}
.v-fail{background:#ffebe9;color:#cf222e}.v-other{background:#eaeef2;color:#57606a}
.metric{font-size:12px;color:#57606a;white-space:nowrap}
a.out{display:inline-block;margin:0 4px 2px 0;padding:1px 8px;border:1px solid #d0d7de;border-radius:6px;
 color:#0969da;text-decoration:none;font-size:12px;font-weight:600}
a.out:hover{background:#ddf4ff}
.out-text{font-size:12px;white-space:normal;max-width:300px;margin-bottom:3px}
.out-text summary{cursor:pointer}
.out-text summary code{overflow-wrap:anywhere}
.out-text code.uri{display:block;margin:2px 0 4px 14px;color:#57606a;overflow-wrap:anywhere}
.out-text .lbl{font-weight:600;color:#57606a}
.chip{display:inline-block;border-radius:4px;padding:0 6px;margin:1px 2px;font-size:12px}
.chip.ok{background:#dafbe1;color:#1a7f37}.chip.held{background:#fff1e5;color:#953800}
.muted{color:#8c959f}
.empty{padding:14px 16px;color:#57606a}
footer{color:#8c959f;font-size:12px;padding:0 28px 24px}
"""

# No script may run and nothing may load from anywhere (styles are inline): a hostile value in the
# ledger cannot execute even if escaping were ever missed.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def render_dashboard(
    ledger: Ledger,
    project: str,
    *,
    link: Link | None = None,
    generated_at: str | None = None,
    processed_bucket: str | None = None,
) -> str:
    """The project's dashboard as one self-contained HTML page.

    ``link(bucket, key)`` turns an output into a URL (e.g. a presigned GET); without it outputs are shown
    as ``s3://bucket/key`` text. ``processed_bucket`` is where outputs recorded without a bucket live
    (QC reports of reads and alignments). ``generated_at`` defaults to now (UTC, ISO 8601).
    """
    generated = generated_at or model.now_iso()
    all_jobs = ledger.jobs_for_project(project)
    jobs = latest_jobs(all_jobs)
    samples = ledger.samples_in_project(project)
    deliveries = sorted(ledger.deliveries(project), key=lambda d: str(d.get("at") or ""), reverse=True)
    deciding = _deciding_values(ledger, jobs)

    counts = {s: 0 for s in (model.COMPLETED, model.QC_FAILED, model.REJECTED, model.FAILED, *model.RUNNING)}
    for j in jobs:
        counts[str(j.get("status"))] = counts.get(str(j.get("status")), 0) + 1
    badges = "".join(_badge(s, n) for s, n in counts.items())
    sample_ids = {str(s.get("sample_id")) for s in samples} | {str(j.get("sample_id")) for j in jobs}
    total_usd = sum(float((j.get("cost") or {}).get("usd") or 0.0) for j in all_jobs)
    superseded = len(all_jobs) - len(jobs)

    head_cols = (
        "Sample",
        "File",
        "Format",
        "Status",
        "QC",
        "Reason",
        "Records in &rarr; out",
        "Est. cost",
        "Updated",
        "Outputs",
        "Warnings",
    )
    if jobs:
        rows = "\n".join(_job_row(j, link, processed_bucket, deciding.get(str(j.get("job_id")))) for j in jobs)
        job_table = (
            "<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in head_cols) + "</tr></thead>"
            f"<tbody>\n{rows}\n</tbody></table>"
        )
    else:
        job_table = f'<p class="empty">No jobs recorded for project {_e(project)}.</p>'

    if deliveries:
        drows = "\n".join(_delivery_row(d) for d in deliveries)
        delivery_table = (
            "<table><thead><tr><th>Partner</th><th>Delivered at</th><th>Delivered samples</th>"
            "<th>Withheld samples</th><th>Manifest</th></tr></thead>"
            f"<tbody>\n{drows}\n</tbody></table>"
        )
    else:
        delivery_table = '<p class="empty">No deliveries yet.</p>'

    expiry = " Output links may expire: regenerate the page for fresh ones." if link is not None else ""
    summary = (
        f"{len(sample_ids)} samples &middot; {len(jobs)} files &middot; {len(all_jobs)} jobs"
        + (f" ({superseded} superseded by a later run)" if superseded else "")
        + f" &middot; estimated cost ${total_usd:.6f}"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{_e(project)} &middot; genomics dashboard</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>Project <span class="proj">{_e(project)}</span></h1>
<div class="sub">Generated {_when(generated)} &middot; {summary}</div>
<div class="counts" id="counts">{badges}</div>
</header>
<main>
<section id="jobs"><h2>Files and their latest job</h2>
{job_table}
</section>
<section id="deliveries"><h2>Deliveries</h2>
{delivery_table}
</section>
</main>
<footer>Built from the sample ledger (DynamoDB queries by key and index).{expiry}</footer>
</body>
</html>
"""


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
    try:
        s3.put_object(
            Bucket=bucket, Key=key, Body=page.encode("utf-8"), ContentType=CONTENT_TYPE, CacheControl="no-store"
        )
    except ClientError as e:
        reraise_transient(e)
        raise PublishError(
            f"could not write s3://{bucket}/{key}: {e}; check the bucket name and that the "
            "caller may s3:PutObject under reports/"
        ) from e
    return key
