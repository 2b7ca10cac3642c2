"""Focused checks of the VCF validator: one small inline VCF per rule, asserting the code and the line."""

from __future__ import annotations

import gzip
import io
import subprocess
from pathlib import Path

import pytest

from genomics.sources import LocalFile
from genomics.validation import vcf as vcfmod
from genomics.validation.report import ValidationReport
from genomics.validation.vcf import CODES, parse_bcftools_errors, parse_structured, validate_vcf

HEAD = (
    "##fileformat=VCFv4.3\n"
    "##contig=<ID=1,length=1000>\n"
    "##contig=<ID=2,length=1000>\n"
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">\n'
    '##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP">\n'
    '##INFO=<ID=CH,Number=1,Type=Character,Description="One character">\n'
    '##FILTER=<ID=q10,Description="Low quality">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">\n'
    '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred likelihoods">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
)
HEAD_LINES = HEAD.count("\n")  # the first record is on line HEAD_LINES + 1
GOOD = "1\t100\trs1\tA\tG\t50\tPASS\tDP=10;AF=0.5;DB\tGT:GQ:PL\t0/1:30:10,0,20\t1|1:20:30,20,0\n"


def _run(tmp_path: Path, text: str | bytes, name: str = "t.vcf", compression: str = "none") -> ValidationReport:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    report = ValidationReport(str(path), "vcf")
    validate_vcf(LocalFile(str(path)), report, compression=compression)
    return report


def _codes(report: ValidationReport) -> dict[str, int | None]:
    return {i.code: i.line for i in report.errors}


def _warn_codes(report: ValidationReport) -> dict[str, int | None]:
    return {i.code: i.line for i in report.warnings}


def _record(**cols: str) -> str:
    names = ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", "S1", "S2"]
    base = dict(zip(names, GOOD.rstrip("\n").split("\t"), strict=True))
    base.update(cols)
    return "\t".join(base[n] for n in names) + "\n"


# ---------------------------------------------------------------------------------------------- accepted
def test_validate_vcf_accepts_clean_file_and_fills_stats(tmp_path):
    rep = _run(tmp_path, HEAD + GOOD + GOOD.replace("\t100\t", "\t200\t") + GOOD.replace("1\t100", "2\t5", 1))
    assert rep.valid, rep.errors
    assert rep.warnings == []
    assert rep.stats == {"records": 3, "samples": 2, "contigs": ["1", "2"], "fileformat": "VCFv4.3"}


def test_validate_vcf_accepts_symbolic_breakend_star_and_missing_values(tmp_path):
    recs = [
        _record(POS="10", ALT="<DEL>", INFO="DP=.;AF=."),
        _record(POS="20", ALT="G]2:300]", INFO="."),
        _record(POS="30", ALT="]2:400]A", INFO="."),
        _record(POS="40", REF="AC", ALT="A,*", INFO="AF=0.1,0.2", S1="1/2:.:.", S2="./.:.:1,2,3,4,5,6"),
        _record(POS="50", ALT="A.", INFO="."),
        _record(POS="60", QUAL=".", FILTER=".", ID=".", INFO="CH=x", S1=".", S2="0|1"),
    ]
    rep = _run(tmp_path, HEAD + "".join(recs))
    assert rep.valid, rep.errors


def test_validate_vcf_reads_gzip_and_bgzf(tmp_path):
    text = (HEAD + GOOD).encode()
    assert _run(tmp_path, gzip.compress(text), "t.vcf.gz", "gzip").valid
    bgz = subprocess.run(["bgzip", "-c"], input=text, capture_output=True, check=True).stdout
    rep = _run(tmp_path, bgz, "b.vcf.gz", "bgzf")
    assert rep.valid and rep.stats["records"] == 1


def test_validate_vcf_bcf_decoded_through_bcftools(tmp_path):
    src = tmp_path / "in.vcf"
    src.write_text(HEAD + GOOD)
    bcf = tmp_path / "in.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(src)], check=True, capture_output=True)
    rep = ValidationReport(str(bcf), "bcf")
    validate_vcf(LocalFile(str(bcf)), rep, compression="bgzf", is_bcf=True)
    assert rep.valid, rep.errors
    assert rep.stats["records"] == 1 and rep.stats["samples"] == 2
    truncated = tmp_path / "cut.bcf"
    truncated.write_bytes(bcf.read_bytes()[:-40])
    rep2 = ValidationReport(str(truncated), "bcf")
    validate_vcf(LocalFile(str(truncated)), rep2, compression="bgzf", is_bcf=True)
    assert "VCF_BCF_DECODE" in _codes(rep2)


