"""Result identity: what determines a job's result, and how identical results are computed once.

A job's result (processed outputs, QC metrics and verdict, report) is determined by the uploaded
content **and** the assay (which QC thresholds apply), the validation profile, the version of the QC
thresholds and the reference. :class:`ResultIdentity` digests all five into ``result_id``:

- outputs are published under ``processed/<project>/<sample>/<result_id>/``, reports under
  ``reports/<project>/<sample>/<result_id>/`` and QC items under ``<result_id[:16]>#<metric>``: two
  jobs with different identities never share or overwrite results; two with the same identity share
  them by design (they are the same result);
- per sample, one item ``pk=SAMPLE#<sample>, sk=RESULT#<result_id>`` records which job computes the
  result (``owner``). It is created with a conditional put, so of any number of concurrent identical
  uploads exactly one starts a workflow; the others are *duplicates*;
- a duplicate whose owner has finished ends at once with the owner's status, QC verdict, outputs,
  assay and delivery eligibility, written explicitly on the duplicate (``eligible_for_delivery`` is
  always a boolean; a missing value is never eligible). A duplicate whose owner is still running
  registers itself on the item (``waiters``, a conditional append that fails once the owner has
  finished) and stays VALIDATING with ``waiting_for``; the owner's end (finalize, failure, sweeper,
  supersession) publishes the outcome on the item and resolves every waiter;
- an owner that FAILED releases the identity: the next identical upload computes it again, and its
  waiters end FAILED (``JOB_ORIGINAL_FAILED``; ``genomics reprocess`` runs them again: the first
  reprocess claims the released identity, the others wait for it);
- ``genomics reprocess`` of a job whose result exists (an outcome that is not FAILED) computes it again
  deliberately, without taking the identity over.

Deployed data from before result identities has no RESULT# items and its outputs, reports and QC
items are keyed by the content's SHA-256: they stay where they are and stay readable (jobs record the
keys of their outputs); the first identical upload after the upgrade computes its result once more
under the new keys. Nothing is renamed in place (no migration is needed, none is done).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from genomics.errors import aws_call, condition_failed
from genomics.ledger import model
from genomics.ledger.store import InvalidTransition, Ledger, deserialize, serialize

SCHEMA = "result/1"

CODES: dict[str, str] = {
    "JOB_ORIGINAL_FAILED": "The job was a duplicate of another upload with the same result identity, and that "
    "job failed; `genomics reprocess JOB_ID` computes this upload's result itself.",
}


@dataclass(frozen=True)
class ResultIdentity:
    sha256: str
    assay: str
    profile: str
    thresholds_version: str
    reference_digest: str

    @property
    def result_id(self) -> str:
        parts = (SCHEMA, self.sha256, self.assay, self.profile, self.thresholds_version, self.reference_digest)
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "result_id": self.result_id}


def thresholds_version(thresholds: Mapping[str, Any], assay: str) -> str:
    """Digest of the QC thresholds that apply to ``assay`` (changes when the stack's thresholds do)."""
    text = json.dumps(thresholds.get(assay), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reference_digest(s3: Any, reference_uri: str, assembly: str | None) -> str:
    """Digest of the reference configuration an upload gets: the stack's REFERENCE_URI, the upload's
    assembly and, when that names a FASTA, the object's ETag (a replaced FASTA is a new reference)."""
    from genomics import references

    etag = ""
    loc = None
    with contextlib.suppress(Exception):  # an unusable URI is reported by validation, not here
        loc = references.location(reference_uri, assembly)
    if loc is not None:
        try:
            with aws_call("S3 HeadObject"):  # a throttle is retried, never taken for an absent reference
                etag = str(s3.head_object(Bucket=loc[0], Key=loc[1]).get("ETag", ""))
        except ClientError:
            etag = "absent"
    text = f"{reference_uri}|{assembly or ''}|{etag}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _key(sample_id: str, result_id: str) -> dict[str, Any]:
    return serialize({"pk": f"SAMPLE#{sample_id}", "sk": f"RESULT#{result_id}"})


def _get(ledger: Ledger, sample_id: str, result_id: str) -> dict[str, Any] | None:
    resp = ledger._call("get_item", TableName=ledger.metadata_table, Key=_key(sample_id, result_id),
                        ConsistentRead=True)
    return deserialize(resp["Item"]) if "Item" in resp else None


def claim(ledger: Ledger, sample_id: str, identity: ResultIdentity, job_id: str) -> dict[str, Any]:
    """Become the job that computes ``identity`` for the sample, unless another job already is (or did).
    Returns the identity item; ``item["owner"] == job_id`` means this job computes the result."""
    now = model.now_iso()
    item = {"pk": f"SAMPLE#{sample_id}", "sk": f"RESULT#{identity.result_id}", "sample_id": sample_id,
            "owner": job_id, "identity": identity.as_dict(), "created_at": now, "updated_at": now}
    try:
        ledger._call(
            "put_item", TableName=ledger.metadata_table, Item=serialize(item),
            # Never over an item this job already owns: its registered waiters would be lost (a retry of
            # the owner's ingest finds the item below and stays the owner).
            ConditionExpression="attribute_not_exists(pk) OR outcome_status = :failed",
            ExpressionAttributeValues=serialize({":failed": model.FAILED}),
        )
        return item
    except ClientError as e:
        if not condition_failed(e):
            raise
    existing = _get(ledger, sample_id, identity.result_id)
    if existing is None:  # deleted in between (never done by the platform): try once more
        return claim(ledger, sample_id, identity, job_id)
    return existing


def wait_for(ledger: Ledger, sample_id: str, result_id: str, job_id: str) -> dict[str, Any] | None:
    """Register ``job_id`` to be resolved when the owner ends. None when registered; the item (with its
    outcome) when the owner has already ended."""
    try:
        ledger._call(
            "update_item", TableName=ledger.metadata_table, Key=_key(sample_id, result_id),
            UpdateExpression="SET waiters = list_append(if_not_exists(waiters, :e), :j)",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(outcome_status)",
            ExpressionAttributeValues=serialize({":e": [], ":j": [job_id]}),
        )
        return None
    except ClientError as e:
        if not condition_failed(e):
            raise
    return _get(ledger, sample_id, result_id)


def outcome_of(job: Mapping[str, Any]) -> dict[str, Any]:
    """What a duplicate inherits from the job that computed the result."""
    status = job["status"]
    return {
        "status": status,
        "job_id": job["job_id"],
        "qc": job.get("qc"),
        "outputs": job.get("outputs"),
        "assay": job.get("assay"),
        "format": job.get("format"),
        "eligible_for_delivery": status == model.COMPLETED and job.get("eligible_for_delivery") is True,
        "reason": job.get("reason"),
    }


def publish_outcome(ledger: Ledger, job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The owner ended: record the outcome on its identity item and resolve every waiting duplicate.
    A job that does not own an identity (a reprocess run, a job from before identities) does nothing."""
    result_id = job.get("result_id")
    if not result_id or job["status"] not in model.TERMINAL:
        return []
    outcome = outcome_of(job)
    try:
        resp = ledger._call(
            "update_item", TableName=ledger.metadata_table, Key=_key(job["sample_id"], result_id),
            UpdateExpression="SET outcome_status = :s, outcome = :o, updated_at = :now",
            ConditionExpression="#o = :me",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues=serialize({":s": job["status"], ":o": outcome, ":me": job["job_id"],
                                                 ":now": model.now_iso()}),
            ReturnValues="ALL_NEW",
        )
    except ClientError as e:
        if condition_failed(e):
            return []  # not the owner
        raise
    item = deserialize(resp["Attributes"])
    resolved = []
    failures: list[Exception] = []
    for waiter in item.get("waiters") or []:
        try:
            done = resolve(ledger, waiter, item)
        except Exception as e:  # resolve the others; the caller's retry resolves this one (idempotent)
            failures.append(e)
            continue
        if done is not None:
            resolved.append(done)
    if failures:
        raise failures[0]
    return resolved


def resolve(ledger: Ledger, job_id: str, item: Mapping[str, Any]) -> dict[str, Any] | None:
    """End a waiting duplicate from its identity item's outcome. None if it had already moved on."""
    outcome = item.get("outcome") or {}
    status = outcome.get("status")
    owner = str(outcome.get("job_id") or item.get("owner"))
    result_id = str(item["sk"]).removeprefix("RESULT#")
    try:
        job = ledger.get_job(job_id)
    except Exception:
        return None
    if job["status"] != model.VALIDATING:
        return None
    if status in (model.COMPLETED, model.QC_FAILED):
        attrs = {
            "duplicate_of": owner,
            "result_id": result_id,
            "outputs": outcome.get("outputs"),
            "qc": outcome.get("qc"),
            "assay": outcome.get("assay"),
            "format": outcome.get("format"),
            "eligible_for_delivery": status == model.COMPLETED and outcome.get("eligible_for_delivery") is True,
        }
        detail = {"note": f"identical result already computed by job {owner}"}
        file_attrs = {"status": status, "duplicate_of": owner, "outputs": outcome.get("outputs"),
                      "qc_verdict": (outcome.get("qc") or {}).get("verdict")}
    else:
        reason = (f"JOB_ORIGINAL_FAILED: job {owner} computing this identical result failed "
                  f"({outcome.get('reason') or status}); `genomics reprocess {job_id}` computes it again")
        status = model.FAILED
        attrs = {"duplicate_of": owner, "result_id": result_id, "reason": reason,
                 "error_code": "JOB_ORIGINAL_FAILED", "eligible_for_delivery": False}
        detail = {"error": "JOB_ORIGINAL_FAILED"}
        file_attrs = {"status": status}
    try:
        ledger.transition(job_id, status, actor="result-identity", only_from=(model.VALIDATING,),
                          idempotent=False, detail=detail, attributes=attrs)
    except InvalidTransition:
        return None
    with contextlib.suppress(Exception):
        ledger.update_file(job["sample_id"], job["file_id"], file_attrs)
    return {"job_id": job_id, "status": status, "duplicate_of": owner}


def settle_waiter(ledger: Ledger, job: Mapping[str, Any]) -> str:
    """For the sweeper: a VALIDATING duplicate waiting for its owner. "waiting" while the owner is
    alive, "resolved" when the outcome was there (a lost resolution, healed), "orphaned" otherwise."""
    item = _get(ledger, job["sample_id"], str(job.get("result_id")))
    if item is not None and item.get("outcome_status"):
        return "resolved" if resolve(ledger, job["job_id"], item) is not None else "orphaned"
    try:
        owner = ledger.get_job(str(job["waiting_for"]))
    except Exception:
        return "orphaned"
    if owner["status"] in model.RUNNING:
        return "waiting"
    if owner["status"] in model.TERMINAL and item is not None and item.get("owner") == owner["job_id"]:
        publish_outcome(ledger, owner)  # the owner ended without publishing: do it now
        return "resolved"
    return "orphaned"
