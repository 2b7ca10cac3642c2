"""Delivery to partners: copy a project's QC-passed outputs into the delivery bucket, with a manifest.

What is delivered: the latest job of each file of the project whose status is COMPLETED and whose
``eligible_for_delivery`` is true (a missing flag is never eligible). QC_FAILED, FAILED, REJECTED, running
and ineligible jobs are listed as withheld with their reason. Per job kind:

- VCF/BCF (processed): the processed VCF, its index and its sidecar, plus the QC report and metrics;
- SAM/BAM/CRAM/FASTQ (QC'd as uploaded, nothing processed): the QC report and metrics.

Partners read ``partners/<partner>/<project>/<sample_id>/``: the processed files under their own names,
the QC report as ``<uploaded file name>.multiqc_report.html`` and the metrics as ``<uploaded file
name>.qc.json`` (the Pulumi program grants each configured partner account read access to its prefix).

Copies stay inside S3 and work at any size: CopyObject below ``multipart_threshold``, a managed multipart
copy (UploadPartCopy, parts sized so that no object needs more than 9,000) above it. Each delivered object
records its source's ETag and size in its metadata (``x-amz-meta-source-etag``, ``source-size``).

A delivery is resumable. ``MANIFEST-<delivery_id>.json`` is written as it progresses (``status``:
``in_progress``, then ``complete``; ``interrupted`` with the error when a copy fails) and lists every
object copied so far. ``genomics deliver`` run again for the same project, partner and sample selection
resumes the latest delivery of that selection, if it did not complete, under the same id: objects
already delivered with the source's ETag and size are skipped, missing or different ones are copied
again. The ledger holds one item per
delivery (``PROJECT#<p>`` / ``DELIVERY#<id>``), written when it starts and when it completes.

**Encrypted mode** (a partner registered with a Crypt4GH public key: ``genomics partner add``; see
docs/partners.md). Each object is stream-encrypted for the partner's key (:mod:`genomics.drs.crypt`:
S3 body -> Crypt4GH segments -> S3 multipart upload) to ``<name>.c4gh``; the manifest lists each object's
sample, plain and encrypted SHA-256 and size, and its DRS id. The completed manifest is signed with the
stack's key (``MANIFEST-<id>.json.sig``, :mod:`genomics.drs.signing`) and the delivery and its objects are
registered under the partner (:mod:`genomics.drs.partners`), where the DRS routes serve them and the
partner's receipt is recorded. Resuming re-encrypts only objects whose source, or the partner's key, changed.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from genomics import steps
from genomics.drs.selection import DELIVERY_ID, PARTNER_NAME, new_delivery_id
from genomics.drs.selection import why_not as _why_not
from genomics.errors import aws_call
from genomics.ledger import Ledger, model
from genomics.status import latest_jobs

if TYPE_CHECKING:
    from genomics.drs.partners import Partners
    from genomics.drs.signing import Signer

CODES: dict[str, str] = {
    "DELIVERY_PARTNER_INVALID": "the partner name must be lower-case letters, digits and '-' (at most 63)",
    "DELIVERY_ID_INVALID": "a delivery id must be letters, digits, '-' and '_' (at most 64)",
    "DELIVERY_NOT_RESUMABLE": "the named delivery exists for another sample selection: resume it with the same "
    "--sample options or start a new delivery",
    "DELIVERY_SOURCE_MISSING": "an output the ledger records is not in S3: the sample is withheld (reprocess the job)",
    "DELIVERY_NAME_CLASH": "two uploads of one sample would be delivered under the same name: the newer one is "
    "delivered, the other withheld",
}

_PARTNER, _DELIVERY_ID = PARTNER_NAME, DELIVERY_ID
QC_REPORT = "multiqc_report.html"
QC_METRICS = "qc.json"
MIB = 1024 * 1024
MAX_PARTS = 9_000  # S3 allows 10,000; keep headroom
MULTIPART_THRESHOLD = 256 * MIB
MULTIPART_CHUNKSIZE = 128 * MIB
IN_PROGRESS, INTERRUPTED, COMPLETE = "in_progress", "interrupted", "complete"
ENCRYPTED_SUFFIX = ".c4gh"
RESUME_LOOKBACK = 20  # manifests read (newest first) to find the last delivery of the same selection


class DeliveryError(Exception):
    """A delivery that cannot start as asked (``code`` is one of CODES)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Item:
    """One object to deliver: its role, where it is, and where it goes."""

    role: str  # vcf | index | sidecar | qc_report | qc_metrics
    bucket: str
    key: str
    dest: str
    required: bool = True


