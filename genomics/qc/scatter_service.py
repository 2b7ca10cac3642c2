"""quality-metrics' scatter actions (S3-facing): ``plan`` routes a QC job (one Lambda, Lambda shards or
Fargate, :mod:`genomics.router`), ``shard`` runs one alignment shard, ``gather`` merges the shards and
publishes exactly what a single pass publishes (:func:`genomics.qc.service.publish`).

S3 layout (processed bucket, ``tmp/`` expires after a day)::

    tmp/<job>/qc/input.bai             the index the plan found beside the upload or built
    tmp/<job>/qc/plan.json             the shards (the Distributed Map's ItemReader reads this array)
    tmp/<job>/qc/idxstats.txt          samtools-idxstats-shaped counts from the index (sex check)
    tmp/<job>/qc/targets.bed           mosdepth's target, as single-pass QC builds it (every shard reads it)
    tmp/<job>/qc/shards/<nnnnn>.json   one shard's samtools outputs, validation summary and step

Payloads stay small: the plan's result carries the shards inline only below the Distributed Map threshold;
shards return ``{"index"}`` and the Map discards results; gather reads the shard documents by their
deterministic keys and returns the shard steps for the ledger.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from genomics import clients, deployment, errors, objects, references, router, steps
from genomics.deployment import TMP_PREFIX, Settings
from genomics.identity import scatter as id_scatter
from genomics.identity import service as identity_service
from genomics.observability import measure_step
from genomics.qc import budget, cram_scatter, scatter, sparse
from genomics.qc import gate as qc_gate
from genomics.qc import service as qc_service
from genomics.qc.coverage import CoverageError
from genomics.qc.metrics import QcInputError, derive_alignment
from genomics.qc.parsers import parse_flagstat, parse_idxstats, parse_samtools_stats
from genomics.stepdata import StepDataError
from genomics.steps import InputRef
from genomics.tools import ToolError

FUNCTION = "quality-metrics"
HEADER_PROBE = 4 * 1024 * 1024
CODES: dict[str, str] = {
    "QC_SHARD_INVALID": "a QC shard event lacks its plan or shard (the workflow passes both)",
    "QC_RECORDS_INVALID": "record validation of a shard found errors (the message names the region and records)",
    "QC_FARGATE_FAILED": "the Fargate QC task stopped without a result (the message has its exit and stop codes)",
}
def router_env(settings: Settings) -> str:
    return deployment._router_env(settings)


def settings_from_env(raw: str | None) -> Settings:
    values = json.loads(raw) if raw else {}
    known = {f.name for f in fields(Settings)}
    return Settings(stack=os.environ.get("STACK", "local"), **{k: v for k, v in values.items() if k in known})


class ShardEventError(ValueError):
    code = "QC_SHARD_INVALID"


class RecordsInvalid(ValueError):
    code = "QC_RECORDS_INVALID"


class FargateFailed(RuntimeError):
    """The Fargate task failed: with its own coded error when it wrote one, else QC_FARGATE_FAILED."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message if message.startswith(f"{code}:") else f"{code}: {message}")


@dataclass(frozen=True)
class Ctx:
    s3: Any
    processed_bucket: str
    settings: Settings


def _ctx(s3: Any | None) -> Ctx:
    if s3 is None:
        s3 = clients.client("s3")
    return Ctx(s3, os.environ["PROCESSED_BUCKET"], settings_from_env(os.environ.get("QC_ROUTER")))


def _aws(call: Any, what: str) -> Any:
    with errors.aws_call(what):
        return call()


def work_prefix(job_id: str) -> str:
    return f"{TMP_PREFIX}/{job_id}/qc/"


def shard_key(job_id: str, index: int) -> str:
    return f"{work_prefix(job_id)}shards/{index:05d}.json"


def _download(s3: Any, bucket: str, key: str, path: Path, version_id: str | None = None) -> None:
    _aws(lambda: objects.download(s3, bucket, key, version_id, path), f"S3 GetObject s3://{bucket}/{key}")


def _sparse(s3: Any, inp: InputRef, ranges: list[list[int]], size: int, path: Path) -> int:
    """A sparse local copy of the raw object version holding only ``ranges``."""
    return sparse.fetch(s3, inp.to_dict(), ranges, size, path, _aws)


def _put_json(s3: Any, bucket: str, key: str, doc: Any) -> None:
    _aws(lambda: s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(doc).encode(), ContentType="application/json"),
         f"S3 PutObject s3://{bucket}/{key}")


