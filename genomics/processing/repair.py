"""Repairs that let processing finish what htslib reads: header declarations, Number mismatches,
genotype-ordered values beyond diploid.

htslib reads VCFs whose records use contigs, FILTERs, INFO or FORMAT keys the header never declared (it
warns and adds a dummy declaration in memory), whose values disagree with their header ``Number``, and
whose genotypes have any ploidy. bcftools 1.16 then fails downstream of the reader:

* the BCF writer refuses a record that uses an undeclared key (``bcf_write`` "Unchecked error"), and
  ``bcftools sort`` refuses a contig that is not in the header;
* ``bcftools norm -m -any`` refuses a record whose Number=A/R/G values have the wrong count
  ("wrong number of fields"), which is every multiallelic record of ploidy > 2 for Number=G keys.

None of this costs anything on files that need no repair: processing runs its normal pipeline first and
comes here only when it failed for one of these reasons (:func:`diagnose`). A repair is a
:class:`RepairPlan`; the pipeline then reads the input as VCF text (``bcftools view -Ov``) through this
module's filter (``python -m genomics.processing.repair PLAN``), which

* declares what records use but the header lacks, exactly as htslib does in memory
  (``##contig=<ID=..>``, ``##FILTER=<ID=..,Description=..>``, ``##INFO``/``##FORMAT`` with
  ``Number=1,Type=String``), in the order htslib met them;
* relaxes the ``Number`` of a key whose values disagree with it to ``.`` (values are carried unchanged);
* splits, itself, the multiallelic records in which a Number=G FORMAT key has a sample of ploidy above 2
  (bcftools cannot split genotype-ordered values beyond diploid), the way ``norm -m -any`` splits, with
  each sample's Number=G values subset for its own ploidy; ``norm`` then sees biallelic records.

Every repair is listed in the sidecar (``repairs``); the raw object is never touched.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from math import comb
from typing import Any, BinaryIO

from genomics.compression import is_gzip

CHUNK = 1 << 20
# Description of the declarations we add (htslib's own in-memory ones say "Dummy").
ADDED = "Not declared in the uploaded header; declared by processing as htslib reads it"

# htslib 1.16 warnings for undeclared keys (bcftools prints them on stderr, once per key).
_UNDECLARED = re.compile(
    r"\[W::vcf_parse\w*\] (?:"
    r"Contig '(?P<contig>[^']*)' is not defined in the header"
    r"|FILTER '(?P<filter>[^']*)'(?: at \S+)? is not defined in the header"
    r"|INFO '(?P<info>[^']*)'(?: at \S+)? is not defined in the header"
    r"|FORMAT '(?P<format>[^']*)'(?: at \S+)? is not defined in the header)"
)
# bcftools norm -m: an INFO (or FMT) key with the wrong number of values.
_WRONG_INFO = re.compile(
    r"wrong number of fields in (INFO|FMT|FORMAT)/(\S+) at (\S+):(\d+), expected (\d+), found (\d+)")
# bcftools norm -m: a FORMAT key with the wrong number of values.
_WRONG_FORMAT = re.compile(r"Error at (\S+):(\d+), the tag (\S+) has wrong number of fields")
_WRONG_OTHER = re.compile(r"Error at (\S+):(\d+): wrong number of fields in (\S+?)\?")
_META = re.compile(r"^##(INFO|FORMAT)=<(.*)>\s*$")


def parse_undeclared(stderr: str) -> list[tuple[str, str]]:
    """htslib's "... is not defined in the header" warnings -> [(kind, id)] in the order met; kind is
    contig, FILTER, INFO or FORMAT."""
    out: dict[tuple[str, str], None] = {}
    for m in _UNDECLARED.finditer(stderr):
        for kind, group in (("contig", "contig"), ("FILTER", "filter"), ("INFO", "info"), ("FORMAT", "format")):
            if m.group(group) is not None:
                out[(kind, m.group(group))] = None
    return list(out)


def parse_wrong_number(stderr: str) -> dict[str, Any] | None:
    """``bcftools norm -m`` refusing a key's value count -> {"kind", "tag", "contig", "pos"} or None."""
    m = _WRONG_INFO.search(stderr)
    if m:
        return {"kind": "INFO" if m.group(1) == "INFO" else "FORMAT", "tag": m.group(2), "contig": m.group(3),
                "pos": int(m.group(4)), "expected": int(m.group(5)), "found": int(m.group(6))}
    m = _WRONG_FORMAT.search(stderr)
    if m:
        return {"kind": "FORMAT", "tag": m.group(3), "contig": m.group(1), "pos": int(m.group(2))}
    m = _WRONG_OTHER.search(stderr)
    if m:
        kind, _, tag = m.group(3).rpartition("/")
        return {"kind": kind or "FORMAT", "tag": tag, "contig": m.group(1), "pos": int(m.group(2))}
    return None


