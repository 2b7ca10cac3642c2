"""The read-only status API: the ledger's answers over HTTPS (API Gateway HTTP API, IAM-authorised).

The same questions ``genomics status`` answers, for callers that are not on a shell: a LIMS, a
notebook, a partner portal. Every route is a key or index lookup in the ledger (never a scan):

=========================================  ==========================================================
route                                      answer (``genomics.status``)
=========================================  ==========================================================
``GET /samples/{sample_id}``               files, jobs (with the reason of anything not COMPLETED), QC
``GET /jobs/{job_id}``                     one job: history, steps, cost, error and cause
``GET /projects/{project}``                samples, deliveries, a page of jobs (``?limit=``, ``?next=``)
``GET /projects/{project}/cost``           estimated spend (``?since=`` ISO time or an age: 30d)
``GET /projects/{project}/failing/{metric}``  samples whose QC failed on that metric
``GET /failures``                          jobs that failed (FAILED, REJECTED, QC_FAILED) since ``?since=``
                                           (newest first, at most ``?limit=``; ``truncated`` says if more)
=========================================  ==========================================================

:func:`respond` maps an API Gateway (payload format 2.0) event to a response; errors are JSON
``{"error": {"code", "message"}}`` with 400 (a bad parameter), 404 (no such route, job or sample) or
500 (the ledger failed; the details are logged, not returned). The route table is data
(:data:`ROUTES`): the Pulumi program declares exactly these routes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from genomics import httpapi, status
from genomics.ledger import Ledger
from genomics.ledger.store import JobNotFound

CODES: dict[str, str] = {
    "API_ROUTE_UNKNOWN": "The status API has no such route (see genomics/status_api.py for the routes).",
    "API_BAD_PARAMETER": "A path or query parameter is missing or malformed (e.g. since= is not an ISO date).",
    "API_NOT_FOUND": "No job or sample with that id in the ledger.",
    "API_INTERNAL": "The ledger could not be read; the function's log has the details under the request id.",
}

# Path parameters: ids as the pipeline makes them (printable, no slash), bounded in length.
_ID = re.compile(r"^[A-Za-z0-9._:@+=-][A-Za-z0-9._:@+=#-]{0,254}$")
_METRIC = re.compile(r"^[a-z0-9_]{1,64}$")
# List answers: how many items a page holds by default and at most (?limit=), well under the 6 MB a
# Lambda response may be.
PAGE_DEFAULT, PAGE_MAX = 100, 1000
# The attributes of a jobs "by-project" index key: what a ?next= cursor may hold.
_CURSOR_KEYS = frozenset({"job_id", "project", "created_at"})


class ApiError(httpapi.HttpError):
    """A request the API answers with an error status (not a failure of the API itself)."""


@dataclass(frozen=True)
class Request(httpapi.Request):
    error = ApiError
    bad_request_code = "API_BAD_PARAMETER"
    default_pattern = _ID

    def limit(self) -> int:
        value = self.query.get("limit", str(PAGE_DEFAULT))
        if not value.isdigit() or not 1 <= int(value) <= PAGE_MAX:
            raise ApiError(400, "API_BAD_PARAMETER", f"limit={value!r}: a whole number from 1 to {PAGE_MAX}")
        return int(value)

    def cursor(self, project: str) -> dict[str, Any] | None:
        """``?next=``: where the previous page of this project's jobs ended (as the API returned it)."""
        token = self.query.get("next")
        if token is None:
            return None
        try:
            key = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        except (binascii.Error, ValueError) as e:
            raise ApiError(400, "API_BAD_PARAMETER", "next= is not a cursor this API returned") from e
        valid = (isinstance(key, dict) and set(key) == _CURSOR_KEYS
                 and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
                 and key["project"]["S"] == project)
        if not valid:
            raise ApiError(400, "API_BAD_PARAMETER", f"next= is not a cursor of project {project!r}")
        return key

    def since(self, *, required: bool) -> str | None:
        """``since=`` as the ledger's timestamp (ISO 8601, or an age like 24h / 7d)."""
        value = self.query.get("since")
        if value is None:
            if required:
                raise ApiError(400, "API_BAD_PARAMETER", "since= is required (ISO 8601 time, or an age: 24h, 7d)")
            return None
        try:
            return status.parse_since(value)
        except ValueError as e:
            raise ApiError(400, "API_BAD_PARAMETER", f"since={value!r} is not an ISO 8601 time or an age "
                           "like 24h / 7d") from e


