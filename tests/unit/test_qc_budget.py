"""QC's tools within the invocation's time: mosdepth killed at the deadline fails with QC_COVERAGE_FAILED
(argv, exit code, stderr), other tools with a ToolTimeout; mosdepth on a scatter shard's sparse copy (the
cause of the e2e hang) finishes; the median depth comes from exact per-contig counts."""

from __future__ import annotations

import io
import os
import subprocess
import time
from pathlib import Path

import pytest

from genomics import synth
from genomics.lambda_context import LocalContext
from genomics.qc import budget, scatter
from genomics.qc import coverage as cov
from genomics.qc.metrics import run_tools
from tests.unit.test_qc_scatter import _augment


def _context(timeout_s: int) -> LocalContext:
    return LocalContext(function_name="qc", invoked_function_arn="arn", memory_limit_in_mb=128,
                        timeout_s=timeout_s, aws_request_id="r", log_group_name="g")


def test_budget_remaining_follows_the_lambda_context() -> None:
    assert budget.remaining() is None
    with budget.for_invocation(_context(900)):
        left = budget.remaining()
        assert left is not None and 900 - 60 - 1 < left <= 900 - 60  # a 60 s margin at most
    with budget.for_invocation(_context(30)):
        left = budget.remaining()
        assert left is not None and 30 - 10 - 1 < left <= 20  # a 10 s margin at least
    with budget.for_invocation(object()):  # no get_remaining_time_in_millis: no limit
        assert budget.remaining() is None


def test_budget_mosdepth_killed_at_the_deadline_is_qc_coverage_failed(tmp_path: Path) -> None:
    fifo = tmp_path / "stalled.bam"  # nobody writes it: mosdepth blocks opening it, as a hung read would
    os.mkfifo(fifo)
    bed = tmp_path / "t.bed"
    bed.write_text("chr1\t0\t100\n")
    started = time.monotonic()
    with budget.until(time.monotonic() + 1.5), pytest.raises(cov.CoverageError) as e:
        cov.run(str(fifo), bed)
    assert time.monotonic() - started < 30
    err = e.value
    assert err.code == "QC_COVERAGE_FAILED" and str(err).startswith("QC_COVERAGE_FAILED: ")
    assert err.timed_out and err.argv[0] == "mosdepth" and err.argv[-1] == str(fifo)
    assert err.returncode == -9 and "killed after" in err.stderr and "mosdepth" in str(err)


