"""Metrics from Debian's 1.16 bcftools/samtools on corpus files, checked against the oracle outputs and
against counts taken directly from the inputs (pysam for BAM/CRAM records, plain Python for FASTQ)."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest

from genomics.corpus import CORPUS
from genomics.qc.fastq import FastqError, fastq_metrics
from genomics.qc.metrics import QcInputError, compute, derive_vcf, sex_check, sniff_source
from genomics.qc.parsers import parse_bcftools_stats, parse_idxstats
from genomics.qc.service import qc_local
from genomics.sources import LocalFile

ORACLES = CORPUS / "qc_oracles"


class Stream:
    """A ByteSource that is not a local path: forces the teed-stdin code path."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.name = "stream"

    def open(self) -> io.BytesIO:
        return io.BytesIO(self.data)

    def size(self) -> int:
        return len(self.data)


def _bgzipped(tmp: Path, name: str) -> Path:
    shutil.copy(ORACLES / "bcftools_stats" / name, tmp / name)
    subprocess.run(["bgzip", "-f", str(tmp / name)], check=True)
    return tmp / f"{name}.gz"


def test_qc_metrics_vcf_counts_match_oracle_and_input(tmp_path):
    path = _bgzipped(tmp_path, "stats.counts.vcf")
    out = qc_local(str(path), assay="panel")
    assert set(out) == {"path", "format", "metrics", "gate", "notes"} and out["format"] == "vcf"
    m = out["metrics"]
    oracle = derive_vcf(parse_bcftools_stats((ORACLES / "bcftools_stats/v1.16/stats.counts.chk").read_text()))
    for k in ("samples", "records", "snps", "mnps", "indels", "others", "multiallelic_sites", "ts_tv",
              "het", "hom_alt", "missing_genotypes", "insertions", "deletions"):
        assert m[k] == oracle[k], k
    lines = (ORACLES / "bcftools_stats/stats.counts.vcf").read_text().splitlines()
    header = next(ln for ln in lines if ln.startswith("#CHROM")).split("\t")
    assert m["samples"] == len(header) - 9 == 3
    assert m["records"] == sum(1 for ln in lines if not ln.startswith("#")) == 12
    # PSC (1.16): het 0+4+0, hom-alt 0+1+5; missing 1 (A) + 1 (C) of 12 x 3 genotypes
    assert m["het_hom_ratio"] == round(4 / 6, 4)
    assert m["missing_rate"] == round(2 / 36, 4)
    assert m["ins_del_ratio"] is None  # 1 insertion, 0 deletions: undefined, reported as null
    assert m["mean_depth"] is None  # no FORMAT/DP
    assert out["gate"]["checks"]["ts_tv"]["verdict"] == "not_evaluated"


def test_qc_metrics_vcf_depth_and_indel_ratio(tmp_path):
    fmt, m, raw = compute(LocalFile(str(_bgzipped(tmp_path, "stats.vaf.vcf"))))
    assert fmt == "vcf"
    assert m["mean_depth"] == pytest.approx((3.7 + 3.0) / 2)  # PSC average depth of samples a and b
    assert m["deletions"] == 3 and m["insertions"] == 0 and m["ins_del_ratio"] == 0.0
    assert [r["length"] for r in m["distributions"]["idd"]] == [-5, -4, -3]
    assert m["distributions"]["st"]["C>A"] == 8
    assert raw["bcftools_stats"].startswith("# This file was produced by bcftools stats (1.16")


def test_qc_metrics_vcf_stream_equals_path(tmp_path):
    path = _bgzipped(tmp_path, "stats.counts.vcf")
    _, by_path, _ = compute(LocalFile(str(path)))
    _, by_stream, _ = compute(Stream(path.read_bytes()))
    assert by_stream == by_path


def test_qc_metrics_bam_against_pysam(tmp_path):
    bam = tmp_path / "x.bam"
    shutil.copy(CORPUS / "bam/passed/level-1.bam", bam)
    fmt, m, raw = compute(LocalFile(str(bam)))
    assert fmt == "bam" and set(raw) == {"samtools_stats", "samtools_flagstat", "samtools_idxstats"}
    total = mapped = dup = proper = 0
    with pysam.AlignmentFile(str(bam), "rb", check_sq=False) as fh:
        ref_len = sum(fh.lengths)
        for r in fh.fetch(until_eof=True):
            if r.is_secondary or r.is_supplementary:
                continue
            total += 1
            mapped += not r.is_unmapped
            dup += r.is_duplicate
            proper += r.is_proper_pair
    assert m["reads"] == total == 20000
    assert m["pct_mapped"] == pytest.approx(100 * mapped / total, abs=1e-3)
    assert m["duplication_rate"] == pytest.approx(100 * dup / total, abs=1e-3)
    assert m["pct_properly_paired"] == pytest.approx(100 * proper / total, abs=1e-3)
    assert m["reference_length"] == ref_len
    assert m["reads_per_contig"]["chrM"] == mapped
    assert m["x_reads"] == 0 and m["x_y_ratio"] is None


