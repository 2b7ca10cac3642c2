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

Errors are JSON ``{"error": {"code", "message"}}`` with 400, 401, 403, 404, 409 or 429 (:data:`CODES`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from genomics import httpapi, status
from genomics.ledger import Ledger
from genomics.qc import gate
from genomics.webapp import deliveries, uploads
from genomics.webapp.core import (
    JOB,
    OPERATOR,
    STEWARD,
    TERMINAL_STATES,
    Context,
    Request,
    User,
    WebConfig,
    WebError,
    job_in,
    presign_get,
    project_of_request,
    require,
    sample_in,
    user_of,
)
from genomics.webapp.members import MemberNameError, Members
from genomics.webapp.throttle import RateLimited, Throttle
from genomics.webapp.uploads import PART_SIZE_MIN, part_size

__all__ = ["PART_SIZE_MIN", "ROUTES", "WebConfig", "WebError", "match_route", "part_size", "respond"]


CODES: dict[str, str] = {
    "WEB_UNAUTHENTICATED": "The request carries no verified Cognito access token (sign in again).",
    "WEB_FORBIDDEN": "You are not a member of this project, or your group may not do this.",
    "WEB_NOT_FOUND": "No such route, sample, job or output in this project.",
    "WEB_BAD_REQUEST": "A path parameter or field is missing or malformed (the message names it).",
    "WEB_JOB_RUNNING": "The job has not ended yet: reprocess it once it has.",
    "WEB_SAMPLE_NOT_DELIVERABLE": "A sample chosen for delivery has no completed, QC-passed job in this project "
    "(the message names it and why): deliver the samples the Deliver page lists.",
    "WEB_RATE_LIMITED": "Too many requests from this user in the current window (webRateLimit per webRateWindowS "
    "seconds): wait the Retry-After seconds and try again.",
    "WEB_PARTNER_UNKNOWN": "The partner is not registered with a Crypt4GH key: an operator registers it first "
    "(genomics partner add NAME --pubkey FILE).",
}
# The QC table's per-content summary item (genomics.qc.service.SUMMARY_METRIC; not imported: that module
# pulls the QC toolchain into the web function's cold start; a test keeps them equal).
QC_SUMMARY_METRIC = "_summary"


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
    return sample_in(ctx, project, r.param("sample_id"))


def _job(ctx: Context, r: Request) -> Any:
    project = project_of_request(ctx, r)
    return job_in(ctx, project, r.param("job_id", JOB))


def _qc(ctx: Context, r: Request) -> Any:
    """Each QC'd content of the sample: its metrics against the assay's thresholds, the verdict and the
    deciding metric, and a link to its MultiQC report."""
    project = project_of_request(ctx, r)
    sample_id = r.param("sample_id")
    sample_in(ctx, project, sample_id)
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
    job = job_in(ctx, project, r.param("job_id", JOB))
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



# ------------------------------------------------------------------------------------------ members
def _members(ctx: Context, r: Request) -> Any:
    project = project_of_request(ctx, r)
    return {"project": project, "members": ctx.members.members_of(project=project)}


def _member_change(add: bool) -> Callable[[Context, Request], Any]:
    def change(ctx: Context, r: Request) -> Any:
        project = project_of_request(ctx, r)
        require(ctx, STEWARD)
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
    require(ctx, STEWARD, OPERATOR)
    job = job_in(ctx, project, r.param("job_id", JOB))
    if job.get("status") not in TERMINAL_STATES:
        raise WebError(409, "WEB_JOB_RUNNING", f"job {job['job_id']} is {job.get('status')}: wait until it ends")
    if ctx.start_task is None:
        raise RuntimeError("no task runner configured")
    ctx.start_task({"task": "reprocess", "job_id": job["job_id"], "actor": f"web:{ctx.user.username}"})
    return {"job_id": job["job_id"], "accepted": True}


def _cost(ctx: Context, r: Request) -> Any:
    project = project_of_request(ctx, r)
    require(ctx, OPERATOR)
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


ROUTES: dict[str, Callable[[Context, Request], Any]] = {
    "GET /api/me": _me,
    "GET /api/projects/{project}": _project,
    "GET /api/projects/{project}/samples/{sample_id}": _sample,
    "GET /api/projects/{project}/samples/{sample_id}/qc": _qc,
    "GET /api/projects/{project}/jobs/{job_id}": _job,
    "GET /api/projects/{project}/jobs/{job_id}/downloads": _downloads,
    "POST /api/projects/{project}/jobs/{job_id}/reprocess": _reprocess,
    "GET /api/projects/{project}/report": _cohort,
    "GET /api/projects/{project}/cost": _cost,
    "GET /api/projects/{project}/members": _members,
    "PUT /api/projects/{project}/members/{username}": _member_change(add=True),
    "DELETE /api/projects/{project}/members/{username}": _member_change(add=False),
    **uploads.ROUTES,
    **deliveries.ROUTES,
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
    return httpapi.json_response(status_code, body, {"x-content-type-options": "nosniff", **(headers or {})})


def respond(event: Mapping[str, Any], ledger: Ledger, members: Members, s3: Any, config: WebConfig,
            start_task: Callable[[dict[str, Any]], None] | None = None, throttle: Throttle | None = None
            ) -> tuple[dict[str, Any], User | None]:
    """One API Gateway v2 event of an ``/api`` route -> (response, the caller when known). Each caller's
    requests are counted first (``throttle``: 429 with Retry-After past the limit). AWS failures propagate
    (the handler logs them and answers 500)."""
    user: User | None = None
    try:
        user = user_of(event)
        if throttle is not None:
            try:
                throttle.hit(user.sub)
            except RateLimited as e:
                raise WebError(429, e.code, str(e), {"retry-after": str(e.retry_after_s)}) from e
        route = str(event.get("routeKey") or "")
        answer = ROUTES.get(route)
        if answer is None:
            raise WebError(404, "WEB_NOT_FOUND", f"no route {route!r}")
        ctx = Context(ledger=ledger, members=members, s3=s3, config=config, user=user, start_task=start_task)
        return json_response(200, answer(ctx, Request.from_event(event))), user
    except WebError as e:
        return json_response(e.status_code, e.body(), e.headers), user
