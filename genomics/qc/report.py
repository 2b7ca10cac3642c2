"""MultiQC reports, with MultiQC used as a library (``multiqc.run``, v1.28), offline and quiet.

Input is the tools' raw text outputs (bcftools stats, samtools stats/flagstat/idxstats) written to a
temp folder as ``<sample>.<tool>.txt``, plus one MultiQC custom-content file with the QC gate (verdict,
deciding metric, key metrics) and, for FASTQ, the quality-per-cycle and length distributions (there is
no tool output for FASTQ). The same function builds a per-sample and a cohort report.

MultiQC holds global state (``multiqc.config`` / ``multiqc.report``), so reports are built one at a
time in a process (a lock guards it); ``run`` resets that state on each call. Offline: no version
check (``no_version_check``), no AI summary, no MegaQC upload, plots inlined as interactive JS.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CODES: dict[str, str] = {
    "QC_REPORT_FAILED": "MultiQC did not produce a report (see the message)",
}

TOOL_FILES = ("bcftools_stats", "samtools_stats", "samtools_flagstat", "samtools_idxstats",
              "mosdepth_summary", "mosdepth_global_dist", "mosdepth_region_dist")
# Outputs whose MultiQC module finds them by a file-name pattern (mosdepth: *.mosdepth.summary.txt, ...).
_FILE_NAMES = {"mosdepth_summary": "mosdepth.summary", "mosdepth_global_dist": "mosdepth.global.dist",
               "mosdepth_region_dist": "mosdepth.region.dist"}
# The MultiQC modules a report runs; the handler image keeps only these (images/Dockerfile,
# MULTIQC_MODULES: tests/unit/test_dockerfile_lint.py keeps the two equal).
MODULES = ("bcftools", "samtools", "mosdepth", "custom_content")
REPORT_NAME = "multiqc_report.html"
_LOCK = threading.Lock()

# Metrics shown in the gate table (in this order) when present.
_TABLE_METRICS = ("records", "snps", "indels", "ts_tv", "het_hom_ratio", "missing_rate", "mean_depth",
                  "reads", "pct_mapped", "pct_properly_paired", "duplication_rate", "mean_coverage",
                  "x_y_ratio", "gc_pct", "mean_base_quality", "target_mean_depth", "target_median_depth",
                  "pct_target_20x")

_COUNT_METRICS = frozenset({"records", "snps", "indels", "reads"})


class ReportError(RuntimeError):
    code = "QC_REPORT_FAILED"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "sample"


def write_inputs(folder: Path, sample: str, raw: Mapping[str, str]) -> list[Path]:
    """Write one sample's raw tool outputs as ``<sample>.<tool>.txt`` (MultiQC names samples from
    them). bcftools stats names its sample from the ``ID`` line (the input path, ``-`` on stdin): that
    label is replaced by the sample id; the numbers are untouched."""
    paths = []
    for tool, text in raw.items():
        if tool not in TOOL_FILES:
            continue
        if tool == "bcftools_stats":
            text = "\n".join(
                f"ID\t{f.split(chr(9))[1]}\t{sample}" if f.startswith("ID\t") else f for f in text.splitlines()
            ) + "\n"
        path = folder / f"{_safe(sample)}.{_FILE_NAMES.get(tool, tool)}.txt"
        path.write_text(text)
        paths.append(path)
    return paths


def _gate_content(samples: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """MultiQC custom content: a table, one row per sample, with the gate and key metrics."""
    headers: dict[str, Any] = {
        "verdict": {"title": "QC verdict", "description": "pass / warn / fail of the per-assay gate"},
        "deciding_metric": {"title": "Decided by", "description": "the metric that set the verdict"},
        "assay": {"title": "Assay"},
    }
    data: dict[str, dict[str, Any]] = {}
    for sample, info in samples.items():
        gate = info.get("gate", {})
        metrics = info.get("metrics", {})
        row: dict[str, Any] = {
            "verdict": gate.get("verdict", "-"),
            "deciding_metric": gate.get("deciding_metric") or "-",
            "assay": info.get("assay", "-"),
        }
        for m in _TABLE_METRICS:
            if isinstance(metrics.get(m), int | float):
                row[m] = metrics[m]
                fmt = "{:,.0f}" if m in _COUNT_METRICS else "{:,.4g}"
                headers.setdefault(m, {"title": m, "format": fmt, "scale": False})
        data[sample] = row
    return {
        "id": "qc_gate",
        "section_name": "QC gate",
        "description": ("Per-assay pass/warn/fail gate (genomics.qc.gate). Reasons for warn/fail and "
                        "for metrics not evaluated are stored with the metrics."),
        "plot_type": "table",
        "pconfig": {"id": "qc_gate_table", "title": "QC gate", "col1_header": "Sample"},
        "headers": headers,
        "data": data,
    }


def _fastq_content(samples: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    cycles: dict[str, dict[int, float]] = {}
    lengths: dict[str, dict[int, int]] = {}
    for sample, info in samples.items():
        dists = info.get("metrics", {}).get("distributions", {})
        if "quality_per_cycle" in dists:
            cycles[sample] = {i + 1: q for i, q in enumerate(dists["quality_per_cycle"])}
            lengths[sample] = {int(k): v for k, v in dists.get("length", {}).items()}
    if not cycles:
        return []
    return [
        {"id": "fastq_quality_per_cycle", "section_name": "FASTQ: mean quality per cycle",
         "description": "Mean Phred quality at each cycle (genomics.qc.fastq, one streaming pass).",
         "plot_type": "linegraph",
         "pconfig": {"id": "fastq_qpc", "title": "Mean quality per cycle", "xlab": "Cycle",
                     "ylab": "Phred quality", "ymin": 0},
         "data": cycles},
        {"id": "fastq_lengths", "section_name": "FASTQ: read lengths",
         "plot_type": "linegraph",
         "pconfig": {"id": "fastq_len", "title": "Read length distribution", "xlab": "Length",
                     "ylab": "Reads"},
         "data": lengths},
    ]


# Rows of the findings table per sample (warnings beyond it are counted in the row of their code).
MAX_FINDING_ROWS = 50


def findings(info: Mapping[str, Any]) -> list[dict[str, str]]:
    """One sample's findings, as rows {"kind", "code", "where", "detail"}: the validation conformance
    warnings (code, line, message), processing's repairs and QC's notes (what was left out and why)."""
    rows: list[dict[str, str]] = []
    conformance = info.get("conformance") or {}
    warnings = list(conformance.get("warnings") or [])
    for w in warnings:
        where = f"line {w['line']}" if w.get("line") else "-"
        detail = str(w.get("message", ""))
        if w.get("record"):
            detail += f" (record {w['record']})"
        rows.append({"kind": "validation warning", "code": str(w.get("code", "-")), "where": where,
                     "detail": detail})
    counts = conformance.get("codes") or {}
    shown: dict[str, int] = {}
    for w in warnings:
        shown[str(w.get("code"))] = shown.get(str(w.get("code")), 0) + 1
    for code, n in counts.items():
        if n > shown.get(code, 0):
            rows.append({"kind": "validation warning", "code": code, "where": "-",
                         "detail": f"{n - shown.get(code, 0)} more occurrence(s) not listed"})
    for r in info.get("repairs") or []:
        rows.append({"kind": "processing repair", "code": str(r.get("repair", "-")),
                     "where": str(r.get("first") or r.get("key") or "-"),
                     "detail": f"{r.get('key', '')}: {r.get('reason', '')}".strip(": ")})
    for f in (info.get("identity") or {}).get("findings") or []:
        rows.append({"kind": "sample identity", "code": str(f.get("code", "-")),
                     "where": "samples " + ", ".join(map(str, f.get("samples") or [])),
                     "detail": str(f.get("message", ""))})
    for note in info.get("notes") or []:
        rows.append({"kind": "QC note", "code": "-", "where": "-", "detail": str(note)})
    return rows


def _findings_content(samples: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """MultiQC custom content: the conformance warnings, repairs and QC notes of every sample."""
    data: dict[str, dict[str, str]] = {}
    for sample, info in samples.items():
        rows = findings(info)
        for i, row in enumerate(rows[:MAX_FINDING_ROWS]):
            data[f"{sample} #{i + 1}"] = row
        if len(rows) > MAX_FINDING_ROWS:
            data[f"{sample} #{MAX_FINDING_ROWS + 1}"] = {
                "kind": "-", "code": "-", "where": "-",
                "detail": f"{len(rows) - MAX_FINDING_ROWS} more rows in the job's record (genomics status --job)"}
    if not data:
        return None
    return {
        "id": "qc_findings",
        "section_name": "Warnings, repairs and notes",
        "description": ("Validation conformance warnings (the file was accepted; strict profile would "
                        "reject these), what processing repaired so the file could be processed, and what "
                        "QC could not compute and why."),
        "plot_type": "table",
        "pconfig": {"id": "qc_findings_table", "title": "Warnings, repairs and notes", "col1_header": "Sample #",
                    "sort_rows": False},
        "headers": {
            "kind": {"title": "Kind"},
            "code": {"title": "Code"},
            "where": {"title": "Where"},
            "detail": {"title": "Detail"},
        },
        "data": data,
    }


def render(samples: Mapping[str, Mapping[str, Any]], out_dir: Path, *, title: str,
           comment: str | None = None) -> Path:
    """Build one report from ``{sample: {"raw": {tool: text}, "metrics": {...}, "gate": {...},
    "assay": str, "conformance"?, "repairs"?, "notes"?, "identity"?}}``; return the HTML path
    (``out_dir/multiqc_report.html``). A sample's conformance warnings, repairs and QC notes appear in
    the "Warnings, repairs and notes" table."""
    import multiqc
    import yaml  # installed with multiqc
    from multiqc.core.update_config import ClConfig

    out_dir.mkdir(parents=True, exist_ok=True)
    with _LOCK, tempfile.TemporaryDirectory(prefix="qc-mqc-in-") as tmp:
        folder = Path(tmp)
        for sample, info in samples.items():
            write_inputs(folder, sample, info.get("raw", {}))
        # YAML, not JSON: line-graph x values must stay numbers (JSON object keys become strings).
        (folder / "qc_gate_mqc.yaml").write_text(yaml.safe_dump(_gate_content(samples), sort_keys=False))
        for i, content in enumerate(_fastq_content(samples)):
            (folder / f"fastq_{i}_mqc.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
        found = _findings_content(samples)
        if found is not None:
            (folder / "qc_findings_mqc.yaml").write_text(yaml.safe_dump(found, sort_keys=False))
        cfg = ClConfig(
            title=title,
            report_comment=comment,
            output_dir=str(out_dir),
            filename=REPORT_NAME,
            force=True,
            quiet=True,
            no_ansi=True,
            no_version_check=True,
            no_ai=True,
            ai_summary=False,
            no_megaqc_upload=True,
            make_data_dir=False,
            make_pdf=False,
            export_plots=False,
            plots_force_interactive=True,
            run_modules=list(MODULES),
            extra_fn_clean_exts=[f".{_FILE_NAMES.get(t, t)}" for t in TOOL_FILES],
            fn_clean_sample_names=True,
            cl_config=["custom_content: {order: [qc_gate, qc_findings, fastq_quality_per_cycle, fastq_lengths]}",
                       "show_analysis_paths: false"],
        )
        previous = os.environ.get("MULTIQC_NO_VERSION_CHECK")
        os.environ["MULTIQC_NO_VERSION_CHECK"] = "true"
        logging.getLogger("multiqc").setLevel(logging.WARNING)
        try:
            result = multiqc.run(str(folder), cfg=cfg)
        finally:
            if previous is None:
                os.environ.pop("MULTIQC_NO_VERSION_CHECK", None)
            else:
                os.environ["MULTIQC_NO_VERSION_CHECK"] = previous
        html = out_dir / REPORT_NAME
        if result.sys_exit_code != 0 or not html.exists():
            raise ReportError(f"QC_REPORT_FAILED: MultiQC exited {result.sys_exit_code}: {result.message}")
        return html
