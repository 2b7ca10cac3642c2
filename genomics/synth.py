"""Synthetic, spec-valid VCFs of any size, for benchmarks and scale tests (deterministic per seed).

``python -m genomics.synth OUT.vcf --records 1000000 --samples 4 --contigs 3`` writes plain text;
a ``.gz`` name writes BGZF through ``bgzip`` when it is on PATH (plain gzip otherwise).
Records are sorted within each contig; about 10 % are indels and 3 % multiallelic, genotypes are
consistent with the ALT count, and INFO/FORMAT fields match their header declarations.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import TextIO

BASES = "ACGT"


def header(samples: int, contigs: list[tuple[str, int]]) -> list[str]:
    lines = [
        "##fileformat=VCFv4.2",
        "##source=genomics.synth",
        "##reference=synthetic",
        *[f"##contig=<ID={name},length={length}>" for name, length in contigs],
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total depth">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
        '##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP membership">',
        '##FILTER=<ID=q10,Description="Quality below 10">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
    ]
    cols = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
    cols += [f"S{i + 1}" for i in range(samples)]
    lines.append("\t".join(cols))
    return lines


def records(n: int, samples: int, contigs: list[tuple[str, int]], seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    per_contig = [n // len(contigs)] * len(contigs)
    per_contig[0] += n - sum(per_contig)
    gts_bi = ["0/0", "0/1", "1/1", "0|1", "./."]
    for (name, length), count in zip(contigs, per_contig, strict=True):
        if count == 0:
            continue
        # Mean gap at 90 % of the even spacing: positions strictly increase and stay inside the contig.
        step = max(1, int(0.9 * (length - 100) / count))
        pos = 1
        for _ in range(count):
            pos += rng.randint(1, step * 2 - 1) if step > 1 else 1
            if pos > length - 50:
                break
            ref = rng.choice(BASES)
            r = rng.random()
            if r < 0.03:
                alts = [b for b in BASES if b != ref][:2]
            elif r < 0.08:
                alts = [ref + "".join(rng.choice(BASES) for _ in range(rng.randint(1, 4)))]
            elif r < 0.13:
                ref = ref + "".join(rng.choice(BASES) for _ in range(rng.randint(1, 4)))
                alts = [ref[0]]
            else:
                alts = [rng.choice([b for b in BASES if b != ref])]
            n_alt = len(alts)
            af = ",".join(f"{rng.random():.3f}" for _ in alts)
            qual = f"{rng.uniform(1, 200):.1f}"
            filt = "PASS" if float(qual) >= 10 else "q10"
            info = f"DP={rng.randint(5, 400)};AF={af}" + (";DB" if rng.random() < 0.2 else "")
            if n_alt == 1:
                gts = [rng.choice(gts_bi) for _ in range(samples)]
            else:
                gts = [f"{rng.randint(0, n_alt)}/{rng.randint(0, n_alt)}" for _ in range(samples)]
            sample_cols = [f"{gt}:{rng.randint(0, 99)}:{rng.randint(0, 120)}" for gt in gts]
            yield "\t".join(
                [name, str(pos), ".", ref, ",".join(alts), qual, filt, info, "GT:GQ:DP", *sample_cols]
            )


def write(out: TextIO, n: int, samples: int, contigs: list[tuple[str, int]], seed: int = 1) -> None:
    for line in header(samples, contigs):
        out.write(line + "\n")
    for rec in records(n, samples, contigs, seed):
        out.write(rec + "\n")


def default_contigs(count: int, length: int = 250_000_000) -> list[tuple[str, int]]:
    return [(f"chr{i + 1}", length) for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="output path (.vcf, or .vcf.gz for BGZF), - for stdout")
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--contigs", type=int, default=3)
    ap.add_argument("--contig-length", type=int, default=250_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    contigs = default_contigs(args.contigs, args.contig_length)
    if args.out == "-":
        write(sys.stdout, args.records, args.samples, contigs, args.seed)
        return 0
    if args.out.endswith(".gz"):
        bgzip = shutil.which("bgzip")
        with open(args.out, "wb") as fh:
            argv_ = [bgzip, "-c"] if bgzip else ["gzip", "-c"]
            proc = subprocess.Popen(argv_, stdin=subprocess.PIPE, stdout=fh, text=True)
            assert proc.stdin is not None
            write(proc.stdin, args.records, args.samples, contigs, args.seed)
            proc.stdin.close()
            if proc.wait() != 0:
                raise SystemExit(f"{argv_[0]} failed")
        return 0
    with open(args.out, "w") as fh:
        write(fh, args.records, args.samples, contigs, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
