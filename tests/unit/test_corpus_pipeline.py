"""Every file MANIFEST.tsv calls valid goes through the local cores: validate (default profile), then
VCF/BCF through ``genomics process`` and ``genomics qc`` on its output, SAM/BAM/CRAM/FASTQ through
``genomics qc``.

Processing and QC run whatever validation said, so a validation regression and a processing/QC failure
are reported apart; each file must be accepted and end in a QC verdict, never a tool failure. The
files run in a process pool (one worker per core) once per module; each parametrised test reads its
file's outcome."""

from __future__ import annotations

import os
import tempfile
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS, corpus_manifest

VALID = sorted(
    (r for r in corpus_manifest() if r["expected"] == "valid" and r["role"] == "test"), key=lambda r: r["path"]
) if (CORPUS / "MANIFEST.tsv").exists() else []


def _through(row: dict[str, str]) -> dict[str, Any]:
    """validate -> (process) -> QC of one corpus file; the outcome, or the error that stopped it."""
    from genomics.processing.vcf import process_local
    from genomics.qc.service import qc_local
    from genomics.validation import validate_path

    path = str(CORPUS / row["path"])
    ref = str(CORPUS / row["reference"]) if row["reference"] not in ("", "-") else None
    out: dict[str, Any] = {"path": row["path"]}
    try:
        report = validate_path(path, reference=ref)
        out["valid"] = report.valid
        out["errors"] = [f"{i.code}: {i.message}" for i in report.errors[:3]]
        with tempfile.TemporaryDirectory(prefix="corpus-pipe-") as td:
            if row["format"] in ("vcf", "bcf"):
                processed = process_local(path, td)
                out["repairs"] = [r["repair"] for r in processed["repairs"]]
                qc = qc_local(processed["vcf"], assay="wgs")
                out["records_out"] = processed["records_out"]
            else:
                qc = qc_local(path, assay="wgs", reference=ref)
        out["verdict"] = qc["gate"]["verdict"]
        out["records"] = qc["metrics"].get("records")
    except Exception as e:
        out["failure"] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}"
    return out


@pytest.fixture(scope="module")
def outcomes(corpus: Path) -> dict[str, dict[str, Any]]:
    workers = max(1, min(2, os.cpu_count() or 1))
    with ProcessPoolExecutor(workers) as pool:
        return {o["path"]: o for o in pool.map(_through, VALID, chunksize=4)}


def test_corpus_pipeline_manifest_valid_count():
    assert len(VALID) >= 243, "the manifest lists at least 243 valid test files"


@pytest.mark.slow
@pytest.mark.parametrize("row", VALID, ids=[r["path"] for r in VALID])
def test_corpus_pipeline_valid_file_completes(row, outcomes):
    o = outcomes[row["path"]]
    assert "failure" not in o, o.get("failure")
    assert o["valid"], f"validation (default profile) rejected it: {o['errors']}"
    assert o["verdict"] in ("pass", "warn", "fail")
    if row["format"] in ("vcf", "bcf"):
        assert o["records"] == o["records_out"], "QC reads what processing wrote"
