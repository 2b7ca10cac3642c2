"""Synthetic, spec-valid VCFs and reads of any size, for benchmarks and scale tests (deterministic per seed).

``python -m genomics.synth reads OUT.bam --pairs 1000000`` writes paired reads (SAM, BAM, CRAM or
FASTQ, chosen by the name or ``--format``) and their reference FASTA; see "Reads and alignments" below.

``python -m genomics.synth OUT.vcf --records 1000000 --samples 4 --contigs 3`` writes plain text;
a ``.gz`` name writes BGZF through ``bgzip`` when it is on PATH (plain gzip otherwise).
Records are sorted within each contig; about 10 % are indels and 3 % multiallelic, genotypes are
consistent with the ALT count, and INFO/FORMAT fields match their header declarations.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import heapq
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

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


# ----------------------------------------------------------------------------------------------------
# Reads and alignments
# ----------------------------------------------------------------------------------------------------
#
# ``python -m genomics.synth reads OUT --format sam|bam|cram|fastq --pairs N`` writes paired 150 bp reads
# aligned to a random reference (written next to OUT as OUT's stem + ``.ref.fa``, with its .fai):
#
# * SAM/BAM/CRAM are coordinate-sorted (``@HD SO:coordinate``; BAM and CRAM are indexed), with proper
#   pairs in FR orientation (flags 0x1/0x2/0x40/0x80/0x10/0x20, RNEXT ``=``, PNEXT the mate's POS, TLEN
#   the signed fragment span), ~3 % duplicate fragments (0x400 on both mates), ~1 % pairs with one
#   unmapped mate (placed at the mapped mate's position, 0x4/0x8) and ~0.5 % unmapped pairs at the end
#   (RNAME ``*``); reads carry mismatches, soft clips, 1-3 bp insertions and deletions (NM/AS tags, an
#   RG). Qualities are Illumina-binned (NovaSeq: ``F`` 37, ``:`` 25, ``,`` 11, ``#`` 2).
# * FASTQ writes ``OUT`` (R1) and the R2 file (``_R1`` -> ``_R2`` in the name, else ``.R2`` before the
#   suffix) with CASAVA 1.8 titles; R2 is the reverse complement; ``.gz`` is BGZF through ``bgzip``.
# * BAM/CRAM are converted from the generated SAM text by ``samtools view`` (threads), so a GB-sized
#   file takes about a minute. Every file the generator writes is valid for ``genomics validate``.

READ_LENGTH = 150
_PLAIN_CIGAR = {READ_LENGTH: f"{READ_LENGTH}M"}
_BASE_OF_BYTE = bytes(b"ACGT"[i & 3] for i in range(256))
_REVCOMP = bytes.maketrans(b"ACGTN", b"TGCAN")
_QUAL_BINS = ("F", ":", ",", "#")


def reference(contigs: list[tuple[str, int]], seed: int) -> dict[str, bytes]:
    """Random A/C/G/T sequences, one per contig (deterministic per seed)."""
    rng = random.Random(seed)
    return {name: rng.randbytes(length).translate(_BASE_OF_BYTE) for name, length in contigs}


def write_fasta(path: str, ref: dict[str, bytes], width: int = 60) -> None:
    with open(path, "wb") as fh:
        for name, seq in ref.items():
            fh.write(b">" + name.encode() + b"\n")
            fh.write(b"\n".join(seq[i : i + width] for i in range(0, len(seq), width)) + b"\n")


def _quality_pool(rng: random.Random, n: int, length: int) -> list[str]:
    """Binned quality strings; quality drops towards the 3' end as on real runs."""
    pool = []
    for _ in range(n):
        q = []
        for i in range(length):
            r = rng.random() + 0.25 * i / length
            q.append("F" if r < 0.9 else ":" if r < 1.06 else "," if r < 1.2 else "#")
        pool.append("".join(q))
    return pool


@dataclass(slots=True)
class _Read:
    pos: int  # 0-based leftmost aligned base
    cigar: str
    seq: str
    span: int  # reference bases covered
    nm: int


