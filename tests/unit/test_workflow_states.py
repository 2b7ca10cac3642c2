"""The cost estimate's state count is read from the workflow's definition: one per state entered on the
job's path, one per Map item (genomics.workflow.states_entered)."""

from __future__ import annotations

from genomics import workflow

VCF = {"Route": "MarkProcessing"}
SCATTERED_VCF = {**VCF, "SingleOrScatter": "ProcessShards"}
READS = {"Route": "NoProcessing", "QcKind": "QcPlan"}


def test_workflow_states_entered_follows_the_path_through_the_definition() -> None:
    single = ["Route", "MarkProcessing", "Plan", "SingleOrScatter", "ProcessSingle", "MarkQC", "QcKind",
              "QualityMetrics", "Finalize"]
    assert workflow.states_entered(VCF) == len(single)
    assert workflow.states_entered({}) == 2  # Route's default: Finalize
    assert workflow.states_entered({"Route": "NoProcessing"}) == 6  # QcKind's default: QualityMetrics
    assert workflow.states_entered(READS) == 8  # QcMode's default: one Lambda
    # The Fargate path enters the task state and the state that collects its result.
    assert workflow.states_entered({**READS, "QcMode": "QcFargate"}) == 9


def test_workflow_states_entered_counts_each_map_item() -> None:
    three = workflow.states_entered(SCATTERED_VCF, {"ProcessShards": 3})
    assert three == 10 + 3  # the Map, Gather instead of ProcessSingle, one state per shard
    assert workflow.states_entered(SCATTERED_VCF, {"ProcessShards": 7}) - three == 4
    inline = workflow.states_entered({**READS, "QcMode": "QcShardsInline"}, {"QcShardsInline": 5})
    distributed = workflow.states_entered({**READS, "QcMode": "QcShardsDistributed"}, {"QcShardsDistributed": 5})
    assert inline == distributed == 9 + 5
