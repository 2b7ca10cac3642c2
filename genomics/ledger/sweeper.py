"""The sweeper's core: no job stays in a running state past its deadline.

A job can stop moving without anything failing loudly: an ingest attempt killed by its timeout or by
memory, a workflow execution whose ledger updates were lost, a stack reset under a running execution.
The sweeper runs on a schedule (EventBridge Scheduler -> the ``sweeper`` function; ``genomics local
serve`` runs it too) and ends every job that has been in a running state for longer than that state's
deadline (stack settings ``stuckReceivedS``, ``stuckValidatingS``, ``stuckProcessingS``, ``stuckQcS``),
with the reason on the job:

- RECEIVED or VALIDATING before its workflow started -> INGEST_FAILED (code ``INGEST_STUCK``, retryable:
  ``genomics replay`` or ``genomics reprocess``). A VALIDATING job whose validation lease is still held
  is left alone (an attempt is working on it), and so is a duplicate waiting for the job that computes
  its result while that job lives (genomics.ledger.identity);
- VALIDATING with a started workflow, PROCESSING or QC -> FAILED (code ``JOB_STUCK``; ``genomics
  reprocess`` runs it again).

Every write is conditional on the job being unchanged since it was read (``updated_at``), so a job
that moves on while the sweeper looks at it is left to its own progress. Reads are DynamoDB Queries on
the ``by-status`` index (``updated_at < now - deadline``), never a Scan.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from genomics.ledger import identity, model
from genomics.ledger.store import InvalidTransition, Ledger

ACTOR = "sweeper"
# Jobs ended per state per run at most (the next run continues; keeps one run well inside its timeout).
MAX_PER_STATE = 500

CODES: dict[str, str] = {
    "INGEST_STUCK": "No ingest attempt finished within the stack's deadline (the attempt timed out or crashed); "
    "the job is INGEST_FAILED (retryable): replay its dead-letter message or run `genomics reprocess`.",
    "JOB_STUCK": "The job made no progress within the stack's deadline for its state; it was ended FAILED by "
    "the sweeper. `genomics reprocess JOB_ID` runs the upload again.",
}


@dataclass(frozen=True)
class Deadlines:
    """Seconds a job may stay in each running state."""

    seconds: Mapping[str, int]

    @classmethod
    def parse(cls, text: str) -> Deadlines:
        """``RECEIVED=1800,VALIDATING=3600,PROCESSING=21600,QC=7200`` (the SWEEP_DEADLINES variable)."""
        out: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            state, _, value = part.partition("=")
            if state not in model.RUNNING or not value.strip().isdigit() or int(value) < 1:
                raise ValueError(f"SWEEP_DEADLINES entry {part!r}: expected <running state>=<seconds >= 1>")
            out[state] = int(value)
        return cls(out)

    def render(self) -> str:
        return ",".join(f"{s}={self.seconds[s]}" for s in model.RUNNING if s in self.seconds)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _end(ledger: Ledger, job: Mapping[str, Any], state: str, seconds: int) -> dict[str, Any] | None:
    # Stuck before its workflow started: the ingest is retryable. After: the workflow is what hung.
    ingest = state in (model.RECEIVED, model.VALIDATING) and not job.get("execution_arn")
    target, code = (model.INGEST_FAILED, "INGEST_STUCK") if ingest else (model.FAILED, "JOB_STUCK")
    reason = (
        f"{code}: no progress for more than {seconds} s in {state} (deadline of the stack); "
        + ("retryable: replay its dead-letter message or `genomics reprocess`" if ingest
           else "`genomics reprocess` runs it again")
    )
    try:
        updated = ledger.transition(
            job["job_id"], target, actor=ACTOR, only_from=(state,), expect_updated_at=job["updated_at"],
            idempotent=False, detail={"error": code}, attributes={"reason": reason, "error_code": code},
        )
    except InvalidTransition:
        return None  # it moved on while we looked
    with contextlib.suppress(Exception):
        ledger.update_file(job["sample_id"], job["file_id"], {"status": target})
    identity.publish_outcome(ledger, updated)  # duplicates waiting for this job end too
    return {"job_id": job["job_id"], "from": state, "to": target, "reason": reason}


def sweep(ledger: Ledger, deadlines: Deadlines, *, now: datetime | None = None,
          limit: int = MAX_PER_STATE) -> dict[str, Any]:
    """End every job past its state's deadline. Returns ``{"ended": [...], "checked": n}``."""
    now = now or datetime.now(UTC)
    ended: list[dict[str, Any]] = []
    checked = 0
    for state, seconds in deadlines.seconds.items():
        for job in ledger.stale_jobs(state, _iso(now - timedelta(seconds=seconds)), limit):
            checked += 1
            if state == model.VALIDATING and job.get("waiting_for"):
                # A duplicate waiting for the job that computes its result: left alone while that job
                # lives; resolved from the outcome if it was lost; ended like any stuck job otherwise.
                if identity.settle_waiter(ledger, job) != "orphaned":
                    continue
            elif (state == model.VALIDATING and not job.get("execution_arn")
                  and (job.get("lease_until") or "") > _iso(now)):
                continue  # an attempt holds the lease: it is working on the job
            done = _end(ledger, job, state, seconds)
            if done is not None:
                ended.append(done)
    return {"ended": ended, "checked": checked}
