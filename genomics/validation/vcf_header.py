"""VCF header checks: the meta-information lines (``##key=value`` and the structured ``##key=<...>``
lines) and the ``#CHROM`` line, checked one by one by :class:`HeaderChecker`, which collects the
INFO/FORMAT/FILTER/contig tables the compiled record scanner (``_vcfscan``) receives as a :class:`Header`.
Line numbers are 1-based (user-facing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from genomics.validation import _vcfscan
from genomics.validation.report import ValidationReport

# Number encodings shared with the scanner.
_N_A, _N_R, _N_G, _N_VAR = _vcfscan.N_A, _vcfscan.N_R, _vcfscan.N_G, _vcfscan.N_VAR
_TYPES = {
    "Integer": _vcfscan.T_INT,
    "Float": _vcfscan.T_FLOAT,
    "Flag": _vcfscan.T_FLAG,
    "Character": _vcfscan.T_CHAR,
    "String": _vcfscan.T_STR,
}

# Keys the spec reserves (VCF 4.3 tables 1.6.1/1.6.2, which EBI's validator applies to 4.1-4.3 too):
# (Number, Type, values must be non-negative).
RESERVED_INFO: dict[str, tuple[str, str, bool]] = {
    "AA": ("1", "String", False),
    "AC": ("A", "Integer", True),
    "AD": ("R", "Integer", True),
    "ADF": ("R", "Integer", True),
    "ADR": ("R", "Integer", True),
    "AF": ("A", "Float", True),
    "AN": ("1", "Integer", True),
    "BQ": ("1", "Float", False),
    "CIGAR": ("A", "String", False),  # values must also be CIGAR strings
    "DB": ("0", "Flag", False),
    "DP": ("1", "Integer", True),
    "END": ("1", "Integer", True),
    "H2": ("0", "Flag", False),
    "H3": ("0", "Flag", False),
    "MQ": ("1", "Float", False),
    "MQ0": ("1", "Integer", True),
    "NS": ("1", "Integer", True),
    "SOMATIC": ("0", "Flag", False),
    "VALIDATED": ("0", "Flag", False),
    "1000G": ("0", "Flag", False),
}
RESERVED_FORMAT: dict[str, tuple[str, str, bool]] = {
    "AD": ("R", "Integer", True),
    "ADF": ("R", "Integer", True),
    "ADR": ("R", "Integer", True),
    "DP": ("1", "Integer", True),
    "EC": ("A", "Integer", True),
    "FT": ("1", "String", False),
    "GL": ("G", "Float", False),
    "GLE": ("G", "String", False),
    "GP": ("G", "Float", True),
    "GQ": ("1", "Integer", True),
    "GT": ("1", "String", False),
    "HQ": ("2", "Integer", True),
    "MQ": ("1", "Integer", True),
    "PL": ("G", "Integer", True),
    "PQ": ("1", "Integer", True),
    "PS": ("1", "Integer", True),
}
# Conventional keys whose types apply when they are used without a declaration (never enforced on
# a declaration): 1000 Genomes dosage.
CONVENTIONAL_FORMAT: dict[str, tuple[str, str, bool]] = {"DS": ("1", "Float", False)}

_NUMBER_RE = re.compile(r"^(?:\d+|A|R|G|\.)$")
_NUMBER_44_RE = re.compile(r"^(?:\d+|A|R|G|\.|P|LA|LR|LG|M)$")
_META_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_FIELD_KEY_RE = re.compile(r"^(?:[A-Za-z_][0-9A-Za-z_.]*|1000G)$")
# Before VCF 4.3 the spec gives INFO/FORMAT keys no grammar: any name without separators or whitespace.
_FIELD_KEY_41_RE = re.compile(r'^[^\s;=,:<>"]+$')
# The VCF 4.3 spec's contig name grammar.
_CONTIG_RE = re.compile(r"^[0-9A-Za-z!#$%&+./:;?@^_|~\-][0-9A-Za-z!#$%&*+./:;=?@^_|~\-]*$")
_SAMPLE_ID_RE = re.compile(r"^[0-9A-Za-z!#$%&+./;?@^_|~\-][0-9A-Za-z!#$%&+./;=?@^_|~\-]*$")
_ALT_ID_RE = re.compile(r"^[^\s,<>]+$")
_PLAIN_VALUE_RE = re.compile(r"^[^\s,<>\"']*$")
_PEDIGREE_VALUE_RE = re.compile(r"^[0-9A-Za-z_.\-;]+$")
_FILEFORMAT_RE = re.compile(r"^VCFv(\d+)\.(\d+)$")
_URL_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?:[^@/\s]+@)?(?P<host>[^:/\s]*)(?::\d+)?(?:/\S*)?$")
_HOSTNAME_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9\-]*[A-Za-z0-9])?$")
_IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")


# Header keys whose values the spec defines as <...> structures.
_STRUCTURED_KEYS = frozenset({"INFO", "FORMAT", "FILTER", "ALT", "contig", "SAMPLE", "META", "PEDIGREE"})
# VCF < 4.3: symbolic ALT IDs start with one of these types (then optional :subtypes).
_ALT_TYPES_41 = ("DEL", "INS", "DUP", "INV", "CNV", "BND")


class MetaSyntaxError(ValueError):
    """A structured ##key=<...> value could not be parsed."""


