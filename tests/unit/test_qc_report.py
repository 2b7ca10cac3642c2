"""MultiQC report from real tool outputs: offline (no HTTP at all), self-contained, samples named by id."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from genomics.corpus import CORPUS
from genomics.qc.gate import evaluate, load_thresholds
from genomics.qc.metrics import compute
from genomics.qc.report import render, write_inputs
from genomics.sources import LocalFile


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network call attempted: {args}")

    for name in ("get", "post", "put", "request"):
        monkeypatch.setattr(requests, name, refuse)
    monkeypatch.setattr(requests.Session, "request", refuse)


def _sample(path: Path, assay: str = "wgs") -> dict:
    _, metrics, raw = compute(LocalFile(str(path)))
    return {"raw": raw, "metrics": metrics, "gate": evaluate(metrics, assay, load_thresholds({})),
            "assay": assay}


def test_qc_report_vcf_bam_fastq_offline(tmp_path, no_network):
    vcf = tmp_path / "v.vcf"
    shutil.copy(CORPUS / "qc_oracles/bcftools_stats/stats.counts.vcf", vcf)
    subprocess.run(["bgzip", str(vcf)], check=True)
    bam = tmp_path / "a.bam"
    shutil.copy(CORPUS / "bam/passed/level-1.bam", bam)
    samples = {"VCF-1": _sample(tmp_path / "v.vcf.gz"), "BAM-1": _sample(bam),
               "FQ-1": _sample(CORPUS / "fastq/htslib/r1.fq")}
    html_path = render(samples, tmp_path / "out", title="QC: P / cohort")
    assert html_path == tmp_path / "out" / "multiqc_report.html"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["multiqc_report.html"]  # no data dir
    html = html_path.read_text()
    assert "QC: P / cohort" in html
    for sample in samples:
        assert sample in html
    for section in ("Bcftools", "Samtools", "QC gate", "mean quality per cycle"):
        assert section in html
    # self-contained: nothing is loaded from the network when the file is opened
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", html)


def test_qc_report_bcftools_sample_named_by_id(tmp_path):
    text = "# This file was produced by bcftools stats (1.16+htslib-1.16)\nID\t0\t-\nSN\t0\tnumber of records:\t3\n"
    (path,) = write_inputs(tmp_path, "sample/1", {"bcftools_stats": text, "unknown_tool": "x"})
    assert path.name == "sample_1.bcftools_stats.txt"
    lines = path.read_text().splitlines()
    assert lines[1] == "ID\t0\tsample/1"
    assert lines[2] == "SN\t0\tnumber of records:\t3"  # numbers untouched
