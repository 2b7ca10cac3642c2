"""Sample identity on real 1000 Genomes genotypes: fingerprints of VCFs and alignments, gtcheck, findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from genomics.identity import fingerprint as fp
from tests.unit import identity_data as data

pytestmark = pytest.mark.skipif(not data.EUR.exists(), reason="needs Debian bio-eagle-examples")
GTCHECK = Path(__file__).parent.parent / "data" / "gtcheck"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("identity")
    source = data.source_vcf(tmp)
    panel_path = fp.build_panel(str(source), str(tmp / "panel.vcf.gz"), min_maf=0.2)
    panel = fp.load_panel(panel_path, "GRCh37")
    vcfs = {
        # A and B are real, distinct people; A is female (diploid X), B male (hemizygous X).
        "A": data.sample_vcf(tmp, source, "1_HG00096", "A"),
        "B": data.sample_vcf(tmp, source, "2_HG00097", "B", male=True),
        # C is A's genotypes uploaded under another id (a duplicate).
        "C": data.sample_vcf(tmp, source, "1_HG00096", "C"),
    }
    sites = [(s.chrom, s.pos, s.ref, s.alt) for s in panel.sites]
    ref = data.reference(tmp, sites)
    # The alignments of A and B are swapped: A's BAM holds B's reads and B's BAM holds A's.
    bams = {"A": data.alignment(tmp, "A", vcfs["B"], ref, sites, seed=1),
            "B": data.alignment(tmp, "B", vcfs["A"], ref, sites, seed=2)}
    return {"tmp": tmp, "panel": panel, "vcfs": vcfs, "bams": bams, "ref": ref}


def test_parse_gtcheck_discordance_counts() -> None:
    parsed = fp.parse_gtcheck((GTCHECK / "gtcheck-e0-gt.txt").read_text())
    assert parsed["info"]["sites-compared"] == 759
    assert parsed["info"]["sites-skipped-no-match"] == 1241
    assert parsed["pairs"] == [
        {"query": "1_HG00096", "genotyped": "2_HG00097", "discordance": 458.0, "log_p_hwe": 0.0, "sites": 759},
        {"query": "1_HG00096", "genotyped": "X1", "discordance": 0.0, "log_p_hwe": 0.0, "sites": 759},
    ]


def test_parse_gtcheck_default_pl_scores() -> None:
    parsed = fp.parse_gtcheck((GTCHECK / "gtcheck-default.txt").read_text())
    scores = {p["genotyped"]: p for p in parsed["pairs"]}
    assert scores["X1"]["discordance"] < 1 < scores["2_HG00097"]["discordance"]
    assert scores["2_HG00097"]["log_p_hwe"] > 4000


def test_gt_code_haploid_and_missing() -> None:
    assert [fp.gt_code(g) for g in ("0/0", "0|1", "1/1", "1", "0", "./.", ".", "1/2")] == \
        ["0", "1", "2", "2", "0", ".", ".", "."]
    assert fp.decode(fp.encode("012.")) == "012."


def test_load_panel_rejects_indels(tmp_path: Path) -> None:
    vcf = tmp_path / "bad.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   "1\t10\t.\tA\tAT\t.\t.\t.\n")
    with pytest.raises(fp.IdentityError, match=r"IDENTITY_PANEL_INVALID.*record 1 .*not a biallelic SNP"):
        fp.load_panel(str(vcf))


def test_fingerprint_vcf_and_alignment_agree_for_one_person(world: dict) -> None:
    panel = world["panel"]
    from_vcf = fp.fingerprint_vcf(str(world["vcfs"]["A"]), panel, "A")
    # B's BAM holds A's reads
    from_bam = fp.fingerprint_alignment(str(world["bams"]["B"]), panel, str(world["ref"]))
    called = [(a, b) for a, b in zip(from_vcf, from_bam, strict=True) if a != "." and b != "."]
    assert len(called) > 0.9 * len(panel.sites)
    assert sum(a != b for a, b in called) / len(called) < fp.MATCH_MAX_DISCORDANCE
    assert set(from_vcf) <= set("012.") and "1" in from_vcf and "2" in from_vcf


def test_infer_sex_from_x_heterozygosity(world: dict) -> None:
    panel = world["panel"]
    female = fp.infer_sex(panel, fp.fingerprint_vcf(str(world["vcfs"]["A"]), panel, "A"))
    male = fp.infer_sex(panel, fp.fingerprint_vcf(str(world["vcfs"]["B"]), panel, "B"))
    assert female["sex"] == "female" and female["x_sites"] >= fp.SEX_MIN_X_SITES
    assert male["sex"] == "male" and male["x_het"] == 0.0


def _stored(world: dict, sample: str, kind: str) -> fp.Stored:
    panel = world["panel"]
    if kind == "vcf":
        codes = fp.fingerprint_vcf(str(world["vcfs"][sample]), panel, sample)
    else:
        codes = fp.fingerprint_alignment(str(world["bams"][sample]), panel, str(world["ref"]))
    return fp.Stored(sample, f"{sample}-{kind}-result", kind, codes)


def test_findings_duplicate_under_another_id(world: dict) -> None:
    a, b = _stored(world, "A", "vcf"), _stored(world, "B", "vcf")
    c = _stored(world, "C", "vcf")
    found, summary = fp.findings(world["panel"], sample_id="C", result_id=c.result_id, kind="vcf",
                                 codes=c.codes, others=[a, b])
    assert [f["code"] for f in found] == ["IDENTITY_MATCHES_OTHER_SAMPLE"]
    assert found[0]["samples"] == ["C", "A"]
    assert found[0]["evidence"][0]["discordance"] == 0
    assert summary["compared"] == 2


def test_findings_swapped_alignments(world: dict) -> None:
    vcf_a, vcf_b = _stored(world, "A", "vcf"), _stored(world, "B", "vcf")
    bam_a = _stored(world, "A", "alignment")
    found, _ = fp.findings(world["panel"], sample_id="A", result_id=bam_a.result_id, kind="alignment",
                           codes=bam_a.codes, others=[vcf_a, vcf_b])
    codes = {f["code"]: f for f in found}
    assert codes["IDENTITY_MATCHES_OTHER_SAMPLE"]["samples"] == ["A", "B"]
    assert codes["IDENTITY_SAME_SAMPLE_MISMATCH"]["samples"] == ["A"]
    assert codes["IDENTITY_SAME_SAMPLE_MISMATCH"]["evidence"][0]["fraction"] > 0.3


def test_findings_clean_sample_has_none(world: dict) -> None:
    vcf_a, vcf_b = _stored(world, "A", "vcf"), _stored(world, "B", "vcf")
    # B's BAM holds A's reads: checked as A it is consistent with A's VCF and not with B's.
    bam = _stored(world, "B", "alignment")
    found, summary = fp.findings(world["panel"], sample_id="A", result_id="fresh", kind="alignment",
                                 codes=bam.codes, others=[vcf_a, vcf_b], declared_sex="female")
    assert found == []
    assert summary["sex"] == "female"


def test_findings_declared_sex_disagrees(world: dict) -> None:
    b = _stored(world, "B", "vcf")
    found, summary = fp.findings(world["panel"], sample_id="B", result_id=b.result_id, kind="vcf",
                                 codes=b.codes, others=[], declared_sex="F")
    assert [f["code"] for f in found] == ["IDENTITY_SEX_MISMATCH"]
    assert summary["sex"] == "male" and summary["declared_sex"] == "female"


def test_fingerprint_vcf_reads_gvcf_and_multiallelic_records(tmp_path: Path) -> None:
    """Genotypes are matched by bases, so a gVCF's <NON_REF> or a record with more ALTs still gives the
    panel site's genotype; a call with an allele outside the panel's pair is unusable."""
    head = ("##fileformat=VCFv4.2\n##contig=<ID=21>\n"
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
    panel_vcf = tmp_path / "panel.vcf"
    panel_vcf.write_text(head + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                         + "".join(f"21\t{p}\t.\tA\tG\t.\t.\t.\n" for p in (100, 200, 300, 400)))
    import subprocess

    subprocess.run(["bgzip", "-f", str(panel_vcf)], check=True)
    panel = fp.load_panel(str(panel_vcf) + ".gz")
    sample = tmp_path / "s.vcf"
    sample.write_text(head + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n"
                      "21\t100\t.\tA\tG,<NON_REF>\t.\t.\t.\tGT\t0/1\n"
                      "21\t200\t.\tA\tC,G\t.\t.\t.\tGT\t2/2\n"
                      "21\t300\t.\tA\tC,G\t.\t.\t.\tGT\t0/1\n"
                      "21\t400\t.\tA\t<NON_REF>\t.\t.\t.\tGT\t0/0\n")
    assert fp.fingerprint_vcf(str(sample), panel, "S") == "12.0"


def test_infer_sex_from_y_density_and_conflicts(world: dict) -> None:
    panel = world["panel"]
    no_x = "".join("." if s.chrom == "X" else "0" for s in panel.sites)  # nothing called on X
    assert fp.infer_sex(panel, no_x)["sex"] is None
    assert fp.infer_sex(panel, no_x, 0.31)["sex"] == "male"
    assert fp.infer_sex(panel, no_x, 0.004)["sex"] == "female"
    assert fp.infer_sex(panel, no_x, 0.06)["sex"] is None  # between the bands
    female = fp.fingerprint_vcf(str(world["vcfs"]["A"]), panel, "A")
    agree = fp.infer_sex(panel, female, 0.01)
    assert agree["sex"] == "female" and agree["sex_from"] == "X+Y"
    assert fp.infer_sex(panel, female, 0.4)["sex"] is None  # X says female, Y says male: undetermined
    found, _ = fp.findings(panel, sample_id="A", result_id="r", kind="alignment", codes=no_x, others=[],
                           declared_sex="female", y_x_density=0.31)
    assert found[0]["code"] == "IDENTITY_SEX_MISMATCH" and "Y/X read density (0.31)" in found[0]["message"]
