"""sweeper: on a schedule, end every job stuck in a running state past its deadline (with the reason)."""

from __future__ import annotations

import os
from typing import Any

from genomics.ledger import Ledger
from genomics.ledger.sweeper import Deadlines, sweep
from genomics.observability import logger as make_logger
from genomics.observability import metrics as make_metrics

FUNCTION = "sweeper"
logger = make_logger(FUNCTION)
metrics = make_metrics(FUNCTION)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ledger = Ledger(os.environ["METADATA_TABLE"], os.environ["JOBS_TABLE"], "")
    result = sweep(ledger, Deadlines.parse(os.environ["SWEEP_DEADLINES"]))
    # The alarm watches this metric: any swept job means something stopped without failing loudly.
    metrics.add_metric(name="JobsSwept", unit="Count", value=len(result["ended"]))
    for job in result["ended"]:
        logger.warning("job swept", extra=job)
    logger.info("sweep done", extra={"checked": result["checked"], "ended": len(result["ended"])})
    return result