def _aligned(rng: random.Random, ref: bytes, start: int, rl: int) -> _Read:
    """One read aligned at ``start``: plain, one mismatch, a 5' soft clip, an insertion or a deletion."""
    r = rng.random()
    if r < 0.80:
        return _Read(start, _PLAIN_CIGAR.get(rl) or f"{rl}M", ref[start : start + rl].decode(), rl, 0)
    if r < 0.92:
        s = bytearray(ref[start : start + rl])
        i = rng.randrange(rl)
        s[i] = b"ACGT"[(b"ACGT".index(s[i]) + 1 + rng.randrange(3)) % 4]
        return _Read(start, f"{rl}M", s.decode(), rl, 1)
    if r < 0.95:
        c = rng.randint(3, 30)
        clip = rng.randbytes(c).translate(_BASE_OF_BYTE)
        return _Read(start, f"{c}S{rl - c}M", (clip + ref[start : start + rl - c]).decode(), rl - c, 0)
    a = rng.randint(20, rl - 20)
    k = rng.randint(1, 3)
    if r < 0.975:
        ins = rng.randbytes(k).translate(_BASE_OF_BYTE)
        seq = ref[start : start + a] + ins + ref[start + a : start + rl - k]
        return _Read(start, f"{a}M{k}I{rl - a - k}M", seq.decode(), rl - k, k)
    seq = ref[start : start + a] + ref[start + a + k : start + rl + k]
    return _Read(start, f"{a}M{k}D{rl - a}M", seq.decode(), rl + k, k)


@dataclass(slots=True)
class Fragment:
    """One read pair: ``r1``/``r2`` are None for an unmapped mate; ``seq1``/``seq2`` are the
    sequencer's reads (5'->3'), ``qual1``/``qual2`` their qualities."""

    name: str
    contig: str
    start: int  # 0-based start of the fragment: no later fragment's read starts before it
    r1: _Read | None
    r2: _Read | None
    r1_reverse: bool
    seq1: str
    seq2: str
    qual1: str
    qual2: str
    duplicate: bool
    mapq1: int
    mapq2: int


def fragments(
    pairs: int, contigs: list[tuple[str, int]], ref: dict[str, bytes], seed: int, read_length: int = READ_LENGTH
) -> Iterator[Fragment]:
    """``pairs`` fragments in order of their leftmost position per contig (then unmapped pairs last)."""
    rng = random.Random(seed + 1)
    rnd = rng.random
    rl = read_length
    quals = _quality_pool(rng, 1024, rl)
    nq = len(quals)
    # Pools drawn once (a draw per read from them is several times cheaper than a fresh gauss/choice).
    inserts = [max(rl, min(int(rng.gauss(350, 50)), 800)) for _ in range(4096)]
    total = sum(length for _, length in contigs)
    unmapped_pairs = pairs // 200
    mapped = pairs - unmapped_pairs
    serial = 0
    for ci, (name, length) in enumerate(contigs):
        count = mapped * length // total if ci < len(contigs) - 1 else mapped - serial
        if count <= 0:
            continue
        seq = ref[name]
        last_start = length - 1000 - 2 * rl
        mean_gap = last_start / count
        pos = 0.0
        made = 0
        dup_of: Fragment | None = None
        while made < count:
            if dup_of is not None:
                f = dup_of
                dup_of = None
                serial += 1
                made += 1
                yield Fragment(_qname(serial), f.contig, f.start, f.r1, f.r2, f.r1_reverse, f.seq1, f.seq2,
                               quals[int(rnd() * nq)], quals[int(rnd() * nq)], True, f.mapq1, f.mapq2)  # fmt: skip
                continue
            pos = min(pos + rnd() * 2 * mean_gap, last_start)
            start = int(pos)
            insert = inserts[int(rnd() * 4096)]
            left = _aligned(rng, seq, start, rl)
            right = _aligned(rng, seq, start + insert - rl, rl)
            right.pos = max(start, right.pos)
            r1_reverse = rnd() < 0.5  # R1 maps forward (left) or reverse (right)
            fwd, rev = left.seq, right.seq.encode().translate(_REVCOMP)[::-1].decode()
            q1, q2 = quals[int(rnd() * nq)], quals[int(rnd() * nq)]
            u = rnd()
            mq1 = 60 if u < 0.95 else int((u - 0.95) * 1200)  # 0..59
            u = rnd()
            mq2 = 60 if u < 0.95 else int((u - 0.95) * 1200)
            r1, r2 = (right, left) if r1_reverse else (left, right)
            s1, s2 = (rev, fwd) if r1_reverse else (fwd, rev)
            u = rnd()
            if u < 0.005:
                r2 = None
            elif u < 0.01:
                r1 = None
            serial += 1
            made += 1
            frag = Fragment(_qname(serial), name, start, r1, r2, r1_reverse, s1, s2, q1, q2, False, mq1, mq2)
            if rnd() < 0.03 and made < count:
                dup_of = frag
            yield frag
    for _ in range(unmapped_pairs):
        serial += 1
        s1 = rng.randbytes(rl).translate(_BASE_OF_BYTE).decode()
        s2 = rng.randbytes(rl).translate(_BASE_OF_BYTE).decode()
        yield Fragment(_qname(serial), "*", 0, None, None, False, s1, s2,
                       rng.choice(quals), rng.choice(quals), False, 0, 0)  # fmt: skip


