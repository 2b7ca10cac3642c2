"""The web app's API: every route of the one-page app, behind API Gateway's Cognito JWT authorizer.

API Gateway has verified the access token (issuer, audience/client id, expiry, signature) before the
function runs; the claims arrive in ``requestContext.authorizer.jwt.claims``. This core never trusts the
URL for access: **every** ``/api/projects/{project}/...`` route checks the caller's membership of
``project`` in the ledger (:mod:`genomics.webapp.members`) and that the sample or job named in the path
belongs to that project, so a member of project A gets 403 for anything of project B whatever the URL.
Roles come from the Cognito groups (``cognito:groups``): uploading needs researcher/technician/steward,
managing members steward, cost operator; a partner user reaches only ``/api/partner/...``.

Presigned URLs live ``PRESIGN_TTL_S`` (<= 900 s) and name one object each. Upload keys are built here from
project, sample and file name (``<project>/<sample_id>/<file>``, the raw key layout), never taken from the
browser; the browser's SHA-256 and the assay travel as object metadata, and the sample page shows both the
browser's checksum and the one the pipeline recorded.

Errors are JSON ``{"error": {"code", "message"}}`` with 400, 401, 403 or 404 (:data:`CODES`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from genomics import status
from genomics.ledger import Ledger, model
from genomics.ledger.store import JobNotFound
from genomics.qc import gate
from genomics.webapp.members import MemberNameError, Members

CODES: dict[str, str] = {
    "WEB_UNAUTHENTICATED": "The request carries no verified Cognito access token (sign in again).",
    "WEB_FORBIDDEN": "You are not a member of this project, or your group may not do this.",
    "WEB_NOT_FOUND": "No such route, sample, job or output in this project.",
    "WEB_BAD_REQUEST": "A path parameter or field is missing or malformed (the message names it).",
    "WEB_JOB_RUNNING": "The job has not ended yet: reprocess it once it has.",
}

TERMINAL_STATES = frozenset((*model.TERMINAL, model.INGEST_FAILED))  # INGEST_FAILED: a dead-lettered upload
UPLOAD_ROLES = frozenset({"researcher", "technician", "steward"})
STEWARD, OPERATOR, PARTNER = "steward", "operator", "partner"
# Part size of browser uploads: 8 MiB, grown so that no file needs more than S3's 10,000 parts.
PART_SIZE_MIN = 8 * 1024 * 1024
MAX_PARTS = 10_000
# How many part URLs one request may ask for (the browser asks in batches as it goes).
PART_BATCH_MAX = 100
# The QC table's per-content summary item (genomics.qc.service.SUMMARY_METRIC; not imported: that module
# pulls the QC toolchain into the web function's cold start; a test keeps them equal).
QC_SUMMARY_METRIC = "_summary"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_JOB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9._~+/=-]{1,1024}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# A file name inside a sample: one segment, or a run folder's relative path (no "..", no empty segment).
_SEGMENT = re.compile(r"^[A-Za-z0-9._+-][A-Za-z0-9._+ -]{0,254}$")


class WebError(Exception):
    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message


@dataclass(frozen=True)
class User:
    """The caller, from the verified token's claims."""

    sub: str
    username: str
    groups: frozenset[str]

    def has(self, *groups: str) -> bool:
        return bool(self.groups.intersection(groups))


