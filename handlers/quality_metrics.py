"""quality-metrics Lambda: bcftools/samtools stats, the per-assay QC gate and the MultiQC report.

Thin: parse the event, call :func:`genomics.qc.service.run_quality_metrics` (which builds its AWS
clients lazily) and return its small JSON result (kept by the workflow under ``$.qc``).
"""

from __future__ import annotations

from typing import Any

from genomics.observability import logger as make_logger
from genomics.qc.service import run_quality_metrics

log = make_logger("quality-metrics")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log.info("qc start", extra={"job_id": event.get("job_id"), "sample_id": event.get("sample_id"),
                                "format": (event.get("input") or {}).get("format")})
    result = run_quality_metrics(event, context=context)
    log.info("qc done", extra={"job_id": event.get("job_id"), "verdict": result["verdict"],
                               "deciding_metric": result["deciding_metric"]})
    return result
