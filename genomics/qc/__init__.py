"""Quality metrics: tool-output parsers, metrics, the per-assay QC gate and MultiQC reports.

Entry points: :func:`genomics.qc.service.qc_local` (CLI), :func:`genomics.qc.service.run_quality_metrics`
(the quality-metrics handler's core) and :func:`genomics.qc.service.cohort_report`.
"""
