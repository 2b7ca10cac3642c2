"""genomics.tools' streaming helpers (Pipeline, run_pipeline, run_parallel) with real tools: Debian's
bcftools/samtools 1.16 and gzip, on corpus files; failures from the tool, the source and the consumer."""

from __future__ import annotations

import io
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from genomics import tools
from genomics.corpus import CORPUS

VCF_FILE = CORPUS / "htslib/tabix/vcf_file.vcf"
BCF_FILE = CORPUS / "htslib/tabix/vcf_file.bcf"
BAM_FILE = CORPUS / "bam/passed/level-9.bam"


def _records(path: Path, tool: str = "bcftools") -> bytes:
    argv = [tool, "view", "--no-version", "-H", str(path)] if tool == "bcftools" else [tool, "view", str(path)]
    return subprocess.run(argv, capture_output=True, check=True).stdout


def _all_dead(p: tools.Pipeline) -> bool:
    return all(proc.returncode is not None for proc in p.procs)


def _endless(block: bytes) -> Iterator[bytes]:
    while True:
        yield block


def test_pipeline_gzip_round_trip_of_a_bytes_iterator():
    data = VCF_FILE.read_bytes() * 50
    pieces = [data[i : i + 7000] for i in range(0, len(data), 7000)]
    with tools.Pipeline([["gzip", "-c"], ["gzip", "-dc"]], source=iter(pieces), capture=True) as p:
        assert p.stdout is not None
        out = p.stdout.read()
    assert out == data
    assert p.returncodes == [0, 0] and not p.stopped


def test_pipeline_bcftools_decodes_bcf_fed_from_a_file_object():
    with BCF_FILE.open("rb") as fh, tools.Pipeline(
        [["bcftools", "view", "--no-version", "-H", "-"]], source=fh, capture=True, pipe_size=1 << 20
    ) as p:
        assert p.stdout is not None
        out = p.stdout.read()
    assert out == _records(BCF_FILE) and out.count(b"\n") > 5


def test_pipeline_samtools_decodes_bam_fed_from_a_file_object_to_a_path(tmp_path):
    sam = tmp_path / "out.sam"
    with BAM_FILE.open("rb") as fh:
        errs = tools.run_pipeline([["samtools", "view", "-"]], tmp_path, stdin=fh, stdout_path=sam)
    assert sam.read_bytes() == _records(BAM_FILE, "samtools")
    assert errs == [""]


def test_pipeline_counts_records_without_a_source():
    with tools.Pipeline([["bcftools", "view", "--no-version", "-H", str(VCF_FILE)]], capture=True) as p:
        assert p.stdout is not None
        n = sum(buf.count(b"\n") for buf in iter(lambda: p.stdout.read(4096), b""))  # type: ignore[union-attr]
    assert n == _records(VCF_FILE).count(b"\n")


def test_pipeline_tool_exit_nonzero_raises_tool_error_with_argv_code_and_stderr(tmp_path):
    argv = ["bcftools", "view", "--no-version", "-H", "-"]
    with pytest.raises(tools.PipelineError) as info:
        tools.run_pipeline([argv], tmp_path, stdin=io.BytesIO(b"this is not a VCF\n" * 100))
    err = info.value
    assert isinstance(err, tools.ToolError)
    assert err.argv == argv and err.returncode != 0
    assert "bcftools view" in str(err) and str(err.returncode) in str(err)
    assert err.stderr.strip() and err.stderrs == [err.stderr]


def test_pipeline_reports_the_most_upstream_failure():
    stages = [["gzip", "-dc"], ["bcftools", "view", "--no-version", "-H", "-"]]
    with pytest.raises(tools.PipelineError) as info:
        tools.run_pipeline(stages, stdin=io.BytesIO(b"not gzip at all" * 1000))
    assert info.value.argv == stages[0]
    assert "not in gzip format" in info.value.stderr
    assert len(info.value.stderrs) == 2


def test_pipeline_source_raising_kills_the_tools_and_reraises():
    boom = OSError("connection reset by peer")
    head = VCF_FILE.read_bytes()

    def source() -> Iterator[bytes]:
        yield head
        raise boom

    with pytest.raises(OSError) as info, tools.Pipeline(
        [["gzip", "-c"], ["gzip", "-dc"]], source=source(), capture=True
    ) as p:
        assert p.stdout is not None
        p.stdout.read()
    assert info.value is boom
    # killed, not merely sent EOF (which a tool would take for a complete, shorter input)
    assert p.returncodes[0] == -signal.SIGKILL and _all_dead(p)


def test_pipeline_consumer_stopping_early_kills_an_endless_pipeline():
    with tools.Pipeline([["gzip", "-c"], ["gzip", "-dc"]], source=_endless(b"x" * 65536), capture=True) as p:
        assert p.stdout is not None
        first = p.stdout.read(1 << 20)
    assert first == b"x" * (1 << 20)
    assert p.stopped and _all_dead(p)
    assert p._feeder is not None and not p._feeder.is_alive()


