"""Run bcftools/samtools (Debian 1.16 CLI) on a byte source and derive the QC metrics.

Each ``*_metrics`` function returns ``(metrics, raw)``: ``metrics`` is a flat dict of scalar metrics
(the ones the gate reads and the QC table stores) plus a few nested distributions, and ``raw`` maps a
tool name to its exact text output (fed to MultiQC and stored next to the report).

Inputs are read only through :class:`genomics.sources.ByteSource`. A source is either run on directly
(a local path) or streamed through the tools' stdin; one stream can feed several tools at once (tee),
so an S3 object is read once. ``samtools idxstats`` needs a seekable file: it runs when the input is a
local file (or a bounded scratch copy, see ``genomics.qc.service``), otherwise the sex check is
reported as not evaluated.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from genomics.qc import budget
from genomics.qc.fastq import fastq_metrics
from genomics.qc.parsers import parse_bcftools_stats, parse_flagstat, parse_idxstats, parse_samtools_stats
from genomics.sources import ByteSource, LocalFile
from genomics.tools import Pipeline, ToolError, run_parallel

CHUNK = 1 << 20
DECODED_PIPE = 1 << 20  # the uncompressed BAM between samtools view -u and its readers

CODES: dict[str, str] = {
    "QC_UNKNOWN_FORMAT": "the content is not VCF, BCF, SAM, BAM, CRAM or FASTQ",
    "QC_TOOL_FAILED": ("bcftools/samtools could not read the file, or were killed when the Lambda invocation's "
                       "time ran out (see the tool's argv, exit code and message)"),
    "QC_CRAM_REFERENCE": "a CRAM needs its reference FASTA (set REFERENCE_URI or pass --reference)",
}

VCF_FORMATS = ("vcf", "bcf")
ALIGNMENT_FORMATS = ("sam", "bam", "cram")


class QcInputError(ValueError):
    """The input cannot be QC'd as given. ``code`` is one of CODES."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


# --------------------------------------------------------------------------------------------------
# Format from content (the validation layer's detector; never the name)
# --------------------------------------------------------------------------------------------------
QC_FORMATS = ("vcf", "bcf", "sam", "bam", "cram", "fastq")


def sniff_source(source: ByteSource) -> str:
    from genomics.validation.detect import detect

    detected, _issues = detect(source)
    if detected.format not in QC_FORMATS:
        raise QcInputError("QC_UNKNOWN_FORMAT", f"content is {detected.format}, not VCF, BCF, SAM, BAM, CRAM or FASTQ")
    return detected.format


# --------------------------------------------------------------------------------------------------
# Running tools: on a path, or on one stream teed into several tools' stdin
# --------------------------------------------------------------------------------------------------
def tool_env() -> dict[str, str]:
    """Environment for htslib: never fetch reference sequences from the internet (EBI's M5 service)."""
    env = dict(os.environ)
    env["REF_PATH"] = env.get("QC_REF_PATH", "/nonexistent/%2s/%2s/%s")
    env.pop("REF_CACHE", None)
    return env


def run_tools(commands: Mapping[str, Sequence[str]], stream: BinaryIO | None = None) -> dict[str, str]:
    """Run each ``name -> argv`` to completion and return ``name -> stdout text``.

    With ``stream``, its bytes are copied to every tool's stdin as they are read (argv should read
    ``-``; :func:`genomics.tools.run_parallel`); stdout/stderr go to scratch files so no pipe can fill up
    and deadlock. The tools are killed at the invocation's deadline (genomics.qc.budget): their ToolError
    is then a ToolTimeout.
    """
    names = list(commands)
    with budget.Watchdog() as watchdog:
        try:
            outs = run_parallel([commands[n] for n in names], source=stream, env=tool_env(),
                                on_start=watchdog.watch)
        except ToolError as e:
            raise watchdog.error(e) from None
    return dict(zip(names, outs, strict=True))


