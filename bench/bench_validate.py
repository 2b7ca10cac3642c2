"""VCF validation speed: genomics.validation.vcf vs `bcftools view -Ou` (Debian 1.16) and vcftools' vcf-validator.

Input: a synthetic VCF from ``python -m genomics.synth`` (1,000,000 records x 4 samples; quick: 50,000),
plain and BGZF. Our validator runs in a child process that reports the time of the validate call and its
peak RSS (memory must not grow with the file). vcf-validator is run on the full file unless it would take
more than 5 minutes (judged from a 50,000-record subset), or in quick mode: then the subset time is
extrapolated linearly and the case column says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FULL_RECORDS = 1_000_000
QUICK_RECORDS = 50_000
SUBSET_RECORDS = 50_000
VCF_VALIDATOR_BUDGET_S = 300.0
GOAL_VS_BCFTOOLS = 2.0  # at most 2x bcftools view
GOAL_VS_VCF_VALIDATOR = 20.0  # at least 20x faster

_CHILD = """
import json, resource, sys, time
from genomics.sources import LocalFile
from genomics.validation.report import ValidationReport
from genomics.validation.vcf import validate_vcf
path, compression = sys.argv[1], sys.argv[2]
report = ValidationReport(path, "vcf")
t0 = time.perf_counter()
validate_vcf(LocalFile(path), report, compression=compression)
elapsed = time.perf_counter() - t0
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
counts = report.issue_counts()
print(json.dumps({"seconds": elapsed, "valid": report.valid, "records": report.stats["records"],
                  "rss_kib": rss_kib, "issues": sum(counts.values()), "codes": sorted(counts)}))
"""


class BenchError(RuntimeError):
    """A benchmark step failed (tool missing, generator or validator crashed)."""


def _row(case: str, metric: str, value: Any, unit: str, goal: str | None = None, met: bool | None = None) -> dict:
    return {
        "benchmark": "validate_vcf",
        "case": case,
        "metric": metric,
        "value": value,
        "unit": unit,
        "goal": goal,
        "met": met,
    }


def _synth(out: Path, records: int) -> None:
    argv = [sys.executable, "-m", "genomics.synth", str(out), "--records", str(records), "--samples", "4"]
    proc = subprocess.run(argv, capture_output=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"genomics.synth failed: {proc.stderr.decode(errors='replace')[-500:]}")


def _subset(src: Path, dst: Path, records: int) -> None:
    with src.open("rb") as fin, dst.open("wb") as fout:
        n = 0
        for line in fin:
            if not line.startswith(b"#"):
                n += 1
                if n > records:
                    break
            fout.write(line)


def _ours(path: Path, compression: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), compression], capture_output=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"validator crashed: {proc.stderr.decode(errors='replace')[-500:]}")
    got: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return got


def _ours_bcf(path: Path) -> dict[str, Any]:
    child = _CHILD.replace('report = ValidationReport(path, "vcf")', 'report = ValidationReport(path, "bcf")')
    child = child.replace("compression=compression)", "compression=compression, is_bcf=True)")
    proc = subprocess.run([sys.executable, "-c", child, str(path), "bgzf"], capture_output=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"validator crashed on BCF: {proc.stderr.decode(errors='replace')[-500:]}")
    got: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return got


def _timed(argv: list[str], timeout: float | None = None) -> float:
    exe = shutil.which(argv[0])
    if exe is None:
        raise BenchError(f"{argv[0]} not on PATH")
    t0 = time.perf_counter()
    subprocess.run([exe, *argv[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, check=False)
    return time.perf_counter() - t0


def _best(fn: Any, repeat: int) -> Any:
    results = [fn() for _ in range(repeat)]
    return min(results, key=lambda r: r["seconds"] if isinstance(r, dict) else r)


def run(workdir: Path, quick: bool) -> list[dict]:
    n = QUICK_RECORDS if quick else FULL_RECORDS
    label = f"{n // 1000}k records x 4 samples"
    plain = workdir / "synth.vcf"
    _synth(plain, n)
    bgzf = workdir / "synth.vcf.gz"
    with bgzf.open("wb") as out, plain.open("rb") as src:
        subprocess.run([shutil.which("bgzip") or "bgzip", "-c"], stdin=src, stdout=out, check=True)

    rows: list[dict] = []
    repeat = 3 if quick else 2
    for path, compression in ((plain, "none"), (bgzf, "bgzf")):
        kind = "plain VCF" if compression == "none" else "BGZF VCF"
        ours = _best(lambda p=path, c=compression: _ours(p, c), repeat)
        if ours["records"] != n:
            raise BenchError(f"validator miscounted the synthetic records: {ours}")
        bcf = _best(lambda p=path: _timed(["bcftools", "view", "-Ou", str(p)]), repeat)
        ratio = ours["seconds"] / bcf
        rows += [
            _row(f"{label}, {kind}: genomics validate_vcf", "time", ours["seconds"], "s"),
            _row(f"{label}, {kind}: bcftools view -Ou (1.16)", "time", bcf, "s"),
            _row(
                f"{label}, {kind}: validate_vcf / bcftools view",
                "ratio",
                ratio,
                "x",
                f"<= {GOAL_VS_BCFTOOLS:g}",
                ratio <= GOAL_VS_BCFTOOLS,
            ),
            _row(f"{label}, {kind}: validate_vcf peak RSS", "memory", ours["rss_kib"] / 1024, "MiB"),
        ]
        if ours["issues"]:
            codes = ",".join(ours["codes"])
            rows.append(
                _row(
                    f"{label}, {kind}: issues found in the synthetic file ({codes})", "issues", ours["issues"], "count"
                )
            )
        if compression == "none":
            plain_seconds = ours["seconds"]

    # BCF: decoded by `bcftools view` to text, then checked; informational (no goal).
    bcf_path = workdir / "synth.bcf"
    subprocess.run([shutil.which("bcftools") or "bcftools", "view", "-Ob", "-o", str(bcf_path), str(plain)], check=True)
    ours_bcf = _best(lambda: _ours_bcf(bcf_path), 1)
    rows.append(
        _row(
            f"{label}, BCF: genomics validate_vcf (bcftools view to text, then the scanner)",
            "time",
            ours_bcf["seconds"],
            "s",
        )
    )
    bcf_view = _best(lambda: _timed(["bcftools", "view", "-Ou", str(bcf_path)]), 1)
    rows.append(_row(f"{label}, BCF: bcftools view -Ou (1.16)", "time", bcf_view, "s"))

    # vcf-validator (vcftools, Perl): subset first; the full file only if it fits the 5-minute budget.
    subset = workdir / "subset.vcf"
    _subset(plain, subset, SUBSET_RECORDS)
    sub_s = _timed(["vcf-validator", str(subset)])
    projected = sub_s * n / SUBSET_RECORDS
    if quick or n <= SUBSET_RECORDS or projected > VCF_VALIDATOR_BUDGET_S:
        vv = projected
        case = f"{label}: vcf-validator, extrapolated linearly from a {SUBSET_RECORDS // 1000}k-record run"
    else:
        vv = _timed(["vcf-validator", str(plain)], timeout=VCF_VALIDATOR_BUDGET_S * 2)
        case = f"{label}: vcf-validator (vcftools), full file"
    speedup = vv / plain_seconds
    rows += [
        _row(case, "time", vv, "s"),
        _row(
            f"{label}, plain VCF: vcf-validator / validate_vcf",
            "speedup",
            speedup,
            "x",
            f">= {GOAL_VS_VCF_VALIDATOR:g}",
            speedup >= GOAL_VS_VCF_VALIDATOR,
        ),
    ]
    return rows
