"""`genomics replay`: re-run S3 upload events that failed to start a job (the ingest dead-letter queue).

Lambda's on-failure destination wraps the original event as ``requestPayload``. Replaying calls the
same ingest core; its conditional writes make a replay of an event that did get through a no-op.

Replay never hides work:

- a message is deleted only after its records were ingested;
- a message it could not replay is made visible again at once (``ChangeMessageVisibility`` 0) and
  reported with its reason, so the next replay (or the operator) sees it immediately;
- ``--dry-run`` only peeks: what it received is released before it returns, even on an error;
- the answer counts what is still in the queue afterwards (``remaining``) and what someone else holds
  hidden right now (``in_flight``): "nothing to replay" is never claimed while messages are in flight.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from genomics.errors import aws_call

Ingest = Callable[[dict[str, Any]], dict[str, Any]]

# How long a received message stays hidden while this run works on it (released as soon as it is
# done with it). Long enough for one ingest of a large file; the release makes the value harmless.
WORK_VISIBILITY_S = 900
PEEK_VISIBILITY_S = 30
# How long a replay waits for messages another reader holds hidden before it reports them as in flight.
IN_FLIGHT_WAIT_S = 10.0


def _records(body: str) -> list[dict[str, Any]]:
    msg = json.loads(body)
    event = msg.get("requestPayload", msg)
    return list(event.get("Records", []))


def _keys(records: list[dict[str, Any]]) -> list[str]:
    return [str(((r.get("s3") or {}).get("object") or {}).get("key", "")) for r in records]


def queue_depth(sqs: Any, queue_url: str) -> dict[str, int]:
    """Messages waiting (visible) and messages someone holds hidden (in flight)."""
    with aws_call("SQS GetQueueAttributes"):
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    return {
        "remaining": int(attrs.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def _release(sqs: Any, queue_url: str, handles: list[str]) -> None:
    """Make received messages visible again now (not when their visibility timeout runs out)."""
    for i in range(0, len(handles), 10):
        entries = [{"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0} for n, h in enumerate(handles[i:i + 10])]
        with contextlib.suppress(Exception):  # an expired handle is already visible
            sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


def replay(
    sqs: Any, queue_url: str, ingest: Ingest, *, max_messages: int = 100, dry_run: bool = False
) -> dict[str, Any]:
    """Replay (or with ``dry_run`` list) up to ``max_messages`` dead-lettered events.

    Returns ``{"replayed", "failed", "messages", "remaining", "in_flight"}``: ``failed`` has one entry
    per message that is still in the queue, with its keys and the reason; ``remaining`` and ``in_flight``
    are the queue's depth after this run (and after the release of what it did not delete)."""
    replayed: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    held: list[str] = []  # receipt handles this run still holds hidden
    seen: set[str] = set()
    waited = 0.0
    try:
        while len(seen) < max_messages:
            with aws_call("SQS ReceiveMessage"):
                resp = sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=min(10, max_messages - len(seen)),
                    WaitTimeSeconds=0,
                    VisibilityTimeout=PEEK_VISIBILITY_S if dry_run else WORK_VISIBILITY_S,
                )
            messages = [m for m in resp.get("Messages", []) if m["MessageId"] not in seen]
            if not messages:
                # Someone else holds messages hidden for a moment (the sweeper peeks at the queue): wait
                # for them a little rather than report an empty queue.
                if waited < IN_FLIGHT_WAIT_S and queue_depth(sqs, queue_url)["in_flight"] > len(held):
                    time.sleep(0.5)
                    waited += 0.5
                    continue
                break
            for m in messages:
                seen.add(m["MessageId"])
                try:
                    records = _records(m["Body"])
                except (ValueError, AttributeError, TypeError) as e:
                    held.append(m["ReceiptHandle"])
                    failed.append({"message_id": m["MessageId"], "keys": [],
                                   "error": f"not an S3 event or Lambda failure record: {e}"})
                    continue
                if dry_run:
                    held.append(m["ReceiptHandle"])
                    replayed.extend({"key": k, "message_id": m["MessageId"], "dry_run": True} for k in _keys(records))
                    continue
                try:
                    results = [ingest(r) for r in records]
                except Exception as e:  # keep the message for the next replay; report why
                    held.append(m["ReceiptHandle"])
                    failed.append({"message_id": m["MessageId"], "keys": _keys(records),
                                   "error": f"{type(e).__name__}: {e}"})
                    continue
                with aws_call("SQS DeleteMessage"):
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
                replayed.extend(results)
    finally:
        _release(sqs, queue_url, held)
    return {"replayed": replayed, "failed": failed, "messages": len(seen), **queue_depth(sqs, queue_url)}


