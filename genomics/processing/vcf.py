"""VCF/BCF processing on local files: normalise, sort, deduplicate, bgzip, index; plan, shard, gather.

Everything here runs Debian's bcftools/tabix 1.16 (the versions the image ships) through argv lists,
with scratch in a ``tempfile.TemporaryDirectory``. The pipeline for one input (or one shard) is

    bcftools norm --no-version -m -any [-f REF -c e] -Ou IN      split multiallelics, left-align
  | [bcftools view --no-version -T TARGETS -Ou -]                 shards: keep POS in [start, end)
  | bcftools sort -m 200M -T SCRATCH -Ou -                        sorted whatever the input order
  | bcftools norm --no-version -d exact -Oz -o OUT -              duplicates are adjacent once sorted

``norm`` works on unsorted input (it only re-sorts within its ``--site-win`` window), so one sort
*after* left-alignment gives sorted, deduplicated output for every input order. ``--no-version``
keeps headers free of dates and command lines, so outputs are reproducible and shard headers are
identical (which ``bcftools concat --naive`` requires).

Coordinates: 0-based half-open inside (``Shard.start``/``end``); region/target files handed to
bcftools are 1-based inclusive, converted in :func:`region_line` only.

Scatter: a shard reads its region widened by ``SHARD_MARGIN`` bases on both sides (``-R``), and keeps
only records whose POS *after* normalisation lies in its own ``[start, end)`` (``-T`` with the
default ``--targets-overlap pos``). Each record thus lands in exactly one shard even when it is a
deletion spanning a boundary or left-alignment moves it across one (by up to the margin, which equals
``norm``'s own ``--site-win`` assumption). Shards never overlap, so gather is a naive concat.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from genomics import tools
from genomics.errors import UserInputError
from genomics.processing import repair

SORT_MEMORY = "200M"
# Left-alignment moves a record by at most norm's --site-win (default 1000); shards read this margin.
SHARD_MARGIN = 1000
# Above this contig length a .tbi cannot address positions: use .csi.
TBI_MAX_LENGTH = 1 << 29
# Contigs whose length is unknown (no ##contig length, no records past it) get one shard up to here.
MAX_POS = (1 << 31) - 1
CHUNK = 1 << 20

CODES: dict[str, str] = {
    "PROC_REF_MISMATCH": "a REF allele differs from the reference FASTA (bcftools norm --check-ref e)",
    "PROC_REF_CONTIG_MISSING": "a record's contig is not in the reference FASTA",
    "PROC_REF_NOT_FOUND": "the upload names an assembly for which REFERENCE_URI has no FASTA",
    "PROC_UNREADABLE_INPUT": "bcftools could not parse the input as VCF/BCF",
    "PROC_MALFORMED_RECORD": "a record's INFO/FORMAT values disagree with the header (e.g. Number=A count)",
    "PROC_INPUT_NOT_FOUND": "the input object (or its version) does not exist",
    "PROC_UNSUPPORTED_INPUT": "the input is not VCF or BCF (plain, gzip or BGZF)",
}


class ProcessingError(UserInputError):
    """A user-fixable processing failure (stable ``code``, message and location).

    ``str()`` starts with the code, so the Lambda error's ``errorMessage`` (what Step Functions puts in
    the ``Cause`` that MarkFailed records) carries it; ``to_json`` keeps the three parts apart.
    """

    code = "PROC_UNREADABLE_INPUT"

    def __str__(self) -> str:
        where = f" [{self.location}]" if self.location else ""
        return f"{self.code}: {self.args[0] if self.args else ''}{where}"

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.args[0] if self.args else "", "location": self.location}


class RefMismatch(ProcessingError):
    code = "PROC_REF_MISMATCH"


class RefContigMissing(ProcessingError):
    code = "PROC_REF_CONTIG_MISSING"


class MalformedRecord(ProcessingError):
    code = "PROC_MALFORMED_RECORD"


class RefNotFound(ProcessingError):
    code = "PROC_REF_NOT_FOUND"


class UnreadableInput(ProcessingError):
    code = "PROC_UNREADABLE_INPUT"


class InputNotFound(ProcessingError):
    code = "PROC_INPUT_NOT_FOUND"


class UnsupportedInput(ProcessingError):
    code = "PROC_UNSUPPORTED_INPUT"


# --------------------------------------------------------------------------------------------------
# Pure parsers of tool output (tested on captured real outputs)
# --------------------------------------------------------------------------------------------------
_NORM_STATS = re.compile(r"Lines\s+total/split/realigned/skipped:\s+(\d+)/(\d+)/(\d+)/(\d+)")
_REF_MISMATCH = re.compile(
    r"Reference allele mismatch at (\S+):(\d+) \.\. REF_SEQ:'([^']*)' vs VCF:'([^']*)'"
)
_REF_CONTIG = re.compile(r"(?:sequence \"?([^\"\s]+)\"? not found|Failed to fetch sequence[^\n]*?(\S+:\d+))",
                         re.IGNORECASE)


def parse_norm_stats(text: str) -> dict[str, int]:
    """``bcftools norm`` stderr summary -> {"total", "split", "realigned", "skipped"} (last one wins)."""
    found = _NORM_STATS.findall(text)
    if not found:
        return {}
    total, split, realigned, skipped = (int(x) for x in found[-1])
    return {"total": total, "split": split, "realigned": realigned, "skipped": skipped}


def parse_ref_mismatch(text: str) -> dict[str, Any] | None:
    """``norm -c e`` failure -> {"contig", "pos" (1-based), "reference", "vcf"} or None."""
    m = _REF_MISMATCH.search(text)
    if not m:
        return None
    return {"contig": m.group(1), "pos": int(m.group(2)), "reference": m.group(3), "vcf": m.group(4)}


_WRONG_FIELDS = re.compile(
    r"wrong number of fields in (\w+/\S+) at (\S+):(\d+), expected (\d+), found (\d+)"
)


def parse_wrong_fields(text: str) -> dict[str, Any] | None:
    """``norm -m`` on a tag whose value count disagrees with its Number -> details, or None."""
    m = _WRONG_FIELDS.search(text)
    if not m:
        return None
    return {"tag": m.group(1), "contig": m.group(2), "pos": int(m.group(3)), "expected": int(m.group(4)),
            "found": int(m.group(5))}


def parse_index_stats(text: str) -> list[dict[str, Any]]:
    """``bcftools index -s`` -> [{"contig", "length" (None when '.'), "records"}] in index order."""
    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        name, length, count = parts
        rows.append({"contig": name, "length": None if length == "." else int(length), "records": int(count)})
    return rows


_CONTIG_LINE = re.compile(r"^##contig=<(.*)>\s*$")


def _meta_fields(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in re.finditer(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|[^,]*)', body):
        out.setdefault(m.group(1), m.group(2).strip('"'))
    return out


def parse_header_contigs(header: str) -> list[dict[str, Any]]:
    """``##contig`` lines -> [{"contig", "length" (or None), "assembly" (or None)}] in header order."""
    rows: list[dict[str, Any]] = []
    for line in header.splitlines():
        m = _CONTIG_LINE.match(line)
        if not m:
            continue
        f = _meta_fields(m.group(1))
        if "ID" not in f:
            continue
        length = f.get("length")
        rows.append({
            "contig": f["ID"],
            "length": int(length) if length and length.isdigit() else None,
            "assembly": f.get("assembly") or None,
        })
    return rows


