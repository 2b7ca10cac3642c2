"""metadata-updater's core: the workflow's writes to the ledger (transitions, failure, final record)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genomics.ledger import identity, model
from genomics.ledger.store import Ledger

ACTOR = "metadata-updater"


CODES: dict[str, str] = {
    "UPDATER_BAD_EVENT": "metadata-updater got an event without job_id, or an unknown action or target state",
}


class UpdaterError(Exception):
    code = "UPDATER_BAD_EVENT"


@dataclass(frozen=True)
class Prices:
    """List prices (USD) stated in stack config; used only for the per-job estimate."""

    lambda_gb_second: float = 0.0000166667
    sfn_transition: float = 0.000025


def estimate_cost(steps: list[Mapping[str, Any]], transitions: int, prices: Prices) -> dict[str, Any]:
    gb_seconds = 0.0
    fargate = 0.0
    for s in steps:
        if s.get("platform") == "fargate":  # priced by the task itself (vCPU, memory, storage list prices)
            fargate += float(s.get("usd", 0))
            continue
        gb_seconds += (float(s.get("duration_ms", 0)) / 1000.0) * (
            float(s.get("memory_limit_mb", 0)) / 1024.0
        )
    lam = gb_seconds * prices.lambda_gb_second
    sfn = transitions * prices.sfn_transition
    return {
        "lambda_gb_seconds": round(gb_seconds, 3),
        "sfn_transitions": transitions,
        **({"fargate_usd": round(fargate, 6)} if fargate else {}),
        "usd": round(lam + sfn + fargate, 6),
        "prices": {"lambda_gb_second": prices.lambda_gb_second, "sfn_transition": prices.sfn_transition},
    }


def _steps_from_state(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    plan = state.get("plan") or {}
    if plan.get("step"):
        steps.append({"name": "plan", **plan["step"]})
    for shard in state.get("shards") or []:
        if isinstance(shard, Mapping) and shard.get("step"):
            steps.append({"name": f"shard-{shard.get('index')}", **shard["step"]})
    processed = state.get("processed") or {}
    if processed.get("step"):
        steps.append({"name": "gather" if state.get("shards") else "process", **processed["step"]})
    qcplan = state.get("qcplan") or {}
    if qcplan.get("step"):
        steps.append({"name": "qc-plan", **qcplan["step"]})
    qc = state.get("qc") or {}
    for shard in qc.get("shard_steps") or []:  # alignment QC shards (the Map keeps no results)
        if isinstance(shard, Mapping):
            steps.append({"name": f"qc-shard-{shard.get('index')}", **shard})
    if qc.get("step"):
        name = "qc-gather" if qc.get("shard_steps") else "qc-fargate" if qc.get("mode") == "fargate" else "qc"
        steps.append({"name": name, **qc["step"]})
    return steps


def _transition_count(state: Mapping[str, Any]) -> int:
    """States entered by this execution (Step Functions bills each transition)."""
    fmt = (state.get("input") or {}).get("format")
    if fmt in ("vcf", "bcf"):
        n = 8  # Route, MarkProcessing, Plan, SingleOrScatter, Process|Map, MarkQC, QcKind, QualityMetrics
        shards = state.get("shards") or []
        if shards:
            n += 1 + len(shards)  # Gather + one ProcessShard per item
        return n + 1  # Finalize
    qcplan = state.get("qcplan") or {}
    if qcplan:
        n = 7  # Route, NoProcessing, MarkQC, QcKind, QcPlan, QcMode, QualityMetrics|Map|Fargate task
        if qcplan.get("mode") == "scatter":
            n += 1 + int(qcplan.get("shard_count") or 0)  # QcGather + one QcShard per item
        return n + 1  # Finalize
    if state.get("qc"):
        return 6  # Route, NoProcessing, MarkQC, QcKind, QualityMetrics, Finalize
    return 2  # Route, Finalize


def finalize(
    ledger: Ledger, state: Mapping[str, Any], execution: str | None, prices: Prices
) -> dict[str, Any]:
    job_id = state["job_id"]
    qc = state.get("qc") or {}
    processed = state.get("processed") or {}
    verdict = qc.get("verdict")
    target = model.QC_FAILED if verdict == "fail" else model.COMPLETED
    outputs: dict[str, Any] = {}
    if processed and not processed.get("skipped"):
        outputs = {
            k: processed[k] for k in ("bucket", "vcf_key", "index_key", "sidecar_key") if processed.get(k)
        }
    if qc.get("report_key"):
        outputs["report_key"] = qc["report_key"]
    job = ledger.get_job(job_id)
    steps = [*job.get("steps", []), *_steps_from_state(state)]
    cost = estimate_cost(steps, _transition_count(state), prices)
    qc_summary = None
    if qc:
        qc_summary = {
            "verdict": verdict,
            "deciding_metric": qc.get("deciding_metric"),
            "reasons": list(qc.get("reasons") or [])[:10],
            "summary": qc.get("summary") or {},
        }
        if qc.get("identity"):
            qc_summary["identity"] = qc["identity"]  # sample-identity findings (genomics.identity)
    detail = {"verdict": verdict} if verdict else {}
    updated = ledger.transition(
        job_id,
        target,
        actor=ACTOR,
        detail=detail,
        attributes={
            "outputs": outputs or None,
            "qc": qc_summary,
            "steps": steps,
            "cost": cost,
            "execution_arn": execution,
            "records_in": processed.get("records_in"),
            "records_out": processed.get("records_out"),
            "eligible_for_delivery": target == model.COMPLETED,
        },
    )
    ledger.update_file(
        updated["sample_id"],
        updated["file_id"],
        {"status": target, "outputs": outputs or None, "qc_verdict": verdict},
    )
    duplicates = identity.publish_outcome(ledger, updated)
    return {"job_id": job_id, "status": target, "cost_usd": cost["usd"], "duplicates": len(duplicates)}


def handle(event: Mapping[str, Any], ledger: Ledger, prices: Prices) -> dict[str, Any]:
    action = event.get("action")
    job_id = event.get("job_id") or (event.get("state") or {}).get("job_id")
    if not job_id:
        raise UpdaterError("event has no job_id")
    if action == "transition":
        target = event.get("to")
        if target not in model.ALL_STATES:
            raise UpdaterError(f"unknown target state {target!r}")
        job = ledger.transition(job_id, target, actor=ACTOR)
        return {"job_id": job_id, "status": job["status"]}
    if action == "fail":
        error = str(event.get("error") or "Error")
        cause = str(event.get("cause") or "")[:4000]
        job = ledger.get_job(job_id)
        if job["status"] in model.TERMINAL:
            # A retry of this task: the job ended already, but the duplicates waiting for it may not
            # have been told (the first attempt failed after the transition). Publishing is idempotent.
            identity.publish_outcome(ledger, job)
            return {"job_id": job_id, "status": job["status"]}
        updated = ledger.transition(
            job_id,
            model.FAILED,
            actor=ACTOR,
            detail={"error": error},
            attributes={"error": error, "cause": cause, "reason": f"{error}: {cause[:500]}"},
        )
        ledger.update_file(updated["sample_id"], updated["file_id"], {"status": model.FAILED})
        identity.publish_outcome(ledger, updated)
        return {"job_id": job_id, "status": model.FAILED}
    if action == "finalize":
        return finalize(ledger, event["state"], event.get("execution"), prices)
    raise UpdaterError(f"unknown action {action!r}")
