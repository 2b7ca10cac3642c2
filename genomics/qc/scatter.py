"""Scattered QC of a coordinate-sorted, indexed BAM: plan shards from the index, run ``samtools stats`` and
``samtools flagstat`` per shard, merge the shards' outputs into the single-pass numbers.

Why whole contigs (grouped) plus one shard of unplaced reads, and not arbitrary regions:

* a region query returns every read *overlapping* the region, so a read spanning a boundary would be
  counted twice; on a contig boundary no read spans (a read has one RNAME);
* ``samtools stats`` halves its insert-size counts per bin with truncation (each pair is counted once per
  mate, then ``count * 0.5``). Both mates of a pair on one contig are in the same shard, so every bin of
  a shard holds whole pairs and the halved shard counts add up to the halved whole;
* the coverage histogram (COV) is a histogram of per-position depth: positions of different contigs
  never mix, so per-contig histograms add up exactly (no read's depth is split across shards);
* pairs with mates on two contigs are counted by ``samtools stats`` as reads (``nreads_anomalous``),
  printed halved: the shards count those reads themselves (``samtools view -c -F 0x900 -e ...``, the
  same definition) and the merge halves the sum.

Everything else ``samtools stats`` prints is a sum (counts, histograms keyed by cycle, length, quality,
coverage bin), a maximum, or a ratio that the merge recomputes from the merged counts with samtools'
own formula and print format. Three things cannot be recovered from the printed output: the per-cycle
base-composition percentages (GCC, GCT, FBC, LBC: samtools prints rounded percentages, not counts: the
merge prints the count-weighted mean of the shards' percentages, not bit-exact) and the GC-depth
percentiles (GCD: percentiles over 20 kb bins, which do not merge; omitted from the merged output).
Shards run with ``-m 2`` so the whole insert-size histogram is printed; the merge cuts it at the main
bulk (0.99) exactly as samtools does.

A contig larger than one shard's budget stays one shard (no read can be split): the router sends an
input whose largest contig would take a shard over its budget to Fargate (``genomics.router``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from genomics.qc.bai import (  # the index half of the scatter, re-exported
    BGZF_BLOCK_MAX,
    BamIndex,
    ContigSpan,
    IndexError_,
    build_index,
    header_end_offset,
    header_refs,
    parse_bai,
    read_index,
)

# Options every shard's samtools stats runs with; the merge's insert-size cut uses MAIN_BULK.
SHARD_STATS_OPTIONS = ("-m", "2")
MAIN_BULK = 0.99
# Reads whose mate is on another contig, as samtools stats counts them (primary records only).
ANOMALOUS_FILTER = ("-F", "0x900", "-e", "flag.paired && !flag.unmap && !flag.munmap && mrname != rname")
UNPLACED = "*"
BGZF_EOF_BYTES = 28  # the empty BGZF block that ends a BAM
NGC = 200  # samtools stats' GC-content bins (gc_1st/gc_2nd)


__all__ = ["BGZF_BLOCK_MAX", "BamIndex", "ContigSpan", "IndexError_", "build_index", "header_end_offset",
           "header_refs", "parse_bai", "read_index"]

# IndexError_'s code (genomics.qc.bai), listed here where docs/error-codes.md collects the scatter's codes.
CODES: dict[str, str] = {
    "QC_INDEX_INVALID": "the BAM's .bai index is not a BAI, is truncated, or lists other references than the header",
}


# --------------------------------------------------------------------------------------------------
# The plan: contigs grouped in file order into shards of about ``target_reads`` reads, plus the
# unplaced reads' shard. Each shard carries the byte ranges it needs (sparse copy from S3).
# --------------------------------------------------------------------------------------------------
def plan_shards(index: BamIndex, *, target_reads: int, max_shards: int, file_size: int,
                header_end: int) -> list[dict[str, Any]]:
    """Shards as small dicts: ``{"index", "contigs": [names], "reads", "ranges": [[a, b]...]}``; the
    unplaced shard has ``"unplaced": true``. ``header_end`` is the byte offset up to which the header
    lies (every shard fetches it)."""
    populated = [c for c in index.contigs if c.reads > 0]
    total = sum(c.reads for c in populated) + index.unplaced
    budget = max(target_reads, math.ceil(total / max(1, max_shards - (1 if index.unplaced else 0))))
    groups: list[list[ContigSpan]] = []
    current: list[ContigSpan] = []
    reads = 0
    for c in populated:
        if current and reads + c.reads > budget:
            groups.append(current)
            current, reads = [], 0
        current.append(c)
        reads += c.reads
    if current:
        groups.append(current)
    shards: list[dict[str, Any]] = []
    for i, group in enumerate(groups):
        a = group[0].start_offset >> 16
        b = min(file_size, (group[-1].end_offset >> 16) + BGZF_BLOCK_MAX)
        ranges = [[0, header_end], [a, b]]
        if b < file_size - BGZF_EOF_BYTES:  # the EOF block: htslib warns without it, mosdepth refuses the file
            ranges.append([file_size - BGZF_EOF_BYTES, file_size])
        shards.append({"index": i, "contigs": [c.name for c in group], "reads": sum(c.reads for c in group),
                       "ranges": ranges})
    if index.unplaced:
        last = max((c.end_offset for c in index.contigs), default=header_end << 16)
        shards.append({"index": len(shards), "contigs": [], "unplaced": True, "reads": index.unplaced,
                       "ranges": [[0, header_end], [last >> 16, file_size]]})
    return shards


def region_args(shard: Mapping[str, Any]) -> list[str]:
    """samtools region arguments of a shard (names with ':' in braces, as htslib parses them)."""
    if shard.get("unplaced"):
        return [UNPLACED]
    return [f"{{{n}}}" if ":" in n else n for n in shard["contigs"]]


# --------------------------------------------------------------------------------------------------
# Merging samtools stats
# --------------------------------------------------------------------------------------------------
_SUM_SN = (
    "raw total sequences", "filtered sequences", "sequences", "1st fragments", "last fragments",
    "reads mapped", "reads mapped and paired", "reads unmapped", "reads properly paired", "reads paired",
    "reads duplicated", "reads MQ0", "reads QC failed", "non-primary alignments", "supplementary alignments",
    "total length", "total first fragment length", "total last fragment length", "bases mapped",
    "bases mapped (cigar)", "bases trimmed", "bases duplicated", "mismatches",
    "inward oriented pairs", "outward oriented pairs", "pairs with other orientation",
)
_MAX_SN = ("maximum length", "maximum first fragment length", "maximum last fragment length")
_SN_COMMENTS = {
    "raw total sequences": "excluding supplementary and secondary reads",
    "reads mapped and paired": "paired-end technology bit set + both mates mapped",
    "reads properly paired": "proper-pair bit set",
    "reads paired": "paired-end technology bit set",
    "reads duplicated": "PCR or optical duplicate bit set",
    "reads MQ0": "mapped and MQ=0",
    "total length": "ignores clipping",
    "total first fragment length": "ignores clipping",
    "total last fragment length": "ignores clipping",
    "bases mapped": "ignores clipping",
    "bases mapped (cigar)": "more accurate",
    "mismatches": "from NM fields",
    "error rate": "mismatches / bases mapped (cigar)",
}
_SN_COUNTS = ("1st fragments", "last fragments", "reads mapped", "reads mapped and paired", "reads unmapped",
              "reads properly paired", "reads paired", "reads duplicated", "reads MQ0", "reads QC failed",
              "non-primary alignments", "supplementary alignments", "total length", "total first fragment length",
              "total last fragment length", "bases mapped", "bases mapped (cigar)", "bases trimmed",
              "bases duplicated", "mismatches")
_MATRICES = ("FFQ", "LFQ", "MPC")
_PERCENT_PER_CYCLE = ("GCC", "GCT", "FBC", "LBC")


@dataclass
class _Stats:
    sn: dict[str, str]
    rows: dict[str, list[list[str]]]


def _parse(text: str) -> _Stats:
    sn: dict[str, str] = {}
    rows: dict[str, list[list[str]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if fields[0] == "SN":
            sn[fields[1].rstrip(":")] = fields[2]
        else:
            rows.setdefault(fields[0], []).append(fields[1:])
    if not sn:
        raise ValueError("no SN lines: this is not samtools stats output")
    return _Stats(sn, rows)


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _c_fmt(fmt: str, value: float) -> str:
    return fmt % value


def _gc_runs(rows: list[list[str]]) -> list[int]:
    """samtools prints GCF/GCL run-length encoded (a row when the count changes, labelled with the run's
    midpoint; the last run is never printed): back to the NGC per-bin counts (the unprinted tail is 0)."""
    counts = [0] * NGC
    prev = 0
    for label, value in rows:
        ibase = round(float(label) * (NGC - 1) * 2 / 100.0) - prev
        for i in range(prev, min(ibase, NGC)):
            counts[i] = int(value)
        prev = ibase
    return counts


def _gc_print(tag: str, counts: list[int]) -> list[str]:
    out = []
    prev = 0
    for ibase in range(NGC):
        if counts[ibase] == counts[prev]:
            continue
        out.append(f"{tag}\t{(ibase + prev) * 0.5 * 100.0 / (NGC - 1):.2f}\t{counts[prev]}")
        prev = ibase
    return out


def _insert_sizes(hist: dict[int, list[int]], main_bulk: float) -> tuple[list[str], float, float]:
    """IS rows cut at the main bulk, and the average and standard deviation, as samtools computes them."""
    top = max(hist, default=-1)
    totals = [sum(hist.get(i, [0, 0, 0])) for i in range(top + 1)]
    nisize = sum(totals)
    bulk = 0.0
    avg = 0.0
    ibulk = 0
    for isize, n in enumerate(totals):
        bulk += n
        avg += isize * n
        if nisize and bulk / nisize > main_bulk:
            ibulk = isize + 1
            nisize = int(bulk)
            break
    avg /= nisize if nisize else 1
    sd = 0.0
    for isize in range(1, ibulk):
        sd += totals[isize] * (isize - avg) * (isize - avg) / nisize
    sd = math.sqrt(sd)
    rows = []
    for isize in range(ibulk):
        i, o, x = hist.get(isize, [0, 0, 0])
        rows.append(f"IS\t{isize}\t{i + o + x}\t{i}\t{o}\t{x}")
    return rows, avg, sd


def merge_stats(texts: Sequence[str], anomalous_reads: int, *, main_bulk: float = MAIN_BULK) -> str:
    """Merge shards' ``samtools stats -m 2`` outputs into the single-pass output of ``samtools stats``
    (see the module docstring for what is exact). ``anomalous_reads`` is the total over the shards of
    reads whose mate maps to another contig (``ANOMALOUS_FILTER``)."""
    parts = [_parse(t) for t in texts]
    if not parts:
        raise ValueError("no shard outputs to merge")
    quals = {tag: _merge_matrix(parts, tag) for tag in _MATRICES}
    hist = _merge_insert_sizes(parts)
    is_rows, avg_is, sd_is = _insert_sizes(hist, main_bulk)
    while hist and sum(hist[max(hist)]) == 0:
        hist.pop(max(hist))
    lines = ["# This file was produced by genomics.qc.scatter from the samtools stats of "
             f"{len(parts)} shards (exact but for GCC/GCT/FBC/LBC; no GCD)"]
    chk = [sum(int(p.rows["CHK"][0][j], 16) for p in parts if "CHK" in p.rows) % (1 << 32) for j in range(3)]
    lines.append("CHK\t" + "\t".join(f"{c:08x}" for c in chk))
    sum_qual = sum(q * n for tag in ("FFQ", "LFQ") for row in quals[tag] for q, n in enumerate(row))
    lines += _sn_lines(parts, sum_qual, avg_is, sd_is, hist, anomalous_reads)
    for tag in _MATRICES:
        for r, row in enumerate(quals[tag]):
            lines.append(f"{tag}\t{r + 1}\t" + "\t".join(str(v) for v in row))
    for tag in ("GCF", "GCL"):
        counts = [0] * NGC
        for p in parts:
            for i, v in enumerate(_gc_runs(p.rows.get(tag, []))):
                counts[i] += v
        lines += _gc_print(tag, counts)
    for tag in ("GCC", "GCT", "FBC"):
        lines += _percent_rows(parts, tag)
    lines += _merge_keyed(parts, "FTC")
    lines += _percent_rows(parts, "LBC")
    lines += _merge_keyed(parts, "LTC")
    lines += is_rows
    for tag in ("RL", "FRL", "LRL", "ID", "IC", "COV"):
        lines += _merge_keyed(parts, tag)
    return "\n".join(lines) + "\n"


def _sn_lines(parts: Sequence[_Stats], sum_qual: int, avg_is: float, sd_is: float, hist: Mapping[int, list[int]],
              anomalous_reads: int) -> list[str]:
    """The SN section: sums and maxima of the shards' counts, ratios recomputed with samtools' formulas."""
    sn: dict[str, int] = {k: sum(int(p.sn.get(k, "0")) for p in parts) for k in _SUM_SN}
    for k in _MAX_SN:
        sn[k] = max(int(p.sn.get(k, "0")) for p in parts)
    seqs = sn["sequences"]
    first, last = sn["1st fragments"], sn["last fragments"]
    cigar = sn["bases mapped (cigar)"]
    error_rate = _f32(_f32(sn["mismatches"]) / _f32(cigar)) if cigar else 0.0
    lines: list[str] = []

    def add(label: str, value: str) -> None:
        comment = _SN_COMMENTS.get(label)
        lines.append(f"SN\t{label}:\t{value}" + (f"\t# {comment}" if comment else ""))

    for label in ("raw total sequences", "filtered sequences", "sequences"):
        add(label, str(sn[label]))
    add("is sorted", "1" if all(p.sn.get("is sorted", "1") == "1" for p in parts) else "0")
    for label in _SN_COUNTS:
        add(label, str(sn[label]))
    add("error rate", _c_fmt("%e", error_rate))
    add("average length", _c_fmt("%.0f", float(sn["total length"] // seqs) if seqs else 0.0))
    add("average first fragment length",
        _c_fmt("%.0f", sn["total first fragment length"] / first if first else 0.0))
    add("average last fragment length",
        _c_fmt("%.0f", sn["total last fragment length"] / last if last else 0.0))
    for label in _MAX_SN:
        add(label, str(sn[label]))
    add("average quality", _c_fmt("%.1f", sum_qual / sn["total length"] if sn["total length"] else 0.0))
    add("insert size average", _c_fmt("%.1f", avg_is))
    add("insert size standard deviation", _c_fmt("%.1f", sd_is))
    add("inward oriented pairs", str(sum(h[0] for h in hist.values())))
    add("outward oriented pairs", str(sum(h[1] for h in hist.values())))
    add("pairs with other orientation", str(sum(h[2] for h in hist.values())))
    add("pairs on different chromosomes", str(anomalous_reads // 2))
    # samtools divides in single precision: (float)(100 * properly_paired) / sequences
    add("percentage of properly paired reads (%)",
        _c_fmt("%.1f", _f32(_f32(100 * sn["reads properly paired"]) / _f32(seqs)) if seqs else 0.0))
    return lines


def _merge_matrix(parts: Sequence[_Stats], tag: str) -> list[list[int]]:
    """Per-cycle quality matrices (FFQ, LFQ, MPC) summed cell by cell, padded to the widest row."""
    merged: list[list[int]] = []
    for p in parts:
        for r, row in enumerate(p.rows.get(tag, [])):
            values = [int(v) for v in row[1:]]
            while len(merged) <= r:
                merged.append([])
            target = merged[r]
            if len(target) < len(values):
                target.extend([0] * (len(values) - len(target)))
            for j, v in enumerate(values):
                target[j] += v
    width = max((len(r) for r in merged), default=0)
    return [r + [0] * (width - len(r)) for r in merged]


def _merge_keyed(parts: Sequence[_Stats], tag: str) -> list[str]:
    """Rows keyed by their first column(s) (length, cycle, coverage bin), summed per key, in samtools' order."""
    acc: dict[tuple[str, ...], list[int]] = {}
    order: list[tuple[str, ...]] = []
    for p in parts:
        for row in p.rows.get(tag, []):
            key, values = _key_values(tag, row)
            if key not in acc:
                acc[key] = [0] * len(values)
                order.append(key)
            for j, v in enumerate(values):
                acc[key][j] += v
    order.sort(key=_sort_key(tag))
    return [tag + "\t" + "\t".join([*k, *(str(v) for v in acc[k])]) for k in order]


