"""quality-metrics Lambda: bcftools/samtools stats, the per-assay QC gate and the MultiQC report.

Thin: parse the event, call :func:`genomics.qc.service.run_quality_metrics` (which builds its AWS
clients lazily) and return its small JSON result (kept by the workflow under ``$.qc``).
"""

from __future__ import annotations

from typing import Any

from genomics.observability import function
from genomics.qc import scatter_service
from genomics.qc.service import run_quality_metrics

FUNCTION = "quality-metrics"
logger, metrics, lambda_handler = function(FUNCTION)


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(job_id=event.get("job_id"), sample_id=event.get("sample_id"))
    action = event.get("action")
    logger.info("qc start", extra={"format": (event.get("input") or {}).get("format"), "action": action})
    if action in ("plan", "shard"):
        result = scatter_service.ACTIONS[action](event, context=context)
        logger.info("qc done", extra={"action": action, "mode": result.get("mode")})
        return result
    if action in ("gather", "collect"):
        result = scatter_service.ACTIONS[action](event, context=context)
    else:
        result = run_quality_metrics(event, context=context)
    metrics.add_metric(name=f"QcVerdict{str(result['verdict']).title()}", unit="Count", value=1)
    logger.info("qc done", extra={"verdict": result["verdict"], "deciding_metric": result["deciding_metric"]})
    return result
