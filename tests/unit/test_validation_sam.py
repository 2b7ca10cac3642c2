"""SAM/BAM/CRAM validation: header and record rules, warnings vs errors, binary decoding via samtools 1.16,
EOF markers, CRAM references (missing, mismatched, not found), streaming."""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
from pathlib import Path

import pytest

from genomics.sources import LocalFile
from genomics.validation import validate, validate_path
from genomics.validation.sam import check_tag_value, parse_samtools_dict, parse_samtools_stderr
from tests.unit.helpers import codes

REF_SEQ = "ACGTACGTTAGGCTAACGTTAGCATCGATCGATTACGGATCCATGCATGCAAGCTTGCAT" * 4  # 240 bp
REF_MD5 = hashlib.md5(REF_SEQ.encode()).hexdigest()


def sam_text(records: list[str], header: str | None = None) -> str:
    if header is None:
        header = f"@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chr1\tLN:{len(REF_SEQ)}\tM5:{REF_MD5}\n@RG\tID:rg1\tSM:s1\n"
    return header + "".join(r + "\n" for r in records)


def rec(
    qname: str = "r1",
    flag: str = "0",
    rname: str = "chr1",
    pos: str = "11",
    mapq: str = "60",
    cigar: str = "8M",
    rnext: str = "*",
    pnext: str = "0",
    tlen: str = "0",
    seq: str | None = None,
    qual: str | None = None,
    tags: str = "",
) -> str:
    if seq is None:
        seq = REF_SEQ[10:18]
    if qual is None:
        qual = "I" * len(seq) if seq != "*" else "*"
    fields = [qname, flag, rname, pos, mapq, cigar, rnext, pnext, tlen, seq, qual]
    return "\t".join(fields) + (f"\t{tags}" if tags else "")


VALID_RECORDS = [
    rec("p1", "99", pos="11", rnext="=", pnext="101", tlen="98"),
    rec("p1", "147", pos="101", rnext="=", pnext="11", tlen="-98", seq=REF_SEQ[100:108]),
    rec("u1", "4", rname="*", pos="0", mapq="0", cigar="*", tags="RG:Z:rg1\tNM:i:0\tXA:A:x\tXB:B:c,-1,2"),
]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def check(tmp_path: Path, records: list[str], header: str | None = None, profile: str = "strict"):
    """Validate SAM text; strict by default: these tests state the specification's rules."""
    return validate_path(str(write(tmp_path, "t.sam", sam_text(records, header))), profile=profile)


def wcodes(report) -> set[str]:
    return {i.code for i in report.warnings}


@pytest.fixture
def reference(tmp_path) -> Path:
    return write(tmp_path, "ref.fa", f">chr1 test\n{REF_SEQ[:120]}\n{REF_SEQ[120:]}\n")


def to_bam(tmp_path: Path, text: str, name: str = "t.bam") -> Path:
    sam = write(tmp_path, name + ".sam", text)
    out = tmp_path / name
    subprocess.run(["samtools", "view", "--no-PG", "-b", "-o", str(out), str(sam)], check=True, capture_output=True)
    return out


def to_cram(tmp_path: Path, text: str, ref: Path, name: str = "t.cram") -> Path:
    sam = write(tmp_path, name + ".sam", text)
    out = tmp_path / name
    subprocess.run(
        ["samtools", "view", "--no-PG", "-C", "-T", str(ref), "-o", str(out), str(sam)],
        check=True,
        capture_output=True,
    )
    return out


# ---------------------------------------------------------------------------------------------------
# SAM text
# ---------------------------------------------------------------------------------------------------


def test_sam_valid_file_accepted_with_stats(tmp_path):
    report = check(tmp_path, VALID_RECORDS)
    assert report.valid, report.summary()
    assert report.format == "sam"
    assert report.stats["records"] == 3
    assert report.stats["references"] == ["chr1"]


def test_sam_headerless_file_accepted(tmp_path):
    report = check(tmp_path, [rec("u1", "4", rname="*", pos="0", mapq="0", cigar="*")], header="")
    assert report.valid, report.summary()


