"""The S3/DynamoDB-facing QC core: compute metrics, apply the gate, store typed metrics, upload the
MultiQC report. AWS clients are parameters (built lazily from the default session when omitted).

S3 layout (processed bucket), per sample and input content (sha256 of the uploaded object)::

    reports/<project>/<sample_id>/<sha256>/multiqc_report.html
    reports/<project>/<sample_id>/<sha256>/raw/<tool>.txt        (bcftools/samtools text outputs)
    reports/<project>/<sample_id>/<sha256>/qc.json                (scalar metrics + gate, for cohorts)
    reports/<project>/_cohort/<digest>/multiqc_report.html        (cohort_report)

QC table: one item per scalar metric, ``metric_key = "<sha256[:16]>#<metric>"``, with ``project``,
``job_id``, ``value`` (Decimal), ``verdict`` (pass/warn/fail/not_evaluated, or ``info`` when the metric
has no threshold) and ``gsi_fail = "<project>#<metric>"`` only on failing metrics (sparse GSI
``by-failing-metric``); plus one summary item ``"<sha256[:16]>#_summary"`` with the gate verdict, the
deciding metric, the reasons and the report key. Writes are BatchWriteItem puts of deterministic keys,
so re-running a job overwrites the same items (idempotent); no scans.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from genomics import clients, errors, references, steps
from genomics.identity import service as identity_service
from genomics.observability import measure_step
from genomics.qc import budget
from genomics.qc import gate as qc_gate
from genomics.qc.metrics import (
    ALIGNMENT_FORMATS,
    compute,
    copy_to,
    scalar_metrics,
    sniff_source,
)
from genomics.qc.report import TOOL_FILES, render
from genomics.sources import ByteSource, LocalFile, S3Object
from genomics.steps import StepDataError
from genomics.tools import ToolError

FUNCTION = "quality-metrics"
# What a coverage job returns: the gate's coverage metrics, mosdepth's raw outputs, notes on what was left out.
Coverage = tuple[dict[str, Any], dict[str, str], list[str]]
SUMMARY_METRIC = "_summary"
COHORT_DIR = "_cohort"
# Largest alignment copied to local scratch (so idxstats can run); larger inputs are streamed.
DEFAULT_SCRATCH_LIMIT = 8 * 1024**3
_SUMMARY_KEYS = ("samples", "records", "snps", "indels", "ts_tv", "het_hom_ratio", "missing_rate",
                 "reads", "pct_mapped", "duplication_rate", "mean_coverage", "gc_pct", "mean_base_quality")

CODES: dict[str, str] = {
    "QC_EVENT_INVALID": "the event lacks project, sample_id, job_id or input.sha256/bucket/key",
    "QC_STORE_FAILED": "S3 or DynamoDB refused a write for a non-transient reason (permissions, schema)",
    "QC_NO_RESULTS": "cohort report asked for a project with no stored QC results",
}

T = TypeVar("T")


TransientError = errors.TransientError


class QcStoreError(RuntimeError):
    """A non-transient S3/DynamoDB failure (e.g. AccessDenied, missing table)."""

    code = "QC_STORE_FAILED"


class QcEventError(StepDataError):
    code = "QC_EVENT_INVALID"

    def __init__(self, message: str) -> None:
        super().__init__(message if message.startswith(f"{self.code}:") else f"{self.code}: {message}")


class QcNoResults(LookupError):
    code = "QC_NO_RESULTS"


def aws(call: Callable[[], T], what: str) -> T:
    """Run one AWS call through the AWS-failure boundary (:func:`genomics.errors.aws_call`): a transient
    failure is TransientError, a permanent answer from AWS QcStoreError."""
    with errors.aws_call(what, permanent=lambda e: QcStoreError(f"QC_STORE_FAILED: {what}: {e}")):
        return call()


# --------------------------------------------------------------------------------------------------
# Local (CLI)
# --------------------------------------------------------------------------------------------------
def _thresholds(thresholds: Mapping[str, Any] | str | None) -> dict[str, Any]:
    return qc_gate.load_thresholds(thresholds)


def qc_local(path: str, *, assay: str = "wgs", fmt: str | None = None, thresholds: dict | None = None,
             reference: str | None = None, targets: str | None = None) -> dict:
    """QC one local file. ``thresholds`` overrides the defaults (same structure as ``gate.DEFAULTS``);
    ``None`` reads env ``QC_THRESHOLDS``. Returns ``{"path", "format", "metrics", "gate"}`` where
    ``metrics`` holds the scalar metrics, ``None`` when not applicable (records, snps, mnps, indels,
    multiallelic_sites, ts_tv, samples, ... for VCF/BCF; per-sample metrics of a sites-only VCF), ``gate``
    is ``{"verdict", "reasons", "deciding_metric", "checks"}`` and ``notes`` says what QC left out and why
    (e.g. index-based metrics of a BAM that cannot be indexed)."""
    source = LocalFile(path)
    fmt = (fmt or sniff_source(source)).lower()
    coverage = _local_coverage(path, fmt, assay, reference, targets) if fmt in ("bam", "cram") else None
    with beside(coverage) as covered:  # mosdepth runs while samtools does
        fmt_found, metrics, _raw = compute(source, fmt, reference=reference)
    if covered.result is not None:
        cov, _cov_raw, notes = covered.result
        metrics.update(cov)
        metrics["notes"] = [*(metrics.get("notes") or []), *notes]
    verdict = qc_gate.evaluate(metrics, assay, _thresholds(thresholds))
    flat = {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}
    return {"path": path, "format": fmt_found, "metrics": flat, "gate": verdict,
            "notes": list(metrics.get("notes") or [])}


def _local_coverage(path: str, fmt: str, assay: str, reference: str | None, targets: str | None
                    ) -> Callable[[], Coverage]:
    """mosdepth coverage of a local BAM/CRAM (``targets``: the assay's BED). The file is linked into scratch
    (with its index when it has one), so an index QC builds never lands beside the user's file."""
    from genomics.qc import coverage

    def run() -> Coverage:
        with tempfile.TemporaryDirectory(prefix="qc-cov-") as tmp:
            link = Path(tmp) / f"input.{fmt}"
            link.symlink_to(Path(path).resolve())
            for ext in (".bai", ".csi", ".crai"):
                for candidate in (path + ext, (path.rsplit(".", 1)[0] + ext) if "." in path else ""):
                    if candidate and os.path.exists(candidate) and not os.path.exists(str(link) + ext):
                        Path(str(link) + ext).symlink_to(Path(candidate).resolve())
            try:
                return coverage.for_qc(str(link), fmt, assay=assay, scratch=Path(tmp), reference=reference,
                                       targets=targets)
            except (coverage.CoverageError, ToolError, ValueError, OSError) as e:
                return {}, {}, [f"coverage (mosdepth): not computed ({e})"]

    return run


class _Beside:
    result: Any = None


@contextlib.contextmanager
def beside(job: Callable[[], T] | None) -> Iterator[_Beside]:
    """Run ``job`` on a thread while the block runs (in the caller's context: the tool deadline holds);
    its result is in ``.result`` after the block, its exception raised there. ``None``: nothing to run."""
    out = _Beside()
    if job is None:
        yield out
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="qc-beside") as pool:
        future = pool.submit(contextvars.copy_context().run, job)
        yield out
        out.result = future.result()


