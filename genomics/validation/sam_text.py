"""SAM text checking: :class:`SamChecker` (the header and record rules, fed one line at a time) and the
chunked reader that runs it over a stream with the compiled fast path (``_samscan``).

Plain, gzip and BGZF SAM come here through :func:`validate_sam_text`; BAM and CRAM come as the SAM text
``samtools view`` decodes (:mod:`genomics.validation.sam_binary`). Line/record numbers are 1-based.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterable
from typing import BinaryIO

from genomics.sources import ByteSource
from genomics.validation import _samscan
from genomics.validation import lines as line_limits
from genomics.validation.lines import LineTooLong
from genomics.validation.report import ValidationReport
from genomics.validation.sam_header import HeaderRules
from genomics.validation.sam_records import RE_RNAME, RecordRules

CHUNK_BYTES = 1 << 20


class SamError(RuntimeError):
    """Decoding a binary alignment file failed in a way that is not the file's fault."""


class SamChecker(HeaderRules, RecordRules):
    """Feed header lines and records one at a time; issues go into ``report``.

    ``binary`` means the text was decoded from BAM/CRAM: locations are record numbers, not lines.
    """

    # -- dispatch -------------------------------------------------------------------------------------
    def line(self, raw: bytes, lineno: int) -> None:
        """One physical line without its LF."""
        if raw.endswith(b"\r"):
            raw = raw[:-1]
            if not self._crlf_reported:
                self._crlf_reported = True
                self.report.warn(
                    "SAM_CRLF", "lines end with CR LF; convert to LF line endings", **self._hloc(lineno)
                )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.report.error("SAM_ENCODING", "the line is not valid UTF-8 text", **self._hloc(lineno))
            text = raw.decode("utf-8", "replace")
        if not text:
            self._blank_lines.append(lineno)  # an error unless only blank lines follow
            return
        if self._blank_lines:
            first = self._blank_lines[0]
            self.report.error(
                "SAM_BLANK_LINE",
                f"{len(self._blank_lines)} empty line(s) inside the file; remove them",
                **self._hloc(first),
            )
            self._blank_lines.clear()
        if text.startswith("@"):
            if self.in_records:
                if text.count("\t") >= 10:
                    # htslib reads it as a record whose QNAME starts with '@' (a FASTQ title kept as
                    # the read name): nonconforming, and checked as the record it is.
                    self.report.nonconforming(
                        "SAM_HEADER_AFTER_RECORDS",
                        f"record {self.records + 1}: a line starting with '@' after the alignment "
                        f"records; it is read as a record whose QNAME starts with '@' (header lines "
                        f"must come first, and QNAME may not start with '@')",
                        **self._rloc(lineno),
                    )
                    self.record(text, lineno)
                    return
                self.records += 1
                self._rerr(
                    "SAM_HEADER_AFTER_RECORDS",
                    "a line starting with '@' after the alignment records: header lines must come "
                    "first, and QNAME may not start with '@'",
                    lineno,
                )
                return
            self.header_line(text, lineno)
            return
        if not self.in_records:
            self.end_header()
        self.in_records = True
        self.record(text, lineno)

    def finish(self) -> None:
        self.end_header()
        if self._blank_lines:
            # samtools 1.16 stops at an empty line with a parse error, even at the very end: QC could
            # not read the file, so this rejects it (it was a warning before htslib's reading was checked).
            self.report.error(
                "SAM_TRAILING_BLANK",
                "empty line(s) at the end of the file: samtools stops there with a parse error; remove them",
                **self._hloc(self._blank_lines[0]),
            )
        self.report.stats["records"] = self.records
        self.report.stats["references"] = list(self.refs)
        # What the scatter/QC router may rely on: the header's SO is trusted only if the records obey it.
        self.report.stats["sort_order"] = self.sort_order or "unknown"
        self.report.stats["coordinate_sorted"] = self.sort_order == "coordinate" and not self._sort_reported
        if self.records == 0 and self.header_lines:
            self.report.warn("SAM_NO_RECORDS", "the file has a header but no alignment records")


# ----------------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------------


