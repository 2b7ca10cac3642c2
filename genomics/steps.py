"""The data between the pipeline's steps, typed: one definition for the handlers, the ASL and local mode.

Every event a function receives and every result it returns is one of these dataclasses: parsed once at
the boundary (``from_dict``/``from_event``) and serialised once when returned (``to_dict``). The workflow's
paths are built from them (:func:`path`, :func:`result_path`, :func:`parameters`), so a field renamed
here is renamed in the ASL, and a path naming a field that does not exist fails when the definition is
built. A malformed event is a :class:`StepDataError` (or the step's own subclass of it, with its code),
never a ``KeyError``.

The workflow's state, as it grows (``$``)::

    ExecutionState = WorkflowInput + plan (VcfPlan) + shards ([ShardResult]) + processed (Processed)
                     + qcplan (QcPlan) + fargate (FargateTask) + qc (QcResult) + error (TaskError)

A job's ``outputs`` (the ledger's record of what it published) has one shape per kind of input:
:class:`VcfOutputs` (VCF/BCF: the processed VCF, index, sidecar and QC report), :class:`AlignmentOutputs`
(SAM/BAM/CRAM) and :class:`ReadsOutputs` (FASTQ): the QC report only; :class:`RunFolderOutputs` (BCL,
stored as uploaded): nothing.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from genomics.ledger.model import decode_event_key
from genomics.stepdata import (  # noqa: F401 (the codec's names are part of this module's interface)
    CODES,
    OMIT,
    OMIT_FALSY,
    StepData,
    StepDataError,
    field_names,
    is_step_type,
    type_hints,
)


# --------------------------------------------------------------------------------------------------
# Events from outside the workflow
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class S3ObjectCreated(StepData):
    """One S3 ``ObjectCreated`` notification record (keys arrive URL-encoded; ``key`` is decoded)."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, error: type[Exception] = StepDataError) -> Self:
        if not isinstance(record, Mapping):
            raise error(f"not an S3 ObjectCreated record: {type(record).__name__}")
        if record.get("eventSource") != "aws:s3" or not str(record.get("eventName", "")).startswith("ObjectCreated"):
            raise error(f"not an S3 ObjectCreated record: {record.get('eventName')!r}")
        s3 = record.get("s3")
        bucket = s3.get("bucket") if isinstance(s3, Mapping) else None
        obj = s3.get("object") if isinstance(s3, Mapping) else None
        if not isinstance(bucket, Mapping) or not isinstance(obj, Mapping):
            raise error("S3 record without s3.bucket or s3.object")
        flat = {"bucket": bucket.get("name"), "key": obj.get("key"), "version_id": obj.get("versionId") or None,
                "etag": obj.get("eTag") or obj.get("etag"), "size": obj.get("size")}
        parsed = cls.from_dict(flat, error=error, where="s3.")
        return dataclasses.replace(parsed, key=decode_event_key(parsed.key))

    def to_record(self, event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
        """The notification record AWS would send (key URL-encoded), e.g. for a replay or a reprocess."""
        return {
            "eventSource": "aws:s3",
            "eventName": event_name,
            "s3": {
                "bucket": {"name": self.bucket},
                "object": {"key": urllib.parse.quote_plus(self.key, safe="/"), "versionId": self.version_id,
                           "eTag": self.etag, "size": self.size},
            },
        }


# --------------------------------------------------------------------------------------------------
# The workflow's input (built by the ingest, read by every task)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class InputRef(StepData):
    """The validated upload: a pointer to the raw object version and what validation learnt about it."""

    bucket: str
    key: str
    version_id: str | None = None
    sha256: str
    size: int | None = None
    format: str | None = None
    assembly: str | None = None
    sex: str | None = field(default=None, metadata=OMIT)
    # Validation's conformance report (bounded: warnings with line and record), copied into sidecar and report.
    conformance: dict[str, Any] | None = None
    # The result identity (genomics.ledger.identity): outputs are keyed by it, not by content alone.
    result_id: str | None = None
    run_folder: str | None = field(default=None, metadata=OMIT)
    compression: str | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, kw_only=True)
class WorkflowInput(StepData):
    """The execution input; every task gets these fields (``job_fields``) besides its own."""

    job_id: str
    project: str
    sample_id: str
    assay: str | None = None
    input: InputRef


JOB_FIELDS = field_names(WorkflowInput)


@dataclass(frozen=True, kw_only=True)
class S3Pointer(StepData):
    bucket: str
    key: str


# --------------------------------------------------------------------------------------------------
# vcf-processor: plan -> process | (shard* -> gather)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class VcfSource(StepData):
    """What shards read: the raw object, or a sorted BGZF copy in tmp/; with its index when scattered."""

    bucket: str
    key: str
    version_id: str | None = None
    index_key: str | None = field(default=None, metadata=OMIT)
    index_bucket: str | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, kw_only=True)