def test_sam_error_carries_line_and_record(tmp_path):
    report = check(tmp_path, [VALID_RECORDS[0], rec("bad", mapq="300")])
    [issue] = report.errors
    assert issue.code == "SAM_MAPQ_INVALID"
    assert issue.line == 5  # 3 header lines, then records on lines 4 and 5
    assert issue.record == 2
    assert "300" in issue.message


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("@HD\tVN:1.6\tSO:sorted\n", "SAM_HD_SORT_ORDER"),
        ("@HD\tVN:one\n", "SAM_HD_VERSION"),
        ("@SQ\tSN:chr1\tLN:10\n@HD\tVN:1.6\n", "SAM_HD_NOT_FIRST"),
        ("@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:0\n", "SAM_SQ_LENGTH"),
        ("@SQ\tSN:chr1\tLN:10\n@SQ\tSN:chr1\tLN:10\n", "SAM_SQ_DUPLICATE"),
        ("@SQ\tSN:chr 1\tLN:10\n", "SAM_SQ_NAME_INVALID"),
        ("@SQ\tLN:10\n", "SAM_SQ_MISSING_TAG"),
        ("@SQ\tSN:c\tLN:10\tM5:ABC\n", "SAM_SQ_MD5"),
        ("@RG\tID:a\n@RG\tID:a\n", "SAM_RG_DUPLICATE"),
        ("@RG\tSM:x\n", "SAM_RG_MISSING_ID"),
        ("@RG\tID:a\tPL:NANOPORE\n", "SAM_RG_PLATFORM"),
        ("@RG\tID:a\tDT:2020-13-01\n", "SAM_RG_DATE"),
        ("@PG\tID:a\tPP:b\n", "SAM_PG_CHAIN"),
        ("@XX\tID:a\n", "SAM_HEADER_TYPE"),
        ("@SQ\tSN:a\tLN:5\tLN:6\n", "SAM_HEADER_DUPLICATE_TAG"),
        ("@SQ\tSN:a\tLN5\n", "SAM_HEADER_SYNTAX"),
    ],
)
def test_sam_header_errors(tmp_path, header, code):
    assert code in codes(check(tmp_path, [], header=header))


def test_sam_header_values_the_spec_allows(tmp_path):
    header = (
        "@HD\tVN:1.6\tSO:coordinate\tGO:query\tSS:coordinate:queryname\n"
        "@SQ\tSN:chr1\tLN:100\tAN:1,CHR1\tTP:circular\tAH:*\n"
        "@RG\tID:a\tPL:illumina\tDT:2020-06-23T12:13:47+01:00\tPI:350\n"
        "@PG\tID:p2\tPP:p1\n@PG\tID:p1\n@CO\tfree text: anything\n"
    )
    report = check(tmp_path, [], header=header)
    assert report.valid, report.summary()
    assert wcodes(report) == {"SAM_NO_RECORDS"}


