"""Real caller outputs are first-class: one representative file per caller class, written from each
tool's documented output format (tests/data/callers), goes through processing and QC to a verdict."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from genomics.processing import vcf
from genomics.qc.service import qc_local

CALLERS = Path(__file__).resolve().parents[1] / "data" / "callers"


def _run(name: str, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any], list[list[str]], str]:
    src = CALLERS / name
    before = src.read_bytes()
    res = vcf.process_local(str(src), str(tmp_path / "out"))
    assert src.read_bytes() == before, "the input is never modified"
    side = json.loads(Path(res["sidecar"]).read_text())
    qc = qc_local(res["vcf"], assay="wgs")
    assert qc["gate"]["verdict"] in ("pass", "warn", "fail")
    body = subprocess.run(["bcftools", "view", "-H", res["vcf"]], capture_output=True, text=True, check=True).stdout
    header = vcf.header_text(res["vcf"])
    return side, qc, [ln.split("\t") for ln in body.splitlines()], header


def _sorted(rows: list[list[str]], header: str) -> bool:
    order = [c["contig"] for c in vcf.parse_header_contigs(header)]
    keys = [(order.index(r[0]), int(r[1])) for r in rows]
    return keys == sorted(keys)


def test_callers_gatk_gvcf_with_ploidy_regions(tmp_path):
    side, qc, rows, header = _run("gatk_hc.g.vcf", tmp_path)
    assert any(r[4] == "<NON_REF>" and "END=" in r[7] for r in rows), "reference blocks are kept"
    split = [r for r in side["repairs"] if r["repair"] == "polyploid_split"]
    assert [(r["key"], r["records"], r["first"]) for r in split] == [("FORMAT/PL", 1, "chrX:2781601")]
    tetra = {r[4]: r[9].split(":") for r in rows if r[1] == "2781601"}
    # 15 tetraploid likelihoods over {A, G, <NON_REF>}: each biallelic record keeps its own 5 genotypes.
    assert tetra["G"][0] == "0/0/1/1" and tetra["G"][4] == "640,120,0,45,700" and tetra["G"][1] == "20,22"
    assert tetra["<NON_REF>"][0] == "0/0/0/0" and tetra["<NON_REF>"][4] == "640,660,800,720,980"
    # A biallelic tetraploid block keeps its 5 genotype likelihoods; diploid records keep theirs.
    assert any(r[1] == "2781502" and r[9].endswith("0,60,120,180,900") for r in rows)
    assert any(r[1] == "60343" and r[4] == "A" and r[9].split(":")[4] == "531,0,600" for r in rows)
    assert qc["metrics"]["records"] == len(rows) and _sorted(rows, header)


def test_callers_deepvariant_gvcf_star_blocks(tmp_path):
    side, qc, rows, _ = _run("deepvariant.g.vcf", tmp_path)
    assert side["repairs"] == []
    assert any(r[4] == "<*>" and "END=" in r[7] for r in rows)
    assert qc["metrics"]["samples"] == 1 and qc["metrics"]["snps"] >= 4


def test_callers_mutect2_tumor_normal(tmp_path):
    _side, qc, rows, header = _run("mutect2.vcf", tmp_path)
    assert "##Mutect Version=2.2" in header
    assert {r[6] for r in rows} == {"PASS", "weak_evidence", "germline"}
    assert qc["metrics"]["samples"] == 2 and qc["metrics"]["records"] == len(rows) == 4


def test_callers_strelka2_somatic_without_genotypes(tmp_path):
    _side, qc, rows, _ = _run("strelka2_somatic.vcf", tmp_path)
    assert [r[1] for r in rows] == ["1200000", "1234567", "1234999", "1234999"], "sorted and split"
    assert qc["metrics"]["samples"] == 2 and qc["metrics"]["het"] == 0


def test_callers_manta_sv_unsorted_with_breakends(tmp_path):
    _side, qc, rows, header = _run("manta_sv_unsorted.vcf", tmp_path)
    assert _sorted(rows, header)
    alts = {r[4] for r in rows}
    assert {"<DEL>", "<INV>", "<DUP:TANDEM>", "G]chr5:1000000]", "T]chr1:2000000]"} <= alts
    assert any("SVLEN=-2500" in r[7] and "END=1502500" in r[7] for r in rows)
    assert qc["metrics"]["records"] == 6


@pytest.mark.parametrize(("name", "key"), [("vep_csq.vcf", "CSQ="), ("snpeff_ann.vcf", "ANN=")])
def test_callers_annotated_keep_annotations_on_split_records(name, key, tmp_path):
    _side, qc, rows, _ = _run(name, tmp_path)
    multi = [r for r in rows if r[1] in ("140753400", "43100000")]
    assert len(multi) == 2 and all(key in r[7] for r in multi)
    assert qc["metrics"]["records"] == 3


def test_callers_bcftools_call_multisample(tmp_path):
    side, qc, rows, _ = _run("bcftools_call.vcf", tmp_path)
    assert side["split"] == 2 and len(rows) == 6
    assert qc["metrics"]["samples"] == 2 and qc["metrics"]["indels"] == 2


def test_callers_freebayes_mnp_and_complex(tmp_path):
    _side, qc, rows, _ = _run("freebayes.vcf", tmp_path)
    assert any(r[3] == "CAGT" and r[4] == "TAGA" for r in rows)
    assert qc["metrics"]["mnps"] == 1


def test_callers_joint_called_cohort(tmp_path):
    _side, qc, rows, _ = _run("cohort.vcf", tmp_path)
    assert len(rows) == 4 and qc["metrics"]["samples"] == 4
    cohort = qc_local(str(tmp_path / "out" / "cohort.norm.vcf.gz"), assay="cohort")
    assert "missing_rate" in cohort["gate"]["checks"]


def test_callers_sites_only_gets_site_qc(tmp_path):
    """gnomAD-like sites: site metrics, per-sample metrics not applicable, the gate evaluates only what
    applies; one record's AC exceeds AN (bcftools stats would exit 1): frequencies come from genotypes."""
    _side, qc, rows, _ = _run("gnomad_sites.vcf", tmp_path)
    m = qc["metrics"]
    assert m["samples"] == 0 and m["records"] == len(rows) == 8
    assert m["snps"] == 6 and m["indels"] == 1 and m["mnps"] == 1 and m["multiallelic_sites"] == 0
    assert m["ts_tv"] is not None
    for name in ("het", "hom_alt", "het_hom_ratio", "missing_rate", "mean_depth"):
        assert m[name] is None, name
    checks = qc["gate"]["checks"]
    assert checks["missing_rate"]["verdict"] == "not_evaluated" and "not applicable" in checks["missing_rate"]["reason"]
    assert any("sites-only" in n for n in qc["notes"]) and any("AC exceeds" in n for n in qc["notes"])