class VcfPlan(StepData):
    mode: str  # "single" | "scatter"
    # genomics.processing.vcf.Shard.as_dict() items (``more_count`` for grouped contigs, names in ``groups``)
    shards: list[dict[str, Any]] = field(default_factory=list)
    source: VcfSource
    work_prefix: str
    repairs: list[dict[str, Any]] | None = field(default=None, metadata=OMIT)
    groups: S3Pointer | None = field(default=None, metadata=OMIT)
    step: dict[str, Any] | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, kw_only=True)
class ShardResult(StepData):
    index: int
    bucket: str
    key: str
    records: int
    repairs: list[dict[str, Any]] = field(default_factory=list)
    step: dict[str, Any] | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, kw_only=True)
class Processed(StepData):
    """``$.processed``: the published VCF (process or gather), or ``{"skipped": true}`` for inputs QC'd as
    uploaded (reads and alignments)."""

    skipped: bool = field(default=False, metadata=OMIT_FALSY)
    bucket: str | None = field(default=None, metadata=OMIT)
    vcf_key: str | None = field(default=None, metadata=OMIT)
    index_key: str | None = field(default=None, metadata=OMIT)
    sidecar_key: str | None = field(default=None, metadata=OMIT)
    records_in: int | None = field(default=None, metadata=OMIT)
    records_out: int | None = field(default=None, metadata=OMIT)
    contigs: list[str] | None = field(default=None, metadata=OMIT)
    repairs: list[dict[str, Any]] | None = field(default=None, metadata=OMIT)
    step: dict[str, Any] | None = field(default=None, metadata=OMIT)


SKIPPED = Processed(skipped=True)


@dataclass(frozen=True, kw_only=True)
class PlanRequest(WorkflowInput):
    ACTION: ClassVar[str | None] = "plan"


@dataclass(frozen=True, kw_only=True)
class ProcessRequest(WorkflowInput):
    ACTION: ClassVar[str | None] = "process"
    plan: VcfPlan | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, kw_only=True)
class ShardRequest(WorkflowInput):
    ACTION: ClassVar[str | None] = "shard"
    plan: VcfPlan | None = None
    shard: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class GatherRequest(WorkflowInput):
    ACTION: ClassVar[str | None] = "gather"
    plan: VcfPlan | None = None
    shards: list[ShardResult] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# quality-metrics: single pass | plan -> (shard* -> gather | Fargate -> collect)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class QcPlan(StepData):
    format: str
    size: int
    mode: str  # "single" | "scatter" | "fargate" (genomics.router)
    route: dict[str, Any] = field(default_factory=dict)
    ephemeral_gib: int | None = field(default=None, metadata=OMIT)
    unsorted_or_unindexed: bool | None = field(default=None, metadata=OMIT)
    shard_count: int | None = field(default=None, metadata=OMIT)
    distributed: bool | None = field(default=None, metadata=OMIT)
    # the shards as a JSON array (the Distributed Map's ItemReader); inline in ``shards`` below its threshold
    items: S3Pointer | None = field(default=None, metadata=OMIT)
    index: S3Pointer | None = field(default=None, metadata=OMIT)
    # written as null when absent: gather reads a BAM's idxstats here, or knows the CRAM shards counted them
    idxstats: S3Pointer | None = None
    coverage: S3Pointer | None = None  # mosdepth's target BED for the shards (null: no coverage target)
    coverage_notes: list[str] | None = field(default=None, metadata=OMIT)
    shards: list[dict[str, Any]] | None = field(default=None, metadata=OMIT)
    step: dict[str, Any] | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, kw_only=True)
class QcShardResult(StepData):
    index: int
    step: dict[str, Any] | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, kw_only=True)
class FargateTask(StepData):
    """``$.fargate``: the ECS task the Fargate state ran (its ResultSelector)."""

    task_arn: str | None = None
    exit_code: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, error: type[Exception] = StepDataError, where: str = "",
                  strict: bool = False, partial: bool = False) -> Self:
        # ``$.Containers[0].ExitCode`` is a definite path (a number in AWS); moto's interpreter answers it as
        # a one-element list.
        if isinstance(data, Mapping) and isinstance(data.get("exit_code"), list) and len(data["exit_code"]) == 1:
            data = {**data, "exit_code": data["exit_code"][0]}
        return super().from_dict(data, error=error, where=where, strict=strict, partial=partial)