@pytest.mark.parametrize(
    ("record", "code"),
    [
        (rec(flag="4096"), "SAM_FLAG_INVALID"),
        (rec(flag="0x4"), "SAM_FLAG_INVALID"),
        (rec(qname="a@b"), "SAM_QNAME_INVALID"),
        (rec(qname="x" * 255), "SAM_QNAME_INVALID"),
        (rec(rname="chr9"), "SAM_RNAME_UNKNOWN"),
        (rec(rname="chr(1)"), "SAM_RNAME_INVALID"),
        (rec(pos="-5"), "SAM_POS_INVALID"),
        (rec(mapq="256"), "SAM_MAPQ_INVALID"),
        (rec(cigar="8Q"), "SAM_CIGAR_INVALID"),
        (rec(cigar="9M"), "SAM_CIGAR_SEQ_LENGTH"),
        (rec(cigar="2M1H6M"), "SAM_CIGAR_CLIP_POSITION"),
        (rec(cigar="2M1S5M"), "SAM_CIGAR_CLIP_POSITION"),
        (rec(rnext="chr7", pnext="5"), "SAM_RNEXT_UNKNOWN"),
        (rec(pnext="1.5"), "SAM_PNEXT_INVALID"),
        (rec(tlen="2147483648"), "SAM_TLEN_INVALID"),
        (rec(pos="9" * 5000), "SAM_POS_INVALID"),  # beyond Python's int() digit limit: no crash
        (rec(tags="X1:i:" + "9" * 5000), "SAM_TAG_VALUE"),
        (rec(seq="ACGT ACG", qual="IIIIIIII"), "SAM_SEQ_INVALID"),
        (rec(qual="IIII"), "SAM_QUAL_LENGTH"),
        (rec(qual="III IIII"), "SAM_QUAL_INVALID"),
        (rec(seq="*", qual="IIIIIIII", cigar="*"), "SAM_QUAL_LENGTH"),
        (rec(tags="NM:i:1\tNM:i:2"), "SAM_TAG_DUPLICATE"),
        (rec(tags="NM:I:1"), "SAM_TAG_INVALID"),
        (rec(tags="X1:i:4294967296"), "SAM_TAG_VALUE"),
        (rec(tags="X1:H:ABC"), "SAM_TAG_VALUE"),
        (rec(tags="X1:B:C,256"), "SAM_TAG_VALUE"),
        ("r1\t0\tchr1\t11\t60\t8M", "SAM_FIELD_COUNT"),
    ],
)
def test_sam_record_errors(tmp_path, record, code):
    report = check(tmp_path, [VALID_RECORDS[0], record])
    assert code in codes(report), report.summary()


def test_sam_blank_lines_are_errors_inside_and_at_the_end(tmp_path):
    inside = check(tmp_path, [VALID_RECORDS[0], "", VALID_RECORDS[1]])
    assert codes(inside) == {"SAM_BLANK_LINE"}
    assert inside.errors[0].line == 5
    # samtools 1.16 stops with a parse error at an empty last line too: QC could not read the file.
    trailing = check(tmp_path, [*VALID_RECORDS, "", ""], profile="default")
    assert codes(trailing) == {"SAM_TRAILING_BLANK"}
    assert trailing.errors[0].line == 7
    assert trailing.stats["records"] == 3
    path = write(tmp_path, "tb.sam", sam_text([*VALID_RECORDS, ""]))
    assert subprocess.run(["samtools", "view", "-o", "/dev/null", str(path)], capture_output=True).returncode != 0


def test_sam_header_line_after_records(tmp_path):
    report = check(tmp_path, [VALID_RECORDS[2], "@CO\tlate"], profile="default")
    assert codes(report) == {"SAM_HEADER_AFTER_RECORDS"}  # htslib cannot parse it: rejected by default too


def test_sam_record_with_at_qname_after_records_is_nonconforming(tmp_path):
    # A read name kept with its FASTQ '@': htslib reads the line as a record; strict rejects it.
    late = rec("@r9", "4", rname="*", pos="0", mapq="0", cigar="*")
    strict = check(tmp_path, [VALID_RECORDS[2], late])
    assert codes(strict) == {"SAM_HEADER_AFTER_RECORDS", "SAM_QNAME_INVALID"}
    default = check(tmp_path, [VALID_RECORDS[2], late, rec("bad", mapq="999")], profile="default")
    assert codes(default) == {"SAM_MAPQ_INVALID"}  # the rest is still checked, record numbers kept
    assert {"SAM_HEADER_AFTER_RECORDS", "SAM_QNAME_INVALID"} <= wcodes(default)
    assert default.errors[0].record == 3 and default.stats["records"] == 3


def test_sam_reference_names_the_spec_excludes_are_nonconforming(tmp_path):
    header = f"@HD\tVN:1.6\n@SQ\tSN:chr(1)\tLN:{len(REF_SEQ)}\n@SQ\tSN:chr2\tLN:{len(REF_SEQ)}\n"
    records = [rec("a", "1", rname="chr(1)", rnext="chr(1)", pnext="20"), rec("b", rname="chr2")]
    strict = check(tmp_path, records, header=header)
    assert codes(strict) == {"SAM_SQ_NAME_INVALID", "SAM_RNAME_INVALID", "SAM_RNEXT_INVALID"}
    default = check(tmp_path, records, header=header, profile="default")
    assert default.valid, default.summary()
    assert {"SAM_SQ_NAME_INVALID", "SAM_RNAME_INVALID", "SAM_RNEXT_INVALID"} <= wcodes(default)
    # A name no @SQ line defines stays an error in every profile.
    unknown = check(tmp_path, [rec("c", rname="chr[9]")], header=header, profile="default")
    assert codes(unknown) == {"SAM_RNAME_INVALID"}


