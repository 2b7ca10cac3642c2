"""vcf-processor's S3-facing core: plan, process (single pass), shard and gather.

Every function takes the S3 client as a parameter (``None`` builds one lazily) and the deployment's
environment as a :class:`Config`. Raw objects are only ever read (by version). Outputs are written to
``tmp/<job_id>/`` first and copied to their content-addressed keys

    processed/<project>/<sample_id>/<sha256 of input>/<basename>.norm.vcf.gz   (+ .tbi|.csi, + .json)

only when complete (the sidecar last), then the tmp objects are deleted. Inputs stream from S3 into
bcftools' stdin; region reads (shards) fetch only the byte ranges the index says a region needs into a
sparse scratch file, so no invocation holds or downloads a whole large input.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from genomics import clients, errors, objects, steps
from genomics.deployment import PROCESSED_PREFIX, TMP_PREFIX
from genomics.processing import vcf
from genomics.processing.errors import EventError
from genomics.processing.reference import Reference, resolve_reference
from genomics.scratch import published_name, scratch_name
from genomics.sources import S3Object

# The workflow retries on this error *name*. It lives in genomics.errors (shared); re-exported here.
TransientError = errors.TransientError

CODES = vcf.CODES



@dataclass(frozen=True)
class Config:
    processed_bucket: str
    scatter_threshold_bytes: int = 512 * 1024 * 1024
    scatter_region_bases: int = 50_000_000
    scatter_max_shards: int = vcf.MAX_SHARDS
    reference_uri: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        e = os.environ if env is None else env
        return cls(
            processed_bucket=e["PROCESSED_BUCKET"],
            scatter_threshold_bytes=int(e.get("SCATTER_THRESHOLD_BYTES") or 512 * 1024 * 1024),
            scatter_region_bases=int(e.get("SCATTER_REGION_BASES") or 50_000_000),
            scatter_max_shards=int(e.get("SCATTER_MAX_SHARDS") or vcf.MAX_SHARDS),
            reference_uri=e.get("REFERENCE_URI", ""),
        )


@dataclass(frozen=True)
class Job:
    job_id: str
    project: str
    sample_id: str
    bucket: str
    key: str
    version_id: str | None
    sha256: str
    size: int | None
    assembly: str | None
    # Validation's conformance report (warnings with line and record), copied into the sidecar.
    conformance: dict[str, Any] | None = None
    # The result identity (genomics.ledger.identity): outputs are keyed by it, not by content alone.
    result_id: str | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Job:
        return cls.from_input(steps.WorkflowInput.from_dict(event, error=EventError))

    @classmethod
    def from_input(cls, w: steps.WorkflowInput) -> Job:
        inp = w.input
        job = cls(job_id=w.job_id, project=w.project, sample_id=w.sample_id, bucket=inp.bucket, key=inp.key,
                  version_id=inp.version_id, sha256=inp.sha256, size=inp.size, assembly=inp.assembly,
                  conformance=inp.conformance, result_id=inp.result_id)
        for part in (job.job_id, job.project, job.sample_id, job.sha256, job.result_id or "-"):
            if not part or "/" in part:
                raise EventError(f"unusable key component {part!r} in the event")
        return job

    @property
    def name(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def work_prefix(self) -> str:
        return f"{TMP_PREFIX}/{self.job_id}/"

    @property
    def final_prefix(self) -> str:
        return f"{PROCESSED_PREFIX}/{self.project}/{self.sample_id}/{self.result_id or self.sha256}/"

    def raw(self, s3: Any) -> S3Object:
        return S3Object(s3, self.bucket, self.key, self.version_id, self.size)


def _client(s3: Any | None) -> Any:
    return s3 if s3 is not None else clients.client("s3")


@contextlib.contextmanager
def _reading_input(job: Job) -> Iterator[None]:
    """Missing raw object/version -> InputNotFound (the user deleted or never finished the upload)."""
    try:
        yield
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "NoSuchVersion", "404", "NotFound", "InvalidArgument"):
            raise vcf.InputNotFound(
                f"{job.name} (version {job.version_id}) cannot be read ({code}); re-upload the file",
                location=job.name,
            ) from e
        raise


# --------------------------------------------------------------------------------------------------
# Small S3 helpers (all streaming)
# --------------------------------------------------------------------------------------------------
def _stream_header(src: S3Object, scratch: Path) -> str:
    """The VCF/BCF header of an S3 object, reading only as much as bcftools needs."""
    out = scratch / "header.txt"
    argv = ["bcftools", "view", "--no-version", "-h", "-o", str(out), "-"]
    with src.open() as body:
        try:
            vcf.run_pipeline([argv], scratch, stdin=body)
        except vcf.tools.ToolError as e:
            coded = vcf.classify(e, src.name)
            if coded is not None:
                raise coded from e
            raise vcf.UnreadableInput(
                f"{src.name} has no readable VCF/BCF header; upload VCF or BCF (plain, gzip or BGZF)",
                location=src.name,
            ) from e
    return out.read_text(errors="replace")  # non-UTF-8 header bytes: htslib accepts them, validation warns


# --------------------------------------------------------------------------------------------------
# Publishing
# --------------------------------------------------------------------------------------------------
def _final_keys(job: Job, index_suffix: str) -> dict[str, str]:
    """Published keys: the upload's name when safe (else a bounded safe name, genomics.scratch)."""
    names = vcf.output_names(published_name(job.key))
    return {
        "vcf": job.final_prefix + names["vcf"],
        "index": job.final_prefix + names["vcf"] + index_suffix,
        "sidecar": job.final_prefix + names["sidecar"],
    }


