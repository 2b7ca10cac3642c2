"""Partners and what they were delivered, in the ledger's metadata table (queries only, never Scan).

================================  =======================================================================
item (pk / sk)                    what
================================  =======================================================================
``PARTNERS`` / ``<name>``         the partner book: name, Crypt4GH public key, its fingerprint, added_at
``PARTNER#<name>`` / ``DELIVERY#<id>``  one encrypted delivery: project, manifest (S3 key, SHA-256, DRS ids),
                                  signing key id, ``state``, delivered_at / acknowledged_at, alerted_at
``PARTNER#<name>`` / ``OBJECT#<drs id>``  one delivered object: its DRS record and its ``state``
================================  =======================================================================

A DRS object is looked up under its partner's key, so a partner can only ever reach its own objects.
States move forward only: ``delivered`` -> ``downloaded`` (an access URL was issued to the partner) ->
``acknowledged`` (the partner posted the SHA-256 of the delivery's signed manifest).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from genomics.drs.state import DELIVERED, DeliveryState
from genomics.errors import condition_failed
from genomics.ledger import model
from genomics.ledger.store import deserialize, serialize

CODES: dict[str, str] = {
    "PARTNER_UNKNOWN": "no partner of that name is registered: register it with "
    "genomics partner add NAME --pubkey FILE",
}


class PartnerUnknown(LookupError):
    code = "PARTNER_UNKNOWN"


def drs_id(partner: str, delivery_id: str, key: str) -> str:
    """A DRS object id: stable for one object of one delivery (a resumed delivery keeps its ids)."""
    return hashlib.sha256(f"{partner}\n{delivery_id}\n{key}".encode()).hexdigest()[:32]


class Partners(DeliveryState):
    """The partner book, and the registration of encrypted deliveries (operator side)."""

    # ------------------------------------------------------------------ the book
    def add(self, name: str, public_key: bytes, fingerprint: str, *, actor: str) -> dict[str, Any]:
        item = {"pk": "PARTNERS", "sk": name, "partner": name, "crypt4gh_public_key": public_key.hex(),
                "key_fingerprint": fingerprint, "added_at": model.now_iso(), "added_by": actor}
        self.ledger._call("put_item", TableName=self.table, Item=serialize(item))
        return item

    def find(self, name: str) -> dict[str, Any] | None:
        resp = self.ledger._call("get_item", TableName=self.table,
                                 Key=serialize({"pk": "PARTNERS", "sk": name}), ConsistentRead=True)
        return deserialize(resp["Item"]) if "Item" in resp else None

    def get(self, name: str) -> dict[str, Any]:
        found = self.find(name)
        if found is None:
            raise PartnerUnknown(f"partner {name!r} is not registered (genomics partner add {name} --pubkey FILE)")
        return found

    def public_key(self, name: str) -> bytes:
        return bytes.fromhex(str(self.get(name)["crypt4gh_public_key"]))

    # ------------------------------------------------------------------ deliveries
    def record_delivery(self, partner: str, delivery: Mapping[str, Any], objects: Iterable[Mapping[str, Any]]
                        ) -> None:
        """Register a completed encrypted delivery and its objects (state ``delivered``). Idempotent: an
        object already further along keeps its state."""
        now = model.now_iso()
        for obj in objects:
            self._put_new(partner, f"OBJECT#{obj['id']}", {**obj, "state": DELIVERED, "delivered_at": now})
        self._put_new(partner, f"DELIVERY#{delivery['delivery_id']}",
                      {**delivery, "state": DELIVERED, "delivered_at": now})

    def forget_sample(self, partner: str, delivery_id: str, sample_id: str) -> int:
        """Erasure (genomics forget): drop the sample's DRS objects of one delivery; how many were dropped."""
        dropped = 0
        for obj in self.objects(partner, delivery_id):
            if obj.get("sample_id") == sample_id:
                self.ledger._call("delete_item", TableName=self.table,
                                  Key=serialize({"pk": f"PARTNER#{partner}", "sk": obj["sk"]}))
                dropped += 1
        return dropped

    def _put_new(self, partner: str, sk: str, item: Mapping[str, Any]) -> None:
        full = {"pk": f"PARTNER#{partner}", "sk": sk, "partner": partner, **item}
        try:
            self.ledger._call("put_item", TableName=self.table, Item=serialize(full),
                              ConditionExpression="attribute_not_exists(pk)")
        except ClientError as e:
            if not condition_failed(e):
                raise
