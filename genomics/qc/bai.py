"""The BAM index (BAI) of a scattered QC: per contig the byte range of its reads and their counts, read
without reading the BAM (genomics.qc.scatter plans its shards from them); building it when the upload has
none (``samtools index`` refuses an unsorted file, which is the check)."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from genomics.compression import is_gzip

BGZF_BLOCK_MAX = 65536  # a virtual offset's block starts at offset >> 16 and ends within this
_PSEUDO_BIN = 37450


class IndexError_(ValueError):
    """The BAI is not a BAM index we can read."""

    code = "QC_INDEX_INVALID"


@dataclass(frozen=True)
class ContigSpan:
    tid: int
    name: str
    length: int
    mapped: int
    unmapped: int  # placed unmapped reads (an unmapped mate at its mate's position)
    start_offset: int  # virtual offsets of the contig's first and past-last records
    end_offset: int

    @property
    def reads(self) -> int:
        return self.mapped + self.unmapped


@dataclass(frozen=True)
class BamIndex:
    contigs: tuple[ContigSpan, ...]
    unplaced: int  # reads with no coordinate (n_no_coor)


def parse_bai(data: bytes, names: Sequence[tuple[str, int]]) -> BamIndex:
    """Parse a BAI: per reference the pseudo-bin's record range and mapped/unmapped counts; ``names``
    are the header's (name, length) in order."""
    if data[:4] != b"BAI\x01":
        raise IndexError_("QC_INDEX_INVALID: not a BAI (magic)")
    try:
        (n_ref,) = struct.unpack_from("<i", data, 4)
        off = 8
        spans: list[ContigSpan] = []
        for tid in range(n_ref):
            (n_bin,) = struct.unpack_from("<i", data, off)
            off += 4
            meta: tuple[int, int, int, int] | None = None
            for _ in range(n_bin):
                bin_id, n_chunk = struct.unpack_from("<Ii", data, off)
                off += 8
                if bin_id == _PSEUDO_BIN and n_chunk == 2:
                    beg, end, mapped, unmapped = struct.unpack_from("<QQQQ", data, off)
                    meta = (beg, end, mapped, unmapped)
                off += 16 * n_chunk
            (n_intv,) = struct.unpack_from("<i", data, off)
            off += 4 + 8 * n_intv
            if meta is not None and tid < len(names):
                spans.append(ContigSpan(tid, names[tid][0], names[tid][1], meta[2], meta[3], meta[0], meta[1]))
        unplaced = struct.unpack_from("<Q", data, off)[0] if off + 8 <= len(data) else 0
    except struct.error as e:
        raise IndexError_(f"QC_INDEX_INVALID: the BAI is truncated: {e}") from e
    if n_ref != len(names):
        raise IndexError_(f"QC_INDEX_INVALID: the BAI lists {n_ref} references, the header {len(names)}")
    return BamIndex(tuple(spans), int(unplaced))


def header_refs(sam_header: str) -> list[tuple[str, int]]:
    """(name, length) of each @SQ line, in order."""
    refs = []
    for line in sam_header.splitlines():
        if line.startswith("@SQ"):
            tags = dict(f.split(":", 1) for f in line.split("\t")[1:] if ":" in f)
            refs.append((tags.get("SN", ""), int(tags.get("LN", "0"))))
    return refs


def read_index(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read()
    return gzip.decompress(data) if is_gzip(data) else data


def build_index(path: str, out: str, *, threads: int = 1) -> str | None:
    """Index ``path`` into ``out`` (a BAI) and return ``out``; ``None`` when the file is not coordinate
    sorted. The header's SO tag is not trusted: ``samtools index`` refuses records out of order, which
    is the check."""
    from genomics.qc import budget
    from genomics.tools import ToolError

    try:
        budget.run(["samtools", "index", "-b", "-@", str(threads), "-o", out, path])
    except ToolError as e:
        if "Unsorted positions" in e.stderr or "cannot be indexed" in e.stderr or "NO_COOR" in e.stderr:
            return None
        raise
    return out


def header_end_offset(index: BamIndex) -> int:
    """Bytes from the start of the file that cover the header: up to the block of the first record."""
    first = min((c.start_offset for c in index.contigs if c.reads), default=0)
    return (first >> 16) + BGZF_BLOCK_MAX
