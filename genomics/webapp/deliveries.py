"""The web app's delivery routes: a steward delivers a project's QC-passed samples to a partner, follows the
delivery and reads its manifest; a partner user sees its partners' deliveries and downloads them.

=====================================================  ======================================================
route                                                  answer
=====================================================  ======================================================
``GET /api/projects/{project}/deliveries``             the project's deliveries, the samples that can be
                                                       delivered (latest job COMPLETED and QC-passed), the
                                                       withheld ones with the reason, the registered partners
``POST /api/projects/{project}/deliveries``            ``{"partner", "samples": [...]}``: queue a delivery
``GET /api/projects/{project}/deliveries/{delivery_id}``  its state and manifest (signed: checksum, signature)
``GET /api/partner/deliveries``                        a partner user's deliveries, each file presigned
=====================================================  ======================================================

Every project route needs the steward group and membership of the project. Starting a delivery checks on the
server that every chosen sample is deliverable (``WEB_SAMPLE_NOT_DELIVERABLE`` names the first that is not)
and that the partner is registered with a Crypt4GH key (``WEB_PARTNER_UNKNOWN``); the delivery itself copies
and encrypts objects and signs the manifest with KMS, so it runs in web-tasks (invoked asynchronously,
:mod:`genomics.webapp.tasks`) under a delivery id chosen here, recorded ``queued`` in the ledger first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from genomics.drs.selection import DELIVERY_ID, PARTNER_NAME, new_delivery_id, why_not
from genomics.drs.state import DeliveryState
from genomics.ledger import model
from genomics.status import latest_jobs
from genomics.webapp.core import (
    ID,
    MAX_SAMPLES,
    PARTNER,
    QUEUED,
    STEWARD,
    Context,
    Request,
    WebError,
    presign_get,
    project_of_request,
    require,
)


def _steward_project(ctx: Context, r: Request) -> str:
    project = project_of_request(ctx, r)
    require(ctx, STEWARD)
    return project


def deliverable(ctx: Context, project: str) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """(sample id -> its deliverable jobs, withheld jobs with the reason), from each file's latest job."""
    ok: dict[str, list[dict[str, Any]]] = {}
    withheld: list[dict[str, Any]] = []
    for job in latest_jobs(ctx.ledger.jobs_for_project(project)):
        row = {"sample_id": job["sample_id"], "job_id": job["job_id"], "status": job.get("status"),
               "file": str(job.get("key", "")).split("/", 2)[-1], "qc_verdict": job.get("qc_verdict")}
        why = why_not(job)
        if why is None:
            ok.setdefault(str(job["sample_id"]), []).append(row)
        else:
            withheld.append({**row, "reason": why})
    return ok, withheld


def _delivery_row(item: dict[str, Any]) -> dict[str, Any]:
    keep = ("partner", "status", "at", "started_at", "samples", "withheld", "samples_requested", "requested_by",
            "manifest_key", "manifest_sha256", "error")
    return {"delivery_id": str(item.get("sk", "")).removeprefix("DELIVERY#"), **{k: item.get(k) for k in keep}}


def _deliveries(ctx: Context, r: Request) -> Any:
    project = _steward_project(ctx, r)
    ok, withheld = deliverable(ctx, project)
    rows = sorted((_delivery_row(d) for d in ctx.ledger.deliveries(project)), key=lambda d: d["delivery_id"],
                  reverse=True)
    return {"project": project, "deliveries": rows,
            "samples": [{"sample_id": s, "jobs": jobs} for s, jobs in sorted(ok.items())], "withheld": withheld,
            "partners": sorted(str(p["partner"]) for p in DeliveryState(ctx.ledger).names())}


def _chosen_samples(r: Request) -> list[str]:
    samples = r.body.get("samples")
    if (not isinstance(samples, list) or not 1 <= len(samples) <= MAX_SAMPLES
            or not all(isinstance(s, str) and ID.match(s) for s in samples)):
        raise WebError(400, "WEB_BAD_REQUEST", f"samples: a list of 1 to {MAX_SAMPLES} sample ids")
    return sorted(set(samples))