def decoded_once(path: str | None, stream: BinaryIO | None, reference: str | None) -> dict[str, str]:
    """``samtools stats`` and ``samtools flagstat`` of an alignment over one decode: ``samtools view -u``
    (uncompressed BAM, from a path or the stream) teed into both, so flagstat does not inflate (or parse
    SAM, or decode CRAM) the whole file a second time, and the decode runs beside the stats. The decoder's
    own failure is reported before its readers' (they only saw a truncated stream)."""
    view = ["samtools", "view", "-u", "--no-PG", *_ref_opts(reference), path or "-"]
    readers = {"samtools_stats": ["samtools", "stats", "-"], "samtools_flagstat": ["samtools", "flagstat", "-"]}
    failure: ToolError | None = None
    outs: list[str] = []
    with budget.Watchdog() as watchdog:
        try:
            with Pipeline([view], source=stream, capture=True, env=tool_env(), pipe_size=DECODED_PIPE,
                          on_start=watchdog.watch) as decoder:
                try:
                    outs = run_parallel(list(readers.values()), source=decoder.stdout, env=tool_env(),
                                        on_start=watchdog.watch)
                except ToolError as e:
                    failure = e  # the decoder's exit status (checked on leaving the block) comes first
        except ToolError as e:
            raise watchdog.error(e) from None
        if failure is not None:
            raise watchdog.error(failure)
    return dict(zip(readers, outs, strict=True))


def _with_source(source: ByteSource) -> tuple[str | None, BinaryIO | None]:
    """A local path to run on, or an open stream to tee (the caller closes it)."""
    if isinstance(source, LocalFile):
        return source.path, None
    return None, source.open()


# --------------------------------------------------------------------------------------------------
# VCF / BCF
# --------------------------------------------------------------------------------------------------
def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def derive_vcf(parsed: dict[str, Any]) -> dict[str, Any]:
    """Scalar metrics and distributions from a parsed single-file ``bcftools stats -s -`` output."""
    sn = parsed["sn"].get("0", {})
    tstv = parsed["tstv"].get("0", {})
    psc: dict[str, dict[str, Any]] = parsed["psc"].get("0", {})
    idd = parsed["idd"].get("0", [])
    het = sum(p["het"] or 0 for p in psc.values())
    hom_alt = sum(p["hom_alt"] or 0 for p in psc.values())
    hom_ref = sum(p["hom_ref"] or 0 for p in psc.values())
    missing = sum(p["missing"] or 0 for p in psc.values())
    depths = [p["mean_depth"] for p in psc.values() if p.get("mean_depth")]
    insertions = sum(r["sites"] or 0 for r in idd if (r["length"] or 0) > 0)
    deletions = sum(r["sites"] or 0 for r in idd if (r["length"] or 0) < 0)
    records = sn.get("records", 0) or 0
    samples = sn.get("samples", 0) or 0
    ts, tv = tstv.get("ts", 0) or 0, tstv.get("tv", 0) or 0
    genotypes = records * samples
    return {
        "samples": samples,
        "records": records,
        "no_alts": sn.get("no_alts"),
        "snps": sn.get("snps"),
        "mnps": sn.get("mnps"),
        "indels": sn.get("indels"),
        "others": sn.get("others"),
        "multiallelic_sites": sn.get("multiallelic_sites"),
        "multiallelic_snp_sites": sn.get("multiallelic_snp_sites"),
        "transitions": ts,
        "transversions": tv,
        # bcftools prints ts/tv with 2 decimals; recompute from the counts for precision.
        "ts_tv": _ratio(ts, tv),
        "het": het,
        "hom_alt": hom_alt,
        "hom_ref": hom_ref,
        "het_hom_ratio": _ratio(het, hom_alt),
        "insertions": insertions,
        "deletions": deletions,
        "ins_del_ratio": _ratio(insertions, deletions),
        "missing_genotypes": missing,
        "missing_rate": _ratio(missing, genotypes),
        "singletons": sum(p["singletons"] or 0 for p in psc.values()),
        "mean_depth": round(sum(depths) / len(depths), 3) if depths else None,
        "per_sample": psc,
        "distributions": {
            "qual": parsed["qual"].get("0", []),
            "dp": parsed["dp"].get("0", []),
            "idd": idd,
            "st": parsed["st"].get("0", {}),
        },
    }


# Per-sample metrics: "not applicable" (None) for a sites-only VCF, or when per-sample stats could not run.
PER_SAMPLE_METRICS = ("het", "hom_alt", "hom_ref", "het_hom_ratio", "missing_genotypes", "missing_rate",
                      "singletons", "mean_depth")
