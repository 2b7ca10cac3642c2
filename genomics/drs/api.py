"""The partner routes of the status API: GA4GH DRS 1.x (read-only) and the receipt of a delivery.

=======================================================  ================================================
route                                                    answer
=======================================================  ================================================
``GET /ga4gh/drs/v1/service-info``                       GA4GH service-info (type org.ga4gh:drs:1.2.0)
``GET /ga4gh/drs/v1/objects/{object_id}``                a DrsObject: size, sha-256 checksum, access method
``GET /ga4gh/drs/v1/objects/{object_id}/access/{access_id}``  an AccessURL: a presigned HTTPS GET (<= 15 min)
``GET /partner/deliveries``                              the caller's deliveries, manifest ids, states
``POST /partner/deliveries/{delivery_id}/receipt``       ``{"manifest_sha256": ...}``: acknowledge receipt
=======================================================  ================================================

Who calls: a partner's role (``<prefix>-partner-<name>``, assumable only from the partner's AWS account),
through the IAM-authorised HTTP API; API Gateway puts the caller's ARN in
``requestContext.authorizer.iam.userArn``. The partner is read from that ARN and every lookup is under
``PARTNER#<name>``: a partner reaches its own deliveries only, and any other object answers 404 exactly
like a missing one. Objects are the Crypt4GH-encrypted files, the manifest and its signature; the bytes
are fetched with the presigned URL (no bucket access is granted to partner accounts).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from genomics.drs.selection import DELIVERY_ID
from genomics.drs.state import DeliveryState, DeliveryUnknown, DigestMismatch, object_counts
from genomics.httpapi import HttpError, Request, json_response

DRS_VERSION = "1.2.0"
ACCESS_ID = "https"
CODES: dict[str, str] = {
    "DRS_FORBIDDEN": "the caller is not a partner role of this stack (<prefix>-partner-<name>)",
    "DRS_NOT_FOUND": "no such DRS object, access method or delivery for this partner",
    "DRS_BAD_REQUEST": "a path parameter or the request body is malformed (the message names it)",
}
_OBJECT_ID = re.compile(r"^[0-9a-f]{32}$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_ASSUMED_ROLE = re.compile(r"^arn:[a-z-]+:sts::\d{12}:assumed-role/(?P<role>[^/]+)/[^/]+$")


class DrsError(HttpError):
    def body(self) -> dict[str, Any]:
        """DRS's error shape (``msg``, ``status_code``) plus our ``error.code``."""
        return {"msg": self.message, "status_code": self.status_code, **super().body()}


@dataclass(frozen=True)
class DrsRequest(Request):
    error = DrsError
    bad_request_code = "DRS_BAD_REQUEST"


@dataclass(frozen=True)
class DrsConfig:
    """What the routes need beyond the ledger: the stack's prefix (partner role names), the region, how
    long access URLs live."""

    prefix: str
    region: str
    presign_ttl_s: int = 900

    @classmethod
    def from_env(cls) -> DrsConfig:
        from genomics.deployment import PROJECT

        return cls(prefix=f"{PROJECT}-{os.environ['STACK']}", region=os.environ.get("AWS_REGION", "us-east-1"),
                   presign_ttl_s=min(int(os.environ.get("PRESIGN_TTL_S", "900")), 900))


@dataclass
class Context:
    state: DeliveryState
    s3: Any
    config: DrsConfig
    partner: str
    host: str
    request: DrsRequest

    def param(self, name: str, pattern: re.Pattern[str]) -> str:
        return self.request.param(name, pattern)


def partner_of(event: Mapping[str, Any], prefix: str) -> str:
    """The partner a request comes from: its IAM caller is an assumed ``<prefix>-partner-<name>`` role."""
    iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
    match = _ASSUMED_ROLE.match(str(iam.get("userArn") or ""))
    role = match.group("role") if match else ""
    head = f"{prefix}-partner-"
    if not role.startswith(head) or len(role) == len(head):
        raise DrsError(403, "DRS_FORBIDDEN", "only a partner role of this stack may call the partner routes")
    return role[len(head):]


def _object(ctx: Context, object_id: str) -> dict[str, Any]:
    obj = ctx.state.object(ctx.partner, object_id)
    if obj is None:
        raise DrsError(404, "DRS_NOT_FOUND", f"no DRS object {object_id!r}")
    return obj


def drs_object(obj: Mapping[str, Any], host: str, region: str) -> dict[str, Any]:
    """A ledger object as a DRS 1.x DrsObject."""
    created = str(obj.get("delivered_at") or "")
    what = f"{obj.get('role')} of sample {obj['sample_id']}" if obj.get("sample_id") else str(obj.get("role"))
    return {
        "id": obj["id"],
        "name": obj["name"],
        "self_uri": f"drs://{host}/{obj['id']}",
        "size": int(obj["size"]),
        "created_time": created,
        "updated_time": str(obj.get("acknowledged_at") or obj.get("downloaded_at") or created),
        "version": str(obj["sha256"])[:16],
        "mime_type": {"manifest": "application/json", "checksum": "text/plain"}.get(
            str(obj.get("role")), "application/octet-stream"),
        "checksums": [{"type": "sha-256", "checksum": obj["sha256"]}],
        "access_methods": [{"type": "https", "access_id": ACCESS_ID, "region": region}],
        "description": f"delivery {obj['delivery_id']} of project {obj['project']}: {what}"
        + (" (Crypt4GH-encrypted for your key)" if obj.get("plain_sha256") else ""),
        "aliases": [obj["key"]],
    }


