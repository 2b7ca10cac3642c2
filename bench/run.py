"""`make bench`: runs every bench/bench_*.py module and prints one table (also bench/results/RESULTS.md).

Each module exposes ``run(workdir: pathlib.Path, quick: bool) -> list[dict]``; a row has the keys
``benchmark, case, metric, value, unit, goal, met`` (``met`` is True/False, or None without a goal).
``BENCH_QUICK=1`` uses small inputs (a smoke run, not a measurement).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import tempfile
import time
from pathlib import Path
from typing import Any

import bench

COLUMNS = ("benchmark", "case", "metric", "value", "unit", "goal", "met")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return str(v)


def table(rows: list[dict[str, Any]]) -> str:
    cells = [[_fmt(r.get(c)) for c in COLUMNS] for r in rows]
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def main() -> int:
    quick = os.environ.get("BENCH_QUICK") == "1"
    only = os.environ.get("BENCH_ONLY")
    rows: list[dict[str, Any]] = []
    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    for mod in sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")):
        if only and only not in mod:
            continue
        module = importlib.import_module(f"bench.{mod}")
        with tempfile.TemporaryDirectory(prefix=f"{mod}-") as wd:
            t0 = time.monotonic()
            got = module.run(Path(wd), quick)
            print(f"{mod}: {len(got)} rows in {time.monotonic() - t0:.1f}s", flush=True)
            rows.extend(got)
    text = table(rows)
    print(text)
    header = f"# Benchmark results\n\nMachine: {os.cpu_count()} cores. Quick mode: {quick}.\n\n"
    (out_dir / "RESULTS.md").write_text(header + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
