"""A tiny handler for the adapter's concurrency tests: reports what environment it sees while it runs."""

from __future__ import annotations

import os
import threading
import time
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    seen = []
    for _ in range(10):  # the environment must stay this function's while others run
        seen.append((os.environ.get("PROBE"), os.environ.get("ONLY_A"), os.environ.get("ONLY_B")))
        time.sleep(float(event.get("sleep", 0.05)))
    child: list[str | None] = []
    t = threading.Thread(target=lambda: child.append(os.environ.get("PROBE")))
    t.start()
    t.join()
    return {"seen": sorted(set(seen)), "thread_saw": child[0], "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}


def memory(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Runs a child that holds ``mb`` MiB; returns the step the ledger would record."""
    import subprocess
    import sys

    from genomics.observability import measure_step

    with measure_step("probe", context) as step:
        # held for 0.5 s: the local mode samples a handler's child processes every 50 ms, and a loaded
        # machine can delay a sample by far more than that
        code = (f"import time; b = bytearray({int(event['mb'])} * 1024 * 1024); "
                "b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)")
        subprocess.run([sys.executable, "-c", code], check=True)
    return step.as_dict()
