"""SAM, BAM and CRAM validation.

* SAM text is read as a stream (plain, gzip or BGZF) and checked line by line against the SAM v1.6
  specification: header records (@HD/@SQ/@RG/@PG/@CO), the 11 mandatory fields and the optional tags,
  plus record checks in the spirit of Picard's ValidateSamFile (CIGAR length vs SEQ, QUAL length,
  mate fields, unmapped reads' fields, sort order). Rules the specification words as "should", or
  that are logically odd but permitted, are warnings; everything a reader must reject is an error.
* BAM and CRAM are decoded by Debian's ``samtools view -h`` (1.16, the version the image ships): the
  stored bytes are streamed into its stdin through a pipe and its SAM output goes through the same
  checks. Integrity at ``samtools quickcheck`` level is checked on the stream itself: the BGZF EOF
  block of a BAM (last 28 bytes) and the EOF container of a CRAM (last 38 bytes for CRAM 3, 30 for 2.1).
* A CRAM's reference FASTA comes from ``reference=``; the MD5 of each of its sequences is compared with
  the @SQ M5 tags before decoding is trusted.

Coordinates: POS/PNEXT are 1-based in the text; they are converted to 0-based half-open only for the
reference-span arithmetic (``_ref_end``). User-facing line/record numbers are 1-based.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import functools
import gzip
import io
import os
import re
import subprocess
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO, cast

from genomics import tools
from genomics.sources import ByteSource
from genomics.validation import _samscan
from genomics.validation import lines as line_limits
from genomics.validation.lines import LineTooLong
from genomics.validation.report import ValidationReport

CODES: dict[str, str] = {
    # Header
    "SAM_HEADER_SYNTAX": "A header line is not '@XY' followed by tab-separated TAG:VALUE fields.",
    "SAM_HEADER_TYPE": "Unknown header record type (allowed: @HD, @SQ, @RG, @PG, @CO).",
    "SAM_HEADER_DUPLICATE_TAG": "The same tag appears twice in one header line.",
    "SAM_HEADER_AFTER_RECORDS": (
        "A line starting with '@' after the first alignment record (nonconforming: a warning by default when "
        "it has the 11 fields of a record, as htslib reads it; an error otherwise)."
    ),
    "SAM_HD_NOT_FIRST": "The @HD line is not the first line of the file.",
    "SAM_HD_DUPLICATE": "More than one @HD line.",
    "SAM_HD_VERSION": "@HD VN is missing or is not MAJOR.MINOR.",
    "SAM_HD_SORT_ORDER": "@HD SO is not one of unknown, unsorted, queryname, coordinate.",
    "SAM_HD_GROUP_ORDER": "@HD GO is not one of none, query, reference.",
    "SAM_HD_SUBSORT": "@HD SS is not (coordinate|queryname|unsorted)(:[A-Za-z0-9_-]+)+.",
    "SAM_SQ_MISSING_TAG": "An @SQ line lacks its SN (name) or LN (length).",
    "SAM_SQ_NAME_INVALID": (
        "An @SQ SN reference name has characters the specification forbids (nonconforming: a warning by default)."
    ),
    "SAM_SQ_DUPLICATE": "Two @SQ lines (names or AN alternative names) give the same reference name.",
    "SAM_SQ_LENGTH": "@SQ LN is not an integer in 1..2^31-1.",
    "SAM_SQ_MD5": "@SQ M5 is not 32 lower-case hexadecimal digits.",
    "SAM_SQ_TOPOLOGY": "@SQ TP is not linear or circular.",
    "SAM_SQ_ALT": "@SQ AH or AN is malformed.",
    "SAM_RG_MISSING_ID": "An @RG line has no ID.",
    "SAM_RG_DUPLICATE": "Two @RG lines have the same ID.",
    "SAM_RG_DATE": "@RG DT is not an ISO 8601 date or date-time.",
    "SAM_RG_PLATFORM": "@RG PL is not a platform the specification lists (ILLUMINA, ONT, PACBIO, ...).",
    "SAM_RG_INSERT_SIZE": "@RG PI (predicted insert size) is not an integer.",
    "SAM_RG_FLOW_ORDER": "@RG FO is not '*' or a string of IUPAC bases.",
    "SAM_PG_MISSING_ID": "A @PG line has no ID.",
    "SAM_PG_DUPLICATE": "Two @PG lines have the same ID.",
    "SAM_PG_CHAIN": "@PG PP names a program ID that no @PG line defines.",
    # Records
    "SAM_BLANK_LINE": "An empty line before other lines (at the very end: SAM_TRAILING_BLANK).",
    "SAM_TRAILING_BLANK": "Empty lines at the end of the file (htslib stops there with a parse error).",
    "SAM_FIELD_COUNT": "An alignment line has fewer than the 11 mandatory tab-separated fields.",
    "SAM_QNAME_INVALID": (
        "QNAME is empty, over 254 characters, or has '@' or non-printable characters ('@' alone is nonconforming: "
        "a warning by default)."
    ),
    "SAM_FLAG_INVALID": "FLAG is not an integer in 0..4095.",
    "SAM_RNAME_INVALID": (
        "RNAME is not '*' or a valid reference name (nonconforming, a warning by default, when an @SQ line "
        "defines that name)."
    ),
    "SAM_RNAME_UNKNOWN": "RNAME names a reference that no @SQ line defines.",
    "SAM_POS_INVALID": "POS is not an integer in 0..2^31-1.",
    "SAM_MAPQ_INVALID": "MAPQ is not an integer in 0..255.",
    "SAM_CIGAR_INVALID": "CIGAR is not '*' or a list of <length><op> with op in MIDNSHP=X.",
    "SAM_CIGAR_CLIP_POSITION": "H is not at the ends of the CIGAR, or S is not at the ends (inside any H).",
    "SAM_CIGAR_SEQ_LENGTH": "The CIGAR's query length (M/I/S/=/X) differs from the length of SEQ.",
    "SAM_RNEXT_INVALID": (
        "RNEXT is not '*', '=' or a valid reference name (nonconforming, a warning by default, when an @SQ "
        "line defines that name)."
    ),
    "SAM_RNEXT_UNKNOWN": "RNEXT names a reference that no @SQ line defines.",
    "SAM_PNEXT_INVALID": "PNEXT is not an integer in 0..2^31-1.",
    "SAM_TLEN_INVALID": "TLEN is not an integer in -(2^31-1)..2^31-1.",
    "SAM_SEQ_INVALID": "SEQ is not '*' or letters, '=' and '.'.",
    "SAM_QUAL_INVALID": "QUAL has characters outside '!'..'~' or is empty.",
    "SAM_QUAL_LENGTH": "QUAL is not '*' and its length differs from SEQ (or SEQ is '*').",
    "SAM_TAG_INVALID": "An optional field is not TAG:TYPE:VALUE (TAG [A-Za-z][A-Za-z0-9], TYPE in AifZHB).",
    "SAM_TAG_VALUE": "An optional field's value does not match its type (range, syntax).",
    "SAM_TAG_DUPLICATE": "The same tag appears twice in one alignment record.",
    "SAM_SORT_ORDER_VIOLATED": (
        "Records are out of order for the header's SO:coordinate (nonconforming: a warning by default; the file "
        "is then treated as unsorted, stats coordinate_sorted=false)."
    ),
    "SAM_CRLF": "Lines end with CR LF (Windows line endings); tools expect LF.",
    "SAM_ENCODING": "A line is not valid UTF-8 text.",
    "SAM_LINE_TOO_LONG": "A line longer than 64 MiB: not SAM text; validation stops there.",
    # Picard-style consistency warnings
    "SAM_UNMAPPED_FIELDS": "An unmapped read (flag 0x4) has a CIGAR or non-zero MAPQ (warning).",
    "SAM_MAPPED_FIELDS": "A mapped read lacks RNAME, POS or CIGAR (warning).",
    "SAM_FLAG_INCONSISTENT": "Pair flags (0x2, 0x8, 0x20, 0x40, 0x80) set without 0x1 (warning).",
    "SAM_MATE_FIELDS": "RNEXT/PNEXT/TLEN are inconsistent for the flags (warning).",
    "SAM_ALIGNMENT_PAST_END": "An alignment starts or ends past the @SQ LN of its reference (warning).",
    "SAM_SEQ_NONSTANDARD": "SEQ has letters other than the upper-case IUPAC codes (warning).",
    "SAM_NO_SQ_HEADER": "Records name references but the header has no @SQ lines (warning).",
    "SAM_NO_RECORDS": "The file has a header but no alignment records (warning).",
    # Binary containers
    "BAM_EOF_MISSING": "The BAM does not end with the 28-byte BGZF EOF block: it is truncated.",
    "BAM_DECODE": "samtools could not decode the BAM (corrupt header or data).",
    "BAM_NOT_BGZF": "The BAM is not BGZF-compressed.",
    "CRAM_EOF_MISSING": (
        "The CRAM does not end with the EOF container (nonconforming: a warning by default, as htslib reads it; "
        "a CRAM cut inside a container fails with CRAM_DECODE)."
    ),
    "CRAM_DECODE": "samtools could not decode the CRAM.",
    "CRAM_REFERENCE_MISSING": "The CRAM needs its reference FASTA to decode and none was given.",
    "CRAM_REFERENCE_NOT_FOUND": "The reference FASTA given for the CRAM does not exist or cannot be read.",
    "CRAM_REFERENCE_MISMATCH": "The reference FASTA does not match the CRAM's @SQ lines (M5, length, names).",
    "SAM_COMPRESSION": "The gzip/BGZF layer of a compressed SAM is damaged or truncated.",
}

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
CRAM3_EOF = bytes.fromhex("0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b")
CRAM21_EOF = bytes.fromhex("0b000000ffffffffffe0454f460000000001000001000606010001000100")

MAX_POS = 2**31 - 1
_RNAME = r"[0-9A-Za-z!#$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*"
RE_RNAME = re.compile(_RNAME)
RE_QNAME = re.compile(r"[!-?A-~]{1,254}")
RE_QNAME_HTSLIB = re.compile(r"[!-~]{1,254}")  # what htslib reads: '@' allowed
# All 11 mandatory fields' syntax at once (numbers limited to 10 digits), then the raw optional fields.
RE_FAST_RECORD = re.compile(
    rf"([!-?A-~]{{1,254}})\t([0-9]{{1,10}})\t(\*|{_RNAME})\t([0-9]{{1,10}})\t([0-9]{{1,10}})\t"
    rf"(\*|(?:[0-9]{{1,10}}[MIDNSHP=X])+)\t(\*|=|{_RNAME})\t([0-9]{{1,10}})\t([-+]?[0-9]{{1,10}})\t"
    rf"(\*|[A-Za-z=.]+)\t([!-~]+)((?:\t[^\t]*)*)"
)
RE_INT = re.compile(r"[0-9]+")
RE_SINT = re.compile(r"[-+]?[0-9]+")
RE_CIGAR = re.compile(r"(?:[0-9]+[MIDNSHP=X])+")
RE_CIGAR_OP = re.compile(r"([0-9]+)([MIDNSHP=X])")
RE_SEQ = re.compile(r"[A-Za-z=.]+")
RE_SEQ_STD = re.compile(r"[ACGTURYSWKMBDHVN=.]+")
RE_QUAL = re.compile(r"[!-~]+")
RE_TAG = re.compile(r"([A-Za-z][A-Za-z0-9]):([AifZHB]):(.*)", re.DOTALL)
RE_FLOAT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
RE_HEX = re.compile(r"(?:[0-9A-F]{2})*")
RE_ZSTR = re.compile(r"[ !-~]*")
RE_HTAG = re.compile(r"([A-Za-z][A-Za-z0-9]):(.+)", re.DOTALL)
RE_VN = re.compile(r"[0-9]+\.[0-9]+")
RE_SS = re.compile(r"(?:coordinate|queryname|unsorted)(?::[A-Za-z0-9_-]+)+")
RE_M5 = re.compile(r"[0-9a-f]{32}")
RE_ALTNAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z*+.@_|-]*")
RE_AH = re.compile(rf"\*|{_RNAME}(?::[0-9]+-[0-9]+)?")
RE_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(.*)", re.DOTALL)
RE_TIME = re.compile(r"[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?")
RE_FO = re.compile(r"\*|[ACMGRSVTWYHKDBN]+")
RE_CTRL = re.compile(r"[\x00-\x1f\x7f]")

PLATFORMS = {
    "CAPILLARY", "DNBSEQ", "ELEMENT", "HELICOS", "ILLUMINA", "IONTORRENT",
    "LS454", "ONT", "PACBIO", "SINGULAR", "SOLID", "ULTIMA",
}  # fmt: skip
B_RANGES = {
    "c": (-(2**7), 2**7 - 1),
    "C": (0, 2**8 - 1),
    "s": (-(2**15), 2**15 - 1),
    "S": (0, 2**16 - 1),
    "i": (-(2**31), 2**31 - 1),
    "I": (0, 2**32 - 1),
}
FLT_OVERFLOW = 3.4028235677973366e38  # values at or above this round to infinity in float32
FLT_UNDERFLOW = 2.0**-150  # non-zero values below this round to zero in float32


class SamError(RuntimeError):
    """Decoding a binary alignment file failed in a way that is not the file's fault."""


