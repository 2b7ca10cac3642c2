"""Reads and alignments: validation and QC speed against htslib/coreutils doing the same read (issue 12).

Inputs come from our generator (``python -m genomics.synth reads``): one coordinate-sorted, indexed BAM of
paired 150 bp reads (≥ 1 GB in the full run; quick: 100,000 pairs), and from it with samtools
- the SAM text (its first ≥ 1 GB),
- the CRAM of the same reads against the generated reference (CRAM is about 3.5x smaller: the same reads,
  not a 1 GB CRAM),
- an interleaved FASTQ.gz of the same reads (``samtools fastq -T "*"``: BGZF, the tags as title comments, ≥ 1 GB).

Ratios, each measured in the same run, best of N (the machine is shared):
- SAM/BAM/CRAM: ``validate`` / ``samtools view -o /dev/null`` (CRAM with its reference), goal ≤ 2;
- FASTQ.gz: ``validate`` / ``zcat``, goal ≤ 1.5;
- QC of the BAM: ``genomics qc`` core / ``samtools stats``, goal ≤ 1.5.
Our side runs in a child process that reports the time of the call and the peak RSS of itself and of
its children (samtools): memory must not grow with the file.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.bench_validate import BenchError

FULL_PAIRS = 10_000_000  # ≈ 1.04 GB of BAM with genomics.synth's reads (9.3 M pairs gave 0.97 GB)
QUICK_PAIRS = 100_000
FULL_BYTES = 1_000_000_000
GOAL_ALIGNMENTS = 2.0
GOAL_FASTQ = 1.5
GOAL_QC = 1.5
CASES = ("bam", "sam", "cram", "fastq", "qc")

_CHILD = """
import json, resource, sys, time
what, path, ref = sys.argv[1], sys.argv[2], sys.argv[3] or None
import genomics.qc.service, genomics.validation.fastq, genomics.validation.sam  # imports are not timed
start = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
if what == "validate":
    from genomics.validation import validate_path
    report = validate_path(path, reference=ref)
    out = {"valid": report.valid, "records": report.stats.get("records"), "codes": sorted(report.issue_counts())}
else:
    from genomics.qc.service import qc_local
    result = qc_local(path, reference=ref)
    out = {"valid": True, "records": result["metrics"].get("total_reads") or result["metrics"].get("reads"),
           "codes": []}