def test_validate_vcf_bcf_garbage_reports_decode_error_only(tmp_path):
    bad = tmp_path / "bad.bcf"
    bad.write_bytes(b"BCF\x02\x02" + b"\x00garbage" * 20)
    rep = ValidationReport(str(bad), "bcf")
    validate_vcf(LocalFile(str(bad)), rep, compression="none", is_bcf=True)
    assert [i.code for i in rep.errors] == ["VCF_BCF_DECODE"]


# ---------------------------------------------------------------------------------------------- input layer
def test_validate_vcf_source_read_failure_propagates():
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            raise ConnectionResetError("network went away")

    class Source:
        name = "s3://b/k"

        def open(self) -> io.BufferedReader:
            return io.BufferedReader(Broken())

        def size(self) -> int | None:
            return None

    # An I/O failure is not a property of the content: it is raised (the workflow retries), not reported.
    with pytest.raises(ConnectionResetError):
        validate_vcf(Source(), ValidationReport("s3://b/k", "vcf"), compression="none")
    with pytest.raises(ConnectionResetError):
        validate_vcf(Source(), ValidationReport("s3://b/k", "bcf"), compression="bgzf", is_bcf=True)


def test_validate_vcf_empty_file(tmp_path):
    assert _codes(_run(tmp_path, "")) == {"VCF_EMPTY": None}


