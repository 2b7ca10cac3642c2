"""Real genotypes for identity tests: 1000 Genomes samples from Debian bio-eagle-examples' EUR_test.vcf.gz
(chr21 plus a few chr22 records). Its chr22 records are renamed X so the panel has X sites (the file has no
X); a "male" copy of a sample is made hemizygous there (first allele only). Alignments are reads drawn from
a sample's real genotypes at the panel sites, on a reference that holds random sequence around each
site with the site's REF base (N elsewhere), bgzipped."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")


def source_vcf(tmp: Path) -> Path:
    """EUR_test with 22 renamed X (bgzipped, indexed)."""
    out = tmp / "eur_x.vcf.gz"
    if out.exists():
        return out
    names = tmp / "rename.txt"
    names.write_text("22\tX\n")
    subprocess.run(["bcftools", "annotate", "--no-version", "--rename-chrs", str(names), "-Oz", "-o", str(out),
                    str(EUR)], check=True)
    subprocess.run(["bcftools", "index", "-t", str(out)], check=True)
    return out


def sample_vcf(tmp: Path, source: Path, sample: str, name: str, *, male: bool = False) -> Path:
    """One sample's genotypes (at every site of the source), renamed ``name``; hemizygous X if ``male``."""
    text = subprocess.run(["bcftools", "view", "--no-version", "-s", sample, str(source)], check=True,
                          capture_output=True, text=True).stdout
    lines = []
    for line in text.splitlines():
        if line.startswith("#CHROM"):
            line = "\t".join([*line.split("\t")[:9], name])
        elif not line.startswith("#"):
            f = line.split("\t")
            if male and f[0] == "X":
                f[9] = f[9].replace("|", "/").split("/")[0]
            line = "\t".join(f)
        lines.append(line)
    out = tmp / f"{name}.vcf.gz"
    out.write_bytes(subprocess.run(["bgzip", "-c"], input=("\n".join(lines) + "\n").encode(), check=True,
                                   capture_output=True).stdout)
    subprocess.run(["bcftools", "index", "-f", "-t", str(out)], check=True)
    return out


def panel_sites(panel: Path) -> list[tuple[str, int, str, str]]:
    out = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\n", str(panel)], check=True,
                         capture_output=True, text=True).stdout
    return [(c, int(p), r, a) for c, p, r, a in (ln.split("\t") for ln in out.splitlines())]


def reference(tmp: Path, sites: list[tuple[str, int, str, str]], flank: int = 300, seed: int = 7) -> Path:
    """Contigs 21 and X long enough for the sites: random bases within ``flank`` of each site, the site's
    REF at the site, N elsewhere; bgzipped and faidx-indexed."""
    out = tmp / "ref.fa.gz"
    if out.exists():
        return out
    rng = random.Random(seed)
    seqs: dict[str, bytearray] = {}
    for chrom in dict.fromkeys(c for c, *_ in sites):
        length = max(p for c, p, *_ in sites if c == chrom) + 10 * flank
        seqs[chrom] = bytearray(b"N" * length)
    for chrom, pos, ref, _alt in sites:
        seq = seqs[chrom]
        for i in range(pos - 1 - flank, pos - 1 + flank):
            if seq[i] == ord("N"):
                seq[i] = ord(rng.choice("ACGT"))
        seq[pos - 1] = ord(ref)
    plain = tmp / "ref.fa"
    with open(plain, "wb") as fh:
        for chrom, seq in seqs.items():
            fh.write(f">{chrom}\n".encode())
            for i in range(0, len(seq), 60):
                fh.write(bytes(seq[i:i + 60]) + b"\n")
    subprocess.run(["bgzip", "-f", "--index", str(plain)], check=True)
    subprocess.run(["samtools", "faidx", str(out)], check=True)
    return out


def _genotypes(vcf: Path) -> dict[tuple[str, int], tuple[str, str, list[int]]]:
    out = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT[\t%GT]\n", str(vcf)], check=True,
                         capture_output=True, text=True).stdout
    gts = {}
    for line in out.splitlines():
        c, p, r, a, gt = line.split("\t")
        alleles = [int(x) for x in gt.replace("|", "/").split("/") if x != "."]
        gts[(c, int(p))] = (r, a, alleles)
    return gts


def alignment(tmp: Path, name: str, genotypes_vcf: Path, ref: Path, sites: list[tuple[str, int, str, str]],
              *, depth: int = 24, read_length: int = 100, seed: int = 11) -> Path:
    """A sorted, indexed BAM of ``depth`` reads per panel site drawn from the VCF's genotype there (each
    read carries one of the sample's alleles at random; the rest of the read is the reference)."""
    rng = random.Random(seed)
    fasta = subprocess.run(["samtools", "faidx", str(ref), *{c for c, *_ in sites}], check=True,
                           capture_output=True, text=True).stdout
    seqs: dict[str, str] = {}
    chrom = ""
    parts: dict[str, list[str]] = {}
    for line in fasta.splitlines():
        if line.startswith(">"):
            chrom = line[1:].split()[0]
            parts[chrom] = []
        else:
            parts[chrom].append(line)
    seqs = {c: "".join(p) for c, p in parts.items()}
    gts = _genotypes(genotypes_vcf)
    header = ["@HD\tVN:1.6\tSO:unsorted", *(f"@SQ\tSN:{c}\tLN:{len(s)}" for c, s in seqs.items()),
              f"@RG\tID:{name}\tSM:{name}"]
    records = []
    serial = 0
    for chrom, pos, ref_base, alt in sites:
        if (chrom, pos) not in gts:
            continue
        _r, _a, alleles = gts[(chrom, pos)]
        if not alleles:
            continue
        for _ in range(depth):
            start = pos - rng.randint(5, read_length - 5)  # 1-based read start; the site lies inside
            seq = list(seqs[chrom][start - 1:start - 1 + read_length])
            seq[pos - start] = alt if rng.choice(alleles) == 1 else ref_base
            serial += 1
            records.append("\t".join([f"r{serial}", "0", chrom, str(start), "60", f"{read_length}M", "*", "0", "0",
                                      "".join(seq), "I" * read_length, f"RG:Z:{name}"]))
    bam = tmp / f"{name}.bam"
    sam = "\n".join(header + records) + "\n"
    subprocess.run(["samtools", "sort", "-o", str(bam), "-"], input=sam.encode(), check=True,
                   capture_output=True)
    subprocess.run(["samtools", "index", str(bam)], check=True)
    return bam