def test_pipeline_explicit_stop_ignores_exit_statuses():
    with BCF_FILE.open("rb") as fh, tools.Pipeline(
        [["bcftools", "view", "--no-version", "-"]], source=fh, capture=True
    ) as p:
        assert p.stdout is not None
        assert p.stdout.readline().startswith(b"##fileformat=VCF")
        p.stop()
    assert p.stopped and _all_dead(p)


def test_pipeline_consumer_exception_propagates_and_kills_the_tools():
    with pytest.raises(ValueError, match="consumer gave up"), tools.Pipeline(
        [["gzip", "-c"]], source=_endless(b"y" * 4096), capture=True
    ) as p:
        raise ValueError("consumer gave up")
    assert p.returncodes == [-signal.SIGKILL] and _all_dead(p)


def test_pipeline_on_chunk_with_read_all_sees_the_whole_source_after_the_tool_failed():
    size = 8 << 20
    for read_all in (True, False):
        seen = [0]

        def count(chunk: bytes, seen: list[int] = seen) -> None:
            seen[0] += len(chunk)

        with pytest.raises(tools.PipelineError), tools.Pipeline(
            [["gzip", "-dc"]], source=io.BytesIO(b"z" * size), on_chunk=count, read_all=read_all
        ):
            pass
        # gzip gives up on the first bytes; only with read_all does the feeder read on (for a tail check)
        assert (seen[0] == size) is read_all


def test_pipeline_stderr_limit_keeps_the_tail(tmp_path):
    with pytest.raises(tools.PipelineError) as info, tools.Pipeline(
        [["gzip", "-dc"]], source=io.BytesIO(b"q" * 100), stderr_limit=10, scratch=tmp_path
    ):
        pass
    assert len(info.value.stderr) <= 10 and info.value.stderr.endswith("\n")


def test_pipeline_missing_tool_raises_tool_missing():
    absent = "no-such-tool-anywhere"
    with pytest.raises(tools.ToolMissing):
        tools.run_pipeline([["gzip", "-c"], [absent]], stdin=io.BytesIO(b"x"))


def test_run_parallel_tees_one_source_into_several_tools():
    with BCF_FILE.open("rb") as fh:
        body, header = tools.run_parallel(
            [["bcftools", "view", "--no-version", "-H", "-"], ["bcftools", "view", "--no-version", "-h", "-"]],
            source=fh,
        )
    assert body.encode() == _records(BCF_FILE)
    assert header.startswith("##fileformat=VCF") and "#CHROM" in header


def test_run_parallel_without_a_source_runs_on_paths():
    out, header = tools.run_parallel([["bcftools", "view", "--no-version", "-H", str(VCF_FILE)],
                                      ["bcftools", "view", "--no-version", "-h", str(BCF_FILE)]])
    assert out.encode() == _records(VCF_FILE)
    assert header.startswith("##fileformat=VCF")


def test_run_parallel_failed_tool_raises_with_its_argv():
    argv = ["gzip", "-dc"]
    with pytest.raises(tools.PipelineError) as info:
        tools.run_parallel([["bcftools", "view", "--no-version", "-H", "-"], argv],
                           source=io.BytesIO(VCF_FILE.read_bytes()))  # plain text: bcftools reads it, gzip -d cannot
    assert info.value.argv == argv and info.value.returncode != 0


def test_run_parallel_source_raising_reraises_it():
    boom = OSError("S3 dropped the connection")

    def source() -> Iterator[bytes]:
        yield VCF_FILE.read_bytes()
        raise boom

    with pytest.raises(OSError) as info:
        tools.run_parallel([["gzip", "-c"], ["bcftools", "view", "--no-version", "-"]], source=source())
    assert info.value is boom


def test_run_parallel_on_start_sees_every_process_and_can_kill_it():
    started: list[subprocess.Popen[bytes]] = []

    def watch(proc: subprocess.Popen[bytes]) -> None:
        started.append(proc)
        if len(started) == 2:
            proc.kill()  # as a deadline watchdog would

    with VCF_FILE.open("rb") as fh, pytest.raises(tools.PipelineError) as info:
        tools.run_parallel([["bcftools", "view", "--no-version", "-H", "-"], ["gzip", "-c"]], source=fh,
                           on_start=watch)
    assert len(started) == 2 and info.value.argv == ["gzip", "-c"]
    assert info.value.returncode == -signal.SIGKILL


def test_pipeline_source_error_wins_over_the_consumer_error_it_caused():
    boom = OSError("connection reset by peer")

    def source() -> Iterator[bytes]:
        yield VCF_FILE.read_bytes()[:5000]
        raise boom

    with pytest.raises(OSError) as info, tools.Pipeline(
        [["bcftools", "view", "--no-version", "-"]], source=source(), capture=True
    ) as p:
        assert p.stdout is not None
        p.stdout.read()
        raise ValueError("the text ended in the middle of a record")  # what a parser of the cut output says
    assert info.value is boom
    assert isinstance(info.value.__context__, ValueError)