def _qname(serial: int) -> str:
    tile = 1101 + (serial >> 20) % 2000
    return f"A00123:8:HSYNTHXX:1:{tile}:{(serial >> 10) % 32768 + 1000}:{serial % 1024 * 31 + 1000}"


def sam_header(contigs: list[tuple[str, int]], ref: dict[str, bytes]) -> str:
    lines = ["@HD\tVN:1.6\tSO:coordinate"]
    for name, length in contigs:
        md5 = hashlib.md5(ref[name]).hexdigest()
        lines.append(f"@SQ\tSN:{name}\tLN:{length}\tM5:{md5}")
    lines.append("@RG\tID:rg1\tSM:SYNTH1\tLB:lib1\tPL:ILLUMINA\tPU:HSYNTHXX.1")
    lines.append("@PG\tID:genomics.synth\tPN:genomics.synth\tVN:1")
    return "\n".join(lines) + "\n"


def sam_records(frags: Iterable[Fragment]) -> Iterator[tuple[int, str]]:
    """(sort rank, SAM line) in coordinate order; the rank is only used to merge mates."""
    pending: list[tuple[int, int, str]] = []
    seqno = 0
    contig = None
    for f in frags:
        if f.contig != contig:  # a new contig: everything pending sorts before it
            contig = f.contig
            while pending:
                yield 0, heapq.heappop(pending)[2]
        if f.contig == "*":
            dup = 0x400 if f.duplicate else 0
            yield 0, (f"{f.name}\t{77 | dup}\t*\t0\t0\t*\t*\t0\t0\t{f.seq1}\t{f.qual1}\tRG:Z:rg1\n"
                      f"{f.name}\t{141 | dup}\t*\t0\t0\t*\t*\t0\t0\t{f.seq2}\t{f.qual2}\tRG:Z:rg1")  # fmt: skip
            continue
        while pending and pending[0][0] <= f.start:
            yield 0, heapq.heappop(pending)[2]
        for p, line in _pair_lines(f):
            seqno += 1
            heapq.heappush(pending, (p, seqno, line))
    while pending:
        yield 0, heapq.heappop(pending)[2]


