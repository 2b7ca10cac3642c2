"""The Step Functions workflow, as data. Used by the Pulumi program and by the local mode alike.

Payloads carry pointers, never data (Step Functions' 256 KiB limit): the execution input is

    {"job_id", "project", "sample_id", "assay",
     "input": {"bucket", "key", "version_id", "sha256", "size", "format"}}

and each task adds a small result under its own path (``$.plan``, ``$.processed``, ``$.qc``).
Every task retries transient errors with exponential backoff and full jitter, and every task catches
everything else into ``MarkFailed``, which records the error on the job before the execution fails.
Only JSONPath is used (moto's interpreter does not support JSONata).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from genomics.deployment import Settings, timeout_s

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
# The states of the alignment/reads QC path: routed by quality-metrics' plan (genomics.router).
QC_STATE_NAMES = ("QcKind", "QcPlan", "QcMode", "QcShardsInline", "QcShardsDistributed", "QcGather",
                  "QcFargate", "QcCollect")
# The container of the Fargate task definition that runs the image's QC command.
FARGATE_CONTAINER = "qc"
ECS_RUN_TASK_SYNC = "arn:aws:states:::ecs:runTask.sync"


@dataclass(frozen=True)
class EcsTarget:
    """Where the workflow's Fargate state runs tasks (plain strings locally, pulumi Outputs in the program)."""

    cluster_arn: Any
    task_definition_arn: Any
    subnet_ids: Sequence[Any]
    security_group_ids: Sequence[Any]

# The states a successful VCF job passes through (for the cost estimate's transition count).
STATE_NAMES = (
    "Route",
    "NoProcessing",
    "MarkProcessing",
    "Plan",
    "SingleOrScatter",
    "ProcessSingle",
    "ProcessShards",
    "Gather",
    "MarkQC",
    "QualityMetrics",
    "Finalize",
    "MarkFailed",
    "Failed",
    *QC_STATE_NAMES,
)


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
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}]


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


def _job_fields() -> dict[str, str]:
    return {
        "job_id.$": "$.job_id",
        "project.$": "$.project",
        "sample_id.$": "$.sample_id",
        "assay.$": "$.assay",
        "input.$": "$.input",
    }


def _format_is(values: tuple[str, ...]) -> dict[str, Any]:
    return {"Or": [{"Variable": "$.input.format", "StringEquals": v} for v in values]}


def _qc_map(metrics: Any, timeout: int, concurrency: int, *, distributed: bool) -> dict[str, Any]:
    """The alignment QC shards. Inline: the items travel in the plan (few shards). Distributed: the items
    are read from the plan's S3 array (ItemReader), each shard a child execution, beyond the inline Map's
    limits. Shard results are written to S3; the Map keeps nothing (ResultPath null)."""
    shard_state = {
        "Type": "Task",
        "Resource": metrics,
        "Parameters": {"action": "shard", "shard.$": "$.shard", "plan.$": "$.plan", "job_id.$": "$.job_id",
                       "project.$": "$.project", "sample_id.$": "$.sample_id", "assay.$": "$.assay",
                       "input.$": "$.input"},
        "TimeoutSeconds": timeout,
        "Retry": _retry(),
        "End": True,
    }
    state: dict[str, Any] = {
        "Type": "Map",
        "Comment": ("Alignment QC shards from the plan's S3 item array (Distributed Map)" if distributed
                    else "Alignment QC shards listed in the plan (inline Map)"),
        "MaxConcurrency": concurrency,
        "ItemSelector": {"shard.$": "$$.Map.Item.Value", "plan.$": "$.qcplan", **_job_fields()},
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
            "Parameters": {"Bucket.$": "$.qcplan.items.bucket", "Key.$": "$.qcplan.items.key"},
        }
    else:
        state["ItemsPath"] = "$.qcplan.shards"
    return state


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
                "EphemeralStorage": {"SizeInGiB.$": "$.qcplan.ephemeral_gib"},
                "ContainerOverrides": [
                    {"Name": FARGATE_CONTAINER, "Command.$": "States.Array('--state', States.JsonToString($))"}
                ],
            },
        },
        "ResultSelector": {"task_arn.$": "$.TaskArn", "exit_code.$": "$.Containers[0].ExitCode"},
        "ResultPath": "$.fargate",
        "TimeoutSeconds": settings.fargate_timeout_s,
        "Retry": [{"ErrorEquals": ["ECS.AmazonECSException", "ECS.ServerException", "ECS.ThrottlingException"],
                   "IntervalSeconds": 5, "MaxAttempts": 3, "BackoffRate": 2.0, "JitterStrategy": "FULL"}],
        "Catch": _catch(),
        "Next": "QcCollect",
    }