def incomplete(result: dict[str, Any]) -> bool:
    """True when work is left: a message failed, or messages remain in (or are hidden in) the queue."""
    return bool(result["failed"]) or result["remaining"] > 0 or result["in_flight"] > 0


def _failure_reason(body: str) -> str:
    """Why Lambda gave up on the event: the on-failure record's error type and message."""
    try:
        msg = json.loads(body)
    except ValueError:
        return "unknown error"
    payload = msg.get("responsePayload") or {}
    if isinstance(payload, dict) and (payload.get("errorType") or payload.get("errorMessage")):
        return f"{payload.get('errorType', 'Error')}: {payload.get('errorMessage', '')}"[:500]
    condition = (msg.get("requestContext") or {}).get("condition")
    return f"Lambda gave up on the event ({condition or 'unknown condition'})"


def mark_dead_letters(sqs: Any, queue_url: str, ledger: Any, *, max_messages: int = 1000) -> list[dict[str, Any]]:
    """Make every upload whose event sits in the dead-letter queue visible as INGEST_FAILED, with the
    reason Lambda recorded, creating its job when the failed attempt never got that far. Only peeks:
    every message is released again before this returns (the sweeper runs this on each pass)."""
    from genomics.ingest import NotAnUpload, object_ref
    from genomics.ledger import model
    from genomics.ledger.model import KeyLayoutError, parse_key
    from genomics.ledger.store import InvalidTransition

    marked: list[dict[str, Any]] = []
    held: list[str] = []
    seen: set[str] = set()
    try:
        while len(seen) < max_messages:
            with aws_call("SQS ReceiveMessage"):
                resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                           VisibilityTimeout=PEEK_VISIBILITY_S)
            messages = [m for m in resp.get("Messages", []) if m["MessageId"] not in seen]
            if not messages:
                break
            for m in messages:
                seen.add(m["MessageId"])
                held.append(m["ReceiptHandle"])
                try:
                    records = _records(m["Body"])
                except (ValueError, AttributeError, TypeError):
                    continue
                reason = f"INGEST_ATTEMPT_FAILED: {_failure_reason(m['Body'])} (event in the dead-letter queue)"
                for record in records:
                    try:
                        ref = object_ref(record)
                    except (NotAnUpload, KeyError, TypeError):
                        continue
                    try:
                        layout = parse_key(ref.key)
                        project, sample_id = layout.project, layout.sample_id
                    except KeyLayoutError:
                        project, sample_id = "_unassigned", "_unassigned"
                    job_id = ref.job_id()
                    if ledger.create_job(ref, job_id=job_id, project=project, sample_id=sample_id,
                                         actor="dead-letter"):
                        ledger.record_file(ref, project=project, sample_id=sample_id, job_id=job_id,
                                           attributes={"status": model.INGEST_FAILED})
                    try:
                        ledger.transition(job_id, model.INGEST_FAILED, actor="dead-letter",
                                          only_from=(model.RECEIVED, model.VALIDATING), idempotent=False,
                                          detail={"error": "INGEST_ATTEMPT_FAILED"},
                                          attributes={"reason": reason, "error_code": "INGEST_ATTEMPT_FAILED"})
                    except InvalidTransition:
                        continue  # already failed visibly, or it moved on (a retry got through)
                    marked.append({"job_id": job_id, "key": ref.key, "reason": reason})
    finally:
        _release(sqs, queue_url, held)
    return marked