class ReferenceFastaError(RuntimeError):
    """The reference FASTA cannot be read."""


# ----------------------------------------------------------------------------------------------------
# Optional fields
# ----------------------------------------------------------------------------------------------------


def _float_ok(text: str) -> bool:
    if not RE_FLOAT.fullmatch(text):
        return False
    v = abs(float(text))
    return v < FLT_OVERFLOW and (v == 0 or v >= FLT_UNDERFLOW)


def check_tag_value(typ: str, value: str) -> str | None:
    """``None`` when ``value`` is a valid SAM text value of ``typ``, else what is wrong."""
    if typ == "A":
        if len(value) != 1 or not ("!" <= value <= "~"):
            return "type A needs exactly one printable character"
    elif typ == "i":
        if not RE_SINT.fullmatch(value):
            return f"type i needs an integer, got {value!r}"
        n = safe_int(value)
        if not -(2**31) <= n <= 2**32 - 1:
            return f"integer {value} is outside -2^31..2^32-1"
    elif typ == "f":
        if not _float_ok(value):
            return f"type f needs a finite single-precision number, got {value!r}"
    elif typ == "Z":
        if not RE_ZSTR.fullmatch(value):
            return "type Z allows only printable ASCII characters and spaces"
    elif typ == "H":
        if not RE_HEX.fullmatch(value):
            return "type H needs an even number of upper-case hexadecimal digits"
    elif typ == "B":
        parts = value.split(",")
        sub = parts[0]
        if sub == "f":
            for p in parts[1:]:
                if not _float_ok(p):
                    return f"B:f array element {p!r} is not a finite single-precision number"
        elif sub in B_RANGES:
            lo, hi = B_RANGES[sub]
            for p in parts[1:]:
                if not RE_SINT.fullmatch(p):
                    return f"B:{sub} array element {p!r} is not an integer"
                if not lo <= safe_int(p) <= hi:
                    return f"B:{sub} array element {p} is outside {lo}..{hi}"
        else:
            return f"B array subtype {sub!r} is not one of cCsSiIf"
    return None


