"""Pure parsers of the text that bcftools/samtools print: ``parse_*(text) -> dict``.

They take the tools' standard output as text and return plain dicts of numbers (int where the tool
prints an integer, float where it prints a decimal point or exponent, ``None`` for ``.``). Comment
lines (``#``) are ignored, so the parsers also read outputs whose comments were stripped.

Column names follow the tools' own header comments (bcftools 1.16 and 1.24 print the same columns for
the sections named here; samtools stats 1.16 and 1.24 likewise). Sections not named here are kept raw
under ``"other"`` (tag -> list of rows of strings) so nothing the tool printed is lost.
"""

from __future__ import annotations

import re
from typing import Any

Number = int | float

# bcftools stats: SN keys (the text between "number of " and ":") -> our names.
BCFTOOLS_SN_KEYS: dict[str, str] = {
    "samples": "samples",
    "records": "records",
    "no-ALTs": "no_alts",
    "SNPs": "snps",
    "MNPs": "mnps",
    "indels": "indels",
    "others": "others",
    "multiallelic sites": "multiallelic_sites",
    "multiallelic SNP sites": "multiallelic_snp_sites",
}

# bcftools stats: per-section column names after "<TAG>\t<id>".
BCFTOOLS_COLUMNS: dict[str, tuple[str, ...]] = {
    "TSTV": ("ts", "tv", "ts_tv", "ts_1st_alt", "tv_1st_alt", "ts_tv_1st_alt"),
    "SiS": ("allele_count", "snps", "transitions", "transversions", "indels", "repeat_consistent",
            "repeat_inconsistent", "not_applicable"),
    "AF": ("allele_frequency", "snps", "transitions", "transversions", "indels", "repeat_consistent",
           "repeat_inconsistent", "not_applicable"),
    "QUAL": ("quality", "snps", "transitions_1st_alt", "transversions_1st_alt", "indels"),
    "IDD": ("length", "sites", "genotypes", "mean_vaf"),
    "ST": ("type", "count"),
    "DP": ("bin", "genotypes", "genotypes_pct", "sites", "sites_pct"),
    "PSC": ("sample", "hom_ref", "hom_alt", "het", "transitions", "transversions", "indels", "mean_depth",
            "singletons", "hap_ref", "hap_alt", "missing"),
    "PSI": ("sample", "in_frame", "out_frame", "not_applicable", "out_in_ratio", "ins_hets", "del_hets",
            "ins_alt_homs", "del_alt_homs"),
    "HWE": ("allele_frequency", "observations", "p25", "median", "p75"),
}
# Sections whose rows are keyed by sample name (dict) rather than listed in order.
_PER_SAMPLE = frozenset({"PSC", "PSI"})
# Fields that are labels, never numbers.
_TEXT_FIELDS = frozenset({"sample", "type"})

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class ParseError(ValueError):
    """The text is not the output of the tool this parser reads."""


def number(token: str) -> Number | str | None:
    """``"12"`` -> 12, ``"2.50"`` -> 2.5, ``"."`` -> None, anything else stays a string (e.g. ``>500``)."""
    token = token.strip()
    if token in (".", "", "nan", "-nan"):
        return None
    if _NUMBER.match(token):
        if "." in token or "e" in token or "E" in token:
            return float(token)
        return int(token)
    return token


