"""Fingerprints: the genotypes of one sample at a fixed panel of common biallelic SNPs.

A **panel** is a sites VCF (bgzipped, with its index): CHROM, POS, REF, ALT of common SNPs. It is per stack
(``identity_panel_uri`` + ``identity_panel_assembly`` in genomics.deployment); :func:`build_panel` makes
one from any multi-sample VCF (local mode and tests build it from the 1000 Genomes chr21 file).

A **fingerprint** is one character per panel site, in panel order: ``0`` hom-ref, ``1`` het, ``2`` hom-alt
(a haploid call counts as homozygous), ``.`` not called. It is stored zlib-compressed and base64-encoded
(:func:`encode`), a few hundred bytes for a thousand sites, in the QC table.

How genotypes are obtained, without reading whole files:

* VCF/BCF: ``bcftools view -R panel`` (index jumps; ``-T`` streams when the file has no index) of the
  upload's sample, queried at the panel's alleles;
* BAM/CRAM with its index and the reference: ``bcftools mpileup -f REF -R panel -a AD,DP |
  bcftools call -m -C alleles -T panel`` (only the panel's positions are piled up).

Comparison (:func:`compare`) writes the project's stored fingerprints as one VCF and runs
``bcftools gtcheck -u GT,GT -e 0 -g others.vcf query.vcf`` (discordance = number of mismatching genotypes
over the sites both have called); :func:`parse_gtcheck` reads its output.
"""

from __future__ import annotations

import base64
import os
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from genomics import tools
from genomics.qc import budget

CODES: dict[str, str] = {
    "IDENTITY_PANEL_INVALID": "the identity panel is not a readable sites VCF of biallelic SNPs with an index",
    "IDENTITY_TOOL_FAILED": "bcftools could not genotype or compare the panel (see the tool's message)",
}

# The largest discordance (mismatching / compared genotypes) at which two fingerprints are the same
# individual. Unrelated people differ at ~50-60 % of common-SNP genotypes, first-degree relatives at
# ~25 %; the same person sequenced twice at < 5 % (calling errors at low depth).
MATCH_MAX_DISCORDANCE = 0.10
# Fewer sites compared than this says nothing either way (no finding is raised).
MIN_SITES_COMPARED = 30
# Sex from X: heterozygous fraction of called non-PAR X panel sites.
SEX_MIN_X_SITES = 20
MALE_MAX_X_HET = 0.05
FEMALE_MIN_X_HET = 0.15
# Sex from Y (alignments with an index: samtools idxstats): Y's mapped reads per base relative to X's.
# A male's Y (one copy, ~40 % of it mappable) gives ~0.2-0.5; a female's only mismapped reads, < 0.03.
MALE_MIN_Y_X_DENSITY = 0.10
FEMALE_MAX_Y_X_DENSITY = 0.03
# GRCh37/38 pseudo-autosomal regions of X (the same sites are diploid in males).
PAR_X = {"GRCh38": ((10_001, 2_781_479), (155_701_383, 156_030_895)),
         "GRCh37": ((60_001, 2_699_520), (154_931_044, 155_260_560))}
X_NAMES = ("chrX", "X")


class IdentityError(RuntimeError):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class Site:
    chrom: str
    pos: int
    ref: str
    alt: str


@dataclass(frozen=True)
class Panel:
    """A sites VCF (bgzipped + .tbi/.csi) and its sites in file order."""

    path: str
    sites: tuple[Site, ...]
    assembly: str = ""

    @property
    def digest(self) -> str:
        import hashlib

        h = hashlib.sha256()
        for s in self.sites:
            h.update(f"{s.chrom}\t{s.pos}\t{s.ref}\t{s.alt}\n".encode())
        return h.hexdigest()[:16]


# --------------------------------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------------------------------
def build_panel(source_vcf: str, out: str, *, min_maf: float = 0.2, regions: str | None = None) -> str:
    """Write a panel (sites-only, bgzipped, indexed) of the biallelic SNPs of ``source_vcf`` whose minor
    allele frequency (from its genotypes or AF) is at least ``min_maf``."""
    argv = ["bcftools", "view", "--no-version", "-v", "snps", "-m2", "-M2", "-i", f"MAF>={min_maf}", "-G",
            *(["-r", regions] if regions else []), "-Oz", "-o", out, source_vcf]
    budget.run(argv)
    budget.run(["bcftools", "index", "-f", "-t", out])
    return out


