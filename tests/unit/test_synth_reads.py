"""genomics.synth reads: the generator behind the reads benchmarks and the alignment scale tests.

Each format is generated small and checked with samtools and our validator: the file is valid, sorted,
indexed, and the pair fields are mutually consistent (every mate's RNEXT/PNEXT points at its mate,
TLEN is the negated mate TLEN), and the realism knobs (duplicates, unmapped mates, clips, indels,
binned qualities) are present.
"""

from __future__ import annotations

import gzip
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from genomics import synth
from genomics.validation import validate_path

CONTIGS = [("chrA", 300_000), ("chrB", 200_000)]
PAIRS = 3000


def _records(path: str, ref: str | None = None) -> list[list[str]]:
    argv = ["samtools", "view"] + (["-T", ref] if ref else []) + [path]
    out = subprocess.run(argv, capture_output=True, check=True).stdout.decode()
    return [line.split("\t") for line in out.splitlines()]


@pytest.fixture(scope="module")
def bam(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = str(tmp_path_factory.mktemp("synth") / "reads.bam")
    return synth.write_reads(out, "bam", PAIRS, CONTIGS, seed=3)


def test_synth_reads_bam_is_valid_sorted_and_indexed(bam: dict[str, str]) -> None:
    report = validate_path(bam["reads"])
    assert report.valid, report.to_json()
    assert report.stats["records"] == 2 * PAIRS
    assert Path(bam["reads"] + ".bai").is_file()
    recs = _records(bam["reads"])
    keys = [(r[2] == "*", {"chrA": 0, "chrB": 1}.get(r[2], 2), int(r[3])) for r in recs]
    assert keys == sorted(keys)
    # Reads fall on both contigs in proportion to their length, unmapped pairs last.
    per_contig = Counter(r[2] for r in recs)
    assert per_contig["chrA"] > per_contig["chrB"] > per_contig["*"] > 0


def test_synth_reads_mate_fields_agree(bam: dict[str, str]) -> None:
    by_name: dict[str, list[list[str]]] = {}
    for r in _records(bam["reads"]):
        by_name.setdefault(r[0], []).append(r)
    assert len(by_name) == PAIRS and all(len(v) == 2 for v in by_name.values())
    for a, b in by_name.values():
        fa, fb = int(a[1]), int(b[1])
        assert fa & 0x1 and fb & 0x1 and (fa & 0xC0) ^ (fb & 0xC0) == 0xC0  # paired, one R1 one R2
        assert bool(fa & 0x4) == bool(fb & 0x8) and bool(fb & 0x4) == bool(fa & 0x8)
        assert bool(fa & 0x10) == bool(fb & 0x20) and bool(fb & 0x10) == bool(fa & 0x20)
        assert (fa & 0x400) == (fb & 0x400)
        if not (fa | fb) & 0x4:  # both mapped: proper pair pointing at each other, TLEN mirrored
            assert fa & 0x2 and fb & 0x2
            assert a[6] == "=" and int(a[7]) == int(b[3]) and int(b[7]) == int(a[3])
            assert int(a[8]) == -int(b[8]) != 0
            left, right = (a, b) if int(a[8]) > 0 else (b, a)
            assert int(left[3]) <= int(right[3])
        else:
            assert int(a[8]) == int(b[8]) == 0


def test_synth_reads_are_realistic(bam: dict[str, str]) -> None:
    recs = _records(bam["reads"])
    flags = [int(r[1]) for r in recs]
    dup = sum(1 for f in flags if f & 0x400) / len(flags)
    unmapped = sum(1 for f in flags if f & 0x4) / len(flags)
    assert 0.01 < dup < 0.06 and 0.002 < unmapped < 0.03
    cigars = " ".join(r[5] for r in recs)
    assert "S" in cigars and "I" in cigars and "D" in cigars
    assert all(len(r[9]) == 150 for r in recs)
    assert set("".join(r[10] for r in recs[:200])) <= set("F:,#")  # NovaSeq-binned qualities
    assert any(r[11:] and r[11] != "NM:i:0" for r in recs if not int(r[1]) & 0x4)
    # The sequence matches the reference where the read is a plain match.
    fasta = Path(bam["reference"]).read_text().split("\n")
    ref = "".join(line for line in fasta[1 : fasta.index(">chrB")])
    plain = [r for r in recs if r[2] == "chrA" and r[5] == "150M" and r[11] == "NM:i:0"]
    assert plain and all(ref[int(r[3]) - 1 : int(r[3]) + 149] == r[9] for r in plain[:100])


def test_synth_reads_cram_decodes_with_its_reference(tmp_path: Path) -> None:
    out = synth.write_reads(str(tmp_path / "reads.cram"), "cram", 500, CONTIGS, seed=4)
    report = validate_path(out["reads"], reference=out["reference"])
    assert report.valid, report.to_json()
    assert len(_records(out["reads"], out["reference"])) == 1000
    assert Path(out["reads"] + ".crai").is_file()


def test_synth_reads_fastq_pair(tmp_path: Path) -> None:
    out = synth.write_reads(str(tmp_path / "s_R1.fastq.gz"), "fastq", 700, CONTIGS, seed=5)
    assert out["mate"].endswith("s_R2.fastq.gz")
    report = validate_path(out["reads"], mate=out["mate"])
    assert report.valid and report.stats["reads"] == 700 and report.stats["mate_reads"] == 700
    with gzip.open(out["reads"], "rt") as fh:
        first = [next(fh).rstrip("\n") for _ in range(4)]
    assert first[0].endswith(" 1:N:0:ACGTACGT") and len(first[1]) == len(first[3]) == 150


def test_synth_reads_sam_text_and_cli(tmp_path: Path) -> None:
    out = tmp_path / "x.sam"
    assert synth.main(["reads", str(out), "--pairs", "200", "--contigs", "2", "--contig-length", "100000"]) == 0
    report = validate_path(str(out))
    assert report.valid and report.stats["records"] == 400
    assert (tmp_path / "x.ref.fa.fai").is_file()
