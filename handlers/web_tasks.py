"""web-tasks: the web app's asynchronous work (reprocess a job, deliver to a partner). Thin: build the
ledger and clients from the environment, run :func:`genomics.webapp.tasks.run`; a failure raises (Lambda
retries the event)."""

from __future__ import annotations

import os
from typing import Any

import boto3

from genomics.ledger import Ledger
from genomics.observability import function
from genomics.webapp.tasks import Clients, run

FUNCTION = "web-tasks"
logger, _metrics, lambda_handler = function(FUNCTION, with_metrics=False)


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ledger = Ledger(os.environ["METADATA_TABLE"], os.environ["JOBS_TABLE"], os.environ.get("QC_TABLE", ""))
    result = run(event, Clients(ledger=ledger, s3=boto3.client("s3"), sfn=boto3.client("stepfunctions"),
                                kms=boto3.client("kms")))
    logger.info("web task", extra={"task": event.get("task"), "job_id": event.get("job_id"),
                                   "delivery_id": event.get("delivery_id"), "actor": event.get("actor"),
                                   "new_job": result.get("job_id"), "status": result.get("status")})
    return result