def _publish(s3: Any, bucket: str, job: Job, files: dict[str, Path], keys: dict[str, str]) -> None:
    """Upload to tmp/<job_id>/out/, copy into place (sidecar last), delete the tmp objects."""
    staged: dict[str, str] = {}
    for role in ("vcf", "index", "sidecar"):
        tmp_key = f"{job.work_prefix}out/{files[role].name}"
        objects.upload(s3, files[role], bucket, tmp_key)
        staged[role] = tmp_key
    for role in ("vcf", "index", "sidecar"):
        s3.copy({"Bucket": bucket, "Key": staged[role]}, bucket, keys[role])
    objects.delete(s3, bucket, list(staged.values()))


def _finish(
    s3: Any, cfg: Config, job: Job, scratch: Path, out: Path, *, records_in: int, commands: list[list[str]],
    ref: Reference, mode: str, shards: int, split: int | None, realigned: int | None,
    repairs: list[dict[str, Any]] | None = None, conformance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    header = vcf.header_text(str(out))
    idx_path, idx_argv = vcf.index_vcf(str(out), header)
    stats = vcf.index_stats(str(out))
    keys = _final_keys(job, Path(idx_path).suffix)
    clean = vcf.ScratchPaths(str(scratch))
    contigs = [s["contig"] for s in stats if s["records"]]
    doc = vcf.sidecar(
        input_info={"bucket": job.bucket, "key": job.key, "version_id": job.version_id, "sha256": job.sha256,
                    "size": job.size},
        vcf={"key": keys["vcf"], **vcf.file_digests(str(out))},
        index={"key": keys["index"], **vcf.file_digests(idx_path)},
        records_in=records_in,
        records_out=sum(s["records"] for s in stats),
        contigs=contigs,
        reference=ref.info,
        reference_note=ref.note,
        commands=[clean.clean(c) for c in [*commands, idx_argv]],
        mode=mode, shards=shards, split=split, realigned=realigned, repairs=repairs, conformance=conformance,
    )
    side = Path(str(out) + ".json")
    side.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    _publish(s3, cfg.processed_bucket, job, {"vcf": out, "index": Path(idx_path), "sidecar": side}, keys)
    return steps.Processed(
        bucket=cfg.processed_bucket,
        vcf_key=keys["vcf"],
        index_key=keys["index"],
        sidecar_key=keys["sidecar"],
        records_in=records_in,
        records_out=doc["records_out"],
        contigs=contigs,
        # What processing repaired (the sidecar has every entry; QC's report shows these).
        repairs=_brief_repairs(doc["repairs"]),
    ).to_dict()


# Repairs carried in the workflow's state (the sidecar keeps all): Step Functions payloads stay small.
MAX_STATE_REPAIRS = 20


def _brief_repairs(repairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("repair", "key", "first", "reason", "records")
    out = [{k: r[k] for k in keep if r.get(k) is not None} for r in repairs[:MAX_STATE_REPAIRS]]
    if len(repairs) > MAX_STATE_REPAIRS:
        out.append({"repair": "more", "reason": f"{len(repairs) - MAX_STATE_REPAIRS} more in the sidecar"})
    return out


def merge_repairs(*lists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Repairs of several steps (plan, shards) as one list, each (repair, key) once, first seen wins."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for items in lists:
        for r in items or []:
            seen.setdefault((str(r.get("repair")), str(r.get("key"))), dict(r))
    return list(seen.values())


# --------------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------------
@errors.aws_call()  # the AWS-failure boundary: transient failures -> TransientError
def process(event: Mapping[str, Any], *, s3: Any | None = None, cfg: Config | None = None) -> dict[str, Any]:
    """Single pass: stream the raw object through norm | sort | norm -d into a BGZF VCF, index, publish."""
    s3, cfg = _client(s3), cfg or Config.from_env()
    job = Job.from_event(event)
    raw = job.raw(s3)
    with tempfile.TemporaryDirectory(prefix="vcfproc-") as td:
        scratch = Path(td)
        with _reading_input(job):
            header = _stream_header(raw, scratch)
            ref = resolve_reference(s3, cfg, job, header, scratch)
            out = scratch / scratch_name(job.job_id, ".norm.vcf.gz")
            res = vcf.normalise("-", str(out), scratch, reference=ref.path, name=job.name, opener=raw.open,
                                conformance=job.conformance)
        return _finish(s3, cfg, job, scratch, out, records_in=res.records_in, commands=res.commands, ref=ref,
                       mode="single", shards=1, split=res.split, realigned=res.realigned, repairs=res.repairs,
                       conformance=job.conformance)


def _first_bytes(s3: Any, job: Job, n: int = 1 << 16) -> bytes:
    extra = {"VersionId": job.version_id} if job.version_id else {}
    return s3.get_object(Bucket=job.bucket, Key=job.key, Range=f"bytes=0-{n - 1}", **extra)["Body"].read()


@dataclass(frozen=True)
class _ScatterSource:
    """What shards read, with its local copy in scratch (index beside it) and the tmp/ keys written for it."""

    source: steps.VcfSource
    local: Path
    uploaded: list[str]
    repairs: list[dict[str, Any]]


def _single_plan(job: Job) -> steps.VcfPlan:
    raw = steps.VcfSource(bucket=job.bucket, key=job.key, version_id=job.version_id)
    return steps.VcfPlan(mode="single", shards=[], source=raw, work_prefix=job.work_prefix)


@errors.aws_call()
def plan(event: Mapping[str, Any], *, s3: Any | None = None, cfg: Config | None = None) -> dict[str, Any]:
    """Single pass at or below SCATTER_THRESHOLD_BYTES; otherwise shards per contig/region over an
    indexed BGZF source (the raw object when it is a sorted BGZF VCF, else a sorted copy in tmp/)."""
    s3, cfg = _client(s3), cfg or Config.from_env()
    job = Job.from_event(event)
    with _reading_input(job):
        size = job.size if job.size is not None else job.raw(s3).size() or 0
        if size <= cfg.scatter_threshold_bytes:
            return _single_plan(job).to_dict()
        kind = vcf.sniff(_first_bytes(s3, job))
    if kind["format"] == "unknown" and kind["compression"] != "bgzf":
        raise vcf.UnsupportedInput(
            f"{job.name} is neither VCF nor BCF (plain, gzip or BGZF); upload a VCF/BCF", location=job.name
        )
    with tempfile.TemporaryDirectory(prefix="vcfplan-") as td:
        src = _scatter_source(s3, cfg, job, kind, Path(td))
        shards = _plan_shards(cfg, src)
    if not shards:  # no records: nothing to scatter
        objects.delete(s3, cfg.processed_bucket, src.uploaded)
        return _single_plan(job).to_dict()
    return _scatter_plan(s3, cfg, job, shards, src).to_dict()


def _scatter_source(s3: Any, cfg: Config, job: Job, kind: Mapping[str, str], scratch: Path) -> _ScatterSource:
    """The raw object itself when it is a BGZF VCF that indexes as it is; else a sorted, indexed copy."""
    local = scratch / scratch_name(job.job_id, ".vcf.gz")
    if kind["compression"] == "bgzf" and kind["format"] == "vcf":
        with _reading_input(job):
            objects.download(s3, job.bucket, job.key, job.version_id, local)
        in_place = _index_in_place(s3, cfg, job, local)
        if in_place is not None:
            return in_place
    return _sorted_copy(s3, cfg, job, local, scratch)


def _index_in_place(s3: Any, cfg: Config, job: Job, local: Path) -> _ScatterSource | None:
    declared = vcf.header_text(str(local))  # before indexing: htslib adds contigs from an index
    # Integer keys holding decimals need the repaired copy (their Type changes before htslib reads).
    indexed = None if vcf.needs_type_scan(job.conformance) else vcf.try_index_in_place(str(local))
    if indexed is not None and not vcf.index_names_declared(declared, indexed[0]):
        # Records on contigs the header lacks: the sorted copy declares them (as single pass does).
        Path(indexed[0]).unlink()
        indexed = None
    if indexed is None:
        return None
    idx_key = f"{job.work_prefix}source/{Path(indexed[0]).name}"
    objects.upload(s3, Path(indexed[0]), cfg.processed_bucket, idx_key)
    source = steps.VcfSource(bucket=job.bucket, key=job.key, version_id=job.version_id, index_key=idx_key,
                             index_bucket=cfg.processed_bucket)
    return _ScatterSource(source, local, [idx_key], [])


def _sorted_copy(s3: Any, cfg: Config, job: Job, local: Path, scratch: Path) -> _ScatterSource:
    """Sort (and repair) into a BGZF copy, index it, upload both to tmp/ (from the download when there is one)."""
    if local.exists():
        idx_path, _, repairs = vcf.make_indexed_source(str(local), str(scratch / "sorted.vcf.gz"),
                                                       scratch, name=job.name, conformance=job.conformance)
        local.unlink()
        (scratch / "sorted.vcf.gz").rename(local)
        Path(idx_path).rename(Path(str(local) + Path(idx_path).suffix))
        idx_path = str(local) + Path(idx_path).suffix
    else:
        with _reading_input(job):
            idx_path, _, repairs = vcf.make_indexed_source("-", str(local), scratch, name=job.name,
                                                           opener=job.raw(s3).open, conformance=job.conformance)
    copy_key = f"{job.work_prefix}source/{local.name}"
    idx_key = f"{job.work_prefix}source/{Path(idx_path).name}"
    version = objects.upload(s3, local, cfg.processed_bucket, copy_key)
    objects.upload(s3, Path(idx_path), cfg.processed_bucket, idx_key)
    source = steps.VcfSource(bucket=cfg.processed_bucket, key=copy_key, version_id=version, index_key=idx_key,
                             index_bucket=cfg.processed_bucket)
    return _ScatterSource(source, local, [copy_key, idx_key], repairs)


def _plan_shards(cfg: Config, src: _ScatterSource) -> list[vcf.Shard]:
    index_key = str(src.source.index_key)
    idx = vcf.parse_tabix_index(Path(str(src.local) + "." + index_key.rsplit(".", 1)[-1]).read_bytes())

    def has_data(contig: str, beg: int, end: int) -> bool:
        return vcf.region_voffsets(idx, contig, beg, end) is not None

    return vcf.plan_shards(vcf.source_contigs(str(src.local)), cfg.scatter_region_bases, has_data,
                           cfg.scatter_max_shards)


def _scatter_plan(s3: Any, cfg: Config, job: Job, shards: list[vcf.Shard], src: _ScatterSource) -> steps.VcfPlan:
    items = [s.as_dict() for s in shards]
    groups = {str(s.index): list(s.more) for s in shards if s.more}
    where = None
    if groups:
        # The names of grouped contigs live in S3, not in the workflow's state: a draft assembly with
        # 100,000 scaffolds would otherwise overflow Step Functions' 256 KiB payload. A shard carries the
        # count and reads its names (tmp/<job>/plan/groups.json, deleted by gather).
        key = f"{job.work_prefix}plan/groups.json"
        s3.put_object(Bucket=cfg.processed_bucket, Key=key, Body=json.dumps(groups).encode(),
                      ContentType="application/json")
        for d in items:
            if "more" in d:
                d["more_count"] = len(d.pop("more"))
        where = steps.S3Pointer(bucket=cfg.processed_bucket, key=key)
    return steps.VcfPlan(mode="scatter", shards=items, source=src.source, work_prefix=job.work_prefix,
                         repairs=_brief_repairs(src.repairs), groups=where)


def _scatter_plan_of(plan: steps.VcfPlan | None) -> steps.VcfPlan:
    if plan is None or plan.mode != "scatter" or not plan.source.index_key:
        raise EventError("shard/gather need the scatter plan (event['plan'] from the plan action)")
    return plan


def _load_source(s3: Any, source: steps.VcfSource, scratch: Path) -> tuple[vcf.TabixIndex, Path]:
    """The source's index, downloaded next to where the (sparse) source copy will be."""
    idx_key = str(source.index_key)
    local = scratch / "source.vcf.gz"
    idx_local = Path(f"{local}.{idx_key.rsplit('.', 1)[-1]}")
    objects.download(s3, str(source.index_bucket), idx_key, None, idx_local)
    return vcf.parse_tabix_index(idx_local.read_bytes()), local


def _with_group(s3: Any, plan: steps.VcfPlan, item: Mapping[str, Any]) -> dict[str, Any]:
    """A shard item of the plan with the names of its grouped contigs (``more``) read back from S3."""
    out = dict(item)
    count = int(out.pop("more_count", 0) or 0)
    if not count:
        return out
    where = plan.groups
    if where is None:
        raise EventError(f"shard {out.get('index')} groups {count} contigs but the plan names no groups object")
    groups = json.loads(s3.get_object(Bucket=where.bucket, Key=where.key)["Body"].read())
    names = groups.get(str(out.get("index")))
    if not isinstance(names, list) or len(names) != count:
        raise EventError(f"shard {out.get('index')}: s3://{where.bucket}/{where.key} lists "
                         f"{len(names) if isinstance(names, list) else 'no'} grouped contigs, the plan {count}")
    out["more"] = names
    return out


def _shard_key(job: Job, index: int) -> str:
    return f"{job.work_prefix}shards/{index:05d}.vcf.gz"


@errors.aws_call()
def shard(event: Mapping[str, Any], *, s3: Any | None = None, cfg: Config | None = None) -> dict[str, Any]:
    """Process one shard of the plan: a region read of the indexed source, normalised, written to tmp/."""
    s3, cfg = _client(s3), cfg or Config.from_env()
    req = steps.ShardRequest.from_dict(event, error=EventError)
    job, p = Job.from_input(req), _scatter_plan_of(req.plan)
    try:
        sh = vcf.Shard.from_dict(_with_group(s3, p, req.shard or {}))
    except (KeyError, TypeError, ValueError) as e:
        raise EventError(f"bad shard in event: {e}") from e
    src = p.source
    with tempfile.TemporaryDirectory(prefix="vcfshard-") as td:
        scratch = Path(td)
        idx, local = _load_source(s3, src, scratch)
        with _reading_input(job):
            size = objects.head_size(s3, src.bucket, src.key, src.version_id)
            ranges = sorted({
                r
                for contig, beg, end in sh.regions()
                for r in vcf.byte_ranges_for(idx, size, contig, beg - vcf.SHARD_MARGIN, end + vcf.SHARD_MARGIN)
            })
            objects.fetch_ranges(s3, src.bucket, src.key, src.version_id, size, ranges, local)
        header = vcf.header_text(str(local))
        # A windowed reference fetch covers one region; a shard of grouped contigs fetches the FASTA.
        window = (sh.contig, sh.start, sh.end) if not sh.more else None
        ref = resolve_reference(s3, cfg, job, header, scratch, window=window)
        out = scratch / f"shard.{sh.index:05d}.vcf.gz"
        res, n = vcf.process_shard_local(str(local), sh, str(out), scratch, reference=ref.path, name=job.name)
        key = _shard_key(job, sh.index)
        objects.upload(s3, out, cfg.processed_bucket, key,
                metadata={"split": str(res.split), "realigned": str(res.realigned), "records": str(n)})
    return steps.ShardResult(index=sh.index, bucket=cfg.processed_bucket, key=key, records=n,
                             repairs=_brief_repairs(res.repairs)).to_dict()


@errors.aws_call()
def gather(event: Mapping[str, Any], *, s3: Any | None = None, cfg: Config | None = None) -> dict[str, Any]:
    """Concatenate the shards in order (naive: they never overlap), index, write the sidecar, publish."""
    s3, cfg = _client(s3), cfg or Config.from_env()
    req = steps.GatherRequest.from_dict(event, error=EventError)
    job, p = Job.from_input(req), _scatter_plan_of(req.plan)
    results = sorted(req.shards, key=lambda r: r.index)
    expected = list(range(len(p.shards)))
    if [r.index for r in results] != expected:
        raise EventError(f"gather got shards {[r.index for r in results]}, plan has {len(expected)}")
    src = p.source
    with tempfile.TemporaryDirectory(prefix="vcfgather-") as td:
        scratch = Path(td)
        idx, _ = _load_source(s3, src, scratch)
        paths: list[str] = []
        split = realigned = 0
        for r in results:
            path = scratch / f"shard.{r.index:05d}.vcf.gz"
            objects.download(s3, r.bucket, r.key, None, path)
            meta = s3.head_object(Bucket=r.bucket, Key=r.key).get("Metadata", {})
            split += int(meta.get("split", 0))
            realigned += int(meta.get("realigned", 0))
            paths.append(str(path))
        out = scratch / scratch_name(job.job_id, ".norm.vcf.gz")
        repairs = merge_repairs(p.repairs or [], *[r.repairs or [] for r in results])
        concat_argv = vcf.gather_local(paths, str(out), repairs)
        header = vcf.header_text(str(out))
        ref = resolve_reference(s3, cfg, job, header, scratch, fetch=False)
        # What each shard ran, with its region/target files as placeholders.
        shard_cmds = vcf.norm_stages("$SOURCE", "$SHARD_OUT", scratch, reference="$REFERENCE" if ref.info else None,
                                     regions_file="$REGIONS", targets_file="$TARGETS")
        processed = _finish(
            s3, cfg, job, scratch, out, records_in=idx.records(), commands=[*shard_cmds, concat_argv], ref=ref,
            mode="scatter", shards=len(results), split=split, realigned=realigned, repairs=repairs,
            conformance=job.conformance,
        )
    tmp_keys = [r.key for r in results if r.bucket == cfg.processed_bucket]
    tmp_keys.append(str(src.index_key))
    if p.groups is not None and p.groups.bucket == cfg.processed_bucket:
        tmp_keys.append(p.groups.key)
    if src.bucket == cfg.processed_bucket and src.key.startswith(job.work_prefix):
        tmp_keys.append(src.key)
    objects.delete(s3, cfg.processed_bucket, tmp_keys)
    return processed


ACTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "plan": plan,
    "process": process,
    "shard": shard,
    "gather": gather,
}


def run_action(event: Mapping[str, Any], *, s3: Any | None = None, cfg: Config | None = None) -> dict[str, Any]:
    action = event.get("action")
    if action not in ACTIONS:
        raise EventError(f"unknown action {action!r}; expected one of {sorted(ACTIONS)}")
    return ACTIONS[str(action)](event, s3=s3, cfg=cfg)


__all__ = [
    "CODES",
    "Config",
    "EventError",
    "TransientError",
    "gather",
    "plan",
    "process",
    "resolve_reference",
    "run_action",
    "shard",
]