def _pair_lines(f: Fragment) -> list[tuple[int, str]]:
    dup = 0x400 if f.duplicate else 0
    c = f.contig
    r1, r2 = f.r1, f.r2
    out: list[tuple[int, str]] = []
    if r1 is not None and r2 is not None:
        lo = min(r1.pos, r2.pos)
        hi = max(r1.pos + r1.span, r2.pos + r2.span)
        tlen = hi - lo
        r1_left = not f.r1_reverse
        t1, t2 = (tlen, -tlen) if r1_left else (-tlen, tlen)
        fl1 = 0x1 | 0x2 | 0x40 | dup | (0x10 if f.r1_reverse else 0x20)
        fl2 = 0x1 | 0x2 | 0x80 | dup | (0x20 if f.r1_reverse else 0x10)
        seq1 = _as_aligned(f.seq1, f.r1_reverse)
        seq2 = _as_aligned(f.seq2, not f.r1_reverse)
        q1 = f.qual1[::-1] if f.r1_reverse else f.qual1
        q2 = f.qual2 if f.r1_reverse else f.qual2[::-1]
        out.append((r1.pos, f"{f.name}\t{fl1}\t{c}\t{r1.pos + 1}\t{f.mapq1}\t{r1.cigar}\t=\t{r2.pos + 1}\t{t1}\t"
                            f"{seq1}\t{q1}\tNM:i:{r1.nm}\tAS:i:{r1.span - 5 * r1.nm}\tRG:Z:rg1"))  # fmt: skip
        out.append((r2.pos, f"{f.name}\t{fl2}\t{c}\t{r2.pos + 1}\t{f.mapq2}\t{r2.cigar}\t=\t{r1.pos + 1}\t{t2}\t"
                            f"{seq2}\t{q2}\tNM:i:{r2.nm}\tAS:i:{r2.span - 5 * r2.nm}\tRG:Z:rg1"))  # fmt: skip
        return out
    # One mate unmapped: it takes the mapped mate's RNAME/POS (SAM spec recommended practice).
    mapped, mseq, mqual, mreverse, mfirst = (
        (r1, f.seq1, f.qual1, f.r1_reverse, True) if r1 is not None
        else (r2, f.seq2, f.qual2, not f.r1_reverse, False)
    )  # fmt: skip
    assert mapped is not None
    useq, uqual = (f.seq2, f.qual2) if mfirst else (f.seq1, f.qual1)
    mfl = 0x1 | 0x8 | dup | (0x40 if mfirst else 0x80) | (0x10 if mreverse else 0)
    ufl = 0x1 | 0x4 | dup | (0x80 if mfirst else 0x40) | (0x20 if mreverse else 0)
    mmapq = f.mapq1 if mfirst else f.mapq2
    p = mapped.pos + 1
    out.append((mapped.pos, f"{f.name}\t{mfl}\t{c}\t{p}\t{mmapq}\t{mapped.cigar}\t=\t{p}\t0\t"
                            f"{_as_aligned(mseq, mreverse)}\t{mqual[::-1] if mreverse else mqual}\t"
                            f"NM:i:{mapped.nm}\tAS:i:{mapped.span - 5 * mapped.nm}\tRG:Z:rg1"))  # fmt: skip
    out.append((mapped.pos, f"{f.name}\t{ufl}\t{c}\t{p}\t0\t*\t=\t{p}\t0\t{useq}\t{uqual}\tRG:Z:rg1"))
    return out


def _as_aligned(read: str, reverse: bool) -> str:
    """SAM SEQ is on the reference's forward strand: a reverse-strand read is stored reverse-complemented."""
    return read.encode().translate(_REVCOMP)[::-1].decode() if reverse else read


def fastq_pair_records(frags: Iterable[Fragment]) -> Iterator[tuple[str, str]]:
    for f in frags:
        yield (f"@{f.name} 1:N:0:ACGTACGT\n{f.seq1}\n+\n{f.qual1}", f"@{f.name} 2:N:0:ACGTACGT\n{f.seq2}\n+\n{f.qual2}")


def mate_path(path: str) -> str:
    """The R2 file written next to an R1 FASTQ."""
    base = os.path.basename(path)
    if "_R1" in base:
        return os.path.join(os.path.dirname(path), base.replace("_R1", "_R2", 1))
    stem, dot, rest = base.partition(".")
    return os.path.join(os.path.dirname(path), f"{stem}.R2{dot}{rest}")


def reference_path(out: str) -> str:
    base = os.path.basename(out)
    stem = base.split(".", 1)[0].replace("_R1", "")
    return os.path.join(os.path.dirname(out) or ".", f"{stem}.ref.fa")


def _batched_write(sink: BinaryIO, lines: Iterable[str], batch: int = 20_000) -> None:
    buf: list[str] = []
    for line in lines:
        buf.append(line)
        if len(buf) >= batch:
            buf.append("")
            sink.write("\n".join(buf).encode())
            buf.clear()
    if buf:
        buf.append("")
        sink.write("\n".join(buf).encode())


@contextlib.contextmanager
def _tool_sink(argv: list[str], out: str | None) -> Iterator[BinaryIO]:
    with contextlib.ExitStack() as stack:
        fh = stack.enter_context(open(out, "wb")) if out is not None else subprocess.DEVNULL
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=fh)
        assert proc.stdin is not None
        try:
            yield proc.stdin
        finally:
            proc.stdin.close()
            rc = proc.wait()
        if rc != 0:
            raise SynthError(f"{' '.join(argv)} exited with {rc}")


class SynthError(RuntimeError):
    """A tool the generator pipes into (samtools, bgzip) failed."""