# --------------------------------------------------------------------------------------------------
# DynamoDB items
# --------------------------------------------------------------------------------------------------
def to_decimal(value: int | float) -> Decimal | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return Decimal(str(value))


def metric_items(*, project: str, sample_id: str, job_id: str, sha256: str, assay: str, fmt: str,
                 metrics: Mapping[str, Any], verdict: Mapping[str, Any], report_key: str | None,
                 result_id: str | None = None) -> list[dict[str, Any]]:
    """The QC table items of one sample/result: one per scalar metric, plus the summary. Keyed by the
    result identity (content, assay, profile, thresholds, reference; genomics.ledger.identity), so jobs
    with different identities never overwrite each other's items; content alone for older events."""
    prefix = (result_id or sha256)[:16]
    checks = verdict.get("checks", {})
    common = {"sample_id": sample_id, "project": project, "job_id": job_id, "sha256": sha256, "assay": assay}
    items: list[dict[str, Any]] = []
    for name, value in sorted(scalar_metrics(metrics).items()):
        dec = to_decimal(value)
        if dec is None:
            continue
        state = checks.get(name, {}).get("verdict", "info")
        item = {**common, "metric_key": f"{prefix}#{name}", "metric": name, "value": dec, "verdict": state}
        if state == "fail":
            item["gsi_fail"] = f"{project}#{name}"
        items.append(item)
    summary: dict[str, Any] = {
        **common,
        "metric_key": f"{prefix}#{SUMMARY_METRIC}",
        "metric": SUMMARY_METRIC,
        "format": fmt,
        "verdict": verdict["verdict"],
        "reasons": list(verdict["reasons"]),
    }
    if verdict.get("deciding_metric"):
        summary["deciding_metric"] = verdict["deciding_metric"]
    if report_key:
        summary["report_key"] = report_key
    items.append(summary)
    return items


