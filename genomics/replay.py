"""`genomics replay`: re-run S3 upload events that failed to start a job (the ingest dead-letter queue).

Lambda's on-failure destination wraps the original event as ``requestPayload``. Replaying calls the
same ingest core; its conditional writes make a replay of an event that did get through a no-op.
A message is deleted only after its records were ingested.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Ingest = Callable[[dict[str, Any]], dict[str, Any]]


def _records(body: str) -> list[dict[str, Any]]:
    msg = json.loads(body)
    event = msg.get("requestPayload", msg)
    return list(event.get("Records", []))


def replay(
    sqs: Any, queue_url: str, ingest: Ingest, *, max_messages: int = 100, dry_run: bool = False
) -> dict[str, Any]:
    replayed, failed, seen = [], [], 0
    while seen < max_messages:
        resp = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, max_messages - seen),
            WaitTimeSeconds=0,
            VisibilityTimeout=300,
        )
        messages = resp.get("Messages", [])
        if not messages:
            break
        for m in messages:
            seen += 1
            records = _records(m["Body"])
            if dry_run:
                replayed.extend({"key": r["s3"]["object"]["key"], "dry_run": True} for r in records)
                continue
            try:
                results = [ingest(r) for r in records]
            except Exception as e:  # keep the message for the next replay; report why
                failed.append({"message_id": m["MessageId"], "error": f"{type(e).__name__}: {e}"})
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            replayed.extend(results)
        if dry_run:
            break
    return {"replayed": replayed, "failed": failed, "messages": seen}