# Keys bcftools stats 1.16 reads as integers (per-sample depth, allelic depths for VAF); declared with
# another Type (an undeclared key gets Type=String; a depth holding decimals, Float) they stop it
# ("do_sample_stats: todo: 7" / "todo: 5"), so QC leaves them out. INFO/DP of any Type is fine.
_STATS_INTEGER_KEYS = ("FORMAT/DP", "FORMAT/AD")


def _vcf_header(source: ByteSource) -> str:
    """The header text of a VCF/BCF source (bcftools reads only as far as the header)."""
    from genomics.processing.vcf import PipelineError, run_pipeline

    path, stream = _with_source(source)
    try:
        with tempfile.TemporaryDirectory(prefix="qc-hdr-") as tmp:
            out = Path(tmp) / "header.txt"
            run_pipeline([["bcftools", "view", "--no-version", "-h", "-o", str(out), path or "-"]], Path(tmp),
                         stdin=stream, stdout_path=None)
            return out.read_text(encoding="utf-8", errors="replace")
    except PipelineError as e:
        raise QcInputError("QC_TOOL_FAILED", str(e)) from e
    finally:
        if stream is not None:
            stream.close()


def _declared_type(header: str, kind: str, tag: str) -> str | None:
    import re

    for line in header.splitlines():
        if line.startswith(f"##{kind}=<") and re.search(rf"[<,]ID={re.escape(tag)}[,>]", line):
            m = re.search(r"[<,]Type=([^,>]+)", line)
            return m.group(1) if m else None
    return None


class StatsPlan:
    """How ``bcftools stats`` runs on one VCF, and what QC had to leave out (``notes``).

    Decided from the header where it can be (no sample columns: no per-sample stats; a depth declared
    as text: not read as depth), and from what bcftools 1.16 refuses otherwise (AC/AN that contradict
    each other, a genotype naming an allele the record lacks): each costs a second reading only when
    it happens."""

    def __init__(self, header: str) -> None:
        self.samples = _sample_count(header)
        self.per_sample = self.samples > 0
        self.strip: list[str] = []
        self.notes: list[str] = []
        if not self.per_sample:
            self.notes.append("sites-only VCF (no sample columns): per-sample metrics are not applicable")
        for key in _STATS_INTEGER_KEYS:
            kind, tag = key.split("/")
            declared = _declared_type(header, kind, tag)
            if declared is not None and declared != "Integer":
                self.strip.append(key)
                self.notes.append(f"{key} is declared Type={declared}, not Integer: not used by QC")

    def argv(self, path: str | None) -> list[list[str]]:
        stats = ["bcftools", "stats", *(["-s", "-"] if self.per_sample else [])]
        if not self.strip:
            return [[*stats, path or "-"]]
        return [["bcftools", "annotate", "--no-version", "-x", ",".join(self.strip), "-Ou", "-o", "-", path or "-"],
                [*stats, "-"]]

    def extend(self, stderr: str) -> bool:
        """Adapt to a refusal of bcftools stats; False when there is nothing left to adapt."""
        if "No sample columns" in stderr and self.per_sample:
            self.per_sample = False
            self.notes.append("sites-only VCF (no sample columns): per-sample metrics are not applicable")
            return True
        if "Incorrect AN/AC counts" in stderr and "INFO/AC" not in self.strip:
            self.strip += ["INFO/AC", "INFO/AN"]
            self.notes.append("INFO/AC exceeds INFO/AN in some records: allele frequencies computed from the "
                              "genotypes instead")
            return True
        if _UNREADABLE.search(stderr):
            return False  # the file itself cannot be read: nothing to adapt
        if self.per_sample:
            # e.g. "Requested allele outside valid range" (a genotype naming an allele the record lacks),
            # "do_sample_stats: todo": the site metrics still apply.
            self.per_sample = False
            self.notes.append("per-sample metrics not computed: bcftools stats cannot read the genotypes of "
                              f"some records ({_first_error(stderr)})")
            return True
        if self.strip != ["INFO", "FORMAT"]:
            self.strip = ["INFO", "FORMAT"]
            self.notes.append("site metrics computed from the records' positions and alleles only: bcftools "
                              f"stats refused their INFO/FORMAT values ({_first_error(stderr)})")
            return True
        return False