def declaration(kind: str, ident: str) -> str:
    """The header line htslib adds in memory for an undeclared key (our Description says why)."""
    if kind == "contig":
        return f"##contig=<ID={ident}>"
    if kind == "FILTER":
        return f'##FILTER=<ID={ident},Description="{ADDED}">'
    return f'##{kind}=<ID={ident},Number=1,Type=String,Description="{ADDED}">'


_ID = re.compile(r"(?:^|,)ID=([^,>]+)")
_NUMBER = re.compile(r"(?:^|,)Number=([^,>]+)")


def _declared(header: str, attribute: re.Pattern[str]) -> Iterator[tuple[tuple[str, str], str | None]]:
    """((INFO|FORMAT, ID), the value of ``attribute`` or None) for each INFO/FORMAT line, in header order."""
    for line in header.splitlines():
        m = _META.match(line)
        if not m:
            continue
        ident = _ID.search(m.group(2))
        if ident:
            value = attribute.search(m.group(2))
            yield (m.group(1), ident.group(1)), value.group(1) if value else None


def header_numbers(header: str) -> dict[tuple[str, str], str]:
    """(INFO|FORMAT, ID) -> Number, from header text (the last declaration wins; none: ".")."""
    return {key: number or "." for key, number in _declared(header, _NUMBER)}


