"""Right to erasure (GDPR Art. 17): ``genomics forget SAMPLE`` erases everything the platform holds about one
sample and leaves an audit record of what it did.

What it erases, everywhere the platform put it:

- derived data in the processed bucket: ``processed/<project>/<sample>/``, ``reports/<project>/<sample>/``,
  every job's ``tmp/<job_id>/`` and any output key a job recorded;
- deliveries: ``partners/<partner>/<project>/<sample>/`` for every partner a delivery of the project went
  to, and the sample's entries in those deliveries' manifests (rewritten without it) and ledger records;
- the raw uploads under ``<project>/<sample>/``: every version and delete marker;
- the ledger: the sample and file items (metadata table), its jobs (jobs table), its QC items (QC table).

What it cannot erase, and says so: raw versions under S3 Object Lock (governance mode, ``rawLockDays``)
stay until their retain-until date. The result lists each with its mode and date; run the command again
after that date, or, where the law requires erasure now, have an administrator allowed
``s3:BypassGovernanceRetention`` run it with ``--bypass-governance`` (compliance-mode locks, which the
platform never sets on data, cannot be bypassed by anyone). CloudTrail keeps the record of the deletions
(data events) for ``auditLogDays``: the audit trail names the sample's object keys, as it must.

The audit record (metadata table, ``pk = ERASURE#<sample>``) holds who, when, the counts of what was
erased and what Object Lock keeps until when, never the data itself. The erasure is idempotent: running it
again erases what appeared or became erasable since, and adds another record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from genomics import steps
from genomics.deployment import PROCESSED_PREFIX, REPORTS_PREFIX, TMP_PREFIX, Names
from genomics.errors import UserInputError
from genomics.ledger import Ledger, model
from genomics.ledger.store import deserialize, serialize

CODES: dict[str, str] = {
    "FORGET_UNKNOWN_SAMPLE": "the ledger knows no such sample (nothing was erased); check the sample id",
    "FORGET_BAD_SAMPLE": "a sample id for erasure must be a single path segment (no '/', not empty)",
}

class ErasureError(UserInputError):
    """The sample cannot be erased as asked (coded; the CLI prints ``CODE: message``)."""

    code = "FORGET_UNKNOWN_SAMPLE"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@dataclass
class Erasure:
    """What one run erased and what it could not."""

    sample_id: str
    project: str | None
    deleted_objects: list[str] = field(default_factory=list)
    deleted_ledger_items: dict[str, int] = field(default_factory=dict)
    manifests_rewritten: list[str] = field(default_factory=list)
    retained: list[dict[str, str]] = field(default_factory=list)
    # (bucket, key, version) already handled: prefixes overlap (a job's output keys lie under the sample's).
    seen: set[tuple[str, str, str | None]] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        until = max((r["retain_until"] for r in self.retained), default=None)
        return {
            "sample_id": self.sample_id,
            "project": self.project,
            "deleted_objects": len(self.deleted_objects),
            "deleted_ledger_items": self.deleted_ledger_items,
            "manifests_rewritten": self.manifests_rewritten,
            "retained_by_object_lock": self.retained,
            "complete": not self.retained,
            "statement": (
                "every derived file, delivery, ledger entry and raw upload of the sample was erased"
                if not self.retained
                else f"Object Lock keeps {len(self.retained)} raw object version(s) until {until} at the latest "
                "(listed with their mode and date); run `genomics forget` again after that date, or have an "
                "administrator allowed s3:BypassGovernanceRetention run it with --bypass-governance"
            ),
        }


def _versions(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, str | None]]:
    """(key, version id) of every version and delete marker under ``prefix`` (None: unversioned bucket)."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            version = entry.get("VersionId")
            yield entry["Key"], (None if version in (None, "null") else version)


def _delete_prefix(s3: Any, bucket: str, prefix: str, result: Erasure, *, bypass: bool) -> None:
    for key, version in list(_versions(s3, bucket, prefix)):
        _delete(s3, bucket, key, version, result, bypass=bypass)


def _delete(s3: Any, bucket: str, key: str, version: str | None, result: Erasure, *, bypass: bool) -> None:
    if (bucket, key, version) in result.seen:
        return
    result.seen.add((bucket, key, version))
    args: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version is not None:
        args["VersionId"] = version
        if bypass:
            args["BypassGovernanceRetention"] = True
    try:
        s3.delete_object(**args)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in ("AccessDenied", "InvalidRequest") or version is None:
            raise
        retention = _retention(s3, bucket, key, version)
        if retention is None:
            raise
        result.retained.append({"bucket": bucket, "key": key, "version_id": version, **retention})
        return
    result.deleted_objects.append(f"s3://{bucket}/{key}" + (f"?versionId={version}" if version else ""))


