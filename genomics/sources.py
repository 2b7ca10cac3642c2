"""Where bytes come from: a local file or an S3 object version, opened as a fresh stream each time.

Validators and processors take a :class:`ByteSource`, so the same code reads a file on disk (CLI) and
an object in S3 (handlers) without ever holding the whole content in memory.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from genomics.errors import aws_call


class ByteSource(Protocol):
    """Something that can be read from the start as a binary stream, any number of times."""

    @property
    def name(self) -> str:
        """What to call it in messages: a path or ``s3://bucket/key``."""
        ...

    def open(self) -> BinaryIO:
        """A new binary stream positioned at the first byte. The caller closes it."""
        ...

    def size(self) -> int | None:
        """Size in bytes when known."""
        ...


@dataclass(frozen=True)
class LocalFile:
    path: str

    @property
    def name(self) -> str:
        return self.path

    def open(self) -> BinaryIO:
        return open(self.path, "rb")

    def size(self) -> int | None:
        return os.path.getsize(self.path)


class _S3Stream(io.RawIOBase):
    """A readable raw stream over a botocore StreamingBody (adds readinto for BufferedReader). A read that
    times out or breaks mid-body is a transient AWS failure (TransientError), never an unreadable file:
    botocore's ReadTimeoutError is an OSError, which the validators report as the file's fault."""

    def __init__(self, body: Any, name: str = "") -> None:
        self._body = body
        self._what = f"S3 GetObject {name}".rstrip()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with aws_call(self._what):
            data = self._body.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        try:
            self._body.close()
        finally:
            super().close()


@dataclass(frozen=True)
class S3Object:
    """One version of an S3 object. ``client`` is a boto3 S3 client."""

    client: Any
    bucket: str
    key: str
    version_id: str | None = None
    known_size: int | None = None

    @property
    def name(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def _version(self) -> dict[str, str]:
        return {"VersionId": self.version_id} if self.version_id else {}

    def open(self) -> BinaryIO:
        with aws_call("S3 GetObject"):
            resp = self.client.get_object(Bucket=self.bucket, Key=self.key, **self._version())
        return io.BufferedReader(_S3Stream(resp["Body"], self.name), buffer_size=1 << 20)  # type: ignore[return-value]

    def size(self) -> int | None:
        if self.known_size is not None:
            return self.known_size
        with aws_call("S3 HeadObject"):
            head = self.client.head_object(Bucket=self.bucket, Key=self.key, **self._version())
        return int(head["ContentLength"])


class _HashingReader(io.RawIOBase):
    def __init__(self, inner: BinaryIO, owner: HashingSource) -> None:
        self._inner = inner
        self._owner = owner
        self._hash = hashlib.sha256()
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n:
            self._hash.update(data)
            self._count += n
        else:
            self._owner._record(self._hash.hexdigest(), self._count)
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


@dataclass
class HashingSource:
    """Wraps a source so that the first stream read to its end yields the content's SHA-256.

    Validation reads most files to the end anyway; this saves a second pass over S3 for the checksum.
    ``sha256()`` falls back to a dedicated pass when no stream reached the end.
    """

    inner: ByteSource
    digest: str | None = None
    length: int | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    def open(self) -> BinaryIO:
        return io.BufferedReader(_HashingReader(self.inner.open(), self), buffer_size=1 << 20)  # type: ignore[return-value]

    def size(self) -> int | None:
        return self.inner.size()

    def _record(self, digest: str, length: int) -> None:
        if self.digest is None:
            self.digest, self.length = digest, length

    def sha256(self) -> str:
        if self.digest is None:
            with self.open() as fh:
                while fh.read(1 << 20):
                    pass
        assert self.digest is not None
        return self.digest
