"""The dispatcher: content decides the validator, extension mismatches and empty files are errors,
directories are BCL run folders, the JSON form is what handlers return."""

from __future__ import annotations

import gzip
import json

from genomics.corpus import CORPUS
from genomics.sources import LocalFile
from genomics.validation import validate, validate_path
from tests.unit.helpers import codes, write

SAM = b"@HD\tVN:1.6\n@SQ\tSN:c\tLN:10\nr\t0\tc\t1\t60\t2M\t*\t0\t0\tAC\tII\n"
FASTQ = b"@r\nAC\n+\nII\n"
VCF = (
    b"##fileformat=VCFv4.2\n##contig=<ID=1,length=100>\n"
    b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t5\t.\tA\tC\t.\tPASS\t.\n"
)


def test_dispatch_sam_by_content(tmp_path):
    report = validate_path(write(tmp_path, "a.sam", SAM))
    assert report.format == "sam" and report.valid, report.summary()


def test_dispatch_content_wins_over_extension_and_mismatch_is_an_error(tmp_path):
    report = validate_path(write(tmp_path, "a.fastq", SAM))
    assert report.format == "sam"
    assert codes(report) == {"FMT_EXTENSION_MISMATCH"}
    assert "FASTQ" in report.errors[0].message and "SAM" in report.errors[0].message


def test_dispatch_name_argument_is_the_user_facing_name(tmp_path):
    src = LocalFile(write(tmp_path, "object-key-without-extension", FASTQ))
    assert validate(src, name="reads.fq").valid
    report = validate(src, name="reads.bam")
    assert report.path == "reads.bam"
    assert codes(report) == {"FMT_EXTENSION_MISMATCH"}


def test_dispatch_empty_file(tmp_path):
    report = validate_path(write(tmp_path, "e.fastq", b""))
    assert codes(report) == {"FMT_EMPTY"}
    assert report.format == "unknown"


def test_dispatch_unknown_content(tmp_path):
    report = validate_path(write(tmp_path, "x.dat", b"just some words\nand more\n"))
    assert codes(report) == {"FMT_UNKNOWN"}


def test_dispatch_fasta_is_not_a_data_upload():
    report = validate_path(str(CORPUS / "cram/ce.fa"))
    assert report.format == "fasta"
    assert codes(report) == {"FMT_UNSUPPORTED"}


def test_dispatch_missing_path(tmp_path):
    assert codes(validate_path(str(tmp_path / "nope.bam"))) == {"FMT_NOT_FOUND"}


def test_dispatch_cram_with_reference_from_corpus():
    report = validate_path(
        str(CORPUS / "cram/3.0/passed/0500_mapped.cram"), reference=str(CORPUS / "cram/ce.fa")
    )
    assert report.valid, report.summary()
    assert report.stats["references"]


def test_dispatch_cram_without_needed_reference_is_clear_error():
    report = validate_path(str(CORPUS / "htslib/ce#5b_java.cram"))
    assert "CRAM_REFERENCE_MISSING" in codes(report)


def test_dispatch_fastq_pair(tmp_path):
    r1 = write(tmp_path, "r1.fq", FASTQ)
    r2 = write(tmp_path, "r2.fq", FASTQ)
    report = validate(LocalFile(r1), mate=LocalFile(r2))
    assert report.valid
    assert report.stats["mate_reads"] == 1


def test_dispatch_vcf_goes_to_vcf_validator(tmp_path):
    # Plain-gzip .vcf.gz is valid input; the VCF validator is another module, called with the compression.
    report = validate_path(write(tmp_path, "a.vcf.gz", gzip.compress(VCF)))
    assert report.format == "vcf"
    assert report.stats["compression"] == "gzip"
    assert "FMT_EXTENSION_MISMATCH" not in codes(report)


def test_dispatch_bcl_directory(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    report = validate_path(str(run))
    assert report.format == "bcl"
    assert "BCL_RUNINFO_MISSING" in codes(report)


def test_dispatch_json_shape(tmp_path):
    report = validate_path(write(tmp_path, "a.sam", SAM.replace(b"\t60\t", b"\t999\t")))
    out = json.loads(json.dumps(report.to_json()))
    assert out["valid"] is False
    assert out["format"] == "sam"
    assert out["errors"][0]["code"] == "SAM_MAPQ_INVALID"
    assert out["errors"][0]["line"] == 3
    assert out["errors"][0]["record"] == 1


def test_dispatch_streams_s3_objects(tmp_path):
    import boto3
    from moto import mock_aws

    from genomics.sources import S3Object

    bam = (CORPUS / "bam/passed/level-1.bam").read_bytes()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="raw")
        s3.put_object(Bucket="raw", Key="u/reads.fq.gz", Body=gzip.compress(FASTQ * 3))
        s3.put_object(Bucket="raw", Key="u/aln.bam", Body=bam)
        s3.put_object(Bucket="raw", Key="u/cut.bam", Body=bam[:-28])
        fq = validate(S3Object(s3, "raw", "u/reads.fq.gz"))
        assert fq.valid and fq.stats["reads"] == 3, fq.summary()
        aln = validate(S3Object(s3, "raw", "u/aln.bam"))
        assert aln.valid, aln.summary()
        assert aln.path == "s3://raw/u/aln.bam"
        assert aln.stats["records"] > 0
        cut = validate(S3Object(s3, "raw", "u/cut.bam"))
        assert "BAM_EOF_MISSING" in codes(cut)
