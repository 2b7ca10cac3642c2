"""VCF (4.1-4.5) and BCF validation by content, streaming.

Python parses the header (meta-information lines and the ``#CHROM`` line); the data records are checked
in bulk by the compiled scanner ``genomics.validation._vcfscan`` (built by setup.py), which receives the
header's INFO/FORMAT/FILTER/contig tables. BCF is decoded to text by Debian's ``bcftools view`` (1.16),
fed through a pipe from ``source.open()``; its own decode errors are reported as ``VCF_BCF_DECODE``.

Positions reported are 1-based physical lines of the (decompressed) text and 1-based record numbers.
Memory does not grow with the file: the input is read in fixed-size chunks.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import re
import shutil
import subprocess
import threading
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

from genomics.sources import ByteSource
from genomics.validation import _vcfscan
from genomics.validation.report import ERROR, NONCONFORMING, WARNING, ValidationReport

CHUNK = 1 << 20
# A line longer than this is reported and reading stops (keeps memory bounded on garbage input). Header
# lines get the same room as records: a cohort's #CHROM line holds every sample name (500,000 samples
# are several MiB).
MAX_RECORD_LINE = 64 << 20
MAX_HEADER_LINE = MAX_RECORD_LINE

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


class VcfInputError(Exception):
    """The bytes could not be read as VCF text (compression, encoding, BCF decoding)."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        self.code = code
        self.line = line
        super().__init__(message)


class MetaSyntaxError(ValueError):
    """A structured ##key=<...> value could not be parsed."""


# ---------------------------------------------------------------------------------------------- header
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


class _HeaderChecker:
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
            if self._require(key, d, ("ID", "Description"), line):
                self._description(key, d, quoted, line)
                self._dup(key, d["ID"], line)
                self.h.filters.append(d["ID"])
        elif key == "ALT":
            if self._require(key, d, ("ID", "Description"), line):
                self._description(key, d, quoted, line)
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
                self._dup(key, d["ID"], line)
        elif key == "contig":
            if self._require(key, d, ("ID",), line):
                if not _CONTIG_RE.match(d["ID"]):
                    self.err("VCF_META_ID_INVALID", f"##contig ID '{d['ID'][:40]}' has characters not allowed", line)
                if "length" in d and not d["length"].isdigit():
                    # htslib drops the contig line: its records then cannot be written
                    self.fatal("VCF_META_VALUE", f"##contig length '{d['length'][:20]}' is not an integer", line)
                seen = self.h.ids.setdefault(key, set())
                if d["ID"] in seen:
                    self.report.warn(
                        "VCF_META_DUPLICATE_CONTIG", f"##contig ID '{d['ID'][:40]}' is declared twice", line=line
                    )
                seen.add(d["ID"])
                length = d.get("length", "")
                self.h.contigs.setdefault(d["ID"], int(length) if length.isdigit() else -1)
        elif key == "SAMPLE":
            required = ("ID",) if self.version_tuple >= (4, 3) else ("ID", "Genomes", "Mixture", "Description")
            if self._require(key, d, required, line):
                if not _SAMPLE_ID_RE.match(d["ID"]):
                    self.err("VCF_META_ID_INVALID", f"##SAMPLE ID '{d['ID'][:40]}' has characters not allowed", line)
                self._dup(key, d["ID"], line)
        elif key == "PEDIGREE":
            if self.version_tuple >= (4, 3) and "ID" not in d:
                self.err("VCF_META_REQUIRED_KEY", "##PEDIGREE must have an ID (VCF 4.3+)", line)
            for k, v, q in fields:
                if not q and not _PEDIGREE_VALUE_RE.match(v):
                    self.err("VCF_META_VALUE", f"##PEDIGREE {k} value '{v[:40]}' has characters not allowed", line)
                    break
        elif key == "META" and self._require(key, d, ("ID", "Type", "Number", "Values"), line):
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


def _reserved_defaults(h: Header) -> None:
    for kind, src, dst in (
        ("INFO", RESERVED_INFO, h.info),
        ("FORMAT", RESERVED_FORMAT, h.format),
        ("FORMAT", CONVENTIONAL_FORMAT, h.format),
    ):
        for ident, (number, typ, nonneg) in src.items():
            if ident not in h.ids.get(kind, set()):
                flags = _flags(kind, ident, nonneg) | _F_IMPLIED
                dst.setdefault(ident, (_number_code(number), _TYPES[typ], flags))


def _check_columns(line_text: str, line: int, report: ValidationReport, h: Header) -> None:
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
    hc = _HeaderChecker(report)
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
            _check_columns(text, line_no, report, h)
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
    _reserved_defaults(h)
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
def _pump(src: BinaryIO, dst: BinaryIO, errors: list[BaseException]) -> None:
    try:
        while True:
            chunk = src.read(CHUNK)
            if not chunk:
                break
            dst.write(chunk)
    except BrokenPipeError:
        pass
    except Exception as e:  # reported by the caller
        errors.append(e)
    finally:
        with contextlib.suppress(BrokenPipeError):
            dst.close()


def _drain(src: BinaryIO, out: list[bytes]) -> None:
    total = 0
    for chunk in iter(lambda: src.read(65536), b""):
        if total < 65536:
            out.append(chunk)
        total += len(chunk)


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
    errors: list[BaseException] = []
    err_chunks: list[bytes] = []
    with source.open() as raw:
        proc = subprocess.Popen(
            [exe, "view", "--no-version", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=CHUNK,
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        feeder = threading.Thread(target=_pump, args=(raw, proc.stdin, errors), daemon=True)
        drainer = threading.Thread(target=_drain, args=(proc.stderr, err_chunks), daemon=True)
        feeder.start()
        drainer.start()
        stopped_early = True
        try:
            if proc.stdout.peek(1):  # nothing at all: bcftools could not decode; its stderr says why
                _scan_text(proc.stdout, report)
            # The scanner stops early only on a fatal header problem; then bcftools need not go on.
            stopped_early = proc.stdout.read(1) != b""
        finally:
            if stopped_early:
                proc.kill()
            proc.stdout.close()
            rc = proc.wait()
            feeder.join()
            drainer.join()
    if errors:
        # Reading the source failed (e.g. S3): an I/O problem, not a property of the content.
        raise errors[0]
    stderr = b"".join(err_chunks).decode("utf-8", "replace")
    if rc != 0 and not stopped_early:
        lines = parse_bcftools_errors(stderr) or [f"exit status {rc}"]
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