def _sample(ledger: Ledger, r: Request) -> Any:
    answer = status.sample_status(ledger, r.param("sample_id"))
    if not answer["found"]:
        raise ApiError(404, "API_NOT_FOUND", f"no sample {answer['sample_id']!r} in the ledger")
    return answer


def _job(ledger: Ledger, r: Request) -> Any:
    job_id = r.param("job_id")
    try:
        return status.job_status(ledger, job_id)
    except JobNotFound as e:
        raise ApiError(404, "API_NOT_FOUND", f"no job {job_id!r} in the ledger") from e


def _cursor(key: Mapping[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=") if key else None


def _project(ledger: Ledger, r: Request) -> Any:
    project = r.param("project")
    answer, last = status.project_page(ledger, project, r.limit(), r.cursor(project))
    return {**answer, "next": _cursor(last)}


def _capped(items: list[Any], limit: int) -> dict[str, Any]:
    """``limit`` of ``items`` (read as ``limit + 1``: one more says whether there were more)."""
    return {"truncated": len(items) > limit, "limit": limit}


def _failing(ledger: Ledger, r: Request) -> Any:
    project, metric, limit = r.param("project"), r.param("metric", _METRIC), r.limit()
    samples = ledger.samples_failing(project, metric, limit + 1)
    return {"project": project, "metric": metric, "samples": samples[:limit], **_capped(samples, limit)}


def _failures(ledger: Ledger, r: Request) -> Any:
    since, limit = str(r.since(required=True)), r.limit()
    jobs = status.failures(ledger, since, limit + 1)  # newest first
    return {"since": since, "jobs": jobs[:limit], **_capped(jobs, limit)}


ROUTES: dict[str, Callable[[Ledger, Request], Any]] = {
    "GET /samples/{sample_id}": _sample,
    "GET /jobs/{job_id}": _job,
    "GET /projects/{project}": _project,
    "GET /projects/{project}/cost": lambda ledger, r: status.project_cost(
        ledger, r.param("project"), r.since(required=False)
    ),
    "GET /projects/{project}/failing/{metric}": _failing,
    "GET /failures": _failures,
}


def gateway_event(route_key: str, path: Mapping[str, str] | None = None, query: Mapping[str, str] | None = None,
                  request_id: str = "local") -> dict[str, Any]:
    """The event API Gateway (HTTP API, payload format 2.0) hands the function for one request: how the
    local mode and the tests call the deployed function as API Gateway would."""
    method, template = route_key.split(" ", 1)
    raw_path = template
    for name, value in (path or {}).items():
        raw_path = raw_path.replace("{" + name + "}", value)
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": route_key, "rawPath": raw_path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {"host": "local.execute-api.localhost"},
        "requestContext": {"http": {"method": method, "path": raw_path}, "requestId": request_id,
                           "routeKey": route_key, "stage": "$default"},
        "isBase64Encoded": False,
    }
    if path:  # API Gateway leaves out what a request does not have
        event["pathParameters"] = dict(path)
    if query:
        event["queryStringParameters"] = dict(query)
    return event


def respond(event: Mapping[str, Any], ledger: Ledger) -> dict[str, Any]:
    """One API Gateway v2 event -> one response. Ledger failures propagate (the handler logs them and
    answers 500); request errors become 400/404 JSON answers."""
    route = str(event.get("routeKey") or "")
    try:
        answer = ROUTES.get(route)
        if answer is None:
            raise ApiError(404, "API_ROUTE_UNKNOWN", f"no route {route!r}; routes: {sorted(ROUTES)}")
        return httpapi.json_response(200, answer(ledger, Request.from_event(event, with_body=False)))
    except ApiError as e:
        return httpapi.json_response(e.status_code, e.body())


def server_error(request_id: str | None) -> dict[str, Any]:
    """What a caller sees when the ledger failed: no internals, the request id to quote."""
    return httpapi.json_response(500, {"error": {"code": "API_INTERNAL", "message": "the ledger could not be read; "
                                     f"quote request id {request_id or '-'} to the operators"}})
