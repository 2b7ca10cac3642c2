"""The CRAM index (``.crai``) of a scattered QC: which containers hold each contig's reads, read without
reading the CRAM, so the plan groups whole contigs into shards by their container bytes and each shard
fetches only the header, its containers and the EOF container (genomics.qc.sparse).

A ``.crai`` is gzip-compressed text, one line per slice and reference: ``seq_id``, alignment ``start``,
``span``, the container's byte offset in the file, the slice's offset within the container (after its
header) and the slice's size. ``seq_id`` -1 marks the unplaced reads' slices; a multi-reference slice
has one line per reference it holds (same container). A container ends where the next one begins; the
last ends at the EOF container. Unlike a BAI it holds no read counts, and ``samtools idxstats`` on a CRAM
decodes every record, so each shard counts its own contigs' reads (``samtools idxstats -`` on the
shard's decoded stream, :func:`merge_idxstats`): placed reads are on exactly one contig, so the sums are
the single pass's counts.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from genomics.compression import is_gzip
from genomics.qc.bai import IndexError_

# The EOF container closing a CRAM: 38 bytes in CRAM 3.x, 30 in 2.1 (hts-specs CRAMv3 §9, CRAMv2.1 §9).
EOF_BYTES = {3: 38, 2: 30}
# A shard also fetches the container after each of its runs of containers: htslib reads on until it sees
# a record past the region, so it reads the next container's header, and decodes that container's slice
# when the header cannot tell (a multi-reference container, e.g. the last contig's reads with the
# unplaced ones). Containers are small (10,000 reads by default: ~0.2-1 MB) next to a shard.
READ_NEXT_CONTAINER = True
# Planning: about 19 bytes of CRAM 3 per 150 bp read at 30x (15 GB for ~800 M reads), so a BAM shard's
# ``qc_shard_reads`` becomes a CRAM shard's byte budget.
CRAM_BYTES_PER_READ = 19
UNPLACED = "*"


@dataclass(frozen=True)
class CraiEntry:
    seq_id: int  # -1: unplaced reads
    start: int
    span: int
    container: int  # byte offset of the container in the CRAM
    slice_offset: int
    slice_size: int


@dataclass(frozen=True)
class CramContig:
    tid: int  # -1 for the unplaced reads
    name: str
    containers: tuple[tuple[int, int], ...]  # its containers' [start, end) byte ranges, in file order
    following: tuple[tuple[int, int], ...] = ()  # the container after each of them (none after the file's last)

    @property
    def bytes(self) -> int:
        return sum(b - a for a, b in self.containers)


def read_crai(path: str) -> str:
    """The ``.crai``'s text (gzip-compressed as samtools writes it; plain text accepted)."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        return (gzip.decompress(data) if is_gzip(data) else data).decode("ascii")
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise IndexError_(f"QC_INDEX_INVALID: {path} is not a CRAM index (.crai): {e}") from e


def parse_crai(text: str) -> list[CraiEntry]:
    """The index's lines as entries; raises ``IndexError_`` (QC_INDEX_INVALID) on a malformed line."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            values = [int(f) for f in fields]
        except ValueError:
            values = []
        if len(values) != 6 or values[0] < -1 or any(v < 0 for v in values[1:]):
            raise IndexError_(f"QC_INDEX_INVALID: .crai line {n} is not six integers (seq_id, start, span, "
                              f"container offset, slice offset, slice size): {line[:120]!r}")
        out.append(CraiEntry(*values))
    return out


def eof_bytes(file_start: bytes) -> int:
    """The EOF container's size for the CRAM whose first bytes are ``file_start`` (``CRAM`` + major)."""
    if file_start[:4] != b"CRAM" or len(file_start) < 5 or file_start[4] not in EOF_BYTES:
        raise IndexError_("QC_INDEX_INVALID: not a CRAM 2.1/3.x file (file definition)")
    return EOF_BYTES[file_start[4]]


