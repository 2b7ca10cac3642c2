"""genomics.warmup: the offline run whose imports decide which modules keep bytecode in the image."""

from __future__ import annotations

import importlib.util
import py_compile
import subprocess
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

import pytest

from genomics import deployment, warmup
from genomics.validation import validate_path


def test_warmup_write_sam_valid_proper_pairs(tmp_path: Path) -> None:
    sam = tmp_path / "w.sam"
    warmup.write_sam(sam, "chr1", 100_000, pairs=30)
    assert validate_path(str(sam)).valid
    flagstat = subprocess.run(["samtools", "flagstat", str(sam)], capture_output=True, text=True, check=True).stdout
    assert flagstat.splitlines()[0].startswith("60 + 0 in total")
    assert "60 + 0 properly paired (100.00%" in flagstat


def test_warmup_write_fastq_valid(tmp_path: Path) -> None:
    fq = tmp_path / "w.fastq.gz"
    warmup.write_fastq(fq, reads=25)
    report = validate_path(str(fq))
    assert report.valid and report.format == "fastq", report.to_json()


def test_warmup_exercise_runs_every_core(tmp_path: Path) -> None:
    result = warmup.exercise(tmp_path)
    assert sorted(result["handlers"]) == sorted(m.__name__ for m in warmup.handler_modules())
    assert len(result["handlers"]) == len(deployment.FUNCTIONS) >= 5
    assert set(result["verdicts"]) == {"vcf", "bam", "fastq"}
    assert {"vcf", "index", "sidecar"} <= set(result["processed"])
    html = Path(result["report"]).read_text(errors="replace")
    for section in ("bcftools", "samtools", "QC gate", "FASTQ: mean quality per cycle"):
        assert section in html, section


def _module_from(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_warmup_uncompiled_lists_module_without_bytecode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    src = tmp_path / "lonely.py"
    src.write_text("VALUE = 1\n")
    module = _module_from(src, "lonely")
    roots = [str(tmp_path) + "/"]
    assert warmup.uncompiled({"lonely": module}, roots=roots) == ["lonely"]
    py_compile.compile(str(src), cfile=importlib.util.cache_from_source(str(src)))
    assert warmup.uncompiled({"lonely": module}, roots=roots) == []


def test_warmup_uncompiled_ignores_frozen_and_outside_roots(tmp_path: Path) -> None:
    src = tmp_path / "frozen_like.py"
    src.write_text("")
    frozen = ModuleType("frozen_like")
    frozen.__file__ = str(src)
    frozen.__spec__ = ModuleSpec("frozen_like", None, origin="frozen")
    outside = ModuleType("elsewhere")
    outside.__file__ = str(src)
    assert warmup.uncompiled({"frozen_like": frozen}, roots=[str(tmp_path) + "/"]) == []
    assert warmup.uncompiled({"elsewhere": outside}, roots=["/nonexistent/"]) == []