def _get_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(_aws(lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read(), f"S3 GetObject {key}"))


def _header(path: Path) -> str:
    return budget.run(["samtools", "view", "-H", "--no-PG", str(path)]).stdout.decode("utf-8", "replace")


def idxstats_text(index: scatter.BamIndex, refs: list[tuple[str, int]]) -> str:
    """What ``samtools idxstats`` prints, from the parsed index (it reads the same counts)."""
    counts = {c.name: c for c in index.contigs}
    lines = []
    for name, length in refs:
        c = counts.get(name)
        lines.append(f"{name}\t{length}\t{c.mapped if c else 0}\t{c.unmapped if c else 0}")
    lines.append(f"*\t0\t0\t{index.unplaced}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# plan
# --------------------------------------------------------------------------------------------------
def _bam_index(ctx: Ctx, inp: InputRef, size: int, scratch: Path) -> tuple[Path | None, Path | None]:
    """(local index, local copy of the BAM if one was made). Looks beside the upload for ``<key>.bai`` or
    ``<key without .bam>.bai``; otherwise copies the BAM into scratch (when it fits) and builds the index,
    which fails on an unsorted file whatever its header claims."""
    s3, key = ctx.s3, inp.key
    for candidate in (key + ".bai", key[:-4] + ".bai" if key.endswith(".bam") else None):
        if candidate and _aws(lambda c=candidate: objects.exists(s3, inp.bucket, c), f"S3 HeadObject {candidate}"):
            local = scratch / "input.bai"
            _download(s3, inp.bucket, candidate, local)
            return local, None
    limit = ctx.settings.heavy_ephemeral_mb * 1024**2 // 2
    if size > limit:
        return None, None
    copy = scratch / "input.bam"
    _download(s3, inp.bucket, key, copy, inp.version_id)
    built = scatter.build_index(str(copy), str(scratch / "input.bai"))
    return (Path(built) if built else None), copy


def coverage_target(ctx: Ctx, event: Mapping[str, Any], refs: list[tuple[str, int]], scratch: Path
                    ) -> tuple[Path | None, list[str]]:
    """mosdepth's target BED exactly as single-pass QC builds it (genomics.qc.service._coverage): the assay's
    BED from COVERAGE_TARGETS_URI (WES/panel); for WGS the reference minus its N runs, or the header's whole
    contigs without a reference. (None, why) when the assay has no target."""
    from genomics.qc import coverage

    inp = qc_service.parse_event(event).input
    assay = str(event.get("assay") or os.environ.get("DEFAULT_ASSAY") or "wgs")
    targets_uri = os.environ.get("COVERAGE_TARGETS_URI", "")
    if targets_uri and assay != "wgs":
        bucket, _, key = targets_uri.removeprefix("s3://").partition("/")
        key = key if key.endswith(".bed") else f"{key.strip('/')}/{assay}.bed".lstrip("/")
        bed = scratch / f"targets-{assay}.bed"
        _aws(lambda: ctx.s3.download_file(bucket, key, str(bed)), f"S3 GetObject s3://{bucket}/{key}")
        return bed, []
    if assay != "wgs":
        return None, [f"coverage (mosdepth): not computed (no target BED for assay {assay!r}; set the stack's "
                      "coverage_targets_uri)"]
    reference_uri = os.environ.get("REFERENCE_URI", "")
    reference = (references.fetch(ctx.s3, reference_uri, inp.assembly, scratch / "ref")
                 if reference_uri else None)
    if reference:
        return coverage.wgs_targets(reference, scratch / "wgs.bed"), []
    bed = scratch / "wgs.bed"
    bed.write_text("".join(f"{name}\t0\t{length}\n" for name, length in refs))
    return bed, ["coverage: WGS target is the header's whole contigs (no reference: N runs not excluded)"]


def _with_empty_contigs(shards: list[dict[str, Any]], target: Path, refs: list[tuple[str, int]]) -> None:
    """Target contigs without reads belong to no shard, yet single-pass mosdepth counts their bases (at
    depth 0): the last mapped shard takes them (no bytes to fetch; mosdepth reads their empty index bins)."""
    mapped = [s for s in shards if not s.get("unplaced")]
    if not mapped:
        return
    in_target = {ln.split("\t", 1)[0] for ln in target.read_text().splitlines() if ln.strip()}
    placed = {n for s in shards for n in s["contigs"]}
    mapped[-1]["contigs"] += [n for n, _ in refs if n in in_target and n not in placed]


def _bam_plan(ctx: Ctx, inp: InputRef, size: int, scratch: Path
              ) -> tuple[Path, list[tuple[str, int]], list[dict[str, Any]], str | None] | None:
    """(index, header refs, shards, idxstats text from the BAI) of an indexed (or indexable) BAM, else None."""
    idx, copy = _bam_index(ctx, inp, size, scratch)
    if idx is None:
        return None
    head = copy
    if head is None:
        head = scratch / "head.bam"
        _sparse(ctx.s3, inp, [[0, min(size, HEADER_PROBE)]], size, head)
    refs = scatter.header_refs(_header(head))
    bai = scatter.parse_bai(scatter.read_index(str(idx)), refs)
    shards = scatter.plan_shards(bai, target_reads=ctx.settings.qc_shard_reads,
                                 max_shards=ctx.settings.scatter_max_shards, file_size=size,
                                 header_end=min(size, scatter.header_end_offset(bai)))
    return idx, refs, shards, idxstats_text(bai, refs)


def _cram_plan(ctx: Ctx, inp: InputRef, size: int, scratch: Path
               ) -> tuple[Path, list[tuple[str, int]], list[dict[str, Any]], str | None] | None:
    """The same for a CRAM (genomics.qc.cram_scatter): no idxstats, its shards count their reads."""
    found = cram_scatter.plan(ctx.s3, inp, size, scratch, ctx.settings, _aws)
    return None if found is None else (found.index, found.refs, found.shards, None)


def plan(event: Mapping[str, Any], *, s3: Any | None = None, context: Any = None) -> dict[str, Any]:
    """Route the QC job; for a scatter, write the shards and the index to tmp/ and return the plan."""
    with measure_step(FUNCTION, context) as step, budget.for_invocation(context):
        ctx = _ctx(s3)
        req = qc_service.parse_event(event)
        job_id, inp = req.job_id, req.input
        fmt = str(inp.format or "")
        size = inp.size if inp.size is not None else int(
            _aws(lambda: ctx.s3.head_object(Bucket=inp.bucket, Key=inp.key)["ContentLength"], "S3 HeadObject"))
        compression = str(inp.compression or ("bgzf" if fmt in ("bam", "vcf") else "none"))
        scattered: dict[str, Any] = {}  # the scatter's fields of the plan
        unsorted_or_unindexed = None
        facts = router.Facts(fmt=fmt, size=size, compression=compression)
        shards: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory(prefix="qc-plan-") as tmp:
            scratch = Path(tmp)
            found = (_bam_plan(ctx, inp, size, scratch) if fmt == "bam" else
                     _cram_plan(ctx, inp, size, scratch) if fmt == "cram" else None)
            if fmt in ("bam", "cram"):
                if found is not None and found[2]:  # no shards (no reads): one pass
                    idx, refs, shards, idx_text = found
                    biggest = max((sum(b - a for a, b in s["ranges"]) for s in shards), default=0)
                    facts = router.Facts(fmt=fmt, size=size, compression="bgzf" if fmt == "bam" else compression,
                                         sorted_indexed=True,
                                         largest_shard_bytes=biggest, shards=len(shards))
                    decision = router.route(facts, ctx.settings)
                    if decision.mode == "scatter":
                        prefix = work_prefix(job_id)
                        suffix = "bai" if fmt == "bam" else "crai"
                        _aws(lambda: ctx.s3.upload_file(str(idx), ctx.processed_bucket, prefix + "input." + suffix),
                             f"S3 PutObject input.{suffix}")
                        if idx_text is not None:  # a CRAM's shards count their reads per contig themselves
                            _aws(lambda: ctx.s3.put_object(Bucket=ctx.processed_bucket, Key=prefix + "idxstats.txt",
                                                           Body=idx_text.encode()), "S3 PutObject")
                        target, cov_notes = coverage_target(ctx, event, refs, scratch)
                        if target is not None:
                            _with_empty_contigs(shards, target, refs)
                            _aws(lambda: ctx.s3.upload_file(str(target), ctx.processed_bucket,
                                                            prefix + "targets.bed"), "S3 PutObject targets.bed")
                        _put_json(ctx.s3, ctx.processed_bucket, prefix + "plan.json", shards)
                        distributed = len(shards) >= ctx.settings.distributed_map_min_shards
                        at = functools.partial(steps.S3Pointer, bucket=ctx.processed_bucket)
                        scattered = {
                            "shard_count": len(shards),
                            "distributed": distributed,
                            "items": at(key=prefix + "plan.json"),
                            "index": at(key=prefix + "input." + suffix),
                            "idxstats": at(key=prefix + "idxstats.txt") if idx_text is not None else None,
                            "coverage": at(key=prefix + "targets.bed") if target is not None else None,
                            "coverage_notes": cov_notes,
                            "shards": [] if distributed else shards,
                        }
                elif found is None:
                    unsorted_or_unindexed = True
        decision = router.route(facts, ctx.settings)
    return steps.QcPlan(
        format=fmt, size=size, mode=decision.mode, route=decision.as_dict(),
        ephemeral_gib=decision.ephemeral_gib if decision.mode == "fargate" else None,
        unsorted_or_unindexed=unsorted_or_unindexed, **scattered, step=step.as_dict(),
    ).to_dict()


# --------------------------------------------------------------------------------------------------
# shard
# --------------------------------------------------------------------------------------------------
def scatter_plan(event: Mapping[str, Any], what: str) -> steps.QcPlan:
    """The event's scatter plan as its type (written by :func:`plan`); QC_SHARD_INVALID when it is not one."""
    raw = event.get("plan")
    try:
        p = steps.QcPlan.from_dict(raw, where="plan.") if isinstance(raw, Mapping) else None
    except StepDataError as e:
        raise ShardEventError(f"QC_SHARD_INVALID: {what}: {e}") from e
    if p is None or p.mode != "scatter" or not p.shard_count or p.index is None:
        raise ShardEventError(f"QC_SHARD_INVALID: {what} needs the scatter plan (mode scatter, shards, index)")
    return p


def _plan_and_shard(event: Mapping[str, Any]) -> tuple[steps.QcPlan, dict[str, Any]]:
    p, sh = scatter_plan(event, "a shard event"), event.get("shard")
    if not isinstance(sh, dict) or "ranges" not in sh:
        raise ShardEventError("QC_SHARD_INVALID: a shard event needs plan (mode scatter) and shard (with ranges)")
    return p, sh


def validate_shard_records(path: str, index: str, shard: Mapping[str, Any], reference: str | None = None
                           ) -> dict[str, Any]:
    """Record validation of the shard's reads: its regions' records decoded by samtools and checked by the
    same SAM checker as a whole upload (header included, so @SQ names resolve). samtools is killed at the
    invocation's deadline (a ToolTimeout, not record errors)."""
    import subprocess

    from genomics.qc.metrics import tool_env
    from genomics.validation.report import ValidationReport
    from genomics.validation.sam import validate_binary

    ref = ["--reference", reference] if reference else []
    argv = ["samtools", "view", "-u", "-h", "--no-PG", *ref, path, "-X", index, *scatter.region_args(shard)]
    procs: list[subprocess.Popen[bytes]] = []

    class _Region:
        name = f"{path} [{' '.join(scatter.region_args(shard))}]"

        def open(self) -> Any:
            proc = watchdog.watch(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=tool_env()))
            procs.append(proc)
            assert proc.stdout is not None
            return proc.stdout

        def size(self) -> int | None:
            return None

    report = ValidationReport(path=_Region.name, format="bam")
    with tempfile.TemporaryFile(prefix="shard-view-") as err, budget.Watchdog() as watchdog:
        validate_binary(_Region(), report, fmt="bam")
        for proc in procs:
            if proc.wait() and (watchdog.fired or not report.errors):
                err.seek(0)
                raise watchdog.error(ToolError(argv, proc.returncode, err.read().decode("utf-8", "replace")))
    return {
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "first_errors": [f"{i.code}: {i.message}" + (f" [record {i.record}]" if i.record else "")
                         for i in report.errors[:5]],
    }