# ----------------------------------------------------------------------------------------------------
# The streaming checker
# ----------------------------------------------------------------------------------------------------


@dataclass
class _Ref:
    name: str
    length: int | None
    md5: str | None


@dataclass
class SamChecker:
    """Feed header lines and records one at a time; issues go into ``report``.

    ``binary`` means the text was decoded from BAM/CRAM: locations are record numbers, not lines.
    """

    report: ValidationReport
    binary: bool = False
    refs: dict[str, _Ref] = field(default_factory=dict)
    ref_order: dict[str, int] = field(default_factory=dict)
    alt_names: set[str] = field(default_factory=set)
    rg_ids: set[str] = field(default_factory=set)
    pg_ids: set[str] = field(default_factory=set)
    pg_parents: list[tuple[str, int]] = field(default_factory=list)
    header_lines: int = 0
    seen_hd: bool = False
    sort_order: str | None = None
    records: int = 0
    in_records: bool = False
    header_done: bool = False
    _last_key: tuple[int, int] | None = None
    _sort_reported: bool = False
    _crlf_reported: bool = False
    _no_sq_reported: bool = False
    _blank_lines: list[int] = field(default_factory=list)

    # -- locations ------------------------------------------------------------------------------------
    def _hloc(self, lineno: int) -> dict[str, int | None]:
        return {"line": None if self.binary else lineno}

    def _rloc(self, lineno: int) -> dict[str, int | None]:
        return {"line": None if self.binary else lineno, "record": self.records}

    def _herr(self, code: str, msg: str, lineno: int) -> None:
        where = f"header line {lineno}: " if self.binary else ""
        self.report.error(code, where + msg, **self._hloc(lineno))

    def _hnc(self, code: str, msg: str, lineno: int) -> None:
        where = f"header line {lineno}: " if self.binary else ""
        self.report.nonconforming(code, where + msg, **self._hloc(lineno))

    def _rerr(self, code: str, msg: str, lineno: int, qname: str = "") -> None:
        who = f"record {self.records} ({qname[:60]}): " if qname else f"record {self.records}: "
        self.report.error(code, who + msg, **self._rloc(lineno))

    def _rnc(self, code: str, msg: str, lineno: int, qname: str = "") -> None:
        """A record deviates from the specification in a way htslib reads and processing carries through
        (an error only under the strict profiles)."""
        who = f"record {self.records} ({qname[:60]}): " if qname else f"record {self.records}: "
        self.report.nonconforming(code, who + msg, **self._rloc(lineno))

    def _rwarn(self, code: str, msg: str, lineno: int, qname: str = "") -> None:
        who = f"record {self.records} ({qname[:60]}): " if qname else f"record {self.records}: "
        self.report.warn(code, who + msg, **self._rloc(lineno))

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

    # -- header ---------------------------------------------------------------------------------------
    def header_line(self, text: str, lineno: int) -> None:
        self.header_lines += 1
        rtype = text[1:3]
        if text.startswith("@CO"):
            if text != "@CO" and not text.startswith("@CO\t"):
                self._herr("SAM_HEADER_SYNTAX", "@CO must be followed by a tab and the comment", lineno)
            return
        if rtype not in ("HD", "SQ", "RG", "PG"):
            self._herr(
                "SAM_HEADER_TYPE",
                f"unknown header record type {text[:3]!r}; use @HD, @SQ, @RG, @PG or @CO",
                lineno,
            )
            return
        if len(text) < 4 or text[3] != "\t":
            self._herr(
                "SAM_HEADER_SYNTAX", f"@{rtype} must be followed by tab-separated TAG:VALUE fields", lineno
            )
            return
        tags: dict[str, str] = {}
        for part in text[4:].split("\t"):
            m = RE_HTAG.fullmatch(part)
            if not m or RE_CTRL.search(part):
                self._herr(
                    "SAM_HEADER_SYNTAX",
                    f"@{rtype} field {part[:40]!r} is not TAG:VALUE (two-character tag, non-empty "
                    f"printable value)",
                    lineno,
                )
                continue
            tag, value = m.group(1), m.group(2)
            if tag in tags:
                self._herr("SAM_HEADER_DUPLICATE_TAG", f"@{rtype} has tag {tag} twice; keep one", lineno)
                continue
            tags[tag] = value
        getattr(self, f"_h_{rtype.lower()}")(tags, lineno)

    def _h_hd(self, tags: dict[str, str], lineno: int) -> None:
        if self.seen_hd:
            self._herr("SAM_HD_DUPLICATE", "a second @HD line; keep only the first", lineno)
            return
        self.seen_hd = True
        if self.header_lines != 1:
            self._herr("SAM_HD_NOT_FIRST", "@HD must be the first line of the header", lineno)
        vn = tags.get("VN")
        if vn is None or not RE_VN.fullmatch(vn):
            self._herr("SAM_HD_VERSION", f"@HD VN must be MAJOR.MINOR such as 1.6, got {vn!r}", lineno)
        so = tags.get("SO")
        if so is not None:
            if so not in ("unknown", "unsorted", "queryname", "coordinate"):
                self._herr(
                    "SAM_HD_SORT_ORDER",
                    f"@HD SO:{so} is not unknown, unsorted, queryname or coordinate",
                    lineno,
                )
            else:
                self.sort_order = so
        go = tags.get("GO")
        if go is not None and go not in ("none", "query", "reference"):
            self._herr("SAM_HD_GROUP_ORDER", f"@HD GO:{go} is not none, query or reference", lineno)
        ss = tags.get("SS")
        if ss is not None and not RE_SS.fullmatch(ss):
            self._herr(
                "SAM_HD_SUBSORT",
                f"@HD SS:{ss} must be coordinate|queryname|unsorted followed by :label parts "
                f"of [A-Za-z0-9_-]",
                lineno,
            )

    def _h_sq(self, tags: dict[str, str], lineno: int) -> None:
        sn, ln = tags.get("SN"), tags.get("LN")
        if sn is None or ln is None:
            missing = " and ".join(t for t in ("SN", "LN") if tags.get(t) is None)
            self._herr("SAM_SQ_MISSING_TAG", f"@SQ line lacks {missing}", lineno)
        length: int | None = None
        if ln is not None:
            if RE_INT.fullmatch(ln) and 1 <= safe_int(ln) <= MAX_POS:
                length = safe_int(ln)
            else:
                self._herr("SAM_SQ_LENGTH", f"@SQ LN:{ln} must be an integer in 1..2147483647", lineno)
        m5 = tags.get("M5")
        if m5 is not None and not RE_M5.fullmatch(m5):
            self._herr("SAM_SQ_MD5", f"@SQ M5:{m5} must be 32 lower-case hexadecimal digits", lineno)
            m5 = None
        tp = tags.get("TP")
        if tp is not None and tp not in ("linear", "circular"):
            self._herr("SAM_SQ_TOPOLOGY", f"@SQ TP:{tp} must be linear or circular", lineno)
        ah = tags.get("AH")
        if ah is not None and not RE_AH.fullmatch(ah):
            self._herr(
                "SAM_SQ_ALT", f"@SQ AH:{ah} must be '*' or a reference name with optional :start-end", lineno
            )
        if sn is not None:
            if not RE_RNAME.fullmatch(sn):
                self._hnc(
                    "SAM_SQ_NAME_INVALID",
                    f"@SQ SN:{sn} is not a valid reference name (no spaces, \\ , \" ' ` ( ) [ ] {{ }} "
                    f"< >; may not start with * or =)",
                    lineno,
                )
            if sn in self.refs or sn in self.alt_names:
                self._herr("SAM_SQ_DUPLICATE", f"reference name {sn} is defined twice", lineno)
            else:
                self.ref_order[sn] = len(self.ref_order)
                self.refs[sn] = _Ref(sn, length, m5)
        an = tags.get("AN")
        if an is not None:
            for alt in an.split(","):
                if not RE_ALTNAME.fullmatch(alt):
                    self._herr("SAM_SQ_ALT", f"@SQ AN alternative name {alt!r} is not valid", lineno)
                elif alt in self.refs or alt in self.alt_names or alt == sn:
                    self._herr(
                        "SAM_SQ_DUPLICATE",
                        f"@SQ AN alternative name {alt} is already used by another reference",
                        lineno,
                    )
                else:
                    self.alt_names.add(alt)

    def _h_rg(self, tags: dict[str, str], lineno: int) -> None:
        rid = tags.get("ID")
        if rid is None:
            self._herr("SAM_RG_MISSING_ID", "@RG line has no ID", lineno)
        elif rid in self.rg_ids:
            self._herr(
                "SAM_RG_DUPLICATE", f"@RG ID:{rid} is used twice; read group IDs must be unique", lineno
            )
        else:
            self.rg_ids.add(rid)
        dt = tags.get("DT")
        if dt is not None and not _iso_date_ok(dt):
            self._herr("SAM_RG_DATE", f"@RG DT:{dt} is not an ISO 8601 date (YYYY-MM-DD[THH:MM...])", lineno)
        pl = tags.get("PL")
        if pl is not None and pl.upper() not in PLATFORMS:
            self._herr("SAM_RG_PLATFORM", f"@RG PL:{pl} is not one of {', '.join(sorted(PLATFORMS))}", lineno)
        pi = tags.get("PI")
        if pi is not None and not RE_INT.fullmatch(pi.strip()):
            self._herr("SAM_RG_INSERT_SIZE", f"@RG PI:{pi} must be an integer", lineno)
        fo = tags.get("FO")
        if fo is not None and not RE_FO.fullmatch(fo):
            self._herr("SAM_RG_FLOW_ORDER", f"@RG FO:{fo} must be '*' or IUPAC bases", lineno)

    def _h_pg(self, tags: dict[str, str], lineno: int) -> None:
        pid = tags.get("ID")
        if pid is None:
            self._herr("SAM_PG_MISSING_ID", "@PG line has no ID", lineno)
        elif pid in self.pg_ids:
            self._herr("SAM_PG_DUPLICATE", f"@PG ID:{pid} is used twice; program IDs must be unique", lineno)
        else:
            self.pg_ids.add(pid)
        pp = tags.get("PP")
        if pp is not None:
            self.pg_parents.append((pp, lineno))

    def end_header(self) -> None:
        if self.header_done:
            return
        self.header_done = True
        for pp, lineno in self.pg_parents:
            if pp not in self.pg_ids:
                self._herr("SAM_PG_CHAIN", f"@PG PP:{pp} refers to a program ID no @PG line defines", lineno)

    # -- records --------------------------------------------------------------------------------------
    def record(self, text: str, lineno: int) -> None:
        self.records += 1
        m = RE_FAST_RECORD.fullmatch(text)
        if m is None or not self._record_fast(m, lineno):
            self._record_full(text, lineno)

    def _record_fast(self, m: re.Match[str], lineno: int) -> bool:
        """The common case in one regex: True when the record passed every error-level check (its
        warnings, tag checks and sort check are then done here); False, having reported nothing, when
        :meth:`_record_full` must look at it field by field."""
        qname, flag_s, rname, pos_s, mapq_s, cigar, rnext, pnext_s, tlen_s, seq, qual, tags = m.groups()
        flag, pos, mapq, pnext, tlen = (
            int(flag_s),
            int(pos_s),
            int(mapq_s),
            int(pnext_s),
            int(tlen_s),
        )  # at most 10 digits each (the regex)
        if flag > 4095 or pos > MAX_POS or mapq > 255 or pnext > MAX_POS or not -MAX_POS <= tlen <= MAX_POS:
            return False
        refs = self.refs
        if refs:
            if (rname != "*" and rname not in refs) or (rnext not in ("*", "=") and rnext not in refs):
                return False
        elif rname != "*" and not self._no_sq_reported:
            return False
        if qual != "*" and (seq == "*" or len(qual) != len(seq)):
            return False
        ops: list[tuple[int, str]] | None = None
        if cigar != "*":
            ops = [(int(n), op) for n, op in RE_CIGAR_OP.findall(cigar)]
            if misplaced_clip(ops) is not None:
                return False
            if seq != "*" and sum(n for n, op in ops if op in "MIS=X") != len(seq):
                return False
        if seq != "*" and not RE_SEQ_STD.fullmatch(seq):
            self._rwarn("SAM_SEQ_NONSTANDARD", "SEQ has lower-case or non-IUPAC letters", lineno, qname)
        if tags:
            self._check_tags(tags[1:].split("\t"), lineno, qname)
        self._consistency(flag, rname, pos, mapq, cigar, ops, rnext, pnext, tlen, lineno, qname)
        if self.sort_order == "coordinate":
            self._check_sorted(rname, pos, lineno, qname)
        return True

    def _record_full(self, text: str, lineno: int) -> None:
        f = text.split("\t")
        if len(f) < 11:
            self._rerr(
                "SAM_FIELD_COUNT",
                f"{len(f)} tab-separated fields, the 11 mandatory fields are required",
                lineno,
            )
            return
        qname, flag_s, rname, pos_s, mapq_s, cigar, rnext, pnext_s, tlen_s, seq, qual = f[:11]
        if not RE_QNAME.fullmatch(qname):
            why = (
                "empty"
                if not qname
                else "longer than 254 characters"
                if len(qname) > 254
                else "using '@' or non-printable characters"
            )
            if RE_QNAME_HTSLIB.fullmatch(qname):  # only '@': htslib reads it
                self._rnc(
                    "SAM_QNAME_INVALID", f"QNAME {qname[:40]!r} has '@', which the specification excludes", lineno
                )
            else:
                self._rerr("SAM_QNAME_INVALID", f"QNAME {qname[:40]!r} is {why}", lineno)
        q = qname
        flag = _int_in(flag_s, 0, 4095)
        if flag is None:
            self._rerr("SAM_FLAG_INVALID", f"FLAG {flag_s!r} must be an integer in 0..4095", lineno, q)
        if rname != "*" and not RE_RNAME.fullmatch(rname) and rname in self.refs:
            self._rnc(
                "SAM_RNAME_INVALID",
                f"RNAME {rname!r} has characters the specification excludes from reference names "
                f"(its @SQ line defines it, so readers find it)",
                lineno,
                q,
            )
        elif rname != "*" and not RE_RNAME.fullmatch(rname):
            self._rerr(
                "SAM_RNAME_INVALID", f"RNAME {rname!r} is not '*' or a valid reference name", lineno, q
            )
        elif rname != "*" and self.refs and rname not in self.refs:
            self._rerr("SAM_RNAME_UNKNOWN", f"RNAME {rname} is not defined by any @SQ line", lineno, q)
        elif rname != "*" and not self.refs and not self._no_sq_reported:
            self._no_sq_reported = True
            self._rwarn(
                "SAM_NO_SQ_HEADER",
                f"RNAME {rname} is used but the header has no @SQ lines; samtools and other readers need "
                f"@SQ lines to load the file",
                lineno,
                q,
            )
        pos = _int_in(pos_s, 0, MAX_POS)
        if pos is None:
            self._rerr("SAM_POS_INVALID", f"POS {pos_s!r} must be an integer in 0..2147483647", lineno, q)
        mapq = _int_in(mapq_s, 0, 255)
        if mapq is None:
            self._rerr("SAM_MAPQ_INVALID", f"MAPQ {mapq_s!r} must be an integer in 0..255", lineno, q)
        ops: list[tuple[int, str]] | None = None
        if cigar != "*":
            if not RE_CIGAR.fullmatch(cigar):
                self._rerr(
                    "SAM_CIGAR_INVALID",
                    f"CIGAR {cigar[:40]!r} is not '*' or <length><MIDNSHP=X>...",
                    lineno,
                    q,
                )
            else:
                ops = [(safe_int(n), op) for n, op in RE_CIGAR_OP.findall(cigar)]
                self._check_clips(ops, cigar, lineno, q)
        if rnext not in ("*", "=") and not RE_RNAME.fullmatch(rnext) and rnext in self.refs:
            self._rnc(
                "SAM_RNEXT_INVALID",
                f"RNEXT {rnext!r} has characters the specification excludes from reference names "
                f"(its @SQ line defines it, so readers find it)",
                lineno,
                q,
            )
        elif rnext not in ("*", "=") and not RE_RNAME.fullmatch(rnext):
            self._rerr(
                "SAM_RNEXT_INVALID", f"RNEXT {rnext!r} is not '*', '=' or a valid reference name", lineno, q
            )
        elif rnext not in ("*", "=") and self.refs and rnext not in self.refs:
            self._rerr("SAM_RNEXT_UNKNOWN", f"RNEXT {rnext} is not defined by any @SQ line", lineno, q)
        pnext = _int_in(pnext_s, 0, MAX_POS)
        if pnext is None:
            self._rerr(
                "SAM_PNEXT_INVALID", f"PNEXT {pnext_s!r} must be an integer in 0..2147483647", lineno, q
            )
        tlen: int | None = None
        if RE_SINT.fullmatch(tlen_s) and -MAX_POS <= safe_int(tlen_s) <= MAX_POS:
            tlen = safe_int(tlen_s)
        else:
            self._rerr(
                "SAM_TLEN_INVALID",
                f"TLEN {tlen_s!r} must be an integer in -2147483647..2147483647",
                lineno,
                q,
            )
        seq_ok = seq == "*" or bool(RE_SEQ.fullmatch(seq))
        if not seq_ok:
            self._rerr("SAM_SEQ_INVALID", f"SEQ {seq[:40]!r} must be '*' or letters, '=' and '.'", lineno, q)
        elif seq != "*" and not RE_SEQ_STD.fullmatch(seq):
            self._rwarn("SAM_SEQ_NONSTANDARD", "SEQ has lower-case or non-IUPAC letters", lineno, q)
        if qual != "*":
            if not RE_QUAL.fullmatch(qual):
                self._rerr(
                    "SAM_QUAL_INVALID",
                    "QUAL must be '*' or characters '!'..'~' (no spaces or control characters)",
                    lineno,
                    q,
                )
            elif seq == "*":
                self._rerr("SAM_QUAL_LENGTH", "QUAL is given but SEQ is '*'; set QUAL to '*'", lineno, q)
            elif seq_ok and len(qual) != len(seq):
                self._rerr(
                    "SAM_QUAL_LENGTH", f"QUAL has {len(qual)} characters but SEQ has {len(seq)}", lineno, q
                )
        elif not qual:
            self._rerr("SAM_QUAL_INVALID", "QUAL is empty; use '*' for absent qualities", lineno, q)
        if ops is not None and seq != "*" and seq_ok:
            qlen = sum(n for n, op in ops if op in "MIS=X")
            if qlen != len(seq):
                self._rerr(
                    "SAM_CIGAR_SEQ_LENGTH",
                    f"CIGAR {cigar[:40]} covers {qlen} query bases but SEQ has {len(seq)}",
                    lineno,
                    q,
                )
        self._check_tags(f[11:], lineno, q)
        if flag is not None:
            self._consistency(flag, rname, pos, mapq, cigar, ops, rnext, pnext, tlen, lineno, q)
        if self.sort_order == "coordinate" and pos is not None:
            self._check_sorted(rname, pos, lineno, q)

    def _check_clips(self, ops: list[tuple[int, str]], cigar: str, lineno: int, q: str) -> None:
        bad = misplaced_clip(ops)
        if bad == "H":
            self._rerr(
                "SAM_CIGAR_CLIP_POSITION",
                f"CIGAR {cigar[:40]}: H may only be the first or last operation",
                lineno,
                q,
            )
        elif bad == "S":
            self._rerr(
                "SAM_CIGAR_CLIP_POSITION",
                f"CIGAR {cigar[:40]}: S may only be at the ends (inside any H)",
                lineno,
                q,
            )

    def _check_tags(self, fields: list[str], lineno: int, q: str) -> None:
        seen: set[str] = set()
        for part in fields:
            m = RE_TAG.fullmatch(part)
            if not m:
                self._rerr(
                    "SAM_TAG_INVALID",
                    f"optional field {part[:40]!r} must be TAG:TYPE:VALUE, TAG [A-Za-z][A-Za-z0-9], "
                    f"TYPE one of A i f Z H B",
                    lineno,
                    q,
                )
                continue
            tag, typ, value = m.groups()
            if tag in seen:
                self._rerr("SAM_TAG_DUPLICATE", f"tag {tag} appears twice; keep one", lineno, q)
            seen.add(tag)
            why = check_tag_value(typ, value)
            if why:
                self._rerr("SAM_TAG_VALUE", f"tag {tag}:{typ}: {why}", lineno, q)

    def _consistency(
        self,
        flag: int,
        rname: str,
        pos: int | None,
        mapq: int | None,
        cigar: str,
        ops: list[tuple[int, str]] | None,
        rnext: str,
        pnext: int | None,
        tlen: int | None,
        lineno: int,
        q: str,
    ) -> None:
        unmapped = bool(flag & 0x4)
        if unmapped:
            if cigar != "*" or (mapq or 0) != 0:
                self._rwarn(
                    "SAM_UNMAPPED_FIELDS", "unmapped read (flag 0x4) has a CIGAR or MAPQ > 0", lineno, q
                )
        else:
            if rname == "*" or pos == 0 or cigar == "*":
                self._rwarn(
                    "SAM_MAPPED_FIELDS", "mapped read (flag 0x4 unset) lacks RNAME, POS or CIGAR", lineno, q
                )
        if not flag & 0x1 and flag & (0x2 | 0x8 | 0x20 | 0x40 | 0x80):
            self._rwarn(
                "SAM_FLAG_INCONSISTENT", f"FLAG {flag} sets pair bits without 0x1 (paired)", lineno, q
            )
        if flag & 0x1 and not flag & 0x8 and (rnext == "*" or pnext == 0):
            self._rwarn("SAM_MATE_FIELDS", "paired read with a mapped mate lacks RNEXT/PNEXT", lineno, q)
        if not flag & 0x1 and tlen not in (0, None):
            self._rwarn("SAM_MATE_FIELDS", "unpaired read has a non-zero TLEN", lineno, q)
        if not unmapped and rname in self.refs and pos:
            length = self.refs[rname].length
            if length is not None:
                end = _ref_end(pos - 1, ops)
                if pos > length or end > length:
                    self._rwarn(
                        "SAM_ALIGNMENT_PAST_END",
                        f"alignment {rname}:{pos}-{end} runs past the reference length {length}",
                        lineno,
                        q,
                    )

    def _check_sorted(self, rname: str, pos: int, lineno: int, q: str) -> None:
        tid = self.ref_order.get(rname, len(self.ref_order)) if rname != "*" else len(self.ref_order) + 1
        key = (tid, pos)
        if self._last_key is not None and key < self._last_key and not self._sort_reported:
            self._sort_reported = True
            self._rnc(
                "SAM_SORT_ORDER_VIOLATED",
                f"@HD SO:coordinate but this record ({rname}:{pos}) comes after a later position; "
                f"the file is treated as unsorted (sort with samtools sort or fix the SO tag)",
                lineno,
                q,
            )
        self._last_key = key

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