def _merge_insert_sizes(parts: Sequence[_Stats]) -> dict[int, list[int]]:
    """The IS histogram (inward, outward, other) summed over the shards (printed whole: ``-m 2``)."""
    hist: dict[int, list[int]] = {}
    for p in parts:
        for row in p.rows.get("IS", []):
            h = hist.setdefault(int(row[0]), [0, 0, 0])
            for j in range(3):
                h[j] += int(row[2 + j])
    return hist


def _key_values(tag: str, row: list[str]) -> tuple[tuple[str, ...], list[int]]:
    if tag == "COV":
        return (row[0], row[1]), [int(row[2])]
    if tag in ("FTC", "LTC"):
        return (), [int(v) for v in row]
    return (row[0],), [int(v) for v in row[1:]]


def _sort_key(tag: str) -> Callable[[tuple[str, ...]], Any]:
    if tag == "COV":
        return lambda k: int(k[1]) + (1 if k[0].startswith("[") and k[0].endswith("<]") else 0)
    if tag in ("FTC", "LTC"):
        return lambda k: 0
    return lambda k: int(k[0])


def _percent_rows(parts: Sequence[_Stats], tag: str) -> list[str]:
    """Per-cycle percentages: the mean of the shards' rows weighted by the shards' reads covering the
    cycle (from RL). Not bit-exact: samtools prints rounded percentages, not the counts."""
    acc: dict[int, list[float]] = {}
    weight: dict[int, float] = {}
    for p in parts:
        lengths = [(int(r[0]), int(r[1])) for r in p.rows.get("RL", [])]
        for row in p.rows.get(tag, []):
            cycle = int(row[0])
            w = float(sum(n for length, n in lengths if length >= cycle)) or 1.0
            a = acc.setdefault(cycle, [0.0] * (len(row) - 1))
            for j, v in enumerate(row[1:]):
                a[j] += w * float(v)
            weight[cycle] = weight.get(cycle, 0.0) + w
    return [f"{tag}\t{c}\t" + "\t".join(f"{v / weight[c]:.2f}" for v in acc[c]) for c in sorted(acc)]


