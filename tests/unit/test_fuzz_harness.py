"""The fuzz job's harness (tests/fuzz): mutants are reproducible from (seed, index); the supervisor records
a crash, a hang and an uncoded exception with the mutant and goes on; the check accepts only a report with
documented codes. The job itself runs in `make test` (scripts/fuzz.sh)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from genomics.validation.report import ValidationReport
from tests.fuzz import run
from tests.fuzz.mutate import bgzf_compress, is_bgzf, mutant

CRASH, HANG, RAISE = 3, 5, 8


@pytest.fixture(scope="module")
def by_kind():
    return run.sources()


def test_fuzz_harness_mutants_reproducible(by_kind):
    a = run.make_mutant(11, 42, by_kind, 0.25)
    b = run.make_mutant(11, 42, by_kind, 0.25)
    assert (a.data, a.ops, a.source, a.profile) == (b.data, b.ops, b.source, b.profile)
    assert run.make_mutant(12, 42, by_kind, 0.25).data != a.data or run.make_mutant(11, 43, by_kind, 0.25) != a


def test_fuzz_harness_covers_every_format(by_kind):
    assert {"vcf", "vcf.gz", "bcf", "sam", "bam", "cram", "fastq", "fastq.gz", "bcl"} <= set(by_kind)
    kinds = {run.make_mutant(11, i, by_kind, 0.0).source.kind for i in range(300)}
    assert kinds == set(by_kind)


def test_fuzz_harness_bgzf_is_readable_by_htslib(tmp_path):
    data = b"".join(b"line %d\tx\n" % i for i in range(20000))
    packed = bgzf_compress(data)
    assert is_bgzf(packed) and gzip.decompress(packed) == data
    p = tmp_path / "x.gz"
    p.write_bytes(packed)
    assert subprocess.run(["bgzip", "-t", str(p)], capture_output=True).returncode == 0


def test_fuzz_harness_mutation_changes_inside_compression():
    import random

    packed = bgzf_compress(b"##fileformat=VCFv4.2\n#CHROM\tPOS\n" * 50)
    seen_inner = False
    for i in range(40):
        out, ops = mutant(packed, random.Random(i))
        if ops[-1] == "bgzf":
            seen_inner = True
            assert is_bgzf(out)
    assert seen_inner


def test_fuzz_harness_check_flags_uncoded_exception(monkeypatch, tmp_path, by_kind):
    m = run.make_mutant(11, 0, by_kind, 0.0)

    def boom(*_a, **_k):
        raise KeyError("x")

    monkeypatch.setattr("genomics.validation.validate_path", boom)
    res = run.check(str(tmp_path / "f"), m, run.documented_codes(), tmp_path)
    assert not res["ok"] and res["outcome"] == "uncoded-exception" and "KeyError" in res["error"]


def test_fuzz_harness_check_flags_undocumented_code(monkeypatch, tmp_path, by_kind):
    m = run.make_mutant(11, 0, by_kind, 0.0)

    def report(*_a, **_k):
        rep = ValidationReport(path="f", format="vcf")
        rep.error("VCF_NOT_A_REAL_CODE", "made up")
        return rep

    monkeypatch.setattr("genomics.validation.validate_path", report)
    res = run.check(str(tmp_path / "f"), m, run.documented_codes(), tmp_path)
    assert not res["ok"] and res["outcome"] == "undocumented-code"


def misbehaving_check(path: str, m: run.Mutant, codes: frozenset[str], scratch: Path) -> dict:
    """A check that crashes, hangs or raises on chosen mutants (the supervisor test's target)."""
    if m.index == CRASH:
        os.abort()
    if m.index == HANG:
        time.sleep(600)
    if m.index == RAISE:
        raise RuntimeError("uncaught in the worker")
    return {"ok": True, "outcome": "valid", "valid": True}


def test_fuzz_harness_supervisor_records_crash_hang_and_continues(tmp_path):
    out = tmp_path / "out"
    rc = run.main(["--mutants", "12", "--jobs", "1", "--timeout", "4", "--out", str(out),
                   "--target", "tests.unit.test_fuzz_harness:misbehaving_check"])
    assert rc == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mutants"] == 12  # every mutant answered for, after two restarts
    fails = {f["index"]: f["outcome"] for f in summary["failures"]}
    assert fails == {CRASH: "crash", HANG: "hang", RAISE: "crash"}
    saved = json.loads((out / f"{HANG:06d}-hang.json").read_text())
    assert saved["seed"] == 11 and saved["index"] == HANG and f"--only {HANG}" in saved["reproduce"]
    assert any(p.name.startswith(f"{CRASH:06d}-crash.") and p.suffix != ".json" for p in out.iterdir())
    raised = json.loads((out / f"{RAISE:06d}-crash.json").read_text())
    assert "uncaught in the worker" in raised["result"]["stderr"]
