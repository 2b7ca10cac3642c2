"""The Step Functions workflow, as data. Used by the Pulumi program and by the local mode alike.

Payloads carry pointers, never data (Step Functions' 256 KiB limit). The execution input is a
:class:`genomics.steps.WorkflowInput`

    {"job_id", "project", "sample_id", "assay",
     "input": {"bucket", "key", "version_id", "sha256", "size", "format", ...}}

and each task adds a small result under its own path (``$.plan``, ``$.processed``, ``$.qc``: the fields of
:class:`genomics.steps.ExecutionState`). Every path and every task's parameters are built from those types
(:func:`genomics.steps.path`, :func:`genomics.steps.parameters`), so the ASL cannot name a field the steps
do not have; ``tests/unit/test_steps_asl.py`` runs every branch through moto's interpreter with each step
parsing its event into its type. Every task retries transient errors with exponential backoff and full
jitter, and every task catches everything else into ``MarkFailed``, which records the error on the job
before the execution fails. Only JSONPath is used (moto's interpreter does not support JSONata).

One function builds each state (or both QC Map states); :func:`definition` assembles them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from genomics import steps
from genomics.deployment import FARGATE_CONTAINER, Settings, timeout_s
from genomics.steps import path, result_path

# Errors worth retrying: the Lambda service's own, throttling, and our handlers' TransientError
# (raised when DynamoDB/S3 still throttle or fail with 5xx after botocore's own retries).
TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
]

VCF_FORMATS = ("vcf", "bcf")
ALIGNMENT_AND_READ_FORMATS = ("sam", "bam", "cram", "fastq")
ECS_RUN_TASK_SYNC = "arn:aws:states:::ecs:runTask.sync"
MAP_ITEM = "$$.Map.Item.Value"
# Finalize's result (genomics.steps.UpdaterResult): the execution's output, which no state reads.
FINAL_RESULT = "$.final"

__all__ = ["FARGATE_CONTAINER"]  # re-exported: the Fargate state names the task definition's container


@dataclass(frozen=True)
class EcsTarget:
    """Where the workflow's Fargate state runs tasks (plain strings locally, pulumi Outputs in the program)."""

    cluster_arn: Any
    task_definition_arn: Any
    subnet_ids: Sequence[Any]
    security_group_ids: Sequence[Any]


def _retry(max_attempts: int = 4) -> list[dict[str, Any]]:
    return [
        {
            "ErrorEquals": list(TRANSIENT_ERRORS),
            "IntervalSeconds": 1,
            "MaxAttempts": max_attempts,
            "BackoffRate": 2.0,
            "MaxDelaySeconds": 20,
            "JitterStrategy": "FULL",
        }
    ]


def _catch() -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": result_path("error"), "Next": "MarkFailed"}]


def task_timeout_s(logical: str, settings: Settings) -> int:
    """A Lambda task's state timeout: the function's own timeout (from the stack settings) plus the
    settings' margin, so the function's timeout error surfaces before the state gives up."""
    return timeout_s(logical, settings) + settings.task_timeout_margin_s


def _task(resource: Any, parameters: dict[str, Any], result_path: str | None, next_state: str | None,
          comment: str, timeout: int) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Comment": comment,
        "Resource": resource,
        "Parameters": parameters,
        "ResultPath": result_path,
        "TimeoutSeconds": timeout,
        "Retry": _retry(),
        "Catch": _catch(),
    }
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def _format_is(values: tuple[str, ...]) -> dict[str, Any]:
    return {"Or": [{"Variable": path("input", "format"), "StringEquals": v} for v in values]}


@dataclass(frozen=True)
class _Build:
    """What the state builders need: the functions' ARNs, the stack settings and the Fargate target."""

    function_arns: Mapping[str, Any]
    settings: Settings
    ecs: EcsTarget | None

    @property
    def updater(self) -> Any:
        return self.function_arns["metadata-updater"]

    @property
    def processor(self) -> Any:
        return self.function_arns["vcf-processor"]

    @property
    def metrics(self) -> Any:
        return self.function_arns["quality-metrics"]

    @property
    def light(self) -> int:
        return task_timeout_s("metadata-updater", self.settings)

    @property
    def heavy(self) -> int:
        return task_timeout_s("vcf-processor", self.settings)

    @property
    def qc(self) -> int:
        return task_timeout_s("quality-metrics", self.settings)


