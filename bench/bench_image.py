"""The handler image: its size, and what its bytecode buys at a cold start.

The image keeps bytecode only for the modules a cold start loads (genomics/warmup.py). This measures,
inside the image (podman, read-only root, the handler user, no network), the wall time of a fresh
interpreter that imports each handler's module, and of the whole warm-up run (the handlers on an empty
event, the validation, processing and QC cores and a MultiQC report on small inputs), once with the
image's bytecode and once with none (``PYTHONPYCACHEPREFIX`` pointed at an empty folder, so Python
finds no bytecode and compiles every module it imports, as a cold start would without it). Each value
is the median of several fresh processes; the image is built first if it is not up to date.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from pathlib import Path
from typing import Any

from genomics import deployment

ROOT = Path(__file__).resolve().parent.parent
IMAGE = os.environ.get("GENOMICS_IMAGE", "localhost/genomics-handlers:dev")
SIZE_GOAL_MB = 300.0

# Runs inside the container: time fresh interpreters, print JSON.
_DRIVER = """
import json, os, subprocess, sys, time
runs, argvs = int(sys.argv[1]), json.loads(sys.argv[2])
out = {}
for label, argv in argvs.items():
    for mode in ("bytecode", "none"):
        env = dict(os.environ)
        if mode == "none":
            env["PYTHONPYCACHEPREFIX"] = "/tmp/no-bytecode"
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, *argv], env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
        out[f"{label}|{mode}"] = times
print(json.dumps(out))
"""


class BenchError(RuntimeError):
    """The image could not be built or run."""


def _podman_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(ROOT / "scripts" / "containers.conf"))
    return env


def _row(case: str, metric: str, value: Any, unit: str, goal: str | None = None, met: bool | None = None) -> dict:
    return {"benchmark": "image", "case": case, "metric": metric, "value": value, "unit": unit,
            "goal": goal, "met": met}


def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    built = subprocess.run(["bash", str(ROOT / "scripts" / "build-images.sh")], capture_output=True, text=True,
                           env=_podman_env(), check=False)
    if built.returncode != 0:
        raise BenchError(f"image build failed ({built.returncode}): {built.stderr[-2000:]}")
    size = subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}", IMAGE], capture_output=True,
                          text=True, env=_podman_env(), check=True)
    size_mb = int(size.stdout.strip()) / 1e6
    rows = [_row("localhost/genomics-handlers:dev", "size", size_mb, "MB", f"<= {SIZE_GOAL_MB:.0f}",
                 size_mb <= SIZE_GOAL_MB)]

    argvs = {spec.logical: ["-c", f"import {spec.handler.rsplit('.', 1)[0]}"]
             for spec in deployment.FUNCTIONS.values()}
    argvs["warm-up run (all cores + MultiQC report)"] = ["-m", "genomics.warmup"]
    runs = 2 if quick else 5
    proc = subprocess.run(
        ["podman", "run", "--rm", "--pull=never", "--network", "none", "--read-only",
         "--tmpfs", "/tmp:rw,size=1g,mode=1777", "--entrypoint", "/opt/venv/bin/python", IMAGE,
         "-c", _DRIVER, str(runs), json.dumps(argvs)],
        capture_output=True, text=True, env=_podman_env(), timeout=1800, check=False)
    if proc.returncode != 0:
        raise BenchError(f"timing run failed in the image ({proc.returncode}): {proc.stderr[-2000:]}")
    times = json.loads(proc.stdout.strip().splitlines()[-1])
    for label in argvs:
        with_bc = statistics.median(times[f"{label}|bytecode"])
        without = statistics.median(times[f"{label}|none"])
        case = label if label not in deployment.FUNCTIONS else f"{label}: fresh interpreter + import handler"
        rows.append(_row(case, "with the image's bytecode", with_bc, "s"))
        rows.append(_row(case, "without bytecode", without, "s"))
        rows.append(_row(case, "without / with", without / with_bc, "x"))
    return rows