def header_assemblies(header: str) -> list[str]:
    """Assembly names the header suggests, most specific first: contig ``assembly=``, ``##reference``."""
    names: list[str] = []
    for c in parse_header_contigs(header):
        if c["assembly"]:
            names.append(c["assembly"])
    for line in header.splitlines():
        if line.startswith("##reference="):
            value = line.split("=", 1)[1].strip().strip("<>")
            base = value.rstrip("/").rsplit("/", 1)[-1]
            for ext in (".gz", ".fasta", ".fa", ".fna"):
                if base.endswith(ext):
                    base = base[: -len(ext)]
            if base:
                names.append(base)
    return list(dict.fromkeys(n for n in names if re.fullmatch(r"[A-Za-z0-9._-]+", n)))


# --------------------------------------------------------------------------------------------------
# Shards (0-based half-open inside)
# --------------------------------------------------------------------------------------------------
# At most this many shards per plan: a genome with thousands of small contigs (alt, decoy, unplaced)
# would otherwise mean thousands of Map iterations and a plan near Step Functions' 256 KiB payload.
MAX_SHARDS = 256


@dataclass(frozen=True)
class Shard:
    index: int
    contig: str
    start: int  # 0-based, inclusive
    end: int  # 0-based, exclusive
    # Further whole contigs processed by the same shard (small contigs grouped; consecutive in order).
    more: tuple[str, ...] = ()

    def regions(self) -> list[tuple[str, int, int]]:
        """Every region of this shard, in output order (0-based half-open)."""
        return [(self.contig, self.start, self.end), *((c, 0, MAX_POS) for c in self.more)]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.more:
            d["more"] = list(self.more)
        else:
            d.pop("more")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Shard:
        return cls(index=int(d["index"]), contig=str(d["contig"]), start=int(d["start"]), end=int(d["end"]),
                   more=tuple(str(c) for c in d.get("more") or ()))


def region_line(contig: str, start: int, end: int) -> str:
    """0-based half-open -> one line of a bcftools regions/targets file (1-based inclusive, tab-separated)."""
    return f"{contig}\t{max(start, 0) + 1}\t{min(end, MAX_POS)}\n"


def plan_shards(
    contigs: Sequence[dict[str, Any]], region_bases: int,
    has_data: Callable[[str, int, int], bool] | None = None,
    max_shards: int = MAX_SHARDS,
) -> list[Shard]:
    """One shard per contig with records; contigs longer than ``region_bases`` are split into regions.

    ``contigs`` are {"contig", "length" (or None), "records"} in output (header/rid) order.
    ``has_data(contig, beg, end)`` (from the index) drops regions that no record can land in: a region
    is kept when anything overlaps it widened by ``SHARD_MARGIN`` (left-alignment can move records in).
    """
    if region_bases <= 0:
        raise ValueError("region_bases must be positive")
    shards: list[Shard] = []
    for c in contigs:
        if not c.get("records"):
            continue
        length = c.get("length")
        if not length:
            shards.append(Shard(len(shards), c["contig"], 0, MAX_POS))
            continue
        start, before = 0, len(shards)
        while start < length:
            end = min(start + region_bases, length)
            # The last region of a contig runs to MAX_POS: records past a (wrong) declared length stay in.
            hi = MAX_POS if end >= length else end
            if has_data is None or has_data(c["contig"], start - SHARD_MARGIN, hi + SHARD_MARGIN):
                shards.append(Shard(len(shards), c["contig"], start, hi))
            start = end
        if len(shards) == before:  # the index disagrees with the counts: one shard for the whole contig
            shards.append(Shard(len(shards), c["contig"], 0, MAX_POS))
    return group_small_contigs(shards, max_shards)


