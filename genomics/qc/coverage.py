"""Coverage of BAM/CRAM with mosdepth (Debian 0.3.3): mean and median depth over the assay's target, the
fraction of the target at >= 10x/20x/30x, and the mean depth per contig.

Targets (one BED per assay): WGS = every contig of the reference minus its N runs
(:func:`wgs_targets`, computed from the FASTA); WES and panels = the stack's target BED
(``coverage_targets_uri``, genomics.deployment). mosdepth runs with ``-n`` (no per-base output),
``--fast-mode``, ``--by BED`` and ``--thresholds 10,20,30``:

* ``<prefix>.mosdepth.summary.txt``: per contig (and ``_region`` rows over the target, ``total``/
  ``total_region``) its length and **bases** (sum of depth): integers, so means merge exactly;
* ``<prefix>.thresholds.bed.gz``: per target interval the number of bases at >= 10/20/30x: integers,
  so the fractions merge exactly;
* ``<prefix>.mosdepth.region.dist.txt``: per contig and ``total`` the cumulative proportion of the
  target at >= each depth (what MultiQC's mosdepth module plots). mosdepth prints two decimals unless
  ``MOSDEPTH_PRECISION`` says more: QC asks for :data:`PRECISION` decimals, so proportion x the contig's
  target length (``<contig>_region`` in the summary) gives back the exact integer count of target bases
  at >= each depth (:func:`dist_counts`). The median (the highest depth at which at least half the target
  is covered) is computed from those per-contig integer histograms, by the single pass and the merged
  shards alike: equal, and exact (but for mosdepth leaving out each contig's high-depth tail holding
  under 8e-5 of its bases: counted as below it, by both; that can lower the median only when the target
  bases at >= it are within 8e-5 of the target of exactly one half).

Shards (genomics.qc.scatter) hold whole contigs, so per-contig rows of different shards never overlap
and :func:`merge` adds them up.

Debian's mosdepth dlopens ``libhts.so`` (the unversioned name only libhts-dev ships): :func:`tool_env`
points ``LD_LIBRARY_PATH`` at a scratch folder with that link to the installed ``libhts.so.3``.
"""

from __future__ import annotations

import gzip
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from genomics import tools
from genomics.compression import is_gzip
from genomics.qc import budget

CODES: dict[str, str] = {
    "QC_COVERAGE_FAILED": ("mosdepth failed, or was killed when the Lambda invocation's time ran out (the "
                           "message has its argv, exit code and stderr)"),
    "QC_TARGETS_INVALID": "the assay's target BED is empty or names contigs the alignment does not have",
}

THRESHOLDS = (10, 20, 30)
# Decimals of mosdepth's dist proportions: 10**PRECISION above any target's length keeps the counts exact.
PRECISION = 13
_DIST_FLOOR = 8e-5  # mosdepth prints no depth whose cumulative proportion is below this
_LIBHTS_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib")


class CoverageError(RuntimeError):
    """mosdepth failed (``QC_COVERAGE_FAILED``: with the tool's argv, exit code and stderr; ``timed_out``
    when it was killed at the invocation's deadline) or the target is unusable (``QC_TARGETS_INVALID``)."""

    def __init__(self, code: str, message: str, tool: tools.ToolError | None = None) -> None:
        self.code = code
        self.argv = tool.argv if tool else []
        self.returncode = tool.returncode if tool else None
        self.stderr = tool.stderr if tool else ""
        self.timed_out = isinstance(tool, budget.ToolTimeout)
        super().__init__(f"{code}: {message}")


def tool_env(scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MOSDEPTH_PRECISION"] = str(PRECISION)
    for d in _LIBHTS_DIRS:
        if os.path.exists(os.path.join(d, "libhts.so")):
            return env
    for d in _LIBHTS_DIRS:
        versioned = sorted(p for p in (Path(d).glob("libhts.so.*") if os.path.isdir(d) else []))
        if versioned:
            link = scratch / "libhts.so"
            if not link.exists():
                link.symlink_to(versioned[0])
            env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(scratch), env.get("LD_LIBRARY_PATH")]))
            return env
    return env


# --------------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------------
def _fasta_contigs(path: str) -> Iterable[tuple[str, bytes]]:
    with open(path, "rb") as probe:
        opener = gzip.open if is_gzip(probe.read(2)) else open
    name: str | None = None
    chunks: list[bytes] = []
    with opener(path, "rb") as fh:  # type: ignore[operator]
        for line in fh:
            if line.startswith(b">"):
                if name is not None:
                    yield name, b"".join(chunks)
                name, chunks = line[1:].split()[0].decode(), []
            else:
                chunks.append(line.rstrip(b"\r\n"))
    if name is not None:
        yield name, b"".join(chunks)


