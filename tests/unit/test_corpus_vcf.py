"""The VCF/BCF validator over the shared corpus: in strict, every valid file accepted and >= 95 % of invalid
ones rejected; in the default profile, every valid file accepted and every file htslib cannot read rejected.

Verdicts come from MANIFEST.tsv (``expected``); the validator sees only the files' content. Numbers are
printed per spec version and per category (the part of the file name after ``failed_``/``passed_``).
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from genomics.corpus import CORPUS
from genomics.sources import LocalFile
from genomics.validation.report import ValidationReport
from genomics.validation.vcf import CODES, validate_vcf

MANIFEST = CORPUS / "MANIFEST.tsv"
MIN_REJECTED = 0.95


def _rows() -> list[dict[str, str]]:
    with MANIFEST.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r for r in rows if r["role"] == "test" and r["format"] in ("vcf", "bcf")]


def _version(path: str) -> str:
    m = re.match(r"vcf/(4\.[0-9])/", path)
    return m.group(1) if m and m.group(1) in ("4.1", "4.2", "4.3") else "other"


def _category(path: str) -> str:
    name = Path(path).name
    m = re.match(r"(?:failed|passed)_(?:body_|meta_)?([a-z]+)", name)
    return m.group(1) if m else Path(path).parent.name


def _compression(path: Path) -> str:
    head = path.read_bytes()[:18]
    if head[:2] != b"\x1f\x8b":
        return "none"
    return "bgzf" if len(head) >= 16 and head[12:14] == b"BC" else "gzip"


def _validate(row: dict[str, str], profile: str) -> ValidationReport:
    path = CORPUS / row["path"]
    report = ValidationReport(str(path), row["format"])
    validate_vcf(LocalFile(str(path)), report, compression=_compression(path), is_bcf=row["format"] == "bcf")
    report.apply_profile(profile)
    return report


@pytest.fixture(scope="module")
def results() -> list[tuple[dict[str, str], ValidationReport]]:
    """Strict: the measures of conformance hold here."""
    if not MANIFEST.exists():
        pytest.fail(f"corpus manifest missing: {MANIFEST}")
    return [(row, _validate(row, "strict")) for row in _rows()]


@pytest.fixture(scope="module")
def default_results() -> list[tuple[dict[str, str], ValidationReport]]:
    if not MANIFEST.exists():
        pytest.fail(f"corpus manifest missing: {MANIFEST}")
    return [(row, _validate(row, "default")) for row in _rows()]


def test_corpus_vcf_default_profile_accepts_every_valid_file(default_results):
    rejected = [
        (r["path"], [f"{i.code}@{i.line}: {i.message}" for i in rep.errors[:3]])
        for r, rep in default_results
        if r["expected"] == "valid" and not rep.valid
    ]
    assert rejected == []


def test_corpus_vcf_default_profile_rejects_what_htslib_cannot_read(default_results):
    """Every corpus file that bcftools view cannot read (to VCF text, which needs no header repair) is
    rejected by the default profile, and what the default profile rejects strict rejects too."""
    exe = shutil.which("bcftools")
    assert exe is not None
    unread = 0
    for row, rep in default_results:
        proc = subprocess.run([exe, "view", "-Ov", "-o", "/dev/null", str(CORPUS / row["path"])], capture_output=True)
        if proc.returncode != 0:
            unread += 1
            assert not rep.valid, (row["path"], proc.stderr.decode()[-300:], [i.code for i in rep.warnings])
    assert unread >= 40  # the corpus has such files: the check is not vacuous


def test_corpus_vcf_default_rejections_are_strict_rejections(results, default_results):
    strict = {r["path"]: rep.valid for r, rep in results}
    for row, rep in default_results:
        if not rep.valid:
            assert strict[row["path"]] is False, row["path"]
            assert all(not i.nonconforming for i in rep.errors), row["path"]


def test_corpus_vcf_counts_match_manifest(results):
    valid = sum(1 for r, _ in results if r["expected"] == "valid")
    invalid = sum(1 for r, _ in results if r["expected"] == "invalid")
    assert invalid == 491
    assert valid >= 60


def test_corpus_vcf_every_valid_file_accepted(results):
    rejected = [
        (r["path"], [f"{i.code}@{i.line}: {i.message}" for i in rep.errors[:3]])
        for r, rep in results
        if r["expected"] == "valid" and not rep.valid
    ]
    assert rejected == []


def test_corpus_vcf_invalid_files_rejected(results, capsys):
    by_version: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    valid_by_version: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed = []
    for row, rep in results:
        if row["expected"] != "invalid":
            valid_by_version[_version(row["path"])][1] += 1
            valid_by_version[_version(row["path"])][0] += int(rep.valid)
            continue
        for table, key in ((by_version, _version(row["path"])), (by_category, _category(row["path"]))):
            table[key][1] += 1
            table[key][0] += int(not rep.valid)
        if rep.valid:
            missed.append(row["path"])
    with capsys.disabled():
        print("\nVCF/BCF corpus, per spec version: valid accepted | invalid rejected")
        for key in sorted(set(by_version) | set(valid_by_version)):
            va, vt = valid_by_version.get(key, [0, 0])
            hit, total = by_version.get(key, [0, 0])
            pct = f"{100 * hit / total:5.1f} %" if total else "    -"
            print(f"  {key:6} {va:3}/{vt:<3} | {hit:4}/{total:<4} {pct}")
        print("invalid rejected, per category:")
        for key, (hit, total) in sorted(by_category.items()):
            print(f"  {key:12} {hit:4}/{total:<4}")
        print("not rejected:", *missed, sep="\n  ")
    hit = sum(h for h, _ in by_version.values())
    total = sum(t for _, t in by_version.values())
    assert hit / total >= MIN_REJECTED, f"only {hit}/{total} invalid VCFs rejected"


def test_corpus_vcf_reports_use_documented_codes(results):
    used = {i.code for _, rep in results for i in (*rep.errors, *rep.warnings)}
    assert used - set(CODES) == set()
    assert all(code.startswith("VCF_") for code in CODES)


def test_corpus_vcf_stats_filled_for_valid_files(results):
    for row, rep in results:
        if row["expected"] != "valid":
            continue
        records, contigs = rep.stats["records"], rep.stats["contigs"]
        assert isinstance(records, int) and records >= 0, row["path"]
        assert rep.stats["fileformat"].startswith("VCFv4"), row["path"]
        assert isinstance(contigs, list) and bool(contigs) == (records > 0), row["path"]
        assert isinstance(rep.stats["samples"], int), row["path"]