@dataclass
class RepairPlan:
    """What the filter changes. ``declare``: (kind, id) to add; ``relax``: (kind, tag) whose Number
    becomes "."; ``genotype_tags``: Number=G FORMAT tags whose polyploid multiallelic records the filter splits."""

    declare: list[tuple[str, str]] = field(default_factory=list)
    relax: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    genotype_tags: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (INFO|FORMAT, tag) declared Integer whose values include decimals: declared Float instead (htslib
    # would otherwise truncate 12.5 to 12 without a word). Needs the raw text: see ``raw_text``.
    retype: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.declare or self.relax or self.genotype_tags or self.retype)

    def to_json(self) -> dict[str, Any]:
        return {
            "declare": [list(d) for d in self.declare],
            "relax": [[k, t, v] for (k, t), v in self.relax.items()],
            "genotype_tags": self.genotype_tags,
            "retype": [[k, t, v] for (k, t), v in self.retype.items()],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RepairPlan:
        return cls(
            declare=[(str(k), str(i)) for k, i in doc.get("declare", [])],
            relax={(str(k), str(t)): dict(v) for k, t, v in doc.get("relax", [])},
            genotype_tags={str(k): dict(v) for k, v in (doc.get("genotype_tags") or {}).items()},
            retype={(str(k), str(t)): dict(v) for k, t, v in doc.get("retype", [])},
        )

    @classmethod
    def from_repairs(cls, repairs: Iterable[dict[str, Any]]) -> RepairPlan:
        """The header part of a plan back from the sidecar's repair list (declarations, relaxations)."""
        plan = cls()
        for r in repairs:
            kind, _, ident = str(r.get("key", "")).partition("/")
            if not ident:
                continue
            if r.get("repair") == "declared" and (kind, ident) not in plan.declare:
                plan.declare.append((kind, ident))
            elif r.get("repair") == "number_relaxed":
                plan.relax.setdefault((kind, ident), {"from": r.get("from"), "first": r.get("first")})
            elif r.get("repair") == "type_float":
                plan.retype.setdefault((kind, ident), {"first": r.get("first")})
        return plan

    def repairs(self, stats: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The sidecar's list: one entry per repair, saying what was done and why."""
        out: list[dict[str, Any]] = []
        for kind, ident in self.declare:
            out.append({
                "repair": "declared", "key": f"{kind}/{ident}",
                "header_line": declaration(kind, ident),
                "reason": "records use it but the header does not declare it (htslib tolerates this)",
            })
        for (kind, tag), info in self.relax.items():
            out.append({
                "repair": "number_relaxed", "key": f"{kind}/{tag}", "from": info.get("from"), "to": ".",
                "first": info.get("first"),
                "reason": (f"values disagree with Number={info.get('from')} (first at {info.get('first')}); "
                           "they are carried unchanged"),
            })
        for (kind, tag), info in self.retype.items():
            out.append({
                "repair": "type_float", "key": f"{kind}/{tag}", "from": "Integer", "to": "Float",
                "first": info.get("first"),
                "reason": (f"declared Integer but holds decimal values (first at {info.get('first')}); declared "
                           "Float so they are carried instead of truncated"),
            })
        gstats = (stats or {}).get("genotype_tags", {})
        for tag, info in self.genotype_tags.items():
            s = gstats.get(tag, {})
            out.append({
                "repair": "polyploid_split", "key": f"FORMAT/{tag}",
                "records": s.get("records", 0),
                "first": s.get("first") or info.get("first"),
                "reason": ("multiallelic records with a sample of ploidy above 2 split by processing, as "
                           "bcftools norm -m splits (which it cannot do for genotype-ordered Number=G values "
                           "beyond diploid): each biallelic record keeps the likelihoods of its own genotypes "
                           "for each sample's ploidy"),
            })
        return out


# --------------------------------------------------------------------------------------------------
# The filter (VCF text in, VCF text out)
# --------------------------------------------------------------------------------------------------
def _relax_line(line: str, relax: Iterable[tuple[str, str]], retype: Iterable[tuple[str, str]] = ()) -> str:
    m = _META.match(line)
    if not m:
        return line
    ident = re.search(r"(?:^|,)ID=([^,>]+)", m.group(2))
    if not ident:
        return line
    key = (m.group(1), ident.group(1))
    body = m.group(2)
    if key in set(relax):
        body = re.sub(r"((?:^|,)Number=)[^,>]+", r"\g<1>.", body, count=1)
    if key in set(retype):
        body = re.sub(r"((?:^|,)Type=)Integer(?=[,>]|$)", r"\g<1>Float", body, count=1)
    if body == m.group(2):
        return line
    return f"##{m.group(1)}=<{body}>\n"


def repair_header(lines: list[str], plan: RepairPlan) -> list[str]:
    """Header lines (with newlines, the #CHROM line last) -> repaired header lines."""
    out = [_relax_line(line, plan.relax, plan.retype) for line in lines[:-1]]
    declared = set(header_numbers("".join(out)))
    have_contigs = {m.group(1) for line in out if (m := re.match(r"##contig=<ID=([^,>]+)", line))}
    have_filters = {m.group(1) for line in out if (m := re.match(r"##FILTER=<ID=([^,>]+)", line))}
    for kind, ident in plan.declare:
        if kind == "contig" and ident in have_contigs:
            continue
        if kind == "FILTER" and ident in have_filters:
            continue
        if kind in ("INFO", "FORMAT") and (kind, ident) in declared:
            continue
        out.append(declaration(kind, ident) + "\n")
    out.append(lines[-1])
    return out


def _allowed_counts(n_alleles: int) -> tuple[int, int]:
    return n_alleles, n_alleles * (n_alleles + 1) // 2


def genotype_count(n_alleles: int, ploidy: int) -> int:
    """Values of a Number=G key: the genotypes of ``ploidy`` alleles drawn from ``n_alleles``."""
    return comb(n_alleles + ploidy - 1, ploidy)


def genotype_index(alleles: Iterable[int]) -> int:
    """The VCF order index of an unphased genotype (its alleles in any order), for any ploidy:
    sum over the sorted alleles a_1 <= ... <= a_k of C(a_m + m - 1, m)."""
    return sum(comb(a + m - 1, m) for m, a in enumerate(sorted(alleles), start=1))


def biallelic_genotype_indices(alt: int, ploidy: int) -> list[int]:
    """Indices, in the multiallelic order, of the genotypes of the biallelic record {REF, ALT ``alt``}:
    0, 1, ..., ``ploidy`` copies of ``alt``."""
    return [genotype_index([0] * (ploidy - j) + [alt] * j) for j in range(ploidy + 1)]


def _ploidy(gt: str, count: int, n_alleles: int) -> int | None:
    if gt and gt not in (".",):
        return len(re.split(r"[/|]", gt))
    for k in range(1, 9):
        if genotype_count(n_alleles, k) == count:
            return k
    return None


def _subset(values: str, number: str, alt: int, n_alleles: int, ploidy: int | None) -> str:
    """One key's value(s) for the biallelic record of ALT ``alt`` (1-based) out of ``n_alleles``."""
    if values in (".", "") or number not in ("A", "R", "G"):
        return values
    parts = values.split(",")
    if number == "A":
        return parts[alt - 1] if len(parts) == n_alleles - 1 else values
    if number == "R":
        return f"{parts[0]},{parts[alt]}" if len(parts) == n_alleles else values
    if ploidy is None or len(parts) != genotype_count(n_alleles, ploidy):
        return "."
    return ",".join(parts[i] for i in biallelic_genotype_indices(alt, ploidy))


def _recode_gt(gt: str, alt: int) -> str:
    """GT of the biallelic record: ``alt`` becomes 1, every other ALT 0 (as ``bcftools norm -m`` does)."""
    return re.sub(r"\d+", lambda m: "1" if int(m.group()) == alt else "0", gt)


def split_polyploid(line: str, tags: set[str], numbers: dict[tuple[str, str], str],
                    stats: dict[str, dict[str, Any]]) -> str:
    """A multiallelic record in which a Number=G key of ``tags`` has a sample whose count fits neither a
    haploid nor a diploid genotype (bcftools 1.16 cannot split it) -> its biallelic records, split here
    the way ``norm -m -any`` splits (GT: the other ALTs become 0; Number=A/R/G values subset, Number=G
    for each sample's own ploidy). Any other line is returned unchanged."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) < 10 or "," not in fields[4]:
        return line
    fmt = fields[8].split(":")
    idx = [i for i, t in enumerate(fmt) if t in tags]
    if not idx:
        return line
    alts = fields[4].split(",")
    n = len(alts) + 1
    allowed = _allowed_counts(n)
    samples = [f.split(":") for f in fields[9:]]
    if not any(i < len(v) and v[i] not in (".", "") and v[i].count(",") + 1 not in allowed
               for v in samples for i in idx):
        return line
    gt_at = fmt.index("GT") if "GT" in fmt else None
    out: list[str] = []
    for alt in range(1, n):
        info = []
        for kv in fields[7].split(";") if fields[7] != "." else []:
            key, eq, value = kv.partition("=")
            info.append(f"{key}={_subset(value, numbers.get(('INFO', key), '.'), alt, n, 2)}" if eq else kv)
        cols = [*fields[:4], alts[alt - 1], fields[5], fields[6], ";".join(info) or ".", fields[8]]
        for values in samples:
            gt = values[gt_at] if gt_at is not None and gt_at < len(values) else ""
            new = []
            for j, value in enumerate(values):
                tag = fmt[j] if j < len(fmt) else ""
                if j == gt_at:
                    new.append(_recode_gt(value, alt))
                    continue
                ploidy = _ploidy(gt, value.count(",") + 1, n)
                new.append(_subset(value, numbers.get(("FORMAT", tag), "."), alt, n, ploidy))
            cols.append(":".join(new))
        out.append("\t".join(cols) + "\n")
    for tag in (fmt[i] for i in idx):
        st = stats.setdefault(tag, {"records": 0, "first": None})
        st["records"] += 1
        st["first"] = st["first"] or f"{fields[0]}:{fields[1]}"
    return "".join(out)


_DECIMAL = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$")
_TYPE = re.compile(r"(?:^|,)Type=([^,>]+)")


def header_types(header: str) -> dict[tuple[str, str], str]:
    """(INFO|FORMAT, ID) -> Type, from header text (the first declaration with a Type wins)."""
    out: dict[tuple[str, str], str] = {}
    for key, kind in _declared(header, _TYPE):
        if kind:
            out.setdefault(key, kind)
    return out


def _decimal(value: str) -> bool:
    return any(_DECIMAL.match(v) for v in value.split(",") if v not in (".", ""))


def find_decimal_integers(lines: Iterable[bytes]) -> dict[tuple[str, str], str]:
    """Scan raw VCF text: (INFO|FORMAT, tag) declared Integer with a decimal value -> first location.

    One pass in Python, run only when validation reported values that do not match their Type."""
    header: list[str] = []
    it = iter(lines)
    for raw in it:
        line = raw.decode("utf-8", "surrogateescape")
        header.append(line)
        if line.startswith("#CHROM"):
            break
    types = header_types("".join(header))
    info_int = {t for (k, t), ty in types.items() if k == "INFO" and ty == "Integer"}
    fmt_int = {t for (k, t), ty in types.items() if k == "FORMAT" and ty == "Integer"}
    found: dict[tuple[str, str], str] = {}
    for raw in it:
        fields = raw.decode("utf-8", "surrogateescape").rstrip("\n").split("\t")
        if len(fields) < 8:
            continue
        where = f"{fields[0]}:{fields[1]}"
        for kv in fields[7].split(";"):
            key, eq, value = kv.partition("=")
            if eq and key in info_int and ("INFO", key) not in found and _decimal(value):
                found[("INFO", key)] = where
        if len(fields) > 9 and fmt_int:
            idx = [(i, t) for i, t in enumerate(fields[8].split(":")) if t in fmt_int and ("FORMAT", t) not in found]
            for sample in fields[9:] if idx else ():
                values = sample.split(":")
                for i, tag in idx:
                    if i < len(values) and ("FORMAT", tag) not in found and _decimal(values[i]):
                        found[("FORMAT", tag)] = where
    return found


def text_reader(stream: BinaryIO) -> BinaryIO:
    """Raw VCF bytes from a plain, gzip or BGZF stream (a BufferedReader, so the magic can be peeked)."""
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type]
    if is_gzip(buffered.peek(2)):
        return gzip.GzipFile(fileobj=buffered)  # type: ignore[return-value]
    return buffered


def run_filter(src: BinaryIO, dst: BinaryIO, plan: RepairPlan) -> dict[str, Any]:
    """Copy VCF text from ``src`` to ``dst`` with the plan applied; returns what it changed."""
    header: list[str] = []
    while True:
        raw = src.readline()
        if not raw:
            break
        line = raw.decode("utf-8", "surrogateescape")
        header.append(line)
        if line.startswith("#CHROM"):
            break
    if header and header[-1].startswith("#CHROM"):
        header = repair_header(header, plan)
    dst.write("".join(header).encode("utf-8", "surrogateescape"))
    gstats: dict[str, dict[str, Any]] = {}
    tags = set(plan.genotype_tags)
    if not tags:
        while buf := src.read(CHUNK):
            dst.write(buf)
    else:
        numbers = header_numbers("".join(header))
        for raw in src:
            line = raw.decode("utf-8", "surrogateescape")
            dst.write(split_polyploid(line, tags, numbers, gstats).encode("utf-8", "surrogateescape"))
    dst.flush()
    return {"genotype_tags": gstats}


def main(argv: list[str] | None = None) -> int:
    """``python -m genomics.processing.repair PLAN.json STATS.json [--raw SRC]``: a pipeline stage reading
    VCF text on stdin, or with ``--raw`` the upload's own bytes (plain, gzip or BGZF VCF; ``-`` = stdin)."""
    args = sys.argv[1:] if argv is None else argv
    raw_src = None
    if "--raw" in args:
        i = args.index("--raw")
        raw_src = args[i + 1]
        args = args[:i] + args[i + 2:]
    with open(args[0], encoding="utf-8") as fh:
        plan = RepairPlan.from_json(json.load(fh))
    try:
        if raw_src is None:
            source: BinaryIO = sys.stdin.buffer
        else:
            source = text_reader(sys.stdin.buffer if raw_src == "-" else open(raw_src, "rb"))  # noqa: SIM115
        stats = run_filter(source, sys.stdout.buffer, plan)
    except BrokenPipeError:
        # The reader stopped (its own exit status says why); exit as a SIGPIPE'd stage would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    if len(args) > 1:
        with open(args[1], "w", encoding="utf-8") as fh:
            json.dump(stats, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
