"""Delivery to partners: copy a project's QC-passed outputs into the delivery bucket, with a manifest.

Only jobs that ended COMPLETED (eligible_for_delivery) are delivered; QC_FAILED, FAILED and REJECTED
samples are listed as withheld with their reason. Partners read ``partners/<partner>/<project>/...``
(the Pulumi program grants each configured partner account read access to its own prefix).
"""

from __future__ import annotations

import json
import re
from typing import Any

from genomics.ledger import Ledger, model
from genomics.status import latest_jobs, reason_of

_PARTNER = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class DeliveryError(Exception):
    code = "DELIVERY_ERROR"


def deliver(
    ledger: Ledger,
    s3: Any,
    *,
    project: str,
    partner: str,
    delivery_bucket: str,
    delivery_id: str,
    samples: set[str] | None = None,
) -> dict[str, Any]:
    if not _PARTNER.match(partner):
        raise DeliveryError(f"partner name {partner!r} must be lower-case letters, digits and '-'")
    delivered: list[dict[str, Any]] = []
    withheld: list[dict[str, Any]] = []
    for job in latest_jobs(ledger.jobs_for_project(project)):
        if samples and job["sample_id"] not in samples:
            continue
        outputs = job.get("outputs") or {}
        if job["status"] != model.COMPLETED or not job.get("eligible_for_delivery", True) or not outputs:
            withheld.append(
                {
                    "sample_id": job["sample_id"],
                    "key": job["key"],
                    "status": job["status"],
                    "reason": reason_of(job) or job["status"],
                }
            )
            continue
        src_bucket = outputs.get("bucket")
        copied = []
        for field in ("vcf_key", "index_key", "sidecar_key", "report_key"):
            key = outputs.get(field)
            if not key:
                continue
            bucket = src_bucket if field != "report_key" else outputs.get("report_bucket", src_bucket)
            dest = f"partners/{partner}/{project}/{job['sample_id']}/{key.rsplit('/', 1)[-1]}"
            s3.copy_object(Bucket=delivery_bucket, Key=dest, CopySource={"Bucket": bucket, "Key": key})
            copied.append(dest)
        delivered.append({"sample_id": job["sample_id"], "job_id": job["job_id"], "keys": copied})
    manifest = {
        "project": project,
        "partner": partner,
        "delivery_id": delivery_id,
        "delivered": delivered,
        "withheld": withheld,
    }
    manifest_key = f"partners/{partner}/{project}/MANIFEST-{delivery_id}.json"
    s3.put_object(
        Bucket=delivery_bucket,
        Key=manifest_key,
        Body=json.dumps(manifest, indent=2).encode(),
        ContentType="application/json",
    )
    ledger.record_delivery(
        project,
        partner,
        delivery_id,
        {
            "at": model.now_iso(),
            "manifest_key": manifest_key,
            "samples": [d["sample_id"] for d in delivered],
            "withheld": [w["sample_id"] for w in withheld],
        },
    )
    return {**manifest, "manifest_key": manifest_key}