def test_qc_metrics_cram_with_reference(tmp_path):
    for name in ("ce.fa",):
        shutil.copy(CORPUS / "cram" / name, tmp_path / name)
    cram = tmp_path / "in.cram"
    shutil.copy(CORPUS / "cram/3.0/passed/0500_mapped.cram", cram)
    fmt, m, _ = compute(LocalFile(str(cram)), reference=str(tmp_path / "ce.fa"))
    sam = (CORPUS / "cram/3.0/passed/0500_mapped.sam").read_text().splitlines()
    records = [ln.split("\t") for ln in sam if ln and not ln.startswith("@")]
    primary = [r for r in records if not int(r[1]) & 0x900]
    assert fmt == "cram" and m["reads"] == len(primary)
    assert m["reads_mapped"] == sum(1 for r in primary if not int(r[1]) & 0x4)


def test_qc_metrics_sex_check_from_idxstats():
    idx = parse_idxstats("chr1\t1000\t500\t0\nchrX\t1000\t100\t0\nchrY\t500\t10\t0\n*\t0\t0\t3\n")
    s = sex_check(idx)
    assert s["x_reads"] == 100 and s["y_reads"] == 10 and s["x_y_ratio"] == 10.0
    assert s["y_x_density_ratio"] == pytest.approx((10 / 500) / (100 / 1000))
    assert sex_check(parse_idxstats("1\t1000\t500\t0\n"))["x_y_ratio"] is None


def _fastq_by_hand(text: str) -> dict:
    lines = text.splitlines()
    seqs, quals, i = [], [], 0
    while i < len(lines):
        assert lines[i].startswith("@")
        j = i + 1
        seq = ""
        while not lines[j].startswith("+"):
            seq += lines[j]
            j += 1
        j += 1
        qual = ""
        while len(qual) < len(seq):
            qual += lines[j]
            j += 1
        seqs.append(seq)
        quals.append(qual)
        i = j
    allq = [ord(c) - 33 for q in quals for c in q]
    s = "".join(seqs).upper()
    gc = s.count("G") + s.count("C")
    acgt = sum(s.count(b) for b in "ACGT")
    first = [ord(q[0]) - 33 for q in quals if q]
    return {"reads": len(seqs), "mean_base_quality": round(sum(allq) / len(allq), 3),
            "gc_pct": round(100 * gc / acgt, 3), "cycle1": round(sum(first) / len(first), 3),
            "max": max(len(x) for x in seqs)}


@pytest.mark.parametrize("name", ["htslib/multiline.fq", "htslib/r1.fq", "biopython/passed/tricky.fastq",
                                  "biopython/passed/longreads_original_sanger.fastq"])
def test_qc_metrics_fastq_against_hand_count(name):
    path = CORPUS / "fastq" / name
    m = fastq_metrics(io.BytesIO(path.read_bytes()))
    want = _fastq_by_hand(path.read_text())
    assert m["reads"] == want["reads"]
    assert m["mean_base_quality"] == want["mean_base_quality"]
    assert m["gc_pct"] == want["gc_pct"]
    assert m["quality_per_cycle"][0] == want["cycle1"]
    assert m["max_read_length"] == want["max"]
    assert sum(m["length_distribution"].values()) == want["reads"]


def test_qc_metrics_fastq_gzip_equals_plain(tmp_path):
    plain = CORPUS / "fastq/htslib/r1.fq"
    gz = tmp_path / "r1.fq.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert fastq_metrics(io.BytesIO(gz.read_bytes())) == fastq_metrics(io.BytesIO(plain.read_bytes()))
    fmt, m, raw = compute(LocalFile(str(gz)))
    assert fmt == "fastq" and raw == {} and m["reads"] == 5


def test_qc_metrics_fastq_truncated_has_code():
    with pytest.raises(FastqError) as e:
        fastq_metrics(io.BytesIO((CORPUS / "fastq/biopython/failed/error_trunc_in_qual.fastq").read_bytes()))
    assert e.value.code == "QC_FASTQ_TRUNCATED" and e.value.line >= 1