@dataclass
class Header:
    """What the header declares, as the scanner needs it."""

    version: str = ""
    info: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    format: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    filters: list[str] = field(default_factory=list)
    contigs: dict[str, int] = field(default_factory=dict)  # ID -> length (-1 when not declared)
    samples: list[str] = field(default_factory=list)
    n_columns: int = 8
    ids: dict[str, set[str]] = field(default_factory=dict)


def parse_structured(value: str) -> list[tuple[str, str, bool]]:
    """``<ID=x,Description="y">`` -> [(key, value, was_quoted)]. Raises MetaSyntaxError."""
    if not value.startswith("<") or not value.endswith(">"):
        raise MetaSyntaxError("a structured value must be enclosed in < >")
    s = value[1:-1]
    out: list[tuple[str, str, bool]] = []
    i, n = 0, len(s)
    if n == 0:
        raise MetaSyntaxError("empty < >")
    while i < n:
        eq = s.find("=", i)
        if eq < 0:
            raise MetaSyntaxError(f"field '{s[i:][:40]}' is not key=value")
        key = s[i:eq]
        if not key or "," in key or '"' in key:
            raise MetaSyntaxError(f"field '{s[i:eq][:40]}' is not key=value")
        j = eq + 1
        if j < n and s[j] == '"':
            j += 1
            buf: list[str] = []
            while j < n and s[j] != '"':
                if s[j] == "\\" and j + 1 < n:
                    buf.append(s[j + 1])
                    j += 2
                    continue
                buf.append(s[j])
                j += 1
            if j >= n:
                raise MetaSyntaxError(f"the quoted value of {key} is not closed")
            j += 1
            if j < n and s[j] != ",":
                raise MetaSyntaxError(f'unescaped quote in the value of {key} (write \\" inside quotes)')
            out.append((key, "".join(buf), True))
        elif j < n and s[j] == "[":
            close = s.find("]", j)
            if close < 0:
                raise MetaSyntaxError(f"the [ ] list of {key} is not closed")
            j = close + 1
            if j < n and s[j] != ",":
                raise MetaSyntaxError(f"text after the ] list of {key}")
            out.append((key, s[eq + 1 : j], False))
        else:
            comma = s.find(",", j)
            end = n if comma < 0 else comma
            raw = s[j:end]
            if '"' in raw:
                raise MetaSyntaxError(f"stray quote in the value of {key}")
            out.append((key, raw, False))
            j = end
        i = j + 1 if j < n else j
        if j < n and i == n:
            raise MetaSyntaxError("trailing comma")
    return out


