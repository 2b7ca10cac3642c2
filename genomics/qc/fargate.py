"""The QC command the Fargate task runs: ``python -m genomics.qc.fargate --state '<workflow state JSON>'``.

The same image as the Lambdas, the same core (:func:`genomics.qc.service.run_quality_metrics`), with
scratch sized by the task's ephemeral storage instead of Lambda's 10 GB, and no 15-minute limit. The task
writes its result (or its coded error) to ``tmp/<job>/qc/fargate-result.json`` and exits 0 or 1; the
workflow's QcCollect step reads that document into ``$.qc``, so a failure keeps its code and message.
The step it records carries the task's size and its cost at the stack's Fargate list prices.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from typing import Any

from genomics import clients, errors
from genomics.qc.scatter_service import settings_from_env, work_prefix

RESULT_NAME = "fargate-result.json"
PLATFORM = "fargate"


def result_key(job_id: str) -> str:
    return work_prefix(job_id) + RESULT_NAME


def fargate_step(duration_s: float, plan: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The ledger's step for the task: duration, size, and its cost at the stack's list prices."""
    from genomics.router import fargate_usd

    settings = settings_from_env(env.get("QC_ROUTER"))
    gib = int(plan.get("ephemeral_gib") or 21)
    usd = fargate_usd(duration_s, float(settings.fargate_vcpu), settings.fargate_memory_mb, gib, settings)
    return {"function": "qc-fargate", "platform": PLATFORM, "duration_ms": int(duration_s * 1000),
            "vcpu": settings.fargate_vcpu, "memory_limit_mb": settings.fargate_memory_mb, "ephemeral_gib": gib,
            "usd": round(usd, 6)}


def run(state: Mapping[str, Any], *, s3: Any = None, dynamodb: Any = None) -> tuple[int, dict[str, Any]]:
    """Run the QC of the state's input; write the result document; (exit code, document)."""
    from genomics.qc.service import run_quality_metrics

    s3 = s3 or clients.client("s3")
    job_id = str(state["job_id"])
    bucket = os.environ["PROCESSED_BUCKET"]
    started = time.monotonic()
    scratch = tempfile.gettempdir()
    limit = max(0, shutil.disk_usage(scratch).free - 1024**3)
    try:
        qc = run_quality_metrics(state, s3=s3, dynamodb=dynamodb, scratch_limit=limit)
        qc.pop("step", None)
        doc: dict[str, Any] = {"ok": True, "qc": qc}
        code = 0
    except Exception as e:
        doc = {"ok": False, "error": getattr(e, "code", type(e).__name__), "message": str(e),
               "transient": isinstance(e, errors.TransientError)}
        code = 1
    doc["step"] = fargate_step(time.monotonic() - started, state.get("qcplan") or {}, os.environ)
    s3.put_object(Bucket=bucket, Key=result_key(job_id), Body=json.dumps(doc, default=str).encode(),
                  ContentType="application/json")
    return code, doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m genomics.qc.fargate",
                                 description="QC one workflow job as a Fargate task (see genomics.workflow)")
    ap.add_argument("--state", required=True, help="the workflow state as JSON (job fields, input, qcplan)")
    args = ap.parse_args(argv)
    code, doc = run(json.loads(args.state))
    print(json.dumps({"ok": doc["ok"], "step": doc["step"], **({} if doc["ok"] else {"error": doc["error"]})}))
    return code


if __name__ == "__main__":
    sys.exit(main())
