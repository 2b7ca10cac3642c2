"""FASTQ metrics in one streaming pass: read count, length distribution, GC content, mean base quality
and mean quality per cycle.

How it is computed: records are read from a binary stream (plain or gzip/BGZF, detected from the magic
bytes), in blocks of up to ``BLOCK`` reads. For each block the sequences are joined into one bytes
object and G/C/A/T/N are counted with ``bytes.count`` (C speed); the quality strings are joined and
counted with ``numpy.bincount`` (a histogram over Phred+33 values, from which the mean quality follows),
and, for reads of the same length, stacked into a reads x cycles matrix summed over axis 0 (quality sum
per cycle). Memory is bounded by one block (plus one array per distinct read length seen), whatever
the file size. Multi-line FASTQ (sequence wrapped over several lines) is read correctly.

GC content is (G+C)/(A+C+G+T) in percent (N and other IUPAC codes excluded). Mean base quality is the
mean Phred score of all bases; quality per cycle is the mean Phred score at each 1-based cycle.
"""

from __future__ import annotations

import gzip
import io
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

from genomics.compression import is_gzip

BLOCK = 20_000
PHRED_OFFSET = 33

CODES: dict[str, str] = {
    "QC_FASTQ_TRUNCATED": "the file ends inside a record (header, sequence, '+' or quality missing)",
    "QC_FASTQ_BAD_HEADER": "a record does not start with '@'",
    "QC_FASTQ_LENGTH_MISMATCH": "a record's quality string is not as long as its sequence",
    "QC_FASTQ_BAD_QUALITY": "a quality character is below '!' (Phred+33 0) or above '~'",
}


class FastqError(ValueError):
    """The stream is not well-formed FASTQ. ``code`` is one of CODES; ``line`` is 1-based."""

    def __init__(self, code: str, message: str, line: int) -> None:
        self.code = code
        self.line = line
        super().__init__(f"{code} at line {line}: {message}")


def _open_text_lines(stream: BinaryIO) -> Iterator[bytes]:
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type]
    magic = buffered.peek(2)[:2]
    source: BinaryIO = gzip.GzipFile(fileobj=buffered) if is_gzip(magic) else buffered  # type: ignore[assignment]
    for line in source:
        yield line.rstrip(b"\r\n")


def iter_records(stream: BinaryIO) -> Iterator[tuple[bytes, bytes]]:
    """Yield (sequence, quality) per record; raise :class:`FastqError` on malformed input."""
    lines = _open_text_lines(stream)
    n = 0
    for header in lines:
        n += 1
        if not header:
            continue
        if not header.startswith(b"@"):
            raise FastqError("QC_FASTQ_BAD_HEADER", "expected a header line starting with '@'", n)
        start = n
        seq_parts: list[bytes] = []
        for line in lines:
            n += 1
            if line.startswith(b"+"):
                break
            seq_parts.append(line)
        else:
            raise FastqError("QC_FASTQ_TRUNCATED", "no '+' line after the sequence", start)
        seq = b"".join(seq_parts)
        qual_parts: list[bytes] = []
        got = 0
        while got < len(seq):
            line = next(lines, None)
            if line is None:
                raise FastqError("QC_FASTQ_TRUNCATED", "quality string shorter than the sequence", start)
            n += 1
            qual_parts.append(line)
            got += len(line)
        qual = b"".join(qual_parts)
        if len(qual) != len(seq):
            raise FastqError(
                "QC_FASTQ_LENGTH_MISMATCH", f"sequence has {len(seq)} bases, quality has {len(qual)} characters", start
            )
        yield seq, qual


class _Accumulator:
    def __init__(self) -> None:
        self.reads = 0
        self.lengths: Counter[int] = Counter()
        self.bases: Counter[str] = Counter()
        self.qual_hist = np.zeros(256, dtype=np.int64)
        self.cycle_sum = np.zeros(0, dtype=np.int64)
        self.cycle_n = np.zeros(0, dtype=np.int64)

    def _grow(self, length: int) -> None:
        if length > len(self.cycle_sum):
            pad = length - len(self.cycle_sum)
            self.cycle_sum = np.concatenate([self.cycle_sum, np.zeros(pad, dtype=np.int64)])
            self.cycle_n = np.concatenate([self.cycle_n, np.zeros(pad, dtype=np.int64)])

    def add_block(self, block: list[tuple[bytes, bytes]]) -> None:
        self.reads += len(block)
        seqs = b"".join(s for s, _ in block).upper()
        for base in "ACGTN":
            self.bases[base] += seqs.count(base.encode())
        self.bases["total"] += len(seqs)
        by_len: dict[int, list[bytes]] = {}
        for seq, qual in block:
            self.lengths[len(seq)] += 1
            by_len.setdefault(len(qual), []).append(qual)
        for length, quals in by_len.items():
            if length == 0:
                continue
            arr = np.frombuffer(b"".join(quals), dtype=np.uint8)
            self.qual_hist += np.bincount(arr, minlength=256)
            self._grow(length)
            matrix = arr.reshape(len(quals), length).astype(np.int64)
            self.cycle_sum[:length] += matrix.sum(axis=0) - PHRED_OFFSET * len(quals)
            self.cycle_n[:length] += len(quals)

    def result(self) -> dict[str, Any]:
        if self.qual_hist[:PHRED_OFFSET].any() or self.qual_hist[127:].any():
            raise FastqError("QC_FASTQ_BAD_QUALITY", "quality characters outside '!'..'~'", 0)
        total_q = int(self.qual_hist.sum())
        phred = np.arange(256) - PHRED_OFFSET
        acgt = sum(self.bases[b] for b in "ACGT")
        gc = self.bases["G"] + self.bases["C"]
        per_cycle = [round(float(s) / float(c), 3) for s, c in zip(self.cycle_sum, self.cycle_n, strict=True) if c]
        lengths = sorted(self.lengths.items())
        return {
            "reads": self.reads,
            "bases": int(self.bases["total"]),
            "mean_read_length": (round(self.bases["total"] / self.reads, 3) if self.reads else None),
            "min_read_length": lengths[0][0] if lengths else None,
            "max_read_length": lengths[-1][0] if lengths else None,
            "length_distribution": {str(k): v for k, v in lengths},
            "gc_pct": round(100.0 * gc / acgt, 3) if acgt else None,
            "n_pct": round(100.0 * self.bases["N"] / self.bases["total"], 3) if self.bases["total"] else None,
            "mean_base_quality": (round(float((self.qual_hist * phred).sum()) / total_q, 3) if total_q else None),
            "quality_per_cycle": per_cycle,
            "quality_histogram": {str(q - PHRED_OFFSET): int(n) for q, n in enumerate(self.qual_hist) if n},
        }


def fastq_metrics(stream: BinaryIO) -> dict[str, Any]:
    """Metrics of a FASTQ stream (see the module docstring for how each is computed)."""
    acc = _Accumulator()
    block: list[tuple[bytes, bytes]] = []
    for rec in iter_records(stream):
        block.append(rec)
        if len(block) >= BLOCK:
            acc.add_block(block)
            block = []
    if block:
        acc.add_block(block)
    return acc.result()