def write_reads(
    out: str,
    fmt: str,
    pairs: int,
    contigs: list[tuple[str, int]],
    seed: int = 1,
    read_length: int = READ_LENGTH,
    threads: int = 2,
    single: bool = False,
) -> dict[str, str]:
    """Write reads as ``fmt`` (sam, bam, cram, fastq) to ``out``; returns the paths written (``reads``,
    ``reference``, and ``mate`` for FASTQ unless ``single``: R1 only). ``out`` ending in ``.gz`` makes a
    gzip-compatible (BGZF) SAM or FASTQ."""
    ref = reference(contigs, seed)
    ref_path = reference_path(out)
    write_fasta(ref_path, ref)
    subprocess.run([_tool("samtools"), "faidx", ref_path], check=True)
    frags = fragments(pairs, contigs, ref, seed, read_length)
    written = {"reads": out, "reference": ref_path}
    gz = out.endswith(".gz")
    zip_argv = [_tool("bgzip"), "-@", str(threads), "-c"]
    if fmt == "fastq":
        mate = mate_path(out)
        if not single:
            written["mate"] = mate
        with contextlib.ExitStack() as stack:
            sinks = [
                stack.enter_context(_tool_sink(zip_argv, path)) if gz else stack.enter_context(open(path, "wb"))
                for path in ([out] if single else [out, mate])
            ]
            batches: list[list[str]] = [[] for _ in sinks]
            for pair in fastq_pair_records(frags):
                for batch, rec in zip(batches, pair, strict=False):
                    batch.append(rec)
                if len(batches[0]) >= 10_000:
                    for sink, batch in zip(sinks, batches, strict=True):
                        sink.write(("\n".join(batch) + "\n").encode())
                        batch.clear()
            for sink, batch in zip(sinks, batches, strict=True):
                if batch:
                    sink.write(("\n".join(batch) + "\n").encode())
        return written
    header = sam_header(contigs, ref).encode()
    lines = (line for _, line in sam_records(frags))
    if fmt == "sam":
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(_tool_sink(zip_argv, out)) if gz else stack.enter_context(open(out, "wb"))
            sink.write(header)
            _batched_write(sink, lines)
        return written
    if fmt not in ("bam", "cram"):
        raise ValueError(f"unknown reads format {fmt!r}: use sam, bam, cram or fastq")
    argv = [_tool("samtools"), "view", "--no-PG", "-@", str(threads), "-o", out]
    argv += ["-b"] if fmt == "bam" else ["-C", "-T", ref_path]
    argv.append("-")
    with _tool_sink(argv, None) as sink:
        sink.write(header)
        _batched_write(sink, lines)
    subprocess.run([_tool("samtools"), "index", out], check=True)
    return written


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SynthError(f"{name} is not on PATH (Debian package {'tabix' if name == 'bgzip' else name})")
    return path


def reads_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m genomics.synth reads", description="Synthetic paired reads: SAM, BAM, CRAM or FASTQ."
    )
    ap.add_argument("out", help="output path (.sam[.gz], .bam, .cram, .fastq[.gz]); the reference is written beside it")
    ap.add_argument("--format", choices=("sam", "bam", "cram", "fastq"), help="default: from the name")
    ap.add_argument("--pairs", type=int, default=100_000)
    ap.add_argument("--contigs", type=int, default=3)
    ap.add_argument("--contig-length", type=int, default=5_000_000)
    ap.add_argument("--read-length", type=int, default=READ_LENGTH)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="samtools/bgzip compression threads")
    ap.add_argument("--single", action="store_true", help="FASTQ: write R1 only (single-end reads)")
    args = ap.parse_args(argv)
    fmt = args.format or _format_of(args.out)
    contigs = default_contigs(args.contigs, args.contig_length)
    written = write_reads(
        args.out, fmt, args.pairs, contigs, args.seed, args.read_length, args.threads, single=args.single
    )
    for role, path in written.items():
        print(f"{role}\t{path}")
    return 0


def _format_of(path: str) -> str:
    name = path.lower().removesuffix(".gz")
    for suffix, fmt in ((".sam", "sam"), (".bam", "bam"), (".cram", "cram"), (".fastq", "fastq"), (".fq", "fastq")):
        if name.endswith(suffix):
            return fmt
    raise SystemExit(f"cannot tell the reads format from {path!r}: pass --format")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["reads"]:
        return reads_main(argv[1:])
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
