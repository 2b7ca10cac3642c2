"""What a delivery may contain and how it is named: the rules :mod:`genomics.delivery` applies and the web
app checks before it queues a delivery (this module is light: the web app's API imports it without the
copy and encryption machinery).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from genomics.ledger import model
from genomics.status import reason_of

PARTNER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DELIVERY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def why_not(job: Mapping[str, Any]) -> str | None:
    """Why a job is not delivered; None when it is eligible (COMPLETED, QC-passed, with outputs)."""
    if job["status"] != model.COMPLETED:
        return reason_of(job) or job["status"]
    if job.get("eligible_for_delivery") is not True:
        return "not marked eligible for delivery"
    if not job.get("outputs"):
        return "no outputs recorded"
    return None


def new_delivery_id() -> str:
    """A fresh delivery id: UTC time and a random suffix (sorts by time)."""
    import uuid
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