def test_qc_metrics_format_from_content_not_name(tmp_path):
    disguised = tmp_path / "reads.bam"  # a VCF named .bam
    shutil.copy(ORACLES / "bcftools_stats/stats.counts.vcf", disguised)
    assert compute(LocalFile(str(disguised)))[0] == "vcf"
    text = tmp_path / "notes.vcf"
    text.write_text("hello world\n")
    with pytest.raises(QcInputError) as e:
        sniff_source(LocalFile(str(text)))
    assert e.value.code == "QC_UNKNOWN_FORMAT"


def test_qc_metrics_tool_failure_has_code(tmp_path):
    bad = tmp_path / "bad.vcf"
    bad.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\n1\tx\n")
    with pytest.raises(QcInputError) as e:
        compute(LocalFile(str(bad)))
    assert e.value.code == "QC_TOOL_FAILED"


class FailingStream(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self.data, self.sent = data, False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.sent:
            raise ConnectionResetError("source dropped")
        self.sent = True
        return self.data[: len(self.data) // 2]


def test_qc_metrics_source_failure_mid_stream_propagates():
    class Source(Stream):
        def open(self):
            return FailingStream(self.data)

    data = (CORPUS / "bam/passed/level-1.bam").read_bytes()
    with pytest.raises(ConnectionResetError):
        compute(Source(data), "bam")


def test_qc_metrics_cram_reference_index_built_once_before_tools(tmp_path):
    """Without a .fai, stats and flagstat must not race to build one: it is built first, every time."""
    shutil.copy(CORPUS / "cram" / "ce.fa", tmp_path / "ce.fa")
    cram = tmp_path / "in.cram"
    shutil.copy(CORPUS / "cram/3.0/passed/0500_mapped.cram", cram)
    for attempt in range(5):
        (tmp_path / "ce.fa.fai").unlink(missing_ok=True)
        fmt, m, _ = compute(LocalFile(str(cram)), reference=str(tmp_path / "ce.fa"))
        assert fmt == "cram" and m["reads"] > 0, attempt
        assert (tmp_path / "ce.fa.fai").exists()


def test_qc_metrics_vcf_depth_not_integer_left_out_with_note(tmp_path):
    """bcftools stats 1.16 exits 1 ("do_sample_stats: todo: 5") on a FORMAT/DP declared Float: QC reads
    the file without it, says so, and still counts genotypes."""
    path = tmp_path / "float_dp.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=DP,Number=1,Type=Float,Description="Mean depth">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        "1\t100\t.\tA\tC\t50\tPASS\t.\tGT:DP\t0/1:10.5\n"
        "1\t200\t.\tA\tG\t50\tPASS\t.\tGT:DP\t1/1:12.5\n"
    )
    assert subprocess.run(["bcftools", "stats", "-s", "-", str(path)], capture_output=True).returncode != 0
    out = qc_local(str(path), assay="panel")
    assert out["metrics"]["het"] == 1 and out["metrics"]["hom_alt"] == 1 and out["metrics"]["mean_depth"] is None
    assert out["notes"] == ["FORMAT/DP is declared Type=Float, not Integer: not used by QC"]


def test_qc_stats_plan_adapts_then_gives_up():
    """What QC does when bcftools stats 1.16 refuses a file (stderr captured from real runs)."""
    from genomics.qc.metrics import StatsPlan

    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
    plan = StatsPlan(header)
    assert plan.argv("x.vcf") == [["bcftools", "stats", "-s", "-", "x.vcf"]]
    assert plan.extend("[E::bcf_calc_ac] Incorrect AN/AC counts at 1:100\n")
    assert plan.argv("x.vcf")[0][:5] == ["bcftools", "annotate", "--no-version", "-x", "INFO/AC,INFO/AN"]
    assert plan.extend("[E::bcf_get_variant_type] Requested allele outside valid range\n")
    assert not plan.per_sample and plan.argv("x.vcf")[1] == ["bcftools", "stats", "-"]
    assert plan.extend("[E::something_new] a value bcftools stats cannot handle\n")
    assert plan.strip == ["INFO", "FORMAT"] and len(plan.notes) == 3
    assert not plan.extend("[E::something_new] again\n"), "nothing left to adapt"
    unreadable = StatsPlan(header)
    assert not unreadable.extend("[E::bgzf_read] Read block operation failed with error 4 after 0 of 4 bytes\n")
    sites = StatsPlan("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    assert sites.samples == 0 and sites.argv(None) == [["bcftools", "stats", "-"]]
