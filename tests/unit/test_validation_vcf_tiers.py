"""VCF tiers and spec versions: what the default profile rejects (htslib cannot read it, or the data would
come out wrong), what only strict rejects, and what each spec version makes a "must" or only a "should".

Every deviation is written into a small VCF; the expected tier of each was checked against bcftools 1.16
(view, sort, norm -m -any, index, stats) when the rule was written, and the htslib-facing cases are run
through bcftools here too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from genomics.sources import LocalFile
from genomics.validation.report import ValidationReport
from genomics.validation.vcf import validate_vcf


def _vcf(version: str, meta: list[str], records: list[str], samples: int = 1) -> str:
    cols = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
    if samples:
        cols += "\tFORMAT" + "".join(f"\tS{i}" for i in range(1, samples + 1))
    head = [
        f"##fileformat=VCFv{version}",
        "##contig=<ID=1,length=100000>",
        "##contig=<ID=2,length=100000>",
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allele depths">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
        *meta,
        cols,
    ]
    return "\n".join([*head, *records]) + "\n"


def _check(tmp_path: Path, text: str, profile: str) -> ValidationReport:
    path = tmp_path / "t.vcf"
    path.write_text(text)
    rep = ValidationReport(str(path), "vcf")
    validate_vcf(LocalFile(str(path)), rep, compression="none")
    rep.apply_profile(profile)
    return rep


def _bcftools_reads(tmp_path: Path, text: str) -> bool:
    """bcftools 1.16 reads every record (VCF text out: no header repair needed)."""
    exe = shutil.which("bcftools")
    assert exe is not None
    path = tmp_path / "h.vcf"
    path.write_text(text)
    return subprocess.run([exe, "view", "-Ov", "-o", "/dev/null", str(path)], capture_output=True).returncode == 0


REC = "1\t100\t.\tA\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:30"

# (name, version, extra header lines, records, code) for deviations htslib reads and processing carries:
# an error only in strict, a warning with the same code by default.
NONCONFORMING = [
    ("non_ref_alt_42", "4.2", ['##ALT=<ID=NON_REF,Description="Any other allele">'],
     ["1\t100\t.\tA\tG,<NON_REF>\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4,0:30"], "VCF_META_ID_INVALID"),
    ("reserved_gq_float", "4.2", ['##FORMAT=<ID=GQX,Number=1,Type=Integer,Description="x">',
                                   '##FORMAT=<ID=PL,Number=G,Type=Float,Description="x">'],
     ["1\t100\t.\tA\tG\t50\tPASS\tDP=5\tGT:AD:GQ:PL\t0/1:3,4:30:1.5,0,9"], "VCF_META_RESERVED"),
    ("float_in_integer_info", "4.2", [], ["1\t100\t.\tA\tG\t50\tPASS\tDP=5.5\tGT:AD:GQ\t0/1:3,4:30"],
     "VCF_INFO_TYPE"),
    ("ad_number_mismatch", "4.2", [], ["1\t100\t.\tA\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3:30"],
     "VCF_SAMPLE_NUMBER"),
    ("undeclared_contig", "4.2", [], ["3\t100\t.\tA\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:30"],
     "VCF_CONTIG_UNDECLARED"),
    ("sample_line_without_genomes", "4.2", ['##SAMPLE=<ID=S1,Description="tumour">'], [REC],
     "VCF_META_REQUIRED_KEY"),
    ("header_key_with_space", "4.2", ["##Mutect Version=2.2"], [REC], "VCF_META_INVALID"),
    ("duplicate_header_id", "4.2", ['##INFO=<ID=DP,Number=1,Type=Integer,Description="again">'], [REC],
     "VCF_META_DUPLICATE_ID"),
    ("pos_beyond_contig", "4.2", [], ["1\t100005\t.\tA\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:30"],
     "VCF_POS_BEYOND_CONTIG"),
    ("info_key_digit_43", "4.3", ['##INFO=<ID=1000GAF,Number=1,Type=Float,Description="1000G AF">'],
     ["1\t100\t.\tA\tG\t50\tPASS\t1000GAF=0.2\tGT:AD:GQ\t0/1:3,4:30"], "VCF_INFO_KEY_INVALID"),
    ("unsorted", "4.2", [], [REC, REC.replace("\t100\t", "\t50\t")], "VCF_UNSORTED"),
    ("old_x_alt", "4.1", [], ["1\t100\t.\tA\tX\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:30"], "VCF_ALT_INVALID"),
    ("old_slash_alt", "4.1", [], ["1\t100\t.\tA\tA/T\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:30"], "VCF_ALT_INVALID"),
    ("unquoted_description", "4.2", ["##INFO=<ID=XX,Number=1,Type=Integer,Description=plain>"], [REC],
     "VCF_META_DESCRIPTION"),
    ("int32_min", "4.2", [], ["1\t100\t.\tA\tG\t50\tPASS\tDP=-2147483648\tGT:AD:GQ\t0/1:3,4:30"],
     "VCF_INTEGER_RANGE"),
    ("ref_star", "4.2", [], ["1\t100\t.\t*\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:30"], "VCF_REF_INVALID"),
    ("ref_iupac", "4.2", [], ["1\t100\t.\tR\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:30"], "VCF_REF_INVALID"),
    ("number_minus_one", "4.1", ['##INFO=<ID=XX,Number=-1,Type=Integer,Description="old samtools">'],
     ["1\t100\t.\tA\tG\t50\tPASS\tXX=1,2\tGT:AD:GQ\t0/1:3,4:30"], "VCF_META_NUMBER"),
    ("trailing_tab", "4.2", [], [REC + "\t"], "VCF_COLUMN_COUNT"),
    ("undeclared_contig_with_colon", "4.2", [], [REC.replace("1\t100", "HLA-A*01:01\t100")], "VCF_CHROM_INVALID"),
    ("empty_format_value", "4.2", [], ["1\t100\t.\tA\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:"], "VCF_SAMPLE_TYPE"),
    ("gt_not_first", "4.2", [], ["1\t100\t.\tA\tG\t50\tPASS\tDP=5\tGQ:GT\t30:0/1"], "VCF_FORMAT_GT_NOT_FIRST"),
    ("duplicate_record", "4.2", [], [REC, REC], "VCF_DUPLICATE_RECORD"),
    ("contig_blocks_43", "4.3", [], [REC, REC.replace("1\t100", "2\t100"), REC.replace("\t100\t", "\t200\t")],
     "VCF_CONTIG_NOT_CONTIGUOUS"),
]


@pytest.mark.parametrize("name,version,meta,records,code", NONCONFORMING, ids=[c[0] for c in NONCONFORMING])
def test_vcf_tiers_nonconforming_is_warning_by_default_error_in_strict(tmp_path, name, version, meta, records, code):
    text = _vcf(version, meta, records)
    assert _bcftools_reads(tmp_path, text), name
    default = _check(tmp_path, text, "default")
    assert default.valid, [(i.code, i.message) for i in default.errors]
    assert code in default.warning_counts()
    strict = _check(tmp_path, text, "strict")
    assert code in {i.code for i in strict.errors}, [(i.code, i.message) for i in strict.errors]


# Records htslib cannot parse, or data that would come out wrong: rejected by every profile.
BROKEN = [
    ("gt_allele_beyond_alt", ["1\t100\t.\tA\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/2:3,4:30"], "VCF_GT_ALLELE_RANGE", True),
    ("gt_not_a_genotype", ["1\t100\t.\tA\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/a:3,4:30"], "VCF_GT_INVALID", False),
    ("float_in_integer_format", ["1\t100\t.\tA\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:30.5"], "VCF_SAMPLE_TYPE",
     False),
    ("more_sample_fields_than_format", ["1\t100\t.\tA\tG\t50\tPASS\tDP=5\tGT:GQ\t0/1:30:7"],
     "VCF_SAMPLE_TOO_MANY_FIELDS", False),
    ("pos_not_a_number", ["1\tabc\t.\tA\tG\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:30"], "VCF_POS_INVALID", True),
    ("qual_not_a_number", ["1\t100\t.\tA\tG\tabc\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4:30"], "VCF_QUAL_INVALID", True),
    ("empty_alt_allele", ["1\t100\t.\tA\tG,\t50\tPASS\tDP=5\tGT:AD:GQ\t0/1:3,4,1:30"], "VCF_ALT_INVALID", True),
    ("undeclared_invalid_info_key", ["1\t100\t.\tA\tG\t50\tPASS\t2Y=4\tGT:AD:GQ\t0/1:3,4:30"],
     "VCF_INFO_KEY_INVALID", True),
    ("empty_line", [REC, "", REC.replace("\t100\t", "\t200\t")], "VCF_EMPTY_LINE", False),
    ("empty_last_line", [REC, ""], "VCF_EMPTY_LINE", False),
    ("undeclared_contig_with_comma", [REC.replace("1\t100", "x,y\t100")], "VCF_CHROM_INVALID", False),
    ("surplus_column_not_empty", [REC + "\t0/1"], "VCF_COLUMN_COUNT", True),
    ("undeclared_filter_with_comma", [REC.replace("PASS", "q10,x")], "VCF_FILTER_INVALID", False),
    ("filter_with_space", [REC.replace("PASS", " PASS")], "VCF_FILTER_INVALID", False),
    ("info_key_with_space", [REC.replace("DP=5", "D P=5")], "VCF_INFO_KEY_INVALID", True),
    ("gt_phasing_prefix_before_44", [REC.replace("0/1:", "|0/1:")], "VCF_GT_INVALID", False),
]


@pytest.mark.parametrize("name,records,code,read_by_htslib", BROKEN, ids=[c[0] for c in BROKEN])
def test_vcf_tiers_broken_records_rejected_by_every_profile(tmp_path, name, records, code, read_by_htslib):
    text = _vcf("4.2", [], records)
    # Those htslib reads still come out wrong: POS/QUAL read as 0, an allele index that does not exist,
    # an empty allele bcftools stats fails on, a key htslib cannot declare for the output.
    assert _bcftools_reads(tmp_path, text) == read_by_htslib, name
    for profile in ("default", "strict", "legacy"):
        rep = _check(tmp_path, text, profile)
        assert code in {i.code for i in rep.errors}, (profile, [(i.code, i.message) for i in rep.errors])


@pytest.mark.parametrize("profile", ["default", "strict"])
def test_vcf_tiers_undeclared_filter_info_format_are_warnings(tmp_path, profile):
    text = _vcf("4.2", [], ["1\t100\t.\tA\tG\t50\tlowq\tDP=5;NEWKEY=x\tGT:AD:GQ:ZZ\t0/1:3,4:30:x"])
    rep = _check(tmp_path, text, profile)
    assert rep.valid, [(i.code, i.message) for i in rep.errors]
    assert {"VCF_FILTER_UNDECLARED", "VCF_INFO_UNDECLARED", "VCF_FORMAT_UNDECLARED"} <= set(rep.warning_counts())


def test_vcf_tiers_sites_only_file_is_valid(tmp_path):
    text = _vcf("4.2", [], ["1\t100\trs1\tA\tG\t50\tPASS\tDP=5", "1\t200\trs2\tC\tT,G\t.\t.\t."], samples=0)
    for profile in ("default", "strict"):
        rep = _check(tmp_path, text, profile)
        assert rep.valid and rep.stats["samples"] == 0, [(i.code, i.message) for i in rep.errors]


def test_vcf_tiers_missing_final_newline_before_44(tmp_path):
    text = _vcf("4.2", [], [REC]).rstrip("\n")
    assert _check(tmp_path, text, "default").valid
    assert not _check(tmp_path, text, "strict").valid
    assert _check(tmp_path, _vcf("4.4", [], [REC]).rstrip("\n"), "strict").valid  # 4.4+: a warning


# ------------------------------------------------------------------------------ what each version allows
def test_vcf_versions_info_value_spaces_allowed_from_43(tmp_path):
    meta = ['##INFO=<ID=NOTE,Number=1,Type=String,Description="Free text">']
    rec = "1\t100\t.\tA\tG\t50\tPASS\tNOTE=two words\tGT:AD:GQ\t0/1:3,4:30"
    assert _check(tmp_path, _vcf("4.3", meta, [rec]), "strict").valid
    rep = _check(tmp_path, _vcf("4.2", meta, [rec]), "strict")
    assert "VCF_INFO_INVALID" in {i.code for i in rep.errors}


def test_vcf_versions_key_grammar_applies_from_43(tmp_path):
    meta = ['##INFO=<ID=1000GAF,Number=1,Type=Float,Description="1000G AF">']
    rec = "1\t100\t.\tA\tG\t50\tPASS\t1000GAF=0.2\tGT:AD:GQ\t0/1:3,4:30"
    assert _check(tmp_path, _vcf("4.2", meta, [rec]), "strict").valid  # 4.1/4.2 give keys no grammar
    rep = _check(tmp_path, _vcf("4.3", meta, [rec]), "strict")
    assert {"VCF_META_ID_INVALID", "VCF_INFO_KEY_INVALID"} <= {i.code for i in rep.errors}


def test_vcf_versions_contiguity_and_filter_zero_are_shoulds_before_43(tmp_path):
    recs = [REC, REC.replace("1\t100", "2\t100"), REC.replace("\t100\t", "\t200\t").replace("PASS", "0")]
    rep = _check(tmp_path, _vcf("4.2", [], recs), "strict")
    assert rep.valid, [(i.code, i.message) for i in rep.errors]
    assert {"VCF_CONTIG_NOT_CONTIGUOUS", "VCF_FILTER_INVALID"} <= set(rep.warning_counts())
    rep43 = _check(tmp_path, _vcf("4.3", [], recs), "strict")
    assert {"VCF_CONTIG_NOT_CONTIGUOUS", "VCF_FILTER_INVALID"} <= {i.code for i in rep43.errors}


@pytest.mark.parametrize("alt_id", ["DEL:ME:ALU", "CNV:TR", "INS:ME:L1", "DUP:TANDEM", "*", "R", "CN0"])
def test_vcf_versions_43_alt_ids_may_hold_punctuation(tmp_path, alt_id):
    meta = [f'##ALT=<ID={alt_id},Description="x">', '##INFO=<ID=END,Number=1,Type=Integer,Description="End">']
    rec = f"1\t100\t.\tA\t<{alt_id}>\t50\tPASS\tEND=300\tGT:AD:GQ\t0/1:3,4:30"
    rep = _check(tmp_path, _vcf("4.3", meta, [rec]), "strict")
    assert rep.valid, [(i.code, i.message) for i in rep.errors]


def test_vcf_tiers_header_encoding_and_sample_blanks_are_nonconforming(tmp_path):
    """htslib reads a Latin-1 Description and keeps a sample name's blanks; an empty sample name breaks."""
    text = _vcf("4.2", ['##INFO=<ID=XX,Number=1,Type=String,Description="caf\u00e9">'], [REC])
    path = tmp_path / "latin1.vcf"
    path.write_bytes(text.encode("latin-1"))
    for profile, valid in (("default", True), ("strict", False)):
        rep = ValidationReport(str(path), "vcf")
        validate_vcf(LocalFile(str(path)), rep, compression="none")
        rep.apply_profile(profile)
        assert rep.valid is valid and "VCF_NOT_TEXT" in rep.issue_counts(), profile
    blanks = _vcf("4.2", [], [REC]).replace("\tS1\n", "\tS1 \n")
    assert _bcftools_reads(tmp_path, blanks)
    assert _check(tmp_path, blanks, "default").valid
    assert not _check(tmp_path, blanks, "strict").valid
    empty = _vcf("4.2", [], [REC + "\t0/1"], samples=1).replace("\tS1\n", "\tS1\t\n")
    assert not _bcftools_reads(tmp_path, empty)
    assert "VCF_SAMPLE_NAME" in {i.code for i in _check(tmp_path, empty, "default").errors}


def test_vcf_versions_gt_phasing_prefix_allowed_from_44(tmp_path):
    rec = REC.replace("0/1:", "|0|1:")
    assert _check(tmp_path, _vcf("4.4", [], [rec]), "strict").valid
    assert "VCF_GT_INVALID" in {i.code for i in _check(tmp_path, _vcf("4.3", [], [rec]), "default").errors}


def test_vcf_tiers_cli_validate_says_which_warnings_strict_rejects(tmp_path, capsys):
    from genomics import cli

    path = tmp_path / "t.vcf"
    path.write_text(_vcf("4.2", [], [REC + "\t", REC.replace("1\t100", "1\t200").replace("PASS", "lowq")]))
    assert cli.main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning VCF_COLUMN_COUNT: line 9:" in out and "(an error under --profile strict)" in out
    assert "warning VCF_FILTER_UNDECLARED: line 10:" in out
    assert "FILTER 'lowq' is not declared" in out and out.count("(an error under --profile strict)") == 1
    assert cli.main(["validate", "--profile", "strict", str(path)]) == 1