@dataclass(frozen=True, kw_only=True)
class QcResult(StepData):
    """``$.qc``: the gate's verdict and where the report is (single pass, gathered shards and Fargate alike)."""

    verdict: str
    reasons: list[Any] = field(default_factory=list)
    deciding_metric: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    report_key: str | None = None
    notes: list[str] | None = field(default=None, metadata=OMIT)
    identity: dict[str, Any] | None = field(default=None, metadata=OMIT)
    step: dict[str, Any] | None = field(default=None, metadata=OMIT)
    shard_steps: list[dict[str, Any]] | None = field(default=None, metadata=OMIT)
    mode: str | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, kw_only=True)
class QcRequest(WorkflowInput):
    """The single-pass QC (QualityMetrics; also the Fargate task, which gets the whole state)."""

    processed: Processed | None = None


@dataclass(frozen=True, kw_only=True)
class QcPlanRequest(WorkflowInput):
    ACTION: ClassVar[str | None] = "plan"


@dataclass(frozen=True, kw_only=True)
class QcShardRequest(WorkflowInput):
    ACTION: ClassVar[str | None] = "shard"
    plan: QcPlan | None = None
    shard: dict[str, Any] | None = None  # genomics.qc.scatter's shard: index, contigs, ranges


@dataclass(frozen=True, kw_only=True)
class QcGatherRequest(WorkflowInput):
    ACTION: ClassVar[str | None] = "gather"
    plan: QcPlan | None = None


@dataclass(frozen=True, kw_only=True)
class QcCollectRequest(WorkflowInput):
    ACTION: ClassVar[str | None] = "collect"
    plan: QcPlan | None = None
    fargate: FargateTask | None = None


# --------------------------------------------------------------------------------------------------
# metadata-updater: transition, fail, finalize
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class TaskError(StepData):
    """``$.error``: what a Catch stores (Step Functions' own names)."""

    Error: str | None = None
    Cause: str | None = None


@dataclass(frozen=True, kw_only=True)
class ExecutionState(WorkflowInput):
    """``$`` after the tasks ran; Finalize gets it whole. Absent parts: branches the job did not take."""

    plan: VcfPlan | None = field(default=None, metadata=OMIT)
    shards: list[ShardResult] | None = field(default=None, metadata=OMIT)
    processed: Processed | None = field(default=None, metadata=OMIT)
    qcplan: QcPlan | None = field(default=None, metadata=OMIT)
    fargate: FargateTask | None = field(default=None, metadata=OMIT)
    qc: QcResult | None = field(default=None, metadata=OMIT)
    error: TaskError | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, kw_only=True)
class TransitionRequest(StepData):
    ACTION: ClassVar[str | None] = "transition"
    job_id: str
    to: str


@dataclass(frozen=True, kw_only=True)
class FailRequest(StepData):
    ACTION: ClassVar[str | None] = "fail"
    job_id: str
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True, kw_only=True)
class FinalizeRequest(StepData):
    ACTION: ClassVar[str | None] = "finalize"
    execution: str | None = None
    state: ExecutionState


@dataclass(frozen=True, kw_only=True)
class UpdaterResult(StepData):
    job_id: str
    status: str
    cost_usd: float | None = field(default=None, metadata=OMIT)
    duplicates: int | None = field(default=None, metadata=OMIT)


# --------------------------------------------------------------------------------------------------
# A job's outputs, one shape per kind of input
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutputFile:
    role: str  # vcf | index | sidecar | qc_report
    bucket: str
    key: str


@dataclass(frozen=True, kw_only=True)
class RunFolderOutputs(StepData):
    """BCL run folders are stored as uploaded: no outputs of their own."""

    def files(self, processed_bucket: str) -> list[OutputFile]:
        return []


@dataclass(frozen=True, kw_only=True)
class QcOutputs(StepData):
    """What a QC'd job published: its MultiQC report (metrics beside it), in the processed bucket."""

    report_key: str | None = field(default=None, metadata=OMIT)
    report_bucket: str | None = field(default=None, metadata=OMIT)

    def files(self, processed_bucket: str) -> list[OutputFile]:
        if not self.report_key:
            return []
        return [OutputFile("qc_report", self.report_bucket or processed_bucket, self.report_key)]


@dataclass(frozen=True, kw_only=True)
class AlignmentOutputs(QcOutputs):
    """SAM/BAM/CRAM: QC'd as uploaded; the report only."""


@dataclass(frozen=True, kw_only=True)
class ReadsOutputs(QcOutputs):
    """FASTQ: QC'd as uploaded; the report only."""


