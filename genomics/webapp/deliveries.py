"""The web app's delivery routes: a steward delivers a project's QC-passed samples to a partner (the work
runs in web-tasks), follows it and reads its manifest; a partner user sees its partners' deliveries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from genomics.webapp.core import PARTNER, Context, Request, presign_get, require

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
    "GET /api/partner/deliveries": _partner_deliveries,
}