def batch_put(dynamodb: Any, table: str, items: list[dict[str, Any]], *, attempts: int = 6,
              sleep: Callable[[float], None] = time.sleep) -> None:
    """BatchWriteItem in chunks of 25; unprocessed items are retried with backoff, then TransientError."""
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": {k: ser.serialize(v) for k, v in it.items()}}}
                    for it in items[start:start + 25]]
        pending: dict[str, Any] = {table: requests}
        for attempt in range(attempts):
            resp = aws(lambda p=pending: dynamodb.batch_write_item(RequestItems=p), "DynamoDB BatchWriteItem")
            pending = resp.get("UnprocessedItems") or {}
            if not pending:
                break
            sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise TransientError(f"DynamoDB left {len(pending.get(table, []))} items unprocessed")


# --------------------------------------------------------------------------------------------------
# S3 helpers
# --------------------------------------------------------------------------------------------------
def report_prefix(project: str, sample_id: str, sha256: str) -> str:
    return f"reports/{project}/{sample_id}/{sha256}/"


def _put(s3: Any, bucket: str, key: str, body: bytes, content_type: str) -> None:
    aws(lambda: s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type),
        f"S3 PutObject s3://{bucket}/{key}")


def _scratch_limit(folder: str) -> int:
    free = shutil.disk_usage(folder).free
    return max(0, min(DEFAULT_SCRATCH_LIMIT, free - 256 * 1024**2))


# --------------------------------------------------------------------------------------------------
# The handler's core
# --------------------------------------------------------------------------------------------------
def parse_event(event: Mapping[str, Any]) -> steps.QcRequest:
    """A quality-metrics event (any action) as its job fields and input; QC_EVENT_INVALID when it lacks one."""
    return steps.QcRequest.from_dict(event, error=QcEventError)


def summary_of(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in _SUMMARY_KEYS if isinstance(metrics.get(k), int | float)}


@dataclass(frozen=True)
class _QcEnv:
    """The clients and settings one QC run uses (arguments first, else the function's environment)."""

    s3: Any
    dynamodb: Any
    table: str
    processed_bucket: str
    reference_uri: str
    thresholds: dict[str, Any]
    assay: str
    panel_uri: str
    targets_uri: str
    scratch_limit: int | None


