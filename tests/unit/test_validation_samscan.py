"""The compiled SAM fast path (genomics/validation/_samscan.c) changes speed, never verdicts.

``check_sam_stream`` (chunks, clean records consumed in C) must give exactly the report of
``check_sam_lines`` (every line through SamChecker in Python): the same errors and warnings with the
same messages and locations, the same per-code counts and stats. Checked on every SAM file of the
corpus and on seeded byte- and line-level mutations of a synthetic SAM, with chunk sizes that split
lines everywhere.
"""

from __future__ import annotations

import io
import random

import pytest

from genomics import synth
from genomics.corpus import CORPUS
from genomics.validation import lines
from genomics.validation import sam_text as sam
from genomics.validation.report import ValidationReport
from tests.unit.helpers import mutate_lines

ALPHABET = b"\t\r\n @*=:,.-+0123456789ACGTNacgtnMIDNSHPX=ZiBfAHcCsSI!~\x7f\x80\xff"


def _both(data: bytes) -> tuple[tuple[object, ...], tuple[object, ...]]:
    out = []
    for stream in (False, True):
        report = ValidationReport("x.sam", "sam")
        too_long = None
        try:
            if stream:
                sam.check_sam_stream(io.BytesIO(data), report)
            else:
                sam.check_sam_lines(lines.bounded_lines(io.BytesIO(data)), report)
        except lines.LineTooLong as e:
            too_long = e.lineno
        out.append((report.errors, report.warnings, report.issue_counts(), report.stats, too_long))
    return out[0], out[1]


@pytest.fixture(scope="module")
def synthetic_sam(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    path = tmp_path_factory.mktemp("samscan") / "s.sam"
    synth.write_reads(str(path), "sam", 120, [("chr1", 20_000), ("chr2", 15_000)], seed=7)
    text = path.read_bytes().split(b"\n")
    # Header references the fast path must not trust: a name the spec forbids, a length that is no number.
    return [*text[:3], b"@SQ\tSN:bad name\tLN:100", b"@SQ\tSN:noln\tLN:x", *text[3:]]


def test_samscan_matches_python_on_the_corpus() -> None:
    files = sorted(CORPUS.glob("**/*.sam"))
    assert len(files) > 100
    for f in files:
        slow, fast = _both(f.read_bytes())
        assert fast == slow, f


def test_samscan_matches_python_on_clean_synthetic_reads(synthetic_sam: list[bytes]) -> None:
    slow, fast = _both(b"\n".join(synthetic_sam))
    assert fast == slow and slow[3]["records"] == 240
    assert {i.code for i in slow[0]} == {"SAM_SQ_NAME_INVALID", "SAM_SQ_LENGTH"} and slow[1] == []


@pytest.mark.parametrize("seed", range(4))
def test_samscan_matches_python_on_mutations(synthetic_sam: list[bytes], seed: int) -> None:
    rng = random.Random(seed)
    differing = []
    for trial in range(250):
        ls = mutate_lines(rng, synthetic_sam, ALPHABET)
        slow, fast = _both(b"\n".join(ls))
        if fast != slow:
            differing.append(trial)
    assert not differing


@pytest.mark.parametrize("chunk", [1, 7, 64, 333])
def test_samscan_chunk_boundaries(synthetic_sam: list[bytes], chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sam, "CHUNK_BYTES", chunk)
    ls = list(synthetic_sam)
    ls[40] = ls[40].replace(b"\t60\t", b"\t61\t", 1)  # still clean
    ls[60] = ls[60] + b"\tXX:i:99999999999"  # a tag value out of range
    ls[80], ls[81] = ls[81], ls[80]  # maybe out of order
    slow, fast = _both(b"\n".join(ls[:200]) + b"\r\n" + b"\n".join(ls[200:]))
    assert fast == slow
    assert "SAM_TAG_VALUE" in slow[2] and "SAM_CRLF" in slow[2]


def test_samscan_sort_violation_found_after_python_handled_lines(synthetic_sam: list[bytes]) -> None:
    ls = list(synthetic_sam)
    first = next(i for i, line in enumerate(ls) if not line.startswith(b"@"))
    # A record with a warning (handled in Python) at a late position, then clean records before it.
    late = ls[first + 100].split(b"\t")
    late[9] = late[9].lower()
    ls.insert(first + 3, b"\t".join(late))
    slow, fast = _both(b"\n".join(ls))
    assert fast == slow
    assert {"SAM_SEQ_NONSTANDARD", "SAM_SORT_ORDER_VIOLATED"} <= set(slow[2])