# --------------------------------------------------------------------------------------------------
# Routing and the VCF path
# --------------------------------------------------------------------------------------------------
def _route(b: _Build) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Comment": "Variants are processed; reads and alignments go to QC; the rest is stored",
        "Choices": [
            {**_format_is(VCF_FORMATS), "Next": "MarkProcessing"},
            {**_format_is(ALIGNMENT_AND_READ_FORMATS), "Next": "NoProcessing"},
        ],
        "Default": "Finalize",
    }


def _no_processing(b: _Build) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Comment": "Reads and alignments are QC'd as uploaded; the raw object is the output",
        "Result": steps.SKIPPED.to_dict(),
        "ResultPath": result_path("processed"),
        "Next": "MarkQC",
    }


def _mark(b: _Build, to: str, next_state: str, comment: str) -> dict[str, Any]:
    params = steps.parameters(steps.TransitionRequest, job_id=path("job_id"), values={"to": to})
    return _task(b.updater, params, None, next_state, comment, b.light)


def _plan(b: _Build) -> dict[str, Any]:
    return _task(b.processor, steps.parameters(steps.PlanRequest), result_path("plan"), "SingleOrScatter",
                 "Decide single pass or scatter per contig/region from size and index", b.heavy)


def _single_or_scatter(b: _Build) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Choices": [{"Variable": path("plan", "mode"), "StringEquals": "scatter", "Next": "ProcessShards"}],
        "Default": "ProcessSingle",
    }


def _process_single(b: _Build) -> dict[str, Any]:
    return _task(b.processor, steps.parameters(steps.ProcessRequest, plan=path("plan")), result_path("processed"),
                 "MarkQC", "norm + sort + bgzip + index in one invocation", b.heavy)


def _process_shards(b: _Build) -> dict[str, Any]:
    return {
        "Type": "Map",
        "Comment": "One invocation per shard (contig or region)",
        "ItemsPath": path("plan", "shards"),
        "MaxConcurrency": b.settings.map_concurrency,
        "ItemSelector": steps.parameters(steps.ShardRequest, shard=MAP_ITEM, plan=path("plan")),
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "ProcessShard",
            "States": {
                "ProcessShard": {
                    "Type": "Task",
                    "Resource": b.processor,
                    "TimeoutSeconds": b.heavy,
                    "Retry": _retry(),
                    "End": True,
                }
            },
        },
        "ResultPath": result_path("shards"),
        "Retry": [],
        "Catch": _catch(),
        "Next": "Gather",
    }


def _gather(b: _Build) -> dict[str, Any]:
    params = steps.parameters(steps.GatherRequest, plan=path("plan"), shards=path("shards"))
    return _task(b.processor, params, result_path("processed"), "MarkQC",
                 "bcftools concat the shards, index, publish", b.heavy)


# --------------------------------------------------------------------------------------------------
# QC
# --------------------------------------------------------------------------------------------------
def _qc_kind(b: _Build) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Comment": "Reads and alignments are routed by size, index and the cost-time model; VCF QC is one pass",
        "Choices": [{**_format_is(ALIGNMENT_AND_READ_FORMATS), "Next": "QcPlan"}],
        "Default": "QualityMetrics",
    }


def _qc_plan(b: _Build) -> dict[str, Any]:
    return _task(b.metrics, steps.parameters(steps.QcPlanRequest), result_path("qcplan"), "QcMode",
                 "One Lambda, Lambda shards (whole contigs + unplaced reads) or Fargate (genomics.router)", b.qc)


def _qc_mode(b: _Build) -> dict[str, Any]:
    mode = path("qcplan", "mode")
    fargate = [{"Variable": mode, "StringEquals": "fargate", "Next": "QcFargate"}] if b.ecs else []
    return {
        "Type": "Choice",
        "Choices": [
            {"And": [{"Variable": mode, "StringEquals": "scatter"},
                     {"Variable": path("qcplan", "distributed"), "BooleanEquals": True}],
             "Next": "QcShardsDistributed"},
            {"Variable": mode, "StringEquals": "scatter", "Next": "QcShardsInline"},
            *fargate,
        ],
        "Default": "QualityMetrics",
    }


