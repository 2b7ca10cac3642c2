"""VCF (4.1-4.5) and BCF validation by content, streaming.

Python parses the header (meta-information lines and the ``#CHROM`` line); the data records are checked
in bulk by the compiled scanner ``genomics.validation._vcfscan`` (built by setup.py), which receives the
header's INFO/FORMAT/FILTER/contig tables. BCF is decoded to text by Debian's ``bcftools view`` (1.16),
fed through a pipe from ``source.open()``; its own decode errors are reported as ``VCF_BCF_DECODE``.

Positions reported are 1-based physical lines of the (decompressed) text and 1-based record numbers.
Memory does not grow with the file: the input is read in fixed-size chunks. The header rules are in
:mod:`~genomics.validation.vcf_header`; this module holds the codes, the reading and the entry point.
"""

from __future__ import annotations

import gzip
import io
import shutil
import zlib
from typing import BinaryIO

from genomics import tools
from genomics.sources import ByteSource
from genomics.validation import _vcfscan
from genomics.validation.report import ERROR, NONCONFORMING, WARNING, ValidationReport
from genomics.validation.vcf_header import HeaderChecker, check_columns, parse_structured, reserved_defaults

__all__ = ["CODES", "VcfInputError", "parse_bcftools_errors", "parse_structured", "validate_vcf"]

CHUNK = 1 << 20
# A line longer than this is reported and reading stops (keeps memory bounded on garbage input). Header
# lines get the same room as records: a cohort's #CHROM line holds every sample name (500,000 samples
# are several MiB).
MAX_RECORD_LINE = 64 << 20
MAX_HEADER_LINE = MAX_RECORD_LINE
# How much of bcftools' stderr a BCF decoding error quotes from (its last 64 KiB).
BCF_STDERR = 64 << 10