def _start_delivery(ctx: Context, r: Request) -> Any:
    """Queue a delivery of QC-passed samples to a registered partner; web-tasks runs it."""
    project = _steward_project(ctx, r)
    partner = r.field("partner", PARTNER_NAME)
    samples = _chosen_samples(r)
    ok, withheld = deliverable(ctx, project)
    for sample in samples:
        if sample not in ok:
            reasons = sorted({str(w["reason"]) for w in withheld if w["sample_id"] == sample})
            raise WebError(409, "WEB_SAMPLE_NOT_DELIVERABLE", f"sample {sample!r} of project {project!r} has no "
                           f"QC-passed completed job ({'; '.join(reasons) or 'no such sample'})")
    if partner not in {str(p["partner"]) for p in DeliveryState(ctx.ledger).names()}:
        raise WebError(409, "WEB_PARTNER_UNKNOWN", f"partner {partner!r} is not registered: an operator registers "
                       f"it with its Crypt4GH key (genomics partner add {partner} --pubkey FILE)")
    if ctx.start_task is None:
        raise RuntimeError("no task runner configured")
    delivery_id, actor = new_delivery_id(), f"web:{ctx.user.username}"
    ctx.ledger.record_delivery(project, partner, delivery_id, {
        "status": QUEUED, "at": model.now_iso(), "requested_by": actor, "samples_requested": samples})
    ctx.start_task({"task": "deliver", "project": project, "partner": partner, "samples": samples,
                    "delivery_id": delivery_id, "actor": actor})
    return {"project": project, "partner": partner, "delivery_id": delivery_id, "samples": samples,
            "status": QUEUED, "accepted": True}


def _manifest(ctx: Context, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(ctx.s3.get_object(Bucket=ctx.config.delivery_bucket, Key=key)["Body"].read())
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def _delivery(ctx: Context, r: Request) -> Any:
    """One delivery of the project: the ledger's record and, once the worker wrote it, the manifest (with
    presigned links to it, its checksum file and the checksum's KMS signature)."""
    project = _steward_project(ctx, r)
    delivery_id = r.param("delivery_id", DELIVERY_ID)
    item = next((d for d in ctx.ledger.deliveries(project) if d.get("sk") == f"DELIVERY#{delivery_id}"), None)
    if item is None:
        raise WebError(404, "WEB_NOT_FOUND", f"no delivery {delivery_id!r} in project {project!r}")
    row = _delivery_row(item)
    key = str(item.get("manifest_key") or "")
    manifest = _manifest(ctx, key) if key.startswith("partners/") else None
    links: dict[str, Any] = {}
    if manifest is not None:
        row["status"] = manifest.get("status", row["status"])
        links["manifest"] = presign_get(ctx, ctx.config.delivery_bucket, key, key.rsplit("/", 1)[-1])
        if item.get("signature_key") and item.get("checksum_key"):
            for name in ("checksum", "signature"):
                signed = str(item[f"{name}_key"])
                links[name] = presign_get(ctx, ctx.config.delivery_bucket, signed, signed.rsplit("/", 1)[-1])
    return {"project": project, **row, "manifest": manifest, "links": links}

_MANIFEST = re.compile(
    r"^partners/([a-z0-9][a-z0-9-]{0,62})/([A-Za-z0-9][A-Za-z0-9._-]{0,127})/MANIFEST-([A-Za-z0-9_-]+)\.json$"
)


def _partner_deliveries(ctx: Context, r: Request) -> Any:
    """A partner user's deliveries: the manifests under its partner's prefix of the delivery bucket, each
    delivered object with a presigned URL. Only the partners the user is affiliated with (in the ledger)."""
    require(ctx, PARTNER)
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
    "GET /api/projects/{project}/deliveries": _deliveries,
    "POST /api/projects/{project}/deliveries": _start_delivery,
    "GET /api/projects/{project}/deliveries/{delivery_id}": _delivery,
    "GET /api/partner/deliveries": _partner_deliveries,
}
