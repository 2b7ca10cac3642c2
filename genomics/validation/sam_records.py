"""SAM alignment record rules: the 11 mandatory fields, the optional fields, and the Picard-style
consistency and sort-order checks, as :class:`RecordRules` (mixed into
:class:`~genomics.validation.sam.SamChecker`).

A record is first matched against one regex for the common case (:meth:`RecordRules._record_fast`); a
record that fails it is checked field by field, one rule per field (:meth:`RecordRules._record_full`).
Both report the same codes, messages and locations. Also here: the checker's state and its location
helpers (:class:`CheckerState`), which the header rules share.

Coordinates: POS/PNEXT are 1-based in the text; they are converted to 0-based half-open only for the
reference-span arithmetic (``_ref_end``). User-facing line/record numbers are 1-based.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from genomics.validation.report import ValidationReport

MAX_POS = 2**31 - 1
RNAME_PATTERN = r"[0-9A-Za-z!#$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*"
RE_RNAME = re.compile(RNAME_PATTERN)
RE_QNAME = re.compile(r"[!-?A-~]{1,254}")
RE_QNAME_HTSLIB = re.compile(r"[!-~]{1,254}")  # what htslib reads: '@' allowed
# All 11 mandatory fields' syntax at once (numbers limited to 10 digits), then the raw optional fields.
RE_FAST_RECORD = re.compile(
    rf"([!-?A-~]{{1,254}})\t([0-9]{{1,10}})\t(\*|{RNAME_PATTERN})\t([0-9]{{1,10}})\t([0-9]{{1,10}})\t"
    rf"(\*|(?:[0-9]{{1,10}}[MIDNSHP=X])+)\t(\*|=|{RNAME_PATTERN})\t([0-9]{{1,10}})\t([-+]?[0-9]{{1,10}})\t"
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
# RNAME/RNEXT: (code when the name is not a reference name, code when no @SQ line defines it)
_REF_FIELD_CODES = {
    "RNAME": ("SAM_RNAME_INVALID", "SAM_RNAME_UNKNOWN"),
    "RNEXT": ("SAM_RNEXT_INVALID", "SAM_RNEXT_UNKNOWN"),
}


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
# The checker's state
# ----------------------------------------------------------------------------------------------------


@dataclass
class Ref:
    """A reference an @SQ line defines."""

    name: str
    length: int | None
    md5: str | None


@dataclass
class CheckerState:
    """What the SAM checker knows so far, and where its issues go (``report``); the header and record
    rules (:class:`~genomics.validation.sam_header.HeaderRules`, :class:`RecordRules`) share it.

    ``binary`` means the text was decoded from BAM/CRAM: locations are record numbers, not lines.
    """

    report: ValidationReport
    binary: bool = False
    refs: dict[str, Ref] = field(default_factory=dict)
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


# ----------------------------------------------------------------------------------------------------
# Record rules
# ----------------------------------------------------------------------------------------------------


class RecordRules(CheckerState):
    """The checks of one alignment record (the checker's ``record`` step)."""

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
        """The record field by field, one rule per field, in field order (a field's value is ``None`` when
        it is invalid: the rules that need it are then skipped)."""
        f = text.split("\t")
        if len(f) < 11:
            self._rerr(
                "SAM_FIELD_COUNT",
                f"{len(f)} tab-separated fields, the 11 mandatory fields are required",
                lineno,
            )
            return
        qname, flag_s, rname, pos_s, mapq_s, cigar, rnext, pnext_s, tlen_s, seq, qual = f[:11]
        self._check_qname(qname, lineno)
        q = qname
        flag = self._check_uint("SAM_FLAG_INVALID", "FLAG", flag_s, 4095, lineno, q)
        if rname != "*" and not self._check_ref_name("RNAME", rname, "'*'", lineno, q):
            self._check_sq_present(rname, lineno, q)
        pos = self._check_uint("SAM_POS_INVALID", "POS", pos_s, MAX_POS, lineno, q)
        mapq = self._check_uint("SAM_MAPQ_INVALID", "MAPQ", mapq_s, 255, lineno, q)
        ops = self._check_cigar(cigar, lineno, q)
        if rnext not in ("*", "="):
            self._check_ref_name("RNEXT", rnext, "'*', '='", lineno, q)
        pnext = self._check_uint("SAM_PNEXT_INVALID", "PNEXT", pnext_s, MAX_POS, lineno, q)
        tlen = self._check_tlen(tlen_s, lineno, q)
        seq_ok = self._check_seq(seq, lineno, q)
        self._check_qual(qual, seq, seq_ok, lineno, q)
        if ops is not None and seq != "*" and seq_ok:
            self._check_query_length(ops, cigar, seq, lineno, q)
        self._check_tags(f[11:], lineno, q)
        if flag is not None:
            self._consistency(flag, rname, pos, mapq, cigar, ops, rnext, pnext, tlen, lineno, q)
        if self.sort_order == "coordinate" and pos is not None:
            self._check_sorted(rname, pos, lineno, q)

    # -- one rule per field (the slow path) -----------------------------------------------------------
    def _check_qname(self, qname: str, lineno: int) -> None:
        if RE_QNAME.fullmatch(qname):
            return
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

    def _check_uint(self, code: str, name: str, text: str, hi: int, lineno: int, q: str) -> int | None:
        """FLAG, POS, MAPQ, PNEXT: an integer in 0..``hi`` (``None``, reported, when it is not)."""
        value = _int_in(text, 0, hi)
        if value is None:
            self._rerr(code, f"{name} {text!r} must be an integer in 0..{hi}", lineno, q)
        return value

    def _check_ref_name(self, name: str, value: str, specials: str, lineno: int, q: str) -> bool:
        """RNAME or RNEXT (not one of its ``specials``): a valid reference name that an @SQ line defines
        when there are @SQ lines. True when something was reported."""
        invalid, unknown = _REF_FIELD_CODES[name]
        if not RE_RNAME.fullmatch(value):
            if value in self.refs:
                self._rnc(
                    invalid,
                    f"{name} {value!r} has characters the specification excludes from reference names "
                    f"(its @SQ line defines it, so readers find it)",
                    lineno,
                    q,
                )
            else:
                self._rerr(invalid, f"{name} {value!r} is not {specials} or a valid reference name", lineno, q)
            return True
        if self.refs and value not in self.refs:
            self._rerr(unknown, f"{name} {value} is not defined by any @SQ line", lineno, q)
            return True
        return False

    def _check_sq_present(self, rname: str, lineno: int, q: str) -> None:
        """A record names a reference but the header has no @SQ lines (reported once)."""
        if self.refs or self._no_sq_reported:
            return
        self._no_sq_reported = True
        self._rwarn(
            "SAM_NO_SQ_HEADER",
            f"RNAME {rname} is used but the header has no @SQ lines; samtools and other readers need "
            f"@SQ lines to load the file",
            lineno,
            q,
        )

    def _check_cigar(self, cigar: str, lineno: int, q: str) -> list[tuple[int, str]] | None:
        """The CIGAR's operations (``None`` for '*' or an invalid CIGAR)."""
        if cigar == "*":
            return None
        if not RE_CIGAR.fullmatch(cigar):
            self._rerr(
                "SAM_CIGAR_INVALID",
                f"CIGAR {cigar[:40]!r} is not '*' or <length><MIDNSHP=X>...",
                lineno,
                q,
            )
            return None
        ops = [(safe_int(n), op) for n, op in RE_CIGAR_OP.findall(cigar)]
        self._check_clips(ops, cigar, lineno, q)
        return ops

    def _check_tlen(self, tlen_s: str, lineno: int, q: str) -> int | None:
        if RE_SINT.fullmatch(tlen_s) and -MAX_POS <= safe_int(tlen_s) <= MAX_POS:
            return safe_int(tlen_s)
        self._rerr(
            "SAM_TLEN_INVALID",
            f"TLEN {tlen_s!r} must be an integer in -2147483647..2147483647",
            lineno,
            q,
        )
        return None

    def _check_seq(self, seq: str, lineno: int, q: str) -> bool:
        """True when SEQ is '*' or valid letters (non-standard ones are a warning)."""
        seq_ok = seq == "*" or bool(RE_SEQ.fullmatch(seq))
        if not seq_ok:
            self._rerr("SAM_SEQ_INVALID", f"SEQ {seq[:40]!r} must be '*' or letters, '=' and '.'", lineno, q)
        elif seq != "*" and not RE_SEQ_STD.fullmatch(seq):
            self._rwarn("SAM_SEQ_NONSTANDARD", "SEQ has lower-case or non-IUPAC letters", lineno, q)
        return seq_ok

    def _check_qual(self, qual: str, seq: str, seq_ok: bool, lineno: int, q: str) -> None:
        if qual == "*":
            return
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
            self._rerr("SAM_QUAL_LENGTH", f"QUAL has {len(qual)} characters but SEQ has {len(seq)}", lineno, q)

    def _check_query_length(self, ops: list[tuple[int, str]], cigar: str, seq: str, lineno: int, q: str) -> None:
        qlen = sum(n for n, op in ops if op in "MIS=X")
        if qlen != len(seq):
            self._rerr(
                "SAM_CIGAR_SEQ_LENGTH",
                f"CIGAR {cigar[:40]} covers {qlen} query bases but SEQ has {len(seq)}",
                lineno,
                q,
            )

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


# ----------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------


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

