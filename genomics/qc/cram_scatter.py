"""CRAM scatter's S3-facing half (quality-metrics' ``plan`` and ``shard`` actions call it for a CRAM, see
genomics.qc.scatter_service): the plan finds the ``.crai`` beside the upload or builds it, reads the
header from a sparse copy and plans shards by container bytes (genomics.qc.crai); a shard's reference is a
sparse copy of its contigs' sequence (genomics.identity.scatter.shard_reference). Shards count their
contigs' reads themselves, so gather needs no idxstats from the plan."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genomics import objects
from genomics.deployment import Settings
from genomics.identity.scatter import shard_reference
from genomics.qc import budget, crai, sparse
from genomics.qc.bai import header_refs
from genomics.steps import InputRef
from genomics.tools import ToolError

Aws = Callable[[Callable[[], Any], str], Any]
HEADER_EOF_PROBE = 38  # the largest EOF container (CRAM 3.x)


@dataclass(frozen=True)
class CramPlan:
    index: Path  # the local .crai (found beside the upload or built)
    refs: list[tuple[str, int]]
    shards: list[dict[str, Any]]


def build_crai(path: str, out: str) -> str | None:
    """Index ``path`` into ``out``; ``None`` when the CRAM is not coordinate sorted (``samtools index``
    refuses it whatever the header's SO says, which is the check)."""
    try:
        budget.run(["samtools", "index", "-o", out, path])
    except ToolError as e:
        if "not sorted" in e.stderr or "Unsorted" in e.stderr or "cannot be indexed" in e.stderr:
            return None
        raise
    return out


def find_or_build_crai(s3: Any, inp: InputRef, size: int, scratch: Path, settings: Settings, aws: Aws
                       ) -> Path | None:
    """``<key>.crai`` or ``<key without .cram>.crai`` beside the upload; else the CRAM copied into scratch
    (when it fits half of it) and indexed; None when neither (or the CRAM is unsorted)."""
    key = inp.key
    local = scratch / "input.crai"
    for candidate in (key + ".crai", key[:-5] + ".crai" if key.endswith(".cram") else None):
        if candidate and aws(lambda c=candidate: objects.exists(s3, inp.bucket, c), f"S3 HeadObject {candidate}"):
            aws(lambda c=candidate: objects.download(s3, inp.bucket, c, None, local), f"S3 GetObject {candidate}")
            return local
    if size > settings.heavy_ephemeral_mb * 1024**2 // 2:
        return None
    copy = scratch / "input.cram"
    aws(lambda: objects.download(s3, inp.bucket, key, inp.version_id, copy), f"S3 GetObject {key}")
    built = build_crai(str(copy), str(local))
    copy.unlink()
    return Path(built) if built else None


def plan(s3: Any, inp: InputRef, size: int, scratch: Path, settings: Settings, aws: Aws) -> CramPlan | None:
    """The CRAM's shards (whole contigs grouped to ``qc_shard_reads`` reads' worth of container bytes, plus
    the unplaced reads), or None when it has no index and none can be built."""
    index = find_or_build_crai(s3, inp, size, scratch, settings, aws)
    if index is None:
        return None
    entries = crai.parse_crai(crai.read_crai(str(index)))
    head = scratch / "head.cram"
    first = min((e.container for e in entries), default=size)
    sparse.fetch(s3, inp.to_dict(), [[0, first], [max(0, size - HEADER_EOF_PROBE), size]], size, head, aws)
    with open(head, "rb") as fh:
        eof = crai.eof_bytes(fh.read(5))
    header = budget.run(["samtools", "view", "-H", "--no-PG", str(head)]).stdout.decode("utf-8", "replace")
    head.unlink()
    refs = header_refs(header)
    spans = crai.contigs(entries, refs, file_size=size, eof=eof)
    shards = crai.plan_shards(spans, target_bytes=settings.qc_shard_reads * crai.CRAM_BYTES_PER_READ,
                              max_shards=settings.scatter_max_shards, file_size=size,
                              header_end=crai.header_end(entries, size, eof), eof=eof)
    return CramPlan(index, refs, shards)


def reference(s3: Any, inp: InputRef, shard: dict[str, Any], folder: Path, aws: Aws) -> str | None:
    """A sparse copy of the stack's reference holding the shard's contigs (None without REFERENCE_URI: the
    CRAM then decodes only if it embeds its reference)."""
    uri = os.environ.get("REFERENCE_URI", "")
    if not uri:
        return None
    return shard_reference(s3, uri, inp.assembly, shard.get("contigs") or [], folder, aws)