def check_sam_stream(
    stream: BinaryIO,
    report: ValidationReport,
    *,
    binary: bool = False,
    on_header_end: Callable[[SamChecker], None] | None = None,
) -> SamChecker:
    """Check SAM text read from ``stream`` in chunks: the same verdict, codes, messages and locations as
    :func:`check_sam_lines` over :func:`~genomics.validation.lines.bounded_lines`, but records without
    any issue are consumed by the compiled fast path (``_samscan``), so Python only sees the header and
    the lines that have something to report. Raises :class:`LineTooLong` as ``bounded_lines`` does."""
    limit = line_limits.MAX_LINE_BYTES
    checker = SamChecker(report, binary=binary)
    hook_done = False
    scanner: _samscan.Scanner | None = None
    lineno = 0

    def consume(buf: bytes, off: int, end: int) -> None:
        """Every line of ``buf[off:end]`` (complete lines, or the file's last line at its end)."""
        nonlocal hook_done, scanner, lineno
        while off < end:
            if scanner is not None and not checker._blank_lines:
                off, lineno, checker.records = scanner.scan(buf, off, end, lineno, checker.records, limit)
                if off >= end:
                    break
            nl = buf.find(b"\n", off, end)
            stop = nl if nl >= 0 else end
            lineno += 1
            if stop - off + (nl >= 0) > limit:
                raise LineTooLong(lineno, limit)
            raw = buf[off:stop]
            off = stop + 1
            if not hook_done and not raw.startswith(b"@"):
                hook_done = True
                if on_header_end is not None:
                    on_header_end(checker)
            if scanner is not None:
                checker._last_key, checker._sort_reported = scanner.last_key, scanner.sort_reported
            checker.line(raw, lineno)
            if scanner is not None:
                scanner.last_key, scanner.sort_reported = checker._last_key, checker._sort_reported
            elif checker.in_records:
                scanner = _fast_path(checker)

    # Chunks are scanned where they lie; only a line cut by a chunk boundary is copied (carry + head).
    carry = b""
    with line_limits.ReadAhead(stream, CHUNK_BYTES) as chunks:
        while chunk := chunks.read():
            start = 0
            if carry:
                nl = chunk.find(b"\n")
                if nl < 0:
                    carry += chunk
                    if len(carry) > limit:
                        raise LineTooLong(lineno + 1, limit)
                    continue
                consume(carry + chunk[: nl + 1], 0, len(carry) + nl + 1)
                start = nl + 1
            end = chunk.rfind(b"\n") + 1
            if end > start:
                consume(chunk, start, end)
            carry = chunk[max(end, start) :]
            if len(carry) > limit:
                raise LineTooLong(lineno + 1, limit)
        if carry:
            consume(carry, 0, len(carry))
    if not hook_done and on_header_end is not None:
        on_header_end(checker)
    checker.finish()
    return checker


def _fast_path(checker: SamChecker) -> _samscan.Scanner:
    """The compiled scanner for the records after ``checker``'s header (its references and sort state)."""
    scanner = _samscan.Scanner(
        [
            (name, tid, -1 if ref.length is None else ref.length, bool(RE_RNAME.fullmatch(name)))
            for (name, tid), ref in zip(checker.ref_order.items(), checker.refs.values(), strict=True)
        ],
        checker.sort_order == "coordinate",
    )
    scanner.last_key, scanner.sort_reported = checker._last_key, checker._sort_reported
    return scanner


def check_sam_lines(
    lines: Iterable[bytes],
    report: ValidationReport,
    *,
    binary: bool = False,
    on_header_end: Callable[[SamChecker], None] | None = None,
) -> SamChecker:
    """Run the checker over SAM lines; ``on_header_end`` sees the checker once the header is read."""
    checker = SamChecker(report, binary=binary)
    hook_done = False
    for lineno, raw in enumerate(lines, start=1):
        if not hook_done and not raw.startswith(b"@"):
            hook_done = True
            if on_header_end is not None:
                on_header_end(checker)
        checker.line(raw, lineno)
    if not hook_done and on_header_end is not None:
        on_header_end(checker)
    checker.finish()
    return checker


def validate_sam_text(source: ByteSource, report: ValidationReport, *, compression: str = "none") -> None:
    """Validate SAM text (plain, gzip or BGZF) as a stream."""
    with source.open() as raw:
        stream: BinaryIO = (
            io.BufferedReader(gzip.GzipFile(fileobj=raw), 1 << 20)  # type: ignore[assignment]
            if compression != "none"
            else raw
        )
        try:
            check_sam_stream(stream, report)
        except LineTooLong as e:
            report.error(
                "SAM_LINE_TOO_LONG",
                f"line {e.lineno} is longer than {e.limit // (1024 * 1024)} MiB: this is not SAM text; "
                f"validation stopped there",
                line=e.lineno,
            )
        except (gzip.BadGzipFile, EOFError, zlib.error) as e:
            report.error(
                "SAM_COMPRESSION", f"the compressed SAM is damaged or truncated: {e}; re-compress it"
            )
        except OSError as e:
            raise SamError(f"reading {source.name} failed: {e}") from e

