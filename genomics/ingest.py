"""validation-handler's core: an S3 upload becomes exactly one tracked job, validated by content.

For each ``ObjectCreated`` record (at-least-once, unordered, URL-encoded keys):

1. the job id is derived from the object's identity (bucket, key, version), and the job is created
   with a conditional put, so a redelivered event finds it instead of creating another;
2. RECEIVED -> VALIDATING is a conditional transition: of N concurrent deliveries exactly one
   validates; the others return at once. The validation lease (``lease_until``) is handed back when an
   attempt fails and taken over when it expires (the attempt died), by compare-and-set;
3. the key layout, the upload's assay (object metadata) and its reference are checked; then the file is
   validated from S3 by content while its SHA-256 is computed in the same pass; the report is stored
   on the file's metadata; an invalid file ends REJECTED with its first errors. Objects of a BCL run
   folder uploaded one by one start nothing until the completion marker, which validates the prefix;
4. the result identity (content, assay, validation profile, QC thresholds version, reference digest;
   genomics.ledger.identity) is claimed per sample with a conditional write: of any number of identical
   uploads exactly one computes the result; the others end with its outcome (verdict, outputs, assay,
   delivery eligibility), at once or when it ends;
5. otherwise the workflow starts under the job id as execution name (idempotent: starting it again
   finds the running execution).

The raw object is only ever read.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from genomics import clients, references, steps
from genomics.errors import UserInputError, aws_call
from genomics.ledger import identity, model
from genomics.ledger.model import KeyLayoutError, ObjectRef, parse_key
from genomics.ledger.store import InvalidTransition, Ledger
from genomics.qc.gate import load_thresholds
from genomics.sources import ByteSource, HashingSource, S3Object
from genomics.validation.report import DEFAULT_PROFILE, PROFILES, ValidationReport, project_profiles

ACTOR = "validation-handler"
# A VALIDATING job untouched for longer than this is presumed abandoned by a crashed attempt.
LEASE_SECONDS = 16 * 60
MAX_STORED_ISSUES = 20


CODES: dict[str, str] = {
    "INGEST_KEY_LAYOUT": "The object key is not <project>/<sample_id>/<file>; upload under a project/sample prefix.",
    "INGEST_UNKNOWN_ASSAY": "The upload's assay (x-amz-meta-assay) has no QC thresholds on this stack.",
    "INGEST_UNKNOWN_PROFILE": "The upload's validation profile (x-amz-meta-validation-profile) is not "
    "default, strict or legacy.",
    "INGEST_ERROR": "The upload or job cannot be (re)ingested as asked, e.g. a record that is not an upload.",
    "INGEST_NOT_AN_UPLOAD": "The event record is not an S3 ObjectCreated event for the raw bucket.",
    "INGEST_ATTEMPT_FAILED": "An ingest attempt failed for a system reason (the job's reason says which); the job "
    "is INGEST_FAILED (retryable): Lambda retries it, then `genomics replay` or `genomics reprocess`.",
    "INGEST_SOURCE_GONE": "The uploaded object version no longer exists (deleted before it was validated); "
    "upload the file again.",
    "JOB_SUPERSEDED": "An operator ran `genomics reprocess` on the job before it ended; the new run replaces it.",
}
# S3 error codes meaning the object version is not there (any more).
_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})
# The conformance report travels with the workflow's input (processing copies it into its sidecar, QC
# into its report) with at most this many warnings; the ledger's job record keeps up to 100, counts exact.
MAX_PAYLOAD_WARNINGS = 20


class IngestError(Exception):
    code = "INGEST_ERROR"


class NotAnUpload(IngestError):
    """The record is not an S3 ObjectCreated event for the raw bucket."""

    code = "INGEST_NOT_AN_UPLOAD"


@dataclass(frozen=True)
class IngestConfig:
    raw_bucket: str
    state_machine_arn: str
    default_assay: str = "wgs"
    reference_uri: str = ""
    # project -> validation profile (stack setting validationProfiles); other projects: "default".
    project_profiles: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls) -> IngestConfig:
        return cls(
            raw_bucket=os.environ["RAW_BUCKET"],
            state_machine_arn=os.environ["STATE_MACHINE_ARN"],
            default_assay=os.environ.get("DEFAULT_ASSAY", "wgs") or "wgs",
            reference_uri=os.environ.get("REFERENCE_URI", ""),
            project_profiles=project_profiles(os.environ.get("VALIDATION_PROFILES", "")),
        )


@dataclass(frozen=True)
class UploadOptions:
    """What the uploader said about the file, as S3 object metadata (x-amz-meta-*)."""

    assay: str
    profile: str = DEFAULT_PROFILE
    assembly: str | None = None
    # The sample's sex as the uploader declares it (x-amz-meta-sex: male/female/M/F); QC's identity check
    # compares it with the sex inferred from X (genomics.identity).
    sex: str | None = None


Validator = Callable[[ByteSource, str, UploadOptions, "str | None"], ValidationReport]


def _default_validator(
    source: ByteSource, name: str, options: UploadOptions, reference: str | None
) -> ValidationReport:
    from genomics.validation import validate

    return validate(source, name=name, profile=options.profile, reference=reference)


# Objects of an Illumina run folder uploaded one by one: none starts a job of its own; the completion
# marker (written last by the instrument; upload it last) starts one job that validates the whole prefix.
RUN_FOLDER_PARTS = ("/Data/Intensities/", "/InterOp/", "/Thumbnail_Images/", "/Logs/", "/Config/", "/Recipe/")
RUN_FOLDER_FILES = (
    "RunInfo.xml",
    "RunParameters.xml",
    "runParameters.xml",
    "SampleSheet.csv",
    "RunCompletionStatus.xml",
)


def run_folder_role(key: str) -> str | None:
    """ "marker" for a run folder's completion marker, "member" for its other files, None otherwise."""
    from genomics.validation.bcl import COMPLETION_MARKERS

    name = key.rsplit("/", 1)[-1]
    if name in COMPLETION_MARKERS:
        return "marker"
    if name in RUN_FOLDER_FILES or any(part in f"/{key}" for part in RUN_FOLDER_PARTS):
        return "member"
    return None