def definition(function_arns: Mapping[str, Any], settings: Settings, ecs: EcsTarget | None = None) -> dict[str, Any]:
    """The Amazon States Language definition. ``function_arns`` maps logical function names to ARNs
    (plain strings in the local mode, ``pulumi.Output`` values in the Pulumi program); every timeout
    and the Map's concurrency come from the stack ``settings``."""
    map_concurrency = settings.map_concurrency
    light = task_timeout_s("metadata-updater", settings)
    heavy = task_timeout_s("vcf-processor", settings)
    qc = task_timeout_s("quality-metrics", settings)
    updater = function_arns["metadata-updater"]
    processor = function_arns["vcf-processor"]
    metrics = function_arns["quality-metrics"]
    states: dict[str, Any] = {
        "Route": {
            "Type": "Choice",
            "Comment": "Variants are processed; reads and alignments go to QC; the rest is stored",
            "Choices": [
                {**_format_is(VCF_FORMATS), "Next": "MarkProcessing"},
                {**_format_is(ALIGNMENT_AND_READ_FORMATS), "Next": "NoProcessing"},
            ],
            "Default": "Finalize",
        },
        "NoProcessing": {
            "Type": "Pass",
            "Comment": "Reads and alignments are QC'd as uploaded; the raw object is the output",
            "Result": {"skipped": True},
            "ResultPath": "$.processed",
            "Next": "MarkQC",
        },
        "MarkProcessing": _task(
            updater,
            {"action": "transition", "to": "PROCESSING", "job_id.$": "$.job_id"},
            None,
            "Plan",
            "RECEIVED/VALIDATING -> PROCESSING (conditional write)",
            light,
        ),
        "Plan": _task(
            processor,
            {"action": "plan", **_job_fields()},
            "$.plan",
            "SingleOrScatter",
            "Decide single pass or scatter per contig/region from size and index",
            heavy,
        ),
        "SingleOrScatter": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.plan.mode", "StringEquals": "scatter", "Next": "ProcessShards"}],
            "Default": "ProcessSingle",
        },
        "ProcessSingle": _task(
            processor,
            {"action": "process", "plan.$": "$.plan", **_job_fields()},
            "$.processed",
            "MarkQC",
            "norm + sort + bgzip + index in one invocation",
            heavy,
        ),
        "ProcessShards": {
            "Type": "Map",
            "Comment": "One invocation per shard (contig or region)",
            "ItemsPath": "$.plan.shards",
            "MaxConcurrency": map_concurrency,
            "ItemSelector": {
                "action": "shard",
                "shard.$": "$$.Map.Item.Value",
                "plan.$": "$.plan",
                **_job_fields(),
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "ProcessShard",
                "States": {
                    "ProcessShard": {
                        "Type": "Task",
                        "Resource": processor,
                        "TimeoutSeconds": heavy,
                        "Retry": _retry(),
                        "End": True,
                    }
                },
            },
            "ResultPath": "$.shards",
            "Retry": [],
            "Catch": _catch(),
            "Next": "Gather",
        },
        "Gather": _task(
            processor,
            {"action": "gather", "plan.$": "$.plan", "shards.$": "$.shards", **_job_fields()},
            "$.processed",
            "MarkQC",
            "bcftools concat the shards, index, publish",
            heavy,
        ),
        "MarkQC": _task(
            updater,
            {"action": "transition", "to": "QC", "job_id.$": "$.job_id"},
            None,
            "QcKind",
            "PROCESSING -> QC",
            light,
        ),
        "QcKind": {
            "Type": "Choice",
            "Comment": "Reads and alignments are routed by size, index and the cost-time model; VCF QC is one pass",
            "Choices": [{**_format_is(ALIGNMENT_AND_READ_FORMATS), "Next": "QcPlan"}],
            "Default": "QualityMetrics",
        },
        "QcPlan": _task(
            metrics,
            {"action": "plan", **_job_fields()},
            "$.qcplan",
            "QcMode",
            "One Lambda, Lambda shards (whole contigs + unplaced reads) or Fargate (genomics.router)",
            qc,
        ),
        "QcMode": {
            "Type": "Choice",
            "Choices": [
                {"And": [{"Variable": "$.qcplan.mode", "StringEquals": "scatter"},
                         {"Variable": "$.qcplan.distributed", "BooleanEquals": True}],
                 "Next": "QcShardsDistributed"},
                {"Variable": "$.qcplan.mode", "StringEquals": "scatter", "Next": "QcShardsInline"},
                *([{"Variable": "$.qcplan.mode", "StringEquals": "fargate", "Next": "QcFargate"}] if ecs else []),
            ],
            "Default": "QualityMetrics",
        },
        "QcShardsInline": _qc_map(metrics, qc, map_concurrency, distributed=False),
        "QcShardsDistributed": _qc_map(metrics, qc, map_concurrency, distributed=True),
        "QcGather": _task(
            metrics,
            {"action": "gather", "plan.$": "$.qcplan", **_job_fields()},
            "$.qc",
            "Finalize",
            "Merge the shards' samtools outputs into the single-pass numbers; gate, report, store",
            qc,
        ),
        "QualityMetrics": _task(
            metrics,
            {"processed.$": "$.processed", **_job_fields()},
            "$.qc",
            "Finalize",
            "stats, gate and report; stores typed metrics",
            qc,
        ),
        "Finalize": _task(
            updater,
            {"action": "finalize", "execution.$": "$$.Execution.Id", "state.$": "$"},
            "$.final",
            None,
            "COMPLETED or QC_FAILED; records outputs, steps and cost",
            light,
        ),
        **({
            "QcFargate": _fargate_state(ecs, settings),
            "QcCollect": _task(
                metrics,
                {"action": "collect", "fargate.$": "$.fargate", "plan.$": "$.qcplan", **_job_fields()},
                "$.qc",
                "Finalize",
                "Read the Fargate task's result (or its coded error) from S3",
                qc,
            ),
        } if ecs else {}),
        "MarkFailed": {
            "Type": "Task",
            "Comment": "Any running state -> FAILED with the error and cause; the raw object is untouched",
            "Resource": updater,
            "Parameters": {
                "action": "fail",
                "job_id.$": "$.job_id",
                "error.$": "$.error.Error",
                "cause.$": "$.error.Cause",
            },
            "ResultPath": None,
            "TimeoutSeconds": light,
            "Retry": _retry(max_attempts=6),
            "Next": "Failed",
        },
        "Failed": {"Type": "Fail", "Error": "JobFailed", "Cause": "The job was marked FAILED in the ledger"},
    }
    # Finalize reads the whole state ($): $.processed and $.qc are absent on the store-only branch.
    return {
        "Comment": "Genomics pipeline: validated upload -> process -> QC -> ledger",
        "StartAt": "Route",
        "States": states,
    }