# bcftools/htslib messages that mean the bytes themselves are unreadable (QC_TOOL_FAILED, not adapted to).
_UNREADABLE = re.compile(r"bgzf_read|truncated|Failed to read|Could not read|not compressed|"
                         r"\[E::bcf_hdr_read\]|\[E::vcf_parse|hts_open")


def _sample_count(header: str) -> int:
    for line in header.splitlines():
        if line.startswith("#CHROM"):
            return max(0, len(line.rstrip("\n").split("\t")) - 9)
    return 0


def _first_error(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("[E::") or "rror" in ln]
    return (lines[0] if lines else stderr.strip().splitlines()[-1] if stderr.strip() else "no message")[:200]


def _run_stats(source: ByteSource, plan: StatsPlan) -> str:
    from genomics.processing.vcf import PipelineError, run_pipeline

    path, stream = _with_source(source)
    try:
        stages = plan.argv(path)
        if len(stages) == 1:
            return run_tools({"bcftools_stats": stages[0]}, stream)["bcftools_stats"]
        with tempfile.TemporaryDirectory(prefix="qc-stats-") as tmp:
            out = Path(tmp) / "stats.txt"
            try:
                run_pipeline(stages, Path(tmp), stdin=stream, stdout_path=out)
            except PipelineError as e:
                raise ToolError(e.argv, e.returncode, "\n".join(e.stderrs)) from e
            return out.read_text(encoding="utf-8", errors="replace")
    finally:
        if stream is not None:
            stream.close()


def vcf_metrics(source: ByteSource) -> tuple[dict[str, Any], dict[str, str]]:
    """``bcftools stats`` metrics of a VCF/BCF; per-sample metrics are None (not applicable) when the
    file has no samples or its genotypes cannot be read; ``notes`` says what QC left out and why."""
    plan = StatsPlan(_vcf_header(source))
    while True:
        try:
            text = _run_stats(source, plan)
            break
        except ToolError as e:
            if not plan.extend(e.stderr):
                raise QcInputError("QC_TOOL_FAILED", str(e)) from e
    metrics = derive_vcf(parse_bcftools_stats(text))
    metrics["samples"] = plan.samples
    if not plan.per_sample:
        for name in PER_SAMPLE_METRICS:
            metrics[name] = None
        metrics["per_sample"] = {}
    metrics["notes"] = list(plan.notes)
    return metrics, {"bcftools_stats": text}


# --------------------------------------------------------------------------------------------------
# SAM / BAM / CRAM
# --------------------------------------------------------------------------------------------------
def _pct(num: float | None, den: float | None) -> float | None:
    return round(100.0 * num / den, 3) if num is not None and den else None


def sex_check(idx: dict[str, Any]) -> dict[str, Any]:
    """Reads on X and Y (chrX/X, chrY/Y), their ratio, and Y's read density relative to X's."""
    by_name = {c["name"]: c for c in idx["contigs"]}
    x = by_name.get("chrX") or by_name.get("X")
    y = by_name.get("chrY") or by_name.get("Y")
    if x is None or y is None:
        return {"x_reads": None, "y_reads": None, "x_y_ratio": None, "y_x_density_ratio": None}
    density = None
    if x["mapped"] and x["length"] and y["length"]:
        density = round((y["mapped"] / y["length"]) / (x["mapped"] / x["length"]), 4)
    return {
        "x_reads": x["mapped"],
        "y_reads": y["mapped"],
        "x_y_ratio": _ratio(x["mapped"], y["mapped"]),
        "y_x_density_ratio": density,
    }


