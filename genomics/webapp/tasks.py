"""web-tasks: what the web app asks for that outlasts an API request, run asynchronously.

web-api checks the caller (membership of the project; the role the task needs), then invokes this function
with ``InvocationType=Event`` and one task:

- ``{"task": "reprocess", "job_id", "actor"}`` (steward or operator): the job's upload is validated again and
  a new run started (:func:`genomics.ingest.reprocess`), with the actor recorded in the job's history;
- ``{"task": "deliver", "project", "partner", "samples", "delivery_id", "actor"}`` (steward): the samples'
  QC-passed outputs are delivered to a registered partner, Crypt4GH-encrypted for its key, the manifest
  signed with the stack's KMS key (:func:`genomics.delivery.deliver`). The delivery id comes from web-api, so
  Lambda's retry of a failed invocation resumes the same delivery (objects already delivered are skipped).
  A delivery that cannot be made as asked (a coded error: the partner's key is gone, the id clashes) is
  recorded in the ledger as ``failed`` with its code and not retried.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from genomics.drs.selection import DELIVERY_ID, PARTNER_NAME
from genomics.ledger import Ledger, model
from genomics.webapp.core import FAILED, MAX_SAMPLES

CODES: dict[str, str] = {
    "WEB_TASK_INVALID": "web-tasks received an event that is not a task it runs (a bug in the caller).",
    "WEB_DELIVERY_UNAVAILABLE": "web-tasks cannot encrypt: Crypt4GH is not installed where it runs (deployed, it "
    "runs the delivery image, which carries it: redeploy if web-tasks runs another image; locally, install the "
    "`delivery` extra); meanwhile deliver with `genomics deliver` from an operator's machine (docs/partners.md)",
}
_JOB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ACTOR = re.compile(r"^web:[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


class TaskInvalid(ValueError):
    code = "WEB_TASK_INVALID"


class DeliveryUnavailable(RuntimeError):
    code = "WEB_DELIVERY_UNAVAILABLE"


def _require_crypt4gh() -> None:
    """Crypt4GH is an operator-side dependency (the ``delivery`` extra): without it no delivery can start."""
    try:
        import crypt4gh.lib  # noqa: F401
    except ImportError as e:
        raise DeliveryUnavailable(f"WEB_DELIVERY_UNAVAILABLE: {e}") from e


@dataclass(frozen=True)
class DeliveryTarget:
    """Where deliveries go and what signs their manifests (from the function's environment)."""

    delivery_bucket: str
    processed_bucket: str
    signing_key: str

    @classmethod
    def from_environment(cls) -> DeliveryTarget:
        return cls(os.environ["DELIVERY_BUCKET"], os.environ["PROCESSED_BUCKET"], os.environ["SIGNING_KEY"])


@dataclass
class Clients:
    """What the tasks use: the ledger and boto3 clients (built by the handler, once per container)."""

    ledger: Ledger
    s3: Any
    sfn: Any = None
    kms: Any = None


def _invalid(event: Mapping[str, Any]) -> TaskInvalid:
    return TaskInvalid(f"WEB_TASK_INVALID: not a task web-tasks runs: {dict(event)!r}"[:500])


def _text(event: Mapping[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not pattern.match(value):
        raise _invalid(event)
    return value


def _reprocess(event: Mapping[str, Any], clients: Clients) -> dict[str, Any]:
    from genomics.ingest import IngestConfig, reprocess

    job_id, actor = _text(event, "job_id", _JOB), _text(event, "actor", _ACTOR)
    return reprocess(job_id, config=IngestConfig.from_environment(), ledger=clients.ledger, s3=clients.s3,
                     sfn=clients.sfn, actor=actor)


def delivery_task(event: Mapping[str, Any]) -> dict[str, Any]:
    """The checked fields of a deliver task."""
    samples = event.get("samples")
    if (not isinstance(samples, list) or not 1 <= len(samples) <= MAX_SAMPLES
            or not all(isinstance(s, str) and _ID.match(s) for s in samples)):
        raise _invalid(event)
    return {"project": _text(event, "project", _ID), "partner": _text(event, "partner", PARTNER_NAME),
            "delivery_id": _text(event, "delivery_id", DELIVERY_ID), "actor": _text(event, "actor", _ACTOR),
            "samples": sorted(set(samples))}


def _deliver(event: Mapping[str, Any], clients: Clients) -> dict[str, Any]:
    from genomics.delivery import DeliveryError, Encryption, deliver
    from genomics.drs.crypt import fingerprint
    from genomics.drs.partners import Partners, PartnerUnknown
    from genomics.drs.signing import KmsSigner

    task = delivery_task(event)
    target = DeliveryTarget.from_environment()
    partners = Partners(clients.ledger)
    try:
        _require_crypt4gh()
        key = partners.public_key(task["partner"])
        result = deliver(
            clients.ledger, clients.s3, project=task["project"], partner=task["partner"],
            delivery_bucket=target.delivery_bucket, processed_bucket=target.processed_bucket,
            delivery_id=task["delivery_id"], samples=set(task["samples"]),
            encryption=Encryption(key, fingerprint(key), KmsSigner(clients.kms, target.signing_key), partners),
        )
    except (DeliveryError, PartnerUnknown, DeliveryUnavailable) as e:  # permanent: retrying cannot help
        clients.ledger.record_delivery(task["project"], task["partner"], task["delivery_id"], {
            "status": FAILED, "at": model.now_iso(), "requested_by": task["actor"],
            "samples_requested": task["samples"], "error": {"code": e.code, "message": str(e)}})
        return {"delivery_id": task["delivery_id"], "status": FAILED, "code": e.code}
    return {"delivery_id": task["delivery_id"], "status": result["status"], "manifest_key": result["manifest_key"],
            "delivered": [d["sample_id"] for d in result["delivered"]], "run": result["run"]}


TASKS: dict[str, Callable[[Mapping[str, Any], Clients], dict[str, Any]]] = {
    "reprocess": _reprocess,
    "deliver": _deliver,
}


def run(event: Mapping[str, Any], clients: Clients) -> dict[str, Any]:
    """Run one task event (a malformed one raises :class:`TaskInvalid`: a bug in the caller)."""
    task = TASKS.get(str(event.get("task")))
    if task is None:
        raise _invalid(event)
    return task(event, clients)
