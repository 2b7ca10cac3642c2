"""The reference FASTA of an upload: which one (REFERENCE_URI and the assembly the upload or its header
names), and a local copy of it (or only of the bytes a shard's region needs, through its .fai)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genomics import objects, tools
from genomics.processing.errors import EventError, RefNotFound
from genomics.processing.parsers import header_assemblies
from genomics.processing.vcf import basename_of
from genomics.references import FASTA_SUFFIX, FASTA_SUFFIXES, assembly_key

if TYPE_CHECKING:
    from genomics.processing.service import Config, Job

# Reference bytes fetched around a shard's region (left-alignment reads sequence before a record).
REFERENCE_WINDOW = 100_000


@dataclass
class Reference:
    path: str | None
    info: dict[str, Any] | None
    note: str | None


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise EventError(f"REFERENCE_URI must be s3://bucket/prefix, got {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


def parse_fai(text: str) -> dict[str, tuple[int, int, int, int]]:
    """``.fai`` -> {contig: (length, offset, line_bases, line_width)}."""
    out: dict[str, tuple[int, int, int, int]] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 5:
            out[parts[0]] = (int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]))
    return out


def fai_byte_range(entry: tuple[int, int, int, int], start: int, end: int) -> tuple[int, int]:
    """Byte range [a, b) of a FASTA holding bases [start, end) of a contig (0-based half-open)."""
    length, offset, lb, lw = entry
    start, end = max(0, start), min(length, end)

    def at(p: int) -> int:
        return offset + (p // lb) * lw + p % lb

    return at(start), at(end) if end < length else at(max(length - 1, 0)) + lw


def reference_candidates(cfg: Config, job: Job, header: str) -> tuple[str, list[tuple[str, str]]]:
    """(bucket, [(assembly, key), ...]) to try, in order."""
    bucket, rest = parse_s3_uri(cfg.reference_uri)
    if rest.endswith(FASTA_SUFFIXES):  # one FASTA for every upload
        label = job.assembly or basename_of(rest.rsplit("/", 1)[-1].split(".")[0])
        return bucket, [(label, rest)]
    # An assembly the upload names is the only candidate; otherwise whatever the header suggests.
    names = [job.assembly] if job.assembly else header_assemblies(header)
    return bucket, [(a, assembly_key(rest, a)) for a in dict.fromkeys(names)]


def resolve_reference(
    s3: Any, cfg: Config, job: Job, header: str, scratch: Path, *,
    window: tuple[str, int, int] | None = None, fetch: bool = True,
) -> Reference:
    """Find the reference FASTA and make it usable locally.

    ``REFERENCE_URI`` is one FASTA for every upload (``s3://b/refs/GRCh38.fa``) or a prefix holding
    ``<assembly>.fa`` (+ ``.fai``); the assembly is ``input.assembly`` or one the header names (contig
    ``assembly=``, ``##reference``). An explicit ``input.assembly`` without a FASTA is an error
    (``PROC_REF_NOT_FOUND``); header-derived names without one only skip left-alignment (noted).
    With ``window`` (contig, start, end) only that part of an uncompressed, indexed FASTA is fetched
    (sparse file); with ``fetch=False`` nothing is downloaded (gather only records which was used).
    """
    if not cfg.reference_uri:
        return Reference(None, None, "no reference configured: left-alignment and REF check skipped")
    bucket, candidates = reference_candidates(cfg, job, header)
    for assembly, key in candidates:
        if not objects.exists(s3, bucket, key):
            continue
        info = {"uri": f"s3://{bucket}/{key}", "assembly": assembly}
        if not fetch:
            return Reference(None, info, None)
        local = scratch / f"reference.{key.rsplit('/', 1)[-1]}"
        fai = Path(f"{local}.fai")
        has_fai = objects.exists(s3, bucket, key + ".fai")
        if has_fai:
            objects.download(s3, bucket, key + ".fai", None, fai)
        if window is not None and has_fai and not key.endswith(".gz"):
            contig, start, end = window
            entries = parse_fai(fai.read_text())
            ranges = []
            if contig in entries:
                ranges.append(fai_byte_range(entries[contig], start - REFERENCE_WINDOW, end + REFERENCE_WINDOW))
            objects.fetch_ranges(s3, bucket, key, None, objects.head_size(s3, bucket, key, None), ranges, local)
        else:
            objects.download(s3, bucket, key, None, local)
            if key.endswith(".gz") and objects.exists(s3, bucket, key + ".gzi"):
                objects.download(s3, bucket, key + ".gzi", None, Path(f"{local}.gzi"))
            if not has_fai:
                tools.run(["samtools", "faidx", str(local)])
        return Reference(str(local), info, None)
    if job.assembly:
        raise RefNotFound(
            f"no reference FASTA for assembly {job.assembly!r} under {cfg.reference_uri}; upload "
            f"{job.assembly}{FASTA_SUFFIX} (+ .fai) there or correct the upload's assembly",
            location=cfg.reference_uri,
        )
    note = (
        f"no FASTA under {cfg.reference_uri} for assembly {[a for a, _ in candidates] or 'unknown'}: "
        "left-alignment and REF check skipped"
    )
    return Reference(None, None, note)
