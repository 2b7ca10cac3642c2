"""genomics.processing.repair: parsers on captured bcftools 1.16 stderr, the header/record filter, and the
index-based QC metrics skipped (with a note) on a BAM that samtools idxstats cannot read."""

from __future__ import annotations

import gzip
import io
import subprocess
from pathlib import Path

from genomics.processing import repair
from genomics.qc.service import qc_local

# bcftools 1.16 (`bcftools view -Ou` of a VCF with undeclared keys), captured on this machine.
UNDECLARED_STDERR = """\
[W::vcf_parse] Contig 'chr9' is not defined in the header. (Quick workaround: index the file with tabix.)
[W::vcf_parse_filter] FILTER 'q10' is not defined in the header
[W::vcf_parse_info] INFO 'DB' is not defined in the header, assuming Type=String
[W::vcf_parse_info] INFO 'XX' is not defined in the header, assuming Type=String
[W::vcf_parse_format] FORMAT 'GT' at chr9:100 is not defined in the header, assuming Type=String
[W::vcf_parse_format] FORMAT 'AD' at chr9:100 is not defined in the header, assuming Type=String
[E::bcf_write] Unchecked error (2) at chr9:100
"""


def test_repair_parse_undeclared_in_order_met():
    assert repair.parse_undeclared(UNDECLARED_STDERR) == [
        ("contig", "chr9"), ("FILTER", "q10"), ("INFO", "DB"), ("INFO", "XX"), ("FORMAT", "GT"), ("FORMAT", "AD")]


def test_repair_parse_wrong_number_info_and_format():
    info = "Error: wrong number of fields in INFO/AC at 4:3258501, expected 305, found 1\n"
    assert repair.parse_wrong_number(info) == {"kind": "INFO", "tag": "AC", "contig": "4", "pos": 3258501,
                                               "expected": 305, "found": 1}
    fmt_r = "Error: wrong number of fields in FMT/MMQ at 1:20, expected 6, found 4\n"
    assert repair.parse_wrong_number(fmt_r) == {"kind": "FORMAT", "tag": "MMQ", "contig": "1", "pos": 20,
                                                "expected": 6, "found": 4}
    fmt = "Error at 1:100, the tag PL has wrong number of fields\n"
    assert repair.parse_wrong_number(fmt) == {"kind": "FORMAT", "tag": "PL", "contig": "1", "pos": 100}
    assert repair.parse_wrong_number("Lines total/split/realigned/skipped: 1/0/0/0") is None


def test_repair_declarations_are_htslibs():
    assert repair.declaration("contig", "chr9") == "##contig=<ID=chr9>"
    assert repair.declaration("INFO", "DB").startswith("##INFO=<ID=DB,Number=1,Type=String,Description=")
    assert repair.declaration("FILTER", "q10").startswith('##FILTER=<ID=q10,Description="')


def test_repair_genotype_index_any_ploidy():
    # Diploid over 3 alleles: 00 01 11 02 12 22; tetraploid 0012 is the 7th genotype of 15.
    assert [repair.genotype_index(g) for g in ([0, 0], [0, 1], [1, 1], [0, 2], [1, 2], [2, 2])] == list(range(6))
    assert repair.genotype_index([0, 0, 1, 2]) == 6 and repair.genotype_count(3, 4) == 15
    assert repair.biallelic_genotype_indices(2, 4) == [0, 5, 9, 12, 14]