def load_panel(path: str, assembly: str = "") -> Panel:
    """Read a panel's sites; refuse anything but biallelic SNPs (the fingerprint has one code per site)."""
    try:
        text = budget.run(["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\n", path]).stdout.decode()
    except tools.ToolError as e:
        raise IdentityError("IDENTITY_PANEL_INVALID", f"{path}: {e}") from e
    sites = []
    for n, line in enumerate(text.splitlines(), 1):
        chrom, pos, ref, alt = line.split("\t")
        if len(ref) != 1 or len(alt) != 1 or alt in (".", "*"):
            raise IdentityError("IDENTITY_PANEL_INVALID",
                                f"{path} record {n} ({chrom}:{pos} {ref}>{alt}) is not a biallelic SNP")
        sites.append(Site(chrom, int(pos), ref, alt))
    if not sites:
        raise IdentityError("IDENTITY_PANEL_INVALID", f"{path} has no sites")
    if not any(os.path.exists(path + ext) for ext in (".tbi", ".csi")):
        budget.run(["bcftools", "index", "-f", "-t", path])
    return Panel(path, tuple(sites), assembly)


# --------------------------------------------------------------------------------------------------
# Genotype codes
# --------------------------------------------------------------------------------------------------
def gt_code(gt: str) -> str:
    """A VCF GT string (as bcftools query prints it) to 0/1/2/. (haploid 0 -> 0, haploid 1 -> 2)."""
    alleles = gt.replace("|", "/").split("/")
    if any(a in (".", "") for a in alleles):
        return "."
    try:
        values = [int(a) for a in alleles]
    except ValueError:
        return "."
    if any(v > 1 for v in values):
        return "."
    alt = sum(values)
    if len(values) == 1:
        return "2" if alt else "0"
    return "1" if 0 < alt < len(values) else ("2" if alt else "0")


def tgt_code(site: Site, tgt: str) -> str:
    """A genotype as bases (``%TGT``: ``A/G``, ``G``, ``./.``) to 0/1/2/. against the panel's REF and ALT,
    whatever the record's ALT list (gVCF ``<NON_REF>``, other alleles): an allele that is neither the
    panel's REF nor its ALT makes the call unusable (``.``)."""
    alleles = tgt.replace("|", "/").split("/")
    if any(a in (".", "") for a in alleles):
        return "."
    alt = 0
    for a in alleles:
        if a == site.alt:
            alt += 1
        elif a != site.ref:
            return "."
    if len(alleles) == 1:
        return "2" if alt else "0"
    return "1" if 0 < alt < len(alleles) else ("2" if alt else "0")


def encode(codes: str) -> str:
    return base64.b64encode(zlib.compress(codes.encode(), 9)).decode()


def decode(blob: str) -> str:
    return zlib.decompress(base64.b64decode(blob)).decode()


def _codes_from_query(panel: Panel, text: str) -> str:
    """Panel-ordered codes from ``CHROM POS REF TGT`` lines (genotypes as bases, so a record's own ALT list
    does not matter); sites absent, with another REF, or called with other alleles: ``.``."""
    called: dict[tuple[str, int, str], str] = {}
    for line in text.splitlines():
        chrom, pos, ref, tgt = line.split("\t")[:4]
        key = (chrom, int(pos), ref)
        if called.get(key, ".") == ".":  # the first usable call at a position wins
            called[key] = tgt
    out = []
    for s in panel.sites:
        tgt = called.get((s.chrom, s.pos, s.ref))
        out.append(tgt_code(s, tgt) if tgt else ".")
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Genotyping
# --------------------------------------------------------------------------------------------------
def _has_index(path: str, exts: Sequence[str]) -> bool:
    return any(os.path.exists(path + e) for e in exts)


def vcf_samples(path: str) -> list[str]:
    out = budget.run(["bcftools", "query", "-l", path]).stdout.decode()
    return [s for s in out.splitlines() if s]


def fingerprint_vcf(path: str | None, panel: Panel, sample: str, *, stream: BinaryIO | None = None) -> str:
    """Codes of ``sample`` in a VCF/BCF at the panel's sites: a local path (index jumps when indexed), or
    a stream (``path=None``: read once, only the panel's sites kept)."""
    where = ["-R", panel.path] if path and _has_index(path, (".tbi", ".csi")) else ["-T", panel.path]
    with tempfile.TemporaryDirectory(prefix="fp-vcf-") as tmp:
        out = Path(tmp) / "gt.txt"
        _pipeline([["bcftools", "view", "--no-version", *where, "-s", sample, "-Ou", path or "-"],
                   ["bcftools", "query", "-f", "%CHROM\t%POS\t%REF[\t%TGT]\n", "-"]], Path(tmp), out, stream)
        return _codes_from_query(panel, out.read_text())


