"""`genomics local serve` as an operator runs it: a separate process that prints the exports and writes
a profile every CLI command follows, one console line per job state change (no Powertools warning, no
moto state dumps), and `--faults` that make the runbooks rehearsable (DLQ -> replay)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genomics.corpus import CORPUS

ROOT = Path(__file__).resolve().parents[2]
EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")
INVALID = CORPUS / "vcf/4.2/failed/failed_body_alt_000.vcf"


def _clean_env(profile: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GENOMICS_", "MOTO_", "HTS_S3"))}
    env["GENOMICS_LOCAL_PROFILE"] = str(profile)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def _cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "genomics.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def served(tmp_path):
    profile = tmp_path / "local.json"
    env = _clean_env(profile)
    console = (tmp_path / "console.txt").open("w")
    # The validation handler crashes on the first upload's three attempts (Lambda's two retries included),
    # so its event lands in the dead-letter queue; the sweeper (every 2 s here) marks the upload.
    proc = subprocess.Popen(
        [sys.executable, "-m", "genomics.cli", "local", "serve", "--faults", "handler.validation-handler=crash:3",
         "--sweep-every", "2"],
        cwd=ROOT, env=env, stdout=console, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 120
    while not profile.exists():
        assert proc.poll() is None, (tmp_path / "console.txt").read_text()
        assert time.monotonic() < deadline, "local serve did not write its profile"
        time.sleep(0.2)
    try:
        yield env, profile, tmp_path / "console.txt"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        console.close()


def _wait_status(env: dict[str, str], job_id: str, states: set[str], timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        out = _cli(env, "status", "--job", job_id, "--json")
        if out.stdout.strip():
            job = json.loads(out.stdout)
            if job.get("status") in states:
                return job
        assert time.monotonic() < deadline, out.stdout + out.stderr
        time.sleep(1)


def test_local_serve_profile_console_and_dlq_runbook(served):
    env, profile, console = served
    text = console.read_text()
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in text and "GENOMICS_STACK=local" in text
    assert json.loads(profile.read_text())["stack"] == "local"
    # No exports, no --stack: the CLI follows the profile.
    up = _cli(env, "upload", str(EUR), "demo", "S1", "--assay", "cohort")
    assert up.returncode == 0, up.stderr
    # The injected crashes exhaust Lambda's retries: the event lands in the DLQ, the job shows why.
    deadline = time.monotonic() + 120
    while True:
        failed = _cli(env, "status", "--failed-since", "1h", "--json")
        assert failed.returncode == 0, failed.stderr
        rows = json.loads(failed.stdout)
        if rows and rows[0]["status"] == "INGEST_FAILED":
            break
        assert time.monotonic() < deadline, failed.stdout
        time.sleep(1)
    job_id = rows[0]["job_id"]
    assert "Runtime.ExitError" in rows[0]["reason"] or "HandlerCrash" in rows[0]["reason"]
    peek = _cli(env, "replay", "--dry-run")
    assert peek.returncode == 0 and len(json.loads(peek.stdout)["replayed"]) == 1, peek.stdout + peek.stderr
    replay = _cli(env, "replay")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    job = _wait_status(env, job_id, {"COMPLETED", "QC_FAILED", "FAILED"})
    assert job["status"] == "COMPLETED", job
    # The console: one line per state change, nothing else from the handlers or moto.
    text = console.read_text()
    lines = [ln for ln in text.splitlines() if job_id in ln]
    assert any("-> INGEST_FAILED" in ln for ln in lines) and any("-> COMPLETED" in ln for ln in lines), text
    assert "No application metrics to publish" not in text and "Traceback" not in text, text
