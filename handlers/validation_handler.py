"""validation-handler: S3 ObjectCreated -> record, validate, start the workflow or reject."""

from __future__ import annotations

from typing import Any

from genomics.ingest import IngestConfig, ingest_record
from genomics.ledger import Ledger
from genomics.observability import function, measure_step

FUNCTION = "validation-handler"
logger, metrics, lambda_handler = function(FUNCTION)


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = IngestConfig.from_environment()
    ledger = Ledger.from_environment()
    results = []
    for record in event.get("Records", []):
        with measure_step(FUNCTION, context) as step:
            result = ingest_record(record, config=config, ledger=ledger)
        if result.get("job_id") and not result.get("duplicate_event"):
            ledger.append_step(result["job_id"], {"name": "validate", **step.as_dict()})
        metrics.add_metric(name=f"Files{result['status'].title()}", unit="Count", value=1)
        logger.info("ingested", extra=result)
        results.append(result)
    return {"results": results}
