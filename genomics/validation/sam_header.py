"""SAM header rules (@HD, @SQ, @RG, @PG, @CO), as :class:`HeaderRules` (mixed into
:class:`~genomics.validation.sam.SamChecker`): one method per record type, and the @PG chain check once
the header has ended. Line numbers are 1-based (user-facing).
"""

from __future__ import annotations

import datetime
import re

from genomics.validation.sam_records import MAX_POS, RE_INT, RE_RNAME, RNAME_PATTERN, CheckerState, Ref, safe_int

RE_HTAG = re.compile(r"([A-Za-z][A-Za-z0-9]):(.+)", re.DOTALL)
RE_VN = re.compile(r"[0-9]+\.[0-9]+")
RE_SS = re.compile(r"(?:coordinate|queryname|unsorted)(?::[A-Za-z0-9_-]+)+")
RE_M5 = re.compile(r"[0-9a-f]{32}")
RE_ALTNAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z*+.@_|-]*")
RE_AH = re.compile(rf"\*|{RNAME_PATTERN}(?::[0-9]+-[0-9]+)?")
RE_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(.*)", re.DOTALL)
RE_TIME = re.compile(r"[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?")
RE_FO = re.compile(r"\*|[ACMGRSVTWYHKDBN]+")
RE_CTRL = re.compile(r"[\x00-\x1f\x7f]")

PLATFORMS = {
    "CAPILLARY", "DNBSEQ", "ELEMENT", "HELICOS", "ILLUMINA", "IONTORRENT",
    "LS454", "ONT", "PACBIO", "SINGULAR", "SOLID", "ULTIMA",
}  # fmt: skip


class HeaderRules(CheckerState):
    """The checks of the header lines (the checker's ``header_line`` and ``end_header`` steps)."""

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
                self.refs[sn] = Ref(sn, length, m5)
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