def wgs_targets(reference: str, out: Path) -> Path:
    """The WGS target: every contig of the reference FASTA (plain or gzip/BGZF) minus its runs of N."""
    with open(out, "w") as bed:
        for name, seq in _fasta_contigs(reference):
            start = 0
            for m in re.finditer(rb"[Nn]+", seq):
                if m.start() > start:
                    bed.write(f"{name}\t{start}\t{m.start()}\n")
                start = m.end()
            if len(seq) > start:
                bed.write(f"{name}\t{start}\t{len(seq)}\n")
    return out


# --------------------------------------------------------------------------------------------------
# Parsers (pure)
# --------------------------------------------------------------------------------------------------
def parse_summary(text: str) -> dict[str, dict[str, int]]:
    """``<prefix>.mosdepth.summary.txt``: ``{row: {"length", "bases", "min", "max"}}`` (rows: contigs,
    ``<contig>_region``, ``total``, ``total_region``; the printed mean is recomputed from the integers)."""
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        f = line.split("\t")
        if not line or f[0] == "chrom" or len(f) < 6:
            continue
        out[f[0]] = {"length": int(f[1]), "bases": int(f[2]), "min": int(f[4]), "max": int(f[5])}
    return out


def parse_dist(text: str) -> dict[str, dict[int, float]]:
    """``*.mosdepth.{global,region}.dist.txt``: ``{contig|"total": {depth: proportion at >= depth}}``."""
    out: dict[str, dict[int, float]] = {}
    for line in text.splitlines():
        f = line.split("\t")
        if len(f) == 3:
            out.setdefault(f[0], {})[int(f[1])] = float(f[2])
    return out


def parse_thresholds(text: str) -> dict[str, dict[str, int]]:
    """``<prefix>.thresholds.bed.gz`` (decompressed): per contig the target length and the bases at >= each
    threshold: ``{contig: {"length": n, "10X": n, ...}}``."""
    out: dict[str, dict[str, int]] = {}
    columns: list[str] = []
    for line in text.splitlines():
        f = line.split("\t")
        if line.startswith("#"):
            columns = f[4:]
            continue
        if len(f) < 5:
            continue
        row = out.setdefault(f[0], {"length": 0, **dict.fromkeys(columns, 0)})
        row["length"] += int(f[2]) - int(f[1])
        for col, value in zip(columns, f[4:], strict=False):
            row[col] = row.get(col, 0) + int(value)
    return out


# --------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------
def dist_counts(dist: Mapping[str, Mapping[int, float]], lengths: Mapping[str, int]
                ) -> dict[str, dict[int, int]]:
    """Per contig, the number of bases at >= each depth: the printed proportion x the contig's length
    (exact with :data:`PRECISION` decimals). Rows of contigs without a length (``total``) are left out."""
    return {c: {d: round(p * lengths[c]) for d, p in values.items()}
            for c, values in dist.items() if c != "total" and lengths.get(c)}


def _at_least(counts: Mapping[int, int], depth: int) -> int:
    """Bases at >= ``depth`` from a contig's cumulative counts (depths mosdepth skipped as empty take the
    next printed one's count; beyond the last printed depth: 0)."""
    printed = [d for d in counts if d >= depth]
    return counts[min(printed)] if printed else 0


def median_depth(counts: Mapping[str, Mapping[int, int]], target: int) -> int | None:
    """The highest depth at which at least half of the ``target`` bases are covered (integers only)."""
    if not target:
        return None
    depths = sorted({d for c in counts.values() for d in c}, reverse=True)
    for d in depths:
        if 2 * sum(_at_least(c, d) for c in counts.values()) >= target:
            return d
    return 0