def test_callers_old_tool_undeclared_keys_declared_as_htslib_does(tmp_path):
    side, qc, rows, header = _run("old_tool_undeclared.vcf", tmp_path)
    declared = [r["key"] for r in side["repairs"] if r["repair"] == "declared"]
    assert declared[:2] == ["contig/chr3", "FILTER/q10"]
    assert {"INFO/DB", "INFO/1000GAF", "INFO/XS", "FORMAT/GQ", "FORMAT/AD", "FORMAT/PL", "FORMAT/DP",
            "contig/chrUn_gl000220", "FILTER/LowQual"} <= set(declared)
    assert "##FORMAT=<ID=AD,Number=1,Type=String," in header and "##contig=<ID=chrUn_gl000220>" in header
    assert _sorted(rows, header) and [r[1] for r in rows if r[0] == "chr3"] == ["200", "200", "300", "500"]
    assert qc["metrics"]["records"] == 5 and any("FORMAT/DP" in n for n in qc["notes"])


def test_callers_decimals_in_integer_info_are_carried(tmp_path):
    """Validation accepts a decimal in an Integer INFO key with a warning; htslib would truncate 12.5 to
    12 without a word, so processing (told by the conformance report) declares the key Float first."""
    from genomics.validation import validate_path

    src = CALLERS / "float_in_integer.vcf"
    report = validate_path(str(src), profile="default")
    assert report.valid
    conformance = report.conformance()
    assert conformance["codes"].get("VCF_INFO_TYPE") == 2
    res = vcf.process_local(str(src), str(tmp_path / "out"), conformance=conformance)
    side = json.loads(Path(res["sidecar"]).read_text())
    typed = [r for r in side["repairs"] if r["repair"] == "type_float"]
    assert [(r["key"], r["first"]) for r in typed] == [("INFO/DP", "chr7:2000")]
    assert side["conformance"] == conformance
    assert "##INFO=<ID=DP,Number=1,Type=Float," in vcf.header_text(res["vcf"])
    body = subprocess.run(["bcftools", "view", "-H", res["vcf"]], capture_output=True, text=True, check=True).stdout
    assert "DP=12.5;" in body and body.count("DP=40.25;") == 2
    # Without the report there is no scan: the normal pipeline runs (and htslib truncates, as it always did).
    plain = vcf.process_local(str(src), str(tmp_path / "plain"))
    assert plain["repairs"] == []
    assert qc_local(res["vcf"])["metrics"]["records"] == 4


def test_callers_cli_process_then_qc_sites_only(tmp_path, capsys):
    """The CLI's local cores: `genomics process` lists repairs; `genomics qc` prints QC's notes."""
    from genomics.cli import main

    assert main(["process", str(CALLERS / "old_tool_undeclared.vcf"), str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {"repair": "declared", "key": "FILTER/q10"}.items() <= printed["repairs"][1].items()
    assert main(["qc", str(CALLERS / "gnomad_sites.vcf"), "--assay", "cohort"]) in (0, 1)
    out = capsys.readouterr().out
    assert "note: sites-only VCF (no sample columns)" in out and "records: 7" in out