def object_ref(record: Mapping[str, Any]) -> ObjectRef:
    """The object version an S3 event record talks about (a record that is not one: NotAnUpload)."""
    obj = steps.S3ObjectCreated.from_record(record, error=NotAnUpload)
    return ObjectRef(bucket=obj.bucket, key=obj.key, version_id=obj.version_id, etag=obj.etag, size=obj.size)


def _issues(report: ValidationReport) -> dict[str, Any]:
    return {
        "format": report.format,
        "valid": report.valid,
        "errors": [i.to_json() for i in report.errors[:MAX_STORED_ISSUES]],
        "warnings": [i.to_json() for i in report.warnings[:MAX_STORED_ISSUES]],
        "issue_counts": report.issue_counts(),
        "stats": {k: v for k, v in report.stats.items() if isinstance(v, int | float | str | bool)},
    }


def upload_options(
    s3: Any, ref: ObjectRef, default_assay: str, project_profile: str = DEFAULT_PROFILE
) -> UploadOptions:
    """Read assay, validation profile and assembly from the object's metadata (never from its key).
    The profile: the upload's own (x-amz-meta-validation-profile) when it names one, else the project's."""
    with aws_call("S3 HeadObject"):
        head = s3.head_object(
            Bucket=ref.bucket, Key=ref.key, **({"VersionId": ref.version_id} if ref.version_id else {})
        )
    meta = {k.lower(): v for k, v in head.get("Metadata", {}).items()}
    assay = (meta.get("assay") or default_assay).lower()
    profile = (meta.get("validation-profile") or "").strip().lower()
    return UploadOptions(
        assay=assay,
        profile=profile or project_profile,
        assembly=meta.get("assembly") or None,
        sex=(meta.get("sex") or "").strip().lower() or None,
    )


def _lease_deadline(seconds: int = LEASE_SECONDS) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _claim(ledger: Ledger, job_id: str) -> str | None:
    """Take the validation lease; returns its deadline, or None when another attempt holds it or
    the job has moved on. The status change RECEIVED -> VALIDATING happens once; after that the
    lease (``lease_until``) passes between attempts by compare-and-set, never by going back."""
    until = _lease_deadline()
    try:
        ledger.transition(
            job_id,
            model.VALIDATING,
            actor=ACTOR,
            only_from=(model.RECEIVED, model.INGEST_FAILED),
            idempotent=False,
            attributes={"lease_until": until},
            remove=("reason", "error_code"),  # a failed attempt's reason stays in the history only
        )
        return until
    except InvalidTransition as e:
        if e.current != model.VALIDATING:
            return None
    job = ledger.get_job(job_id)
    held = job.get("lease_until")
    if job["status"] != model.VALIDATING or job.get("execution_arn") or (held and held > model.now_iso()):
        return None
    return until if ledger.move_lease(job_id, expect=held, until=until) else None