def group_small_contigs(shards: list[Shard], max_shards: int = MAX_SHARDS) -> list[Shard]:
    """Merge runs of consecutive whole-contig shards so that there are at most ``max_shards`` (when the
    split regions of long contigs alone allow it). Order is kept, so a naive concat stays correct."""
    if len(shards) <= max_shards:
        return shards
    whole = [s.start == 0 and s.end == MAX_POS and not s.more for s in shards]
    n_split = len(shards) - sum(whole)
    room = max(1, max_shards - n_split)
    per_group = -(-sum(whole) // room)  # ceil
    out: list[Shard] = []
    group: list[Shard] = []

    def flush() -> None:
        if group:
            out.append(Shard(len(out), group[0].contig, 0, MAX_POS, tuple(g.contig for g in group[1:])))
            group.clear()

    for shard, is_whole in zip(shards, whole, strict=True):
        if not is_whole:
            flush()
            out.append(Shard(len(out), shard.contig, shard.start, shard.end))
            continue
        group.append(shard)
        if len(group) == per_group:
            flush()
    flush()
    return out


# --------------------------------------------------------------------------------------------------
# Input sniffing
# --------------------------------------------------------------------------------------------------
def sniff(first: bytes) -> dict[str, str]:
    """First bytes -> {"compression": "bgzf"|"gzip"|"none", "format": "vcf"|"bcf"|"unknown"}."""
    compression = "none"
    payload = first
    if first[:2] == b"\x1f\x8b":
        is_bgzf = len(first) >= 16 and first[3] & 4 and first[12:14] == b"BC"
        compression = "bgzf" if is_bgzf else "gzip"
        try:
            payload = zlib_head(first)
        except Exception:
            payload = b""
    if payload[:3] == b"BCF":
        fmt = "bcf"
    elif payload.startswith(b"##fileformat=VCF"):
        fmt = "vcf"
    else:
        fmt = "unknown"
    return {"compression": compression, "format": fmt}


def zlib_head(data: bytes, limit: int = 4096) -> bytes:
    import zlib

    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return d.decompress(data, limit)


# --------------------------------------------------------------------------------------------------
# Tabix/CSI indexes: enough to find which bytes of a BGZF file a region needs
# --------------------------------------------------------------------------------------------------
@dataclass
class RefIndex:
    bins: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    loffsets: dict[int, int] = field(default_factory=dict)  # CSI
    linear: list[int] = field(default_factory=list)  # TBI
    n_mapped: int = 0


@dataclass
class TabixIndex:
    kind: str  # "tbi" or "csi"
    min_shift: int
    depth: int
    names: list[str]
    refs: list[RefIndex]
    _positions: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def records(self) -> int:
        return sum(r.n_mapped for r in self.refs)

    def ref(self, contig: str) -> RefIndex | None:
        """The index of one contig, by name (a dict lookup: plans ask once per contig, of thousands)."""
        if len(self._positions) != len(self.names):
            self._positions = {n: i for i, n in enumerate(self.names)}
        i = self._positions.get(contig)
        return self.refs[i] if i is not None and i < len(self.refs) else None


def _parse_names(buf: bytes) -> list[str]:
    return [n.decode() for n in buf.split(b"\0") if n]


def parse_tabix_index(data: bytes) -> TabixIndex:
    """Parse a .tbi or a tabix-style .csi (as written by ``bcftools index`` for .vcf.gz)."""
    raw = gzip.decompress(data)
    magic = raw[:4]
    pos = 4
    if magic == b"TBI\x01":
        kind, min_shift, depth = "tbi", 14, 5
        n_ref = struct.unpack_from("<i", raw, pos)[0]
        pos += 4 + 24
        l_nm = struct.unpack_from("<i", raw, pos)[0]
        pos += 4
        names = _parse_names(raw[pos : pos + l_nm])
        pos += l_nm
    elif magic == b"CSI\x01":
        kind = "csi"
        min_shift, depth, l_aux = struct.unpack_from("<iii", raw, pos)
        pos += 12
        aux = raw[pos : pos + l_aux]
        pos += l_aux
        names = _parse_names(aux[28:]) if l_aux >= 28 else []
        n_ref = struct.unpack_from("<i", raw, pos)[0]
        pos += 4
    else:
        raise ValueError("not a TBI/CSI index")
    pseudo = ((1 << (depth * 3 + 3)) - 1) // 7 + 1
    refs: list[RefIndex] = []
    for _ in range(n_ref):
        ref = RefIndex()
        n_bin = struct.unpack_from("<i", raw, pos)[0]
        pos += 4
        for _b in range(n_bin):
            if kind == "tbi":
                bin_, n_chunk = struct.unpack_from("<Ii", raw, pos)
                pos += 8
            else:
                bin_, loff, n_chunk = struct.unpack_from("<IQi", raw, pos)
                pos += 16
                ref.loffsets[bin_] = loff
            chunks = [struct.unpack_from("<QQ", raw, pos + 16 * i) for i in range(n_chunk)]
            pos += 16 * n_chunk
            if bin_ == pseudo:
                if len(chunks) >= 2:
                    ref.n_mapped = chunks[1][0]
            else:
                ref.bins[bin_] = [(int(a), int(b)) for a, b in chunks]
        if kind == "tbi":
            n_intv = struct.unpack_from("<i", raw, pos)[0]
            pos += 4
            ref.linear = list(struct.unpack_from(f"<{n_intv}Q", raw, pos))
            pos += 8 * n_intv
        refs.append(ref)
    return TabixIndex(kind, min_shift, depth, names, refs)


def _reg2bin_ranges(beg: int, end: int, min_shift: int, depth: int) -> list[tuple[int, int]]:
    """The bins overlapping [beg, end), as one inclusive (first, last) range per level of the index."""
    end -= 1
    ranges: list[tuple[int, int]] = []
    s = min_shift + depth * 3
    t = 0
    for level in range(depth + 1):
        ranges.append((t + (beg >> s), t + (end >> s)))
        s -= 3
        t += 1 << (level * 3)
    return ranges


def _overlapping_bins(ref: RefIndex, beg: int, end: int, min_shift: int, depth: int) -> list[int]:
    """The contig's populated bins that overlap [beg, end): walks whichever is smaller, the bins the
    region spans (tens of thousands for a whole contig) or the bins that hold data (a handful)."""
    ranges = _reg2bin_ranges(beg, end, min_shift, depth)
    if sum(last - first + 1 for first, last in ranges) <= len(ref.bins):
        return [b for first, last in ranges for b in range(first, last + 1) if b in ref.bins]
    return sorted(b for b in ref.bins if any(first <= b <= last for first, last in ranges))


def region_voffsets(idx: TabixIndex, contig: str, beg: int, end: int) -> tuple[int, int] | None:
    """Virtual offsets (first chunk start, last chunk end) covering records overlapping [beg, end)."""
    ref = idx.ref(contig)
    if ref is None:
        return None
    limit = 1 << (idx.min_shift + idx.depth * 3)
    beg, end = max(beg, 0), min(end, limit)
    if beg >= end:
        return None
    min_off = 0
    if idx.kind == "tbi" and ref.linear:
        i = beg >> idx.min_shift
        min_off = ref.linear[min(i, len(ref.linear) - 1)] if i < len(ref.linear) else 0
    elif idx.kind == "csi":
        leaf_first = ((1 << (idx.depth * 3)) - 1) // 7
        b = leaf_first + (beg >> idx.min_shift)
        while b > 0 and b not in ref.loffsets:
            b = (b - 1) >> 3
        min_off = ref.loffsets.get(b, 0)
    chunks = [c for b in _overlapping_bins(ref, beg, end, idx.min_shift, idx.depth) for c in ref.bins[b]
              if c[1] > min_off]
    if not chunks:
        return None
    return min(c[0] for c in chunks), max(c[1] for c in chunks)


def first_record_voffset(idx: TabixIndex) -> int | None:
    starts = [c[0] for r in idx.refs for chunks in r.bins.values() for c in chunks]
    return min(starts) if starts else None


def byte_ranges_for(idx: TabixIndex, size: int, contig: str, beg: int, end: int) -> list[tuple[int, int]]:
    """Byte ranges [a, b) of the BGZF file that a region query on [beg, end) reads (header, data, EOF)."""
    block = 1 << 16
    ranges: list[tuple[int, int]] = []
    first = first_record_voffset(idx)
    header_end = (first >> 16) + block if first is not None else size
    ranges.append((0, min(header_end, size)))
    vo = region_voffsets(idx, contig, beg, end)
    if vo is not None:
        ranges.append((vo[0] >> 16, min((vo[1] >> 16) + block, size)))
    ranges.append((max(size - 28, 0), size))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


# --------------------------------------------------------------------------------------------------
# Running pipelines of tools
# --------------------------------------------------------------------------------------------------
class ScratchPaths:
    """Replaces the scratch directory in recorded command lines so sidecars are reproducible."""

    def __init__(self, scratch: str, label: str = "$SCRATCH") -> None:
        self.scratch = scratch.rstrip("/")
        self.label = label

    def clean(self, argv: Sequence[str]) -> list[str]:
        return [a.replace(self.scratch, self.label) for a in argv]


# One streaming helper for every tool pipeline (genomics.tools); kept importable from here.
PipelineError = tools.PipelineError
run_pipeline = tools.run_pipeline


_UNREADABLE = (
    "Could not read VCF/BCF headers", "not detected as bcf or vcf", "Failed to read", "Could not parse",
    "[E::vcf_parse", "[E::bcf_", "invalid", "truncated", "not compressed with bgzip",
)


def classify(err: tools.ToolError, name: str) -> ProcessingError | None:
    """A tool failure the user caused -> the coded exception (None when it is not the user's)."""
    mm = parse_ref_mismatch(err.stderr)
    if mm:
        return RefMismatch(
            f"REF allele {mm['vcf']!r} at {mm['contig']}:{mm['pos']} does not match the reference "
            f"({mm['reference']!r}); fix the record or upload against the matching assembly",
            location=f"{name} {mm['contig']}:{mm['pos']}",
        )
    wf = parse_wrong_fields(err.stderr)
    if wf:
        return MalformedRecord(
            f"{wf['tag']} at {wf['contig']}:{wf['pos']} has {wf['found']} value(s) but its header Number "
            f"requires {wf['expected']}; fix the record or its header line before splitting multiallelics",
            location=f"{name} {wf['contig']}:{wf['pos']}",
        )
    cm = _REF_CONTIG.search(err.stderr)
    if cm and "-f" in err.argv:
        where = cm.group(1) or cm.group(2)
        return RefContigMissing(
            f"contig/position {where} is not in the reference FASTA; check the assembly of the upload",
            location=f"{name} {where}",
        )
    text = err.stderr
    if any(s in text for s in _UNREADABLE):
        tail = " | ".join(text.strip().splitlines()[-3:])
        return UnreadableInput(f"{name} could not be read as VCF/BCF ({tail}); re-export it with bcftools",
                               location=name)
    return None


# --------------------------------------------------------------------------------------------------
# The processing steps
# --------------------------------------------------------------------------------------------------
def norm_stages(
    src: str, out: str, scratch: Path, *, reference: str | None,
    regions_file: str | None = None, targets_file: str | None = None,
) -> list[list[str]]:
    first = ["bcftools", "norm", "--no-version", "-m", "-any"]
    if reference:
        first += ["-f", reference, "-c", "e"]
    if regions_file:
        first += ["-R", regions_file]
    first += ["-Ou", "-o", "-", src]
    stages = [first]
    if targets_file:
        stages.append(["bcftools", "view", "--no-version", "-T", targets_file, "-Ou", "-o", "-", "-"])
    stages.append(
        ["bcftools", "sort", "-m", SORT_MEMORY, "-T", str(scratch / "sort."), "-Ou", "-o", "-", "-"]
    )
    stages.append(["bcftools", "norm", "--no-version", "-d", "exact", "-Oz", "-o", out, "-"])
    return stages


@dataclass
class Normalised:
    path: str
    records_in: int
    split: int
    realigned: int
    commands: list[list[str]]
    repairs: list[dict[str, Any]] = field(default_factory=list)


Opener = Callable[[], BinaryIO]
# Rounds of repair (each adds what the previous attempt revealed) before giving up.
MAX_REPAIR_ROUNDS = 24
_UNDECLARED_HINTS = ("is not defined in the header", "Unchecked error", "not defined in the header")


def _open(opener: Opener | None) -> contextlib.AbstractContextManager[BinaryIO | None]:
    return opener() if opener is not None else contextlib.nullcontext(None)


# Validation codes for values that do not match their declared Type (a decimal in an Integer key, ...).
_TYPE_CODES = ("VCF_INFO_TYPE", "VCF_SAMPLE_TYPE")


def needs_type_scan(conformance: dict[str, Any] | None) -> bool:
    """Validation's conformance report says some value does not match its Type: worth one scan for
    Integer keys holding decimals (htslib truncates those silently; nothing else reveals them)."""
    codes = (conformance or {}).get("codes") or {}
    return any(codes.get(c) for c in _TYPE_CODES)


def undeclared_keys(src: str, scratch: Path, opener: Opener | None = None,
                    regions_file: str | None = None) -> list[tuple[str, str]]:
    """Contigs, FILTERs, INFO and FORMAT keys records use but the header lacks, in the order htslib
    meets them (one reading pass; htslib warns once per key)."""
    argv = ["bcftools", "query"]
    if regions_file:
        argv += ["-R", regions_file]
    argv += ["-f", "\n", src]
    with _open(opener) as stdin:
        try:
            errs = run_pipeline([argv], scratch, stdin=stdin, stdout_path=Path(os.devnull))
        except PipelineError as e:
            errs = e.stderrs
    return repair.parse_undeclared("".join(errs))


class _Repairer:
    """Runs a pipeline; when it fails for a reason :mod:`genomics.processing.repair` can fix, extends
    the plan from what the failure (and, for undeclared keys, one scan) revealed and runs it again."""

    def __init__(self, src: str, scratch: Path, opener: Opener | None, name: str,
                 regions_file: str | None = None, conformance: dict[str, Any] | None = None) -> None:
        self.src, self.scratch, self.opener, self.name = src, scratch, opener, name
        self.regions_file = regions_file
        self.conformance = conformance
        self.plan = repair.RepairPlan()
        self.plan_path = scratch / "repair.plan.json"
        self.stats_path = scratch / "repair.stats.json"
        self._header: str | None = None

    def _is_text(self) -> bool:
        with _open(self.opener) if self.opener is not None else open(self.src, "rb") as fh:
            assert fh is not None
            return sniff(fh.read(1 << 16))["format"] == "vcf"

    def prepare(self) -> None:
        """Before the first run: when validation saw values that do not match their Type (and the input
        is VCF text), find Integer keys holding decimals, which htslib would silently truncate."""
        if self.regions_file is not None or not needs_type_scan(self.conformance) or not self._is_text():
            return
        with _open(self.opener) if self.opener is not None else open(self.src, "rb") as fh:
            assert fh is not None
            found = repair.find_decimal_integers(repair.text_reader(fh))
        for key, where in found.items():
            self.plan.retype[key] = {"first": where}

    def stages(self) -> list[list[str]]:
        """``bcftools view -Ov [-R REGIONS] SRC | python -m genomics.processing.repair PLAN STATS``, or,
        when a Type must change before htslib parses the values, the filter on the raw VCF text."""
        self.plan_path.write_text(json.dumps(self.plan.to_json()))
        if self.plan.retype and self.regions_file is None:
            return [[sys.executable, "-m", "genomics.processing.repair", str(self.plan_path), str(self.stats_path),
                     "--raw", self.src]]
        view = ["bcftools", "view", "--no-version"]
        if self.regions_file:
            view += ["-R", self.regions_file]
        view += ["-Ov", "-o", "-", self.src]
        return [view, [sys.executable, "-m", "genomics.processing.repair", str(self.plan_path),
                       str(self.stats_path)]]

    def header(self) -> str:
        if self._header is None:
            hdr = self.scratch / "repair.header.txt"
            with _open(self.opener) as stdin:
                run_pipeline([["bcftools", "view", "--no-version", "-h", "-o", str(hdr), self.src]],
                             self.scratch, stdin=stdin)
            self._header = hdr.read_text(errors="replace")  # htslib passes non-UTF-8 header bytes through
        return self._header

    def extend(self, err: PipelineError) -> bool:
        """Add what ``err`` calls for to the plan; False when nothing new can be repaired."""
        text = "\n".join(err.stderrs)
        if any(h in text for h in _UNDECLARED_HINTS):
            known = set(self.plan.declare)
            found = [k for k in repair.parse_undeclared(text) if k not in known]
            found += [k for k in undeclared_keys(self.src, self.scratch, self.opener, self.regions_file)
                      if k not in known and k not in found]
            if found:
                self.plan.declare.extend(found)
                return True
        wrong = repair.parse_wrong_number(text)
        if wrong is None:
            return False
        kind, tag = wrong["kind"], wrong["tag"]
        number = repair.header_numbers(self.header()).get((kind, tag), ".")
        first = f"{wrong['contig']}:{wrong['pos']}"
        if kind == "FORMAT" and number == "G" and tag not in self.plan.genotype_tags:
            self.plan.genotype_tags[tag] = {"first": first}
            return True
        if (kind, tag) not in self.plan.relax:
            if kind == "FORMAT":  # splitting its polyploid records did not satisfy norm: carry it instead
                self.plan.genotype_tags.pop(tag, None)
            self.plan.relax[(kind, tag)] = {"from": number, "first": first}
            return True
        return False

    def run(self, build: Callable[[list[list[str]] | None], list[list[str]]]
            ) -> tuple[list[list[str]], list[str], list[dict[str, Any]]]:
        """(stages run, their stderrs, the repairs made) of the first attempt that succeeded."""
        try:
            self.prepare()
            stages = build(self.stages() if self.plan else None)
            for _ in range(MAX_REPAIR_ROUNDS):
                try:
                    with _open(self.opener) as stdin:
                        errs = run_pipeline(stages, self.scratch, stdin=stdin)
                except PipelineError as e:
                    if not self.extend(e):
                        raise
                    stages = build(self.stages())
                    continue
                stats = json.loads(self.stats_path.read_text()) if self.plan and self.stats_path.exists() else {}
                return stages, errs, self.plan.repairs(stats)
            raise PipelineError(stages[0], 1, f"still failing after {MAX_REPAIR_ROUNDS} repair rounds", [])
        except tools.ToolError as e:
            coded = classify(e, self.name)
            if coded is not None:
                raise coded from e
            raise


def normalise(
    src: str, out: str, scratch: Path, *, reference: str | None, name: str,
    opener: Opener | None = None, regions_file: str | None = None, targets_file: str | None = None,
    conformance: dict[str, Any] | None = None,
) -> Normalised:
    """norm | [view -T] | sort | norm -d of ``src`` (a path, or "-" with ``opener`` giving the bytes),
    through the repair filter when the input needs it (:class:`_Repairer`; ``conformance``: validation's
    report, which tells when a value/Type scan is worth its pass)."""

    def build(repair_stages: list[list[str]] | None) -> list[list[str]]:
        if repair_stages is None:
            return norm_stages(src, out, scratch, reference=reference, regions_file=regions_file,
                               targets_file=targets_file)
        rest = norm_stages("-", out, scratch, reference=reference, targets_file=targets_file)
        return [*repair_stages, *rest]

    stages, errs, repairs = _Repairer(src, scratch, opener, name, regions_file, conformance).run(build)
    norm_at = next(i for i, s in enumerate(stages) if s[:2] == ["bcftools", "norm"])
    stats = parse_norm_stats(errs[norm_at])
    return Normalised(out, stats.get("total", 0), stats.get("split", 0), stats.get("realigned", 0),
                      [list(s) for s in stages], repairs)


def header_text(path: str) -> str:
    """The header as text; bytes that are not UTF-8 (htslib accepts them, validation warns) become U+FFFD."""
    return tools.run(["bcftools", "view", "--no-version", "-h", path]).stdout.decode("utf-8", "replace")


def index_kind(header: str) -> str:
    lengths = [c["length"] or 0 for c in parse_header_contigs(header)]
    return "csi" if any(n > TBI_MAX_LENGTH for n in lengths) else "tbi"


def index_vcf(path: str, header: str | None = None) -> tuple[str, list[str]]:
    """Index a BGZF VCF: .tbi, or .csi when a contig is longer than 2^29 (or tbi refuses)."""
    kind = index_kind(header if header is not None else header_text(path))
    argv = ["bcftools", "index", "-f", "--tbi" if kind == "tbi" else "--csi", path]
    try:
        tools.run(argv)
    except tools.ToolError:
        if kind != "tbi":
            raise
        kind = "csi"
        argv = ["bcftools", "index", "-f", "--csi", path]
        tools.run(argv)
    return f"{path}.{kind}", argv


def index_stats(path: str) -> list[dict[str, Any]]:
    return parse_index_stats(tools.run(["bcftools", "index", "-s", path]).stdout.decode())


def file_digests(path: str) -> dict[str, Any]:
    md5, sha = hashlib.md5(), hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while buf := fh.read(CHUNK):
            md5.update(buf)
            sha.update(buf)
            size += len(buf)
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest(), "size": size}


