"""The web app's upload routes: multipart uploads straight from the browser to the raw bucket.

Upload keys are built here from project, sample and file name (``<project>/<sample_id>/<file>``, the raw key
layout), never taken from the browser; the browser's SHA-256 and the assay travel as object metadata. Part
URLs are presigned for one part of one object each and live ``PRESIGN_TTL_S`` (<= 900 s). An upload resumes:
starting it again with its upload id answers the parts S3 already holds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from genomics.qc import gate
from genomics.webapp.core import UPLOAD_ROLES, Context, Request, WebError, project_of_request, require

# Part size of browser uploads: 8 MiB, grown so that no file needs more than S3's 10,000 parts.
PART_SIZE_MIN = 8 * 1024 * 1024
MAX_PARTS = 10_000
# How many part URLs one request may ask for (the browser asks in batches as it goes).
PART_BATCH_MAX = 100
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9._~+/=-]{1,1024}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# A file name inside a sample: one segment, or a run folder's relative path (no "..", no empty segment).
_SEGMENT = re.compile(r"^[A-Za-z0-9._+-][A-Za-z0-9._+ -]{0,254}$")


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
    require(ctx, *sorted(UPLOAD_ROLES))
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


ROUTES: dict[str, Callable[[Context, Request], Any]] = {
    "POST /api/projects/{project}/uploads": _start_upload,
    "POST /api/projects/{project}/uploads/parts": _upload_parts,
    "POST /api/projects/{project}/uploads/complete": _complete_upload,
}
