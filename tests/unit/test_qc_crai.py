"""CRAM scatter: the .crai parser on indexes ``samtools index`` writes for the corpus's CRAMs (one slice per
container, multi-reference slices, several slices per container, unplaced reads only) and for a synthetic
multi-contig CRAM; the shard plan (whole contigs grouped by container bytes, plus the unplaced reads);
and the merge: shards that read only a sparse copy of their planned byte ranges give exactly the single
pass's samtools stats, flagstat and idxstats (reads per contig, which the sex check and mean coverage use)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from genomics import synth
from genomics.corpus import CORPUS
from genomics.qc import crai, scatter
from genomics.qc.bai import IndexError_
from genomics.qc.metrics import derive_alignment
from genomics.qc.parsers import parse_flagstat, parse_idxstats, parse_samtools_stats
from tests.unit.test_qc_scatter import _augment, _comparable

CE = CORPUS / "cram" / "ce.fa"
CORPUS_CRAMS = [*(f"3.0/passed/{n}" for n in ("1402_index_3ref", "1403_index_multiref", "1404_index_multislice",
                                              "1401_index_unmapped", "0400_mapped", "0501_mapped", "1300_slice_aux")),
                "3.1/passed/level-1", "3.1/passed/level-4"]  # CRAM 3.1 codecs; 25 contigs, embedded reference


def _samtools(*argv: str) -> str:
    return subprocess.run(["samtools", *argv], capture_output=True, text=True, check=True).stdout


def _ref(reference: str | None) -> list[str]:
    return ["--input-fmt-option", f"reference={reference}"] if reference else []


def _corpus_cram(name: str, tmp: Path) -> str:
    src = CORPUS / "cram" / f"{name}.cram"
    if not src.exists():
        pytest.skip(f"corpus file {src} absent")
    path = tmp / f"{Path(name).name}.cram"
    shutil.copy(src, path)
    subprocess.run(["samtools", "index", str(path)], check=True, capture_output=True)
    return str(path)


@pytest.fixture(scope="module")
def messy_crams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """Synthetic paired reads on 4 contigs with the messy cases of test_qc_scatter, as CRAMs (indexed) of
    small slices (several containers per contig: ``small``) and of multi-reference slices (contigs share
    containers; the last contig's reads share one with the unplaced reads: ``multiref``)."""
    tmp = tmp_path_factory.mktemp("cram")
    written = synth.write_reads(str(tmp / "clean.bam"), "bam", 12_000, synth.default_contigs(4, 250_000), seed=5)
    bam = str(tmp / "messy.bam")
    _augment(written["reads"], bam)
    out = {}
    for name, opt in (("small", "seqs_per_slice=1000"), ("multiref", "multi_seq_per_slice=1")):
        path = str(tmp / f"{name}.cram")
        subprocess.run(["samtools", "view", "-C", "-T", written["reference"], "--output-fmt-option", opt, "-o", path,
                        bam], check=True, capture_output=True)
        subprocess.run(["samtools", "index", path], check=True, capture_output=True)
        out[name] = (path, written["reference"])
    # samtools' default slices on fewer reads: one container per contig, and the last contig's reads share
    # a multi-reference container with the unplaced ones, which htslib decodes to see chr2's region end
    few = synth.write_reads(str(tmp / "few.bam"), "bam", 3_000, synth.default_contigs(3, 250_000), seed=23)
    _augment(few["reads"], str(tmp / "few-messy.bam"))
    path = str(tmp / "tail.cram")
    subprocess.run(["samtools", "view", "-C", "-T", few["reference"], "-o", path, str(tmp / "few-messy.bam")],
                   check=True, capture_output=True)
    subprocess.run(["samtools", "index", path], check=True, capture_output=True)
    out["tail"] = (path, few["reference"])
    return out


@pytest.fixture(scope="module")
def messy_cram(messy_crams: dict[str, tuple[str, str]]) -> tuple[str, str]:
    return messy_crams["small"]


def _plan(path: str, target_bytes: int, max_shards: int = 64) -> list[dict]:
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        eof = crai.eof_bytes(fh.read(5))
    entries = crai.parse_crai(crai.read_crai(path + ".crai"))
    spans = crai.contigs(entries, scatter.header_refs(_samtools("view", "-H", path)), file_size=size, eof=eof)
    return crai.plan_shards(spans, target_bytes=target_bytes, max_shards=max_shards, file_size=size,
                            header_end=crai.header_end(entries, size, eof), eof=eof)


def _scatter_sparse(path: str, reference: str | None, target_bytes: int, tmp: Path) -> tuple[list[dict], dict]:
    """Plan, then run every shard on a sparse copy holding only its planned ranges (what a Lambda fetches)."""
    shards = _plan(path, target_bytes)
    data = Path(path).read_bytes()
    results = []
    for shard in shards:
        sparse = tmp / f"shard{shard['index']}.cram"
        with open(sparse, "wb") as fh:
            fh.truncate(len(data))
            for a, b in shard["ranges"]:
                fh.seek(a)
                fh.write(data[a:b])
        results.append(scatter.run_shard(str(sparse), shard, index=path + ".crai", reference=reference))
    return shards, scatter.merge_shards(results)


def _assert_single_pass(path: str, reference: str | None, merged: dict) -> None:
    single_stats = _samtools("stats", *_ref(reference), path)
    single_idx = _samtools("idxstats", *_ref(reference), path)
    single_flag = _samtools("flagstat", *_ref(reference), path)
    assert _comparable(merged["samtools_stats"]) == _comparable(single_stats)
    assert merged["samtools_flagstat"] == single_flag
    assert merged["samtools_idxstats"] == single_idx
    got = derive_alignment(parse_samtools_stats(merged["samtools_stats"]), parse_flagstat(merged["samtools_flagstat"]),
                           parse_idxstats(merged["samtools_idxstats"]))
    want = derive_alignment(parse_samtools_stats(single_stats), parse_flagstat(single_flag),
                            parse_idxstats(single_idx))
    for metrics in (got, want):  # GC-depth percentiles do not merge (genomics.qc.scatter): omitted
        metrics["distributions"].pop("gc_depth")
    assert got == want and got["reads_per_contig"]


@pytest.mark.parametrize("name", CORPUS_CRAMS)
def test_crai_scatter_of_corpus_crams_equals_single_pass(name: str, tmp_path: Path) -> None:
    path = _corpus_cram(name, tmp_path)
    header = _samtools("view", "-H", path)
    reference = str(CE) if name.startswith("3.0/") and "@SQ" in header else None  # 3.1's embed theirs
    shards, merged = _scatter_sparse(path, reference, 1, tmp_path)
    assert shards
    _assert_single_pass(path, reference, merged)


@pytest.mark.parametrize("target_bytes", [1, 340_000, 10**9])
def test_crai_scatter_of_messy_synthetic_cram_equals_single_pass(
    messy_cram: tuple[str, str], target_bytes: int, tmp_path: Path
) -> None:
    path, reference = messy_cram
    shards, merged = _scatter_sparse(path, reference, target_bytes, tmp_path)
    assert shards[-1].get("unplaced") and shards[-1]["contigs"] == []
    assert len(shards) == {1: 5, 340_000: 3, 10**9: 2}[target_bytes]
    _assert_single_pass(path, reference, merged)
    sn = parse_samtools_stats(merged["samtools_stats"])["summary"]
    for key in ("pairs_on_different_chromosomes", "reads_duplicated", "supplementary_alignments", "reads_unmapped"):
        assert sn[key] > 0, key


@pytest.mark.parametrize(("kind", "shared"), [("multiref", {3, -1}), ("tail", {2, -1})])
def test_crai_multi_reference_containers_merge_exactly(messy_crams: dict[str, tuple[str, str]], kind: str,
                                                       shared: set[int], tmp_path: Path) -> None:
    path, reference = messy_crams[kind]
    entries = crai.parse_crai(crai.read_crai(path + ".crai"))
    last = max(e.container for e in entries)
    assert {e.seq_id for e in entries if e.container == last} == shared  # the last contig's and unplaced reads
    _, merged = _scatter_sparse(path, reference, 1, tmp_path)
    _assert_single_pass(path, reference, merged)


@pytest.mark.parametrize("kind", ["small", "tail"])
def test_crai_shard_needs_the_next_container(messy_crams: dict[str, tuple[str, str]], kind: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """htslib reads the container after a region's last one to see that the region ended (its header; its
    slice too when it is multi-reference): without it in the sparse copy the shard fails, so the plan's
    extra container is needed, not padding."""
    from genomics.tools import ToolError

    path, reference = messy_crams[kind]
    monkeypatch.setattr(crai, "READ_NEXT_CONTAINER", False)
    with pytest.raises(ToolError, match=r"CRC32 failure"):
        _scatter_sparse(path, reference, 1, tmp_path)


def test_crai_parse_real_indexes_multiref_and_multislice(tmp_path: Path) -> None:
    multiref = crai.parse_crai(crai.read_crai(_corpus_cram("3.0/passed/1403_index_multiref", tmp_path) + ".crai"))
    shared = {e.container for e in multiref if e.seq_id == 1}
    assert {e.seq_id for e in multiref if e.container in shared} == {0, 1, 2}  # one slice, three references
    multislice = crai.parse_crai(crai.read_crai(_corpus_cram("3.0/passed/1404_index_multislice", tmp_path) + ".crai"))
    per_container: dict[int, int] = {}
    for e in multislice:
        per_container[e.container] = per_container.get(e.container, 0) + 1
    assert max(per_container.values()) > 1
    unplaced = crai.parse_crai(crai.read_crai(_corpus_cram("3.0/passed/1401_index_unmapped", tmp_path) + ".crai"))
    assert unplaced and {e.seq_id for e in unplaced} == {-1}
    for e in [*multiref, *multislice, *unplaced]:
        assert e.slice_offset > 0 and e.slice_size > 0


def test_crai_plan_covers_every_contig_once_in_file_order(messy_cram: tuple[str, str]) -> None:
    path, _ = messy_cram
    size = os.path.getsize(path)
    for target, cap in ((1, 64), (1, 3), (10**9, 64)):
        shards = _plan(path, target, cap)
        assert len(shards) <= cap
        assert [n for s in shards for n in s["contigs"]] == ["chr1", "chr2", "chr3", "chr4"]
        assert [s["index"] for s in shards] == list(range(len(shards)))
        for s in shards:
            assert s["ranges"][0][0] == 0 and s["ranges"][-1][1] == size  # header and EOF container
            assert all(a < b for a, b in s["ranges"])
            assert all(b < c for (_, b), (c, _) in zip(s["ranges"], s["ranges"][1:], strict=False))


def test_crai_eof_bytes_by_cram_version(tmp_path: Path) -> None:
    path = _corpus_cram("3.0/passed/0400_mapped", tmp_path)
    assert crai.eof_bytes(Path(path).read_bytes()[:5]) == 38
    assert crai.eof_bytes(b"CRAM\x02\x01") == 30
    with pytest.raises(IndexError_, match="QC_INDEX_INVALID"):
        crai.eof_bytes(b"BAM\x01\x00")


@pytest.mark.parametrize("text", ["0\t1\t75\t405\t201", "x\t1\t75\t405\t201\t369", "0\t1\t75\t-4\t201\t369",
                                  "-2\t1\t75\t405\t201\t369"])
def test_crai_parse_rejects_malformed_lines(text: str) -> None:
    with pytest.raises(IndexError_, match=r"QC_INDEX_INVALID: \.crai line 2"):
        crai.parse_crai("0\t1\t75\t405\t201\t369\n" + text + "\n")


def test_crai_contigs_reject_an_index_of_another_file() -> None:
    entries = crai.parse_crai("0\t1\t75\t405\t201\t369\n3\t1\t75\t900\t201\t369\n")
    with pytest.raises(IndexError_, match="QC_INDEX_INVALID"):
        crai.contigs(entries, [("c1", 1000)], file_size=2000, eof=38)
    with pytest.raises(IndexError_, match="QC_INDEX_INVALID"):
        crai.contigs(entries[:1], [("c1", 1000)], file_size=420, eof=38)


def test_crai_merge_idxstats_sums_per_reference_in_order() -> None:
    a = "c1\t100\t5\t1\nc2\t50\t0\t0\n*\t0\t0\t0\n"
    b = "c1\t100\t0\t0\nc2\t50\t7\t2\n*\t0\t0\t3\n"
    assert crai.merge_idxstats([a, b]) == "c1\t100\t5\t1\nc2\t50\t7\t2\n*\t0\t0\t3\n"
    with pytest.raises(ValueError):
        crai.merge_idxstats([""])