def run_quality_metrics(
    event: Mapping[str, Any],
    *,
    s3: Any = None,
    dynamodb: Any = None,
    table: str | None = None,
    processed_bucket: str | None = None,
    thresholds: str | Mapping[str, Any] | None = None,
    reference_uri: str | None = None,
    context: Any = None,
    scratch_limit: int | None = None,
    panel_uri: str | None = None,
    targets_uri: str | None = None,
) -> dict[str, Any]:
    """QC the job's output (the processed VCF, or the raw BAM/CRAM/FASTQ when processing was skipped),
    store metrics and report; return the small result the workflow keeps under ``$.qc``."""
    with measure_step(FUNCTION, context) as step, budget.for_invocation(context):
        req = parse_event(event)
        s3 = s3 or clients.client("s3")
        dynamodb = dynamodb or clients.client("dynamodb")
        env = _QcEnv(
            s3=s3, dynamodb=dynamodb, table=table or os.environ["QC_TABLE"],
            processed_bucket=processed_bucket or os.environ["PROCESSED_BUCKET"],
            reference_uri=os.environ.get("REFERENCE_URI", "") if reference_uri is None else reference_uri,
            thresholds=_thresholds(thresholds),
            assay=str(req.assay or os.environ.get("DEFAULT_ASSAY") or "wgs"),
            panel_uri=os.environ.get("IDENTITY_PANEL_URI", "") if panel_uri is None else panel_uri,
            targets_uri=os.environ.get("COVERAGE_TARGETS_URI", "") if targets_uri is None else targets_uri,
            scratch_limit=scratch_limit)
        with tempfile.TemporaryDirectory(prefix="qc-") as tmp:
            result = _quality_metrics(req, env, Path(tmp))
    return dataclasses.replace(result, step=step.as_dict()).to_dict()


def _quality_metrics(req: steps.QcRequest, env: _QcEnv, scratch: Path) -> steps.QcResult:
    inp, processed = req.input, req.processed or steps.SKIPPED
    source, fmt, reference = _qc_source(req, env, processed, scratch)
    job = _coverage(source, fmt, env.assay, reference, env.s3, scratch, env.targets_uri)
    with beside(job) as covered:
        fmt, metrics, raw = _compute_aws(source, fmt, reference)  # mosdepth runs while samtools does
    if job is None and (late := _coverage(source, fmt, env.assay, reference, env.s3, scratch, env.targets_uri)):
        covered.result = late()  # the format was known only from the content
    extra_notes: list[str] = []
    if covered.result is not None:
        cov, cov_raw, extra_notes = covered.result
        metrics.update(cov)
        raw.update({k: v for k, v in cov_raw.items() if k != "mosdepth_thresholds"})
    verdict = qc_gate.evaluate(metrics, env.assay, env.thresholds)
    identity: dict[str, Any] | None = None
    fingerprint: dict[str, Any] | None = None
    if env.panel_uri:
        identity, fingerprint, why = _identity(
            env.s3, env.dynamodb, env.table, scratch, panel_uri=env.panel_uri,
            assembly=os.environ.get("IDENTITY_PANEL_ASSEMBLY", "") or str(inp.assembly or ""),
            source=source, fmt=fmt, metrics=metrics, reference=reference, project=req.project,
            sample_id=req.sample_id, job_id=req.job_id, sha256=inp.sha256,
            result_id=str(inp.result_id or inp.sha256), declared_sex=inp.sex)
        if why:
            extra_notes.append(why)
        if identity:
            verdict = identity_service.apply_to_gate(verdict, identity)
    metrics["notes"] = [*(metrics.get("notes") or []), *extra_notes]
    return publish(s3=env.s3, dynamodb=env.dynamodb, table=env.table, processed_bucket=env.processed_bucket,
                   project=req.project, sample_id=req.sample_id, job_id=req.job_id, sha256=inp.sha256,
                   assay=env.assay, fmt=fmt, metrics=metrics, raw=raw, verdict=verdict, scratch=scratch,
                   result_id=inp.result_id, conformance=inp.conformance or None,
                   repairs=list(processed.repairs or []), identity=identity, fingerprint=fingerprint)