def misplaced_clip(ops: list[tuple[int, str]]) -> str | None:
    """'H' or 'S' when that clip is inside the CIGAR; valid shape is H? S? core S? H?."""
    i, j = 0, len(ops)
    for clip in ("H", "S"):
        if i < j and ops[i][1] == clip:
            i += 1
        if i < j and ops[j - 1][1] == clip:
            j -= 1
    core = [op for _, op in ops[i:j]]
    if "H" in core:
        return "H"
    return "S" if "S" in core else None


def safe_int(text: str) -> int:
    """int() of a validated ``[-+]?[0-9]+`` string without Python's 4300-digit limit: numbers with more
    than 30 significant digits come back as +/-10**30 (out of every range checked here)."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").lstrip("0") or "0"
    return sign * (10**30 if len(digits) > 30 else int(digits))


def _int_in(text: str, lo: int, hi: int) -> int | None:
    if not RE_INT.fullmatch(text):
        return None
    n = safe_int(text)
    return n if lo <= n <= hi else None


def _ref_end(start0: int, ops: list[tuple[int, str]] | None) -> int:
    """1-based inclusive end (= 0-based half-open end) of an alignment starting at 0-based ``start0``."""
    span = sum(n for n, op in ops or [] if op in "MDN=X")
    return start0 + max(span, 1)


def _iso_date_ok(text: str) -> bool:
    m = RE_DATE.fullmatch(text.strip())
    if not m:
        return False
    y, mo, d, rest = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
    try:
        datetime.date(y, mo, d)
    except ValueError:
        return False
    return not rest or bool(RE_TIME.fullmatch(rest))


# ----------------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------------




CHUNK_BYTES = 1 << 20


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
                scanner = _samscan.Scanner(
                    [
                        (name, tid, -1 if ref.length is None else ref.length, bool(RE_RNAME.fullmatch(name)))
                        for (name, tid), ref in zip(checker.ref_order.items(), checker.refs.values(), strict=True)
                    ],
                    checker.sort_order == "coordinate",
                )
                scanner.last_key, scanner.sort_reported = checker._last_key, checker._sort_reported

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


# -- reference FASTA ---------------------------------------------------------------------------------

_MD5_CACHE: dict[tuple[str, float, int], dict[str, tuple[int, str]]] = {}


def parse_samtools_dict(text: str) -> dict[str, tuple[int, str]]:
    """``samtools dict`` output -> name -> (length, M5) for each @SQ line that has SN, LN and M5."""
    out: dict[str, tuple[int, str]] = {}
    for line in text.splitlines():
        if not line.startswith("@SQ\t"):
            continue
        tags = dict(part.split(":", 1) for part in line.split("\t")[1:] if ":" in part)
        if "SN" in tags and "LN" in tags and "M5" in tags and tags["LN"].isdigit():
            out[tags["SN"]] = (int(tags["LN"]), tags["M5"].lower())
    return out


def reference_md5s(path: str) -> dict[str, tuple[int, str]]:
    """Name -> (length, MD5 of the upper-case sequence) for every sequence of a FASTA (plain, gzip, BGZF),
    computed by ``samtools dict`` (Debian 1.16), which writes nothing next to the FASTA."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ReferenceFastaError(f"cannot read reference FASTA {path}: {e}") from e
    key = (os.path.abspath(path), st.st_mtime, st.st_size)
    if key not in _MD5_CACHE:
        try:
            proc = tools.run(["samtools", "dict", path])
        except tools.ToolError as e:
            raise ReferenceFastaError(f"cannot read reference FASTA {path}: {e}") from e
        _MD5_CACHE[key] = parse_samtools_dict(proc.stdout.decode("utf-8", "replace"))
    return _MD5_CACHE[key]