class _Endless(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        buf[:] = b"\0" * len(buf)
        return len(buf)


def test_budget_teed_tools_killed_at_the_deadline_raise_tool_timeout() -> None:
    """A tool that stops reading its stdin (sleep) blocks the tee on a full pipe: the watchdog kills it."""
    started = time.monotonic()
    with budget.until(time.monotonic() + 1.5), pytest.raises(budget.ToolTimeout) as e:
        run_tools({"wait": ["sleep", "60"]}, io.BufferedReader(_Endless()))
    assert time.monotonic() - started < 30
    assert e.value.argv == ["sleep", "60"] and e.value.returncode == -9 and "killed after" in e.value.stderr


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("budget")
    four = synth.write_reads(str(tmp / "four.bam"), "bam", 4_000, synth.default_contigs(4, 150_000), seed=21)
    path = tmp / "messy.bam"
    _augment(four["reads"], str(path))
    index = scatter.build_index(str(path), str(tmp / "messy.bai"))
    header = subprocess.run(["samtools", "view", "-H", str(path)], capture_output=True, text=True,
                            check=True).stdout
    refs = scatter.header_refs(header)
    bai = scatter.parse_bai(scatter.read_index(str(index)), refs)
    size = path.stat().st_size
    shards = scatter.plan_shards(bai, target_reads=1, max_shards=64, file_size=size,
                                 header_end=scatter.header_end_offset(bai))
    bed = tmp / "wgs.bed"
    bed.write_text("".join(f"{n}\t0\t{length}\n" for n, length in refs))
    return {"tmp": tmp, "path": path, "index": index, "shards": shards, "bed": bed, "size": size}


def _sparse(messy: dict, shard: dict) -> Path:
    data = messy["path"].read_bytes()
    sparse = messy["tmp"] / f"sparse{shard['index']}.bam"
    with open(sparse, "wb") as fh:
        fh.truncate(messy["size"])
        for a, b in shard["ranges"]:
            fh.seek(a)
            fh.write(data[a:b])
    Path(str(sparse) + ".bai").write_bytes(Path(messy["index"]).read_bytes())
    return sparse


def test_budget_mosdepth_without_reader_thread_finishes_on_a_sparse_copy(messy: dict) -> None:
    """The e2e scale test's hang: chr2's shard holds the header, chr2's blocks and the EOF block; the rest
    reads as zeros. With a decompression thread (-t 1) htslib's reader reads ahead into the zeros and
    htslib 1.16 then waits forever (seen here under load, and in most runs of this case, where a BED
    naming chr1 makes mosdepth read chr1's blocks on into the zeros; not in every run: it is a race).
    Without a thread (what shards run) the same worst case returns, every time."""
    shard = next(s for s in messy["shards"] if s["contigs"] == ["chr2"])
    sparse = _sparse(messy, shard)
    for _ in range(3):
        with budget.until(time.monotonic() + 60):
            summary = cov.parse_summary(cov.run(str(sparse), messy["bed"], contig="chr2", threads=0)
                                        ["mosdepth_summary"])
        assert summary["chr2_region"]["length"] == 150_000


def test_budget_mosdepth_on_sparse_shard_copies_finishes(messy: dict) -> None:
    """Every shard of the plan on its sparse copy (what a Lambda shard fetches): coverage finishes and the
    merge equals the single pass."""
    results = []
    for shard in messy["shards"]:
        with budget.until(time.monotonic() + 120):
            results.append(scatter.run_shard(str(_sparse(messy, shard)), shard, index=messy["index"],
                                             coverage_bed=str(messy["bed"])))
    merged = scatter.merge_shards(results)
    assert cov.coverage(merged) == cov.coverage(cov.run(str(messy["path"]), messy["bed"]))


def _dist(rows: dict[str, dict[int, int]], lengths: dict[str, int]) -> str:
    return "".join(f"{c}\t{d}\t{n / lengths[c]:.{cov.PRECISION}f}\n" for c, r in rows.items() for d, n in r.items())


def test_coverage_median_from_exact_counts_where_two_decimals_round_wrong() -> None:
    """4,990 of 10,000 target bases at >= 5x: 0.499 prints as 0.50 with two decimals (median 5); the
    counts say 4 (the highest depth covering at least half)."""
    lengths = {"a": 6000, "b": 4000}
    rows = {"a": {0: 6000, 4: 6000, 5: 2990}, "b": {0: 4000, 4: 3000, 5: 2000}}
    summary = cov.parse_summary("chrom\tlength\tbases\tmean\tmin\tmax\n"
                                "a_region\t6000\t26950\t4.49\t4\t5\nb_region\t4000\t22000\t5.5\t0\t5\n")
    counts = cov.dist_counts(cov.parse_dist(_dist(rows, lengths)), cov.region_lengths(summary))
    assert counts == rows
    assert cov.median_depth(counts, 10_000) == 4
    assert round((2990 + 2000) / 10_000, 2) == 0.5  # what two decimals would have said
    # target contigs without reads have no rows but count in the target (at 0x): 9,000 of 19,000 at >= 4x
    assert cov.median_depth(counts, 13_000) == 4 and cov.median_depth(counts, 19_000) == 0


def test_coverage_merged_total_dist_is_exact(messy: dict) -> None:
    """mosdepth's own total row (integers summed over contigs) equals the merge's total from the contigs'
    exact counts at every depth each contig prints; above, mosdepth left out the contigs' tails (under
    8e-5 of each contig), which the merge counts as below them."""
    single = cov.run(str(messy["path"]), messy["bed"])
    dist = cov.parse_dist(single["mosdepth_region_dist"])
    mine = cov.parse_dist(cov.merge([single])["mosdepth_region_dist"])["total"]
    theirs = dist["total"]
    printed = min(max(rows) for contig, rows in dist.items() if contig != "total")
    assert mine.keys() <= theirs.keys() and printed >= 6
    for d, share in theirs.items():
        if d <= printed:
            assert abs(mine[d] - share) < 1e-12, d
        else:
            assert 0 <= share - mine.get(d, 0.0) < 8e-5 * (len(dist) - 1), d


def test_budget_single_pass_coverage_out_of_time_fails_the_step(tmp_path: Path) -> None:
    """Single-pass QC's coverage job (index, then mosdepth) on an input that never ends: killed at the
    deadline, the step fails with QC_COVERAGE_FAILED (not a note saying coverage was left out)."""
    from genomics.qc import service
    from genomics.sources import LocalFile

    fifo = tmp_path / "input.bam"
    os.mkfifo(fifo)
    job = service._coverage(LocalFile(str(fifo)), "bam", "wgs", None, None, tmp_path, "")
    assert job is not None
    with budget.until(time.monotonic() + 1.5), pytest.raises(cov.CoverageError) as e:
        job()
    assert e.value.code == "QC_COVERAGE_FAILED" and e.value.timed_out
    assert e.value.argv[:2] == ["samtools", "index"] and e.value.returncode == -9