def fingerprint_alignment(path: str, panel: Panel, reference: str, contigs: Sequence[str] | None = None) -> str:
    """Codes called from a BAM/CRAM at the panel's sites: mpileup of only those positions (index jumps
    when the alignment is indexed), called at the panel's alleles. With ``contigs`` (a scatter shard: an
    indexed, possibly sparse copy holding only those contigs' reads) only their sites are called, the
    others are ``.``: :func:`merge_codes` of the shards equals the single pass (a site's genotype depends
    only on the reads over it, all in one shard)."""
    with tempfile.TemporaryDirectory(prefix="fp-aln-") as tmp:
        if contigs is None:
            where = ["-R", panel.path] if _has_index(path, (".bai", ".csi", ".crai")) else ["-T", panel.path]
        else:
            mine = set(contigs)
            sites = [s for s in panel.sites if s.chrom in mine]
            if not sites:
                return "." * len(panel.sites)
            regions = Path(tmp) / "sites.tsv"
            regions.write_text("".join(f"{s.chrom}\t{s.pos}\n" for s in sites))
            where = ["-R", str(regions)]
        out = Path(tmp) / "gt.txt"
        alleles = _alleles_file(panel, Path(tmp))
        _pipeline([["bcftools", "mpileup", "--no-version", "-f", reference, *where, "-a", "AD,DP",
                    "-q", "20", "-Q", "20", "-Ou", path],
                   ["bcftools", "call", "--no-version", "-m", "-C", "alleles", "-T", str(alleles), "-Ou"],
                   ["bcftools", "query", "-f", "%CHROM\t%POS\t%REF[\t%TGT]\n", "-"]], Path(tmp), out)
        codes = _codes_from_query(panel, out.read_text())
    if contigs is not None:  # a site of another contig called here would be a bug in the regions
        codes = "".join(c if s.chrom in mine else "." for c, s in zip(codes, panel.sites, strict=True))
    return codes


def merge_codes(parts: Sequence[str]) -> str:
    """One fingerprint from shards' (disjoint contigs): per site the one shard's call that is not ``.``."""
    if not parts or len({len(p) for p in parts}) != 1:
        raise IdentityError("IDENTITY_TOOL_FAILED", "shard fingerprints of different panels cannot merge")
    return "".join(next((c for c in column if c != "."), ".") for column in zip(*parts, strict=True))


def _alleles_file(panel: Panel, scratch: Path) -> Path:
    """The panel as ``call -C alleles -T`` wants it: CHROM, POS, REF,ALT (bgzipped, tabix-indexed).
    bcftools 1.16's call crashes (SIGSEGV) when given the sites VCF itself there."""
    text = "".join(f"{s.chrom}\t{s.pos}\t{s.ref},{s.alt}\n" for s in panel.sites)
    path = scratch / "alleles.tsv.gz"
    path.write_bytes(budget.run(["bgzip", "-c"], input_bytes=text.encode()).stdout)
    budget.run(["tabix", "-f", "-s1", "-b2", "-e2", str(path)])
    return path


def _pipeline(stages: list[list[str]], scratch: Path, out: Path, stream: BinaryIO | None = None) -> None:
    """``stages`` piped into ``out``; killed at the invocation's deadline (genomics.qc.budget). A failure
    or a kill is IDENTITY_TOOL_FAILED (QC then reports the identity as not checked, and why)."""
    with budget.Watchdog() as watchdog:
        try:
            with tools.Pipeline(stages, source=stream, stdout_path=out, scratch=scratch, on_start=watchdog.watch):
                pass
        except tools.ToolError as e:
            raise IdentityError("IDENTITY_TOOL_FAILED", str(watchdog.error(e))) from e