def tool_versions() -> dict[str, str]:
    return {
        "bcftools": tools.version("bcftools"),
        "tabix": tools.version("tabix"),
        "distribution": "Debian bcftools/tabix packages",
    }


def basename_of(name: str) -> str:
    base = name.rstrip("/").rsplit("/", 1)[-1]
    for ext in (".gz", ".bgz", ".bgzf", ".vcf", ".bcf"):
        if base.lower().endswith(ext):
            base = base[: -len(ext)]
    return base or "input"


def output_names(name: str) -> dict[str, str]:
    vcf = f"{basename_of(name)}.norm.vcf.gz"
    return {"vcf": vcf, "sidecar": f"{vcf}.json"}


# Validation warnings that mean the records were out of order (bcftools sort put them in order).
_ORDER_CODES = ("VCF_UNSORTED", "VCF_CONTIG_NOT_CONTIGUOUS")


def order_repairs(conformance: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The "sorted" repair, when validation's conformance report says the input was out of order (the
    pipeline always sorts; this only says that sorting changed the order)."""
    codes = (conformance or {}).get("codes") or {}
    found = [c for c in _ORDER_CODES if codes.get(c)]
    if not found:
        return []
    return [{"repair": "sorted", "key": "records", "codes": found,
             "reason": "records were out of order (" + ", ".join(f"{c} x{codes[c]}" for c in found)
             + "); bcftools sort put them in contig/position order"}]


def sidecar(
    *, input_info: dict[str, Any], vcf: dict[str, Any], index: dict[str, Any], records_in: int,
    records_out: int, contigs: list[str], reference: dict[str, Any] | None, reference_note: str | None,
    commands: list[list[str]], mode: str, shards: int, split: int | None, realigned: int | None,
    repairs: list[dict[str, Any]] | None = None, conformance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON sidecar. ``repairs``: what processing changed so that htslib-readable input could be
    processed (declared keys, relaxed Numbers, polyploid records split), each with its reason;
    ``conformance``: validation's report (warnings with line and record) when the caller has it."""
    return {
        "repairs": [*order_repairs(conformance), *(repairs or [])],
        "conformance": conformance,
        "schema": "genomics.processing/1",
        "input": input_info,
        "outputs": {"vcf": vcf, "index": index},
        "records_in": records_in,
        "records_out": records_out,
        "split": split,
        "realigned": realigned,
        "contigs": contigs,
        "reference": reference,
        "reference_note": reference_note,
        "left_aligned": reference is not None,
        "mode": mode,
        "shards": shards,
        "tools": tool_versions(),
        "commands": commands,
    }