@dataclass(frozen=True)
class Source:
    size: int
    etag: str
    content_type: str | None
    version_id: str | None


@dataclass(frozen=True)
class Transfer:
    """How objects are copied (tests lower the threshold so the multipart path runs on small objects)."""

    multipart_threshold: int = MULTIPART_THRESHOLD
    multipart_chunksize: int = MULTIPART_CHUNKSIZE
    max_concurrency: int = 8

    def chunksize(self, size: int) -> int:
        """Part size for ``size`` bytes: at least the configured one, and few enough parts (whole MiB)."""
        needed = -(-size // MAX_PARTS)
        return max(self.multipart_chunksize, -(-needed // MIB) * MIB)


def _basename(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def plan(job: Mapping[str, Any], *, partner: str, project: str, processed_bucket: str) -> list[Item]:
    """The objects a COMPLETED job delivers, by kind: processed VCF outputs when there are any, and the
    QC report and metrics of every job that was QC'd."""
    base = f"partners/{partner}/{project}/{job['sample_id']}/"
    items: list[Item] = []
    # One shape per kind (genomics.steps): only a VCF job has processed files (and their bucket).
    for out in steps.job_outputs(job).files(processed_bucket):
        if out.role != "qc_report":
            items.append(Item(out.role, out.bucket, out.key, base + _basename(out.key)))
            continue
        upload = _basename(str(job.get("key") or job["job_id"]))
        folder = out.key.rsplit("/", 1)[0] + "/" if "/" in out.key else ""
        items.append(Item("qc_report", out.bucket, out.key, f"{base}{upload}.{QC_REPORT}"))
        # the metrics sit beside the report (genomics.qc.service); older jobs may lack them
        items.append(Item("qc_metrics", out.bucket, folder + QC_METRICS, f"{base}{upload}.{QC_METRICS}",
                          required=False))
    return items


def _missing(e: ClientError) -> bool:
    code = str(e.response.get("Error", {}).get("Code"))
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        with aws_call("S3 HeadObject"):
            return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as e:
        if _missing(e):
            return None
        raise


def _source(s3: Any, item: Item) -> Source | None:
    head = _head(s3, item.bucket, item.key)
    if head is None:
        return None
    return Source(int(head["ContentLength"]), str(head["ETag"]), head.get("ContentType"), head.get("VersionId"))


def _already_there(s3: Any, bucket: str, item: Item, src: Source) -> bool:
    """The destination holds this source's bytes: same source ETag and size recorded at copy time."""
    head = _head(s3, bucket, item.dest)
    if head is None:
        return False
    meta = head.get("Metadata") or {}
    return meta.get("source-etag") == src.etag.strip('"') and int(head["ContentLength"]) == src.size == int(
        meta.get("source-size", -1)
    )


def copy(s3: Any, item: Item, src: Source, bucket: str, transfer: Transfer) -> None:
    """Server-side copy of any size; the destination records the source's identity in its metadata."""
    from boto3.s3.transfer import TransferConfig

    extra: dict[str, Any] = {
        "Metadata": {
            "source-etag": src.etag.strip('"'),
            "source-size": str(src.size),
            "source-uri": urllib.parse.quote(f"s3://{item.bucket}/{item.key}", safe=":/"),
        },
        "MetadataDirective": "REPLACE",
        "CopySourceIfMatch": src.etag,  # the bytes copied are the bytes checked
    }
    if src.content_type:
        extra["ContentType"] = src.content_type
    source = {"Bucket": item.bucket, "Key": item.key, **({"VersionId": src.version_id} if src.version_id else {})}
    if src.size < transfer.multipart_threshold:
        s3.copy_object(Bucket=bucket, Key=item.dest, CopySource=source, **extra)
        return
    config = TransferConfig(multipart_threshold=transfer.multipart_threshold,
                            multipart_chunksize=transfer.chunksize(src.size),
                            max_concurrency=transfer.max_concurrency)
    s3.copy(source, bucket, item.dest, ExtraArgs=extra, Config=config)


@dataclass(frozen=True)
class Encryption:
    """Deliver encrypted for ``recipient`` (a partner's 32-byte Crypt4GH public key), sign the manifest with
    ``signer`` and register the delivery in ``partners``."""

    recipient: bytes
    fingerprint: str
    signer: Signer
    partners: Partners
    part_size: int | None = None  # S3 part size of the encrypted uploads (None: from the object's size)


@dataclass
class _Manifest:
    """The manifest document and its object in S3, rewritten as the delivery progresses."""

    s3: Any
    bucket: str
    key: str
    doc: dict[str, Any]
    interval: float
    last: float = field(default=0.0)

    def save(self, *, force: bool = False) -> bytes | None:
        """Write the manifest (at most every ``interval`` seconds unless forced); the bytes written."""
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return None
        self.doc["updated_at"] = model.now_iso()
        body = json.dumps(self.doc, indent=2).encode()
        self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=body, ContentType="application/json")
        self.last = now
        return body


def _manifest_prefix(partner: str, project: str) -> str:
    return f"partners/{partner}/{project}/MANIFEST-"


def _unfinished(s3: Any, bucket: str, partner: str, project: str, samples: list[str] | None
                ) -> dict[str, Any] | None:
    """The newest delivery of this partner, project and sample selection, when it did not complete."""
    manifests: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=_manifest_prefix(partner, project)):
        manifests += page.get("Contents", [])
    for obj in sorted(manifests, key=lambda o: o["LastModified"], reverse=True)[:RESUME_LOOKBACK]:
        doc = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
        if doc.get("samples_requested") != samples:
            continue  # another selection's delivery
        return None if doc.get("status", COMPLETE) == COMPLETE else doc
    return None


def _named(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        with aws_call("S3 GetObject"):
            return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as e:
        if _missing(e):
            return None
        raise


def _withheld(job: Mapping[str, Any], reason: str) -> dict[str, Any]:
    return {"sample_id": job["sample_id"], "key": job["key"], "status": job["status"], "reason": reason}


def _select(jobs: Iterable[Mapping[str, Any]], *, partner: str, project: str, processed_bucket: str
            ) -> tuple[list[tuple[Mapping[str, Any], list[Item]]], list[dict[str, Any]]]:
    """(jobs to deliver with their items, withheld). Where two uploads of a sample would be delivered
    under the same name, the most recently updated job wins."""
    withheld: list[dict[str, Any]] = []
    candidates: list[tuple[Mapping[str, Any], list[Item]]] = []
    for job in jobs:
        why = _why_not(job)
        if why:
            withheld.append(_withheld(job, why))
        else:
            candidates.append((job, plan(job, partner=partner, project=project, processed_bucket=processed_bucket)))
    claimed: dict[str, Mapping[str, Any]] = {}
    chosen: set[str] = set()
    for job, items in sorted(candidates, key=lambda c: str(c[0].get("updated_at") or ""), reverse=True):
        clash = next((claimed[i.dest] for i in items if i.dest in claimed), None)
        if clash is not None:
            withheld.append(_withheld(job, f"DELIVERY_NAME_CLASH: same file names as the newer upload {clash['key']}"))
            continue
        claimed.update({i.dest: job for i in items})
        chosen.add(job["job_id"])
    return [(j, i) for j, i in candidates if j["job_id"] in chosen], withheld


def deliver(
    ledger: Ledger,
    s3: Any,
    *,
    project: str,
    partner: str,
    delivery_bucket: str,
    processed_bucket: str,
    delivery_id: str | None = None,
    samples: set[str] | None = None,
    transfer: Transfer | None = None,
    manifest_interval: float = 2.0,
    encryption: Encryption | None = None,
) -> dict[str, Any]:
    """Deliver ``project`` to ``partner`` (see the module's docstring). ``delivery_id`` names the delivery
    (resumed when its manifest exists); without it the latest delivery of the same sample selection
    is resumed if it did not complete, else a new one started. Returns the manifest, its key and what this run did."""
    transfer = transfer or Transfer()
    requested = sorted(samples) if samples else None
    delivery_id, earlier = _resume_or_start(s3, delivery_bucket, partner, project, delivery_id, requested)
    manifest_key = f"{_manifest_prefix(partner, project)}{delivery_id}.json"

    jobs = [j for j in latest_jobs(ledger.jobs_for_project(project)) if not samples or j["sample_id"] in samples]
    chosen, withheld = _select(jobs, partner=partner, project=project, processed_bucket=processed_bucket)
    started = (earlier or {}).get("started_at") or model.now_iso()
    manifest = _Manifest(s3, delivery_bucket, manifest_key, {
        "project": project,
        "partner": partner,
        "delivery_id": delivery_id,
        "status": IN_PROGRESS,
        "samples_requested": requested,
        "started_at": started,
        "delivered": [],
        "withheld": withheld,
    }, manifest_interval)
    if encryption is not None:
        manifest.doc["encryption"] = {"format": "crypt4gh", "version": 1,
                                      "recipient_key_fingerprint": encryption.fingerprint,
                                      "signing_key": encryption.signer.key_id}
    manifest.save(force=True)
    ledger.record_delivery(project, partner, delivery_id, {
        "at": started, "status": IN_PROGRESS, "manifest_key": manifest_key, "samples": [],
        "withheld": [w["sample_id"] for w in withheld],
    })
    run = {"copied": 0, "skipped": 0, "bytes_copied": 0, "resumed": earlier is not None}
    _deliver_jobs(s3, chosen, delivery_bucket, transfer, manifest, run, encryption, earlier)
    signed = _complete(s3, manifest, encryption)
    ledger.record_delivery(project, partner, delivery_id, {
        **signed,
        "at": manifest.doc["completed_at"],
        "started_at": started,
        "status": COMPLETE,
        "manifest_key": manifest_key,
        "samples": [d["sample_id"] for d in manifest.doc["delivered"]],
        "withheld": [w["sample_id"] for w in manifest.doc["withheld"]],
    })
    return {**manifest.doc, "manifest_key": manifest_key, **signed, "run": run}


def _resume_or_start(s3: Any, bucket: str, partner: str, project: str, delivery_id: str | None,
                     requested: list[str] | None) -> tuple[str, dict[str, Any] | None]:
    """(the delivery's id, the manifest of its unfinished earlier run or None). Checks the partner name and
    the id; a named delivery resumes only with the sample selection it was started with."""
    if not _PARTNER.match(partner):
        raise DeliveryError("DELIVERY_PARTNER_INVALID",
                            f"partner name {partner!r} must be lower-case letters, digits and '-'")
    if delivery_id is not None and not _DELIVERY_ID.match(delivery_id):
        raise DeliveryError("DELIVERY_ID_INVALID", f"delivery id {delivery_id!r}: letters, digits, '-' and '_'")
    if delivery_id is None:
        earlier = _unfinished(s3, bucket, partner, project, requested)
        return (str(earlier["delivery_id"]) if earlier else new_delivery_id()), earlier
    earlier = _named(s3, bucket, f"{_manifest_prefix(partner, project)}{delivery_id}.json")
    if earlier is not None and earlier.get("samples_requested") != requested:
        raise DeliveryError("DELIVERY_NOT_RESUMABLE",
                            f"delivery {delivery_id} was for samples {earlier.get('samples_requested') or 'all'}")
    return delivery_id, earlier


def _deliver_jobs(s3: Any, chosen: list[tuple[Mapping[str, Any], list[Item]]], bucket: str, transfer: Transfer,
                  manifest: _Manifest, run: dict[str, Any], encryption: Encryption | None,
                  earlier: Mapping[str, Any] | None) -> None:
    """Deliver the chosen jobs in sample order; on any failure the manifest says ``interrupted`` and why."""
    try:
        for job, items in sorted(chosen, key=lambda c: (str(c[0]["sample_id"]), str(c[0]["key"]))):
            _deliver_job(s3, job, items, bucket, transfer, manifest, run, encryption, _encrypted_before(earlier))
    except BaseException as e:
        manifest.doc["status"] = INTERRUPTED
        manifest.doc["error"] = f"{type(e).__name__}: {e}"
        with contextlib.suppress(Exception):  # keep the original failure; the last progress write stays
            manifest.save(force=True)
        raise


def _complete(s3: Any, manifest: _Manifest, encryption: Encryption | None) -> dict[str, Any]:
    """Write the manifest as ``complete``; in encrypted mode sign and register it. Returns what signing
    recorded (empty in plain mode)."""
    manifest.doc.pop("copying", None)
    manifest.doc.pop("error", None)
    manifest.doc["status"] = COMPLETE
    manifest.doc["completed_at"] = model.now_iso()
    body = manifest.save(force=True) or b""
    if encryption is None:
        return {}
    return _sign_and_register(s3, encryption, manifest, body)


def _encrypted_before(earlier: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The encrypted objects an unfinished earlier run of this delivery recorded, by key."""
    if not earlier:
        return {}
    entries = [*earlier.get("delivered", []), *([earlier["copying"]] if earlier.get("copying") else [])]
    return {o["key"]: o for e in entries for o in e.get("objects", []) if o.get("encrypted_sha256")}


def _encrypt_item(s3: Any, item: Item, src: Source, bucket: str, enc: Encryption,
                  before: Mapping[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Encrypt one object unless the earlier run already did with the same source and key."""
    from genomics.drs.crypt import encrypt_object

    dest = item.dest + ENCRYPTED_SUFFIX
    head = _head(s3, bucket, dest)
    meta = (head or {}).get("Metadata") or {}
    old = before.get(dest)
    if (head is not None and old is not None and meta.get("source-etag") == src.etag.strip('"')
            and meta.get("recipient-key") == enc.fingerprint and old.get("etag") == src.etag.strip('"')
            and int(head["ContentLength"]) == int(old["encrypted_size"])):
        return "present", {k: old[k] for k in ("sha256", "encrypted_sha256", "encrypted_size")}
    source = {"Bucket": item.bucket, "Key": item.key, **({"VersionId": src.version_id} if src.version_id else {})}
    out = encrypt_object(s3, source=source, bucket=bucket, key=dest, recipient=enc.recipient,
                         part_size=enc.part_size, size_hint=src.size,
                         metadata={"source-etag": src.etag.strip('"'), "source-size": str(src.size),
                                   "recipient-key": enc.fingerprint})
    if out.plain_size != src.size:
        raise RuntimeError(f"s3://{item.bucket}/{item.key}: read {out.plain_size} bytes, expected {src.size}")
    return "encrypted", {"sha256": out.plain_sha256, "encrypted_sha256": out.encrypted_sha256,
                         "encrypted_size": out.encrypted_size}


def _sign_and_register(s3: Any, enc: Encryption, manifest: _Manifest, body: bytes) -> dict[str, Any]:
    """Sign the completed manifest (its ``sha256sum`` line ``.sha256`` and that line's DER ECDSA signature
    ``.sha256.sig`` beside it) and register the delivery and its objects (the manifest, checksum and
    signature included) under the partner for DRS."""
    import hashlib

    from genomics.drs.partners import drs_id
    from genomics.drs.signing import checksum_line

    doc = manifest.doc
    partner, delivery_id = str(doc["partner"]), str(doc["delivery_id"])
    digest = hashlib.sha256(body).hexdigest()
    statement = checksum_line(digest, _basename(manifest.key))
    signature = enc.signer.sign(statement)
    sum_key, sig_key = manifest.key + ".sha256", manifest.key + ".sha256.sig"
    s3.put_object(Bucket=manifest.bucket, Key=sum_key, Body=statement, ContentType="text/plain")
    s3.put_object(Bucket=manifest.bucket, Key=sig_key, Body=signature, ContentType="application/octet-stream")
    common = {"delivery_id": delivery_id, "project": doc["project"], "bucket": manifest.bucket}
    objects = [{**common, "id": o["drs_id"], "key": o["key"], "name": _basename(o["key"]),
                "sample_id": entry["sample_id"], "role": o["role"], "size": o["encrypted_size"],
                "sha256": o["encrypted_sha256"], "plain_sha256": o["sha256"], "plain_size": o["size"]}
               for entry in doc["delivered"] for o in entry["objects"]]
    for role, key, blob in (("manifest", manifest.key, body), ("checksum", sum_key, statement),
                            ("signature", sig_key, signature)):
        objects.append({**common, "id": drs_id(partner, delivery_id, key), "key": key, "name": _basename(key),
                        "role": role, "size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()})
    ids = {"manifest_drs_id": drs_id(partner, delivery_id, manifest.key),
           "checksum_drs_id": drs_id(partner, delivery_id, sum_key),
           "signature_drs_id": drs_id(partner, delivery_id, sig_key)}
    enc.partners.record_delivery(partner, {
        **common, "manifest_key": manifest.key, "manifest_sha256": digest, **ids,
        "signing_key": enc.signer.key_id, "objects": len(objects)}, objects)
    return {"encrypted": True, "manifest_sha256": digest, "checksum_key": sum_key, "signature_key": sig_key, **ids}


def _deliver_job(s3: Any, job: Mapping[str, Any], items: list[Item], bucket: str, transfer: Transfer,
                 manifest: _Manifest, run: dict[str, Any], encryption: Encryption | None = None,
                 before: Mapping[str, dict[str, Any]] | None = None) -> None:
    """Copy one job's objects (or withhold the job when a recorded output is missing), recording each
    object in the manifest as it lands."""
    sources: list[tuple[Item, Source]] = []
    for item in items:
        src = _source(s3, item)
        if src is None:
            if item.required:
                uri = f"s3://{item.bucket}/{item.key}"
                manifest.doc["withheld"].append(_withheld(job, f"DELIVERY_SOURCE_MISSING: {uri} is not there"))
                manifest.save(force=True)
                return
            continue
        sources.append((item, src))
    entry: dict[str, Any] = {"sample_id": job["sample_id"], "job_id": job["job_id"], "key": job["key"],
                             "keys": [], "objects": []}
    manifest.doc["copying"] = entry
    for item, src in sources:
        if encryption is not None:
            from genomics.drs.partners import drs_id

            action, sums = _encrypt_item(s3, item, src, bucket, encryption, before or {})
            run["copied" if action == "encrypted" else "skipped"] += 1
            run["bytes_copied"] += src.size if action == "encrypted" else 0
            dest = item.dest + ENCRYPTED_SUFFIX
            entry["keys"].append(dest)
            entry["objects"].append({"role": item.role, "sample_id": job["sample_id"], "key": dest,
                                     "source": f"s3://{item.bucket}/{item.key}",
                                     "size": src.size, "etag": src.etag.strip('"'), "action": action, **sums,
                                     "drs_id": drs_id(str(manifest.doc["partner"]),
                                                      str(manifest.doc["delivery_id"]), dest)})
            manifest.save()
            continue
        if _already_there(s3, bucket, item, src):
            action = "present"
            run["skipped"] += 1
        else:
            copy(s3, item, src, bucket, transfer)
            action = "copied"
            run["copied"] += 1
            run["bytes_copied"] += src.size
        entry["keys"].append(item.dest)
        entry["objects"].append({"role": item.role, "key": item.dest, "source": f"s3://{item.bucket}/{item.key}",
                                 "size": src.size, "etag": src.etag.strip('"'), "action": action})
        manifest.save()
    manifest.doc.pop("copying", None)
    manifest.doc["delivered"].append(entry)
    manifest.save()

