"""The compiled FASTQ fast path (genomics/validation/_fastqscan.c) changes speed, never verdicts.

With the fast path on, validation must give exactly the report it gives with every record read line
by line in Python (the fast path switched off): the same errors and warnings with the same messages and
locations, the same per-code counts and stats. Checked on every FASTQ of the corpus, on seeded byte- and
line-level mutations of a synthetic FASTQ (single files and R1/R2 pairs), and with chunk sizes that
split records everywhere.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from genomics import synth
from genomics.corpus import CORPUS
from genomics.validation import fastq, validate_path
from genomics.validation.report import ValidationReport
from tests.unit.helpers import mutate_lines

ALPHABET = b"\r\n @+*.-ACGTNacgtn!~#IF:,\t\x80\xff"


def _summary(report: ValidationReport) -> tuple[object, ...]:
    return (report.errors, report.warnings, report.issue_counts(), report.stats)


def _both(monkeypatch: pytest.MonkeyPatch, path: str, mate: str | None = None) -> tuple[object, object]:
    fast = _summary(validate_path(path, mate=mate))
    with monkeypatch.context() as m:
        m.setattr(fastq._Lines, "fast", lambda self, names: None)
        slow = _summary(validate_path(path, mate=mate))
    return slow, fast


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[bytes], list[bytes]]:
    out = synth.write_reads(str(tmp_path_factory.mktemp("fq") / "p_R1.fastq"), "fastq", 150, [("c", 20_000)], seed=9)
    return Path(out["reads"]).read_bytes().split(b"\n"), Path(out["mate"]).read_bytes().split(b"\n")


def test_fastqscan_matches_python_on_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    files = [f for f in sorted(CORPUS.glob("fastq/**/*")) if f.is_file()]
    assert len(files) > 10
    for f in files:
        slow, fast = _both(monkeypatch, str(f))
        assert fast == slow, f


@pytest.mark.parametrize("seed", range(3))
def test_fastqscan_matches_python_on_mutations(
    pair: tuple[list[bytes], list[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    differing = []
    for trial in range(60):
        r1, r2 = tmp_path / "m_R1.fq", tmp_path / "m_R2.fq"
        r1.write_bytes(b"\n".join(mutate_lines(rng, pair[0], ALPHABET, (1, 3))))
        r2.write_bytes(b"\n".join(mutate_lines(rng, pair[1], ALPHABET, (1, 3)) if trial % 2 else pair[1]))
        slow, fast = _both(monkeypatch, str(r1))
        slow_pair, fast_pair = _both(monkeypatch, str(r1), str(r2))
        if fast != slow or fast_pair != slow_pair:
            differing.append(trial)
    assert not differing


@pytest.mark.parametrize("chunk", [1, 5, 97, 1000])
def test_fastqscan_chunk_boundaries(
    pair: tuple[list[bytes], list[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(fastq, "CHUNK_BYTES", chunk)
    r1 = list(pair[0])
    r1[41] = r1[41][:-1]  # quality one short
    r2 = list(pair[1])
    r2[80] = b"@renamed" + r2[80][1:]  # a pair-name mismatch (record 21)
    (tmp_path / "c_R1.fq").write_bytes(b"\n".join(r1))
    (tmp_path / "c_R2.fq").write_bytes(b"\n".join(r2))
    slow, fast = _both(monkeypatch, str(tmp_path / "c_R1.fq"), str(tmp_path / "c_R2.fq"))
    assert fast == slow
    counts = slow[2]  # type: ignore[index]
    assert counts == {"FASTQ_QUAL_LENGTH": 1, "FASTQ_PAIR_NAME": 1}
    assert [(i.line, i.record) for i in slow[0] if i.code == "FASTQ_PAIR_NAME"] == [(81, 21)]  # type: ignore[index]


def test_fastqscan_pair_counts_and_names(pair: tuple[list[bytes], list[bytes]], tmp_path: Path) -> None:
    (tmp_path / "a_R1.fq").write_bytes(b"\n".join(pair[0]))
    (tmp_path / "a_R2.fq").write_bytes(b"\n".join(pair[1][:-9]) + b"\n")  # two reads fewer
    report = validate_path(str(tmp_path / "a_R1.fq"), mate=str(tmp_path / "a_R2.fq"))
    assert report.stats["reads"] == 150 and report.stats["mate_reads"] == 148
    assert {i.code for i in report.errors} == {"FASTQ_PAIR_COUNT"}
