"""metadata-updater's core: the workflow's writes to the ledger (transitions, failure, final record)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genomics import workflow
from genomics.deployment import Settings
from genomics.ledger import identity, model
from genomics.ledger.store import Ledger
from genomics.steps import (
    ExecutionState,
    FailRequest,
    FinalizeRequest,
    QcResult,
    StepDataError,
    TransitionRequest,
    UpdaterResult,
    outputs_of,
)

ACTOR = "metadata-updater"


CODES: dict[str, str] = {
    "UPDATER_BAD_EVENT": "metadata-updater got an event without job_id, or an unknown action or target state",
}


class UpdaterError(StepDataError):
    code = "UPDATER_BAD_EVENT"


@dataclass(frozen=True)
class Prices:
    """List prices (USD) stated in stack config; used only for the per-job estimate."""

    # The list prices are defined once, as the stack settings' defaults.
    lambda_gb_second: float = Settings.price_lambda_gb_second
    sfn_transition: float = Settings.price_sfn_transition


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


def _steps_from_state(state: ExecutionState) -> list[dict[str, Any]]:
    """The steps the execution's results report (each task's own measurement), named for the ledger."""
    steps: list[dict[str, Any]] = []
    if state.plan is not None and state.plan.step:
        steps.append({"name": "plan", **state.plan.step})
    for shard in state.shards or []:
        if shard.step:
            steps.append({"name": f"shard-{shard.index}", **shard.step})
    if state.processed is not None and state.processed.step:
        steps.append({"name": "gather" if state.shards else "process", **state.processed.step})
    if state.qcplan is not None and state.qcplan.step:
        steps.append({"name": "qc-plan", **state.qcplan.step})
    qc = state.qc
    if qc is None:
        return steps
    for shard in qc.shard_steps or []:  # alignment QC shards (the Map keeps no results)
        if isinstance(shard, Mapping):
            steps.append({"name": f"qc-shard-{shard.get('index')}", **shard})
    if qc.step:
        name = "qc-gather" if qc.shard_steps else "qc-fargate" if qc.mode == "fargate" else "qc"
        steps.append({"name": name, **qc.step})
    return steps


def _transition_count(state: ExecutionState) -> int:
    """States entered by this execution (Step Functions bills each transition), counted on the workflow's
    definition along the path this execution took."""
    if state.input is not None and state.input.format in workflow.VCF_FORMATS:
        shards = len(state.shards or [])
        return workflow.states_entered(
            {"Route": "MarkProcessing", "SingleOrScatter": "ProcessShards" if shards else "ProcessSingle"},
            {"ProcessShards": shards},
        )
    if state.qcplan is not None:
        mode = {"scatter": "QcShardsInline", "fargate": "QcFargate"}.get(str(state.qcplan.mode), "QualityMetrics")
        return workflow.states_entered({"Route": "NoProcessing", "QcKind": "QcPlan", "QcMode": mode},
                                       {"QcShardsInline": int(state.qcplan.shard_count or 0)})
    if state.qc is not None:
        return workflow.states_entered({"Route": "NoProcessing"})  # QcKind's default: QualityMetrics
    return workflow.states_entered({})  # Route's default: Finalize (stored, nothing to process or QC)


def _qc_summary(qc: QcResult | None) -> dict[str, Any] | None:
    if qc is None:
        return None
    summary: dict[str, Any] = {
        "verdict": qc.verdict,
        "deciding_metric": qc.deciding_metric,
        "reasons": list(qc.reasons or [])[:10],
        "summary": qc.summary or {},
    }
    if qc.identity:
        summary["identity"] = qc.identity  # sample-identity findings (genomics.identity)
    return summary


def parse_state(state: Mapping[str, Any] | ExecutionState) -> ExecutionState:
    """The execution state Finalize gets (``$``), typed; the parts a branch did not produce are absent."""
    if isinstance(state, ExecutionState):
        return state
    parsed = ExecutionState.from_dict(state, error=UpdaterError, where="state.", partial=True)
    if not parsed.job_id:
        raise UpdaterError("event has no job_id")
    return parsed


def finalize(
    ledger: Ledger, state: Mapping[str, Any] | ExecutionState, execution: str | None, prices: Prices
) -> dict[str, Any]:
    st = parse_state(state)
    job_id = st.job_id
    qc, processed = st.qc, st.processed
    verdict = qc.verdict if qc is not None else None
    target = model.QC_FAILED if verdict == "fail" else model.COMPLETED
    outputs = outputs_of(st.input.format if st.input is not None else None, processed, qc).to_dict()
    job = ledger.get_job(job_id)
    steps = [*job.get("steps", []), *_steps_from_state(st)]
    cost = estimate_cost(steps, _transition_count(st), prices)
    detail = {"verdict": verdict} if verdict else {}
    updated = ledger.transition(
        job_id,
        target,
        actor=ACTOR,
        detail=detail,
        attributes={
            "outputs": outputs or None,
            "qc": _qc_summary(qc),
            "steps": steps,
            "cost": cost,
            "execution_arn": execution,
            "records_in": processed.records_in if processed is not None else None,
            "records_out": processed.records_out if processed is not None else None,
            "eligible_for_delivery": target == model.COMPLETED,
        },
    )
    ledger.update_file(
        updated["sample_id"],
        updated["file_id"],
        {"status": target, "outputs": outputs or None, "qc_verdict": verdict},
    )
    duplicates = identity.publish_outcome(ledger, updated)
    return UpdaterResult(job_id=job_id, status=target, cost_usd=cost["usd"], duplicates=len(duplicates)).to_dict()


def _transition(ledger: Ledger, req: TransitionRequest) -> UpdaterResult:
    if req.to not in model.ALL_STATES:
        raise UpdaterError(f"unknown target state {req.to!r}")
    job = ledger.transition(req.job_id, req.to, actor=ACTOR)
    return UpdaterResult(job_id=req.job_id, status=job["status"])


def _fail(ledger: Ledger, req: FailRequest) -> UpdaterResult:
    error = str(req.error or "Error")
    cause = str(req.cause or "")[:4000]
    job = ledger.get_job(req.job_id)
    if job["status"] in model.TERMINAL:
        # A retry of this task: the job ended already, but the duplicates waiting for it may not
        # have been told (the first attempt failed after the transition). Publishing is idempotent.
        identity.publish_outcome(ledger, job)
        return UpdaterResult(job_id=req.job_id, status=job["status"])
    updated = ledger.transition(
        req.job_id,
        model.FAILED,
        actor=ACTOR,
        detail={"error": error},
        attributes={"error": error, "cause": cause, "reason": f"{error}: {cause[:500]}"},
    )
    ledger.update_file(updated["sample_id"], updated["file_id"], {"status": model.FAILED})
    identity.publish_outcome(ledger, updated)
    return UpdaterResult(job_id=req.job_id, status=model.FAILED)


def handle(event: Mapping[str, Any], ledger: Ledger, prices: Prices) -> dict[str, Any]:
    """The workflow's ledger tasks: the event is parsed into its request type (a malformed one is
    UPDATER_BAD_EVENT), the result serialised once."""
    if not isinstance(event, Mapping):
        raise UpdaterError(f"event must be an object, not {type(event).__name__}")
    action = event.get("action")
    state = event.get("state")
    if not (event.get("job_id") or (isinstance(state, Mapping) and state.get("job_id"))):
        raise UpdaterError("event has no job_id")
    if action == "transition":
        return _transition(ledger, TransitionRequest.from_dict(event, error=UpdaterError)).to_dict()
    if action == "fail":
        return _fail(ledger, FailRequest.from_dict(event, error=UpdaterError)).to_dict()
    if action == "finalize":
        req = FinalizeRequest.from_dict(event, error=UpdaterError, partial=True)
        return finalize(ledger, req.state, req.execution, prices)
    raise UpdaterError(f"unknown action {action!r}")