def _qc_map(b: _Build, *, distributed: bool) -> dict[str, Any]:
    """The alignment QC shards. Inline: the items travel in the plan (few shards). Distributed: the items
    are read from the plan's S3 array (ItemReader), each shard a child execution, beyond the inline Map's
    limits. Shard results are written to S3; the Map keeps nothing (ResultPath null)."""
    # The Map's item (the shard state's input): the shard, the plan and the job fields; the shard state
    # passes them on by the same names.
    item_selector = {"shard.$": MAP_ITEM, "plan.$": path("qcplan"),
                     **{f"{name}.$": path(name) for name in steps.JOB_FIELDS}}
    shard_state = {
        "Type": "Task",
        "Resource": b.metrics,
        "Parameters": steps.parameters(steps.QcShardRequest, shard="$.shard", plan="$.plan"),
        "TimeoutSeconds": b.qc,
        "Retry": _retry(),
        "End": True,
    }
    state: dict[str, Any] = {
        "Type": "Map",
        "Comment": ("Alignment QC shards from the plan's S3 item array (Distributed Map)" if distributed
                    else "Alignment QC shards listed in the plan (inline Map)"),
        "MaxConcurrency": b.settings.map_concurrency,
        "ItemSelector": item_selector,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"} if distributed
            else {"Mode": "INLINE"},
            "StartAt": "QcShard",
            "States": {"QcShard": shard_state},
        },
        "ResultPath": None,
        "Retry": [],
        "Catch": _catch(),
        "Next": "QcGather",
    }
    if distributed:
        state["ItemReader"] = {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket.$": path("qcplan", "items", "bucket"), "Key.$": path("qcplan", "items", "key")},
        }
    else:
        state["ItemsPath"] = path("qcplan", "shards")
    return state


def _qc_gather(b: _Build) -> dict[str, Any]:
    return _task(b.metrics, steps.parameters(steps.QcGatherRequest, plan=path("qcplan")), result_path("qc"),
                 "Finalize", "Merge the shards' samtools outputs into the single-pass numbers; gate, report, store",
                 b.qc)


def _quality_metrics(b: _Build) -> dict[str, Any]:
    return _task(b.metrics, steps.parameters(steps.QcRequest, processed=path("processed")), result_path("qc"),
                 "Finalize", "stats, gate and report; stores typed metrics", b.qc)


def _fargate_state(ecs: EcsTarget, settings: Settings) -> dict[str, Any]:
    """Run the image's QC command as one Fargate task and wait for it (the ECS .sync integration polls the
    task: no queue or poller of ours). The whole state goes to the command as JSON (small: pointers only);
    ephemeral storage comes from the plan (sized from the input). The task writes its result to S3 and
    QcCollect reads it; a failed task is caught like any other."""
    return {
        "Type": "Task",
        "Comment": "genomics.qc.fargate in the handler image on Fargate (inputs Lambda cannot take)",
        "Resource": ECS_RUN_TASK_SYNC,
        "Parameters": {
            "Cluster": ecs.cluster_arn,
            "TaskDefinition": ecs.task_definition_arn,
            "LaunchType": "FARGATE",
            "PropagateTags": "TASK_DEFINITION",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "Subnets": list(ecs.subnet_ids),
                    "SecurityGroups": list(ecs.security_group_ids),
                    "AssignPublicIp": "DISABLED",
                }
            },
            "Overrides": {
                "EphemeralStorage": {"SizeInGiB.$": path("qcplan", "ephemeral_gib")},
                "ContainerOverrides": [
                    {"Name": FARGATE_CONTAINER, "Command.$": "States.Array('--state', States.JsonToString($))"}
                ],
            },
        },
        # genomics.steps.FargateTask
        "ResultSelector": {"task_arn.$": "$.TaskArn", "exit_code.$": "$.Containers[0].ExitCode"},
        "ResultPath": result_path("fargate"),
        "TimeoutSeconds": settings.fargate_timeout_s,
        "Retry": [{"ErrorEquals": ["ECS.AmazonECSException", "ECS.ServerException", "ECS.ThrottlingException"],
                   "IntervalSeconds": 5, "MaxAttempts": 3, "BackoffRate": 2.0, "JitterStrategy": "FULL"}],
        "Catch": _catch(),
        "Next": "QcCollect",
    }


def _fargate_states(b: _Build) -> dict[str, Any]:
    if b.ecs is None:
        return {}
    collect = steps.parameters(steps.QcCollectRequest, fargate=path("fargate"), plan=path("qcplan"))
    return {
        "QcFargate": _fargate_state(b.ecs, b.settings),
        "QcCollect": _task(b.metrics, collect, result_path("qc"), "Finalize",
                           "Read the Fargate task's result (or its coded error) from S3", b.qc),
    }


