"""The router's constants (genomics.router.Throughput): MB of input per CPU-second for QC of a BAM (one
shard's teed stream: samtools stats + flagstat + the inter-contig count), a CRAM, and a FASTQ.gz; plus the
scattered QC's wall and its merge against one samtools stats pass on the same BAM (ratio: noise on a
shared machine cancels). CPU seconds are the children's user+sys (getrusage), so "per vCPU" means per
core actually used. Each row shows the constant the router uses next to what was measured now.

Full mode: ~1 GB BAM (quick: ~25 MB). Nothing here is asserted in tests.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genomics import synth
from genomics.qc import scatter
from genomics.qc.metrics import fastq_source_metrics
from genomics.router import MEASURED
from genomics.sources import LocalFile

BYTES_PER_PAIR_BAM = 150  # genomics.synth BAM, measured


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime + me.ru_utime + me.ru_stime


def _timed(fn: Callable[[], Any], runs: int = 2) -> tuple[float, float]:
    """Best (wall, cpu) seconds of ``runs`` runs."""
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(runs):
        c0, t0 = _cpu(), time.monotonic()
        fn()
        best_wall = min(best_wall, time.monotonic() - t0)
        best_cpu = min(best_cpu, _cpu() - c0)
    return best_wall, best_cpu


def _row(case: str, metric: str, value: float, unit: str, goal: str | None = None,
         met: bool | None = None) -> dict[str, Any]:
    return {"benchmark": "scale", "case": case, "metric": metric, "value": value, "unit": unit, "goal": goal,
            "met": met}


def cram_scatter_rows(path: str, reference: str) -> list[dict[str, Any]]:
    """A CRAM scatter shard's CPU per MB of containers (record validation + the teed stats stream, both
    decoding with the reference), against the router's planning figure; the largest shard's wall against
    one ``samtools stats`` pass; the merge's wall."""
    from genomics.qc import crai
    from genomics.qc.scatter_service import validate_shard_records

    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        eof = crai.eof_bytes(fh.read(5))
    entries = crai.parse_crai(crai.read_crai(path + ".crai"))
    hdr = subprocess.run(["samtools", "view", "-H", path], capture_output=True, text=True, check=True).stdout
    spans = crai.contigs(entries, scatter.header_refs(hdr), file_size=size, eof=eof)
    shards = crai.plan_shards(spans, target_bytes=1, max_shards=64, file_size=size,
                              header_end=crai.header_end(entries, size, eof), eof=eof)
    case = f"synth CRAM {size / 1e6:.0f} MB, scatter"
    rows = []
    results, walls, cpus = [], [], []
    for s in shards:
        c0, t0 = _cpu(), time.monotonic()
        validate_shard_records(path, path + ".crai", s, reference)
        results.append(scatter.run_shard(path, s, index=path + ".crai", reference=reference))
        walls.append(time.monotonic() - t0)
        cpus.append(_cpu() - c0)
    single_wall, _ = _timed(lambda: subprocess.run(["samtools", "stats", "--reference", reference, path],
                                                   capture_output=True, check=True))
    t0 = time.monotonic()
    scatter.merge_shards(results)
    merge_wall = time.monotonic() - t0
    rows.append(_row(case, "CRAM shard (validate + QC) MB per CPU-s (measured)", size / 1e6 / sum(cpus), "MB/s"))
    rows.append(_row(case, "CRAM shard MB per CPU-s (router: CRAM QC / 2)", MEASURED.cram_qc_mb_s / 2, "MB/s"))
    rows.append(_row(case, f"{len(shards)} shards, largest shard wall / samtools stats single pass",
                     max(walls) / single_wall, "x"))
    rows.append(_row(case, "merge wall", merge_wall, "s"))
    return rows


def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    pairs = 80_000 if quick else 6_600_000
    contigs = synth.default_contigs(4, 2_000_000 if quick else 60_000_000)
    bam = synth.write_reads(str(workdir / "b.bam"), "bam", pairs, contigs, seed=3)
    path = bam["reads"]
    size = os.path.getsize(path)
    mb = size / 1e6
    case = f"synth BAM {mb:.0f} MB, {2 * pairs} reads"
    rows: list[dict[str, Any]] = []

    whole = {"index": 0, "contigs": [c for c, _ in contigs]}
    _, cpu = _timed(lambda: scatter.run_shard(path, whole, index=path + ".bai"))
    rows.append(_row(case, "BAM QC MB per CPU-s (measured)", mb / cpu, "MB/s"))
    rows.append(_row(case, "BAM QC MB per CPU-s (router constant)", MEASURED.bam_qc_mb_s, "MB/s"))

    single_wall, _ = _timed(lambda: subprocess.run(["samtools", "stats", path], capture_output=True, check=True))
    hdr = subprocess.run(["samtools", "view", "-H", path], capture_output=True, text=True, check=True).stdout
    bai = scatter.parse_bai(scatter.read_index(path + ".bai"), scatter.header_refs(hdr))
    shards = scatter.plan_shards(bai, target_reads=1, max_shards=64, file_size=size,
                                 header_end=scatter.header_end_offset(bai))
    shard_walls: list[float] = []
    results = []
    for s in shards:
        t0 = time.monotonic()
        results.append(scatter.run_shard(path, s, index=path + ".bai"))
        shard_walls.append(time.monotonic() - t0)
    t0 = time.monotonic()
    scatter.merge_shards(results)
    merge_wall = time.monotonic() - t0
    rows.append(_row(case, "samtools stats single pass wall", single_wall, "s"))
    rows.append(_row(case, f"scatter: {len(shards)} shards, largest shard wall", max(shard_walls), "s"))
    rows.append(_row(case, "scatter: largest shard / single pass", max(shard_walls) / single_wall, "x"))
    rows.append(_row(case, "scatter: merge wall", merge_wall, "s"))

    cram = synth.write_reads(str(workdir / "c.cram"), "cram", pairs // 4, contigs, seed=4)
    csize = os.path.getsize(cram["reads"]) / 1e6
    _, ccpu = _timed(lambda: subprocess.run(["samtools", "stats", "--reference", cram["reference"], cram["reads"]],
                                            capture_output=True, check=True))
    rows.append(_row(f"synth CRAM {csize:.0f} MB", "CRAM QC MB per CPU-s (measured)", csize / ccpu, "MB/s"))
    rows.append(_row(f"synth CRAM {csize:.0f} MB", "CRAM QC MB per CPU-s (router constant)",
                     MEASURED.cram_qc_mb_s, "MB/s"))
    rows += cram_scatter_rows(cram["reads"], cram["reference"])

    fq = synth.write_reads(str(workdir / "r_R1.fastq.gz"), "fastq", pairs // 4, contigs, seed=5)
    fsize = os.path.getsize(fq["reads"]) / 1e6
    _, fcpu = _timed(lambda: fastq_source_metrics(LocalFile(fq["reads"])))
    rows.append(_row(f"synth FASTQ.gz {fsize:.0f} MB", "FASTQ.gz QC MB per CPU-s (measured)", fsize / fcpu, "MB/s"))
    rows.append(_row(f"synth FASTQ.gz {fsize:.0f} MB", "FASTQ.gz QC MB per CPU-s (router constant)",
                     MEASURED.fastq_gz_qc_mb_s, "MB/s"))
    return rows