def _qc_source(req: steps.QcRequest, env: _QcEnv, processed: steps.Processed, scratch: Path
               ) -> tuple[ByteSource, str | None, str | None]:
    """What QC reads (the processed VCF, else the upload; an alignment copied to scratch when it fits), its
    format, and the reference FASTA when an alignment needs one."""
    inp = req.input
    source: ByteSource
    if not processed.skipped and processed.vcf_key:
        return S3Object(env.s3, processed.bucket or env.processed_bucket, processed.vcf_key), "vcf", None
    source = S3Object(env.s3, inp.bucket, inp.key, inp.version_id, known_size=inp.size)
    fmt = inp.format
    if fmt not in ALIGNMENT_FORMATS:
        return source, fmt, None
    reference = None
    # CRAM decoding, the WGS coverage target (reference minus N) and alignment fingerprints
    if env.reference_uri and (fmt == "cram" or env.assay == "wgs" or env.panel_uri):
        reference = references.fetch(env.s3, env.reference_uri, inp.assembly, scratch)
    size = aws(source.size, f"S3 HeadObject {source.name}") if inp.size is None else inp.size
    limit = _scratch_limit(str(scratch)) if env.scratch_limit is None else env.scratch_limit
    if size is not None and size <= limit:
        local = aws(lambda: copy_to(source, scratch / f"input.{fmt}", limit), f"S3 GetObject {source.name}")
        source = LocalFile(str(local))
    return source, fmt, reference


def _identity_result(identity: Mapping[str, Any]) -> dict[str, Any]:
    """What the workflow keeps under ``$.qc.identity`` (small: findings without their evidence lists)."""
    keep = ("sex", "sex_from", "declared_sex", "x_sites", "x_het", "y_x_density", "compared", "sites_called",
            "panel_sites")
    return {**{k: identity.get(k) for k in keep},
            "findings": [{k: f[k] for k in ("code", "samples", "message")} for f in identity.get("findings") or []]}


def _coverage(source: ByteSource, fmt: str | None, assay: str, reference: str | None, s3: Any, scratch: Path,
              targets_uri: str) -> Callable[[], Coverage] | None:
    """The job computing mosdepth coverage of a BAM/CRAM in scratch: (metrics, raw outputs, notes on what
    was not computed); None for other formats. The assay's target BED (WES/panel) comes from
    ``targets_uri``: one BED, or a prefix holding ``<assay>.bed``."""
    if fmt not in ("bam", "cram"):
        return None
    if not isinstance(source, LocalFile):
        return lambda: ({}, {}, ["coverage (mosdepth): not computed (the input was streamed, not copied to scratch)"])
    from genomics.qc import coverage

    path = source.path

    def run() -> Coverage:
        targets = None
        if targets_uri and assay != "wgs":
            bucket, _, key = targets_uri.removeprefix("s3://").partition("/")
            key = key if key.endswith(".bed") else f"{key.strip('/')}/{assay}.bed".lstrip("/")
            targets = str(scratch / f"targets-{assay}.bed")
            aws(lambda: s3.download_file(bucket, key, targets), f"S3 GetObject s3://{bucket}/{key}")
        try:
            return coverage.for_qc(path, fmt, assay=assay, scratch=scratch, reference=reference, targets=targets)
        except coverage.CoverageError as e:
            if e.timed_out:  # no time left to finish QC without it: the step fails, with the tool's argv and stderr
                raise
            return {}, {}, [f"coverage (mosdepth): not computed ({e})"]
        except budget.ToolTimeout as e:
            raise coverage.CoverageError("QC_COVERAGE_FAILED", str(e), e) from e
        except (ToolError, ValueError, OSError) as e:
            return {}, {}, [f"coverage (mosdepth): not computed ({e})"]

    return run


