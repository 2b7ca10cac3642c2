"""The functions' real results have their genomics.steps types: each parses *strictly* (no field the type
does not declare, none it requires missing, none mistyped), so a producer cannot drift from the types the
workflow's ASL paths are built from (tests/unit/test_steps_asl.py checks the ASL side)."""

from __future__ import annotations

from typing import Any

from genomics import steps
from tests.handlers.test_qc_scatter_handler import SCATTER, _event, _router, bams, cloud
from tests.handlers.test_quality_metrics import Ctx
from tests.handlers.test_vcf_processor import EUR, _env, _invoke, _upload

FIXTURES = (cloud, bams)


def test_step_results_vcf_processor_and_qc_parse_strictly(stack, monkeypatch):
    _env(stack, monkeypatch, SCATTER_THRESHOLD_BYTES="1000", SCATTER_REGION_BASES="5000000")
    event = _upload(stack, EUR.read_bytes(), "proj/EUR/EUR_test.vcf.gz")
    steps.WorkflowInput.from_dict(event, strict=True)
    plan = _invoke(stack, {**event, "action": "plan"})
    typed_plan = steps.VcfPlan.from_dict(plan, strict=True)
    assert typed_plan.mode == "scatter" and typed_plan.source.index_key and typed_plan.step
    shards = [_invoke(stack, {**event, "action": "shard", "plan": plan, "shard": s}) for s in plan["shards"]]
    typed_shards = [steps.ShardResult.from_dict(s, strict=True) for s in shards]
    assert [s.index for s in typed_shards] == list(range(len(plan["shards"])))
    gathered = _invoke(stack, {**event, "action": "gather", "plan": plan, "shards": shards})
    processed = steps.Processed.from_dict(gathered, strict=True)
    assert processed.vcf_key and processed.records_out and not processed.skipped
    single = steps.Processed.from_dict(_invoke(stack, {**event, "job_id": "job-single", "action": "process"}),
                                       strict=True)
    assert single.records_out == processed.records_out

    from handlers.quality_metrics import handler

    for k, v in stack.env("quality-metrics").items():
        monkeypatch.setenv(k, v)
    qc = steps.QcResult.from_dict(handler({**event, "processed": gathered}, stack.context("quality-metrics")),
                                  strict=True)
    assert qc.verdict in ("pass", "warn", "fail") and qc.report_key and qc.step
    # The whole state Finalize would get, as the workflow assembles it, parses strictly too.
    state = {**event, "plan": plan, "shards": shards, "processed": gathered, "qc": qc.to_dict()}
    assert steps.ExecutionState.from_dict(state, strict=True).processed == processed


def test_step_results_alignment_qc_scatter_parse_strictly(cloud: dict[str, Any], monkeypatch, bams):
    from handlers.quality_metrics import handler

    _router(monkeypatch, SCATTER)
    event = _event(cloud, bams["messy"], "TYPED")
    plan = handler({**event, "action": "plan"}, Ctx())
    typed = steps.QcPlan.from_dict(plan, strict=True)
    assert typed.mode == "scatter" and typed.shard_count == len(typed.shards or []) and typed.items is not None
    for item in plan["shards"]:
        out = steps.QcShardResult.from_dict(handler({**event, "action": "shard", "shard": item, "plan": plan},
                                                    Ctx()), strict=True)
        assert out.index == item["index"]
    gathered = steps.QcResult.from_dict(handler({**event, "action": "gather", "plan": plan}, Ctx()), strict=True)
    assert gathered.mode == "scatter" and len(gathered.shard_steps or []) == typed.shard_count
    single = steps.QcResult.from_dict(handler(event, Ctx()), strict=True)
    assert single.verdict and single.mode is None