# --------------------------------------------------------------------------------------------------
# Sex from X heterozygosity
# --------------------------------------------------------------------------------------------------
def infer_sex(panel: Panel, codes: str, y_x_density: float | None = None) -> dict[str, Any]:
    """``{"sex": "male"|"female"|None, "x_sites", "x_het", "y_x_density", "sex_from"}`` from the heterozygous
    fraction of the called non-PAR X sites (males are hemizygous: their X calls are homozygous) and, for an
    indexed alignment, Y's read density relative to X's. ``None`` when neither decides (fewer than
    SEX_MIN_X_SITES called X sites, a value between the bands) or when X and Y disagree."""
    pars = PAR_X.get(panel.assembly, PAR_X["GRCh38"])
    called = het = 0
    for site, code in zip(panel.sites, codes, strict=False):
        if site.chrom not in X_NAMES or code == "." or any(a <= site.pos <= b for a, b in pars):
            continue
        called += 1
        het += code == "1"
    frac = round(het / called, 4) if called else None
    by_x = None
    if called >= SEX_MIN_X_SITES and frac is not None:
        by_x = "male" if frac <= MALE_MAX_X_HET else "female" if frac >= FEMALE_MIN_X_HET else None
    by_y = None
    if y_x_density is not None:
        by_y = ("male" if y_x_density >= MALE_MIN_Y_X_DENSITY
                else "female" if y_x_density <= FEMALE_MAX_Y_X_DENSITY else None)
    calls = {k: v for k, v in (("X", by_x), ("Y", by_y)) if v}
    sex = next(iter(calls.values())) if len(set(calls.values())) == 1 else None
    return {"sex": sex, "x_sites": called, "x_het": frac, "y_x_density": y_x_density,
            "sex_from": "+".join(calls) if sex else None}


# --------------------------------------------------------------------------------------------------
# gtcheck
# --------------------------------------------------------------------------------------------------
def parse_gtcheck(text: str) -> dict[str, Any]:
    """``bcftools gtcheck`` (1.16) output: ``{"info": {key: int}, "pairs": [{"query", "genotyped",
    "discordance", "log_p_hwe", "sites"}]}``. ``DC`` rows are query sample, genotyped sample,
    discordance (mismatches with ``-e 0``; a PL-based score otherwise), -log P(HWE), sites compared."""
    info: dict[str, int] = {}
    pairs: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split("\t")
        if f[0] == "INFO" and len(f) >= 3 and f[2].strip().lstrip("-").isdigit():
            info[f[1]] = int(f[2])
        elif f[0] == "DC" and len(f) >= 6:
            pairs.append({"query": f[1], "genotyped": f[2], "discordance": float(f[3]),
                          "log_p_hwe": float(f[4]) if f[4] not in ("", "-") else None, "sites": int(f[5])})
    return {"info": info, "pairs": pairs}


def write_vcf(path: Path, panel: Panel, samples: Sequence[tuple[str, str]]) -> None:
    """A bgzipped, indexed VCF of the panel's sites with one column per ``(name, codes)`` (gtcheck reads
    both files in sync, which needs the index)."""
    gts = {"0": "0/0", "1": "0/1", "2": "1/1", ".": "./."}
    contigs = dict.fromkeys(s.chrom for s in panel.sites)
    lines = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c}>" for c in contigs),
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                        *(name for name, _ in samples)])]
    for i, s in enumerate(panel.sites):
        lines.append("\t".join([s.chrom, str(s.pos), ".", s.ref, s.alt, ".", ".", ".", "GT",
                                *(gts[codes[i]] if i < len(codes) else "./." for _, codes in samples)]))
    text = "\n".join(lines) + "\n"
    path.write_bytes(budget.run(["bgzip", "-c"], input_bytes=text.encode()).stdout)
    budget.run(["bcftools", "index", "-f", "-t", str(path)])