# ---------------------------------------------------------------------------------------------- codes
CODES: dict[str, str] = {
    # input layer
    "VCF_EMPTY": "The file has no content; upload a VCF starting with ##fileformat.",
    "VCF_DECOMPRESS": "The gzip/BGZF layer is damaged or truncated; re-compress the file with bgzip.",
    "VCF_NOT_TEXT": "The content is not UTF-8 text; a VCF is tab-separated text.",
    "VCF_BCF_DECODE": "bcftools could not decode the BCF; re-create it with bcftools view -Ob.",
    "VCF_TOOL_MISSING": "bcftools is not installed, so the BCF could not be decoded (platform problem).",
    # header
    "VCF_FILEFORMAT_MISSING": "The first line must be ##fileformat=VCFv4.x.",
    "VCF_FILEFORMAT_INVALID": "##fileformat must be VCFv4.1 ... VCFv4.5 with no spaces.",
    "VCF_FILEFORMAT_OLD": "VCF before 4.1 is validated against the 4.1 rules.",
    "VCF_META_INVALID": "A ## line is not key=value; write ##key=value or ##key=<ID=...,...>.",
    "VCF_META_STRUCTURE": "A structured ##key=<...> line is malformed (quotes, commas, brackets).",
    "VCF_META_REQUIRED_KEY": "A structured header line lacks a required key (e.g. ID, Number, Type, Description).",
    "VCF_META_KEY_ORDER": "INFO/FORMAT/META keys must start with ID, Number, Type (and Description) in order.",
    "VCF_META_NUMBER": "Number must be an integer, A, R, G or '.' (4.4+: also P, LA, LR, LG, M).",
    "VCF_META_TYPE": "Type must be Integer, Float, Flag, Character or String (FORMAT: no Flag).",
    "VCF_META_FLAG_NUMBER": "A Flag should have Number=0 and only a Flag Number=0 (warning).",
    "VCF_META_DESCRIPTION": "Description must be a double-quoted string.",
    "VCF_META_ID_INVALID": "A header ID contains characters its kind does not allow (whitespace, ',', '<', '>' ...).",
    "VCF_META_DUPLICATE_ID": "Two header lines of the same kind declare the same ID.",
    "VCF_META_RESERVED": "A reserved INFO/FORMAT key is declared with a Number/Type other than the spec's.",
    "VCF_META_RESERVED_LOOSE": "A reserved key is declared with Number=. or Integer for Float (compatible: a "
    "warning by default, an error in strict).",
    "VCF_META_VALUE": "A header value is empty or not valid for its key (e.g. a URL that is not a URL).",
    "VCF_META_AFTER_DATA": "A ## line appears after the #CHROM line.",
    "VCF_HEADER_LINE_INVALID": "A line in the header section starts neither with ## nor #CHROM.",
    "VCF_HEADER_MISSING": "There is no #CHROM header line before the data (or at all).",
    "VCF_HEADER_COLUMNS": "The #CHROM line must be #CHROM POS ID REF ALT QUAL FILTER INFO [FORMAT samples...].",
    "VCF_SAMPLE_NAME": "Sample names in the #CHROM line must be non-empty and unique.",
    "VCF_LINE_TOO_LONG": "A header or data line is longer than 64 MiB.",
    "VCF_NO_FINAL_NEWLINE": "The last line does not end with a newline; add one.",
    # records (checked by the compiled scanner)
    "VCF_COLUMN_COUNT": "A record's number of tab-separated columns differs from the #CHROM line's.",
    "VCF_EMPTY_LINE": "An empty line in the data section; remove it.",
    "VCF_CHROM_INVALID": "CHROM is empty or has characters not allowed in contig names.",
    "VCF_CONTIG_UNDECLARED": "CHROM is not among the ##contig lines, although contigs are declared.",
    "VCF_CONTIG_NOT_IN_HEADER": "CHROM has no ##contig line (no contigs are declared at all).",
    "VCF_CONTIG_NOT_CONTIGUOUS": "Records of one contig are split by another contig's records; sort the file.",
    "VCF_POS_INVALID": "POS is not a non-negative 32-bit integer.",
    "VCF_POS_BEYOND_CONTIG": "POS is past the end of its contig (length+1) as declared by ##contig; wrong reference?",
    "VCF_UNSORTED": "POS decreases within a contig; sort the file (bcftools sort).",
    "VCF_ID_INVALID": "ID has whitespace, an empty ';'-separated entry, or a repeated identifier.",
    "VCF_REF_INVALID": "REF must be one or more of A, C, G, T, N.",
    "VCF_ALT_INVALID": "An ALT allele is not bases, '*', a symbolic <ID> or a well-formed breakend.",
    "VCF_QUAL_INVALID": "QUAL must be '.' or a non-negative number.",
    "VCF_FILTER_INVALID": "FILTER must be PASS, '.', or ';'-separated filter names (no blanks, '.' or '0').",
    "VCF_FILTER_UNDECLARED": "A FILTER name has no ##FILTER line.",
    "VCF_INFO_INVALID": "INFO has whitespace or an empty ';'-separated entry.",
    "VCF_INFO_KEY_INVALID": "An INFO key does not match [A-Za-z_][0-9A-Za-z_.]*.",
    "VCF_INFO_DUPLICATE_KEY": "An INFO key appears twice in one record.",
    "VCF_INFO_UNDECLARED": "An INFO key has no ##INFO line.",
    "VCF_INFO_FLAG_VALUE": "An INFO Flag has a value; flags are written as the bare key.",
    "VCF_INFO_TYPE": "An INFO value does not match the key's declared Type.",
    "VCF_INFO_NUMBER": "An INFO key has a different number of values than its Number requires.",
    "VCF_INTEGER_RANGE": "An Integer value is outside [-2147483640, 2147483647] (the rest is reserved by BCF).",
    "VCF_VALUE_NEGATIVE": "A count, depth, frequency or quality (e.g. AC, AN, DP, AF, GQ) is negative.",
    "VCF_FORMAT_INVALID": "FORMAT has an empty, invalid or repeated key.",
    "VCF_FORMAT_UNDECLARED": "A FORMAT key has no ##FORMAT line.",
    "VCF_FORMAT_GT_NOT_FIRST": "GT, when present, must be the first FORMAT key.",
    "VCF_SAMPLE_TOO_MANY_FIELDS": "A sample column has more ':'-separated values than FORMAT has keys.",
    "VCF_GT_INVALID": "A GT value is not allele indexes or '.' joined by '/' or '|'.",
    "VCF_GT_ALLELE_RANGE": "A GT allele index is larger than the number of ALT alleles.",
    "VCF_SAMPLE_TYPE": "A sample value does not match the FORMAT key's declared Type.",
    "VCF_SAMPLE_NUMBER": "A sample value has a different number of values than the FORMAT key's Number requires.",
    "VCF_DUPLICATE_RECORD": "The same variant (after trimming shared bases) appears twice.",
    "VCF_CRLF": "Lines end with CR LF; VCF uses LF line endings.",
    "VCF_HEADER_IN_BODY": "A '#' line appears among the data records.",
    "VCF_INFO_NUMBER_SHORT": "An INFO key with Number=A/R/G has fewer values than the alleles require.",
    "VCF_INFO_FLAG_01": "An INFO Flag is written as KEY=0 or KEY=1; write the bare key (or leave it out).",
    "VCF_META_DUPLICATE_CONTIG": "Two ##contig lines declare the same ID.",
}