def _lines(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _row(columns: tuple[str, ...], fields: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value in zip(columns, fields, strict=False):
        row[name] = value if name in _TEXT_FIELDS else number(value)
    return row


def parse_bcftools_stats(text: str) -> dict[str, Any]:
    """Parse ``bcftools stats`` output. Result, for each set id (``0`` for a single file)::

        {"ids": {"0": ["a.vcf.gz"]}, "sn": {"0": {"records": 12, "snps": 7, ...}},
         "tstv": {"0": {"ts": 4, "tv": 4, "ts_tv": 1.0, ...}}, "st": {"0": {"A>C": 0, ...}},
         "psc": {"0": {"A": {"hom_ref": 11, ...}}}, "psi": {...},
         "sis"/"af"/"qual"/"idd"/"dp"/"hwe": {"0": [row, ...]}, "vaf": {"0": {"A": {...}}},
         "other": {"GCsS": [[fields...], ...], ...}}
    """
    out: dict[str, Any] = {"ids": {}, "sn": {}, "other": {}}
    for tag in BCFTOOLS_COLUMNS:
        out[tag.lower()] = {}
    out["vaf"] = {}
    seen = False
    for fields in _lines(text):
        tag = fields[0]
        if len(fields) < 2:
            continue
        set_id = fields[1]
        if tag == "ID":
            out["ids"][set_id] = fields[2:]
            seen = True
        elif tag == "SN":
            if len(fields) < 4:
                raise ParseError(f"bcftools stats SN line has {len(fields)} fields, expected 4")
            key = fields[2].strip().rstrip(":")
            key = key[len("number of "):] if key.startswith("number of ") else key
            out["sn"].setdefault(set_id, {})[BCFTOOLS_SN_KEYS.get(key, key)] = number(fields[3])
            seen = True
        elif tag == "TSTV":
            out["tstv"][set_id] = _row(BCFTOOLS_COLUMNS[tag], fields[2:])
            seen = True
        elif tag == "ST":
            out["st"].setdefault(set_id, {})[fields[2]] = number(fields[3])
        elif tag in _PER_SAMPLE:
            row = _row(BCFTOOLS_COLUMNS[tag], fields[2:])
            out[tag.lower()].setdefault(set_id, {})[row.pop("sample")] = row
        elif tag == "VAF":
            # VAF <id> <sample> <comma-separated SNV VAF histogram> <indel histogram>
            hists = [[int(x) for x in f.split(",")] for f in fields[3:5]]
            out["vaf"].setdefault(set_id, {})[fields[2]] = {"snv": hists[0], "indel": hists[1]}
        elif tag in BCFTOOLS_COLUMNS:
            out[tag.lower()].setdefault(set_id, []).append(_row(BCFTOOLS_COLUMNS[tag], fields[2:]))
        else:
            out["other"].setdefault(tag, []).append(fields[1:])
    if not seen:
        raise ParseError("no SN/TSTV lines: this is not bcftools stats output")
    return out


# samtools stats: per-section column names (the first column of most is the bin/cycle).
SAMTOOLS_COLUMNS: dict[str, tuple[str, ...]] = {
    "IS": ("insert_size", "pairs_total", "inward", "outward", "other"),
    "RL": ("length", "count"),
    "FRL": ("length", "count"),
    "LRL": ("length", "count"),
    "ID": ("length", "insertions", "deletions"),
    "IC": ("cycle", "ins_fwd", "ins_rev", "del_fwd", "del_rev"),
    "COV": ("range", "depth", "count"),
    "GCD": ("gc", "unique_pct", "p10", "p25", "p50", "p75", "p90"),
    "GCF": ("gc", "count"),
    "GCL": ("gc", "count"),
    "MAPQ": ("mapq", "count"),
    "GCC": ("cycle", "a", "c", "g", "t", "n", "o"),
    "GCT": ("cycle", "a", "c", "g", "t"),
    "FBC": ("cycle", "a", "c", "g", "t", "n", "o"),
    "LBC": ("cycle", "a", "c", "g", "t", "n", "o"),
    "FTC": ("a", "c", "g", "t", "n"),
    "LTC": ("a", "c", "g", "t", "n"),
    "CHK": ("read_names", "sequences", "qualities"),
}
# Matrices: cycle then one count per quality value (FFQ/LFQ), or N count then mismatches (MPC).
_SAMTOOLS_MATRICES = frozenset({"FFQ", "LFQ", "MPC"})
_SAMTOOLS_TEXT = frozenset({"range", "read_names", "sequences", "qualities"})


def snake(label: str) -> str:
    """``"percentage of properly paired reads (%)"`` -> ``percentage_of_properly_paired_reads_pct``."""
    label = label.strip().rstrip(":").replace("%", "pct").replace("1st", "first")
    return re.sub(r"[^0-9a-zA-Z]+", "_", label).strip("_").lower()


def parse_samtools_stats(text: str) -> dict[str, Any]:
    """Parse ``samtools stats`` output::

        {"summary": {"raw_total_sequences": 2, "reads_mapped": 2, "error_rate": 0.0, ...},
         "insert_size": [{"insert_size": 0, "pairs_total": 0, ...}], "coverage": [...],
         "gc_depth": [...], "read_lengths": [...], "sections": {"GCC": [row...], ...},
         "matrices": {"FFQ": [[cycle, q0, q1, ...], ...]}, "other": {tag: [[fields]]}}

    ``summary`` keys are the SN labels in snake case (``snake()``); the trailing ``# comment`` of an SN
    line is dropped.
    """
    out: dict[str, Any] = {"summary": {}, "sections": {}, "matrices": {}, "other": {}}
    for fields in _lines(text):
        tag = fields[0]
        if tag == "SN":
            if len(fields) < 3:
                raise ParseError(f"samtools stats SN line has {len(fields)} fields, expected 3+")
            out["summary"][snake(fields[1])] = number(fields[2])
        elif tag in _SAMTOOLS_MATRICES:
            out["matrices"].setdefault(tag, []).append([number(f) for f in fields[1:]])
        elif tag in SAMTOOLS_COLUMNS:
            cols = SAMTOOLS_COLUMNS[tag]
            row = {c: (v if c in _SAMTOOLS_TEXT else number(v))
                   for c, v in zip(cols, fields[1:], strict=False)}
            if tag == "CHK":
                out["checksum"] = row
            else:
                out["sections"].setdefault(tag, []).append(row)
        else:
            out["other"].setdefault(tag, []).append(fields[1:])
    if not out["summary"]:
        raise ParseError("no SN lines: this is not samtools stats output")
    sections = out["sections"]
    out["insert_size"] = sections.get("IS", [])
    out["coverage"] = sections.get("COV", [])
    out["gc_depth"] = sections.get("GCD", [])
    out["read_lengths"] = sections.get("RL", [])
    return out


_FLAGSTAT = re.compile(r"^(\d+) \+ (\d+) (.+?)(?: \((.*)\))?$")
_FLAGSTAT_BARE = re.compile(r"^(\d+) \+ (\d+) (.+)$")
# samtools flagstat labels -> our names (1.16 and 1.24 print the same 16 lines).
FLAGSTAT_KEYS: dict[str, str] = {
    "in total": "total",
    "primary": "primary",
    "secondary": "secondary",
    "supplementary": "supplementary",
    "duplicates": "duplicates",
    "primary duplicates": "primary_duplicates",
    "mapped": "mapped",
    "primary mapped": "primary_mapped",
    "paired in sequencing": "paired_in_sequencing",
    "read1": "read1",
    "read2": "read2",
    "properly paired": "properly_paired",
    "with itself and mate mapped": "with_itself_and_mate_mapped",
    "singletons": "singletons",
    "with mate mapped to a different chr": "with_mate_mapped_to_a_different_chr",
    "with mate mapped to a different chr (mapQ>=5)": "with_mate_mapped_to_a_different_chr_mapq5",
}


def parse_flagstat(text: str) -> dict[str, Any]:
    """Parse ``samtools flagstat`` (default text format): ``{name: {"passed": n, "failed": n}}``.

    The percentages the tool prints in parentheses are derived, not stored; recompute from counts.
    """
    out: dict[str, Any] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        # "with mate mapped to a different chr (mapQ>=5)" has a parenthesis that is part of the label.
        m = _FLAGSTAT_BARE.match(line) if line.endswith("(mapQ>=5)") else _FLAGSTAT.match(line)
        if m is None:
            raise ParseError(f"not a samtools flagstat line: {line!r}")
        label = m.group(3)
        out[FLAGSTAT_KEYS.get(label, snake(label))] = {"passed": int(m.group(1)), "failed": int(m.group(2))}
    if "total" not in out:
        raise ParseError("no 'in total' line: this is not samtools flagstat output")
    return out


def parse_idxstats(text: str) -> dict[str, Any]:
    """Parse ``samtools idxstats``: ``{"contigs": [{"name", "length", "mapped", "unmapped"}]}`` in
    file order (``*`` is the unplaced-unmapped row), plus totals."""
    contigs: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise ParseError(f"samtools idxstats line {n} has {len(fields)} fields, expected 4")
        try:
            length, mapped, unmapped = (int(f) for f in fields[1:])
        except ValueError as e:
            raise ParseError(f"samtools idxstats line {n}: non-integer count") from e
        contigs.append({"name": fields[0], "length": length, "mapped": mapped, "unmapped": unmapped})
    return {
        "contigs": contigs,
        "mapped": sum(c["mapped"] for c in contigs),
        "unmapped": sum(c["unmapped"] for c in contigs),
    }