def test_sam_coordinate_sort_order_violated_is_nonconforming_and_marks_unsorted(tmp_path):
    header = f"@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:{len(REF_SEQ)}\n"
    ok = check(tmp_path, [rec("a", pos="5"), rec("b", pos="9")], header=header, profile="default")
    assert ok.stats["coordinate_sorted"] is True and ok.stats["sort_order"] == "coordinate"
    bad = check(tmp_path, [rec("a", pos="9"), rec("b", pos="5")], header=header, profile="default")
    assert bad.valid and "SAM_SORT_ORDER_VIOLATED" in wcodes(bad)
    assert bad.stats["coordinate_sorted"] is False  # the router must not trust SO
    unsorted = check(tmp_path, [rec("a", pos="9"), rec("b", pos="5")], profile="default")
    assert unsorted.stats["coordinate_sorted"] is False and unsorted.stats["sort_order"] == "unsorted"


@pytest.mark.parametrize(
    ("record", "warning"),
    [
        (rec("u", "4", cigar="8M", mapq="10"), "SAM_UNMAPPED_FIELDS"),
        (rec("m", "0", cigar="*"), "SAM_MAPPED_FIELDS"),
        (rec("f", "2"), "SAM_FLAG_INCONSISTENT"),
        (rec("e", "0", pos=str(len(REF_SEQ) - 2)), "SAM_ALIGNMENT_PAST_END"),
        (rec("s", "4", rname="*", pos="0", mapq="0", cigar="*", seq="acgu", qual="IIII"), "SAM_SEQ_NONSTANDARD"),
        (rec("t", "0", tlen="50"), "SAM_MATE_FIELDS"),
    ],
)
def test_sam_picard_style_findings_are_warnings(tmp_path, record, warning):
    report = check(tmp_path, [record])
    assert report.valid, report.summary()
    assert warning in wcodes(report)


def test_sam_records_without_sq_lines_warn(tmp_path):
    report = check(tmp_path, [rec("a"), rec("b")], header="@HD\tVN:1.6\n")
    assert report.valid, report.summary()
    assert [w.code for w in report.warnings].count("SAM_NO_SQ_HEADER") == 1


def test_sam_coordinate_sort_order_checked(tmp_path):
    header = f"@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:{len(REF_SEQ)}\n"
    ok = check(tmp_path, [rec("a", pos="5"), rec("b", pos="9"), VALID_RECORDS[2]], header=header)
    assert ok.valid, ok.summary()
    bad = check(tmp_path, [rec("a", pos="9"), rec("b", pos="5")], header=header)
    assert codes(bad) == {"SAM_SORT_ORDER_VIOLATED"}


def test_sam_gzip_and_bgzf_compressed(tmp_path):
    text = sam_text(VALID_RECORDS).encode()
    gz = write(tmp_path, "t.sam.gz", gzip.compress(text))
    bgz = tmp_path / "b.sam.gz"
    bgz.write_bytes(subprocess.run(["bgzip", "-c"], input=text, capture_output=True, check=True).stdout)
    for path in (gz, bgz):
        report = validate_path(str(path))
        assert report.valid, report.summary()
        assert report.stats["records"] == 3


