"""A header with bytes that are not UTF-8 (latin-1 descriptions from old tools): htslib reads it and
validation only warns (VCF_NOT_TEXT), so processing must complete too, also on its repair path. Found by
the fuzz job (tests/fuzz), which raised UnicodeDecodeError reading the header back."""

from __future__ import annotations

import subprocess
from pathlib import Path

from genomics.processing.vcf import process_local
from genomics.validation import validate_path

VCF = (
    b"##fileformat=VCFv4.2\n##contig=<ID=1,length=1000>\n"
    b'##INFO=<ID=DP,Number=1,Type=Integer,Description="Total d\xe9pth">\n'
    b'##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    b'##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
    b"1\t10\t.\tA\tC,G\t50\tPASS\tDP=5\tGT:AD\t0/1:1,2\n"  # AD one short: the repair path reads the header
    b"1\t20\t.\tA\tC\t50\tPASS\tDP=5\tGT:AD\t0/1:1,2,3\n"
)


def test_processing_non_utf8_header_completes(tmp_path: Path):
    src = tmp_path / "latin1.vcf"
    src.write_bytes(VCF)
    report = validate_path(str(src), profile="default")
    assert report.valid and "VCF_NOT_TEXT" in {i.code for i in report.warnings}
    res = process_local(str(src), str(tmp_path / "out"))
    assert res["records_out"] == 3  # the multiallelic record split in two
    records = subprocess.run(["bcftools", "view", "--no-version", "-H", res["vcf"]], capture_output=True,
                             check=True).stdout.splitlines()
    assert len(records) == 3
