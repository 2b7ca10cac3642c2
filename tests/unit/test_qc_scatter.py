"""Scattered alignment QC equals single-pass samtools stats/flagstat: every SN line, the insert-size,
coverage, read-length, quality, indel and GC-content distributions, the checksum; on the corpus's BAMs
and on synthetic paired reads with duplicates, MAPQ 0, inter-contig pairs, secondary, supplementary,
QC-failed, trimmed and unplaced reads. Shards are whole contigs (grouped) plus the unplaced reads."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from genomics import synth
from genomics.corpus import CORPUS
from genomics.qc import scatter
from genomics.qc.parsers import parse_samtools_stats

# What the merge cannot rebuild bit-exactly from samtools' printed output (see genomics.qc.scatter).
NOT_EXACT = ("GCD", "GCC", "GCT", "FBC", "LBC")


def _samtools(*argv: str) -> str:
    return subprocess.run(["samtools", *argv], capture_output=True, text=True, check=True).stdout


def _comparable(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#") and line.split("\t")[0]
            not in NOT_EXACT]


def _scatter(path: str, target_reads: int, tmp: Path) -> tuple[list[dict], dict[str, str]]:
    index = scatter.build_index(path, str(tmp / "in.bai"))
    assert index is not None
    refs = scatter.header_refs(_samtools("view", "-H", path))
    bai = scatter.parse_bai(scatter.read_index(index), refs)
    shards = scatter.plan_shards(bai, target_reads=target_reads, max_shards=64, file_size=os.path.getsize(path),
                                 header_end=scatter.header_end_offset(bai))
    results = [scatter.run_shard(path, s, index=index) for s in shards]
    return shards, scatter.merge_shards(results)


def _augment(src: str, out: str, seed: int = 7) -> None:
    """Synthetic reads made messier: inter-contig pairs (some with secondary/supplementary copies and
    QC-failed mates), secondary and supplementary records, QC-failed and trimmed reads, unplaced reads."""
    rng = random.Random(seed)
    text = _samtools("view", "-h", src)
    header = [line for line in text.splitlines() if line.startswith("@")]
    recs = [line.split("\t") for line in text.splitlines() if not line.startswith("@")]
    contigs = [h.split("\t")[1][3:] for h in header if h.startswith("@SQ")]
    mates: dict[str, list[list[str]]] = {}
    for r in recs:
        mates.setdefault(r[0], []).append(r)
    extra: list[list[str]] = []
    for group in mates.values():
        if len(group) != 2 or group[0][2] == "*" or any(int(r[1]) & 4 for r in group):
            continue
        a, b = group
        fa, fb = int(a[1]), int(b[1])
        u = rng.random()
        if u < 0.03:
            other = rng.choice([c for c in contigs if c != a[2]])
            b[2], b[3] = other, str(rng.randint(1000, 200_000))
            a[6], a[7], b[6], b[7] = other, b[3], a[2], a[3]
            a[8] = b[8] = "0"
            a[1], b[1] = str(fa & ~2), str(fb & ~2)
            if rng.random() < 0.3:
                extra.append([a[0], str(int(a[1]) | 0x100), *a[2:]])
            if rng.random() < 0.2:
                extra.append([b[0], str(int(b[1]) | 0x800), *b[2:]])
            if rng.random() < 0.1:
                a[1] = str(int(a[1]) | 0x200)
        elif u < 0.05:
            extra.append([a[0], str(fa | 0x100), *a[2:]])
        elif u < 0.06:
            extra.append([b[0], str(fb | 0x800), rng.choice(contigs), str(rng.randint(1000, 200_000)), *b[4:]])
        elif u < 0.07:
            a[1] = str(fa | 0x200)
        elif u < 0.08 and a[5] == "150M":
            cut = rng.randint(20, 60)
            a[5], a[9], a[10] = f"{150 - cut}M", a[9][:-cut], a[10][:-cut]
    extra += [[f"lone{i}", "4", "*", "0", "0", "*", "*", "0", "0", "ACGT" * 20, "I" * 80] for i in range(25)]
    body = "\n".join(header) + "\n" + "\n".join("\t".join(r) for r in recs + extra) + "\n"
    subprocess.run(["samtools", "sort", "-o", out, "-"], input=body, text=True, check=True, capture_output=True)


@pytest.fixture(scope="module")
def messy_bam(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("scatter")
    written = synth.write_reads(str(tmp / "clean.bam"), "bam", 12_000, synth.default_contigs(4, 250_000), seed=5)
    out = str(tmp / "messy.bam")
    _augment(written["reads"], out)
    return out


@pytest.mark.parametrize("target_reads", [1, 8_000, 10**9])
def test_scatter_merged_stats_equal_single_pass_on_messy_synthetic_reads(
    messy_bam: str, target_reads: int, tmp_path: Path
) -> None:
    shards, merged = _scatter(messy_bam, target_reads, tmp_path)
    assert shards[-1].get("unplaced") and sum(s["reads"] for s in shards) > 0
    single = _samtools("stats", messy_bam)
    assert _comparable(merged["samtools_stats"]) == _comparable(single)
    assert merged["samtools_flagstat"] == _samtools("flagstat", messy_bam)


def test_scatter_messy_reads_exercise_what_the_merge_must_get_right(messy_bam: str, tmp_path: Path) -> None:
    """The synthetic input really has the cases: otherwise the equality above proves little."""
    sn = parse_samtools_stats(_samtools("stats", messy_bam))["summary"]
    for key in ("pairs_on_different_chromosomes", "reads_duplicated", "reads_mq0", "non_primary_alignments",
                "supplementary_alignments", "reads_qc_failed", "reads_unmapped", "inward_oriented_pairs"):
        assert sn[key] > 0, key
    shards, _ = _scatter(messy_bam, 1, tmp_path)
    assert len(shards) == 5  # four contigs, one each, and the unplaced reads


def test_scatter_insert_size_and_coverage_distributions_merge_exactly(messy_bam: str, tmp_path: Path) -> None:
    _, merged = _scatter(messy_bam, 1, tmp_path)
    got = parse_samtools_stats(merged["samtools_stats"])
    want = parse_samtools_stats(_samtools("stats", messy_bam))
    assert got["insert_size"] == want["insert_size"] and len(want["insert_size"]) > 100
    assert got["coverage"] == want["coverage"] and len(want["coverage"]) > 3
    assert got["summary"]["insert_size_average"] == want["summary"]["insert_size_average"]
    assert got["summary"]["insert_size_standard_deviation"] == want["summary"]["insert_size_standard_deviation"]


CORPUS_ALIGNMENTS = ["bam/passed/level-1.bam", "qc_oracles/samtools_stats/11_target.sam",
                     "qc_oracles/samtools_stats/8_secondary.sam", "qc_oracles/samtools_stats/7_supp.sam",
                     "qc_oracles/samtools_stats/1_map_cigar.sam", "qc_oracles/samtools_stats/5_insert_cigar.sam",
                     "qc_oracles/samtools_stats/15.big_del.sam"]


@pytest.mark.parametrize("name", CORPUS_ALIGNMENTS)
def test_scatter_merged_stats_equal_single_pass_on_the_corpus(name: str, tmp_path: Path) -> None:
    src = CORPUS / name
    if not src.exists():
        pytest.skip(f"corpus file {name} absent")
    path = str(tmp_path / "in.bam")
    subprocess.run(["samtools", "sort", "-o", path, str(src)], check=True, capture_output=True)
    _, merged = _scatter(path, 1, tmp_path)
    assert _comparable(merged["samtools_stats"]) == _comparable(_samtools("stats", path))
    assert merged["samtools_flagstat"] == _samtools("flagstat", path)


def test_scatter_build_index_refuses_an_unsorted_bam_whatever_its_header_says(messy_bam: str, tmp_path: Path) -> None:
    unsorted = str(tmp_path / "qn.bam")
    subprocess.run(["samtools", "sort", "-n", "-o", unsorted, messy_bam], check=True)
    header = _samtools("view", "-H", unsorted).replace("SO:queryname", "SO:coordinate")
    lying = str(tmp_path / "lying.bam")
    body = header + _samtools("view", unsorted)
    subprocess.run(["samtools", "view", "-b", "-o", lying, "-"], input=body, text=True, check=True)
    assert scatter.build_index(lying, str(tmp_path / "x.bai")) is None
    shutil.copy(messy_bam, tmp_path / "ok.bam")
    assert scatter.build_index(str(tmp_path / "ok.bam"), str(tmp_path / "ok.bai")) == str(tmp_path / "ok.bai")


def test_scatter_plan_groups_contigs_in_file_order_and_covers_every_read(messy_bam: str, tmp_path: Path) -> None:
    index = scatter.build_index(messy_bam, str(tmp_path / "i.bai"))
    assert index is not None
    bai = scatter.parse_bai(scatter.read_index(index), scatter.header_refs(_samtools("view", "-H", messy_bam)))
    size = os.path.getsize(messy_bam)
    shards = scatter.plan_shards(bai, target_reads=12_000, max_shards=64, file_size=size, header_end=1000)
    names = [n for s in shards for n in s["contigs"]]
    assert names == [c.name for c in bai.contigs if c.reads]
    assert sum(s["reads"] for s in shards) == int(_samtools("view", "-c", messy_bam).strip())
    for s in shards:
        assert all(0 <= a < b <= size for a, b in s["ranges"]), s
    capped = scatter.plan_shards(bai, target_reads=1, max_shards=3, file_size=size, header_end=1000)
    assert len(capped) <= 3


def test_scatter_shard_reads_only_its_byte_ranges(messy_bam: str, tmp_path: Path) -> None:
    """A sparse copy holding only a shard's planned ranges gives the same stats as the whole file: what the
    Lambda shard fetches from S3 is enough."""
    index = scatter.build_index(messy_bam, str(tmp_path / "i.bai"))
    assert index is not None
    bai = scatter.parse_bai(scatter.read_index(index), scatter.header_refs(_samtools("view", "-H", messy_bam)))
    size = os.path.getsize(messy_bam)
    shards = scatter.plan_shards(bai, target_reads=1, max_shards=64, file_size=size,
                                 header_end=scatter.header_end_offset(bai))
    data = Path(messy_bam).read_bytes()
    for shard in (shards[1], shards[-1]):
        sparse = tmp_path / f"sparse{shard['index']}.bam"
        with open(sparse, "wb") as fh:
            fh.truncate(size)
            for a, b in shard["ranges"]:
                fh.seek(a)
                fh.write(data[a:b])
        assert scatter.run_shard(str(sparse), shard, index=index) == scatter.run_shard(messy_bam, shard, index=index)


def test_scatter_merge_flagstat_recomputes_percentages() -> None:
    a = "10 + 0 in total (QC-passed reads + QC-failed reads)\n5 + 0 mapped (50.00% : N/A)\n"
    b = "30 + 2 in total (QC-passed reads + QC-failed reads)\n25 + 1 mapped (83.33% : 50.00%)\n"
    assert scatter.merge_flagstat([a, b]) == (
        "40 + 2 in total (QC-passed reads + QC-failed reads)\n30 + 1 mapped (75.00% : 50.00%)\n"
    )


def _pairs_sam(path: Path, pairs: int, improper: int) -> str:
    """``pairs`` read pairs on two contigs, the last ``improper`` without the proper-pair flag; sorted BAM."""
    seq, qual = "ACGT" * 25, "I" * 100
    lines = ["@HD\tVN:1.6\tSO:coordinate", "@SQ\tSN:c1\tLN:1000000", "@SQ\tSN:c2\tLN:1000000"]
    for i in range(pairs):
        contig, pos = ("c1", "c2")[i % 2], 100 + 37 * i
        proper = 0 if i >= pairs - improper else 2
        lines.append(f"p{i}\t{97 | proper}\t{contig}\t{pos}\t60\t100M\t=\t{pos + 200}\t300\t{seq}\t{qual}")
        lines.append(f"p{i}\t{145 | proper}\t{contig}\t{pos + 200}\t60\t100M\t=\t{pos}\t-300\t{seq}\t{qual}")
    sam = path.with_suffix(".sam")
    sam.write_text("\n".join(lines) + "\n")
    out = str(path)
    subprocess.run(["samtools", "sort", "-o", out, str(sam)], check=True, capture_output=True)
    return out


def test_scatter_percentages_round_as_samtools_does_in_single_precision(tmp_path: Path) -> None:
    """3938 of 4000 reads properly paired: 98.45 in double rounds to 98.5, samtools prints 98.4 (float)."""
    path = _pairs_sam(tmp_path / "p.bam", 2_000, 31)
    _, merged = _scatter(path, 1, tmp_path)
    single = _samtools("stats", path)
    assert "percentage of properly paired reads (%):\t98.4" in single
    assert _comparable(merged["samtools_stats"]) == _comparable(single)


def test_scatter_plan_a_malformed_plan_is_a_coded_error_not_a_key_error() -> None:
    from genomics.qc.scatter_service import ShardEventError, scatter_plan

    good = {"format": "bam", "size": 10, "mode": "scatter", "route": {}, "shard_count": 2,
            "index": {"bucket": "b", "key": "tmp/j/qc/input.bai"}, "idxstats": None, "coverage": None}
    plan = scatter_plan({"plan": good}, "gather")
    assert plan.index is not None and plan.index.key == "tmp/j/qc/input.bai" and plan.idxstats is None
    for bad in ({}, {"plan": "x"}, {"plan": {**good, "size": "big"}}, {"plan": {**good, "mode": "single"}},
                {"plan": {k: v for k, v in good.items() if k != "index"}}, {"plan": {**good, "index": {"key": "k"}}}):
        with pytest.raises(ShardEventError, match=r"^QC_SHARD_INVALID: gather"):
            scatter_plan(bad, "gather")