def compare(panel: Panel, query: tuple[str, str], others: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Compare one fingerprint ``(label, codes)`` with others (labels unique) by ``bcftools gtcheck``;
    returns one row per other: ``{"label", "discordance", "sites", "fraction", "match"}``."""
    if not others:
        return []
    with tempfile.TemporaryDirectory(prefix="fp-cmp-") as tmp:
        q = Path(tmp) / "query.vcf.gz"
        g = Path(tmp) / "others.vcf.gz"
        write_vcf(q, panel, [query])
        write_vcf(g, panel, others)
        try:
            proc = budget.run(["bcftools", "gtcheck", "-u", "GT,GT", "-e", "0", "--no-HWE-prob",
                              "-g", str(g), str(q)])
        except tools.ToolError as e:
            raise IdentityError("IDENTITY_TOOL_FAILED", str(e)) from e
    parsed = parse_gtcheck(proc.stdout.decode())
    rows = []
    for p in parsed["pairs"]:
        fraction = round(p["discordance"] / p["sites"], 4) if p["sites"] else None
        rows.append({"label": p["genotyped"], "discordance": int(p["discordance"]), "sites": p["sites"],
                     "fraction": fraction,
                     "match": (None if p["sites"] < MIN_SITES_COMPARED or fraction is None
                               else fraction <= MATCH_MAX_DISCORDANCE)})
    return rows


# --------------------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------------------
FINDINGS: dict[str, str] = {
    "IDENTITY_MATCHES_OTHER_SAMPLE": "the upload's genotypes match another sample id of the project "
                                     "(a swap or a duplicate)",
    "IDENTITY_SAME_SAMPLE_MISMATCH": "the upload's genotypes do not match another file of the same sample id "
                                     "(e.g. the alignment and the VCF of one sample come from two people)",
    "IDENTITY_SEX_MISMATCH": "the sex inferred from X heterozygosity disagrees with the sex declared at upload "
                             "(x-amz-meta-sex)",
}


@dataclass(frozen=True)
class Stored:
    """A stored fingerprint of the project: its sample, the file it came from, its kind and codes."""

    sample_id: str
    result_id: str
    kind: str  # "vcf" | "alignment"
    codes: str


CODES.update(FINDINGS)


def findings(panel: Panel, *, sample_id: str, result_id: str, kind: str, codes: str,
             others: Sequence[Stored], declared_sex: str | None = None, y_x_density: float | None = None
             ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The QC findings of one new fingerprint against the project's stored ones (other files of this
    upload's own identity, ``result_id``, are skipped), and ``{"sex", "x_sites", "x_het", "compared"}``."""
    peers = [o for o in others if o.result_id != result_id]
    labels = {f"{o.sample_id}|{o.result_id[:12]}|{i}": o for i, o in enumerate(peers)}
    rows = compare(panel, (sample_id, codes), [(lab, o.codes) for lab, o in labels.items()])
    out: list[dict[str, Any]] = []
    matched_others = sorted({labels[r["label"]].sample_id for r in rows
                             if r["match"] and labels[r["label"]].sample_id != sample_id})
    if matched_others:
        evidence = [_evidence(r, labels[r["label"]]) for r in rows
                    if r["match"] and labels[r["label"]].sample_id != sample_id]
        out.append({"code": "IDENTITY_MATCHES_OTHER_SAMPLE", "samples": [sample_id, *matched_others],
                    "message": f"{kind} of sample {sample_id} has the genotypes of sample(s) "
                               f"{', '.join(matched_others)}: a sample swap or a duplicate under another id",
                    "evidence": evidence})
    mismatched = [r for r in rows if r["match"] is False and labels[r["label"]].sample_id == sample_id]
    if mismatched:
        kinds = sorted({labels[r["label"]].kind for r in mismatched})
        out.append({"code": "IDENTITY_SAME_SAMPLE_MISMATCH", "samples": [sample_id],
                    "message": f"{kind} of sample {sample_id} does not match the sample's own "
                               f"{'/'.join(kinds)} (discordance {mismatched[0]['fraction']:.0%} over "
                               f"{mismatched[0]['sites']} sites): one of them is another person",
                    "evidence": [_evidence(r, labels[r["label"]]) for r in mismatched]})
    sex = infer_sex(panel, codes, y_x_density)
    declared = (declared_sex or "").strip().lower() or None
    declared = {"m": "male", "f": "female"}.get(declared or "", declared)
    if declared in ("male", "female") and sex["sex"] and sex["sex"] != declared:
        out.append({"code": "IDENTITY_SEX_MISMATCH", "samples": [sample_id],
                    "message": f"sample {sample_id} was declared {declared} but its "
                               f"{_sex_evidence(sex)} says {sex['sex']}",
                    "evidence": [sex]})
    summary = {**sex, "declared_sex": declared, "compared": len(rows),
               "sites_called": sum(c != "." for c in codes), "panel_sites": len(panel.sites)}
    return out, summary


def _sex_evidence(sex: Mapping[str, Any]) -> str:
    parts = []
    if "X" in (sex.get("sex_from") or ""):
        parts.append(f"X heterozygosity ({sex['x_het']:.0%} of {sex['x_sites']} X sites)")
    if "Y" in (sex.get("sex_from") or ""):
        parts.append(f"Y/X read density ({sex['y_x_density']})")
    return " and ".join(parts)


def _evidence(row: Mapping[str, Any], other: Stored) -> dict[str, Any]:
    return {"sample_id": other.sample_id, "kind": other.kind, "result_id": other.result_id,
            "discordance": row["discordance"], "sites": row["sites"], "fraction": row["fraction"]}