def sha256_file(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while buf := fh.read(CHUNK):
            sha.update(buf)
    return sha.hexdigest()


# --------------------------------------------------------------------------------------------------
# Local entry points (the CLI calls process_local)
# --------------------------------------------------------------------------------------------------
def process_local(
    in_path: str, out_dir: str, *, reference: str | None = None, conformance: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Normalise, sort, deduplicate, bgzip and index ``in_path`` into ``out_dir`` with a JSON sidecar
    (``conformance``: validation's report to copy into it, when the caller validated first)."""
    if not os.path.exists(in_path):
        raise InputNotFound(f"{in_path} does not exist", location=in_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = output_names(in_path)
    with tempfile.TemporaryDirectory(prefix="vcfproc-") as td:
        scratch = Path(td)
        tmp_vcf = str(scratch / names["vcf"])
        ref_path = None
        if reference:
            ref_path = str(Path(reference).resolve())
            if not os.path.exists(ref_path + ".fai"):
                # faidx writes next to the FASTA; work on a scratch symlink so the original dir is untouched
                link = scratch / Path(ref_path).name
                link.symlink_to(ref_path)
                tools.run(["samtools", "faidx", str(link)])
                ref_path = str(link)
        res = normalise(in_path, tmp_vcf, scratch, reference=ref_path, name=in_path, conformance=conformance)
        header = header_text(tmp_vcf)
        idx_path, idx_argv = index_vcf(tmp_vcf, header)
        stats = index_stats(tmp_vcf)
        clean = ScratchPaths(td)
        final_vcf = out / names["vcf"]
        final_idx = out / Path(idx_path).name
        shutil.move(tmp_vcf, final_vcf)
        shutil.move(idx_path, final_idx)
        doc = sidecar(
            input_info={"name": in_path, "sha256": sha256_file(in_path), "size": os.path.getsize(in_path)},
            vcf={"name": final_vcf.name, **file_digests(str(final_vcf))},
            index={"name": final_idx.name, **file_digests(str(final_idx))},
            records_in=res.records_in,
            records_out=sum(s["records"] for s in stats),
            contigs=[s["contig"] for s in stats if s["records"]],
            reference={"path": reference} if reference else None,
            reference_note=None if reference else "no reference given: left-alignment and REF check skipped",
            commands=[clean.clean(c) for c in [*res.commands, idx_argv]],
            mode="single", shards=1, split=res.split, realigned=res.realigned,
            repairs=res.repairs, conformance=conformance,
        )
        side = out / names["sidecar"]
        side.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return {
        "vcf": str(final_vcf), "index": str(final_idx), "sidecar": str(side),
        "records_in": doc["records_in"], "records_out": doc["records_out"], "contigs": doc["contigs"],
        "repairs": doc["repairs"],
    }


def make_indexed_source(
    src: str, out: str, scratch: Path, *, name: str, opener: Opener | None = None,
    conformance: dict[str, Any] | None = None,
) -> tuple[str, list[list[str]], list[dict[str, Any]]]:
    """Sorted BGZF VCF copy of ``src`` (or of ``opener()``'s bytes when ``src`` is "-") plus its index,
    with undeclared contigs/keys declared (``bcftools sort`` needs them). Returns (index, commands,
    repairs)."""

    def build(repair_stages: list[list[str]] | None) -> list[list[str]]:
        sort = ["bcftools", "sort", "-m", SORT_MEMORY, "-T", str(scratch / "srcsort."), "-Oz", "-o", out]
        if repair_stages is None:
            return [[*sort, src]]
        return [*repair_stages, [*sort, "-"]]

    stages, _, repairs = _Repairer(src, scratch, opener, name, conformance=conformance).run(build)
    idx, idx_argv = index_vcf(out)
    return idx, [*stages, idx_argv], repairs


def try_index_in_place(path: str) -> tuple[str, list[str]] | None:
    """Index an existing BGZF VCF; None when it cannot be indexed (unsorted, not BGZF, BCF)."""
    try:
        return index_vcf(path)
    except tools.ToolError:
        return None


def index_names_declared(header: str, index_path: str) -> bool:
    """Every contig the index has records for is declared in ``header`` (read before indexing: with an
    index beside the file htslib adds the index's contigs to the header it reports)."""
    declared = {c["contig"] for c in parse_header_contigs(header)}
    idx = parse_tabix_index(Path(index_path).read_bytes())
    used = {n for n, r in zip(idx.names, idx.refs, strict=False) if r.bins or r.n_mapped}
    return used <= declared


def source_contigs(path: str) -> list[dict[str, Any]]:
    """Contigs of an indexed source in index order: name, length (header, else None) and record count."""
    lengths = {c["contig"]: c["length"] for c in parse_header_contigs(header_text(path))}
    rows = index_stats(path)
    for r in rows:
        r["length"] = lengths.get(r["contig"]) or r["length"]
    return rows


def process_shard_local(
    source: str, shard: Shard, out: str, scratch: Path, *, reference: str | None, name: str
) -> tuple[Normalised, int]:
    """Normalise one shard of an indexed source into ``out`` (BGZF VCF, not indexed). Returns records out."""
    regions = scratch / f"regions.{shard.index}.txt"
    targets = scratch / f"targets.{shard.index}.txt"
    regions.write_text("".join(region_line(c, b - SHARD_MARGIN, e + SHARD_MARGIN) for c, b, e in shard.regions()))
    targets.write_text("".join(region_line(c, b, e) for c, b, e in shard.regions()))
    res = normalise(source, out, scratch, reference=reference, name=name, regions_file=str(regions),
                    targets_file=str(targets))
    return res, count_records(out)


def count_records(path: str) -> int:
    """Records in a VCF/BCF, streamed (constant memory)."""
    n = 0
    with tools.Pipeline([["bcftools", "view", "--no-version", "-H", path]], capture=True) as p:
        assert p.stdout is not None
        while buf := p.stdout.read(CHUNK):
            n += buf.count(b"\n")
    return n


def gather_local(shard_paths: Iterable[str], out: str, repairs: Sequence[dict[str, Any]] = ()) -> list[str]:
    """Concatenate non-overlapping, individually sorted shards in order (naive: no recompression).

    Shards that repaired different keys (a declaration, a relaxed Number) have different headers, which
    a naive concat refuses: each then gets the same header, the first shard's with every shard's repairs
    (``repairs``) applied (``bcftools reheader``: only the header block is rewritten)."""
    paths = list(shard_paths)
    argv = ["bcftools", "concat", "--naive", "--no-version", "-Oz", "-o", out, *paths]
    if len(paths) == 1:
        shutil.copyfile(paths[0], out)
        return ["cp", paths[0], out]
    # Without repairs every shard wrote the source's header: no need to read them back.
    headers = [header_text(p) for p in paths] if repairs else []
    if len(set(headers)) > 1:
        plan = repair.RepairPlan.from_repairs(repairs)
        lines = [ln + "\n" for ln in headers[0].rstrip("\n").split("\n")]
        union = Path(out + ".header.txt")
        union.write_text("".join(repair.repair_header(lines, plan)))
        same = []
        for p in paths:
            target = p + ".reheadered.vcf.gz"
            tools.run(["bcftools", "reheader", "-h", str(union), "-o", target, p])
            same.append(target)
        argv = ["bcftools", "concat", "--naive", "--no-version", "-Oz", "-o", out, *same]
    tools.run(argv)
    return argv