def _number_code(number: str) -> int:
    if number.isdigit():
        return int(number)
    return {"A": _N_A, "R": _N_R, "G": _N_G}.get(number, _N_VAR)


class HeaderChecker:
    """Checks the meta-information lines one by one and collects the tables."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        self.h = Header()
        self.version_tuple = (4, 3)

    def err(self, code: str, message: str, line: int) -> None:
        """A header deviation from the spec that htslib reads past (it ignores the line, or assumes
        Type=String, or keeps the value as text) and processing carries through: an error only under the
        strict profiles, a warning by default."""
        self.report.nonconforming(code, message, line=line)

    def fatal(self, code: str, message: str, line: int) -> None:
        """A header problem htslib cannot read past, or one that would make the records come out wrong."""
        self.report.error(code, message, line=line)

    def fileformat(self, text: str, line: int) -> None:
        value = text[len("##fileformat=") :]
        m = _FILEFORMAT_RE.match(value)
        if not m:
            # htslib recognises a VCF by "##fileformat=VCF"; anything else is not read at all
            (self.err if value.startswith("VCF") else self.fatal)(
                "VCF_FILEFORMAT_INVALID", f"##fileformat value '{value[:40]}' is not VCFv4.x", line
            )
            self.h.version = value
            return
        major, minor = int(m.group(1)), int(m.group(2))
        self.h.version = value
        if (major, minor) < (4, 1):
            self.report.warn("VCF_FILEFORMAT_OLD", f"{value} is older than 4.1; checked as VCFv4.1", line=line)
            self.version_tuple = (4, 1)
        elif major != 4 or minor > 5:
            self.err("VCF_FILEFORMAT_INVALID", f"{value} is not a supported version (4.1-4.5)", line)
        else:
            self.version_tuple = (major, minor)

    def meta(self, text: str, line: int) -> None:
        body = text[2:]
        eq = body.find("=")
        if eq <= 0:
            self.err("VCF_META_INVALID", f"header line '{text[:60]}' is not ##key=value", line)
            return
        key, value = body[:eq], body[eq + 1 :]
        if not _META_KEY_RE.match(key):
            self.err(
                "VCF_META_INVALID", f"header key '{key[:40]}' has characters other than letters, digits, _.-", line
            )
            return
        if key == "fileformat":
            self.err("VCF_META_INVALID", "##fileformat appears more than once / not on the first line", line)
            return
        if value == "":
            self.err("VCF_META_VALUE", f"##{key} has an empty value", line)
            return
        if key in ("assembly", "pedigreeDB"):
            self.url(key, value[1:-1] if value.startswith("<") and value.endswith(">") else value, line)
            return
        if value.startswith("<"):
            try:
                fields = parse_structured(value)
            except MetaSyntaxError as e:
                if key in _STRUCTURED_KEYS:
                    self.err("VCF_META_STRUCTURE", f"##{key}: {e}", line)
                return
            self.structured(key, fields, line)
            return
        if key in _STRUCTURED_KEYS:
            self.err("VCF_META_STRUCTURE", f"##{key} must be a structured <...> line", line)

    def url(self, key: str, value: str, line: int) -> None:
        if not value:
            self.err("VCF_META_VALUE", f"##{key} has an empty URL", line)
            return
        m = _URL_RE.match(value)
        if m is None:
            if "://" in value or not re.match(r"^[^\s<>]+$", value):
                self.err("VCF_META_VALUE", f"##{key} value '{value[:60]}' is not a valid URL or path", line)
            return
        host = m.group("host")
        if m.group("scheme").lower() == "file":
            return
        if not host or not (_HOSTNAME_RE.match(host) or _IPV4_RE.match(host)):
            self.err("VCF_META_VALUE", f"##{key} URL '{value[:60]}' has an invalid host '{host[:30]}'", line)

    def _dup(self, kind: str, ident: str, line: int) -> None:
        seen = self.h.ids.setdefault(kind, set())
        if ident in seen:
            self.err("VCF_META_DUPLICATE_ID", f"##{kind} ID '{ident[:40]}' is declared twice", line)
        seen.add(ident)

    def structured(self, key: str, fields: list[tuple[str, str, bool]], line: int) -> None:
        d: dict[str, str] = {}
        quoted: dict[str, bool] = {}
        for k, v, q in fields:
            if k in d:
                self.err("VCF_META_STRUCTURE", f"##{key} repeats the field {k}", line)
            d[k] = v
            quoted[k] = q
        keys = [k for k, _, _ in fields]
        if key not in _STRUCTURED_KEYS:
            return
        for k, v, q in fields:
            if not q and k != "Values" and not _PLAIN_VALUE_RE.match(v):
                self.err("VCF_META_STRUCTURE", f"##{key} field {k} value '{v[:40]}' must be quoted", line)
                return
        if key in ("INFO", "FORMAT"):
            self.info_format(key, d, quoted, keys, line)
        elif key == "FILTER":
            self._filter(d, quoted, line)
        elif key == "ALT":
            self._alt(d, quoted, line)
        elif key == "contig":
            self._contig(d, line)
        elif key == "SAMPLE":
            self._sample(d, line)
        elif key == "PEDIGREE":
            self._pedigree(d, fields, line)
        elif key == "META":
            self._meta(d, keys, line)

    def _filter(self, d: dict[str, str], quoted: dict[str, bool], line: int) -> None:
        if self._require("FILTER", d, ("ID", "Description"), line):
            self._description("FILTER", d, quoted, line)
            self._dup("FILTER", d["ID"], line)
            self.h.filters.append(d["ID"])

    def _alt(self, d: dict[str, str], quoted: dict[str, bool], line: int) -> None:
        if not self._require("ALT", d, ("ID", "Description"), line):
            return
        self._description("ALT", d, quoted, line)
        if not _ALT_ID_RE.match(d["ID"]):
            self.err("VCF_META_ID_INVALID", f"##ALT ID '{d['ID'][:40]}' has whitespace, ',' or '<>'", line)
        elif self.version_tuple < (4, 3) and d["ID"].split(":")[0] not in _ALT_TYPES_41:
            self.err(
                "VCF_META_ID_INVALID",
                f"##ALT ID '{d['ID'][:40]}' must start with {'/'.join(_ALT_TYPES_41)} before VCF 4.3",
                line,
            )
        if "Number" in d and not _NUMBER_RE.match(d["Number"]):
            self.err("VCF_META_NUMBER", f"##ALT Number '{d['Number'][:20]}' is not valid", line)
        if "Type" in d and d["Type"] not in _TYPES:
            self.err("VCF_META_TYPE", f"##ALT Type '{d['Type'][:20]}' is not valid", line)
        self._dup("ALT", d["ID"], line)

    def _contig(self, d: dict[str, str], line: int) -> None:
        if not self._require("contig", d, ("ID",), line):
            return
        if not _CONTIG_RE.match(d["ID"]):
            self.err("VCF_META_ID_INVALID", f"##contig ID '{d['ID'][:40]}' has characters not allowed", line)
        if "length" in d and not d["length"].isdigit():
            # htslib drops the contig line: its records then cannot be written
            self.fatal("VCF_META_VALUE", f"##contig length '{d['length'][:20]}' is not an integer", line)
        seen = self.h.ids.setdefault("contig", set())
        if d["ID"] in seen:
            self.report.warn("VCF_META_DUPLICATE_CONTIG", f"##contig ID '{d['ID'][:40]}' is declared twice", line=line)
        seen.add(d["ID"])
        length = d.get("length", "")
        self.h.contigs.setdefault(d["ID"], int(length) if length.isdigit() else -1)

    def _sample(self, d: dict[str, str], line: int) -> None:
        required = ("ID",) if self.version_tuple >= (4, 3) else ("ID", "Genomes", "Mixture", "Description")
        if self._require("SAMPLE", d, required, line):
            if not _SAMPLE_ID_RE.match(d["ID"]):
                self.err("VCF_META_ID_INVALID", f"##SAMPLE ID '{d['ID'][:40]}' has characters not allowed", line)
            self._dup("SAMPLE", d["ID"], line)

    def _pedigree(self, d: dict[str, str], fields: list[tuple[str, str, bool]], line: int) -> None:
        if self.version_tuple >= (4, 3) and "ID" not in d:
            self.err("VCF_META_REQUIRED_KEY", "##PEDIGREE must have an ID (VCF 4.3+)", line)
        for k, v, q in fields:
            if not q and not _PEDIGREE_VALUE_RE.match(v):
                self.err("VCF_META_VALUE", f"##PEDIGREE {k} value '{v[:40]}' has characters not allowed", line)
                break

    def _meta(self, d: dict[str, str], keys: list[str], line: int) -> None:
        if not self._require("META", d, ("ID", "Type", "Number", "Values"), line):
            return
        if keys[:1] != ["ID"]:
            self.err("VCF_META_KEY_ORDER", "##META must start with ID", line)
        if not re.match(r"^(?:\d+|\.)$", d["Number"]):
            self.err("VCF_META_NUMBER", f"##META Number '{d['Number'][:20]}' must be an integer or '.'", line)
        if d["Type"] not in ("Integer", "Float", "String", "Character"):
            self.err("VCF_META_TYPE", f"##META Type '{d['Type'][:20]}' is not valid", line)
        if not (d["Values"].startswith("[") and d["Values"].endswith("]")):
            self.err("VCF_META_VALUE", "##META Values must be a [ ] list", line)

    def _require(self, key: str, d: dict[str, str], required: tuple[str, ...], line: int) -> bool:
        missing = [k for k in required if k not in d]
        if missing:
            self.err("VCF_META_REQUIRED_KEY", f"##{key} lacks {', '.join(missing)}", line)
            return False
        if "ID" in d and d["ID"] == "":
            self.err("VCF_META_REQUIRED_KEY", f"##{key} has an empty ID", line)
            return False
        return True

    def _description(self, key: str, d: dict[str, str], quoted: dict[str, bool], line: int) -> None:
        if "Description" in d and not quoted["Description"]:
            self.err("VCF_META_DESCRIPTION", f"##{key} ID={d.get('ID', '')[:30]}: Description must be quoted", line)

    def info_format(self, key: str, d: dict[str, str], quoted: dict[str, bool], keys: list[str], line: int) -> None:
        if not self._require(key, d, ("ID", "Number", "Type", "Description"), line):
            return
        ident, number, typ = d["ID"], d["Number"], d["Type"]
        if keys[:4] != ["ID", "Number", "Type", "Description"]:
            self.err(
                "VCF_META_KEY_ORDER", f"##{key} ID={ident[:30]}: fields must start ID, Number, Type, Description", line
            )
        self._description(key, d, quoted, line)
        ok = True
        key_re = _FIELD_KEY_RE if self.version_tuple >= (4, 3) else _FIELD_KEY_41_RE
        if not key_re.match(ident) or (key == "FORMAT" and ident == "1000G"):
            self.err("VCF_META_ID_INVALID", f"##{key} ID '{ident[:40]}' is not a valid key", line)
        num_re = _NUMBER_44_RE if self.version_tuple >= (4, 4) else _NUMBER_RE
        if not num_re.match(number):
            self.err("VCF_META_NUMBER", f"##{key} ID={ident[:30]}: Number '{number[:20]}' is not valid", line)
            ok = False
        allowed = tuple(t for t in _TYPES if not (key == "FORMAT" and t == "Flag"))
        if typ not in allowed:
            self.err(
                "VCF_META_TYPE", f"##{key} ID={ident[:30]}: Type '{typ[:20]}' must be one of {', '.join(allowed)}", line
            )
            ok = False
        if ok and (typ == "Flag") != (number == "0"):
            self.report.warn(
                "VCF_META_FLAG_NUMBER",
                f"##{key} ID={ident[:30]}: a Flag should have Number=0 and only a Flag",
                line=line,
            )
        reserved = (RESERVED_INFO if key == "INFO" else RESERVED_FORMAT).get(ident)
        nonneg = False
        if reserved is not None:
            rnum, rtype, nonneg = reserved
            # A compatible subset that widely used tools write: Number=. (older GATK's FORMAT AD) and
            # Integer where the spec says Float (bcftools mpileup's INFO MQ). Still not the spec's
            # definition: nonconforming, like any other reserved-key mismatch.
            loose_number = number in (".", rnum)
            loose_type = typ == rtype or (typ == "Integer" and rtype == "Float")
            if ok and (number, typ) != (rnum, rtype) and loose_number and loose_type:
                self.err(
                    "VCF_META_RESERVED_LOOSE",
                    f"##{key} {ident} is reserved with Number={rnum},Type={rtype}; declared "
                    f"Number={number},Type={typ} (a compatible subset)",
                    line,
                )
            elif ok and (number, typ) != (rnum, rtype):
                self.err(
                    "VCF_META_RESERVED",
                    f"##{key} {ident} is reserved with Number={rnum},Type={rtype} but declared "
                    f"Number={number[:10]},Type={typ[:10]}",
                    line,
                )
        self._dup(key, ident, line)
        if ok:
            table = self.h.info if key == "INFO" else self.h.format
            table[ident] = (_number_code(number), _TYPES[typ], _flags(key, ident, nonneg))


_F_NONNEG, _F_CIGAR, _F_IMPLIED = 1, 2, 4


def _flags(kind: str, ident: str, nonneg: bool) -> int:
    """The scanner's extra value rules for a key: non-negative numbers, CIGAR strings."""
    return (_F_NONNEG if nonneg else 0) | (_F_CIGAR if kind == "INFO" and ident == "CIGAR" else 0)