def contigs(entries: Sequence[CraiEntry], refs: Sequence[tuple[str, int]], *, file_size: int, eof: int
            ) -> list[CramContig]:
    """Per reference (header order), then the unplaced reads (tid -1, last): the byte ranges of the
    containers holding its slices. References without slices are left out."""
    starts = sorted({e.container for e in entries})
    end_of = dict(zip(starts, [*starts[1:], file_size - eof], strict=True))
    if any(e.seq_id >= len(refs) for e in entries) or (starts and end_of[starts[-1]] <= starts[-1]):
        raise IndexError_(f"QC_INDEX_INVALID: the .crai names references or offsets the CRAM does not have "
                          f"({len(refs)} references, {file_size} bytes)")
    by_tid: dict[int, list[int]] = {}
    for e in entries:
        seen = by_tid.setdefault(e.seq_id, [])
        if e.container not in seen:
            seen.append(e.container)
    out = []
    for tid in [*range(len(refs)), -1]:
        if tid in by_tid:
            name = refs[tid][0] if tid >= 0 else UNPLACED
            mine = [(c, end_of[c]) for c in sorted(by_tid[tid])]
            following = [(b, end_of[b]) for _, b in mine if b in end_of]
            out.append(CramContig(tid, name, tuple(mine), tuple(following)))
    return out


def header_end(entries: Sequence[CraiEntry], file_size: int, eof: int) -> int:
    """Where the file definition and header container end: at the first data container."""
    return min((e.container for e in entries), default=file_size - eof)


def _merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def plan_shards(spans: Sequence[CramContig], *, target_bytes: int, max_shards: int, file_size: int,
                header_end: int, eof: int) -> list[dict[str, Any]]:
    """Shards as genomics.qc.scatter.plan_shards makes them for a BAM (``index``, ``contigs``, ``ranges``;
    ``unplaced`` for the unplaced reads' shard), grouped in file order to about ``target_bytes`` of
    containers, with ``format: cram`` and ``bytes`` (container bytes) instead of reads."""
    placed = [c for c in spans if c.tid >= 0]
    unplaced = [c for c in spans if c.tid < 0]
    total = sum(c.bytes for c in spans)
    budget = max(target_bytes, math.ceil(total / max(1, max_shards - len(unplaced))))
    groups: list[list[CramContig]] = []
    for c in placed:
        if groups and sum(g.bytes for g in groups[-1]) + c.bytes <= budget:
            groups[-1].append(c)
        else:
            groups.append([c])
    shards: list[dict[str, Any]] = []
    for group in [*groups, *([unplaced] if unplaced else [])]:
        data = [r for c in group for r in c.containers]
        after = [r for c in group for r in c.following] if READ_NEXT_CONTAINER else []
        ranges = _merged([(0, header_end), *data, *after, (file_size - eof, file_size)])
        shard: dict[str, Any] = {"index": len(shards), "format": "cram", "bytes": sum(b - a for a, b in _merged(data)),
                                 "contigs": [c.name for c in group if c.tid >= 0],
                                 "ranges": [[a, b] for a, b in ranges if b > a]}
        if group is unplaced:
            shard["unplaced"] = True
        shards.append(shard)
    return shards


def idxstats_line_counts(text: str) -> list[tuple[str, int, int, int]]:
    out = []
    for line in text.splitlines():
        f = line.split("\t")
        if len(f) == 4:
            out.append((f[0], int(f[1]), int(f[2]), int(f[3])))
    return out


def merge_idxstats(texts: Sequence[str]) -> str:
    """Shards' ``samtools idxstats -`` outputs (each lists every reference; a shard's own contigs carry its
    counts) summed per reference, in the first output's order: what ``samtools idxstats`` prints for the
    whole CRAM."""
    order: list[tuple[str, int]] = []
    sums: dict[str, list[int]] = {}
    for text in texts:
        for name, length, mapped, unmapped in idxstats_line_counts(text):
            if name not in sums:
                sums[name] = [0, 0]
                order.append((name, length))
            sums[name][0] += mapped
            sums[name][1] += unmapped
    if not order:
        raise ValueError("no samtools idxstats output to merge")
    return "".join(f"{n}\t{length}\t{sums[n][0]}\t{sums[n][1]}\n" for n, length in order)