class VcfInputError(Exception):
    """The bytes could not be read as VCF text (compression, encoding, BCF decoding)."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        self.code = code
        self.line = line
        super().__init__(message)


# ---------------------------------------------------------------------------------------------- reading
def _decode(raw: bytes, line: int, report: ValidationReport) -> str:
    """A header line as text. htslib does not care about the encoding: a line that is not UTF-8 (e.g. a
    Latin-1 Description) is nonconforming and read as Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if line == 1 or b"\x00" in raw:  # not text at all
            raise VcfInputError("VCF_NOT_TEXT", f"header line is not UTF-8 text ({e.reason})", line) from e
        report.nonconforming("VCF_NOT_TEXT", f"header line is not UTF-8 text ({e.reason}); VCF is UTF-8", line=line)
        return raw.decode("latin-1")


def _wrap(raw: BinaryIO, compression: str) -> BinaryIO:
    if compression in ("gzip", "bgzf"):
        return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=CHUNK)  # type: ignore[arg-type]
    return raw


def _decompress_errors() -> tuple[type[BaseException], ...]:
    """What a damaged gzip/BGZF layer raises (other I/O errors propagate: they are not content)."""
    return (EOFError, zlib.error, gzip.BadGzipFile)


def _scan_text(stream: BinaryIO, report: ValidationReport) -> None:
    """Validate decompressed VCF text read from ``stream`` (header in Python, records in C)."""
    hc = HeaderChecker(report)
    h = hc.h
    line_no = 0
    first = stream.readline(MAX_HEADER_LINE)
    if not first:
        report.error("VCF_EMPTY", "the file is empty", line=None)
        return
    pending: bytes = b""
    header_done = False
    raw = first
    while raw:
        line_no += 1
        if not raw.endswith(b"\n"):
            if len(raw) >= MAX_HEADER_LINE:
                report.error(
                    "VCF_LINE_TOO_LONG", f"header line longer than {MAX_HEADER_LINE >> 20} MiB", line=line_no
                )
                return
            (report.warn if hc.version_tuple >= (4, 4) else report.nonconforming)(
                "VCF_NO_FINAL_NEWLINE", "the last line does not end with a newline", line=line_no
            )
        text = _decode(raw.rstrip(b"\n").rstrip(b"\r"), line_no, report)
        if line_no == 1:
            if not text.startswith("##fileformat="):
                report.error("VCF_FILEFORMAT_MISSING", "the first line must be ##fileformat=VCFv4.x", line=1)
                if not text.startswith("#"):
                    return
            else:
                hc.fileformat(text, 1)
                raw = stream.readline(MAX_HEADER_LINE)
                continue
        if text.startswith("##"):
            hc.meta(text, line_no)
        elif text.startswith("#CHROM"):
            check_columns(text, line_no, report, h)
            header_done = True
            break
        else:
            report.error(
                "VCF_HEADER_LINE_INVALID",
                f"line '{text[:40]}' in the header section starts neither with ## nor #CHROM",
                line=line_no,
            )
            if text.count("\t") >= 7 and not text.startswith("#"):
                report.error("VCF_HEADER_MISSING", "data record before the #CHROM header line", line=line_no)
                pending = raw
                break
        raw = stream.readline(MAX_HEADER_LINE)
    if not header_done and not pending:
        report.error("VCF_HEADER_MISSING", "no #CHROM header line", line=line_no or None)
    report.stats["fileformat"] = h.version
    report.stats["samples"] = len(h.samples)
    reserved_defaults(h)
    first_record_line = line_no if pending else line_no + 1
    lenient = hc.version_tuple >= (4, 4)
    scanner = _vcfscan.Scanner(
        h.info,
        h.format,
        h.filters,
        h.contigs,
        h.n_columns,
        first_record_line,
        report.max_per_code,
        lenient,
        minor=hc.version_tuple[1],
    )
    try:
        _scan_records(stream, scanner, pending, report, lenient)
    finally:
        report.stats["records"] = scanner.records
        report.stats["contigs"] = list(scanner.contigs)