def _claim_list(value: Any) -> list[str]:
    """``cognito:groups`` as a list: API Gateway hands array claims over as ``"[a b]"``."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        return [g for g in re.split(r"[\s,]+", text) if g]
    return []


def user_of(event: Mapping[str, Any]) -> User:
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get("claims")
    if not isinstance(claims, Mapping) or not claims.get("sub"):
        raise WebError(401, "WEB_UNAUTHENTICATED", "sign in: no verified token reached the API")
    if claims.get("token_use") not in (None, "access"):
        raise WebError(401, "WEB_UNAUTHENTICATED", "send the access token, not the ID token")
    username = str(claims.get("username") or claims.get("cognito:username") or "")
    if not username:
        raise WebError(401, "WEB_UNAUTHENTICATED", "the token names no user")
    return User(sub=str(claims["sub"]), username=username, groups=frozenset(_claim_list(claims.get("cognito:groups"))))


@dataclass
class WebConfig:
    raw_bucket: str
    processed_bucket: str
    delivery_bucket: str = ""
    presign_ttl_s: int = 900
    qc_thresholds: str = ""

    def __post_init__(self) -> None:
        self.presign_ttl_s = min(int(self.presign_ttl_s), 900)


@dataclass
class Context:
    """What a route may use: the ledger, memberships, an S3 client (presigning), the stack's config and
    ``start_task`` (invokes web-tasks asynchronously with one task event)."""

    ledger: Ledger
    members: Members
    s3: Any
    config: WebConfig
    user: User
    start_task: Callable[[dict[str, Any]], None] | None = None


@dataclass(frozen=True)
class Request:
    path: Mapping[str, str]
    query: Mapping[str, str]
    body: Mapping[str, Any] = field(default_factory=dict)

    def param(self, name: str, pattern: re.Pattern[str] = _ID) -> str:
        value = self.path.get(name, "")
        if not isinstance(value, str) or not pattern.match(value):
            raise WebError(400, "WEB_BAD_REQUEST", f"{name} {value!r} is not a valid {name}")
        return value

    def field(self, name: str, pattern: re.Pattern[str] = _ID) -> str:
        value = self.body.get(name)
        if not isinstance(value, str) or not pattern.match(value):
            raise WebError(400, "WEB_BAD_REQUEST", f"field {name}={value!r} is missing or malformed")
        return value


# ------------------------------------------------------------------------------------------ access
def _forbidden(what: str) -> WebError:
    return WebError(403, "WEB_FORBIDDEN", what)


def project_of_request(ctx: Context, r: Request) -> str:
    """The path's project, after checking the caller is a member (partners never are)."""
    project = r.param("project")
    if ctx.user.has(PARTNER) and not ctx.user.has(STEWARD, "researcher", "technician", OPERATOR):
        raise _forbidden("partner accounts see only their deliveries")
    if not ctx.members.is_member(ctx.user.username, project):
        raise _forbidden(f"you are not a member of project {project!r}")
    return project


def _require(ctx: Context, *groups: str) -> None:
    if not ctx.user.has(*groups):
        raise _forbidden(f"this needs one of the groups {', '.join(groups)}")


def _sample_in(ctx: Context, project: str, sample_id: str) -> dict[str, Any]:
    answer = status.sample_status(ctx.ledger, sample_id)
    # A sample of another project answers exactly like a missing one: nothing about B leaks to A.
    if not answer["found"] or answer.get("project") != project:
        raise WebError(404, "WEB_NOT_FOUND", f"no sample {sample_id!r} in project {project!r}")
    return answer


def _job_in(ctx: Context, project: str, job_id: str) -> dict[str, Any]:
    try:
        job = status.job_status(ctx.ledger, job_id)
    except JobNotFound as e:
        raise WebError(404, "WEB_NOT_FOUND", f"no job {job_id!r} in project {project!r}") from e
    if job.get("project") != project:
        raise WebError(404, "WEB_NOT_FOUND", f"no job {job_id!r} in project {project!r}")
    return job


def presign_get(ctx: Context, bucket: str, key: str, filename: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if filename:
        params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
    url = ctx.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ctx.config.presign_ttl_s)
    return {"key": key, "url": url, "expires_in": ctx.config.presign_ttl_s}


# ------------------------------------------------------------------------------------------ routes
def _me(ctx: Context, r: Request) -> Any:
    return {"username": ctx.user.username, "sub": ctx.user.sub, "groups": sorted(ctx.user.groups),
            "projects": ctx.members.projects_of(ctx.user.username),
            "partners": ctx.members.partners_of(ctx.user.username),
            "assays": sorted(gate.load_thresholds(ctx.config.qc_thresholds or None))}


def _project(ctx: Context, r: Request) -> Any:
    project = project_of_request(ctx, r)
    answer = status.project_status(ctx.ledger, project)
    return answer


def _sample(ctx: Context, r: Request) -> Any:
    project = project_of_request(ctx, r)
    return _sample_in(ctx, project, r.param("sample_id"))


def _job(ctx: Context, r: Request) -> Any:
    project = project_of_request(ctx, r)
    return _job_in(ctx, project, r.param("job_id", _JOB))


