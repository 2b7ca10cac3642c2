"""Sparse local copies of S3 objects: a file of the object's full size holding only the byte ranges a tool
will read (the rest reads as zeros). A scatter shard reads its BAM this way (header, its contigs' blocks,
the EOF block: genomics.qc.scatter.plan_shards) and its reference FASTA too: only its contigs' sequence,
located by the ``.fai`` (plain FASTA) and, for a BGZF-compressed FASTA, mapped to compressed blocks by the
``.gzi``. htslib reads a FASTA through its index, so only those contigs' bytes are touched.

Tools must read a sparse copy without a decompression thread: htslib's reader thread reads ahead into
the zeros and htslib 1.16 then hangs instead of failing (genomics.qc.coverage.run).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from genomics import objects

BGZF_EOF_BYTES = 28


def fetch(s3: Any, obj: Mapping[str, Any], ranges: Sequence[Sequence[int]], size: int, path: Path,
          aws: Callable[[Callable[[], Any], str], Any]) -> int:
    """Write a sparse copy of ``obj`` (bucket, key, optional version_id) holding only ``ranges``
    (``[start, end)`` byte offsets) to ``path``; the bytes fetched."""
    return int(aws(lambda: objects.fetch_ranges(s3, obj["bucket"], obj["key"], obj.get("version_id"), size,
                                                [(int(a), int(b)) for a, b in ranges], path),
                   f"S3 GetObject s3://{obj['bucket']}/{obj['key']} (byte ranges)"))


def fai_ranges(fai: str, contigs: Sequence[str]) -> list[tuple[int, int]]:
    """Uncompressed byte ranges of ``contigs``' sequence lines in the FASTA the ``.fai`` describes
    (NAME LENGTH OFFSET LINEBASES LINEWIDTH); contigs the index lacks are skipped."""
    wanted = set(contigs)
    out = []
    for line in fai.splitlines():
        f = line.split("\t")
        if len(f) < 5 or f[0] not in wanted:
            continue
        length, offset, bases, width = (int(x) for x in f[1:5])
        full, rest = divmod(length, bases) if bases else (0, length)
        out.append((offset, offset + full * width + rest + (width - bases)))  # + the last line's end
    return sorted(out)


def gzi_blocks(data: bytes) -> list[tuple[int, int]]:
    """A ``.gzi``'s (compressed, uncompressed) offsets of the BGZF blocks, the first block's (0, 0) included."""
    (n,) = struct.unpack_from("<Q", data, 0)
    pairs = [struct.unpack_from("<QQ", data, 8 + 16 * i) for i in range(n)]
    return [(0, 0), *((int(c), int(u)) for c, u in pairs)]


def compressed_ranges(ranges: Sequence[tuple[int, int]], blocks: Sequence[tuple[int, int]], size: int
                      ) -> list[list[int]]:
    """The compressed byte ranges holding uncompressed ``ranges`` of a BGZF file of ``size`` bytes, plus its
    first block (htslib reads it when opening) and the EOF block."""
    first_end = blocks[1][0] if len(blocks) > 1 else size
    out = [[0, first_end]]
    for u0, u1 in ranges:
        start = max(c for c, u in blocks if u <= u0)
        after = [c for c, u in blocks if u >= u1]
        out.append([start, min(after) if after else size])
    out.append([max(0, size - BGZF_EOF_BYTES), size])
    return out
