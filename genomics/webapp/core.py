"""The web app's request core: the caller (from the verified token), the context a route gets, the request,
and the access checks every ``/api/projects/{project}/...`` route makes (:mod:`genomics.webapp.api` has the
route table; uploads and deliveries have modules of their own).

This core never trusts the URL for access: :func:`project_of_request` checks the caller's membership of the
path's project in the ledger, and :func:`sample_in` / :func:`job_in` that the sample or job named in the path
belongs to that project (a sample of another project answers exactly like a missing one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from genomics import httpapi, status
from genomics.ledger import Ledger, model
from genomics.ledger.store import JobNotFound
from genomics.webapp.members import Members

TERMINAL_STATES = frozenset((*model.TERMINAL, model.INGEST_FAILED))  # INGEST_FAILED: a dead-lettered upload
UPLOAD_ROLES = frozenset({"researcher", "technician", "steward"})
STEWARD, OPERATOR, PARTNER = "steward", "operator", "partner"
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
JOB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
# A web delivery: at most this many samples; its ledger status before web-tasks starts it, or when it gave up.
MAX_SAMPLES = 1000
QUEUED, FAILED = "queued", "failed"


class WebError(httpapi.HttpError):
    """A request answered with 400/401/403/404/409/429 and a ``WEB_*`` code (genomics.webapp.api.CODES)."""



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
class Request(httpapi.Request):
    error = WebError
    bad_request_code = "WEB_BAD_REQUEST"
    default_pattern = ID

    def field(self, name: str, pattern: re.Pattern[str] = ID) -> str:
        value = self.body.get(name)
        if not isinstance(value, str) or not pattern.match(value):
            raise WebError(400, "WEB_BAD_REQUEST", f"field {name}={value!r} is missing or malformed")
        return value


# ------------------------------------------------------------------------------------------ access
def forbidden(what: str) -> WebError:
    return WebError(403, "WEB_FORBIDDEN", what)


def project_of_request(ctx: Context, r: Request) -> str:
    """The path's project, after checking the caller is a member (partners never are)."""
    project = r.param("project")
    if ctx.user.has(PARTNER) and not ctx.user.has(STEWARD, "researcher", "technician", OPERATOR):
        raise forbidden("partner accounts see only their deliveries")
    if not ctx.members.is_member(ctx.user.username, project):
        raise forbidden(f"you are not a member of project {project!r}")
    return project


def require(ctx: Context, *groups: str) -> None:
    if not ctx.user.has(*groups):
        raise forbidden(f"this needs one of the groups {', '.join(groups)}")


def sample_in(ctx: Context, project: str, sample_id: str) -> dict[str, Any]:
    answer = status.sample_status(ctx.ledger, sample_id)
    # A sample of another project answers exactly like a missing one: nothing about B leaks to A.
    if not answer["found"] or answer.get("project") != project:
        raise WebError(404, "WEB_NOT_FOUND", f"no sample {sample_id!r} in project {project!r}")
    return answer


def job_in(ctx: Context, project: str, job_id: str) -> dict[str, Any]:
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