# --------------------------------------------------------------------------------------------------
# The end: the ledger's final record, or the failure
# --------------------------------------------------------------------------------------------------
def _finalize(b: _Build) -> dict[str, Any]:
    # Finalize reads the whole state ($): $.processed and $.qc are absent on the store-only branch.
    params = steps.parameters(steps.FinalizeRequest, execution="$$.Execution.Id", state="$")
    return _task(b.updater, params, FINAL_RESULT, None, "COMPLETED or QC_FAILED; records outputs, steps and cost",
                 b.light)


def _mark_failed(b: _Build) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Comment": "Any running state -> FAILED with the error and cause; the raw object is untouched",
        "Resource": b.updater,
        "Parameters": steps.parameters(steps.FailRequest, job_id=path("job_id"), error=path("error", "Error"),
                                       cause=path("error", "Cause")),
        "ResultPath": None,
        "TimeoutSeconds": b.light,
        "Retry": _retry(max_attempts=6),
        "Next": "Failed",
    }


def definition(function_arns: Mapping[str, Any], settings: Settings, ecs: EcsTarget | None = None) -> dict[str, Any]:
    """The Amazon States Language definition. ``function_arns`` maps logical function names to ARNs
    (plain strings in the local mode, ``pulumi.Output`` values in the Pulumi program); every timeout
    and the Map's concurrency come from the stack ``settings``."""
    b = _Build(function_arns, settings, ecs)
    states: dict[str, Any] = {
        "Route": _route(b),
        "NoProcessing": _no_processing(b),
        "MarkProcessing": _mark(b, "PROCESSING", "Plan", "RECEIVED/VALIDATING -> PROCESSING (conditional write)"),
        "Plan": _plan(b),
        "SingleOrScatter": _single_or_scatter(b),
        "ProcessSingle": _process_single(b),
        "ProcessShards": _process_shards(b),
        "Gather": _gather(b),
        "MarkQC": _mark(b, "QC", "QcKind", "PROCESSING -> QC"),
        "QcKind": _qc_kind(b),
        "QcPlan": _qc_plan(b),
        "QcMode": _qc_mode(b),
        "QcShardsInline": _qc_map(b, distributed=False),
        "QcShardsDistributed": _qc_map(b, distributed=True),
        "QcGather": _qc_gather(b),
        "QualityMetrics": _quality_metrics(b),
        "Finalize": _finalize(b),
        **_fargate_states(b),
        "MarkFailed": _mark_failed(b),
        "Failed": {"Type": "Fail", "Error": "JobFailed", "Cause": "The job was marked FAILED in the ledger"},
    }
    return {
        "Comment": "Genomics pipeline: validated upload -> process -> QC -> ledger",
        "StartAt": "Route",
        "States": states,
    }


# --------------------------------------------------------------------------------------------------
# Billing: Step Functions bills each state an execution enters; the cost estimate reads them from here
# --------------------------------------------------------------------------------------------------
def states_entered(choices: Mapping[str, str], items: Mapping[str, int] | None = None) -> int:
    """How many states an execution enters on one path through the definition: from ``StartAt``, each
    Choice state named in ``choices`` goes on to the state it names (the others to their ``Default``), and
    each Map state runs ``items[name]`` items through its item processor, until a state ends the run."""
    return _walk(_structure(), choices, items or {})


@functools.cache
def _structure() -> dict[str, Any]:
    """The definition with the Fargate path (a superset: function ARNs and settings change no transition)."""
    arns = {logical: logical for logical in ("vcf-processor", "quality-metrics", "metadata-updater")}
    return definition(arns, Settings(stack="states"), EcsTarget("cluster", "task-definition", ("subnet",), ("sg",)))


def _walk(machine: Mapping[str, Any], choices: Mapping[str, str], items: Mapping[str, int]) -> int:
    states, name, entered = machine["States"], machine["StartAt"], 0
    while name is not None:
        state = states[name]
        entered += 1
        if state["Type"] == "Map":
            entered += items.get(name, 0) * _walk(state["ItemProcessor"], {}, {})
        if state["Type"] == "Choice":
            name = choices.get(name, state["Default"])
        else:
            name = None if state.get("End") or state["Type"] in ("Succeed", "Fail") else state["Next"]
    return entered