def _qc(ctx: Context, r: Request) -> Any:
    """Each QC'd content of the sample: its metrics against the assay's thresholds, the verdict and the
    deciding metric, and a link to its MultiQC report."""
    project = project_of_request(ctx, r)
    sample_id = r.param("sample_id")
    _sample_in(ctx, project, sample_id)
    thresholds = gate.load_thresholds(ctx.config.qc_thresholds or None)
    groups: dict[str, dict[str, Any]] = {}
    for item in ctx.ledger.qc_for_sample(sample_id):
        if item.get("project") != project:
            continue
        prefix = str(item["metric_key"]).split("#", 1)[0]
        g = groups.setdefault(prefix, {"sha256": item.get("sha256"), "job_id": item.get("job_id"),
                                       "assay": item.get("assay"), "metrics": []})
        if item.get("metric") == QC_SUMMARY_METRIC:
            g.update({"verdict": item.get("verdict"), "deciding_metric": item.get("deciding_metric"),
                      "reasons": item.get("reasons") or [], "report_key": item.get("report_key")})
        else:
            band = (thresholds.get(str(item.get("assay"))) or {}).get(str(item.get("metric"))) or {}
            value = item.get("value")
            g["metrics"].append({"metric": item.get("metric"),
                                 "value": None if isinstance(value, float) and math.isnan(value) else value,
                                 "verdict": item.get("verdict"), "pass": band.get("pass"), "warn": band.get("warn")})
    results = []
    for g in groups.values():
        order = list((thresholds.get(str(g.get("assay"))) or {}).keys())
        g["metrics"].sort(key=lambda m: (order.index(m["metric"]) if m["metric"] in order else len(order),
                                         str(m["metric"])))
        report_key = g.pop("report_key", None)
        g["report"] = presign_get(ctx, ctx.config.processed_bucket, report_key) if report_key else None
        results.append(g)
    return {"project": project, "sample_id": sample_id, "results": results}


def _downloads(ctx: Context, r: Request) -> Any:
    """Presigned URLs (one object each) of a completed job's processed VCF, index and sidecar."""
    project = project_of_request(ctx, r)
    job = _job_in(ctx, project, r.param("job_id", _JOB))
    outputs = job.get("outputs") or {}
    files = []
    for kind in ("vcf_key", "index_key", "sidecar_key", "report_key"):
        key = outputs.get(kind)
        if not key or not str(key).startswith(("processed/", "reports/")):
            continue
        name = str(key).rsplit("/", 1)[-1]
        files.append({"kind": kind.removesuffix("_key"), "name": name,
                      **presign_get(ctx, ctx.config.processed_bucket, str(key), name)})
    if not files:
        raise WebError(404, "WEB_NOT_FOUND", f"job {job['job_id']} has no outputs ({job.get('status')})")
    return {"job_id": job["job_id"], "status": job.get("status"), "files": files}


def _cohort(ctx: Context, r: Request) -> Any:
    """The project's newest cohort MultiQC report (``genomics report`` builds it)."""
    project = project_of_request(ctx, r)
    prefix = f"reports/{project}/_cohort/"
    newest: tuple[Any, str] | None = None
    paginator = ctx.s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=ctx.config.processed_bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/multiqc_report.html") and (newest is None or obj["LastModified"] > newest[0]):
                newest = (obj["LastModified"], obj["Key"])
    if newest is None:
        raise WebError(404, "WEB_NOT_FOUND", f"project {project!r} has no cohort report yet "
                       f"(a steward builds it: genomics report {project})")
    return {"project": project, "report": presign_get(ctx, ctx.config.processed_bucket, newest[1])}


# ------------------------------------------------------------------------------------------ uploads
def file_name(value: Any) -> str:
    """A file name inside a sample: one name, or a run folder's relative path (``run/Data/...``)."""
    if not isinstance(value, str) or not value or len(value) > 1024:
        raise WebError(400, "WEB_BAD_REQUEST", f"file name {value!r} is missing or too long")
    parts = value.split("/")
    for part in parts:
        if part in (".", "..") or not _SEGMENT.match(part):
            raise WebError(400, "WEB_BAD_REQUEST", f"file name {value!r}: each part must be letters, digits, "
                           "'.', '_', '-', '+' or space (no empty, '.' or '..' parts)")
    return value


def part_size(size: int) -> int:
    return max(PART_SIZE_MIN, math.ceil(size / MAX_PARTS))


def _upload_target(ctx: Context, r: Request) -> tuple[str, str, str]:
    project = project_of_request(ctx, r)
    _require(ctx, *sorted(UPLOAD_ROLES))
    sample_id = r.field("sample_id")
    key = f"{project}/{sample_id}/{file_name(r.body.get('file'))}"
    return project, sample_id, key


