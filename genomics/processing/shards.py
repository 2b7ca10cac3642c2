"""Scatter plans: shards of a sorted, indexed source (0-based half-open inside).

Coordinates: 0-based half-open inside (``Shard.start``/``end``); region/target files handed to
bcftools are 1-based inclusive, converted in :func:`region_line` only.

Scatter: a shard reads its region widened by ``SHARD_MARGIN`` bases on both sides (``-R``), and keeps
only records whose POS *after* normalisation lies in its own ``[start, end)`` (``-T`` with the
default ``--targets-overlap pos``). Each record thus lands in exactly one shard even when it is a
deletion spanning a boundary or left-alignment moves it across one (by up to the margin, which equals
``norm``'s own ``--site-win`` assumption). Shards never overlap, so gather is a naive concat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# Left-alignment moves a record by at most norm's --site-win (default 1000); shards read this margin.
SHARD_MARGIN = 1000
# Contigs whose length is unknown (no ##contig length, no records past it) get one shard up to here.
MAX_POS = (1 << 31) - 1
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