def test_repair_filter_header_and_polyploid_split():
    text = (
        "##fileformat=VCFv4.2\n"
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="AC">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n'
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="PL">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
        "1\t100\t.\tA\tC,G\t50\tPASS\tAC=1\tGT:PL\t0/0/1/2:" + ",".join(map(str, range(15))) + "\t0/1:0,1,2,3,4,5\n"
        "1\t200\t.\tA\tC\t50\tPASS\tAC=1\tGT:PL\t0/0/1/1:0,1,2,3,4\t0/1:0,1,2\n"
    )
    plan = repair.RepairPlan(declare=[("contig", "1"), ("INFO", "DB")],
                             relax={("INFO", "AC"): {"from": "A", "first": "1:100"}},
                             genotype_tags={"PL": {"first": "1:100"}})
    out = io.BytesIO()
    stats = repair.run_filter(io.BytesIO(text.encode()), out, plan)
    lines = out.getvalue().decode().splitlines()
    assert '##INFO=<ID=AC,Number=.,Type=Integer,Description="AC">' in lines
    assert "##contig=<ID=1>" in lines and any(ln.startswith("##INFO=<ID=DB,Number=1,Type=String") for ln in lines)
    assert lines.index("##contig=<ID=1>") < next(i for i, ln in enumerate(lines) if ln.startswith("#CHROM"))
    records = [ln.split("\t") for ln in lines if not ln.startswith("#")]
    assert [(r[4], r[9], r[10]) for r in records] == [
        # 0/0/1/2 over {A,C,G}: C gets genotypes 0000,0001,0011,0111,1111 (indices 0-4); G 0,5,9,12,14.
        ("C", "0/0/1/0:0,1,2,3,4", "0/1:0,1,2"),
        ("G", "0/0/0/1:0,5,9,12,14", "0/0:0,3,5"),
        ("C", "0/0/1/1:0,1,2,3,4", "0/1:0,1,2"),
    ], "the polyploid record is split here; the biallelic one passes unchanged"
    assert [r[7] for r in records[:2]] == ["AC=1", "AC=1"], "a relaxed key is copied whole"
    assert stats == {"genotype_tags": {"PL": {"records": 1, "first": "1:100"}}}
    entries = plan.repairs(stats)
    assert [e["repair"] for e in entries] == ["declared", "declared", "number_relaxed", "polyploid_split"]
    back = repair.RepairPlan.from_repairs(entries)
    assert back.declare == plan.declare and set(back.relax) == set(plan.relax)


def test_qc_bam_without_usable_index_skips_index_metrics(corpus, tmp_path: Path):
    """Reads on chrM, then chr1, then chrM again: samtools idxstats (no index: its slow path) refuses a
    BAM that is not grouped by reference; QC completes without the index-based metrics and says so."""
    src = corpus / "bam" / "passed" / "level-1.bam"
    sam = subprocess.run(["samtools", "view", "-h", str(src)], capture_output=True, text=True, check=True).stdout
    head = [ln for ln in sam.splitlines() if ln.startswith("@")]
    reads = [ln for ln in sam.splitlines() if not ln.startswith("@")][:60]
    moved = []
    for ln in reads[20:40]:
        f = ln.split("\t")
        f[2], f[6] = "chr1", "="
        moved.append("\t".join(f))
    text = "\n".join([*head, *reads[:20], *moved, *reads[40:]]) + "\n"
    bam = tmp_path / "ungrouped.bam"
    subprocess.run(["samtools", "view", "-b", "-o", str(bam), "-"], input=text.encode(), check=True)
    assert subprocess.run(["samtools", "idxstats", str(bam)], capture_output=True).returncode != 0
    out = qc_local(str(bam))
    assert out["format"] == "bam" and out["metrics"]["reads"] == 60
    assert out["metrics"]["mean_coverage"] is None and out["metrics"]["x_reads"] is None
    assert any("idxstats" in n and "not computed" in n and "position sorted" in n for n in out["notes"])


def test_repair_find_decimal_integers_and_retype_header():
    text = (
        "##fileformat=VCFv4.2\n"
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="d">\n'
        '##INFO=<ID=AF,Number=A,Type=Float,Description="af">\n'
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="gq">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        "1\t5\t.\tA\tC\t50\tPASS\tDP=3;AF=0.5\tGQ\t9\n"
        "1\t6\t.\tA\tC\t50\tPASS\tDP=3.5;AF=0.5\tGQ\t.\n"
        "1\t7\t.\tA\tC\t50\tPASS\tDP=1e3\tGQ\t9.9\n"
    )
    found = repair.find_decimal_integers(io.BytesIO(text.encode()))
    assert found == {("INFO", "DP"): "1:6", ("FORMAT", "GQ"): "1:7"}
    plan = repair.RepairPlan(retype={k: {"first": v} for k, v in found.items()})
    out = io.BytesIO()
    repair.run_filter(io.BytesIO(text.encode()), out, plan)
    lines = out.getvalue().decode().splitlines()
    assert '##INFO=<ID=DP,Number=1,Type=Float,Description="d">' in lines
    assert '##FORMAT=<ID=GQ,Number=1,Type=Float,Description="gq">' in lines
    assert lines[-2].split("\t")[7] == "DP=3.5;AF=0.5", "records are passed through unchanged"
    gz = io.BytesIO(gzip.compress(text.encode()))
    assert repair.text_reader(gz).read() == text.encode()
