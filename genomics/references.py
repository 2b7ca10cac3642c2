"""Reference FASTAs for CRAM decoding and left-alignment, from the stack's ``REFERENCE_URI``.

``REFERENCE_URI`` is either one FASTA for every upload (``s3://bucket/refs/GRCh38.fa``) or a prefix
holding one FASTA per assembly (``s3://bucket/refs`` -> ``refs/<assembly>.fa``, the assembly named by
the upload's ``x-amz-meta-assembly``). The ``.fai`` (and ``.gzi``) beside the FASTA are fetched when
present; samtools/bcftools build a missing ``.fai`` in the scratch folder themselves.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from genomics.errors import UserInputError, aws_call

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")
# What an assembly's FASTA is called under a REFERENCE_URI prefix: <prefix>/<assembly>.fa
FASTA_SUFFIX = ".fa"


def assembly_key(prefix: str, assembly: str) -> str:
    """The key of ``assembly``'s FASTA under ``prefix`` (no leading slash when the prefix is empty)."""
    return f"{prefix.strip('/')}/{assembly}{FASTA_SUFFIX}".lstrip("/")


class ReferenceError_(UserInputError):
    code = "REF_NOT_FOUND"


CODES: dict[str, str] = {
    "REF_URI_INVALID": "REFERENCE_URI must be s3://bucket/key.fa (one reference) or s3://bucket/prefix (per assembly).",
    "REF_NOT_FOUND": "No reference FASTA exists at the configured location for the upload's assembly.",
}


def location(reference_uri: str, assembly: str | None) -> tuple[str, str] | None:
    """(bucket, key) of the FASTA to use, or None when no reference applies."""
    if not reference_uri:
        return None
    if not reference_uri.startswith("s3://"):
        raise ReferenceError_(f"REFERENCE_URI={reference_uri!r} is not an s3:// URI", code="REF_URI_INVALID")
    bucket, _, rest = reference_uri[5:].partition("/")
    if not bucket:
        raise ReferenceError_(f"REFERENCE_URI={reference_uri!r} names no bucket", code="REF_URI_INVALID")
    if rest.endswith(FASTA_SUFFIXES):
        return bucket, rest
    if not assembly:
        return None
    return bucket, assembly_key(rest, assembly)


def fetch(s3: Any, reference_uri: str, assembly: str | None, folder: str | Path) -> str | None:
    """Download the FASTA (and its indexes when present) into ``folder``; its local path, or None."""
    loc = location(reference_uri, assembly)
    if loc is None:
        return None
    bucket, key = loc
    os.makedirs(folder, exist_ok=True)
    local = Path(folder) / Path(key).name
    if not local.exists():
        missing = ReferenceError_(
            f"no reference FASTA at s3://{bucket}/{key} (assembly {assembly!r}); upload it there or "
            f"set x-amz-meta-assembly to an assembly the stack has",
            location=f"s3://{bucket}/{key}",
        )
        with aws_call(permanent=lambda _e: missing):
            s3.download_file(bucket, key, str(local) + ".part")
        os.replace(str(local) + ".part", local)
    for suffix in (".fai", ".gzi"):
        index = Path(str(local) + suffix)
        if not index.exists():
            with contextlib.suppress(ClientError):
                s3.download_file(bucket, key + suffix, str(index))
    return str(local)