def start_workflow(sfn: Any, state_machine_arn: str, job_id: str, payload: Mapping[str, Any]) -> str:
    """Start the execution named after the job; an existing one with that name is the same job."""
    try:
        with aws_call("Step Functions StartExecution"):
            resp = sfn.start_execution(stateMachineArn=state_machine_arn, name=job_id, input=json.dumps(payload))
        return str(resp["executionArn"])
    except ClientError as e:
        if e.response["Error"]["Code"] == "ExecutionAlreadyExists":
            arn = state_machine_arn.replace(":stateMachine:", ":execution:")
            return f"{arn}:{job_id}"
        raise


def ingest_record(
    record: Mapping[str, Any],
    *,
    config: IngestConfig,
    ledger: Ledger,
    s3: Any = None,
    sfn: Any = None,
    validator: Validator = _default_validator,
    run: int = 1,
    actor: str = ACTOR,
) -> dict[str, Any]:
    """Handle one S3 event record. Returns a small summary (job id, status, reason).

    ``run`` > 1 is a deliberate reprocessing of the same object version (``genomics reprocess``): a new
    job with its own id and execution; earlier jobs and their history stay as they were."""
    s3 = s3 or clients.client("s3")
    sfn = sfn or clients.client("stepfunctions")
    ref = object_ref(record)
    if ref.key.endswith("/"):
        return {"key": ref.key, "status": "IGNORED", "reason": "folder marker"}
    if run_folder_role(ref.key) == "member":
        from genomics.validation.bcl import COMPLETION_MARKERS

        return {
            "key": ref.key,
            "status": "IGNORED",
            "reason": f"part of a run folder: validated when {COMPLETION_MARKERS[0]} arrives",
        }
    try:
        layout = parse_key(ref.key)
        project, sample_id = layout.project, layout.sample_id
        layout_error: KeyLayoutError | None = None
    except KeyLayoutError as e:
        project, sample_id, layout_error = "_unassigned", "_unassigned", e
    job_id = ref.job_id(run)
    created = ledger.create_job(ref, job_id=job_id, project=project, sample_id=sample_id, actor=actor, run=run)
    lease: str | None = None
    try:
        if created or not ledger.has_file(sample_id, ref.file_id):
            ledger.record_file(
                ref, project=project, sample_id=sample_id, job_id=job_id, attributes={"status": model.RECEIVED}
            )
        lease = _claim(ledger, job_id)
        if lease is None:
            job = ledger.get_job(job_id)
            return {"job_id": job_id, "status": job["status"], "duplicate_event": True}
        attempt = _Attempt(ref, project, sample_id, job_id, config, ledger, s3, sfn, validator, run)
        return _validate_and_start(attempt, layout_error)
    except Exception as e:
        # The job rests visibly in INGEST_FAILED with the reason (retryable): Lambda's retry of this event
        # or a replay claims it again at once. If even that write fails, the lease is handed back (the
        # retry takes it) or expires (the sweeper ends the job); the original error is what is raised.
        # Only this attempt's own job is marked: the one whose lease it holds, or one nobody claimed yet.
        held = (model.VALIDATING,) if lease is not None else (model.RECEIVED,)
        if not _mark_with_retries(ledger, job_id, sample_id, ref.file_id, e, held):
            with contextlib.suppress(Exception):
                job = ledger.get_job(job_id)
                if lease is not None and job.get("lease_until") == lease and not job.get("execution_arn"):
                    ledger.move_lease(job_id, expect=job["lease_until"], until=model.now_iso())
        raise


def _mark_with_retries(ledger: Ledger, job_id: str, sample_id: str, file_id: str, error: BaseException,
                       states: tuple[str, ...], attempts: int = 3) -> bool:
    """mark_ingest_failed, retried briefly (it often follows a throttle). True once the job is marked."""
    for attempt in range(attempts):
        try:
            mark_ingest_failed(ledger, job_id, sample_id, file_id, error, states)
            return True
        except InvalidTransition:
            return True  # it is not running any more (another attempt moved it on)
        except Exception:
            time.sleep(0.1 * 4**attempt)
    return False


