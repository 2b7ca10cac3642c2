"""FASTQ validation: 4-line and multi-line records, compression, pairs, truncation, bad characters."""

from __future__ import annotations

import gzip
import subprocess

import pytest

from genomics.corpus import CORPUS
from genomics.sources import LocalFile
from genomics.validation import validate, validate_path
from tests.unit.helpers import codes, write

GOOD = b"@r1/1 extra\nACGTN\n+\nIIIII\n@r2/1\nGGCC\n+r2/1\n!!~~\n"
MATE = b"@r1/2\nTTTT\n+\nIIII\n@r2/2\nAAAAAA\n+\nIIIIII\n"


def test_fastq_valid_counts_reads(tmp_path):
    report = validate_path(write(tmp_path, "a.fastq", GOOD))
    assert report.valid, report.summary()
    assert report.format == "fastq"
    assert report.stats["reads"] == 2


def test_fastq_multiline_records(tmp_path):
    data = b"@m1\nACGT\nAC\n+\nIII\nIII\n@m2\nA\n+\n@\n"
    report = validate_path(write(tmp_path, "m.fq", data))
    assert report.valid, report.summary()
    assert report.stats["reads"] == 2


def test_fastq_htslib_multiline_corpus_file():
    report = validate_path(str(CORPUS / "fastq/htslib/multiline.fq"))
    assert report.valid, report.summary()
    assert report.stats["reads"] >= 2


def test_fastq_quality_lines_starting_with_at_and_plus(tmp_path):
    data = b"@t1\nACGT\n+\n@III\n@t2\nACGT\n+\n+III\n"
    report = validate_path(write(tmp_path, "t.fq", data))
    assert report.valid, report.summary()
    assert report.stats["reads"] == 2


def test_fastq_zero_length_read(tmp_path):
    report = validate_path(write(tmp_path, "z.fq", b"@z\n\n+\n\n@r\nA\n+\nI\n"))
    assert report.valid, report.summary()
    assert report.stats["reads"] == 2


def test_fastq_rna_bases_accepted(tmp_path):
    assert validate_path(write(tmp_path, "rna.fq", b"@r\nACGUU\n+\nIIIII\n")).valid


def test_fastq_gzip_and_bgzf(tmp_path):
    gz = write(tmp_path, "a.fastq.gz", gzip.compress(GOOD))
    bgz = tmp_path / "a.fastq.bgz"
    bgz.write_bytes(subprocess.run(["bgzip", "-c"], input=GOOD, capture_output=True, check=True).stdout)
    for path, compression in ((gz, "gzip"), (str(bgz), "bgzf")):
        report = validate_path(path)
        assert report.valid, report.summary()
        assert report.stats == {"compression": compression, "reads": 2, "records": 2, "profile": "default"}