def _retention(s3: Any, bucket: str, key: str, version: str) -> dict[str, str] | None:
    """The version's Object Lock (HEAD shows it to a caller allowed s3:GetObjectRetention), or None."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key, VersionId=version)
    except ClientError:
        return None
    until = head.get("ObjectLockRetainUntilDate")
    if not until:
        return None
    when = until.isoformat() if hasattr(until, "isoformat") else str(until)
    return {"mode": str(head.get("ObjectLockMode")), "retain_until": when}


def _query_all(ledger: Ledger, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        resp = ledger._call("query", **kwargs)
        items.extend(deserialize(i) for i in resp.get("Items", []))
        if not resp.get("LastEvaluatedKey"):
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _erase_ledger(ledger: Ledger, sample_id: str, jobs: list[dict[str, Any]], result: Erasure) -> None:
    metadata = _query_all(ledger, TableName=ledger.metadata_table, KeyConditionExpression="pk = :pk",
                          ExpressionAttributeValues=serialize({":pk": f"SAMPLE#{sample_id}"}))
    for item in metadata:
        ledger._call("delete_item", TableName=ledger.metadata_table,
                     Key=serialize({"pk": item["pk"], "sk": item["sk"]}))
    for job in jobs:
        ledger._call("delete_item", TableName=ledger.jobs_table, Key=serialize({"job_id": job["job_id"]}))
    qc = _query_all(ledger, TableName=ledger.qc_table, KeyConditionExpression="sample_id = :s",
                    ExpressionAttributeValues=serialize({":s": sample_id}))
    for item in qc:
        ledger._call("delete_item", TableName=ledger.qc_table,
                     Key=serialize({"sample_id": sample_id, "metric_key": item["metric_key"]}))
    result.deleted_ledger_items = {"metadata": len(metadata), "jobs": len(jobs), "qc": len(qc)}


def _erase_deliveries(ledger: Ledger, s3: Any, names: Names, project: str, sample_id: str, result: Erasure,
                      *, bypass: bool) -> None:
    bucket = names.bucket("delivery")
    for delivery in ledger.deliveries(project):
        partner = delivery["partner"]
        _delete_prefix(s3, bucket, f"partners/{partner}/{project}/{sample_id}/", result, bypass=bypass)
        named = sample_id in delivery.get("samples", []) or sample_id in delivery.get("withheld", [])
        manifest_key = delivery.get("manifest_key")
        if manifest_key:
            try:
                manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                    raise
                manifest = None
            if manifest is not None:
                kept = {k: [e for e in manifest.get(k, []) if e.get("sample_id") != sample_id]
                        for k in ("delivered", "withheld")}
                if any(len(kept[k]) != len(manifest.get(k, [])) for k in kept):
                    manifest.update(kept)
                    manifest["erased_samples"] = int(manifest.get("erased_samples", 0)) + 1
                    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest, indent=2).encode(),
                                  ContentType="application/json")
                    result.manifests_rewritten.append(manifest_key)
        if delivery.get("encrypted"):  # partner delivery (genomics.drs): DRS serves the sample's objects no more
            from genomics.drs.partners import Partners

            Partners(ledger).forget_sample(partner, delivery["sk"].removeprefix("DELIVERY#"), sample_id)
        if named:
            item = {k: v for k, v in delivery.items() if k not in ("pk", "sk")}
            item["samples"] = [s for s in delivery.get("samples", []) if s != sample_id]
            item["withheld"] = [s for s in delivery.get("withheld", []) if s != sample_id]
            item["erased_samples"] = int(delivery.get("erased_samples", 0)) + 1
            ledger.record_delivery(project, partner, delivery["sk"].removeprefix("DELIVERY#"), item)


def forget(ledger: Ledger, s3: Any, names: Names, sample_id: str, *, actor: str, reason: str = "",
           bypass_governance: bool = False) -> dict[str, Any]:
    """Erase one sample everywhere (see the module doc) and write the audit record; returns the summary."""
    if not sample_id or "/" in sample_id or sample_id in (".", ".."):
        raise ErasureError("FORGET_BAD_SAMPLE", f"sample id {sample_id!r}: {CODES['FORGET_BAD_SAMPLE']}")
    sample = ledger.sample(sample_id)
    jobs = ledger.jobs_for_sample(sample_id)
    if sample is None and not jobs:
        raise ErasureError("FORGET_UNKNOWN_SAMPLE", f"sample {sample_id!r}: {CODES['FORGET_UNKNOWN_SAMPLE']}")
    projects = {p for p in [*(j.get("project") for j in jobs), (sample or {}).get("project")] if p}
    result = Erasure(sample_id, ",".join(sorted(projects)) or None)
    processed = names.bucket("processed")
    bypass = bypass_governance
    for project in sorted(projects):
        for prefix in (PROCESSED_PREFIX, REPORTS_PREFIX):
            _delete_prefix(s3, processed, f"{prefix}/{project}/{sample_id}/", result, bypass=bypass)
        _erase_deliveries(ledger, s3, names, project, sample_id, result, bypass=bypass)
        _delete_prefix(s3, names.bucket("raw"), f"{project}/{sample_id}/", result, bypass=bypass)
    for job in jobs:
        _delete_prefix(s3, processed, f"{TMP_PREFIX}/{job['job_id']}/", result, bypass=bypass)
        for out in steps.job_outputs(job).files(processed):  # one shape per kind (genomics.steps)
            _delete_prefix(s3, out.bucket, out.key, result, bypass=bypass)
    for file in (sample or {}).get("files", []):
        if file.get("bucket") and file.get("key"):
            _delete_prefix(s3, file["bucket"], file["key"], result, bypass=bypass)
    _erase_ledger(ledger, sample_id, jobs, result)
    summary = result.as_dict()
    at = model.now_iso()
    ledger._call(
        "put_item",
        TableName=ledger.metadata_table,
        Item=serialize(
            {
                "pk": f"ERASURE#{sample_id}",
                "sk": f"ERASURE#{at}",
                "sample_id": sample_id,
                "at": at,
                "actor": actor,
                "reason": reason,
                "bypass_governance": bypass_governance,
                **{k: v for k, v in summary.items() if k != "sample_id"},
            }
        ),
    )
    record = {"table": ledger.metadata_table, "pk": f"ERASURE#{sample_id}", "sk": f"ERASURE#{at}"}
    return {**summary, "audit_record": record}