def mark_ingest_failed(ledger: Ledger, job_id: str, sample_id: str, file_id: str, error: BaseException,
                       states: tuple[str, ...] = (model.VALIDATING,)) -> None:
    """RECEIVED/VALIDATING -> INGEST_FAILED with the error as the reason (code INGEST_ATTEMPT_FAILED)."""
    reason = f"INGEST_ATTEMPT_FAILED: {type(error).__name__}: {error}"[:1000]
    ledger.transition(
        job_id, model.INGEST_FAILED, actor=ACTOR, only_from=states, idempotent=False,
        detail={"error": type(error).__name__, "reason": reason[:500]},
        attributes={"reason": reason, "error_code": "INGEST_ATTEMPT_FAILED"},
    )
    ledger.update_file(sample_id, file_id, {"status": model.INGEST_FAILED})


@dataclass(frozen=True)
class _Attempt:
    """One ingest attempt of one object version: what every stage of validating and starting it needs."""

    ref: ObjectRef
    project: str
    sample_id: str
    job_id: str
    config: IngestConfig
    ledger: Ledger
    s3: Any
    sfn: Any
    validator: Validator
    run: int = 1

    def reject(self, code: str, message: str) -> dict[str, Any]:
        return _reject(self.ledger, self.job_id, self.sample_id, self.ref, code, message)


@dataclass(frozen=True)
class _Validated:
    """What content validation found: the report, the SHA-256 read in the same pass, the length."""

    report: ValidationReport
    sha256: str
    length: int | None
    run_prefix: str | None  # a BCL run folder's prefix (validated as a whole), else None


def _validate_and_start(attempt: _Attempt, layout_error: KeyLayoutError | None) -> dict[str, Any]:
    """Check the upload's layout and options, validate its content, claim its result, start the workflow."""
    if layout_error is not None:
        return attempt.reject(layout_error.code, str(layout_error))
    options = _read_options(attempt)
    if isinstance(options, dict):
        return options
    rejected = _check_options(attempt, options)
    if rejected is not None:
        return rejected
    try:
        reference = references.fetch(attempt.s3, attempt.config.reference_uri, options.assembly, "/tmp/references")
    except UserInputError as e:
        return attempt.reject(e.code, str(e))
    validated = _validate(attempt, options, reference)
    if not validated.report.valid:
        return _reject_invalid(attempt, validated)
    result = _claim_result(attempt, options, validated)
    if isinstance(result, dict):
        return result
    return _start(attempt, options, validated, result)


def _read_options(attempt: _Attempt) -> UploadOptions | dict[str, Any]:
    """The upload's options from its metadata; the job ends FAILED (INGEST_SOURCE_GONE) when the object
    version is gone."""
    ref, config = attempt.ref, attempt.config
    try:
        return upload_options(attempt.s3, ref, config.default_assay,
                              config.project_profiles.get(attempt.project, DEFAULT_PROFILE))
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in _GONE:
            raise
    message = (f"s3://{ref.bucket}/{ref.key} version {ref.version_id or ref.etag} no longer exists; "
               "upload the file again")
    attempt.ledger.update_file(attempt.sample_id, ref.file_id, {"status": model.FAILED})
    attempt.ledger.transition(attempt.job_id, model.FAILED, actor=ACTOR, detail={"error": "INGEST_SOURCE_GONE"},
                              attributes={"reason": f"INGEST_SOURCE_GONE: {message}",
                                          "error_code": "INGEST_SOURCE_GONE"})
    return {"job_id": attempt.job_id, "status": model.FAILED, "reason": f"INGEST_SOURCE_GONE: {message}"}


def _check_options(attempt: _Attempt, options: UploadOptions) -> dict[str, Any] | None:
    """Reject an assay without QC thresholds or an unknown validation profile; None when both are known."""
    assays = sorted(load_thresholds())
    if options.assay not in assays:
        message = (
            f"assay {options.assay!r} (object metadata x-amz-meta-assay) has no QC thresholds on this stack; "
            f"use one of {', '.join(assays)}"
        )
        return attempt.reject("INGEST_UNKNOWN_ASSAY", message)
    if options.profile not in PROFILES:
        message = (
            f"validation profile {options.profile!r} (object metadata x-amz-meta-validation-profile) is not "
            f"one of {', '.join(PROFILES)}"
        )
        return attempt.reject("INGEST_UNKNOWN_PROFILE", message)
    return None


