"""One router: where a QC job runs — one Lambda, a Lambda scatter, or one Fargate task — and what it is
predicted to cost. Pure: the plan action (``genomics.qc.scatter_service.plan``) gathers the facts (format,
size, compression, index, the largest shard) and this module decides. The constants are throughputs per
vCPU measured by ``make bench`` (``bench/bench_scale.py`` prints the same constants measured again, next to
these) and list prices from the stack settings; ``docs/scaling.md`` states the rule with its numbers.

The rule, in order:

1. ``fargate_threshold_bytes`` (stack setting, 0 = off): a larger input never runs as one Lambda (it
   scatters if it can, else goes to Fargate); the e2e tests and ``make demo`` lower it to send small files
   down those paths.
2. A coordinate-sorted BAM or CRAM whose index (``.bai``, ``.crai``) exists (or could be built in the
   plan's scratch) scatters when one pass would take longer than ``single_budget_s``, provided its largest
   shard (a contig cannot be split) is predicted under ``shard_budget_s`` and fits a Lambda's scratch.
3. Anything else runs as one Lambda when predicted under ``single_budget_s`` and its scratch copy fits;
4. otherwise (unsplittable: plain-gzip FASTQ, unsorted or unindexable BAM/CRAM, SAM, a contig too big for
   a shard; or predicted over ``fargate_predicted_s``) it runs on Fargate, whose ephemeral storage is
   sized from the input.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from genomics.deployment import Settings

Mode = Literal["single", "scatter", "fargate"]


@dataclass(frozen=True)
class Throughput:
    """MB of input per CPU-second (1 MB = 10^6 bytes), measured here by ``make bench``
    (``bench/bench_scale.py``, 2026-11-30, 2-core machine shared by ~9 jobs, samtools 1.16, inputs from
    genomics.synth): BAM QC = one shard's stream (``samtools view -u`` decode teed into stats, flagstat and
    the inter-contig count) on an 858 MB BAM of 13.2 M reads; CRAM = ``samtools stats`` with its reference
    (77 MB); FASTQ.gz = the FASTQ QC core on a 133 MB gzip file. BAM record validation is readsfast's goal
    (<= 2x ``samtools view -o /dev/null``, 110 MB/s here per DESIGN-NOTES), so 55 MB/CPU-s is planned for
    it; SAM, plain FASTQ and VCF QC are estimates (marked), not measured by this bench. S3 GET per stream
    is a planning assumption (~90 MB/s per connection), not measured here."""

    bam_qc_mb_s: float = 22.1
    bam_validate_mb_s: float = 55.0
    cram_qc_mb_s: float = 8.6
    sam_qc_mb_s: float = 30.0  # estimate
    fastq_gz_qc_mb_s: float = 15.9
    fastq_qc_mb_s: float = 40.0  # estimate
    vcf_qc_mb_s: float = 19.9  # bench_process: the VCF core's throughput
    s3_get_mb_s: float = 90.0
    # Fixed overheads (s): Lambda cold start + plan/gather reads; Fargate image pull + task start.
    lambda_overhead_s: float = 5.0
    fargate_overhead_s: float = 90.0


MEASURED = Throughput()
GIB = 1024**3


@dataclass(frozen=True)
class Facts:
    """What the plan knows about the input."""

    fmt: str  # sam, bam, cram, fastq, vcf, bcf
    size: int  # bytes
    compression: str = "none"  # none, gzip, bgzf
    sorted_indexed: bool = False  # an index exists or the plan built one (so the file is sorted)
    largest_shard_bytes: int | None = None  # with sorted_indexed: the biggest planned shard's bytes
    shards: int = 0


@dataclass(frozen=True)
class Route:
    mode: Mode
    reason: str
    predicted_s: float
    predicted_usd: float
    vcpu: float
    memory_mb: int
    ephemeral_gib: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def rate_mb_s(fmt: str, compression: str, t: Throughput = MEASURED, *, validate: bool = False) -> float:
    if fmt == "bam":
        # a shard validates its records too: two passes' CPU on the same bytes
        return 1.0 / (1.0 / t.bam_qc_mb_s + 1.0 / t.bam_validate_mb_s) if validate else t.bam_qc_mb_s
    if fmt == "cram":
        # a shard decodes its containers twice (record validation, then the stats' stream)
        return t.cram_qc_mb_s / 2 if validate else t.cram_qc_mb_s
    if fmt == "sam":
        return t.sam_qc_mb_s if compression == "none" else t.fastq_gz_qc_mb_s
    if fmt == "fastq":
        return t.fastq_qc_mb_s if compression == "none" else t.fastq_gz_qc_mb_s
    return t.vcf_qc_mb_s


def lambda_vcpu(memory_mb: int) -> float:
    """Lambda allocates CPU in proportion to memory: 1 vCPU at 1,769 MB, 6 at 10,240 MB."""
    return min(6.0, memory_mb / 1769.0)


def seconds(size: int, fmt: str, compression: str, vcpu: float, t: Throughput = MEASURED, *,
            validate: bool = False) -> float:
    """One pass over ``size`` bytes: the tools use up to two cores (the teed stream's consumers), and never
    read faster than one S3 stream."""
    rate = rate_mb_s(fmt, compression, t, validate=validate) * min(vcpu, 2.0)
    return size / 1e6 / min(rate, t.s3_get_mb_s)


def fargate_ephemeral_gib(size: int) -> int:
    """Twice the input (a scratch copy plus its outputs and index) plus 10 GiB, within Fargate's 21-200 GiB."""
    return int(min(200, max(21, math.ceil(2 * size / GIB) + 10)))


def lambda_usd(seconds_: float, memory_mb: int, settings: Settings) -> float:
    return seconds_ * memory_mb / 1024.0 * settings.price_lambda_gb_second


def fargate_usd(seconds_: float, vcpu: float, memory_mb: int, ephemeral_gib: int, settings: Settings) -> float:
    hours = seconds_ / 3600.0
    extra_storage = max(0, ephemeral_gib - 20)
    return hours * (vcpu * settings.price_fargate_vcpu_hour + memory_mb / 1024.0 * settings.price_fargate_gb_hour
                    + extra_storage * settings.price_fargate_storage_gb_hour)


def route(facts: Facts, settings: Settings, t: Throughput = MEASURED) -> Route:
    """The decision for one QC job (see the module docstring for the rule)."""
    mem = settings.heavy_memory_mb
    lv = lambda_vcpu(mem)
    single_s = seconds(facts.size, facts.fmt, facts.compression, lv, t) + t.lambda_overhead_s
    scratch = settings.heavy_ephemeral_mb * 1024**2 - 512 * 1024**2
    fv, fmem = float(settings.fargate_vcpu), settings.fargate_memory_mb
    fargate_s = seconds(facts.size, facts.fmt, facts.compression, fv, t) + t.fargate_overhead_s
    eph = fargate_ephemeral_gib(facts.size)

    def fargate(reason: str) -> Route:
        if not settings.fargate:
            return Route("single", f"{reason}; Fargate is off on this stack, so one Lambda tries", single_s,
                         lambda_usd(single_s, mem, settings), lv, mem)
        return Route("fargate", reason, fargate_s, fargate_usd(fargate_s, fv, fmem, eph, settings), fv, fmem, eph)

    # Above fargate_threshold_bytes (a stack setting; 0 = off) an input never runs as one Lambda: it
    # scatters if it can, else goes to Fargate (the e2e tests and the demo lower it).
    forced = bool(settings.fargate_threshold_bytes) and facts.size > settings.fargate_threshold_bytes
    if not forced and single_s <= settings.single_budget_s and facts.size <= scratch:
        return Route("single", f"one pass predicted {single_s:.0f} s <= {settings.single_budget_s} s", single_s,
                     lambda_usd(single_s, mem, settings), lv, mem)
    if facts.fmt in ("bam", "cram") and facts.sorted_indexed and facts.largest_shard_bytes is not None:
        shard_s = seconds(facts.largest_shard_bytes, facts.fmt, facts.compression, lv, t, validate=True
                          ) + t.lambda_overhead_s
        if shard_s <= settings.shard_budget_s and facts.largest_shard_bytes <= scratch:
            total_s = (seconds(facts.size, facts.fmt, facts.compression, lv, t, validate=True)
                       + t.lambda_overhead_s * (max(1, facts.shards) + 2))
            waves = math.ceil(max(1, facts.shards) / max(1, settings.map_concurrency))
            wall = shard_s * waves + 2 * t.lambda_overhead_s
            return Route("scatter", f"{facts.shards} shards, largest predicted {shard_s:.0f} s <= "
                         f"{settings.shard_budget_s} s", wall, lambda_usd(total_s, mem, settings), lv, mem)
        return fargate(f"largest shard predicted {shard_s:.0f} s or {facts.largest_shard_bytes} bytes exceeds "
                       f"a Lambda shard ({settings.shard_budget_s} s, {scratch} bytes of scratch)")
    if forced:
        return fargate(f"{facts.size} bytes > fargate_threshold_bytes {settings.fargate_threshold_bytes}")
    if single_s <= settings.fargate_predicted_s and facts.size <= scratch:
        return Route("single", f"unsplittable; one pass predicted {single_s:.0f} s <= "
                     f"{settings.fargate_predicted_s} s", single_s, lambda_usd(single_s, mem, settings), lv, mem)
    return fargate(f"unsplittable {facts.fmt} ({facts.compression}) predicted {single_s:.0f} s in one Lambda "
                   f"(> {settings.fargate_predicted_s} s) or larger than its scratch")


# --------------------------------------------------------------------------------------------------
# The projection table of docs/benchmarks.md: the same model, applied to whole-genome cases
# --------------------------------------------------------------------------------------------------
# One machine running samtools end to end (dated list price, us-east-1 on-demand, 2026-11-30): an 8-vCPU
# c6i.2xlarge at $0.34/h downloads the file (~200 MB/s from S3) then runs samtools stats on one core (54 MB/s
# of BAM measured here, DESIGN-NOTES), validation (samtools view) overlapping on the other cores.
MACHINE = {"name": "c6i.2xlarge", "usd_hour": 0.34, "download_mb_s": 200.0,
           "stats_mb_s": {"bam": 54.0, "cram": 8.6, "fastq": 15.9, "vcf": 19.9}}
# AWS HealthOmics: about $10 for a whole 30x secondary-analysis run (the figure; hours of wall time).
HEALTHOMICS_USD = 10.0
# Human GRCh38: chr1 holds about 8 % of a genome's reads; with the unplaced reads, 25 contigs + 1 shard.
HUMAN_LARGEST_SHARD = 0.085
HUMAN_SHARDS = 26


@dataclass(frozen=True)
class Case:
    name: str
    fmt: str
    size: int
    compression: str
    sorted_indexed: bool = False
    files: int = 1  # run in parallel (a FASTQ pair: two jobs)


CASES = (
    Case("30x WGS BAM (60 GB), sorted + indexed", "bam", 60 * 10**9, "bgzf", sorted_indexed=True),
    Case("30x WGS BAM (60 GB), no index", "bam", 60 * 10**9, "bgzf"),
    Case("30x WGS CRAM (15 GB), sorted + indexed", "cram", 15 * 10**9, "none", sorted_indexed=True),
    Case("30x FASTQ.gz pair (2 x 35 GB)", "fastq", 35 * 10**9, "gzip", files=2),
    Case("1 TB joint-called cohort VCF (QC pass)", "vcf", 10**12, "bgzf"),
)


def project(case: Case, settings: Settings, t: Throughput = MEASURED) -> dict[str, Any]:
    """Predicted route, wall and dollars for one case on this design and on one machine."""
    facts = Facts(case.fmt, case.size, case.compression, sorted_indexed=case.sorted_indexed,
                  largest_shard_bytes=int(case.size * HUMAN_LARGEST_SHARD) if case.sorted_indexed else None,
                  shards=HUMAN_SHARDS if case.sorted_indexed else 0)
    r = route(facts, settings, t)
    transitions = 9 + (facts.shards + 1 if r.mode == "scatter" else 1)
    usd = case.files * (r.predicted_usd + transitions * settings.price_sfn_transition)
    m = MACHINE
    # downloads one after the other; the files' QC runs in parallel on the machine's cores
    machine_s = (case.files * case.size / 1e6 / m["download_mb_s"]  # type: ignore[operator]
                 + case.size / 1e6 / m["stats_mb_s"][case.fmt])  # type: ignore[index]
    return {"case": case.name, "route": r.mode, "wall_s": r.predicted_s, "usd": usd,
            "machine_wall_s": machine_s, "machine_usd": machine_s / 3600 * float(m["usd_hour"]),  # type: ignore[arg-type]
            "healthomics_usd": HEALTHOMICS_USD if case.fmt != "vcf" else None}


def _minutes(s: float) -> str:
    return f"{s / 60:.1f} min" if s < 5400 else f"{s / 3600:.1f} h"


def projection_table(settings: Settings, t: Throughput = MEASURED) -> str:
    lines = ["| case | route | wall (this design) | $ per sample (this design) | wall (one "
             f"{MACHINE['name']}) | $ (one machine) | AWS HealthOmics |",
             "|---|---|---|---|---|---|---|"]
    for case in CASES:
        p = project(case, settings, t)
        omics = f"~${p['healthomics_usd']:.0f} (whole secondary analysis)" if p["healthomics_usd"] else "-"
        lines.append(f"| {p['case']} | {p['route']} | {_minutes(p['wall_s'])} | ${p['usd']:.2f} | "
                     f"{_minutes(p['machine_wall_s'])} | ${p['machine_usd']:.2f} | {omics} |")
    return "\n".join(lines)


PROJECTION_SETTINGS = Settings(stack="prod", fargate=True, map_concurrency=20)


if __name__ == "__main__":
    print(projection_table(PROJECTION_SETTINGS))
