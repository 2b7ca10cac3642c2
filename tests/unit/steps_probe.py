"""Stand-ins for the three workflow functions in the ASL round-trip test (tests/unit/test_steps_asl.py).

Each invocation parses its event *strictly* into the step type the real function parses (a field the type
does not declare, a missing one or a wrong type fails the task), records what it parsed, and returns a result
of the step's result type (``to_dict``), which the ASL then places into the state for the next step. The
test compares what each step parsed with what the step before it returned. Run as a module, it is the
Fargate task's command: it parses ``--state`` as the whole execution state and exits 0, or 3 when it cannot.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

from genomics import steps

CALLS: list[dict[str, Any]] = []
_LOCK = threading.Lock()

PLAN_BUCKET = "probe-plans"  # where the QC plan's item array is (the test writes it)
STEP = {"function": "probe", "duration_ms": 5, "memory_limit_mb": 128}

REQUESTS: dict[tuple[str, str | None], type[steps.StepData]] = {
    ("vcf-processor", "plan"): steps.PlanRequest,
    ("vcf-processor", "process"): steps.ProcessRequest,
    ("vcf-processor", "shard"): steps.ShardRequest,
    ("vcf-processor", "gather"): steps.GatherRequest,
    ("quality-metrics", None): steps.QcRequest,
    ("quality-metrics", "plan"): steps.QcPlanRequest,
    ("quality-metrics", "shard"): steps.QcShardRequest,
    ("quality-metrics", "gather"): steps.QcGatherRequest,
    ("quality-metrics", "collect"): steps.QcCollectRequest,
    ("metadata-updater", "transition"): steps.TransitionRequest,
    ("metadata-updater", "fail"): steps.FailRequest,
    ("metadata-updater", "finalize"): steps.FinalizeRequest,
}


def vcf_plan(req: steps.PlanRequest) -> steps.VcfPlan:
    source = steps.VcfSource(bucket=req.input.bucket, key=req.input.key, version_id=req.input.version_id)
    if "scatter" not in req.input.key:
        return steps.VcfPlan(mode="single", source=source, work_prefix=f"tmp/{req.job_id}/", step=STEP)
    shards = [{"index": i, "contig": f"chr{i + 1}", "start": 1, "end": 1000} for i in range(3)]
    source = steps.VcfSource(bucket="processed", key=f"tmp/{req.job_id}/source/s.vcf.gz", version_id=None,
                             index_key=f"tmp/{req.job_id}/source/s.vcf.gz.tbi", index_bucket="processed")
    return steps.VcfPlan(mode="scatter", shards=shards, source=source, work_prefix=f"tmp/{req.job_id}/",
                         repairs=[], groups=steps.S3Pointer(bucket="processed", key=f"tmp/{req.job_id}/g.json"),
                         step=STEP)


def processed(job_id: str, records: int) -> steps.Processed:
    return steps.Processed(bucket="processed", vcf_key=f"processed/{job_id}.norm.vcf.gz",
                           index_key=f"processed/{job_id}.norm.vcf.gz.tbi", sidecar_key=f"processed/{job_id}.json",
                           records_in=records, records_out=records, contigs=["chr1"], repairs=[], step=STEP)


def qc_plan(req: steps.QcPlanRequest) -> steps.QcPlan:
    key = req.input.key
    mode = "scatter" if "qcscatter" in key or "qcdist" in key else "fargate" if "fargate" in key else "single"
    plan = {"format": req.input.format or "bam", "size": req.input.size or 0, "mode": mode,
            "route": {"mode": mode}, "step": STEP}
    if mode == "fargate":
        return steps.QcPlan(**plan, ephemeral_gib=30)
    if mode == "single":
        return steps.QcPlan(**plan)
    shards = [{"index": i, "contigs": [f"chr{i + 1}"], "ranges": [[0, 10]]} for i in range(2)]
    distributed = "qcdist" in key
    prefix = f"tmp/{req.job_id}/qc/"
    return steps.QcPlan(**plan, shard_count=len(shards), distributed=distributed,
                        items=steps.S3Pointer(bucket=PLAN_BUCKET, key=prefix + "plan.json"),
                        index=steps.S3Pointer(bucket="processed", key=prefix + "input.bai"),
                        idxstats=steps.S3Pointer(bucket="processed", key=prefix + "idxstats.txt"),
                        shards=[] if distributed else shards)


def qc_result(mode: str | None = None, shard_steps: list[dict[str, Any]] | None = None) -> steps.QcResult:
    return steps.QcResult(verdict="pass", reasons=[], deciding_metric=None, summary={"records": 3},
                          report_key="reports/p/s/x/multiqc_report.html", notes=["probe"], step=STEP,
                          shard_steps=shard_steps, mode=mode)


def respond(role: str, req: Any) -> steps.StepData:
    if isinstance(req, steps.PlanRequest):
        return vcf_plan(req)
    if isinstance(req, steps.ProcessRequest):
        return processed(req.job_id, 10)
    if isinstance(req, steps.ShardRequest):
        assert req.shard is not None
        return steps.ShardResult(index=int(req.shard["index"]), bucket="processed",
                                 key=f"tmp/{req.job_id}/shards/{int(req.shard['index']):05d}.vcf.gz", records=7,
                                 repairs=[{"repair": "probe", "key": str(req.shard["index"])}], step=STEP)
    if isinstance(req, steps.GatherRequest):
        return processed(req.job_id, sum(s.records for s in req.shards))
    if isinstance(req, steps.QcRequest):
        return qc_result()
    if isinstance(req, steps.QcPlanRequest):
        return qc_plan(req)
    if isinstance(req, steps.QcShardRequest):
        assert req.shard is not None
        return steps.QcShardResult(index=int(req.shard["index"]), step=STEP)
    if isinstance(req, steps.QcGatherRequest):
        assert req.plan is not None
        return qc_result("scatter", [{"index": i, **STEP} for i in range(req.plan.shard_count or 0)])
    if isinstance(req, steps.QcCollectRequest):
        assert req.fargate is not None and req.fargate.exit_code == 0, req.fargate
        return qc_result("fargate")
    if isinstance(req, steps.TransitionRequest):
        return steps.UpdaterResult(job_id=req.job_id, status=req.to)
    if isinstance(req, steps.FailRequest):
        return steps.UpdaterResult(job_id=req.job_id, status="FAILED")
    if isinstance(req, steps.FinalizeRequest):
        return steps.UpdaterResult(job_id=req.state.job_id, status="COMPLETED", cost_usd=0.0, duplicates=0)
    raise AssertionError(f"{role}: no response for {type(req).__name__}")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    role = os.environ["PROBE_ROLE"]
    action = event.get("action") if isinstance(event, dict) else None
    request_type = REQUESTS[(role, action)]
    try:
        req = request_type.from_dict(event, strict=True)
    except steps.StepDataError as e:
        with _LOCK:
            CALLS.append({"role": role, "action": action, "error": str(e), "event": event})
        raise
    result = respond(role, req)
    with _LOCK:
        CALLS.append({"role": role, "action": action, "request": req, "result": result})
    return result.to_dict()


def main(argv: list[str]) -> int:
    """The Fargate task's command: ``--state <the whole execution state as JSON>``."""
    try:
        state = steps.ExecutionState.from_dict(json.loads(argv[argv.index("--state") + 1]), strict=True)
    except (steps.StepDataError, ValueError, IndexError) as e:
        print(f"probe: {e}", file=sys.stderr)
        return 3
    assert state.qcplan is not None and state.qcplan.mode == "fargate"
    print(json.dumps({"parsed": state.job_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