def derive_alignment(
    stats: dict[str, Any], flagstat: dict[str, Any] | None, idxstats: dict[str, Any] | None
) -> dict[str, Any]:
    s = stats["summary"]
    raw_total = s.get("raw_total_sequences")
    cov = stats["coverage"]
    covered = sum(r["count"] for r in cov)
    reference_length = None
    if idxstats is not None:
        reference_length = sum(c["length"] for c in idxstats["contigs"] if c["name"] != "*") or None
    paired = s.get("reads_paired") or 0
    out: dict[str, Any] = {
        "reads": raw_total,
        "reads_mapped": s.get("reads_mapped"),
        "reads_unmapped": s.get("reads_unmapped"),
        "reads_duplicated": s.get("reads_duplicated"),
        "pct_mapped": _pct(s.get("reads_mapped"), raw_total),
        # single-end data has no proper pairs: not applicable rather than 0 %
        "pct_properly_paired": _pct(s.get("reads_properly_paired"), raw_total) if paired else None,
        "duplication_rate": _pct(s.get("reads_duplicated"), raw_total),
        "error_rate": s.get("error_rate"),
        "average_quality": s.get("average_quality"),
        "average_length": s.get("average_length"),
        "insert_size_average": s.get("insert_size_average") if paired else None,
        "insert_size_sd": s.get("insert_size_standard_deviation") if paired else None,
        "bases_mapped_cigar": s.get("bases_mapped_cigar"),
        # mean depth over covered positions (samtools' COV histogram, which omits zero-depth bases)
        "mean_depth_covered": (round(sum(r["depth"] * r["count"] for r in cov) / covered, 3) if covered else None),
        # bases mapped / reference length: genome-wide mean coverage (meaningful for WGS only)
        "mean_coverage": (
            round(s["bases_mapped_cigar"] / reference_length, 4)
            if reference_length and s.get("bases_mapped_cigar") is not None
            else None
        ),
        "reference_length": reference_length,
        "distributions": {
            "insert_size": stats["insert_size"],
            "coverage": cov,
            "gc_depth": stats["gc_depth"],
        },
    }
    if flagstat is not None:
        out["flagstat_total"] = flagstat["total"]["passed"] + flagstat["total"]["failed"]
        out["qc_failed"] = flagstat["total"]["failed"]
        out["secondary"] = flagstat["secondary"]["passed"]
        out["supplementary"] = flagstat["supplementary"]["passed"]
    out.update(sex_check(idxstats) if idxstats is not None else sex_check({"contigs": []}))
    if idxstats is not None:
        out["reads_per_contig"] = {c["name"]: c["mapped"] for c in idxstats["contigs"]}
    return out


def _ref_opts(reference: str | None) -> list[str]:
    """htslib's generic input option (stats, flagstat and idxstats all accept it in 1.16)."""
    return ["--input-fmt-option", f"reference={reference}"] if reference else []


def _indexed_reference(reference: str, scratch: str) -> str:
    """The reference with its ``.fai`` present. samtools stats and flagstat run at once on one stream;
    left to themselves both would build a missing ``.fai`` in the same place at the same time (one then
    reads a half-written index). Build it once, beforehand; in ``scratch`` when the FASTA's folder is
    not ours to write (the FASTA is linked there, never copied)."""
    if os.path.exists(reference + ".fai"):
        return reference
    target = reference
    if not os.access(os.path.dirname(os.path.abspath(reference)) or ".", os.W_OK):
        target = os.path.join(scratch, os.path.basename(reference))
        os.symlink(os.path.abspath(reference), target)
    try:
        budget.run(["samtools", "faidx", target])
    except ToolError as e:
        raise QcInputError("QC_TOOL_FAILED", f"cannot index the reference {reference}: {e}") from e
    return target