def _shard_target(ctx: Ctx, p: steps.QcPlan, sh: Mapping[str, Any], scratch: Path) -> str | None:
    """The plan's target BED in scratch when it has intervals on the shard's contigs, else None."""
    where = p.coverage
    if where is None or not sh.get("contigs"):
        return None
    bed = scratch / "targets.bed"
    _download(ctx.s3, where.bucket, where.key, bed)
    mine = set(sh["contigs"])
    with open(bed) as fh:
        if not any(ln.split("\t", 1)[0] in mine for ln in fh):
            return None
    return str(bed)


def shard(event: Mapping[str, Any], *, s3: Any | None = None, context: Any = None) -> dict[str, Any]:
    """One alignment shard: fetch the header and the shard's byte ranges into a sparse copy, validate its
    records, run the shard's samtools tools, write the outputs to tmp/."""
    with measure_step(FUNCTION, context) as step, budget.for_invocation(context):
        ctx = _ctx(s3)
        req = qc_service.parse_event(event)
        job_id, inp = req.job_id, req.input
        p, sh = _plan_and_shard(event)
        size = p.size
        with tempfile.TemporaryDirectory(prefix="qc-shard-") as tmp:
            cram = sh.get("format") == "cram"
            local = Path(tmp) / ("input.cram" if cram else "input.bam")
            idx = Path(f"{local}.{'crai' if cram else 'bai'}")  # beside it, where bcftools mpileup looks for it
            _download(ctx.s3, p.index.bucket, p.index.key, idx)  # type: ignore[union-attr]
            fetched = _sparse(ctx.s3, inp, sh["ranges"], size, local)
            ref = cram_scatter.reference(ctx.s3, inp, sh, Path(tmp) / "ref", _aws) if cram else None
            try:
                validation = validate_shard_records(str(local), str(idx), sh, ref)
                out = scatter.run_shard(str(local), sh, index=str(idx), reference=ref)
            except ToolError as e:
                code = "QC_CRAM_REFERENCE" if cram and not ref and "reference" in e.stderr.lower() else "QC_TOOL_FAILED"
                raise QcInputError(code, f"shard {sh['index']}: {e}") from e
            bed = _shard_target(ctx, p, sh, Path(tmp))
            coverage_error = None
            if bed is not None:
                try:
                    out["coverage"] = scatter.shard_coverage(str(local), sh, bed, index=str(idx), reference=ref)
                except CoverageError as e:  # mosdepth failed: gather reports QC without coverage, and why
                    if e.timed_out:  # out of time: the shard fails with mosdepth's argv, exit code and stderr
                        raise
                    coverage_error = f"shard {sh['index']}: {e}"
            fingerprint = id_scatter.shard_fingerprint(ctx.s3, inp.to_dict(), sh.get("contigs") or [], str(local),
                                                       Path(tmp), _aws, reference=ref)
    doc = {**out, "index": sh["index"], "bytes_fetched": fetched, "validation": validation,
           "coverage_error": coverage_error, "fingerprint": fingerprint, "step": step.as_dict()}
    _put_json(ctx.s3, ctx.processed_bucket, shard_key(job_id, int(sh["index"])), doc)
    return steps.QcShardResult(index=sh["index"], step=step.as_dict()).to_dict()