out["seconds"] = time.perf_counter() - t0
own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
out["cpu_seconds"] = (own.ru_utime + own.ru_stime - start.ru_utime - start.ru_stime) + kids.ru_utime + kids.ru_stime
out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["children_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps(out))
"""


def _row(case: str, metric: str, value: Any, unit: str, goal: str | None = None, met: bool | None = None) -> dict:
    return {"benchmark": "reads", "case": case, "metric": metric, "value": value, "unit": unit, "goal": goal,
            "met": met}  # fmt: skip


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise BenchError(f"{name} not on PATH")
    return exe


def _ours(what: str, path: Path, ref: Path | None = None) -> dict[str, Any]:
    argv = [sys.executable, "-c", _CHILD, what, str(path), str(ref or "")]
    proc = subprocess.run(argv, capture_output=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"{what} crashed on {path.name}: {proc.stderr.decode(errors='replace')[-500:]}")
    got: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return got


def _cases() -> set[str]:
    """``BENCH_READS_CASES`` (comma-separated among bam, sam, cram, fastq, qc) runs only those; default all."""
    raw = os.environ.get("BENCH_READS_CASES", "")
    cases = {c.strip() for c in raw.split(",") if c.strip()} or set(CASES)
    unknown = cases - set(CASES)
    if unknown:
        raise BenchError(f"BENCH_READS_CASES: unknown {sorted(unknown)}; choose among {', '.join(CASES)}")
    return cases


def _make_inputs(wd: Path, pairs: int, quick: bool, cases: set[str] | None = None) -> dict[str, Path]:
    """Generate the inputs in ``wd`` (``BENCH_READS_INPUTS`` names a folder that keeps them between runs:
    files already there for the same number of pairs are reused); only those ``cases`` need (default all)."""
    cases = set(CASES) if cases is None else cases
    keep = os.environ.get("BENCH_READS_INPUTS")
    if keep:
        wd = Path(keep) / f"pairs-{pairs}"
        wd.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    bam, ref = wd / "reads.bam", wd / "reads.ref.fa"
    samtools = _tool("samtools")
    if not (bam.exists() and (wd / "reads.bam.bai").exists()):
        argv = [sys.executable, "-m", "genomics.synth", "reads", str(bam), "--pairs", str(pairs)]
        proc = subprocess.run(argv, capture_output=True, check=False)
        if proc.returncode != 0:
            raise BenchError(f"genomics.synth reads failed: {proc.stderr.decode(errors='replace')[-500:]}")
    if not quick and bam.stat().st_size < FULL_BYTES:
        raise BenchError(f"the BAM is {_gb(bam)}, under 1 GB; raise FULL_PAIRS")
    cram = wd / "reads.cram"
    if "cram" in cases and not cram.exists():
        _atomic(cram, lambda tmp: [samtools, "view", "-@", "2", "-C", "-T", str(ref), "-o", tmp, str(bam)])
    fastq = wd / "reads.fastq.gz"
    if "fastq" in cases and not fastq.exists():
        _atomic(fastq, lambda tmp: [samtools, "fastq", "-@", "2", "-N", "-T", "*", "-o", tmp, str(bam)])
    sam = wd / "reads.sam"
    if "sam" in cases and not sam.exists():
        _sam_head(samtools, bam, sam, None if quick else int(1.1 * FULL_BYTES))
    paths = {"bam": bam, "cram": cram, "sam": sam, "fastq": fastq, "ref": ref}
    if not quick:
        small = [k for k in ("sam", "fastq") if k in cases and paths[k].stat().st_size < FULL_BYTES]
        if small:
            raise BenchError(f"inputs under 1 GB: {small}; raise FULL_PAIRS")
    print(f"bench_reads: inputs ready in {time.perf_counter() - t0:.0f}s", flush=True)
    return paths


def _atomic(out: Path, argv_for: Any) -> None:
    """Run the command that writes ``out`` into a temporary name, then move it into place."""
    tmp = out.with_name(out.name + ".part" + out.suffix)
    subprocess.run(argv_for(str(tmp)), check=True, stderr=subprocess.DEVNULL)
    tmp.replace(out)


def _sam_head(samtools: str, bam: Path, out: Path, limit: int | None) -> None:
    """``samtools view -h`` of the BAM, cut at the first line end after ``limit`` bytes (None: all)."""
    proc = subprocess.Popen([samtools, "view", "-h", str(bam)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    written = 0
    tmp = out.with_name(out.name + ".part")
    with tmp.open("wb") as fh:
        for line in proc.stdout:
            fh.write(line)
            written += len(line)
            if limit is not None and written >= limit:
                break
    proc.stdout.close()
    proc.kill()
    proc.wait()
    tmp.replace(out)


def _timed_cpu(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of one run, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _gb(path: Path) -> str:
    return f"{path.stat().st_size / 1e9:.2f} GB"


def _compare(
    case: str, ours: Any, theirs: Any, their_label: str, goal: float, repeat: int, size: int
) -> tuple[list[dict], dict[str, Any]]:
    """Alternate our run and the reference tool's, ``repeat`` times each; best of each."""
    mine: list[dict[str, Any]] = []
    ref_runs: list[tuple[float, float]] = []
    for _ in range(repeat):
        mine.append(ours())
        ref_runs.append(theirs())
    best = min(mine, key=lambda r: r["seconds"])
    base = min(t for t, _ in ref_runs)
    ratio = best["seconds"] / base
    cpu_ratio = min(r["cpu_seconds"] for r in mine) / min(c for _, c in ref_runs)
    short = their_label.split(" (")[0]
    rows = [
        _row(f"{case}: genomics", "time", best["seconds"], "s"),
        _row(f"{case}: {their_label}", "time", base, "s"),
        _row(f"{case}: genomics / {short}", "ratio", ratio, "x", f"<= {goal:g}", ratio <= goal),
        _row(f"{case}: genomics / {short}, CPU seconds (user+sys, all processes)", "cpu ratio", cpu_ratio, "x"),
        _row(f"{case}: genomics throughput per CPU second (stored bytes)", "throughput",
             size / 1e6 / min(r["cpu_seconds"] for r in mine), "MB/CPU-s"),
        _row(f"{case}: genomics peak RSS, Python", "memory", best["rss_mib"], "MiB"),
        _row(
            f"{case}: genomics peak RSS, largest child (samtools; forked from Python, so at least its size)",
            "memory",
            best["children_rss_mib"],
            "MiB",
        ),
    ]
    return rows, best


def run(workdir: Path, quick: bool) -> list[dict]:
    pairs = QUICK_PAIRS if quick else FULL_PAIRS
    repeat = 3
    cases = _cases()
    p = _make_inputs(workdir, pairs, quick, cases)
    samtools, zcat = _tool("samtools"), _tool("zcat")
    reads = f"{2 * pairs / 1e6:g} M reads"
    rows: list[dict] = []
    for fmt in [f for f in ("bam", "sam", "cram") if f in cases]:
        path = p[fmt]
        ref = p["ref"] if fmt == "cram" else None
        view = [samtools, "view", "-o", "/dev/null", *(["-T", str(ref)] if ref else []), str(path)]
        label = f"{fmt.upper()} {_gb(path)}" + (f", {reads}" if fmt != "sam" else "")
        got, best = _compare(
            label,
            lambda pa=path, r=ref: _ours("validate", pa, r),
            lambda v=view: _timed_cpu(v),
            "samtools view -o /dev/null",
            GOAL_ALIGNMENTS,
            repeat,
            path.stat().st_size,
        )
        if not best["valid"]:
            raise BenchError(f"the synthetic {fmt} was rejected: {best}")
        rows += got
    if "fastq" in cases:
        rows += _fastq(p, reads, zcat, repeat)
    if "qc" in cases:
        rows += _qc(p, samtools, repeat)
    return rows


def _fastq(p: dict[str, Path], reads: str, zcat: str, repeat: int) -> list[dict]:
    got, best = _compare(
        f"FASTQ.gz {_gb(p['fastq'])} (BGZF, interleaved), {reads}",
        lambda: _ours("validate", p["fastq"]), lambda: _timed_cpu([zcat, str(p["fastq"])]), "zcat", GOAL_FASTQ,
        repeat, p["fastq"].stat().st_size,
    )  # fmt: skip
    if not best["valid"]:
        raise BenchError(f"the synthetic FASTQ was rejected: {best}")
    return got


def _qc(p: dict[str, Path], samtools: str, repeat: int) -> list[dict]:
    """QC decodes once (``samtools view -u`` teed into stats and flagstat) and runs mosdepth beside it, so
    on a loaded machine its processes get more of the CPU than one ``samtools stats``: the CPU ratio and
    the load average (printed too) say how much."""
    load = os.getloadavg()[0]
    got, _ = _compare(
        f"QC of the BAM {_gb(p['bam'])}", lambda: _ours("qc", p["bam"]),
        lambda: _timed_cpu([samtools, "stats", str(p["bam"])]), "samtools stats", GOAL_QC, repeat,
        p["bam"].stat().st_size,
    )  # fmt: skip
    cores = os.cpu_count() or 1
    return [*got, _row(f"QC of the BAM: load average (1 min) before / after, {cores} cores", "load",
                       f"{load:.1f} / {os.getloadavg()[0]:.1f}", "")]