def _validate(attempt: _Attempt, options: UploadOptions, reference: str | None) -> _Validated:
    """Validate the content from S3 (a run folder: its whole prefix) and record the report on the file and
    the job."""
    ref, s3, ledger = attempt.ref, attempt.s3, attempt.ledger
    run_prefix = ref.key.rsplit("/", 1)[0] + "/" if run_folder_role(ref.key) == "marker" else None
    if run_prefix is not None:
        from genomics.validation.bcl import validate_run_prefix

        report = ValidationReport(path=run_prefix, format="bcl")
        sha256 = validate_run_prefix(s3, ref.bucket, run_prefix, report)  # SHA-256 of the listing
        length: int | None = ref.size
    else:
        source = HashingSource(S3Object(s3, ref.bucket, ref.key, ref.version_id, known_size=ref.size))
        report = attempt.validator(source, ref.key, options, reference)
        sha256 = source.sha256()
        length = source.length if source.length is not None else ref.size
    ledger.update_file(
        attempt.sample_id,
        ref.file_id,
        {
            "sha256": sha256,
            "format": report.format,
            "validation": _issues(report),
            "status": model.VALIDATING if report.valid else model.REJECTED,
        },
    )
    # The conformance report lives on the job: every warning with line and record (the status API, the
    # dashboard, processing's sidecar and the QC report read it from here).
    ledger.update_job(attempt.job_id, {"conformance": report.conformance()})
    return _Validated(report, sha256, length, run_prefix)


def _reject_invalid(attempt: _Attempt, validated: _Validated) -> dict[str, Any]:
    report = validated.report
    attempt.ledger.transition(
        attempt.job_id,
        model.REJECTED,
        actor=ACTOR,
        attributes={
            "reason": report.summary(),
            "error_code": report.errors[0].code,
            "sha256": validated.sha256,
            "format": report.format,
        },
    )
    return {"job_id": attempt.job_id, "status": model.REJECTED, "reason": report.summary()}


def _claim_result(attempt: _Attempt, options: UploadOptions, validated: _Validated
                  ) -> identity.ResultIdentity | dict[str, Any]:
    """Claim the result identity for this job; the outcome of the job that owns it when another does."""
    # What determines the result: content, assay, validation profile, QC thresholds, reference.
    ledger, job_id = attempt.ledger, attempt.job_id
    result = identity.ResultIdentity(
        sha256=validated.sha256,
        assay=options.assay,
        profile=options.profile,
        thresholds_version=identity.thresholds_version(load_thresholds(), options.assay),
        reference_digest=identity.reference_digest(attempt.s3, attempt.config.reference_uri, options.assembly),
    )
    ledger.update_job(job_id, {"sha256": validated.sha256, "format": validated.report.format,
                               "assay": options.assay, "result_id": result.result_id, "identity": result.as_dict()})
    item = identity.claim(ledger, attempt.sample_id, result, job_id)
    # A reprocess (run > 1) of a result that exists computes it again deliberately; one whose result is
    # being computed (or was released by a failure and claimed by another reprocess) waits for it.
    if item["owner"] != job_id and (attempt.run == 1 or not item.get("outcome_status")):
        return _duplicate(ledger, job_id, attempt.sample_id, attempt.ref, result.result_id, item)
    return result


def workflow_input(attempt: _Attempt, options: UploadOptions, validated: _Validated,
                   result: identity.ResultIdentity) -> steps.WorkflowInput:
    ref, report = attempt.ref, validated.report
    return steps.WorkflowInput(
        job_id=attempt.job_id,
        project=attempt.project,
        sample_id=attempt.sample_id,
        assay=options.assay,
        input=steps.InputRef(
            bucket=ref.bucket,
            key=ref.key,
            version_id=ref.version_id,
            sha256=validated.sha256,
            size=validated.length,
            format=report.format,
            assembly=options.assembly,
            sex=options.sex,
            conformance=report.conformance(limit=MAX_PAYLOAD_WARNINGS),
            result_id=result.result_id,
            run_folder=validated.run_prefix,
        ),
    )


