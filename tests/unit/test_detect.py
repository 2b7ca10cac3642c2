"""Format detection by content (magic bytes, gzip vs BGZF, text sniffing) and extension mismatches."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from genomics.corpus import CORPUS
from genomics.sources import LocalFile
from genomics.validation.detect import Detected, detect, sniff_text

SAM = b"@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:100\nr1\t0\tchr1\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n"
FASTQ = b"@r1\nACGT\n+\nIIII\n"
VCF = b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def write(tmp_path: Path, name: str, data: bytes) -> LocalFile:
    p = tmp_path / name
    p.write_bytes(data)
    return LocalFile(str(p))


def bgzip(tmp_path: Path, name: str, data: bytes) -> LocalFile:
    p = tmp_path / name
    p.write_bytes(subprocess.run(["bgzip", "-c"], input=data, capture_output=True, check=True).stdout)
    return LocalFile(str(p))


def codes(issues) -> list[str]:
    return [i.code for i in issues]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("bam/passed/level-1.bam", Detected("bam", "bgzf")),
        ("cram/3.0/passed/0400_mapped.cram", Detected("cram", "none")),
        ("htslib/tabix/vcf_file.bcf", Detected("bcf", "bgzf")),
        ("sam/passed/aux.pass-A.sam", Detected("sam", "none")),
        ("sam/passed/seq.pass2.sam", Detected("sam", "none")),  # header-less SAM
        ("fastq/biopython/passed/example.fastq.gz", Detected("fastq", "gzip")),
        ("fastq/biopython/passed/example.fastq.bgz", Detected("fastq", "bgzf")),
        ("fastq/htslib/multiline.fq", Detected("fastq", "none")),
        ("cram/ce.fa", Detected("fasta", "none")),
    ],
)
def test_detect_corpus_files(path, expected):
    detected, issues = detect(LocalFile(str(CORPUS / path)))
    assert detected == expected
    assert issues == []


def test_detect_bgzf_vs_plain_gzip(tmp_path):
    assert detect(bgzip(tmp_path, "a.vcf.gz", VCF))[0] == Detected("vcf", "bgzf")
    assert detect(write(tmp_path, "b.vcf.gz", gzip.compress(VCF)))[0] == Detected("vcf", "gzip")


def test_detect_plain_gzip_vcf_has_no_issue(tmp_path):
    detected, issues = detect(write(tmp_path, "b.vcf.gz", gzip.compress(VCF)))
    assert detected.format == "vcf"
    assert issues == []


def test_detect_empty_file(tmp_path):
    detected, issues = detect(write(tmp_path, "empty.vcf", b""))
    assert detected.format == "unknown"
    assert codes(issues) == ["FMT_EMPTY"]
    assert "empty" in issues[0].message


def test_detect_empty_gzip(tmp_path):
    _detected, issues = detect(write(tmp_path, "e.fastq.gz", gzip.compress(b"")))
    assert codes(issues) == ["FMT_EMPTY"]


def test_detect_unknown_content(tmp_path):
    detected, issues = detect(write(tmp_path, "x.bin", b"\x00\x01\x02 random binary"))
    assert detected.format == "unknown"
    assert codes(issues) == ["FMT_UNKNOWN"]


def test_detect_damaged_gzip(tmp_path):
    data = bytearray(gzip.compress(FASTQ * 50))
    data[10:40] = b"\xff" * 30  # BTYPE 11 (reserved): the first deflate block is invalid
    _detected, issues = detect(write(tmp_path, "bad.fastq.gz", bytes(data)))
    assert codes(issues) == ["FMT_COMPRESSION"]


def test_detect_extension_mismatch_names_both(tmp_path):
    detected, issues = detect(write(tmp_path, "reads.bam", SAM))
    assert detected.format == "sam"
    assert codes(issues) == ["FMT_EXTENSION_MISMATCH"]
    assert "BAM" in issues[0].message and "SAM" in issues[0].message


def test_detect_fastq_named_vcf(tmp_path):
    detected, issues = detect(write(tmp_path, "calls.vcf", FASTQ))
    assert detected.format == "fastq"
    assert codes(issues) == ["FMT_EXTENSION_MISMATCH"]


def test_detect_gz_extension_on_plain_text(tmp_path):
    detected, issues = detect(write(tmp_path, "calls.vcf.gz", VCF))
    assert detected == Detected("vcf", "none")
    assert codes(issues) == ["FMT_EXTENSION_MISMATCH"]
    assert "uncompressed" in issues[0].message


def test_detect_compressed_content_with_plain_extension(tmp_path):
    detected, issues = detect(write(tmp_path, "reads.fastq", gzip.compress(FASTQ)))
    assert detected == Detected("fastq", "gzip")
    assert codes(issues) == ["FMT_EXTENSION_MISMATCH"]


def test_detect_name_hint_overrides_source_name(tmp_path):
    src = write(tmp_path, "upload-object-key", SAM)
    assert codes(detect(src, name_hint="x.sam")[1]) == []
    assert codes(detect(src, name_hint="x.cram")[1]) == ["FMT_EXTENSION_MISMATCH"]


def test_detect_unknown_extension_is_not_an_issue(tmp_path):
    detected, issues = detect(write(tmp_path, "reads.txt", FASTQ))
    assert detected.format == "fastq"
    assert issues == []


def test_detect_bam_copied_with_cram_name(tmp_path):
    src = tmp_path / "x.cram"
    shutil.copy(CORPUS / "bam/passed/level-1.bam", src)
    detected, issues = detect(LocalFile(str(src)))
    assert detected.format == "bam"
    assert codes(issues) == ["FMT_EXTENSION_MISMATCH"]


def test_detect_tar_of_run_folder(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("run/RunInfo.xml")
        info.size = 9
        tar.addfile(info, io.BytesIO(b"<RunInfo>"))
    assert detect(write(tmp_path, "run.tar", buf.getvalue()))[0] == Detected("bcl", "none")
    assert detect(write(tmp_path, "run.tar.gz", gzip.compress(buf.getvalue())))[0] == Detected("bcl", "gzip")


def test_detect_only_reads_the_head(tmp_path):
    class CountingSource:
        name = "big.fastq"

        def __init__(self) -> None:
            self.read_bytes = 0

        def open(self):
            outer = self

            class Stream(io.RawIOBase):
                def readable(self) -> bool:
                    return True

                def readinto(self, b) -> int:
                    n = len(b)
                    chunk = (FASTQ * (n // len(FASTQ) + 1))[:n]
                    b[:n] = chunk
                    outer.read_bytes += n
                    return n

            return io.BufferedReader(Stream())

        def size(self):
            return None

    src = CountingSource()
    assert detect(src)[0].format == "fastq"  # an endless stream: only the head is read
    assert src.read_bytes < 1 << 20


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (b"##fileformat=VCFv4.3\n", "vcf"),
        (b"@CO\tcomment\n", "sam"),
        (b"@SQ\tSN:x\tLN:1\n", "sam"),
        (b"r\t4\t*\t0\t0\t*\t*\t0\t0\tA\tI\n", "sam"),
        (b"@read1\nACGT\n+\nIIII\n", "fastq"),
        (b">chr1\nACGT\n", "fasta"),
        (b"hello world\n", "unknown"),
    ],
)
def test_detect_sniff_text(text, fmt):
    assert sniff_text(text) == fmt