def reserved_defaults(h: Header) -> None:
    for kind, src, dst in (
        ("INFO", RESERVED_INFO, h.info),
        ("FORMAT", RESERVED_FORMAT, h.format),
        ("FORMAT", CONVENTIONAL_FORMAT, h.format),
    ):
        for ident, (number, typ, nonneg) in src.items():
            if ident not in h.ids.get(kind, set()):
                flags = _flags(kind, ident, nonneg) | _F_IMPLIED
                dst.setdefault(ident, (_number_code(number), _TYPES[typ], flags))


def check_columns(line_text: str, line: int, report: ValidationReport, h: Header) -> None:
    cols = line_text.split("\t")
    if tuple(cols[:8]) != _COLUMNS:
        report.error(
            "VCF_HEADER_COLUMNS",
            "the #CHROM line must start with the tab-separated columns " + " ".join(_COLUMNS),
            line=line,
        )
    if len(cols) > 8 and cols[8] != "FORMAT":
        report.error("VCF_HEADER_COLUMNS", f"column 9 must be FORMAT, not '{cols[8][:30]}'", line=line)
    samples = cols[9:]
    seen: set[str] = set()
    for name in samples:
        if not name:
            report.error("VCF_SAMPLE_NAME", "a sample name is empty (a tab too many in the #CHROM line?)", line=line)
        elif name != name.strip():
            # htslib keeps the name as written
            report.nonconforming("VCF_SAMPLE_NAME", f"sample name '{name[:40]}' has surrounding blanks", line=line)
        elif name in seen:
            report.error("VCF_SAMPLE_NAME", f"sample name '{name[:40]}' appears twice", line=line)
        seen.add(name)
    h.samples = samples
    h.n_columns = max(8, len(cols))
