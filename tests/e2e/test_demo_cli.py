"""`genomics local demo --json` as a user runs it: a fresh process, moto server, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_cli_json_rows():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run(
        [sys.executable, "-m", "genomics.cli", "local", "demo", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(proc.stdout)
    assert [r["sample_id"] for r in rows] == [
        "EUR_chr21", "1kg_multi", "lambda_phage", "lambda_aligned", "broken_upload", "long_reads"
    ]
    for r in rows:
        assert {"sample_id", "file", "status", "reason", "qc", "outputs"} <= set(r)
        assert {"records", "snps", "indels", "ts_tv"} <= set(r["qc"])
    by = {r["sample_id"]: r for r in rows}
    eur = by["EUR_chr21"]
    assert eur["status"] == "COMPLETED"
    assert eur["qc"]["records"] > 0 and eur["qc"]["snps"] > 0 and eur["qc"]["ts_tv"] > 1
    assert eur["outputs"]["vcf_key"].endswith(".vcf.gz") and eur["outputs"]["index_key"].endswith(".tbi")
    assert by["broken_upload"]["status"] == "REJECTED" and by["broken_upload"]["reason"].startswith("VCF_")
    assert all(r["reason"] for r in rows if r["status"] != "COMPLETED")
