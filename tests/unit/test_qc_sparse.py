"""Sparse copies of a reference FASTA (plain and BGZF): only the shard's contigs' bytes, located by the
.fai (and .gzi), are fetched; samtools reads those contigs from the copy exactly as from the whole file."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from genomics.qc import sparse


def _copy(src: Path, ranges: list[list[int]], out: Path) -> int:
    data = src.read_bytes()
    with open(out, "wb") as fh:
        fh.truncate(len(data))
        for a, b in ranges:
            fh.seek(a)
            fh.write(data[a:b])
    return sum(b - a for a, b in ranges)


@pytest.fixture(scope="module")
def fasta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("sparse")
    rng = random.Random(5)
    path = tmp / "ref.fa"
    with open(path, "w") as fh:
        for name, length in (("chr1", 300_001), ("chr2", 250_000), ("chr3", 199_999)):
            seq = "".join(rng.choice("ACGTN") for _ in range(length))
            fh.write(f">{name} test\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, length, 60)))
    subprocess.run(["samtools", "faidx", str(path)], check=True)
    gz = tmp / "ref.fa.gz"
    with open(gz, "wb") as out:
        subprocess.run(["bgzip", "-c", str(path)], check=True, stdout=out)
    subprocess.run(["samtools", "faidx", str(gz)], check=True)
    return path


def _faidx(path: Path, region: str) -> str:
    return subprocess.run(["samtools", "faidx", str(path), region], check=True, capture_output=True,
                          text=True).stdout


@pytest.mark.parametrize("compressed", [False, True])
def test_sparse_reference_holds_only_the_shard_contigs(fasta: Path, tmp_path: Path, compressed: bool) -> None:
    src = Path(str(fasta) + ".gz") if compressed else fasta
    fai = Path(str(src) + ".fai").read_text()
    plain = sparse.fai_ranges(fai, ["chr2"])
    size = src.stat().st_size
    ranges = (sparse.compressed_ranges(plain, sparse.gzi_blocks(Path(str(src) + ".gzi").read_bytes()), size)
              if compressed else [[a, min(b, size)] for a, b in plain])
    copy = tmp_path / src.name
    fetched = _copy(src, ranges, copy)
    for ext in (".fai", ".gzi") if compressed else (".fai",):
        Path(str(copy) + ext).write_bytes(Path(str(src) + ext).read_bytes())
    assert fetched < 0.6 * size  # chr2 is a third of the file (BGZF: whole 64 KiB blocks, the first and EOF)
    for region in ("chr2", "chr2:1-100", "chr2:249901-250000"):
        assert _faidx(copy, region) == _faidx(src, region)
    # chr3's bytes were never fetched (zeros)
    start = next(int(f[2]) for f in (ln.split("\t") for ln in fai.splitlines()) if f[0] == "chr3")
    if not compressed:
        assert copy.read_bytes()[start:start + 1000] == b"\0" * 1000


def test_fai_ranges_cover_the_last_line() -> None:
    # 130 bases in lines of 60 (61 bytes with the newline) from offset 10: 2 full lines + 10 bases + newline
    assert sparse.fai_ranges("c\t130\t10\t60\t61\nd\t5\t200\t60\t61\n", ["c"]) == [(10, 10 + 122 + 10 + 1)]
    assert sparse.fai_ranges("c\t130\t10\t60\t61\n", ["x"]) == []