def _identity(s3: Any, dynamodb: Any, table: str, scratch: Path, *, panel_uri: str, assembly: str,
              source: ByteSource, fmt: str, metrics: Mapping[str, Any], reference: str | None, project: str,
              sample_id: str, job_id: str, sha256: str, result_id: str, declared_sex: Any
              ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """Fingerprint the input, compare it with the project's, and build its QC-table item; or say why not."""
    from genomics.identity import fingerprint as fp

    folder = scratch / "panel"
    folder.mkdir(exist_ok=True)
    try:
        panel = identity_service.fetch_panel(s3, panel_uri, assembly, folder, aws)
        if fmt in ("vcf", "bcf"):
            samples = list((metrics.get("per_sample") or {}).keys())
            sample = sample_id if sample_id in samples else samples[0] if len(samples) == 1 else None
            if sample is None:
                return None, None, (f"identity: not checked ({len(samples)} sample columns, none named "
                                    f"{sample_id!r})")
            if isinstance(source, LocalFile):
                codes = fp.fingerprint_vcf(source.path, panel, sample)
            else:
                with source.open() as stream:
                    codes = aws(lambda: fp.fingerprint_vcf(None, panel, sample, stream=stream),
                                f"read {source.name}")
            kind = "vcf"
        elif fmt in ("bam", "cram"):
            if not isinstance(source, LocalFile) or reference is None:
                why = "no reference configured" if reference is None else "the input was streamed"
                return None, None, f"identity: not checked ({why}; alignments are genotyped with mpileup)"
            from genomics.qc import coverage

            why_not = coverage.ensure_index(source.path, fmt)
            if why_not:
                return None, None, f"identity: not checked ({why_not})"
            codes = fp.fingerprint_alignment(source.path, panel, reference)
            kind = "alignment"
        else:
            return None, None, None
    except fp.IdentityError as e:
        return None, None, f"identity: not checked ({e})"
    identity, item = identity_service.check(
        panel=panel, project=project, sample_id=sample_id, job_id=job_id, sha256=sha256, result_id=result_id,
        kind=kind, codes=codes, declared_sex=str(declared_sex) if declared_sex else None, dynamodb=dynamodb,
        table=table, aws=aws,
        y_x_density=metrics.get("y_x_density_ratio") if kind == "alignment" else None)
    return identity, item, None


def publish(*, s3: Any, dynamodb: Any, table: str, processed_bucket: str, project: str, sample_id: str,
            job_id: str, sha256: str, assay: str, fmt: str, metrics: dict[str, Any], raw: Mapping[str, str],
            verdict: Mapping[str, Any], scratch: Path, result_id: str | None = None, conformance: Any = None,
            repairs: list[Any] | None = None, identity: dict[str, Any] | None = None,
            fingerprint: dict[str, Any] | None = None) -> steps.QcResult:
    """Store the raw tool outputs, qc.json, the MultiQC report and the QC table items of a gated result;
    return the small result the workflow keeps under ``$.qc`` (single pass, gathered alignment shards and
    the Fargate task alike)."""
    prefix = report_prefix(project, sample_id, str(result_id or sha256))
    report_key = prefix + "multiqc_report.html"
    for tool, text in raw.items():
        _put(s3, processed_bucket, f"{prefix}raw/{tool}.txt", text.encode(), "text/plain")
    scalars = scalar_metrics(metrics)
    notes = list(metrics.get("notes") or [])
    repairs = list(repairs or [])
    qc_doc = {"project": project, "sample_id": sample_id, "job_id": job_id, "sha256": sha256,
              "assay": assay, "format": fmt, "metrics": scalars,
              "gate": {k: verdict[k] for k in ("verdict", "deciding_metric", "reasons")},
              "notes": notes, "repairs": repairs, "conformance": conformance, "identity": identity}
    if metrics.get("depth_per_contig"):
        qc_doc["depth_per_contig"] = metrics["depth_per_contig"]
    if "distributions" in metrics and fmt == "fastq":
        qc_doc["distributions"] = metrics["distributions"]
    _put(s3, processed_bucket, prefix + "qc.json", json.dumps(qc_doc).encode(), "application/json")
    html = render({sample_id: {"raw": dict(raw), "metrics": metrics, "gate": verdict, "assay": assay,
                               "notes": notes, "repairs": repairs, "conformance": conformance,
                               "identity": identity}},
                  scratch / "report", title=f"QC: {project} / {sample_id}",
                  comment=f"Input sha256 {sha256}; assay {assay}; verdict {verdict['verdict']}")
    _put(s3, processed_bucket, report_key, html.read_bytes(), "text/html")
    items = metric_items(project=project, sample_id=sample_id, job_id=job_id, sha256=sha256, assay=assay,
                         fmt=fmt, metrics=metrics, verdict=verdict, report_key=report_key, result_id=result_id)
    if fingerprint is not None:
        items.append(fingerprint)
    batch_put(dynamodb, table, items)
    return steps.QcResult(
        verdict=verdict["verdict"], reasons=verdict["reasons"], deciding_metric=verdict["deciding_metric"],
        summary=summary_of(metrics), report_key=report_key, notes=notes[:10] or None,
        identity=_identity_result(identity) if identity is not None else None,
    )


def _compute_aws(source: ByteSource, fmt: str | None, reference: str | None
                 ) -> tuple[str, dict[str, Any], dict[str, str]]:
    """compute(), with S3 read failures during streaming translated like any other AWS call."""
    return aws(lambda: compute(source, fmt, reference=reference), f"read {source.name}")


# --------------------------------------------------------------------------------------------------
# Cohort report
# --------------------------------------------------------------------------------------------------
def cohort_report(s3: Any, bucket: str, project: str) -> str:
    """Rebuild a MultiQC report over every sample of ``project`` from the stored raw tool outputs
    (the newest content per sample, by the time its qc.json was written); return its S3 key."""
    base = f"reports/{project}/"
    latest: dict[str, tuple[Any, str]] = {}
    paginator = s3.get_paginator("list_objects_v2")
    pages = aws(lambda: list(paginator.paginate(Bucket=bucket, Prefix=base)), f"S3 ListObjectsV2 {base}")
    for page in pages:
        for obj in page.get("Contents", []):
            parts = obj["Key"][len(base):].split("/")
            if len(parts) == 3 and parts[2] == "qc.json" and parts[0] != COHORT_DIR:
                sample, sha = parts[0], parts[1]
                if sample not in latest or obj["LastModified"] > latest[sample][0]:
                    latest[sample] = (obj["LastModified"], sha)
    if not latest:
        raise QcNoResults(f"QC_NO_RESULTS: no QC results stored under s3://{bucket}/{base}")
    samples: dict[str, dict[str, Any]] = {}
    for sample, (_, sha) in sorted(latest.items()):
        prefix = report_prefix(project, sample, sha)
        doc = json.loads(_get(s3, bucket, prefix + "qc.json"))
        raw: dict[str, str] = {}
        for tool in TOOL_FILES:
            text = _get_optional(s3, bucket, f"{prefix}raw/{tool}.txt")
            if text is not None:
                raw[tool] = text
        metrics = dict(doc.get("metrics", {}))
        if "distributions" in doc:
            metrics["distributions"] = doc["distributions"]
        samples[sample] = {"raw": raw, "metrics": metrics, "gate": doc.get("gate", {}),
                           "assay": doc.get("assay", "-"), "notes": doc.get("notes") or [],
                           "repairs": doc.get("repairs") or [], "conformance": doc.get("conformance"),
                           "identity": doc.get("identity")}
    digest = hashlib.sha256(
        "\n".join(f"{s}:{sha}" for s, (_, sha) in sorted(latest.items())).encode()
    ).hexdigest()[:16]
    key = f"{base}{COHORT_DIR}/{digest}/multiqc_report.html"
    with tempfile.TemporaryDirectory(prefix="qc-cohort-") as tmp:
        html = render(samples, Path(tmp), title=f"QC cohort: {project}",
                      comment=f"{len(samples)} samples (newest content of each)")
        _put(s3, bucket, key, html.read_bytes(), "text/html")
    return key


def _get(s3: Any, bucket: str, key: str) -> str:
    body = aws(lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read(), f"S3 GetObject {key}")
    return body.decode()


def _get_optional(s3: Any, bucket: str, key: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        with errors.aws_call(f"S3 GetObject {key}"):
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise QcStoreError(f"QC_STORE_FAILED: S3 GetObject {key}: {e}") from e