def _reference_check(
    checker: SamChecker, report: ValidationReport, ref_md5: dict[str, tuple[int, str]], ref_path: str
) -> None:
    bad = 0
    for ref in checker.refs.values():
        got = ref_md5.get(ref.name)
        if got is None:
            if ref.md5 is not None:
                bad += 1
                report.error(
                    "CRAM_REFERENCE_MISMATCH",
                    f"reference {ref.name} (M5 {ref.md5}) is not in {os.path.basename(ref_path)}; "
                    f"give the FASTA the CRAM was written against",
                )
            continue
        if ref.md5 is not None and got[1] != ref.md5:
            bad += 1
            report.error(
                "CRAM_REFERENCE_MISMATCH",
                f"reference {ref.name}: the CRAM's @SQ M5 is {ref.md5} but "
                f"{os.path.basename(ref_path)} has {got[1]}; give the FASTA the CRAM was written "
                f"against",
            )
        elif ref.length is not None and got[0] != ref.length:
            bad += 1
            report.error(
                "CRAM_REFERENCE_MISMATCH",
                f"reference {ref.name}: @SQ LN is {ref.length} but {os.path.basename(ref_path)} "
                f"has {got[0]} bases",
            )


# -- binary decoding through samtools ----------------------------------------------------------------


class _Feeder(threading.Thread):
    """Copies the source stream into samtools' stdin, remembering the size and the last bytes."""

    def __init__(self, source: ByteSource, sink: BinaryIO) -> None:
        super().__init__(daemon=True)
        self.source = source
        self.sink = sink
        self.tail = b""
        self.size = 0
        self.error: BaseException | None = None
        self.stop = False  # set when the consumer gave up: stop reading the source

    def run(self) -> None:
        try:
            with self.source.open() as stream:
                while not self.stop:
                    chunk = stream.read(1 << 20)
                    if not chunk:
                        break
                    self.size += len(chunk)
                    self.tail = (self.tail + chunk)[-64:]
                    try:
                        self.sink.write(chunk)
                    except (BrokenPipeError, ValueError):
                        # samtools stopped reading (it failed): keep reading for the tail check.
                        self.sink = _NullSink()
        except BaseException as e:  # reported by the caller
            self.error = e
        finally:
            with contextlib.suppress(OSError, ValueError):
                self.sink.close()


