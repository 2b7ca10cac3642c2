"""sweeper: on a schedule, mark uploads whose event sits in the dead-letter queue INGEST_FAILED, end every
job stuck in a running state past its deadline (with the reason), and count partner deliveries not
acknowledged within DELIVERY_ACK_DAYS (metric DeliveriesUnacknowledged, alarmed; genomics.drs)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from genomics import clients
from genomics.drs.state import DeliveryState
from genomics.ledger import Ledger
from genomics.ledger.sweeper import Deadlines, sweep
from genomics.observability import function
from genomics.replay import mark_dead_letters

FUNCTION = "sweeper"
logger, metrics, lambda_handler = function(FUNCTION)


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ledger = Ledger.from_environment(with_qc=False)
    sqs = clients.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=os.environ["DEAD_LETTER_QUEUE"])["QueueUrl"]
    dead = mark_dead_letters(sqs, queue_url, ledger)  # uploads whose event Lambda gave up on
    result = {**sweep(ledger, Deadlines.parse(os.environ["SWEEP_DEADLINES"])), "dead_letters": dead}
    # The alarm watches this metric: any swept job means something stopped without failing loudly.
    metrics.add_metric(name="JobsSwept", unit="Count", value=len(result["ended"]))
    metrics.add_metric(name="DeadLettersMarked", unit="Count", value=len(dead))
    for job in [*result["ended"], *dead]:
        logger.warning("job swept", extra=job)
    days = int(os.environ.get("DELIVERY_ACK_DAYS", "14"))
    cutoff = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # as model.now_iso
    late = DeliveryState(ledger).unacknowledged(cutoff)
    result["deliveries_unacknowledged"] = late
    metrics.add_metric(name="DeliveriesUnacknowledged", unit="Count", value=len(late))
    for d in late:
        logger.warning(f"partner delivery not acknowledged after {days} days", extra=d)
    logger.info("sweep done", extra={"checked": result["checked"], "ended": len(result["ended"])})
    return result
