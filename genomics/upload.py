"""`genomics upload`: a multipart upload to the raw bucket with a SHA-256 per part and of the whole file,
a progress bar, and resume after an interruption.

The file's SHA-256 is computed first (streamed) and stored as object metadata (``x-amz-meta-sha256``,
beside ``assay`` and ``validation-profile``); the pipeline records the SHA-256 of what it read, and
``genomics status`` shows both. Each part is sent with ``ChecksumAlgorithm=SHA256`` so S3 refuses a part
corrupted in transit. The upload id and the file's identity (path, size, mtime, SHA-256) are kept in a
state file under ``~/.cache/genomics/uploads/``; running the same upload again lists the parts S3 already
holds (ListParts) and sends only the missing ones. A file of one part (at most 8 MiB) is a single
PutObject with its SHA-256 instead. Part size: 8 MiB, grown so that no file needs more than 10,000 parts
(the web app uses the same rule).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from genomics.webapp.api import PART_SIZE_MIN, part_size

CHUNK = 4 * 1024 * 1024
STATE_DIR = Path(os.environ.get("GENOMICS_UPLOAD_STATE", Path.home() / ".cache" / "genomics" / "uploads"))


def sha256_of(path: str, progress: Callable[[int], None] | None = None) -> str:
    sha = hashlib.sha256()
    done = 0
    with open(path, "rb") as fh:
        while buf := fh.read(CHUNK):
            sha.update(buf)
            done += len(buf)
            if progress:
                progress(done)
    return sha.hexdigest()


@dataclass
class Progress:
    """A one-line progress bar on a terminal (``\\r``-redrawn), else a line every 25%."""

    label: str
    total: int
    out: IO[str] = sys.stderr
    width: int = 30
    _last: float = -1.0

    def __call__(self, done: int) -> None:
        out = self.out or sys.stderr
        frac = 1.0 if self.total == 0 else min(1.0, done / self.total)
        if out.isatty():
            if frac < 1.0 and frac - self._last < 0.005:
                return
            bar = "#" * int(frac * self.width)
            out.write(f"\r{self.label} [{bar:<{self.width}}] {frac * 100:5.1f}% "
                      f"{done / 2**20:.1f}/{self.total / 2**20:.1f} MiB")
            if frac >= 1.0:
                out.write("\n")
            out.flush()
            self._last = frac


def _state_file(bucket: str, key: str) -> Path:
    return STATE_DIR / (hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:32] + ".json")


def _listed_parts(s3: Any, bucket: str, key: str, upload_id: str) -> dict[int, dict[str, Any]]:
    parts: dict[int, dict[str, Any]] = {}
    marker = 0
    while True:
        resp = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)
        for p in resp.get("Parts", []):
            parts[int(p["PartNumber"])] = p
        if not resp.get("IsTruncated"):
            return parts
        marker = int(resp["NextPartNumberMarker"])


def upload(s3: Any, path: str, bucket: str, key: str, metadata: dict[str, str], *,
           out: IO[str] | None = None) -> dict[str, Any]:
    """Upload ``path`` to ``s3://bucket/key`` (resuming an interrupted upload of the same file)."""
    st = os.stat(path)
    size = st.st_size
    sha = sha256_of(path, Progress(f"SHA-256 {os.path.basename(path)}", size, out))
    if size <= PART_SIZE_MIN:  # one part: a single PutObject with its SHA-256 (nothing to resume)
        with open(path, "rb") as fh:
            data = fh.read()
        resp = s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata={**metadata, "sha256": sha},
                             ChecksumSHA256=base64.b64encode(bytes.fromhex(sha)).decode())
        Progress(f"upload {os.path.basename(path)}", size, out)(size)
        return {"uri": f"s3://{bucket}/{key}", "version_id": resp.get("VersionId"), "sha256": sha, "size": size,
                "parts": 1, "resumed": False}
    identity = {"bucket": bucket, "key": key, "path": os.path.abspath(path), "size": size,
                "mtime_ns": st.st_mtime_ns, "sha256": sha}
    state_path = _state_file(bucket, key)
    done: dict[int, dict[str, Any]] = {}
    upload_id = None
    resumed = False
    if state_path.exists():
        saved = json.loads(state_path.read_text())
        if {k: saved.get(k) for k in identity} == identity:
            try:
                done = _listed_parts(s3, bucket, key, saved["upload_id"])
                upload_id, resumed = saved["upload_id"], True
            except s3.exceptions.NoSuchUpload:
                done = {}
    if upload_id is None:
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256",
                                               Metadata={**metadata, "sha256": sha})["UploadId"]
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps({**identity, "upload_id": upload_id, "started": time.time()}))
        os.chmod(state_path, 0o600)
    psize = part_size(size)
    count = max(1, math.ceil(size / psize))
    bar = Progress(f"upload {os.path.basename(path)}", size, out)
    sent = sum(min(psize, size - (n - 1) * psize) for n in done if n <= count)
    bar(sent)
    with open(path, "rb") as fh:
        for n in range(1, count + 1):
            length = min(psize, size - (n - 1) * psize)
            if n in done and int(done[n].get("Size", -1)) == length:
                continue
            fh.seek((n - 1) * psize)
            data = fh.read(length)
            digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
            resp = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=data,
                                  ChecksumAlgorithm="SHA256", ChecksumSHA256=digest)
            done[n] = {"PartNumber": n, "ETag": resp["ETag"], "ChecksumSHA256": resp.get("ChecksumSHA256", digest)}
            sent += length
            bar(sent)
    parts = [{"PartNumber": n, "ETag": done[n]["ETag"],
              **({"ChecksumSHA256": done[n]["ChecksumSHA256"]} if done[n].get("ChecksumSHA256") else {})}
             for n in range(1, count + 1)]
    resp = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                        MultipartUpload={"Parts": parts})
    state_path.unlink(missing_ok=True)
    return {"uri": f"s3://{bucket}/{key}", "version_id": resp.get("VersionId"), "sha256": sha, "size": size,
            "parts": count, "resumed": resumed}