class _NullSink:
    def write(self, data: bytes) -> int:
        return len(data)

    def close(self) -> None:
        return None


RE_REFERENCE_TROUBLE = re.compile(
    r"populate reference|fetch reference|reference file|Failed to load reference|md5 .*mismatch",
    re.IGNORECASE,
)


def parse_samtools_stderr(text: str) -> dict[str, object]:
    """What ``samtools view`` said on stderr: error lines, warning lines, whether a CRAM reference was
    the trouble, and a one-line summary (last errors, warnings only when there is nothing else)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    warnings = [ln for ln in lines if ln.startswith("[W::")]
    errors = [ln for ln in lines if not ln.startswith("[W::")]
    return {
        "errors": errors,
        "warnings": warnings,
        "reference_problem": any(RE_REFERENCE_TROUBLE.search(ln) for ln in errors),
        "summary": " | ".join((errors or warnings)[-3:])[:500],
    }


def _read_tail(path: str, limit: int = 64 * 1024) -> str:
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - limit))
        return fh.read().decode("utf-8", "replace")


def validate_binary(
    source: ByteSource, report: ValidationReport, *, fmt: str, reference: str | None = None
) -> None:
    """BAM or CRAM: EOF marker check on the stream, then decode with samtools and check the SAM text."""
    prefix = "BAM" if fmt == "bam" else "CRAM"
    samtools = tools.which("samtools")
    with tempfile.TemporaryDirectory(prefix="samval-") as tmp:
        argv = [samtools, "view", "-h", "--no-PG"]
        env = dict(os.environ)
        # Never let htslib fetch references over the network or from a user cache.
        env["REF_PATH"] = os.path.join(tmp, "no-ref-cache", "%s")
        env["REF_CACHE"] = os.path.join(tmp, "no-ref-cache", "%s")
        ref_md5: dict[str, tuple[int, str]] | None = None
        ref_path: str | None = None
        if fmt == "cram" and reference:
            if not os.path.isfile(reference):
                report.error(
                    "CRAM_REFERENCE_NOT_FOUND",
                    f"reference FASTA {reference} does not exist; give the path of the FASTA the "
                    f"CRAM was written against",
                )
            else:
                try:
                    ref_md5 = reference_md5s(reference)
                except ReferenceFastaError as e:
                    report.error("CRAM_REFERENCE_NOT_FOUND", str(e))
                else:
                    # A symlink in scratch space, so htslib writes any .fai it builds there.
                    ref_path = os.path.join(tmp, "ref.fa")
                    os.symlink(os.path.abspath(reference), ref_path)
                    if os.path.exists(reference + ".fai"):
                        os.symlink(os.path.abspath(reference + ".fai"), ref_path + ".fai")
                    argv += ["-T", ref_path]
        argv.append("-")
        stderr_path = os.path.join(tmp, "stderr.txt")
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env)
            assert proc.stdin is not None and proc.stdout is not None
            _widen_pipe(proc.stdout)
            _widen_pipe(proc.stdin)
            feeder = _Feeder(source, proc.stdin)  # type: ignore[arg-type]
            feeder.start()

            def on_header_end(checker: SamChecker) -> None:
                if ref_md5 is not None and reference is not None:
                    _reference_check(checker, report, ref_md5, reference)

            stopped = False
            try:
                check_sam_stream(cast(BinaryIO, proc.stdout), report, binary=True, on_header_end=on_header_end)
            except LineTooLong as e:
                stopped = True
                feeder.stop = True
                proc.kill()
                report.error(
                    "SAM_LINE_TOO_LONG",
                    f"decoded line {e.lineno} is longer than {e.limit // (1024 * 1024)} MiB; validation "
                    f"stopped there",
                )
            except BaseException:
                feeder.stop = True
                proc.kill()
                raise
            finally:
                proc.stdout.close()
                rc = proc.wait()
                feeder.join()
        stderr = parse_samtools_stderr(_read_tail(stderr_path))
    if feeder.error is not None:
        raise SamError(f"reading {source.name} failed: {feeder.error}") from feeder.error
    report.stats["bytes"] = feeder.size
    report.stats["decoder"] = samtools_version()
    _check_eof(fmt, feeder.tail, report)
    if rc != 0 and not stopped:
        summary = stderr["summary"]
        if fmt == "cram" and stderr["reference_problem"]:
            if reference:
                report.error(
                    "CRAM_REFERENCE_MISMATCH",
                    f"samtools could not decode the CRAM with reference {reference}: {summary}",
                )
            else:
                report.error(
                    "CRAM_REFERENCE_MISSING",
                    "this CRAM needs its reference FASTA to decode; pass reference= (the FASTA "
                    f"whose MD5s match the @SQ M5 tags). samtools said: {summary}",
                )
        else:
            report.error(f"{prefix}_DECODE", f"samtools view could not read the {prefix}: {summary}")


def _widen_pipe(pipe: BinaryIO) -> None:
    """A 1 MiB pipe to or from samtools (Linux F_SETPIPE_SZ; the default is 64 KiB): fewer context switches,
    and either side can run up to 1 MiB ahead of the other."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)  # type: ignore[attr-defined]