def _get_object(ctx: Context) -> Any:
    return drs_object(_object(ctx, ctx.param("object_id", _OBJECT_ID)), ctx.host, ctx.config.region)


def _access(ctx: Context) -> Any:
    obj = _object(ctx, ctx.param("object_id", _OBJECT_ID))
    if ctx.request.path.get("access_id") != ACCESS_ID:
        raise DrsError(404, "DRS_NOT_FOUND", f"object {obj['id']} has one access method: {ACCESS_ID!r}")
    url = ctx.s3.generate_presigned_url(
        "get_object", ExpiresIn=ctx.config.presign_ttl_s,
        Params={"Bucket": obj["bucket"], "Key": obj["key"],
                "ResponseContentDisposition": f'attachment; filename="{obj["name"]}"'})
    ctx.state.mark_downloaded(ctx.partner, str(obj["id"]))
    return {"url": url, "headers": []}


def _service_info(ctx: Context) -> Any:
    return {
        "id": f"org.genomics-platform.{ctx.config.prefix}.drs",
        "name": f"{ctx.config.prefix} partner deliveries",
        "type": {"group": "org.ga4gh", "artifact": "drs", "version": DRS_VERSION},
        "description": "Read-only DRS over this platform's Crypt4GH-encrypted partner deliveries",
        "organization": {"name": ctx.config.prefix, "url": f"https://{ctx.host}"},
        "version": "1",
    }


def delivery_view(d: Mapping[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    """A delivery's state as the partner and the operators see it."""
    return {"delivery_id": d["delivery_id"], "project": d["project"], "state": d.get("state"),
            "delivered_at": d.get("delivered_at"), "acknowledged_at": d.get("acknowledged_at"),
            "manifest_drs_id": d.get("manifest_drs_id"), "checksum_drs_id": d.get("checksum_drs_id"),
            "signature_drs_id": d.get("signature_drs_id"),
            "manifest_sha256": d.get("manifest_sha256"), "objects": object_counts(objects)}


def _deliveries(ctx: Context) -> Any:
    return {"partner": ctx.partner, "deliveries": [
        delivery_view(d, ctx.state.objects(ctx.partner, str(d["delivery_id"])))
        for d in ctx.state.deliveries(ctx.partner)]}


def _receipt(ctx: Context) -> Any:
    delivery_id = ctx.param("delivery_id", DELIVERY_ID)
    digest = ctx.request.body.get("manifest_sha256")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise DrsError(400, "DRS_BAD_REQUEST", "manifest_sha256: the SHA-256 (64 hex digits) of MANIFEST-<id>.json")
    try:
        d = ctx.state.acknowledge(ctx.partner, delivery_id, digest)
    except DeliveryUnknown as e:
        raise DrsError(404, "DRS_NOT_FOUND", str(e)) from e
    except DigestMismatch as e:
        raise DrsError(409, e.code, str(e)) from e
    return delivery_view(d, ctx.state.objects(ctx.partner, delivery_id))


ROUTES: dict[str, Callable[[Context], Any]] = {
    "GET /ga4gh/drs/v1/service-info": _service_info,
    "GET /ga4gh/drs/v1/objects/{object_id}": _get_object,
    "GET /ga4gh/drs/v1/objects/{object_id}/access/{access_id}": _access,
    "GET /partner/deliveries": _deliveries,
    "POST /partner/deliveries/{delivery_id}/receipt": _receipt,
}


def respond(event: Mapping[str, Any], state: DeliveryState, s3: Any, config: DrsConfig) -> dict[str, Any]:
    """One API Gateway v2 event of a partner route -> one response (DRS errors: ``msg`` and
    ``status_code``, plus our ``error.code``). Ledger failures propagate (the handler answers 500)."""
    try:
        route = ROUTES.get(str(event.get("routeKey") or ""))
        if route is None:
            raise DrsError(404, "DRS_NOT_FOUND", f"no route {event.get('routeKey')!r}")
        partner = partner_of(event, config.prefix)
        rc = event.get("requestContext") or {}
        host = str(rc.get("domainName") or (event.get("headers") or {}).get("host") or "localhost")
        ctx = Context(state=state, s3=s3, config=config, partner=partner, host=host,
                      request=DrsRequest.from_event(event))
        return json_response(200, route(ctx))
    except DrsError as e:
        return json_response(e.status_code, e.body())