def test_fastq_truncated_gzip(tmp_path):
    data = gzip.compress(GOOD * 500)
    report = validate_path(write(tmp_path, "a.fastq.gz", data[: len(data) // 2]))
    assert "FASTQ_COMPRESSION" in codes(report)


@pytest.mark.parametrize(
    ("data", "code", "line"),
    [
        (b"@r1\nACGT\n+\nIII\n", "FASTQ_TRUNCATED", 4),
        (b"@r1\nACGT\n+\nIIIII\n", "FASTQ_QUAL_LENGTH", 4),
        (b"@r1\nACGT\n", "FASTQ_TRUNCATED", 2),
        (b"@r1\n", "FASTQ_TRUNCATED", 1),
        (b"@r1\nAC GT\n+\nIIIII\n", "FASTQ_SEQ_CHARS", 2),
        (b"@r1\nACGT\n+\nII I\n", "FASTQ_QUAL_CHARS", 4),
        (b"@r1\nACGT\n+\nII\x7fI\n", "FASTQ_QUAL_CHARS", 4),
        (b"@r1\nACGT\n+r2\nIIII\n", "FASTQ_PLUS_LINE", 3),
        (b"@r1\nACGT\n+\nIIII\nr2\nA\n+\nI\n", "FASTQ_HEADER", 5),
        (b"@\nACGT\n+\nIIII\n", "FASTQ_EMPTY_NAME", 1),
        (b"@r1\nACGT\n+\nIIII\nIIII\n@r2\nA\n+\nI\n", "FASTQ_HEADER", 5),
        (b"@r1\nACGT\n+\nIIII\n\n@r2\nA\n+\nI\n", "FASTQ_HEADER", 5),
    ],
)
def test_fastq_errors_with_line_numbers(tmp_path, data, code, line):
    report = validate_path(write(tmp_path, "e.fastq", data))
    assert code in codes(report), report.summary()
    issue = next(i for i in report.errors if i.code == code)
    assert issue.line == line, issue
    assert issue.record is not None


def test_fastq_trailing_blank_lines_only_warn(tmp_path):
    report = validate_path(write(tmp_path, "b.fastq", GOOD + b"\n\n"))
    assert report.valid, report.summary()
    assert {w.code for w in report.warnings} == {"FASTQ_BLANK_LINES"}


def test_fastq_crlf_warns(tmp_path):
    report = validate_path(write(tmp_path, "d.fastq", GOOD.replace(b"\n", b"\r\n")))
    assert report.valid, report.summary()
    assert {w.code for w in report.warnings} == {"FASTQ_CRLF"}


def test_fastq_pair_valid(tmp_path):
    r1 = write(tmp_path, "r1.fq", GOOD)
    r2 = write(tmp_path, "r2.fq.gz", gzip.compress(MATE))
    report = validate_path(r1, mate=r2)
    assert report.valid, report.summary()
    assert report.stats["reads"] == 2
    assert report.stats["mate_reads"] == 2


def test_fastq_pair_casava_names(tmp_path):
    r1 = write(tmp_path, "r1.fq", b"@A:1:2 1:N:0:ACGT\nAC\n+\nII\n")
    r2 = write(tmp_path, "r2.fq", b"@A:1:2 2:N:0:ACGT\nGG\n+\nII\n")
    assert validate_path(r1, mate=r2).valid


def test_fastq_pair_corpus_r1_r2():
    report = validate_path(str(CORPUS / "fastq/htslib/r1.fq"), mate=str(CORPUS / "fastq/htslib/r2.fq"))
    assert report.valid, report.summary()


def test_fastq_pair_count_mismatch(tmp_path):
    r1 = write(tmp_path, "r1.fq", GOOD)
    r2 = write(tmp_path, "r2.fq", MATE.split(b"@r2/2")[0])
    report = validate_path(r1, mate=r2)
    assert "FASTQ_PAIR_COUNT" in codes(report)
    assert "2" in report.summary() and "1" in report.summary()


def test_fastq_pair_name_mismatch(tmp_path):
    r1 = write(tmp_path, "r1.fq", GOOD)
    r2 = write(tmp_path, "r2.fq", MATE.replace(b"@r2/2", b"@r9/2"))
    report = validate_path(r1, mate=r2)
    assert codes(report) == {"FASTQ_PAIR_NAME"}
    assert report.errors[0].record == 2


def test_fastq_pair_errors_say_which_file(tmp_path):
    r1 = write(tmp_path, "r1.fq", GOOD)
    r2 = write(tmp_path, "r2.fq", MATE.replace(b"AAAAAA", b"AAAAA"))
    report = validate_path(r1, mate=r2)
    assert "FASTQ_QUAL_LENGTH" in codes(report)
    assert report.errors[0].message.startswith("R2: ")


def test_fastq_mate_not_fastq(tmp_path):
    r1 = write(tmp_path, "r1.fq", GOOD)
    r2 = write(tmp_path, "r2.vcf", b"##fileformat=VCFv4.2\n")
    report = validate_path(r1, mate=r2)
    assert "FASTQ_MATE_FORMAT" in codes(report)


def test_fastq_streams_without_whole_file_reads(tmp_path):
    class Once(LocalFile):
        opened = 0

        def open(self):
            type(self).opened += 1
            return super().open()

    path = write(tmp_path, "big.fq", GOOD * 5000)
    report = validate(Once(path))
    assert report.valid
    assert report.stats["reads"] == 10000
    assert Once.opened == 2  # detection reads the head, validation streams once


def test_fastq_overlong_line_stops_with_clear_error(tmp_path, monkeypatch):
    from genomics.validation import lines

    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 1000)
    data = b"@r1\n" + b"A" * 5000 + b"\n+\n" + b"I" * 5000 + b"\n"
    report = validate_path(write(tmp_path, "long.fq", data))
    assert codes(report) == {"FASTQ_LINE_TOO_LONG"}
    assert report.errors[0].line == 2