# --------------------------------------------------------------------------------------------------
# gather
# --------------------------------------------------------------------------------------------------
def _idxstats(ctx: Ctx, p: steps.QcPlan) -> str:
    """The plan's idxstats (a BAM's, from its index); QC_SHARD_INVALID when the plan has none."""
    where = p.idxstats
    if where is None:
        raise ShardEventError("QC_SHARD_INVALID: gather: the shards counted no reads per contig and the plan "
                              "has no idxstats")
    return str(_aws(lambda: ctx.s3.get_object(Bucket=where.bucket, Key=where.key)["Body"].read().decode(),
                    "S3 GetObject idxstats"))


def gather(event: Mapping[str, Any], *, s3: Any | None = None, dynamodb: Any = None, context: Any = None
           ) -> dict[str, Any]:
    """Merge the shards' outputs into single-pass samtools stats/flagstat, derive the metrics, gate and
    publish them like a single pass; the shards' steps are returned for the ledger's cost."""
    with measure_step(FUNCTION, context) as step, budget.for_invocation(context):
        ctx = _ctx(s3)
        req = qc_service.parse_event(event)
        project, sample_id, job_id, inp = req.project, req.sample_id, req.job_id, req.input
        p = scatter_plan(event, "gather")
        docs = [_get_json(ctx.s3, ctx.processed_bucket, shard_key(job_id, i)) for i in range(p.shard_count or 0)]
        bad = [d for d in docs if d["validation"]["errors"]]
        if bad:
            first = bad[0]["validation"]["first_errors"]
            raise RecordsInvalid(f"QC_RECORDS_INVALID: {sum(d['validation']['errors'] for d in bad)} record errors "
                                 f"in {len(bad)} shard(s) of s3://{inp.bucket}/{inp.key}; first: {first}")
        failed = [str(d["coverage_error"]) for d in docs if d.get("coverage_error")]
        # coverage of some contigs only would be wrong: none at all when a shard's mosdepth failed, and why
        merged = scatter.merge_shards([{k: v for k, v in d.items() if k != "coverage"} for d in docs]
                                      if failed else docs)
        idx_text = merged.pop("samtools_idxstats", None) or _idxstats(ctx, p)  # a CRAM's shards counted them
        raw = {**{k: v for k, v in merged.items() if k != "mosdepth_thresholds"}, "samtools_idxstats": idx_text}
        metrics = derive_alignment(parse_samtools_stats(merged["samtools_stats"]),
                                   parse_flagstat(merged["samtools_flagstat"]), parse_idxstats(idx_text))
        metrics["record_warnings"] = sum(int(d["validation"]["warnings"]) for d in docs)
        cov_notes = [str(n) for n in p.coverage_notes or []]
        if failed:
            cov_notes.append(f"coverage (mosdepth): not computed ({failed[0]})")
        elif "mosdepth_summary" in merged:  # shards hold disjoint whole contigs: the merge is exact
            from genomics.qc.coverage import coverage as coverage_metrics

            metrics.update(coverage_metrics(merged))
        elif p.coverage is not None:
            cov_notes.append("coverage (mosdepth): not computed (no shard's contigs intersect the target)")
        dynamodb = dynamodb or clients.client("dynamodb")
        assay = str(event.get("assay") or os.environ.get("DEFAULT_ASSAY") or "wgs")
        verdict = qc_gate.evaluate(metrics, assay, qc_service._thresholds(os.environ.get("QC_THRESHOLDS")))
        table = os.environ["QC_TABLE"]
        with tempfile.TemporaryDirectory(prefix="qc-gather-") as tmp:
            identity, fingerprint, why = id_scatter.gather(
                docs, s3=ctx.s3, dynamodb=dynamodb, table=table, scratch=Path(tmp), aws=_aws, inp=inp.to_dict(),
                project=project, sample_id=sample_id, job_id=job_id, y_x_density=metrics.get("y_x_density_ratio"))
            if identity:
                verdict = identity_service.apply_to_gate(verdict, identity)
            metrics["notes"] = [*(metrics.get("notes") or []), *cov_notes, *([why] if why else []),
                                f"QC'd in {len(docs)} shards (whole contigs + unplaced reads)"]
            result = qc_service.publish(
                s3=ctx.s3, dynamodb=dynamodb, table=table, processed_bucket=ctx.processed_bucket,
                project=project, sample_id=sample_id, job_id=job_id, sha256=inp.sha256, assay=assay,
                fmt=p.format or "bam", metrics=metrics, raw=raw, verdict=verdict, scratch=Path(tmp),
                result_id=inp.result_id, conformance=inp.conformance or None, identity=identity,
                fingerprint=fingerprint)
    shard_steps = [{"index": d["index"], **d["step"]} for d in docs]
    return dataclasses.replace(result, step=step.as_dict(), shard_steps=shard_steps, mode="scatter").to_dict()