@functools.cache
def samtools_version() -> str:
    """``samtools 1.16.1`` (first line of ``samtools --version``; its later lines are not UTF-8)."""
    out = tools.run(["samtools", "--version"]).stdout.decode("utf-8", "replace")
    return out.splitlines()[0].strip() if out else "samtools unknown"


def _check_eof(fmt: str, tail: bytes, report: ValidationReport) -> None:
    if fmt == "bam":
        if not tail.endswith(BGZF_EOF):
            report.error(
                "BAM_EOF_MISSING",
                "the BAM does not end with the BGZF EOF block: the file is truncated; upload it again",
            )
        return
    if not (tail.endswith(CRAM3_EOF) or tail.endswith(CRAM21_EOF)):
        # htslib reads such a CRAM with a warning; a CRAM truncated inside a container fails to decode.
        report.nonconforming(
            "CRAM_EOF_MISSING",
            "the CRAM does not end with the EOF container: it was not closed properly or is truncated "
            "after its last complete container (samtools reads it with a warning); upload it again",
        )


def validate_alignment(
    source: ByteSource, report: ValidationReport, *, fmt: str, compression: str, reference: str | None = None
) -> None:
    """Entry point for sam|bam|cram."""
    if fmt == "sam":
        validate_sam_text(source, report, compression=compression)
        return
    if fmt == "bam" and compression != "bgzf":
        report.error("BAM_NOT_BGZF", "the BAM is not BGZF-compressed; rewrite it with samtools view -b")
        return
    try:
        validate_binary(source, report, fmt=fmt, reference=reference)
    except tools.ToolMissing:
        raise
    except OSError as e:
        raise SamError(f"running samtools on {source.name} failed: {e}") from e
