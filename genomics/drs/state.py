"""The per-object delivery state the DRS routes read and move forward (see :mod:`genomics.drs.partners`
for the items). Separate from the partner book so the status API's code (and hence its IAM grants) holds
only these reads, the ``downloaded`` mark and the receipt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from genomics.errors import condition_failed
from genomics.ledger import Ledger, model
from genomics.ledger.store import deserialize, serialize

DELIVERED, DOWNLOADED, ACKNOWLEDGED = "delivered", "downloaded", "acknowledged"
STATES = (DELIVERED, DOWNLOADED, ACKNOWLEDGED)

CODES: dict[str, str] = {
    "DELIVERY_DIGEST_MISMATCH": "the SHA-256 posted is not the delivery's manifest's: hash the MANIFEST-<id>.json "
    "file exactly as downloaded (sha256sum) and post that",
    "DELIVERY_UNKNOWN": "the partner has no delivery with that id (list them: GET /partner/deliveries)",
}


class DigestMismatch(ValueError):
    code = "DELIVERY_DIGEST_MISMATCH"


class DeliveryUnknown(LookupError):
    code = "DELIVERY_UNKNOWN"


class DeliveryState:
    """Deliveries and objects of partners, in the ledger's metadata table."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.table = ledger.metadata_table

    def names(self) -> list[dict[str, Any]]:
        return list(self.ledger._query(TableName=self.table, KeyConditionExpression="pk = :pk",
                                       ExpressionAttributeValues=serialize({":pk": "PARTNERS"})))

    def unacknowledged(self, before_iso: str) -> list[dict[str, Any]]:
        """Deliveries of every registered partner completed before ``before_iso`` and not acknowledged."""
        late: list[dict[str, Any]] = []
        for p in self.names():
            for d in self.deliveries(str(p["partner"])):
                if d.get("state") != ACKNOWLEDGED and str(d.get("delivered_at", "")) < before_iso:
                    late.append({k: d.get(k) for k in ("partner", "delivery_id", "project", "state", "delivered_at")})
        return late

    def _get(self, partner: str, sk: str) -> dict[str, Any] | None:
        resp = self.ledger._call("get_item", TableName=self.table,
                                 Key=serialize({"pk": f"PARTNER#{partner}", "sk": sk}))
        return deserialize(resp["Item"]) if "Item" in resp else None

    def object(self, partner: str, object_id: str) -> dict[str, Any] | None:
        return self._get(partner, f"OBJECT#{object_id}")

    def delivery(self, partner: str, delivery_id: str) -> dict[str, Any] | None:
        return self._get(partner, f"DELIVERY#{delivery_id}")

    def deliveries(self, partner: str) -> list[dict[str, Any]]:
        return list(self.ledger._query(
            TableName=self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
            ExpressionAttributeValues=serialize({":pk": f"PARTNER#{partner}", ":d": "DELIVERY#"})))

    def objects(self, partner: str, delivery_id: str | None = None) -> list[dict[str, Any]]:
        items = self.ledger._query(
            TableName=self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :o)",
            ExpressionAttributeValues=serialize({":pk": f"PARTNER#{partner}", ":o": "OBJECT#"}))
        return [i for i in items if delivery_id is None or i.get("delivery_id") == delivery_id]

    def mark_downloaded(self, partner: str, object_id: str) -> None:
        """``delivered`` -> ``downloaded`` (first access URL issued); later states are left alone."""
        try:
            self.ledger._call(
                "update_item", TableName=self.table,
                Key=serialize({"pk": f"PARTNER#{partner}", "sk": f"OBJECT#{object_id}"}),
                UpdateExpression="SET #s = :dl, downloaded_at = :t",
                ConditionExpression="#s = :d",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues=serialize({":dl": DOWNLOADED, ":d": DELIVERED, ":t": model.now_iso()}))
        except ClientError as e:
            if not condition_failed(e):
                raise

    def acknowledge(self, partner: str, delivery_id: str, manifest_sha256: str) -> dict[str, Any]:
        """Record the partner's receipt: the posted digest must be the signed manifest's SHA-256. Every
        object of the delivery and the delivery itself become ``acknowledged`` (idempotent)."""
        delivery = self.delivery(partner, delivery_id)
        if delivery is None:
            raise DeliveryUnknown(f"partner {partner!r} has no delivery {delivery_id!r}")
        if manifest_sha256.lower() != str(delivery["manifest_sha256"]):
            raise DigestMismatch(f"delivery {delivery_id}: {manifest_sha256!r} is not the SHA-256 of "
                                 f"MANIFEST-{delivery_id}.json")
        now = model.now_iso()
        for obj in self.objects(partner, delivery_id):
            if obj.get("state") != ACKNOWLEDGED:
                self._set_acknowledged(partner, str(obj["sk"]), now)
        if delivery.get("state") != ACKNOWLEDGED:
            self._set_acknowledged(partner, f"DELIVERY#{delivery_id}", now)
        return self.delivery(partner, delivery_id) or {}

    def _set_acknowledged(self, partner: str, sk: str, now: str) -> None:
        self.ledger._call(
            "update_item", TableName=self.table, Key=serialize({"pk": f"PARTNER#{partner}", "sk": sk}),
            UpdateExpression="SET #s = :a, acknowledged_at = :t", ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues=serialize({":a": ACKNOWLEDGED, ":t": now}))



def object_counts(objects: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many objects are in each state."""
    counts = dict.fromkeys(STATES, 0)
    for o in objects:
        state = str(o.get("state", DELIVERED))
        counts[state] = counts.get(state, 0) + 1
    return counts
