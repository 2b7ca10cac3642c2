"""Load and chaos on the local stack (genomics.local.load, the scenario tests/e2e/test_chaos.py asserts):
throughput of concurrent mixed uploads with seeded faults and recovery, and the per-job memory the
ledger records (each computed job's heaviest step: the peak RSS of its own tools in local mode).

Full mode: 6 samples (120 uploads); quick mode: 3 samples (60 uploads), as the test. No goal: the
numbers describe the local mode on this machine, not Lambda.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from genomics.local import load


def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    samples = 3 if quick else 6
    report = load.run(samples=samples, seed=17)
    n = len(report.uploads)
    case = f"{n} uploads, {report.workflow_runs} workflow runs, faults {sum(report.fired.values())} fired"
    peaks = load.job_memory_mb(report)
    row = {"benchmark": "load+chaos (local serve)", "case": case, "goal": None, "met": None}
    rows = [
        {**row, "metric": "throughput", "value": n / report.seconds * 60, "unit": "uploads/min"},
        {**row, "metric": "wall time", "value": report.seconds, "unit": "s"},
    ]
    if peaks:
        rows += [
            {**row, "metric": "per-job peak memory (median)", "value": statistics.median(peaks), "unit": "MB"},
            {**row, "metric": "per-job peak memory (max)", "value": max(peaks), "unit": "MB"},
        ]
    return rows
