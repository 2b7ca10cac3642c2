"""FASTQ validation (plain, gzip, BGZF; single files and R1/R2 pairs), streamed record by record.

Records may be the usual 4 lines or multi-line (wrapped SEQ and QUAL, as in htslib's and Biopython's
test files): the sequence runs until the ``+`` line, and the quality lines are read until they hold as
many characters as the sequence, so quality lines that start with ``@`` or ``+`` are read correctly.

Checks: the ``@`` title line, SEQ characters, the ``+`` line (empty or repeating the title), QUAL
characters in ``!``..``~`` (Sanger/Illumina 1.8+; Solexa and Illumina 1.3+ offsets fall inside that
range), QUAL length equal to SEQ length, truncation at any point. With a mate file: both files have the
same number of records and the same read names once ``/1``/``/2`` suffixes and anything after the first
whitespace (CASAVA 1.8 comments) are removed.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from genomics.sources import ByteSource
from genomics.validation import _fastqscan
from genomics.validation import lines as line_limits
from genomics.validation.detect import detect
from genomics.validation.lines import LineTooLong
from genomics.validation.report import ValidationReport

CODES: dict[str, str] = {
    "FASTQ_HEADER": "A record does not start with an '@' title line.",
    "FASTQ_EMPTY_NAME": "A record's title line has no read name after '@'.",
    "FASTQ_SEQ_CHARS": "SEQ has characters other than letters, '.', '-' or '*' (e.g. spaces, tabs, digits).",
    "FASTQ_PLUS_LINE": "The separator line does not start with '+', or it repeats a different title.",
    "FASTQ_QUAL_CHARS": "QUAL has characters outside '!'..'~' (spaces, tabs, control characters).",
    "FASTQ_QUAL_LENGTH": "QUAL has a different length than SEQ.",
    "FASTQ_TRUNCATED": "The file ends in the middle of a record.",
    "FASTQ_BLANK_LINES": "Blank lines at the end of the file (warning).",
    "FASTQ_COMPRESSION": "The gzip/BGZF layer is damaged or truncated.",
    "FASTQ_NO_RECORDS": "The file holds no FASTQ records.",
    "FASTQ_PAIR_COUNT": "The R1 and R2 files hold different numbers of reads.",
    "FASTQ_PAIR_NAME": "Read N of R1 and read N of R2 have different names.",
    "FASTQ_MATE_FORMAT": "The mate (R2) file given with a FASTQ is not FASTQ.",
    "FASTQ_LINE_TOO_LONG": "A line longer than 64 MiB: not FASTQ text; validation stops there.",
    "FASTQ_CRLF": "Lines end with CR LF (Windows line endings) (warning).",
}


class FastqError(RuntimeError):
    """The stream could not be read (not a problem in the file's content)."""


@dataclass(frozen=True)
class FastqRecord:
    """One record: name is the title without '@'; ``line`` is the 1-based line of the title."""

    title: bytes
    seq_len: int
    line: int
    number: int

    @property
    def read_name(self) -> str:
        """The name used to pair R1 with R2: first word, without /1 or /2."""
        first = self.title.split(None, 1)[0] if self.title.strip() else b""
        return _SUFFIX.sub("", first.decode("utf-8", "replace"))


# The /1 and /2 suffixes of mates' read names.
_SUFFIX = re.compile(r"/[12]$")
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class FastqBatch:
    """Consecutive records the compiled fast path (``_fastqscan``) consumed: none has any issue.
    ``names`` are their pairing names (:attr:`FastqRecord.read_name`) when they were asked for."""

    count: int
    number: int  # of the first record
    line: int  # title line of the first record; record k's is line + 4k
    names: list[str] | None


class _Lines:
    """Physical lines without line endings, with their 1-based numbers and one line of look-ahead, read
    from 1 MiB chunks (read ahead by a thread) so that the compiled scanner can consume clean records
    straight from the buffer between the lines Python reads. Lines are bounded as by
    :func:`~genomics.validation.lines.bounded_lines` (same limit, same :class:`LineTooLong`)."""

    def __init__(self, stream: BinaryIO, report: ValidationReport, label: str) -> None:
        self._chunks = line_limits.ReadAhead(stream, CHUNK_BYTES)
        self._limit = line_limits.MAX_LINE_BYTES
        self._buf = b""
        self._off = 0
        self._eof = False
        self._raw_lines = 0  # lines taken from the buffer (bounded_lines' count)
        self._start = 0  # buffer offset of the last line taken
        self.lineno = 0
        self._peeked: bytes | None = None
        self._peek_start = 0
        self._report = report
        self._label = label
        self._crlf = False

    def close(self) -> None:
        self._chunks.close()

    def _read_raw(self) -> bytes | None:
        limit = self._limit
        while True:
            nl = self._buf.find(b"\n", self._off)
            if (nl >= 0 and nl + 1 - self._off > limit) or (nl < 0 and len(self._buf) - self._off > limit):
                raise LineTooLong(self._raw_lines + 1, limit)
            if nl >= 0 or (self._eof and self._off < len(self._buf)):
                stop = nl + 1 if nl >= 0 else len(self._buf)
                self._start = self._off
                line = self._buf[self._off : stop]
                self._off = stop
                self._raw_lines += 1
                return line
            if self._eof:
                return None
            chunk = self._chunks.read()
            if not chunk:
                self._eof = True
            else:
                self._buf = self._buf[self._off :] + chunk
                self._off = 0

    def _next_raw(self) -> bytes | None:
        raw = self._read_raw()
        if raw is None:
            return None
        self.lineno += 1
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
            if not self._crlf:
                self._crlf = True
                self._report.warn(
                    "FASTQ_CRLF", f"{self._label}lines end with CR LF; convert to LF", line=self.lineno
                )
        return raw

    def peek(self) -> bytes | None:
        if self._peeked is None:
            self._peeked = self._next_raw()
            if self._peeked is not None:
                self._peek_start = self._start
                self.lineno -= 1
        return self._peeked

    def next(self) -> bytes | None:
        if self._peeked is not None:
            line = self._peeked
            self._peeked = None
            self.lineno += 1
            return line
        return self._next_raw()

    def fast(self, names: bool) -> FastqBatch | None:
        """Let the compiled scanner consume the clean records that start here (a record boundary)."""
        if self._peeked is not None:  # give the looked-ahead line back: it starts the next record
            self._off = self._peek_start
            self._raw_lines -= 1
            self._peeked = None
        off, count, got = _fastqscan.scan(self._buf, self._off, self._eof, self._limit, names)
        if not count:
            return None
        batch = FastqBatch(count, 0, self.lineno + 1, got)
        self._off = off
        self._raw_lines += 4 * count
        self.lineno += 4 * count
        return batch


def iter_records(
    stream: BinaryIO, report: ValidationReport, label: str = "", *, names: bool = False
) -> Iterator[FastqRecord | FastqBatch]:
    """Parse and check records, yielding each one (also the broken ones, so counts stay aligned), or a
    :class:`FastqBatch` for a run of records without any issue (with their pairing names if ``names``)."""
    lines = _Lines(stream, report, label)
    try:
        yield from _records(lines, report, label, names)
    finally:
        lines.close()


def _records(lines: _Lines, report: ValidationReport, label: str, names: bool) -> Iterator[FastqRecord | FastqBatch]:
    return _RecordReader(lines, report, label).records(names)


RE_SEQ = re.compile(rb"[A-Za-z.*-]*")
RE_QUAL = re.compile(rb"[!-~]*")
# A record part's character rule: (code, pattern, what the message says is allowed).
_PART_RULES: dict[str, tuple[str, re.Pattern[bytes], str]] = {
    "SEQ": ("FASTQ_SEQ_CHARS", RE_SEQ, "only letters, '.', '-' and '*' are allowed"),
    "QUAL": ("FASTQ_QUAL_CHARS", RE_QUAL, "quality characters must be '!'..'~'"),
}


class _RecordReader:
    """Reads and checks the records of ``lines``: batches of clean records from the compiled scanner, the
    others part by part (title, sequence lines, '+' line, quality lines, then the start of the next
    record), one method per part. ``label`` prefixes every message (``"R1: "`` in a pair)."""

    def __init__(self, lines: _Lines, report: ValidationReport, label: str) -> None:
        self.lines = lines
        self.report = report
        self.label = label

    def records(self, names: bool) -> Iterator[FastqRecord | FastqBatch]:
        """Each record (also the broken ones, so counts stay aligned) or a batch of clean ones."""
        lines = self.lines
        number = 0
        while True:
            batch = lines.fast(names)
            if batch is not None:
                yield FastqBatch(batch.count, number + 1, batch.line, batch.names)
                number += batch.count
            title_line = lines.next()
            if title_line is None:
                return
            start = lines.lineno
            if title_line == b"" or title_line.isspace():
                if self._blank_lines(start, number):
                    return
                continue
            number += 1
            if not title_line.startswith(b"@"):
                self._bad_title(title_line, start, number)
                continue
            title = title_line[1:]
            if not title.strip():
                self.error("FASTQ_EMPTY_NAME", f"record {number}: the '@' line has no read name", start, number)
            seq_len, seq_lines, plus = self._sequence(title, number)
            record = FastqRecord(title, seq_len, start, number)
            if plus is None:
                yield record
                return
            self._plus_line(plus, title, seq_lines, number)
            if not self._quality(title, number, seq_len):
                yield record
                return
            self._next_title(title, number)
            yield record

    def error(self, code: str, message: str, line: int, number: int) -> None:
        """An error of the record ``number`` at ``line``, its message prefixed with the label."""
        self.report.error(code, self.label + message, line=line, record=number)

    def _blank_lines(self, start: int, number: int) -> bool:
        """Blank lines where a title should be: tolerated (a warning) only at the very end of the file.
        True when they end the file."""
        lines = self.lines
        while (nxt := lines.peek()) is not None and (nxt == b"" or nxt.isspace()):
            lines.next()
        if lines.peek() is None:
            self.report.warn(
                "FASTQ_BLANK_LINES", f"{self.label}blank lines at the end of the file; remove them", line=start
            )
            return True
        self.error("FASTQ_HEADER", "blank line where a record's '@' title line should be", start, number + 1)
        return False

    def _bad_title(self, title_line: bytes, start: int, number: int) -> None:
        self.error(
            "FASTQ_HEADER",
            f"record {number}: expected a title line starting with '@', got {_show(title_line)}",
            start,
            number,
        )
        self._resync()

    def _resync(self) -> None:
        """Skip to the next line starting with '@'."""
        while (nxt := self.lines.peek()) is not None and not nxt.startswith(b"@"):
            self.lines.next()

    def _chars_ok(self, ok: bool, line: bytes, part: str, title: bytes, number: int) -> bool:
        """Whether the record's ``part`` (SEQ or QUAL) is still clean after ``line``: its first bad
        character is reported (once per record and part)."""
        code, pattern, rule = _PART_RULES[part]
        if not ok or pattern.fullmatch(line):
            return ok
        bad = next(c for c in line if not pattern.fullmatch(bytes([c])))
        self.error(
            code,
            f"record {number} ({_name(title)}): {part} has the character {_char(bad)}; {rule}",
            self.lines.lineno,
            number,
        )
        return False

    def _sequence(self, title: bytes, number: int) -> tuple[int, int, bytes | None]:
        """The sequence lines up to the '+' line: (length, lines, the '+' line); the '+' line is None when
        the file ends first (reported)."""
        lines = self.lines
        seq_len = 0
        seq_ok = True
        seq_lines = 0
        while True:
            line = lines.next()
            if line is None:
                where = "before its sequence" if seq_lines == 0 else "before its '+' line"
                self.error(
                    "FASTQ_TRUNCATED",
                    f"record {number} ({_name(title)}): the file ends {where}; upload the complete file",
                    lines.lineno,
                    number,
                )
                return seq_len, seq_lines, None
            if line.startswith(b"+"):
                return seq_len, seq_lines, line
            seq_lines += 1
            seq_ok = self._chars_ok(seq_ok, line, "SEQ", title, number)
            seq_len += len(line)

    def _plus_line(self, plus: bytes, title: bytes, seq_lines: int, number: int) -> None:
        lineno = self.lines.lineno
        if len(plus) > 1 and plus[1:] != title:
            self.error(
                "FASTQ_PLUS_LINE",
                f"record {number}: the '+' line repeats {_name(plus[1:])!s} but the title is "
                f"{_name(title)}; leave it as '+' or repeat the title exactly",
                lineno,
                number,
            )
        if seq_lines == 0:
            self.error(
                "FASTQ_TRUNCATED", f"record {number} ({_name(title)}): no sequence line before '+'", lineno, number
            )

    def _quality(self, title: bytes, number: int, seq_len: int) -> bool:
        """Quality lines until they cover the sequence (at least one line, possibly empty). False when
        the file ends first (reported)."""
        lines = self.lines
        qual_len = 0
        qual_ok = True
        qual_lines = 0
        while qual_lines == 0 or qual_len < seq_len:
            line = lines.next()
            if line is None:
                self.error(
                    "FASTQ_TRUNCATED",
                    f"record {number} ({_name(title)}): the file ends inside the quality "
                    f"({qual_len} of {seq_len} characters); upload the complete file",
                    lines.lineno,
                    number,
                )
                return False
            qual_lines += 1
            qual_ok = self._chars_ok(qual_ok, line, "QUAL", title, number)
            qual_len += len(line)
        if qual_len != seq_len:
            self.error(
                "FASTQ_QUAL_LENGTH",
                f"record {number} ({_name(title)}): QUAL has {qual_len} characters but SEQ has {seq_len}",
                lines.lineno,
                number,
            )
        return True

    def _next_title(self, title: bytes, number: int) -> None:
        """The line after a record must start the next one (or be blank, or the end of the file)."""
        nxt = self.lines.peek()
        if nxt is not None and not nxt.startswith(b"@") and nxt.strip():
            self.error(
                "FASTQ_HEADER",
                f"after record {number} ({_name(title)}) the next record must start with an '@' "
                f"title line, got {_show(nxt)}; QUAL may be longer than SEQ or a line duplicated",
                self.lines.lineno + 1,
                number,
            )
            self._resync()


def _name(title: bytes) -> str:
    return title.split(None, 1)[0].decode("utf-8", "replace")[:60] if title.strip() else "''"


def _show(line: bytes) -> str:
    return repr(line[:40].decode("utf-8", "replace"))


def _char(c: int) -> str:
    return repr(chr(c)) + f" (byte {c})"


def _open(source: ByteSource, compression: str) -> tuple[BinaryIO, BinaryIO]:
    raw = source.open()
    if compression != "none":
        # A large buffer in front of GzipFile makes line iteration about twice as fast.
        return raw, io.BufferedReader(gzip.GzipFile(fileobj=raw), 1 << 20)  # type: ignore[return-value]
    return raw, raw


def validate_fastq(
    source: ByteSource,
    report: ValidationReport,
    *,
    compression: str,
    mate: ByteSource | None = None,
) -> None:
    """Validate a FASTQ file, or an R1/R2 pair when ``mate`` is given. Sets ``stats['reads']``."""
    if mate is None:
        raw, stream = _open(source, compression)
        reads = 0
        try:
            with raw, stream, contextlib.closing(iter_records(stream, report)) as records:
                for rec in records:
                    reads += rec.count if isinstance(rec, FastqBatch) else 1
        except (gzip.BadGzipFile, EOFError, zlib.error) as e:
            report.error(
                "FASTQ_COMPRESSION",
                f"the compressed FASTQ is damaged or truncated after {reads} reads: {e}; "
                f"re-compress or upload it again",
            )
        except LineTooLong as e:
            _too_long(report, e, "")
        except OSError as e:
            raise FastqError(f"reading {source.name} failed: {e}") from e
        _finish(report, reads)
        return
    _validate_pair(source, mate, report, compression)


def _too_long(report: ValidationReport, e: LineTooLong, label: str) -> None:
    report.error(
        "FASTQ_LINE_TOO_LONG",
        f"{label}line {e.lineno} is longer than {e.limit // (1024 * 1024)} MiB: this is not FASTQ "
        f"text; validation stopped there",
        line=e.lineno,
    )


def _finish(report: ValidationReport, reads: int) -> None:
    report.stats["reads"] = reads
    report.stats["records"] = reads
    if reads == 0 and not report.errors:
        report.error("FASTQ_NO_RECORDS", "the file holds no FASTQ records")


class _Pairing:
    """Read N of R1 against read N of R2, over both files' records and clean batches, in step; what
    ``zip_longest`` over single records did, with runs of names compared as lists."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        self.reads = [0, 0]
        self.mismatches = 0

    @staticmethod
    def _segment(item: FastqRecord | FastqBatch) -> tuple[list[str], int, int, int]:
        """(names, first record number, first title line, line step)."""
        if isinstance(item, FastqBatch):
            assert item.names is not None
            return item.names, item.number, item.line, 4
        return [item.read_name], item.number, item.line, 0

    def run(self, it1: Iterator[FastqRecord | FastqBatch], it2: Iterator[FastqRecord | FastqBatch]) -> None:
        its = (it1, it2)
        heads: list[tuple[list[str], int, int, int] | None] = [None, None]
        pos = [0, 0]
        done = [False, False]
        while True:
            for side in (0, 1):
                if heads[side] is None and not done[side]:
                    item = next(its[side], None)
                    if item is None:
                        done[side] = True
                    else:
                        heads[side] = self._segment(item)
                        pos[side] = 0
                        self.reads[side] += len(heads[side][0])  # type: ignore[index]
            h1, h2 = heads
            if h1 is None or h2 is None:
                break
            k = min(len(h1[0]) - pos[0], len(h2[0]) - pos[1])
            a, b = h1[0][pos[0] : pos[0] + k], h2[0][pos[1] : pos[1] + k]
            if a != b:
                for i, (n1, n2) in enumerate(zip(a, b, strict=True)):
                    if n1 != n2:
                        self._mismatch(h1[1] + pos[0] + i, h1[2] + h1[3] * (pos[0] + i), n1, n2)
            for side, h in ((0, h1), (1, h2)):
                pos[side] += k
                if pos[side] == len(h[0]):
                    heads[side] = None
        # The longer file's remaining records are only counted.
        for side in (0, 1):
            if not done[side]:
                for item in its[side]:
                    self.reads[side] += item.count if isinstance(item, FastqBatch) else 1

    def _mismatch(self, number: int, line: int, n1: str, n2: str) -> None:
        self.mismatches += 1
        self.report.error(
            "FASTQ_PAIR_NAME",
            f"read {number}: R1 is {n1!r} but R2 is {n2!r}; the files must list mates in the same order",
            line=line,
            record=number,
        )


def _validate_pair(source: ByteSource, mate: ByteSource, report: ValidationReport, compression: str) -> None:
    mate_detected, _ = detect(mate)
    if mate_detected.format != "fastq":
        report.error(
            "FASTQ_MATE_FORMAT",
            f"the mate file {mate.name} is {mate_detected.format.upper()}, not FASTQ; give the R2 FASTQ",
        )
        validate_fastq(source, report, compression=compression)
        return
    raw1, s1 = _open(source, compression)
    raw2, s2 = _open(mate, mate_detected.compression)
    pairing = _Pairing(report)
    try:
        with (
            raw1,
            s1,
            raw2,
            s2,
            contextlib.closing(iter_records(s1, report, "R1: ", names=True)) as it1,
            contextlib.closing(iter_records(s2, report, "R2: ", names=True)) as it2,
        ):
            pairing.run(it1, it2)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        report.error("FASTQ_COMPRESSION", f"a compressed FASTQ of the pair is damaged or truncated: {e}")
    except LineTooLong as e:
        _too_long(report, e, "R1 or R2: ")
    except OSError as e:
        raise FastqError(f"reading {source.name} or {mate.name} failed: {e}") from e
    reads, mismatches = pairing.reads, pairing.mismatches
    if reads[0] != reads[1]:
        report.error(
            "FASTQ_PAIR_COUNT",
            f"R1 has {reads[0]} reads but R2 ({mate.name}) has {reads[1]}; upload matching files",
        )
    report.stats["mate"] = mate.name
    report.stats["mate_reads"] = reads[1]
    report.stats["pair_name_mismatches"] = mismatches
    _finish(report, reads[0])