def _start(attempt: _Attempt, options: UploadOptions, validated: _Validated,
           result: identity.ResultIdentity) -> dict[str, Any]:
    payload = workflow_input(attempt, options, validated, result)
    execution_arn = start_workflow(attempt.sfn, attempt.config.state_machine_arn, attempt.job_id, payload.to_dict())
    with contextlib.suppress(Exception):  # the workflow runs: a lost note here must not fail the attempt
        attempt.ledger.update_job(attempt.job_id, {"execution_arn": execution_arn})
    return {"job_id": attempt.job_id, "status": model.VALIDATING, "execution_arn": execution_arn}


def _duplicate(ledger: Ledger, job_id: str, sample_id: str, ref: ObjectRef, result_id: str,
               item: dict[str, Any]) -> dict[str, Any]:
    """Another job computes (or computed) this result: inherit its outcome now, or wait for it."""
    owner = str(item["owner"])
    if not item.get("outcome_status"):
        ended = identity.wait_for(ledger, sample_id, result_id, job_id)
        if ended is None:
            ledger.update_job(job_id, {"waiting_for": owner})
            ledger.update_file(sample_id, ref.file_id, {"duplicate_of": owner})
            return {"job_id": job_id, "status": model.VALIDATING, "duplicate_of": owner, "waiting": True}
        item = ended
    done = identity.resolve(ledger, job_id, item)
    status = done["status"] if done else ledger.get_job(job_id)["status"]
    return {"job_id": job_id, "status": status, "duplicate_of": owner}


def _reject(ledger: Ledger, job_id: str, sample_id: str, ref: ObjectRef, code: str, message: str) -> dict[str, Any]:
    """End the job REJECTED for a reason found before (or instead of) content validation."""
    issue = {"code": code, "message": message, "line": None}
    ledger.update_file(sample_id, ref.file_id, {"status": model.REJECTED, "validation": {"errors": [issue]}})
    ledger.transition(
        job_id, model.REJECTED, actor=ACTOR, attributes={"reason": f"{code}: {message}", "error_code": code}
    )
    return {"job_id": job_id, "status": model.REJECTED, "reason": f"{code}: {message}"}


def reprocess(
    job_id: str, *, config: IngestConfig, ledger: Ledger, s3: Any = None, sfn: Any = None, actor: str = "operator"
) -> dict[str, Any]:
    """Run a job's object version through the pipeline again, as a new job (run n+1).

    Any job can be reprocessed: one that has not ended (stuck, INGEST_FAILED) is first ended FAILED
    (code JOB_SUPERSEDED, naming the new run) so that exactly one job of the two is live."""
    job = ledger.get_job(job_id)
    runs = [int(j.get("run", 1)) for j in ledger.jobs_for_file(job["file_id"])]
    superseded = None
    while job["status"] not in model.TERMINAL:
        reason = (f"JOB_SUPERSEDED: {actor} reprocessed the upload as run {max(runs) + 1} while this job was "
                  f"{job['status']}")
        try:
            ended = ledger.transition(job_id, model.FAILED, actor=actor, only_from=(job["status"],),
                                      expect_updated_at=job["updated_at"], idempotent=False,
                                      detail={"error": "JOB_SUPERSEDED"},
                                      attributes={"reason": reason, "error_code": "JOB_SUPERSEDED"})
            identity.publish_outcome(ledger, ended)  # its waiting duplicates end (and may be reprocessed)
            superseded = {"job_id": job_id, "was": job["status"]}
            with contextlib.suppress(Exception):
                ledger.update_file(job["sample_id"], job["file_id"], {"status": model.FAILED})
            break
        except InvalidTransition:
            job = ledger.get_job(job_id)  # it moved meanwhile: look again
    record = steps.S3ObjectCreated(bucket=job["bucket"], key=job["key"], version_id=job.get("version_id"),
                                   etag=job.get("etag"), size=job.get("size")).to_record("ObjectCreated:Reprocess")
    result = ingest_record(record, config=config, ledger=ledger, s3=s3, sfn=sfn, run=max(runs) + 1, actor=actor)
    return {**result, **({"superseded": superseded} if superseded else {})}
