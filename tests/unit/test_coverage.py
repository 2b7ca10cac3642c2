"""Coverage with mosdepth on alignments of real 1000 Genomes genotypes: metrics, WGS targets from the
reference, and the exact merge of per-contig shards."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from genomics.identity import fingerprint as fp
from genomics.qc import coverage as cov
from genomics.qc import gate
from tests.unit import identity_data as data

pytestmark = pytest.mark.skipif(not data.EUR.exists(), reason="needs Debian bio-eagle-examples")


@pytest.fixture(scope="module")
def bam(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("coverage")
    source = data.source_vcf(tmp)
    panel = fp.load_panel(fp.build_panel(str(source), str(tmp / "panel.vcf.gz")))
    sites = [(s.chrom, s.pos, s.ref, s.alt) for s in panel.sites]
    ref = data.reference(tmp, sites)
    vcf = data.sample_vcf(tmp, source, "1_HG00096", "A")
    path = data.alignment(tmp, "A", vcf, ref, sites, depth=30)
    targets = tmp / "panel.bed"  # a panel assay's target: 41 bp around every site
    targets.write_text("".join(f"{c}\t{p - 21}\t{p + 20}\n" for c, p, *_ in sites))
    return {"tmp": tmp, "bam": path, "ref": ref, "targets": targets, "sites": sites}


def test_parse_summary_dist_thresholds() -> None:
    summary = cov.parse_summary("chrom\tlength\tbases\tmean\tmin\tmax\n21\t100\t250\t2.50\t0\t9\n"
                                "21_region\t10\t50\t5.00\t1\t9\ntotal\t100\t250\t2.50\t0\t9\n")
    assert summary["21_region"] == {"length": 10, "bases": 50, "min": 1, "max": 9}
    assert cov.parse_dist("21\t2\t0.50\n21\t1\t1.00\ntotal\t1\t1.00\n") == {"21": {2: 0.5, 1: 1.0},
                                                                            "total": {1: 1.0}}
    th = cov.parse_thresholds("#chrom\tstart\tend\tregion\t10X\t20X\t30X\n21\t0\t10\tunknown\t8\t5\t0\n"
                              "21\t20\t25\tunknown\t5\t5\t5\n")
    assert th == {"21": {"length": 15, "10X": 13, "20X": 10, "30X": 5}}


def test_wgs_targets_skip_n_runs(tmp_path: Path) -> None:
    fa = tmp_path / "r.fa"
    fa.write_text(">c1 desc\nNNACGT\nACNNNN\nNNGG\n>c2\nACGT\n")
    bed = cov.wgs_targets(str(fa), tmp_path / "wgs.bed")
    assert bed.read_text() == "c1\t2\t8\nc1\t14\t16\nc2\t0\t4\n"


def test_coverage_panel_target_metrics(bam: dict) -> None:
    raw = cov.run(str(bam["bam"]), bam["targets"])
    m = cov.coverage(raw)
    assert m["target_bases"] == 41 * len(bam["sites"])
    # 30 reads of 100 bp start 5..95 bp before each site: the 41 bp around it are mostly covered >= 10x
    assert 15 < m["target_mean_depth"] <= 30
    assert 10 <= m["target_median_depth"] <= 30
    assert m["pct_target_10x"] > 90 and m["pct_target_10x"] >= m["pct_target_20x"] >= m["pct_target_30x"]
    assert set(m["depth_per_contig"]) == {"21", "X"}
    verdict = gate.evaluate({**m, "reads": 30 * len(bam["sites"])}, "panel")  # evaluated from 1000 reads
    # a panel wants >= 100x: this 30-read target fails on its mean depth
    assert verdict["checks"]["target_mean_depth"]["verdict"] == "fail"
    assert verdict["checks"]["pct_target_30x"]["verdict"] in gate.VERDICTS
    assert verdict["verdict"] == "fail" and verdict["deciding_metric"] == "target_mean_depth"


def test_coverage_wgs_target_from_reference(bam: dict) -> None:
    bed = cov.wgs_targets(str(bam["ref"]), bam["tmp"] / "wgs.bed")
    m = cov.coverage(cov.run(str(bam["bam"]), bed))
    # the reference is N outside 600 bp around each site: the WGS target is those windows
    assert 0 < m["target_bases"] <= 601 * len(bam["sites"])
    assert m["target_mean_depth"] > 1


@pytest.mark.parametrize("target", ["targets", "wgs"])
def test_coverage_shards_merge_exactly(bam: dict, target: str) -> None:
    tmp: Path = bam["tmp"]
    bed = bam["targets"] if target == "targets" else cov.wgs_targets(str(bam["ref"]), tmp / "wgs2.bed")
    single = cov.run(str(bam["bam"]), bed)
    shards = []
    for contig in ("21", "X"):
        part = tmp / f"shard_{contig}_{target}.bam"
        subprocess.run(["samtools", "view", "-b", "-o", str(part), str(bam["bam"]), contig], check=True)
        subprocess.run(["samtools", "index", str(part)], check=True)
        part_bed = tmp / f"shard_{contig}_{target}.bed"
        part_bed.write_text("".join(ln + "\n" for ln in bed.read_text().splitlines() if ln.split("\t")[0] == contig))
        shards.append(cov.run(str(part), part_bed))
    merged = cov.merge(shards)
    assert cov.coverage(merged) == cov.coverage(single)
    # lengths and bases (what the metrics use) are exact; mosdepth's region min differs with the shard's header
    def sums(text: str) -> dict:
        return {k: (r["length"], r["bases"]) for k, r in cov.parse_summary(text).items()}

    assert sums(merged["mosdepth_summary"]) == sums(single["mosdepth_summary"])
    assert cov.parse_thresholds(merged["mosdepth_thresholds"]) == cov.parse_thresholds(single["mosdepth_thresholds"])


def test_coverage_scattered_shards_of_a_sparse_copy_equal_single_pass(bam: dict, tmp_path: Path) -> None:
    """The scatter plan (genomics.qc.scatter) on the real-genotype BAM: each shard runs mosdepth on a sparse
    copy holding only its planned byte ranges (what a Lambda shard fetches), with the index elsewhere;
    merged coverage equals the single pass."""
    import os

    from genomics.qc import scatter

    path = str(bam["bam"])
    index = scatter.build_index(path, str(tmp_path / "in.bai"))
    assert index is not None
    header = subprocess.run(["samtools", "view", "-H", path], capture_output=True, text=True, check=True).stdout
    bai = scatter.parse_bai(scatter.read_index(index), scatter.header_refs(header))
    size = os.path.getsize(path)
    shards = scatter.plan_shards(bai, target_reads=1, max_shards=64, file_size=size,
                                 header_end=scatter.header_end_offset(bai))
    assert sorted(c for s in shards for c in s["contigs"]) == ["21", "X"] and len(shards) == 2
    data = Path(path).read_bytes()
    results = []
    for shard in shards:
        sparse = tmp_path / f"sparse{shard['index']}.bam"
        with open(sparse, "wb") as fh:
            fh.truncate(size)
            for a, b in shard["ranges"]:
                fh.seek(a)
                fh.write(data[a:b])
        results.append(scatter.run_shard(str(sparse), shard, index=index, coverage_bed=str(bam["targets"])))
    merged = scatter.merge_shards(results)
    assert cov.coverage(merged) == cov.coverage(cov.run(path, bam["targets"]))


def test_qc_local_bam_gets_coverage_without_writing_beside_it(bam: dict, tmp_path: Path) -> None:
    from genomics.qc.service import qc_local

    copy = tmp_path / "reads.bam"
    copy.write_bytes(Path(bam["bam"]).read_bytes())  # no index beside it
    out = qc_local(str(copy), assay="panel", targets=str(bam["targets"]))
    assert out["metrics"]["target_bases"] == 41 * len(bam["sites"])
    assert out["gate"]["checks"]["target_mean_depth"]["verdict"] == "fail"  # < 100x for a panel
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reads.bam"]  # the index QC built stayed in scratch
    wes = qc_local(str(copy), assay="wes")
    assert "target_bases" not in wes["metrics"] and any("no target BED" in n for n in wes["notes"])
