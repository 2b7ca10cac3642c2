"""vcf-processor: plan / process / shard / gather a VCF or BCF (see genomics.processing.service)."""

from __future__ import annotations

from typing import Any

from genomics.observability import function, measure_step
from genomics.processing import service

FUNCTION = "vcf-processor"
logger, metrics, lambda_handler = function(FUNCTION)


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    action = event.get("action")
    logger.append_keys(job_id=event.get("job_id"), action=action)
    with measure_step(FUNCTION, context) as step:
        result = service.run_action(event)
    result["step"] = step.as_dict()
    metrics.add_metric(name=f"{str(action).title()}Invocations", unit="Count", value=1)
    if action in ("process", "gather"):
        metrics.add_metric(name="RecordsOut", unit="Count", value=float(result.get("records_out", 0)))
    logger.info("vcf-processor done", extra={"result": {k: v for k, v in result.items() if k != "shards"}})
    return result