def region_lengths(summary: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Each contig's target length: its ``<contig>_region`` summary row."""
    return {n[: -len("_region")]: r["length"] for n, r in summary.items()
            if n.endswith("_region") and n != "total_region"}


def metrics_from(summary: Mapping[str, Mapping[str, int]], region_dist: Mapping[str, Mapping[int, float]],
                 thresholds: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """The gate's coverage metrics from the parsed outputs (of one run, or merged)."""
    total = summary.get("total_region") or summary.get("total") or {"length": 0, "bases": 0}
    target = sum(r["length"] for r in thresholds.values())
    out: dict[str, Any] = {
        "target_bases": target,
        # over the target's length from the thresholds BED (a target contig without reads has no summary row)
        "target_mean_depth": round(total["bases"] / target, 3) if target else None,
        "target_median_depth": median_depth(dist_counts(region_dist, region_lengths(summary)), target),
        "depth_per_contig": {c: round(r["bases"] / r["length"], 3)
                             for c, r in summary.items() if not c.startswith("total") and not c.endswith("_region")
                             and r["length"]},
    }
    for t in THRESHOLDS:
        at = sum(r.get(f"{t}X", 0) for r in thresholds.values())
        out[f"pct_target_{t}x"] = round(100.0 * at / target, 3) if target else None
    return out


def run(path: str, bed: Path, *, reference: str | None = None, threads: int = 1,
        contig: str | None = None) -> dict[str, str]:
    """Run mosdepth on an (indexed) BAM/CRAM, or only its ``contig`` (``-c``: only that contig's index
    entries and reads are read); the raw texts: ``mosdepth_summary``, ``mosdepth_region_dist``,
    ``mosdepth_global_dist``, ``mosdepth_thresholds`` (decompressed). ``threads=0`` (no decompression
    thread) for a sparse copy: htslib's reader thread reads ahead past the fetched byte ranges into zeros,
    and htslib 1.16 then hangs instead of failing. Within the invocation's time (genomics.qc.budget)."""
    if os.path.getsize(bed) == 0:
        raise CoverageError("QC_TARGETS_INVALID", f"{bed} is empty")
    with tempfile.TemporaryDirectory(prefix="mosdepth-") as tmp:
        prefix = str(Path(tmp) / "cov")
        argv = ["mosdepth", "-n", "-x", "-t", str(threads), "--by", str(bed),
                "--thresholds", ",".join(map(str, THRESHOLDS)),
                *(["-f", reference] if reference else []), *(["-c", contig] if contig else []), prefix, path]
        try:
            budget.run(argv, env=tool_env(Path(tmp)))
        except tools.ToolError as e:
            raise CoverageError("QC_COVERAGE_FAILED", str(e), e) from e
        with gzip.open(prefix + ".thresholds.bed.gz", "rt") as fh:
            thresholds = fh.read()
        return {
            "mosdepth_summary": Path(prefix + ".mosdepth.summary.txt").read_text(),
            "mosdepth_region_dist": Path(prefix + ".mosdepth.region.dist.txt").read_text(),
            "mosdepth_global_dist": Path(prefix + ".mosdepth.global.dist.txt").read_text(),
            "mosdepth_thresholds": thresholds,
        }


def coverage(raw: Mapping[str, str]) -> dict[str, Any]:
    return metrics_from(parse_summary(raw["mosdepth_summary"]), parse_dist(raw["mosdepth_region_dist"]),
                        parse_thresholds(raw["mosdepth_thresholds"]))


# --------------------------------------------------------------------------------------------------
# Merging shards (each holds whole contigs)
# --------------------------------------------------------------------------------------------------
def _merge_dist(parts: Sequence[Mapping[str, Mapping[int, float]]], lengths: Mapping[str, int]
                ) -> dict[str, dict[int, float]]:
    """Contigs' rows kept; the total recomputed from their integer counts (as mosdepth's own total)."""
    out: dict[str, dict[int, float]] = {}
    for p in parts:
        for contig, dist in p.items():
            if contig != "total":
                out[contig] = dict(dist)
    counts = dist_counts(out, lengths)
    total_len = sum(lengths.get(c, 0) for c in out)
    total: dict[int, float] = {}
    for d in sorted({d for c in counts.values() for d in c}, reverse=True):
        share = sum(_at_least(c, d) for c in counts.values()) / total_len if total_len else 0.0
        if share >= _DIST_FLOOR:
            total[d] = share
    out["total"] = total
    return out


def merge(shards: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The raw outputs of shards (disjoint contigs) as one run's: summary rows and threshold intervals
    concatenated with totals recomputed (exact), dists of the contigs kept and the total re-weighted."""
    summaries = [parse_summary(s["mosdepth_summary"]) for s in shards]
    rows: dict[str, dict[str, int]] = {}
    for s in summaries:
        for name, row in s.items():
            if not name.startswith("total"):
                rows[name] = dict(row)
    lines = ["chrom\tlength\tbases\tmean\tmin\tmax"]
    for name, row in rows.items():
        lines.append(_summary_line(name, row))
    for total_name, suffix in (("total", False), ("total_region", True)):
        picked = [r for n, r in rows.items() if n.endswith("_region") == suffix]
        if picked:
            lines.append(_summary_line(total_name, {
                "length": sum(r["length"] for r in picked), "bases": sum(r["bases"] for r in picked),
                "min": min(r["min"] for r in picked), "max": max(r["max"] for r in picked)}))
    thresholds = [s["mosdepth_thresholds"] for s in shards]
    header = next((ln for t in thresholds for ln in t.splitlines() if ln.startswith("#")), "")
    body = [ln for t in thresholds for ln in t.splitlines() if ln and not ln.startswith("#")]
    region_len = region_lengths(rows)
    contig_len = {n: r["length"] for n, r in rows.items() if not n.endswith("_region")}
    region = _merge_dist([parse_dist(s["mosdepth_region_dist"]) for s in shards], region_len)
    glob = _merge_dist([parse_dist(s["mosdepth_global_dist"]) for s in shards], contig_len)
    return {
        "mosdepth_summary": "\n".join(lines) + "\n",
        "mosdepth_region_dist": _dist_text(region),
        "mosdepth_global_dist": _dist_text(glob),
        "mosdepth_thresholds": "\n".join([header, *body]) + "\n",
    }


def run_contigs(path: str, bed: Path, contigs: Sequence[str], scratch: Path, *,
                reference: str | None = None) -> dict[str, str]:
    """Coverage of a shard (genomics.qc.scatter: whole contigs of a possibly sparse BAM): mosdepth once per
    contig with the target lines of that contig (``-c``, no reader thread: see :func:`run`), merged.
    Contigs without target lines are skipped."""
    lines = bed.read_text().splitlines()
    parts = []
    for contig in contigs:
        mine = [ln for ln in lines if ln.split("\t", 1)[0] == contig]
        if not mine:
            continue
        part = scratch / f"target.{len(parts)}.bed"
        part.write_text("\n".join(mine) + "\n")
        parts.append(run(path, part, reference=reference, contig=contig, threads=0))
    if not parts:
        raise CoverageError("QC_TARGETS_INVALID", f"the target has no interval on {', '.join(contigs)}")
    return merge(parts)


def _summary_line(name: str, row: Mapping[str, int]) -> str:
    mean = row["bases"] / row["length"] if row["length"] else 0.0
    return f"{name}\t{row['length']}\t{row['bases']}\t{mean:.{PRECISION}f}\t{row['min']}\t{row['max']}"


def _dist_text(dist: Mapping[str, Mapping[int, float]]) -> str:
    lines = []
    for contig, values in dist.items():
        for d in sorted(values, reverse=True):
            lines.append(f"{contig}\t{d}\t{values[d]:.{PRECISION}f}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# For QC: index, target and run, or say why not
# --------------------------------------------------------------------------------------------------
def header_targets(path: str, out: Path, reference: str | None = None) -> Path:
    """Whole contigs from the alignment's header (@SQ): the WGS target when no reference is configured."""
    ref = ["--reference", reference] if reference else []
    text = budget.run(["samtools", "view", "-H", *ref, path]).stdout.decode("utf-8", "replace")
    with open(out, "w") as bed:
        for line in text.splitlines():
            if line.startswith("@SQ"):
                tags = dict(f.split(":", 1) for f in line.split("\t")[1:] if ":" in f)
                if "SN" in tags and tags.get("LN", "").isdigit():
                    bed.write(f"{tags['SN']}\t0\t{tags['LN']}\n")
    return out


def ensure_index(path: str, fmt: str) -> str | None:
    """The alignment's index beside it, building it when missing; None (with the reason) when it cannot
    be indexed (a SAM, or reads not sorted by coordinate)."""
    if fmt == "sam":
        return "SAM has no index"
    if _has_any(path, (".bai", ".csi", ".crai")):
        return None
    index = path + (".crai" if fmt == "cram" else ".bai")
    try:  # under another name, then moved into place: a reader never sees a half-written index
        budget.run(["samtools", "index", "-o", index + ".part", path])  # a CRAM's .crai: no sequence decoding
        os.replace(index + ".part", index)
    except budget.ToolTimeout:
        raise
    except tools.ToolError as e:
        return f"samtools index failed: {e.stderr.strip().splitlines()[-1] if e.stderr.strip() else e}"
    return None


def _has_any(path: str, exts: Sequence[str]) -> bool:
    return any(os.path.exists(path + e) for e in exts)


def for_qc(path: str, fmt: str, *, assay: str, scratch: Path, reference: str | None = None,
           targets: str | None = None) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Coverage metrics and raw outputs of a local BAM/CRAM, and notes on what was left out and why.
    ``targets``: the assay's BED (WES/panel); WGS uses the reference minus N (or the header's contigs)."""
    notes: list[str] = []
    why = ensure_index(path, fmt)
    if why:
        return {}, {}, [f"coverage (mosdepth): not computed ({why})"]
    if targets:
        bed = Path(targets)
    elif assay == "wgs":
        if reference:
            bed = wgs_targets(reference, scratch / "wgs.bed")
        else:
            bed = header_targets(path, scratch / "wgs.bed")
            notes.append("coverage: WGS target is the header's whole contigs (no reference: N runs not excluded)")
    else:
        return {}, {}, [f"coverage (mosdepth): not computed (no target BED for assay {assay!r}; set the stack's "
                        f"coverage_targets_uri)"]
    raw = run(path, bed, reference=reference)
    return coverage(raw), raw, notes