# --------------------------------------------------------------------------------------------------
# collect (after the Fargate task)
# --------------------------------------------------------------------------------------------------
def collect(event: Mapping[str, Any], *, s3: Any | None = None, context: Any = None) -> dict[str, Any]:
    """The Fargate task's result document as ``$.qc`` (its step carries the task's duration and cost); the
    task's coded error when it failed."""
    from genomics.qc.fargate import result_key

    ctx = _ctx(s3)
    req = steps.QcCollectRequest.from_dict(event, error=qc_service.QcEventError)
    task = req.fargate or steps.FargateTask()
    key = result_key(req.job_id)
    try:
        with errors.aws_call(f"S3 GetObject {key}"):  # a throttle is retried, never taken for a missing result
            doc = json.loads(ctx.s3.get_object(Bucket=ctx.processed_bucket, Key=key)["Body"].read())
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        raise FargateFailed("QC_FARGATE_FAILED", f"task {task.task_arn} stopped (exit code "
                            f"{task.exit_code}) without writing s3://{ctx.processed_bucket}/{key}"
                            ) from e
    if not doc.get("ok"):
        raise FargateFailed(str(doc.get("error") or "QC_FARGATE_FAILED"), str(doc.get("message")))
    qc = steps.QcResult.from_dict(doc["qc"], where=f"s3://{ctx.processed_bucket}/{key} qc.")
    return dataclasses.replace(qc, step=doc["step"], mode="fargate").to_dict()


ACTIONS = {"plan": plan, "shard": shard, "gather": gather, "collect": collect}
