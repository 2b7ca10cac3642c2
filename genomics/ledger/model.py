"""The sample ledger's vocabulary: job states, allowed transitions, identities. Pure, no AWS.

Job states (docs/data-model.md):

    RECEIVED -> VALIDATING -> REJECTED
                           -> PROCESSING -> QC -> COMPLETED | QC_FAILED
                           -> QC          (reads and alignments are QC'd as uploaded)
                           -> COMPLETED | QC_FAILED  (identical result already computed: a duplicate)
    any running state      -> FAILED (with error and cause)
    RECEIVED | VALIDATING  -> INGEST_FAILED (retryable) -> VALIDATING (a retry or replay) | FAILED

Terminal states never change. INGEST_FAILED is where a job rests when its ingest attempt failed (the
event is retried by Lambda and then lands in the dead-letter queue) or was found stuck by the sweeper:
visible with its reason, listed among failures, and left again only by a retry, ``genomics replay`` or
``genomics reprocess``. Transitions only move forward; a repeated transition to the state a job is
already in is a no-op (Step Functions may retry a task whose first attempt succeeded).
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime

RECEIVED = "RECEIVED"
VALIDATING = "VALIDATING"
REJECTED = "REJECTED"
PROCESSING = "PROCESSING"
QC = "QC"
COMPLETED = "COMPLETED"
QC_FAILED = "QC_FAILED"
FAILED = "FAILED"
INGEST_FAILED = "INGEST_FAILED"

RUNNING = (RECEIVED, VALIDATING, PROCESSING, QC)
TERMINAL = (REJECTED, COMPLETED, QC_FAILED, FAILED)
# Failed but retryable: nothing runs; a retry, replay or reprocess moves the job on.
RETRYABLE = (INGEST_FAILED,)
# States in which no work is under way (the sweeper leaves them alone).
RESTING = TERMINAL + RETRYABLE
ALL_STATES = RUNNING + RESTING
# Statuses an operator asks about with "what failed since T".
FAILURE_STATES = (REJECTED, QC_FAILED, FAILED, INGEST_FAILED)

ALLOWED: dict[str, tuple[str, ...]] = {
    RECEIVED: (VALIDATING, INGEST_FAILED, FAILED),
    VALIDATING: (REJECTED, PROCESSING, QC, COMPLETED, QC_FAILED, INGEST_FAILED, FAILED),
    INGEST_FAILED: (VALIDATING, FAILED),
    PROCESSING: (QC, FAILED),
    QC: (COMPLETED, QC_FAILED, FAILED),
    REJECTED: (),
    COMPLETED: (),
    QC_FAILED: (),
    FAILED: (),
}


def sources_of(target: str) -> tuple[str, ...]:
    """The states from which ``target`` may be entered."""
    return tuple(s for s, nxt in ALLOWED.items() if target in nxt)


def now_iso() -> str:
    """UTC timestamp with microseconds; sorts lexicographically, as the GSI range keys need."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class ObjectRef:
    """One version of one uploaded object: the identity of a file in the ledger."""

    bucket: str
    key: str
    version_id: str | None
    etag: str | None = None
    size: int | None = None

    @property
    def file_id(self) -> str:
        """Stable identity: bucket, key and version (or ETag when the bucket is not versioned)."""
        version = self.version_id or f"etag-{(self.etag or '').strip(chr(34))}"
        return f"s3://{self.bucket}/{self.key}#{version}"

    def job_id(self, run: int = 1) -> str:
        """Deterministic job id (and Step Functions execution name: <= 80 chars of [A-Za-z0-9-_]).

        The same object version always maps to the same first job; ``run`` > 1 is a deliberate
        reprocessing.
        """
        digest = hashlib.sha256(f"{self.file_id}|run={run}".encode()).hexdigest()[:32]
        stem = _SAFE.sub("-", self.key.rsplit("/", 1)[-1])[:30].strip("-.") or "file"
        stem = stem.replace(".", "-")
        return f"{stem}-{digest}" if run == 1 else f"{stem}-{digest}-r{run}"


@dataclass(frozen=True)
class KeyLayout:
    """``<project>/<sample_id>/<file>`` in the raw bucket."""

    project: str
    sample_id: str
    filename: str


class KeyLayoutError(ValueError):
    code = "INGEST_KEY_LAYOUT"


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def parse_key(key: str) -> KeyLayout:
    """Split a raw-bucket key into project, sample and file name, or say how to name it."""
    parts = key.split("/")
    if len(parts) < 3 or not all(parts):
        raise KeyLayoutError(
            f"object key {key!r} is not <project>/<sample_id>/<file>: upload it under a project and "
            f"sample prefix, e.g. myproject/NA12878/{parts[-1] or 'file.vcf.gz'}"
        )
    project, sample = parts[0], parts[1]
    for label, value in (("project", project), ("sample_id", sample)):
        if not _ID.match(value):
            raise KeyLayoutError(
                f"{label} {value!r} in key {key!r} must be 1-128 characters of letters, digits, '.', "
                f"'_' or '-', starting with a letter or digit"
            )
    return KeyLayout(project=project, sample_id=sample, filename="/".join(parts[2:]))


def decode_event_key(raw: str) -> str:
    """S3 event keys are URL-encoded with '+' for spaces."""
    return urllib.parse.unquote_plus(raw)