# The scanner's tiers: E error, S nonconforming (an error only under strict), W warning.
_TIERS = {"E": ERROR, "S": NONCONFORMING, "W": WARNING}


def _emit(report: ValidationReport, issues: list[tuple[str, str, str, int, int]]) -> None:
    for sev, code, message, line, record in issues:
        if sev == "E":
            report.error(code, message, line=line, record=record)
        elif sev == "S":
            report.nonconforming(code, message, line=line, record=record)
        else:
            report.warn(code, message, line=line, record=record)


def _scan_records(
    stream: BinaryIO, scanner: _vcfscan.Scanner, carry: bytes, report: ValidationReport, lenient: bool
) -> None:
    buf = carry
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        buf = buf + chunk if buf else chunk
        cut = buf.rfind(b"\n")
        if cut < 0:
            if len(buf) > MAX_RECORD_LINE:
                report.error(
                    "VCF_LINE_TOO_LONG",
                    f"data line longer than {MAX_RECORD_LINE >> 20} MiB; reading stopped",
                    line=scanner.line + 1,
                )
                return
            continue
        _emit(report, scanner.feed(memoryview(buf)[: cut + 1]))
        buf = buf[cut + 1 :]
    if buf:
        _emit(report, scanner.feed(buf, True))
        # VCF up to 4.3 requires the final newline (hts-specs tests); 4.4+ files omit it in the wild.
        (report.warn if lenient else report.nonconforming)(
            "VCF_NO_FINAL_NEWLINE", "the last line does not end with a newline", line=scanner.line
        )
    # Count the occurrences the scanner did not materialise, so the report's counts stay exact.
    for code, sev, total in scanner.counts():
        tier = _TIERS[sev]
        report.count_unlisted(code, tier, total - report.listed(code, tier))


# ---------------------------------------------------------------------------------------------- BCF
def parse_bcftools_errors(stderr: str) -> list[str]:
    """The error lines of bcftools' stderr (``[E::...]`` and plain failures); warnings are dropped."""
    out = []
    for ln in stderr.splitlines():
        s = ln.strip()
        if not s or s.startswith("[W::"):
            continue
        out.append(s)
    return out


def _validate_bcf(source: ByteSource, report: ValidationReport) -> None:
    exe = shutil.which("bcftools")
    if exe is None:
        report.error("VCF_TOOL_MISSING", "bcftools is not installed; cannot decode BCF")
        return
    # A source error (e.g. S3) is re-raised: an I/O problem, not a property of the content.
    with source.open() as raw:
        bcftools = tools.Pipeline(
            [[exe, "view", "--no-version", "-"]], source=raw, capture=True, bufsize=CHUNK, stderr_limit=BCF_STDERR
        )
        try:
            with bcftools as p:
                assert p.stdout is not None
                if p.stdout.peek(1):  # type: ignore[attr-defined]  # nothing: bcftools failed; its stderr says why
                    _scan_text(p.stdout, report)  # type: ignore[arg-type]
                # The scanner stops early only on a fatal header problem; then bcftools need not go on
                # (the pipeline stops it and ignores its exit status).
        except tools.PipelineError as e:
            lines = parse_bcftools_errors(e.stderr) or [f"exit status {e.returncode}"]
            report.error("VCF_BCF_DECODE", "bcftools view could not decode the BCF: " + " | ".join(lines[:3]))


# ---------------------------------------------------------------------------------------------- entry
def validate_vcf(source: ByteSource, report: ValidationReport, *, compression: str, is_bcf: bool = False) -> None:
    """Validate a VCF (plain, gzip or BGZF) or a BCF read from ``source``; fill ``report``."""
    report.stats.setdefault("records", 0)
    report.stats.setdefault("samples", 0)
    report.stats.setdefault("contigs", [])
    report.stats.setdefault("fileformat", "")
    try:
        if is_bcf:
            _validate_bcf(source, report)
            return
        with source.open() as raw:
            _scan_text(_wrap(raw, compression), report)
    except VcfInputError as e:
        report.error(e.code, str(e), line=e.line)
    except _decompress_errors() as e:
        report.error("VCF_DECOMPRESS", f"could not read the {compression} stream: {e}")