def alignment_metrics(
    source: ByteSource, *, reference: str | None = None, fmt: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    if reference is not None:
        with tempfile.TemporaryDirectory(prefix="qc-ref-") as scratch:
            return _alignment_metrics(source, _indexed_reference(reference, scratch), fmt)
    return _alignment_metrics(source, None, fmt)


def _alignment_metrics(
    source: ByteSource, reference: str | None, fmt: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    path, stream = _with_source(source)
    notes: list[str] = []
    try:
        raw = decoded_once(path, stream, reference)
        idx_text: str | None = None
        if path is None:
            notes.append(f"{INDEX_METRICS}: not computed (the input was streamed, not copied to scratch)")
        else:
            idx_text = _idxstats(path, reference, fmt, notes)
            if idx_text is not None:
                raw["samtools_idxstats"] = idx_text
    except ToolError as e:
        if fmt == "cram" and not reference and "reference" in e.stderr.lower():
            raise QcInputError("QC_CRAM_REFERENCE", str(e)) from e
        raise QcInputError("QC_TOOL_FAILED", str(e)) from e
    finally:
        if stream is not None:
            stream.close()
    stats = parse_samtools_stats(raw["samtools_stats"])
    flag = parse_flagstat(raw["samtools_flagstat"])
    idx = parse_idxstats(idx_text) if idx_text is not None else None
    metrics = derive_alignment(stats, flag, idx)
    metrics["notes"] = notes
    return metrics, raw


# What samtools idxstats gives (and QC reports as not computed without it).
INDEX_METRICS = "reads per contig, sex check and genome-wide mean coverage (samtools idxstats)"


def _idxstats(path: str, reference: str | None, fmt: str | None, notes: list[str]) -> str | None:
    """``samtools idxstats`` on a local file: BAM/CRAM only (SAM has no index). Without an index 1.16
    falls back to a full read, which refuses a BAM that is not grouped by reference; a CRAM needs its
    .crai. When it cannot run, the index-based metrics are skipped and ``notes`` says so."""
    if fmt == "sam":
        notes.append(f"{INDEX_METRICS}: not computed (SAM has no index)")
        return None
    if fmt == "cram" and not (os.path.exists(path + ".crai") or os.path.exists(path[:-5] + ".crai")):
        notes.append(f"{INDEX_METRICS}: not computed (CRAM without its .crai index)")
        return None
    try:
        return run_tools({"idx": ["samtools", "idxstats", *_ref_opts(reference), path]})["idx"]
    except ToolError as e:
        said = [ln for ln in e.stderr.splitlines()
                if ln.strip() and "idx_find_and_load" not in ln and "reverting to slow method" not in ln]
        reason = said[0][:200] if said else f"exit {e.returncode}"
        notes.append(f"{INDEX_METRICS}: not computed (samtools idxstats could not read the file without an "
                     f"index: {reason})")
        return None


# --------------------------------------------------------------------------------------------------
# FASTQ
# --------------------------------------------------------------------------------------------------
def fastq_source_metrics(source: ByteSource) -> tuple[dict[str, Any], dict[str, str]]:
    with source.open() as fh:
        m = fastq_metrics(fh)
    dists = {
        "length": m.pop("length_distribution"),
        "quality_per_cycle": m.pop("quality_per_cycle"),
        "quality": m.pop("quality_histogram"),
    }
    m["distributions"] = dists
    return m, {}


def compute(
    source: ByteSource, fmt: str | None = None, *, reference: str | None = None
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(format, metrics, raw tool outputs) for any supported input."""
    fmt = (fmt or sniff_source(source)).lower()
    if fmt in VCF_FORMATS:
        metrics, raw = vcf_metrics(source)
    elif fmt in ALIGNMENT_FORMATS:
        metrics, raw = alignment_metrics(source, reference=reference, fmt=fmt)
    elif fmt in ("fastq", "fq"):
        fmt = "fastq"
        metrics, raw = fastq_source_metrics(source)
    else:
        raise QcInputError("QC_UNKNOWN_FORMAT", f"format {fmt!r} is not one QC reads")
    return fmt, metrics, raw


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, int | float]:
    """Only the numeric top-level metrics (what the QC table stores, one item each)."""
    return {k: v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def copy_to(source: ByteSource, dest: Path, limit: int | None = None) -> Path:
    """Copy a source to a local scratch path, refusing more than ``limit`` bytes."""
    copied = 0
    with source.open() as src, open(dest, "wb") as out:
        while chunk := src.read(CHUNK):
            copied += len(chunk)
            if limit is not None and copied > limit:
                raise QcInputError("QC_TOOL_FAILED", f"input exceeds the scratch limit of {limit} bytes")
            out.write(chunk)
    return dest


__all__ = [
    "CODES",
    "QcInputError",
    "alignment_metrics",
    "compute",
    "copy_to",
    "derive_alignment",
    "derive_vcf",
    "fastq_source_metrics",
    "run_tools",
    "scalar_metrics",
    "sex_check",
    "vcf_metrics",
]
