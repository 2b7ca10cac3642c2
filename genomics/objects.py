"""S3 objects to and from local files, streamed in chunks (never a whole body in memory).

Shared by the functions that move whole files or byte ranges between S3 and scratch space; callers
translate AWS failures at their own boundary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

CHUNK = 1 << 20
# How S3 says an object (or version) is not there.
MISSING_CODES = ("404", "NoSuchKey", "NotFound")


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


def exists(s3: Any, bucket: str, key: str) -> bool:
    """The object exists (HeadObject); other errors (access, throttling) raise."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in MISSING_CODES:
            return False
        raise
    return True


def download(s3: Any, bucket: str, key: str, version_id: str | None, path: Path) -> None:
    """The object (version) into ``path``."""
    body = s3.get_object(Bucket=bucket, Key=key, **_version(version_id))["Body"]
    with open(path, "wb") as fh:
        for chunk in body.iter_chunks(CHUNK):
            fh.write(chunk)


def fetch_ranges(
    s3: Any, bucket: str, key: str, version_id: str | None, size: int, ranges: list[tuple[int, int]], path: Path
) -> int:
    """A sparse local copy of an object holding only ``ranges`` ([a, b) byte offsets). Returns bytes fetched."""
    fetched = 0
    with open(path, "wb") as fh:
        fh.truncate(size)
        for a, b in ranges:
            if b <= a:
                continue
            body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={a}-{b - 1}", **_version(version_id))["Body"]
            fh.seek(a)
            for chunk in body.iter_chunks(CHUNK):
                fh.write(chunk)
                fetched += len(chunk)
    return fetched


def head_size(s3: Any, bucket: str, key: str, version_id: str | None) -> int:
    return int(s3.head_object(Bucket=bucket, Key=key, **_version(version_id))["ContentLength"])


def upload(s3: Any, path: Path, bucket: str, key: str, metadata: dict[str, str] | None = None) -> str | None:
    """``path`` to ``s3://bucket/key``; returns the new version id (None when unversioned)."""
    extra: dict[str, Any] = {"Metadata": metadata} if metadata else {}
    with open(path, "rb") as fh:
        s3.upload_fileobj(fh, bucket, key, ExtraArgs=extra or None)
    head = s3.head_object(Bucket=bucket, Key=key)
    return head.get("VersionId")


def delete(s3: Any, bucket: str, keys: list[str]) -> None:
    """Delete ``keys`` in batches of 1,000 (DeleteObjects' limit)."""
    for i in range(0, len(keys), 1000):
        batch = keys[i : i + 1000]
        if batch:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
