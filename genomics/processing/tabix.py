"""Tabix/CSI indexes: enough of a .tbi/.csi reader to find which bytes of a BGZF file a region needs."""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass, field


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