@dataclass(frozen=True, kw_only=True)
class VcfOutputs(QcOutputs):
    """VCF/BCF: the processed VCF, its index and sidecar (``bucket``: where processing wrote them) + report."""

    bucket: str | None = field(default=None, metadata=OMIT)
    vcf_key: str | None = field(default=None, metadata=OMIT)
    index_key: str | None = field(default=None, metadata=OMIT)
    sidecar_key: str | None = field(default=None, metadata=OMIT)

    def files(self, processed_bucket: str) -> list[OutputFile]:
        bucket = self.bucket or processed_bucket
        processed = [OutputFile(role, bucket, key) for role, key in
                     (("vcf", self.vcf_key), ("index", self.index_key), ("sidecar", self.sidecar_key)) if key]
        return [*processed, *super().files(processed_bucket)]


JobOutputs = VcfOutputs | AlignmentOutputs | ReadsOutputs | RunFolderOutputs
_OUTPUTS_BY_FORMAT: dict[str, type[StepData]] = {
    "vcf": VcfOutputs, "bcf": VcfOutputs, "sam": AlignmentOutputs, "bam": AlignmentOutputs,
    "cram": AlignmentOutputs, "fastq": ReadsOutputs, "bcl": RunFolderOutputs,
}


def outputs_type(fmt: str | None, outputs: Mapping[str, Any] | None = None) -> type[StepData]:
    """The outputs' shape for an input format; an unknown or absent format is judged by what was written."""
    if fmt in _OUTPUTS_BY_FORMAT:
        return _OUTPUTS_BY_FORMAT[str(fmt)]
    return VcfOutputs if outputs and outputs.get("vcf_key") else QcOutputs


def job_outputs(job: Mapping[str, Any]) -> QcOutputs | RunFolderOutputs:
    """A ledger job's ``outputs`` as its kind's type (empty for a job that has none)."""
    raw = job.get("outputs") or {}
    kind = outputs_type(job.get("format"), raw)
    if kind is RunFolderOutputs and not raw:
        return RunFolderOutputs()
    if kind is RunFolderOutputs:  # a run folder never publishes; read whatever an older record holds
        kind = QcOutputs
    return kind.from_dict(raw, where="outputs.")  # type: ignore[return-value]


def outputs_of(fmt: str | None, processed: Processed | None, qc: QcResult | None) -> QcOutputs | RunFolderOutputs:
    """What finalize records for a job of format ``fmt`` from its processing and QC results."""
    report = {"report_key": qc.report_key} if qc is not None and qc.report_key else {}
    if processed is not None and not processed.skipped and processed.vcf_key:
        return VcfOutputs(bucket=processed.bucket, vcf_key=processed.vcf_key, index_key=processed.index_key,
                          sidecar_key=processed.sidecar_key, **report)
    kind = outputs_type(fmt)
    if kind is VcfOutputs or kind is RunFolderOutputs:
        return QcOutputs(**report) if report else RunFolderOutputs()
    return kind(**report)  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------
# JSONPath for the ASL, checked against the types
# --------------------------------------------------------------------------------------------------
def _field_type(cls: type, name: str) -> Any:
    hints = type_hints(cls)
    if name not in hints or name == "ACTION":
        raise KeyError(f"{cls.__name__} has no field {name!r}")
    tp = hints[name]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    return tp


def path(*names: str, root: type = ExecutionState) -> str:
    """``$.a.b``: a JSONPath into ``root`` (the execution state), every step checked against the types."""
    tp: Any = root
    for name in names:
        if not is_step_type(tp):
            raise KeyError(f"{'.'.join(names)}: {name!r} is below a field that is not a step type")
        tp = _field_type(tp, name)
    return "$." + ".".join(names)


def result_path(name: str) -> str:
    """Where a task's result goes in the execution state (``$.<name>``)."""
    return path(name)


def parameters(request: type[StepData], values: Mapping[str, Any] | None = None, **paths: str) -> dict[str, Any]:
    """A task's ``Parameters`` for ``request``: its action, the job fields from the state, ``paths``
    (field -> JSONPath) and ``values`` (field -> literal) for the rest. Fails on a field the request does
    not have, and on a required field nothing fills."""
    values = dict(values or {})
    names = field_names(request)
    unknown = sorted((set(paths) | set(values)) - set(names))
    if unknown:
        raise KeyError(f"{request.__name__} has no fields {unknown}")
    out: dict[str, Any] = {"action": request.ACTION} if request.ACTION else {}
    for f in dataclasses.fields(request):
        if f.name in paths:
            out[f"{f.name}.$"] = paths[f.name]
        elif f.name in values:
            out[f.name] = values[f.name]
        elif f.name in JOB_FIELDS and issubclass(request, WorkflowInput):
            out[f"{f.name}.$"] = path(f.name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KeyError(f"{request.__name__}.{f.name} is required and no path fills it")
    return out