def test_sam_truncated_gzip(tmp_path):
    data = gzip.compress(sam_text(VALID_RECORDS * 200).encode())
    report = validate_path(str(write(tmp_path, "t.sam.gz", data[: len(data) // 2])))
    assert "SAM_COMPRESSION" in codes(report)


def test_sam_overlong_line_stops_with_clear_error(tmp_path, monkeypatch):
    from genomics.validation import lines

    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 200)
    long_seq = REF_SEQ[:200]
    report = check(tmp_path, [VALID_RECORDS[0], rec("x", cigar="200M", seq=long_seq)])
    assert codes(report) == {"SAM_LINE_TOO_LONG"}
    assert report.errors[0].line == 5


def test_sam_crlf_line_endings_warn(tmp_path):
    path = write(tmp_path, "t.sam", sam_text(VALID_RECORDS).replace("\n", "\r\n"))
    report = validate_path(str(path))
    assert report.valid, report.summary()
    assert "SAM_CRLF" in wcodes(report)


@pytest.mark.parametrize(
    ("typ", "value", "ok"),
    [
        ("A", "!", True),
        ("A", "ab", False),
        ("i", "-2147483648", True),
        ("i", "4294967295", True),
        ("i", "4294967296", False),
        ("i", "1.0", False),
        ("f", ".5", True),
        ("f", "1e-10", True),
        ("f", "3.402823466E+38", True),
        ("f", "3.5e38", False),
        ("f", "1E-46", False),
        ("f", "nan", False),
        ("f", "5.", False),
        ("Z", "any text", True),
        ("Z", "tab\x0b", False),
        ("H", "", True),
        ("H", "1AE3", True),
        ("H", "1ae3", False),
        ("B", "i", True),
        ("B", "c,-128,127", True),
        ("B", "c,128", False),
        ("B", "f,1.5,-2", True),
        ("B", "F,1", False),
    ],
)
def test_sam_tag_values(typ, value, ok):
    assert (check_tag_value(typ, value) is None) == ok


# ---------------------------------------------------------------------------------------------------
# BAM
# ---------------------------------------------------------------------------------------------------


def test_bam_valid(tmp_path):
    report = validate_path(str(to_bam(tmp_path, sam_text(VALID_RECORDS))))
    assert report.valid, report.summary()
    assert report.format == "bam"
    assert report.stats["records"] == 3
    assert report.stats["references"] == ["chr1"]


def test_bam_record_errors_use_record_numbers(tmp_path):
    # samtools writes a BAM whose text form breaks the spec: an unknown platform in @RG.
    header = f"@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:{len(REF_SEQ)}\n@RG\tID:a\tPL:FLUX\n"
    report = validate_path(str(to_bam(tmp_path, sam_text(VALID_RECORDS[:2], header))))
    assert codes(report) == {"SAM_RG_PLATFORM"}
    issue = report.errors[0]
    assert issue.line is None  # no physical lines in a binary file
    assert "header line 3" in issue.message


def test_bam_truncated_missing_eof(tmp_path):
    bam = to_bam(tmp_path, sam_text(VALID_RECORDS))
    data = bam.read_bytes()
    cut = write(tmp_path, "cut.bam", data[:-28])
    report = validate_path(str(cut))
    assert "BAM_EOF_MISSING" in codes(report)


def test_bam_truncated_inside_data(tmp_path):
    bam = to_bam(tmp_path, sam_text(VALID_RECORDS * 50))
    data = bam.read_bytes()
    report = validate_path(str(write(tmp_path, "cut.bam", data[: len(data) // 2])))
    assert not report.valid
    assert codes(report) & {"BAM_EOF_MISSING", "BAM_DECODE"}


def test_parse_samtools_stderr_truncated_bam():
    # Captured from Debian samtools 1.16 `samtools view -h --no-PG -` on a BAM cut in half.
    captured = (
        "[W::bam_hdr_read] EOF marker is absent. The input is probably truncated\n"
        "[E::bgzf_read_block] Failed to read BGZF block data at offset 778935 expected 2416 bytes; "
        "hread returned 691\n"
        "[E::bgzf_read] Read block operation failed with error 4 after 0 of 4 bytes\n"
        'samtools view: error reading file "-"\n'
        'samtools view: error closing "-": -1\n'
    )
    parsed = parse_samtools_stderr(captured)
    assert parsed["warnings"] == ["[W::bam_hdr_read] EOF marker is absent. The input is probably truncated"]
    assert len(parsed["errors"]) == 4
    assert parsed["reference_problem"] is False
    assert "Read block operation failed" in parsed["summary"]
    assert "EOF marker" not in parsed["summary"]


def test_parse_samtools_stderr_cram_without_reference():
    # Captured from Debian samtools 1.16 on the corpus' htslib/ce#5b_java.cram with no reference.
    captured = (
        "[E::cram_get_ref] Failed to populate reference for id 0\n"
        "[E::cram_decode_slice] Unable to fetch reference #0:2-102\n"
        "\n"
        "[E::cram_next_slice] Failure to decode slice\n"
        'samtools view: error reading file "-": No such file or directory\n'
    )
    parsed = parse_samtools_stderr(captured)
    assert parsed["reference_problem"] is True
    assert parsed["warnings"] == []


def test_parse_samtools_stderr_only_warnings():
    parsed = parse_samtools_stderr("[W::sam_hdr_create] Duplicated sequence 'x'\n")
    assert parsed["errors"] == []
    assert parsed["summary"] == "[W::sam_hdr_create] Duplicated sequence 'x'"


# ---------------------------------------------------------------------------------------------------
# CRAM
# ---------------------------------------------------------------------------------------------------


def test_cram_valid_with_reference(tmp_path, reference):
    cram = to_cram(tmp_path, sam_text(VALID_RECORDS), reference)
    report = validate_path(str(cram), reference=str(reference))
    assert report.valid, report.summary()
    assert report.format == "cram"
    assert report.stats["records"] == 3


def test_cram_reference_missing_is_a_clear_error(tmp_path, reference):
    cram = to_cram(tmp_path, sam_text(VALID_RECORDS), reference)
    reference.unlink()  # the @SQ UR the CRAM records no longer resolves, as on another machine
    (tmp_path / "ref.fa.fai").unlink(missing_ok=True)
    report = validate_path(str(cram))
    assert codes(report) == {"CRAM_REFERENCE_MISSING"}
    assert "reference" in report.errors[0].message


def test_cram_reference_mismatch(tmp_path, reference):
    cram = to_cram(tmp_path, sam_text(VALID_RECORDS), reference)
    other = write(tmp_path, "other.fa", ">chr1\n" + REF_SEQ[::-1] + "\n")
    report = validate_path(str(cram), reference=str(other))
    assert "CRAM_REFERENCE_MISMATCH" in codes(report)
    assert REF_MD5 in report.summary()


def test_cram_reference_lacking_the_sequence(tmp_path, reference):
    cram = to_cram(tmp_path, sam_text(VALID_RECORDS), reference)
    other = write(tmp_path, "other.fa", ">chrX\n" + REF_SEQ + "\n")
    report = validate_path(str(cram), reference=str(other))
    assert "CRAM_REFERENCE_MISMATCH" in codes(report)


def test_cram_reference_path_not_found(tmp_path, reference):
    cram = to_cram(tmp_path, sam_text(VALID_RECORDS), reference)
    report = validate_path(str(cram), reference=str(tmp_path / "nope.fa"))
    assert "CRAM_REFERENCE_NOT_FOUND" in codes(report)


def test_cram_reference_that_is_not_fasta(tmp_path, reference):
    cram = to_cram(tmp_path, sam_text(VALID_RECORDS), reference)
    junk = write(tmp_path, "junk.fa", b"this is not a fasta file\n")
    report = validate_path(str(cram), reference=str(junk))
    assert not report.valid
    assert codes(report) & {"CRAM_REFERENCE_MISMATCH", "CRAM_REFERENCE_NOT_FOUND"}


def test_parse_samtools_dict_captured_output():
    # Captured from Debian samtools 1.16 `samtools dict` on the corpus' cram/ce.fa (first lines).
    captured = (
        "@HD\tVN:1.0\tSO:unsorted\n"
        "@SQ\tSN:CHROMOSOME_I\tLN:1009800\tM5:8ede36131e0dbf3417807e48f77f3ebd\t"
        "UR:file:///work/shared/corpus/cram/ce.fa\n"
        "@SQ\tSN:CHROMOSOME_II\tLN:5000\tM5:8e7993f7a93158587ee897d7287948ec\t"
        "UR:file:///work/shared/corpus/cram/ce.fa\n"
    )
    assert parse_samtools_dict(captured) == {
        "CHROMOSOME_I": (1009800, "8ede36131e0dbf3417807e48f77f3ebd"),
        "CHROMOSOME_II": (5000, "8e7993f7a93158587ee897d7287948ec"),
    }


def test_cram_truncated_missing_eof(tmp_path, reference):
    cram = to_cram(tmp_path, sam_text(VALID_RECORDS), reference)
    data = cram.read_bytes()
    cut = str(write(tmp_path, "cut.cram", data[:-38]))
    report = validate_path(cut, reference=str(reference), profile="strict")
    assert "CRAM_EOF_MISSING" in codes(report)
    # htslib reads it with a warning: the default profile accepts it, the warning says what is missing.
    default = validate_path(cut, reference=str(reference))
    assert default.valid, default.summary()
    assert "CRAM_EOF_MISSING" in {i.code for i in default.warnings} and default.stats["records"] == 3
    # Cut inside a container: it cannot be decoded, whatever the profile.
    broken = validate_path(str(write(tmp_path, "cut2.cram", data[:-80])), reference=str(reference))
    assert not broken.valid


def test_cram_reference_not_written_next_to(tmp_path, reference):
    # htslib builds a .fai when it is missing; it must go to scratch space, never beside the input.
    cram = to_cram(tmp_path, sam_text(VALID_RECORDS), reference)
    (tmp_path / "ref.fa.fai").unlink(missing_ok=True)
    ro = tmp_path / "ro"
    ro.mkdir()
    ref = ro / "ref.fa"
    ref.write_bytes(reference.read_bytes())
    ro.chmod(0o555)
    try:
        report = validate_path(str(cram), reference=str(ref))
    finally:
        ro.chmod(0o755)
    assert report.valid, report.summary()
    assert not (ro / "ref.fa.fai").exists()


# ---------------------------------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------------------------------


class NoSlurpSource:
    """A LocalFile whose streams refuse unbounded read() calls: validators must stream."""

    def __init__(self, path: Path) -> None:
        self._inner = LocalFile(str(path))

    @property
    def name(self) -> str:
        return self._inner.name

    def size(self) -> int | None:
        return self._inner.size()

    def open(self):
        inner = self._inner.open()

        class Guard(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def readinto(self, b) -> int:
                data = inner.read(len(b))
                b[: len(data)] = data
                return len(data)

            def read(self, n: int = -1) -> bytes:
                assert n is not None and n >= 0, "unbounded read(): the whole file would be in memory"
                assert n <= 1 << 22, f"read({n}) is not a bounded chunk"
                return super().read(n)

            def close(self) -> None:
                inner.close()
                super().close()

        return Guard()


@pytest.mark.parametrize("kind", ["sam", "sam.gz", "bam", "cram"])
def test_sam_family_reads_in_bounded_chunks(tmp_path, reference, kind):
    text = sam_text(VALID_RECORDS * 20)
    if kind == "sam":
        path = write(tmp_path, "t.sam", text)
    elif kind == "sam.gz":
        path = write(tmp_path, "t.sam.gz", gzip.compress(text.encode()))
    elif kind == "bam":
        path = to_bam(tmp_path, text)
    else:
        path = to_cram(tmp_path, text, reference)
    report = validate(NoSlurpSource(path), reference=str(reference))
    assert report.valid, report.summary()
    assert report.stats["records"] == 60


def test_sam_fast_path_agrees_with_field_by_field_checks(monkeypatch):
    # Every corpus SAM (valid and invalid) gives the same issues with and without the one-regex fast path.
    import re

    from genomics.corpus import CORPUS as corpus
    from genomics.validation import sam_records as sam_mod

    paths = sorted(corpus.glob("sam/*/*.sam")) + sorted(corpus.glob("cram/3.0/passed/*.sam"))
    assert len(paths) > 200

    def issues(path: Path):
        rep = validate_path(str(path))
        return [(i.code, i.line, i.record) for i in rep.errors], [(i.code, i.line) for i in rep.warnings]

    fast = {p: issues(p) for p in paths}
    monkeypatch.setattr(sam_mod, "RE_FAST_RECORD", re.compile(r"(?!)"))
    for p in paths:
        assert issues(p) == fast[p], p
