"""web-tasks: the web app's asynchronous work (reprocess a job, deliver to a partner). Thin: build the
ledger and clients from the environment, run :func:`genomics.webapp.tasks.run`; a failure raises (Lambda
retries the event)."""

from __future__ import annotations

from typing import Any

from genomics import clients
from genomics.ledger import Ledger
from genomics.observability import function
from genomics.webapp.tasks import Clients, run

FUNCTION = "web-tasks"
logger, _metrics, lambda_handler = function(FUNCTION, with_metrics=False)


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = run(event, Clients(ledger=Ledger.from_environment(), s3=clients.client("s3"),
                                sfn=clients.client("stepfunctions"), kms=clients.client("kms")))
    logger.info("web task", extra={"task": event.get("task"), "job_id": event.get("job_id"),
                                   "delivery_id": event.get("delivery_id"), "actor": event.get("actor"),
                                   "new_job": result.get("job_id"), "status": result.get("status")})
    return result