# --------------------------------------------------------------------------------------------------
# Merging samtools flagstat (every line is a count; the percentages are recomputed as samtools does)
# --------------------------------------------------------------------------------------------------
_FLAGSTAT_PCT = {"mapped": "in total", "primary mapped": "primary", "properly paired": "paired in sequencing",
                 "singletons": "paired in sequencing"}


def _flag_lines(text: str) -> list[tuple[str, int, int]]:
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        a, _, rest = line.partition(" + ")
        b, _, label = rest.partition(" ")
        label = label.split(" (")[0] if not label.startswith("with mate mapped to a different chr (") else label
        out.append((label, int(a), int(b)))
    return out


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.2f}%" if d else "N/A"


def merge_flagstat(texts: Sequence[str]) -> str:
    """Sum shards' ``samtools flagstat`` outputs; percentages recomputed from the sums."""
    merged: dict[str, list[int]] = {}
    order: list[str] = []
    for text in texts:
        for label, a, b in _flag_lines(text):
            if label not in merged:
                merged[label] = [0, 0]
                order.append(label)
            merged[label][0] += a
            merged[label][1] += b
    lines = []
    for label in order:
        a, b = merged[label]
        if label == "in total":
            lines.append(f"{a} + {b} in total (QC-passed reads + QC-failed reads)")
        elif label in _FLAGSTAT_PCT:
            da, db = merged.get(_FLAGSTAT_PCT[label], [0, 0])
            lines.append(f"{a} + {b} {label} ({_pct(a, da)} : {_pct(b, db)})")
        else:
            lines.append(f"{a} + {b} {label}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Running one shard on a local (possibly sparse) BAM with its index
# --------------------------------------------------------------------------------------------------
def shard_commands(reference: str | None = None, *, count_contigs: bool = False) -> dict[str, list[str]]:
    """The tools each shard runs on its reads (one decoded stream, teed): stats, flagstat, and the count
    of reads whose mate is on another contig; with ``count_contigs`` (a CRAM: its index has no counts)
    also the reads per contig (``samtools idxstats -`` reads the stream through)."""
    ref = ["--reference", reference] if reference else []
    return {
        "samtools_stats": ["samtools", "stats", *SHARD_STATS_OPTIONS, *ref, "-"],
        "samtools_flagstat": ["samtools", "flagstat", "-"],
        "anomalous": ["samtools", "view", "-c", *ANOMALOUS_FILTER, "-"],
        **({"idxstats": ["samtools", "idxstats", "-"]} if count_contigs else {}),
    }


def run_shard(path: str, shard: Mapping[str, Any], *, index: str | None = None,
              reference: str | None = None, coverage_bed: str | None = None) -> dict[str, Any]:
    """Stats of one shard's reads: ``samtools view -u`` of its regions, teed into the shard's tools; with
    ``coverage_bed`` (the assay's target) also mosdepth over the shard's contigs (genomics.qc.coverage)."""
    from genomics.qc import budget
    from genomics.qc.metrics import run_tools, tool_env
    from genomics.tools import Pipeline, ToolError, which

    argv = [which("samtools"), "view", "-u", "--no-PG"]
    if reference:
        argv += ["--reference", reference]
    argv.append(path)
    if index:
        argv += ["-X", index]
    argv += region_args(shard)
    commands = shard_commands(reference, count_contigs=shard.get("format") == "cram")
    failure: ToolError | None = None
    raw: dict[str, str] = {}
    with budget.Watchdog() as watchdog:
        try:
            with Pipeline([argv], capture=True, env=tool_env(), on_start=watchdog.watch) as producer:
                try:
                    raw = run_tools(commands, producer.stdout)
                except ToolError as e:
                    failure = e  # the decoder's exit status (checked on leaving the block) comes first
        except ToolError as e:
            raise watchdog.error(e) from None
    if failure is not None:
        raise failure
    out = {"samtools_stats": raw["samtools_stats"], "samtools_flagstat": raw["samtools_flagstat"],
           "anomalous": int(raw["anomalous"].strip() or 0)}
    if "idxstats" in raw:
        out["idxstats"] = raw["idxstats"]
    if coverage_bed and shard.get("contigs"):
        out["coverage"] = shard_coverage(path, shard, coverage_bed, index=index, reference=reference)
    return out


def shard_coverage(path: str, shard: Mapping[str, Any], coverage_bed: str, *, index: str | None = None,
                   reference: str | None = None) -> dict[str, str]:
    """mosdepth over the shard's contigs (genomics.qc.coverage.run_contigs): raises CoverageError."""
    from pathlib import Path

    from genomics.qc import coverage

    with tempfile_dir() as tmp:
        target = path
        if index:  # mosdepth finds the index only beside the alignment: link both into scratch
            target = str(Path(tmp) / ("shard" + Path(path).suffix))
            Path(target).symlink_to(Path(path).resolve())
            Path(target + Path(index).suffix).symlink_to(Path(index).resolve())
        return coverage.run_contigs(target, Path(coverage_bed), shard["contigs"], Path(tmp), reference=reference)


def tempfile_dir() -> Any:
    import tempfile

    return tempfile.TemporaryDirectory(prefix="qc-shard-")


def merge_shards(results: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Merged ``samtools_stats`` and ``samtools_flagstat`` texts of shards' ``run_shard`` results."""
    anomalous = sum(int(r["anomalous"]) for r in results)
    merged = {
        "samtools_stats": merge_stats([r["samtools_stats"] for r in results], anomalous),
        "samtools_flagstat": merge_flagstat([r["samtools_flagstat"] for r in results]),
    }
    if results and all("idxstats" in r for r in results):  # CRAM shards count their contigs' reads (genomics.qc.crai)
        from genomics.qc.crai import merge_idxstats

        merged["samtools_idxstats"] = merge_idxstats([r["idxstats"] for r in results])
    covered = [r["coverage"] for r in results if r.get("coverage")]
    if covered:
        from genomics.qc import coverage

        merged.update(coverage.merge(covered))  # mosdepth_summary, _region_dist, _global_dist, _thresholds
    return merged