def test_validate_vcf_damaged_gzip(tmp_path):
    data = gzip.compress((HEAD + GOOD * 50).encode())
    rep = _run(tmp_path, data[: len(data) // 2], "t.vcf.gz", "gzip")
    assert "VCF_DECOMPRESS" in _codes(rep)


def test_validate_vcf_binary_garbage_is_not_text(tmp_path):
    rep = _run(tmp_path, b"\xff\xfe\x00garbage\n")
    assert _codes(rep) == {"VCF_NOT_TEXT": 1}


# ---------------------------------------------------------------------------------------------- header
@pytest.mark.parametrize(
    ("first", "code"),
    [
        ("##fileformat=", "VCF_FILEFORMAT_INVALID"),
        ("##fileformat=VCF v4.3", "VCF_FILEFORMAT_INVALID"),
        ("##fileformat=VCFv5.0", "VCF_FILEFORMAT_INVALID"),
    ],
)
def test_validate_vcf_fileformat_line(tmp_path, first, code):
    rep = _run(tmp_path, first + "\n" + HEAD.split("\n", 1)[1] + GOOD)
    assert _codes(rep).get(code) == 1


def test_validate_vcf_missing_fileformat(tmp_path):
    rep = _run(tmp_path, HEAD.split("\n", 1)[1] + GOOD)
    assert _codes(rep)["VCF_FILEFORMAT_MISSING"] == 1


@pytest.mark.parametrize(
    ("meta", "code"),
    [
        ("##Some random text", "VCF_META_INVALID"),
        ('##INFO=<ID=X,Number=1,Type=String,Description="a "quote">', "VCF_META_STRUCTURE"),
        ('##INFO=<ID=X,Number=1,Type=String,Description="never closed>', "VCF_META_STRUCTURE"),
        ("##INFO=<ID=X,Number=1,Type=String>", "VCF_META_REQUIRED_KEY"),
        ('##INFO=<Number=1,ID=X,Type=String,Description="d">', "VCF_META_KEY_ORDER"),
        ('##INFO=<ID=X,Number=B,Type=String,Description="d">', "VCF_META_NUMBER"),
        ('##INFO=<ID=X,Number=1,Type=Text,Description="d">', "VCF_META_TYPE"),
        ('##FORMAT=<ID=X,Number=0,Type=Flag,Description="d">', "VCF_META_TYPE"),
        ("##INFO=<ID=X,Number=1,Type=String,Description=unquoted>", "VCF_META_DESCRIPTION"),
        ('##INFO=<ID=AC,Number=A,Type=Float,Description="d">', "VCF_META_RESERVED"),
        ('##FORMAT=<ID=PL,Number=1,Type=Integer,Description="d">', "VCF_META_RESERVED"),
        ('##INFO=<ID=DP,Number=1,Type=Integer,Description="again">', "VCF_META_DUPLICATE_ID"),
        ("##contig=<ID=chr 1>", "VCF_META_STRUCTURE"),
        ("##contig=<ID=a,b>", "VCF_META_STRUCTURE"),
        ("##contig=<length=10>", "VCF_META_REQUIRED_KEY"),
        ('##ALT=<ID=DEL<1,Description="d">', "VCF_META_STRUCTURE"),
        ("##SAMPLE=<Assay=WholeGenome>", "VCF_META_REQUIRED_KEY"),
        ("##SAMPLE=<ID=1.*,Assay=WholeGenome>", "VCF_META_ID_INVALID"),
        ("##PEDIGREE=<Original=Somebody>", "VCF_META_REQUIRED_KEY"),
        ("##PEDIGREE=<ID=P1,Name_0=Some:thing>", "VCF_META_VALUE"),
        ("##META=<ID=Assay,Type=String,Number=N,Values=[a, b]>", "VCF_META_NUMBER"),
        ("##assembly=", "VCF_META_VALUE"),
        ("##assembly=ftp://8080:8080/not/a/host", "VCF_META_VALUE"),
        ("##pedigreeDB=<>", "VCF_META_VALUE"),
    ],
)
def test_validate_vcf_meta_lines(tmp_path, meta, code):
    # inserted just before the #CHROM line, so it is line HEAD_LINES
    text = HEAD.replace("#CHROM", meta + "\n#CHROM") + GOOD
    rep = _run(tmp_path, text)
    assert _codes(rep).get(code) == HEAD_LINES, rep.errors


def test_validate_vcf_meta_accepts_unknown_and_url_lines(tmp_path):
    extra = [
        '##AnalysisTitle=<"free text, with commas">',
        "##assembly=ftp://user@host:8080/path/file.fa",
        "##pedigreeDB=http://123.0.1.2:8080/db",
        "##contig=<ID=HLA-A*01:01:01:01,length=3503>",
        '##INFO=<ID=AD,Number=.,Type=Integer,Description="older GATK style">',
        '##INFO=<ID=MQ,Number=1,Type=Integer,Description="bcftools mpileup style">',
    ]
    lines = HEAD.split("\n")
    rep = _run(tmp_path, "\n".join([lines[0], *extra, *lines[1:]]) + GOOD)
    # A compatible subset of a reserved definition: nonconforming (strict rejects, default warns).
    assert [(i.code, i.line, i.nonconforming) for i in rep.errors] == [
        ("VCF_META_RESERVED_LOOSE", 6, True), ("VCF_META_RESERVED_LOOSE", 7, True)
    ]
    rep.apply_profile("default")
    assert rep.valid and [(i.code, i.line) for i in rep.warnings] == [
        ("VCF_META_RESERVED_LOOSE", 6), ("VCF_META_RESERVED_LOOSE", 7)
    ]


def test_validate_vcf_older_versions_restrict_alt_ids(tmp_path):
    head = HEAD.replace("VCFv4.3", "VCFv4.1")
    lines = head.split("\n")
    rep = _run(tmp_path, "\n".join([lines[0], '##ALT=<ID=DEL1,Description="d">', *lines[1:]]) + GOOD)
    assert _codes(rep) == {"VCF_META_ID_INVALID": 2}
    lines43 = HEAD.split("\n")
    rep43 = _run(tmp_path, "\n".join([lines43[0], '##ALT=<ID=DEL1,Description="d">', *lines43[1:]]) + GOOD)
    assert rep43.valid


def test_validate_vcf_header_line_columns(tmp_path):
    rep = _run(tmp_path, HEAD.replace("\tPOS\t", "\tPOSITION\t") + GOOD)
    assert _codes(rep)["VCF_HEADER_COLUMNS"] == HEAD_LINES


def test_validate_vcf_duplicate_sample_names(tmp_path):
    rep = _run(tmp_path, HEAD.replace("\tS2\n", "\tS1\n") + GOOD)
    assert _codes(rep) == {"VCF_SAMPLE_NAME": HEAD_LINES}


def test_validate_vcf_missing_chrom_line(tmp_path):
    head = HEAD.rsplit("#CHROM", 1)[0]
    rep = _run(tmp_path, head + "garbage line\n")
    assert _codes(rep)["VCF_HEADER_LINE_INVALID"] == HEAD_LINES
    assert "VCF_HEADER_MISSING" in _codes(rep)


# ---------------------------------------------------------------------------------------------- records
RECORD_CASES = [
    ({"CHROM": "chr 1"}, "VCF_CHROM_INVALID"),
    ({"CHROM": "<1"}, "VCF_CHROM_INVALID"),
    ({"CHROM": "chr:1"}, "VCF_CHROM_INVALID"),
    ({"CHROM": "3"}, "VCF_CONTIG_UNDECLARED"),
    ({"POS": "12a"}, "VCF_POS_INVALID"),
    ({"POS": "."}, "VCF_POS_INVALID"),
    ({"ID": "rs1;"}, "VCF_ID_INVALID"),
    ({"ID": "rs1;rs1"}, "VCF_ID_INVALID"),
    ({"ID": "rs 1"}, "VCF_ID_INVALID"),
    ({"REF": "."}, "VCF_REF_INVALID"),
    ({"REF": "AX"}, "VCF_REF_INVALID"),
    ({"ALT": "J"}, "VCF_ALT_INVALID"),
    ({"ALT": "<<DEL>>"}, "VCF_ALT_INVALID"),
    ({"ALT": "[1:100["}, "VCF_ALT_INVALID"),
    ({"ALT": "G,"}, "VCF_ALT_INVALID"),
    ({"QUAL": "-1"}, "VCF_QUAL_INVALID"),
    ({"QUAL": "abc"}, "VCF_QUAL_INVALID"),
    ({"FILTER": "q10;"}, "VCF_FILTER_INVALID"),
    ({"FILTER": ".;q10"}, "VCF_FILTER_INVALID"),
    ({"FILTER": "0"}, "VCF_FILTER_INVALID"),
    ({"INFO": "DP=1;DP=2"}, "VCF_INFO_DUPLICATE_KEY"),
    ({"INFO": "DP=1;;DB"}, "VCF_INFO_INVALID"),
    ({"INFO": "DP=1 2"}, "VCF_INFO_TYPE"),  # VCF 4.3 allows spaces in INFO values, not in an Integer
    ({"INFO": "9X=1"}, "VCF_INFO_KEY_INVALID"),
    ({"INFO": "DB=yes"}, "VCF_INFO_FLAG_VALUE"),
    ({"INFO": "DP=1.5"}, "VCF_INFO_TYPE"),
    ({"INFO": "AF=abc"}, "VCF_INFO_TYPE"),
    ({"INFO": "CH=xy"}, "VCF_INFO_TYPE"),
    ({"INFO": "DP=1,2"}, "VCF_INFO_NUMBER"),
    ({"INFO": "AF=0.1,0.2"}, "VCF_INFO_NUMBER"),
    ({"INFO": "DP=2147483648"}, "VCF_INTEGER_RANGE"),
    ({"INFO": "DP=-2147483645"}, "VCF_INTEGER_RANGE"),
    ({"INFO": "AC=-1"}, "VCF_VALUE_NEGATIVE"),
    ({"INFO": "CIGAR=0.05"}, "VCF_INFO_TYPE"),
    ({"FORMAT": "GT::GQ"}, "VCF_FORMAT_INVALID"),
    ({"FORMAT": "GT:GQ:GQ"}, "VCF_FORMAT_INVALID"),
    ({"FORMAT": "GT:G%3AS"}, "VCF_FORMAT_INVALID"),
    ({"FORMAT": "GQ:GT", "S1": "30:0/1", "S2": "20:1/1"}, "VCF_FORMAT_GT_NOT_FIRST"),
    ({"S1": "0/1:30:10,0,20:5"}, "VCF_SAMPLE_TOO_MANY_FIELDS"),
    ({"S1": "0/C:30:10,0,20"}, "VCF_GT_INVALID"),
    ({"S1": "0/|1:30:10,0,20"}, "VCF_GT_INVALID"),
    ({"S1": "0/2:30:10,0,20"}, "VCF_GT_ALLELE_RANGE"),
    ({"S1": "0/1:thirty:10,0,20"}, "VCF_SAMPLE_TYPE"),
    ({"S1": "0/1:30:10,0"}, "VCF_SAMPLE_NUMBER"),
    ({"S1": "0/1/1:30:1,2,3"}, "VCF_SAMPLE_NUMBER"),
    ({"S1": "0/1:-3:10,0,20"}, "VCF_VALUE_NEGATIVE"),
    ({"S2": "0/1:30:10,0,20\textra"}, "VCF_COLUMN_COUNT"),
]


@pytest.mark.parametrize(("cols", "code"), RECORD_CASES, ids=[c for _, c in RECORD_CASES])
def test_validate_vcf_record_rules(tmp_path, cols, code):
    # the broken record is the second one, on line HEAD_LINES + 2
    rep = _run(tmp_path, HEAD + GOOD + _record(POS=cols.pop("POS", "150"), **cols))
    assert _codes(rep).get(code) == HEAD_LINES + 2, rep.errors
    assert all(i.record == 2 for i in rep.errors if i.code == code)


def test_validate_vcf_unsorted_and_not_contiguous(tmp_path):
    recs = [GOOD, _record(POS="50"), _record(CHROM="2", POS="1"), _record(POS="500")]
    rep = _run(tmp_path, HEAD + "".join(recs))
    assert _codes(rep) == {"VCF_UNSORTED": HEAD_LINES + 2, "VCF_CONTIG_NOT_CONTIGUOUS": HEAD_LINES + 4}


def test_validate_vcf_unsorted_is_a_warning_from_vcf_4_4(tmp_path):
    rep = _run(tmp_path, HEAD.replace("VCFv4.3", "VCFv4.4") + GOOD + _record(POS="50"))
    assert rep.valid
    assert _warn_codes(rep) == {"VCF_UNSORTED": HEAD_LINES + 2}


def test_validate_vcf_duplicate_after_normalisation(tmp_path):
    recs = [
        _record(POS="123", REF="TAT", ALT="TGT", INFO="."),
        _record(POS="124", REF="A", ALT="G", INFO="."),
    ]
    rep = _run(tmp_path, HEAD + "".join(recs))
    assert _codes(rep) == {"VCF_DUPLICATE_RECORD": HEAD_LINES + 2}
    same = _run(tmp_path, HEAD + GOOD + GOOD)
    assert _codes(same) == {"VCF_DUPLICATE_RECORD": HEAD_LINES + 2}


def test_validate_vcf_no_final_newline(tmp_path):
    rep = _run(tmp_path, HEAD + GOOD + GOOD.replace("\t100\t", "\t200\t").rstrip("\n"))
    assert _codes(rep) == {"VCF_NO_FINAL_NEWLINE": HEAD_LINES + 2}
    assert rep.stats["records"] == 2


def test_validate_vcf_crlf_is_a_warning(tmp_path):
    rep = _run(tmp_path, (HEAD + GOOD).replace("\n", "\r\n"))
    assert rep.valid, rep.errors
    assert _warn_codes(rep) == {"VCF_CRLF": HEAD_LINES + 1}


def test_validate_vcf_undeclared_info_format_are_warnings(tmp_path):
    rec = _record(INFO="DP=3;XX=1", FORMAT="GT:YY", S1="0/1:a", S2="1/1:b")
    rep = _run(tmp_path, HEAD + rec)
    assert rep.valid, rep.errors
    line = HEAD_LINES + 1
    assert _warn_codes(rep) == {"VCF_INFO_UNDECLARED": line, "VCF_FORMAT_UNDECLARED": line}


def test_validate_vcf_undeclared_filter_is_a_warning_even_in_strict(tmp_path):
    """Every spec version only says FILTER names *should* be declared (htslib adds a header line)."""
    rep = _run(tmp_path, HEAD + GOOD + _record(POS="200", FILTER="q10;lowq"))
    rep.apply_profile("strict")
    assert rep.valid
    assert _warn_codes(rep) == {"VCF_FILTER_UNDECLARED": HEAD_LINES + 2}


def test_validate_vcf_reserved_keys_checked_without_declaration(tmp_path):
    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    rep = _run(tmp_path, head + "1\t5\t.\tA\tC\t.\t.\tAN=2.5\n")
    assert _codes(rep) == {"VCF_INFO_TYPE": 3}
    assert _warn_codes(rep) == {"VCF_CONTIG_NOT_IN_HEADER": 3}


def test_validate_vcf_errors_beyond_cap_are_counted(tmp_path):
    recs = "".join(_record(POS=str(100 + i), QUAL="bad") for i in range(30))
    rep = _run(tmp_path, HEAD + recs)
    assert len([i for i in rep.errors if i.code == "VCF_QUAL_INVALID"]) == rep.max_per_code
    assert rep.issue_counts()["VCF_QUAL_INVALID"] == 30


def test_validate_vcf_streams_in_chunks(tmp_path, monkeypatch):
    # With a tiny chunk size records straddle chunk boundaries; results must not change.
    monkeypatch.setattr(vcfmod, "CHUNK", 7)
    recs = "".join(_record(POS=str(100 + i)) for i in range(20))
    rep = _run(tmp_path, HEAD + recs + _record(POS="50"))
    assert rep.stats["records"] == 21
    assert _codes(rep) == {"VCF_UNSORTED": HEAD_LINES + 21}


def test_validate_vcf_reads_only_through_open(tmp_path):
    class Source:
        name = "mem://x.vcf"
        opened = 0

        def open(self) -> io.BytesIO:
            Source.opened += 1
            return io.BytesIO((HEAD + GOOD).encode())

        def size(self) -> int | None:
            return None

    rep = ValidationReport("mem://x.vcf", "vcf")
    validate_vcf(Source(), rep, compression="none")
    assert rep.valid and Source.opened == 1


# ---------------------------------------------------------------------------------------------- helpers
def test_parse_structured_handles_escapes_and_lists():
    got = parse_structured('<ID=X,Description="say \\"hi\\", ok",Values=[a, b]>')
    assert got == [("ID", "X", False), ("Description", 'say "hi", ok', True), ("Values", "[a, b]", False)]


def test_parse_bcftools_errors_drops_warnings():
    stderr = (
        "[W::vcf_parse] Contig '1' is not defined in the header. (Quick workaround: index the file with tabix.)\n"
        "[E::bgzf_read_block] Failed to read BGZF block data at offset 76932\n"
        "Failed to read from -: unknown file type\n"
    )
    assert parse_bcftools_errors(stderr) == [
        "[E::bgzf_read_block] Failed to read BGZF block data at offset 76932",
        "Failed to read from -: unknown file type",
    ]


def test_codes_cover_scanner_codes_and_have_meanings():
    from genomics.validation import _vcfscan

    assert set(_vcfscan.codes()) <= set(CODES)
    assert all(code.startswith("VCF_") and text for code, text in CODES.items())


def test_validate_vcf_overlong_data_line_stops_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(vcfmod, "CHUNK", 16)
    monkeypatch.setattr(vcfmod, "MAX_RECORD_LINE", 64)
    rep = _run(tmp_path, HEAD + GOOD + "1\t200\t" + "A" * 500 + "\n")
    assert _codes(rep) == {"VCF_LINE_TOO_LONG": HEAD_LINES + 2}
    assert rep.stats["records"] == 1


def test_validate_vcf_pos_beyond_declared_contig_length(tmp_path):
    # contig 1 has length 1000: POS 1001 (a telomere, N+1) is allowed, POS 1002 is not
    rep = _run(tmp_path, HEAD + GOOD + _record(POS="1001") + _record(POS="1002"))
    assert _codes(rep) == {"VCF_POS_BEYOND_CONTIG": HEAD_LINES + 3}


def test_validate_vcf_streams_from_s3_object(tmp_path):
    import boto3
    from moto import mock_aws

    from genomics.sources import S3Object

    src = tmp_path / "in.vcf"
    src.write_text(HEAD + GOOD)
    bcf = tmp_path / "in.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(src)], check=True, capture_output=True)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="raw")
        s3.put_object(Bucket="raw", Key="a.vcf.gz", Body=gzip.compress((HEAD + GOOD + "1\t5\t").encode()))
        s3.put_object(Bucket="raw", Key="a.bcf", Body=bcf.read_bytes())
        rep = ValidationReport("s3://raw/a.vcf.gz", "vcf")
        validate_vcf(S3Object(s3, "raw", "a.vcf.gz"), rep, compression="gzip")
        rep_bcf = ValidationReport("s3://raw/a.bcf", "bcf")
        validate_vcf(S3Object(s3, "raw", "a.bcf"), rep_bcf, compression="bgzf", is_bcf=True)
    assert _codes(rep) == {"VCF_COLUMN_COUNT": HEAD_LINES + 2, "VCF_NO_FINAL_NEWLINE": HEAD_LINES + 2}
    assert rep.stats["records"] == 2
    assert rep_bcf.valid, rep_bcf.errors
    assert rep_bcf.stats["samples"] == 2
