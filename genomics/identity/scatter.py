"""Sample identity on scattered alignment QC (genomics.qc.scatter_service): the same findings as a single
pass. Each shard calls the panel's sites on its own contigs (mpileup over its sparse BAM copy, with a
sparse copy of the reference holding only those contigs: genomics.qc.sparse); gather merges the codes
(:func:`genomics.identity.fingerprint.merge_codes`: a site's genotype depends only on the reads over it,
all in the shard holding its contig), compares them with the project's fingerprints, infers the sex
from X and the index's Y/X read density, and stores the fingerprint — exactly what single-pass QC does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from genomics import references
from genomics.identity import fingerprint as fp
from genomics.identity import service as identity_service
from genomics.qc import sparse

Aws = Callable[[Callable[[], Any], str], Any]
_MISSING = ("404", "NoSuchKey", "NotFound")


def panel_assembly(inp: Mapping[str, Any]) -> str:
    return os.environ.get("IDENTITY_PANEL_ASSEMBLY", "") or str(inp.get("assembly") or "")


def shard_reference(s3: Any, reference_uri: str, assembly: str | None, contigs: Sequence[str], folder: Path,
                    aws: Aws) -> str | None:
    """A sparse copy of the reference holding ``contigs``' sequence (by its .fai, and its .gzi when
    BGZF-compressed); the whole FASTA when those indexes are not beside it; None without a reference."""
    loc = references.location(reference_uri, assembly)
    if loc is None:
        return None
    bucket, key = loc
    folder.mkdir(parents=True, exist_ok=True)
    local = folder / Path(key).name
    try:
        fai = aws(lambda: s3.get_object(Bucket=bucket, Key=key + ".fai")["Body"].read(), f"S3 GetObject {key}.fai")
        gzi = (aws(lambda: s3.get_object(Bucket=bucket, Key=key + ".gzi")["Body"].read(), f"S3 GetObject {key}.gzi")
               if key.endswith(".gz") else None)
        size = int(aws(lambda: s3.head_object(Bucket=bucket, Key=key)["ContentLength"], f"S3 HeadObject {key}"))
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in _MISSING:
            raise
        return references.fetch(s3, reference_uri, assembly, folder)  # whole, or REF_NOT_FOUND
    plain = sparse.fai_ranges(fai.decode(), contigs)
    ranges = (sparse.compressed_ranges(plain, sparse.gzi_blocks(gzi), size) if gzi is not None
              else [[a, min(b, size)] for a, b in plain])
    sparse.fetch(s3, {"bucket": bucket, "key": key}, ranges, size, local, aws)
    Path(str(local) + ".fai").write_bytes(fai)
    if gzi is not None:
        Path(str(local) + ".gzi").write_bytes(gzi)
    return str(local)


def shard_fingerprint(s3: Any, inp: Mapping[str, Any], contigs: Sequence[str], bam: str, scratch: Path,
                      aws: Aws, reference: str | None = None) -> dict[str, str] | None:
    """The shard's codes (``{"panel", "codes"}``, encoded), ``{"error"}`` when they cannot be called, or
    None when the stack has no identity panel (or the shard holds no contig: unplaced reads). ``reference``:
    the shard's sparse reference when it already has one (a CRAM shard decodes with it)."""
    panel_uri = os.environ.get("IDENTITY_PANEL_URI", "")
    reference_uri = os.environ.get("REFERENCE_URI", "")
    if not panel_uri or not contigs:
        return None
    if not reference_uri:
        return {"error": "no reference configured; alignments are genotyped with mpileup"}
    folder = scratch / "panel"
    folder.mkdir(exist_ok=True)
    try:
        panel = identity_service.fetch_panel(s3, panel_uri, panel_assembly(inp), folder, aws)
        if not any(s.chrom in set(contigs) for s in panel.sites):
            return {"panel": panel.digest, "codes": fp.encode("." * len(panel.sites))}
        reference = reference or shard_reference(s3, reference_uri, inp.get("assembly"), contigs,
                                                 scratch / "fp-ref", aws)
        if reference is None:
            return {"error": f"no reference FASTA for assembly {inp.get('assembly')!r}"}
        codes = fp.fingerprint_alignment(bam, panel, reference, contigs)
    except fp.IdentityError as e:
        return {"error": str(e)}
    return {"panel": panel.digest, "codes": fp.encode(codes)}


def gather(docs: Sequence[Mapping[str, Any]], *, s3: Any, dynamodb: Any, table: str, scratch: Path, aws: Aws,
           inp: Mapping[str, Any], project: str, sample_id: str, job_id: str, y_x_density: float | None
           ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """(identity result, fingerprint item, note) from the shards' documents, as single-pass QC makes them."""
    panel_uri = os.environ.get("IDENTITY_PANEL_URI", "")
    if not panel_uri:
        return None, None, None
    failed = [f"shard {d['index']}: {d['fingerprint']['error']}" for d in docs
              if (d.get("fingerprint") or {}).get("error")]
    if failed:
        return None, None, f"identity: not checked ({failed[0]})"
    parts = [d["fingerprint"] for d in docs if d.get("fingerprint")]
    if not parts:
        return None, None, "identity: not checked (no shard holds a contig)"
    folder = scratch / "panel"
    folder.mkdir(exist_ok=True)
    try:
        panel = identity_service.fetch_panel(s3, panel_uri, panel_assembly(inp), folder, aws)
        if any(p["panel"] != panel.digest for p in parts):
            return None, None, "identity: not checked (the panel changed while the shards ran)"
        codes = fp.merge_codes([fp.decode(p["codes"]) for p in parts])
    except fp.IdentityError as e:
        return None, None, f"identity: not checked ({e})"
    sha256 = str(inp["sha256"])
    identity, item = identity_service.check(
        panel=panel, project=project, sample_id=sample_id, job_id=job_id, sha256=sha256,
        result_id=str(inp.get("result_id") or sha256), kind="alignment", codes=codes,
        declared_sex=str(inp["sex"]) if inp.get("sex") else None, dynamodb=dynamodb, table=table, aws=aws,
        y_x_density=y_x_density)
    return identity, item, None