def _open_upload(ctx: Context, key: str) -> dict[str, Any] | None:
    """The newest unfinished multipart upload of exactly this key (resume), or None."""
    resp = ctx.s3.list_multipart_uploads(Bucket=ctx.config.raw_bucket, Prefix=key)
    ups = [u for u in resp.get("Uploads", []) if u.get("Key") == key]
    return max(ups, key=lambda u: str(u.get("Initiated"))) if ups else None


def _done_parts(ctx: Context, key: str, upload_id: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    marker = 0
    while True:
        resp = ctx.s3.list_parts(Bucket=ctx.config.raw_bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)
        parts.extend({"PartNumber": p["PartNumber"], "ETag": p["ETag"], "Size": p.get("Size")}
                     for p in resp.get("Parts", []))
        if not resp.get("IsTruncated"):
            return parts
        marker = int(resp["NextPartNumberMarker"])


def _start_upload(ctx: Context, r: Request) -> Any:
    """Start (or resume) the multipart upload of one file: the key is built here; the assay and the
    browser's SHA-256 are stored as object metadata. Answers the parts already uploaded."""
    project, sample_id, key = _upload_target(ctx, r)
    assays = gate.load_thresholds(ctx.config.qc_thresholds or None)
    assay = str(r.body.get("assay") or "").lower()
    if assay not in assays:
        raise WebError(400, "WEB_BAD_REQUEST", f"assay {assay!r}: use one of {', '.join(sorted(assays))}")
    sha256 = r.field("sha256", _SHA256)
    size = r.body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= 5 * 1024**4:
        raise WebError(400, "WEB_BAD_REQUEST", f"size {size!r}: a whole number of bytes up to 5 TiB")
    resume = r.body.get("resume_upload_id")
    existing = _open_upload(ctx, key)
    if existing is not None and existing["UploadId"] == resume:
        upload_id = str(existing["UploadId"])
        done, resumed = _done_parts(ctx, key, upload_id), True
    else:
        if existing is not None:  # an abandoned upload of another content under this name
            ctx.s3.abort_multipart_upload(Bucket=ctx.config.raw_bucket, Key=key, UploadId=existing["UploadId"])
        upload_id = ctx.s3.create_multipart_upload(
            Bucket=ctx.config.raw_bucket, Key=key,
            Metadata={"assay": assay, "sha256": sha256, "uploaded-by": ctx.user.sub},
        )["UploadId"]
        done, resumed = [], False
    psize = part_size(size)
    return {"project": project, "sample_id": sample_id, "key": key, "upload_id": upload_id,
            "part_size": psize, "parts": max(1, math.ceil(size / psize)), "resumed": resumed,
            "done": [{"part": p["PartNumber"], "size": p["Size"]} for p in done]}


def _upload_parts(ctx: Context, r: Request) -> Any:
    """Presigned PUT URLs for some parts of an open upload of this project/sample/file (one object each)."""
    _, _, key = _upload_target(ctx, r)
    upload_id = r.field("upload_id", _UPLOAD_ID)
    numbers = r.body.get("parts")
    if (not isinstance(numbers, list) or not 1 <= len(numbers) <= PART_BATCH_MAX
            or not all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_PARTS for n in numbers)):
        raise WebError(400, "WEB_BAD_REQUEST", f"parts: a list of 1 to {PART_BATCH_MAX} part numbers 1-{MAX_PARTS}")
    open_up = _open_upload(ctx, key)
    if open_up is None or open_up["UploadId"] != upload_id:
        raise WebError(404, "WEB_NOT_FOUND", f"no open upload {upload_id!r} of {key}")
    urls = {
        str(n): ctx.s3.generate_presigned_url(
            "upload_part", Params={"Bucket": ctx.config.raw_bucket, "Key": key, "UploadId": upload_id,
                                   "PartNumber": n}, ExpiresIn=ctx.config.presign_ttl_s)
        for n in numbers
    }
    return {"key": key, "upload_id": upload_id, "urls": urls, "expires_in": ctx.config.presign_ttl_s}


def _complete_upload(ctx: Context, r: Request) -> Any:
    """Complete the upload from the parts S3 holds (the browser never handles ETags); the S3 event then
    starts the pipeline."""
    _, sample_id, key = _upload_target(ctx, r)
    upload_id = r.field("upload_id", _UPLOAD_ID)
    parts = _done_parts(ctx, key, upload_id)
    expected = r.body.get("parts")
    if not parts or (isinstance(expected, int) and len(parts) != expected):
        raise WebError(400, "WEB_BAD_REQUEST", f"{key}: S3 holds {len(parts)} parts, the file has {expected}")
    resp = ctx.s3.complete_multipart_upload(
        Bucket=ctx.config.raw_bucket, Key=key, UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]},
    )
    return {"key": key, "sample_id": sample_id, "version_id": resp.get("VersionId")}


# ------------------------------------------------------------------------------------------ members
def _members(ctx: Context, r: Request) -> Any:
    project = project_of_request(ctx, r)
    return {"project": project, "members": ctx.members.members_of(project=project)}


def _member_change(add: bool) -> Callable[[Context, Request], Any]:
    def change(ctx: Context, r: Request) -> Any:
        project = project_of_request(ctx, r)
        _require(ctx, STEWARD)
        username = r.param("username", re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"))
        try:
            if add:
                ctx.members.add(username, project=project, by=ctx.user.username)
            else:
                ctx.members.remove(username, project=project)
        except MemberNameError as e:
            raise WebError(400, "WEB_BAD_REQUEST", str(e)) from e
        return {"project": project, "members": ctx.members.members_of(project=project)}

    return change


def _reprocess(ctx: Context, r: Request) -> Any:
    """Steward or operator: run an ended job's upload through the pipeline again (web-tasks, asynchronously)."""
    project = project_of_request(ctx, r)
    _require(ctx, STEWARD, OPERATOR)
    job = _job_in(ctx, project, r.param("job_id", _JOB))
    if job.get("status") not in TERMINAL_STATES:
        raise WebError(409, "WEB_JOB_RUNNING", f"job {job['job_id']} is {job.get('status')}: wait until it ends")
    if ctx.start_task is None:
        raise RuntimeError("no task runner configured")
    ctx.start_task({"task": "reprocess", "job_id": job["job_id"], "actor": f"web:{ctx.user.username}"})
    return {"job_id": job["job_id"], "accepted": True}


def _cost(ctx: Context, r: Request) -> Any:
    project = project_of_request(ctx, r)
    _require(ctx, OPERATOR)
    since = r.query.get("since")
    try:
        parsed = status.parse_since(since) if since else None
    except ValueError as e:
        raise WebError(400, "WEB_BAD_REQUEST", f"since={since!r}: an ISO time or an age like 24h / 7d") from e
    answer = status.project_cost(ctx.ledger, project, parsed)
    failures = [j for j in ctx.ledger.jobs_for_project(project)
                if j.get("status") in ("FAILED", "REJECTED", "QC_FAILED", "INGEST_FAILED")
                and (parsed is None or str(j.get("updated_at", "")) >= parsed)]
    answer["failures"] = [status.job_row(j) for j in sorted(failures, key=lambda j: str(j.get("updated_at")),
                                                             reverse=True)]
    return answer


_MANIFEST = re.compile(
    r"^partners/([a-z0-9][a-z0-9-]{0,62})/([A-Za-z0-9][A-Za-z0-9._-]{0,127})/MANIFEST-([A-Za-z0-9_-]+)\.json$"
)


def _partner_deliveries(ctx: Context, r: Request) -> Any:
    """A partner user's deliveries: the manifests under its partner's prefix of the delivery bucket, each
    delivered object with a presigned URL. Only the partners the user is affiliated with (in the ledger)."""
    _require(ctx, PARTNER)
    partners = ctx.members.partners_of(ctx.user.username)
    deliveries: list[dict[str, Any]] = []
    paginator = ctx.s3.get_paginator("list_objects_v2")
    for partner in partners:
        prefix = f"partners/{partner}/"
        for page in paginator.paginate(Bucket=ctx.config.delivery_bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found = _MANIFEST.match(obj["Key"])
                if not found or found.group(1) != partner:
                    continue
                doc = json.loads(ctx.s3.get_object(Bucket=ctx.config.delivery_bucket, Key=obj["Key"])["Body"].read())
                files = []
                for entry in doc.get("delivered") or []:
                    for o in entry.get("objects") or []:
                        key = str(o.get("key") or "")
                        if key.startswith(prefix):
                            files.append({"sample_id": entry.get("sample_id"), "role": o.get("role"),
                                          "name": key.rsplit("/", 1)[-1],
                                          **presign_get(ctx, ctx.config.delivery_bucket, key, key.rsplit("/", 1)[-1])})
                deliveries.append({"partner": partner, "project": found.group(2), "delivery_id": found.group(3),
                                   "status": doc.get("status"), "started_at": doc.get("started_at"),
                                   "completed_at": doc.get("completed_at"), "files": files,
                                   "manifest": presign_get(ctx, ctx.config.delivery_bucket, obj["Key"])})
    deliveries.sort(key=lambda d: str(d.get("started_at")), reverse=True)
    return {"partners": partners, "deliveries": deliveries}


ROUTES: dict[str, Callable[[Context, Request], Any]] = {
    "GET /api/me": _me,
    "GET /api/partner/deliveries": _partner_deliveries,
    "GET /api/projects/{project}": _project,
    "GET /api/projects/{project}/samples/{sample_id}": _sample,
    "GET /api/projects/{project}/samples/{sample_id}/qc": _qc,
    "GET /api/projects/{project}/jobs/{job_id}": _job,
    "GET /api/projects/{project}/jobs/{job_id}/downloads": _downloads,
    "POST /api/projects/{project}/jobs/{job_id}/reprocess": _reprocess,
    "GET /api/projects/{project}/report": _cohort,
    "GET /api/projects/{project}/cost": _cost,
    "POST /api/projects/{project}/uploads": _start_upload,
    "POST /api/projects/{project}/uploads/parts": _upload_parts,
    "POST /api/projects/{project}/uploads/complete": _complete_upload,
    "GET /api/projects/{project}/members": _members,
    "PUT /api/projects/{project}/members/{username}": _member_change(add=True),
    "DELETE /api/projects/{project}/members/{username}": _member_change(add=False),
}


def match_route(method: str, path: str, routes: Mapping[str, Any] | None = None
                ) -> tuple[str, dict[str, str]] | None:
    """``("GET", "/api/projects/p1")`` -> ``("GET /api/projects/{project}", {"project": "p1"})``, as API
    Gateway matches a request to a route (a parameter is one path segment; literal routes win)."""
    segments = path.split("/")
    best: tuple[int, str, dict[str, str]] | None = None
    for route in routes if routes is not None else ROUTES:
        r_method, template = route.split(" ", 1)
        t_segments = template.split("/")
        if r_method != method or len(t_segments) != len(segments):
            continue
        params: dict[str, str] = {}
        literal = 0
        for t, s in zip(t_segments, segments, strict=True):
            if t.startswith("{") and t.endswith("}"):
                if not s:
                    break
                params[t[1:-1]] = s
            elif t == s:
                literal += 1
            else:
                break
        else:
            if best is None or literal > best[0]:
                best = (literal, route, params)
    return (best[1], best[2]) if best else None


def json_response(status_code: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status_code,
        "headers": {"content-type": "application/json", "cache-control": "no-store",
                    "x-content-type-options": "nosniff", **(headers or {})},
        "body": json.dumps(body, default=str, sort_keys=True),
    }


def _body(event: Mapping[str, Any]) -> dict[str, Any]:
    raw = event.get("body")
    if not raw:
        return {}
    if event.get("isBase64Encoded"):
        import base64

        raw = base64.b64decode(raw).decode("utf-8", "replace")
    try:
        body = json.loads(raw)
    except (TypeError, ValueError) as e:
        raise WebError(400, "WEB_BAD_REQUEST", "the request body is not JSON") from e
    if not isinstance(body, dict):
        raise WebError(400, "WEB_BAD_REQUEST", "the request body must be a JSON object")
    return body


def respond(event: Mapping[str, Any], ledger: Ledger, members: Members, s3: Any, config: WebConfig,
            start_task: Callable[[dict[str, Any]], None] | None = None) -> tuple[dict[str, Any], User | None]:
    """One API Gateway v2 event of an ``/api`` route -> (response, the caller when known). AWS failures
    propagate (the handler logs them and answers 500)."""
    user: User | None = None
    try:
        user = user_of(event)
        route = str(event.get("routeKey") or "")
        answer = ROUTES.get(route)
        if answer is None:
            raise WebError(404, "WEB_NOT_FOUND", f"no route {route!r}")
        request = Request(path=dict(event.get("pathParameters") or {}),
                          query=dict(event.get("queryStringParameters") or {}), body=_body(event))
        ctx = Context(ledger=ledger, members=members, s3=s3, config=config, user=user, start_task=start_task)
        return json_response(200, answer(ctx, request)), user
    except WebError as e:
        return json_response(e.status_code, {"error": {"code": e.code, "message": e.message}}), user
