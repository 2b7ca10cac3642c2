"""Crypt4GH stream encryption from S3 to S3: any size, never whole in memory.

The source's streaming body is read in Crypt4GH's 64 KiB segments, each segment is encrypted
(ChaCha20-Poly1305, one session key per object, the header sealed for the partner's X25519 key) and the
ciphertext goes to an S3 multipart upload in parts of ``part_size`` bytes. Memory holds one part. The
SHA-256 and size of the plain and of the encrypted bytes are computed on the way through.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from typing import Any

CODES: dict[str, str] = {
    "PARTNER_KEY_INVALID": "the partner's public key is not a Crypt4GH public key (a file from crypt4gh-keygen: "
    "'-----BEGIN CRYPT4GH PUBLIC KEY-----', 32 bytes base64, '-----END CRYPT4GH PUBLIC KEY-----')",
}

MIB = 1024 * 1024
PART_SIZE = 64 * MIB  # S3 parts (>= 5 MiB); grown for large objects so no upload needs more than 9,000
MAX_PARTS = 9_000


class PartnerKeyError(ValueError):
    code = "PARTNER_KEY_INVALID"


def parse_public_key(text: str | bytes) -> bytes:
    """The 32-byte X25519 key of a Crypt4GH public key file (what ``crypt4gh-keygen`` writes)."""
    raw = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
    if (len(lines) < 3 or lines[0] != "-----BEGIN CRYPT4GH PUBLIC KEY-----"
            or lines[-1] != "-----END CRYPT4GH PUBLIC KEY-----"):
        raise PartnerKeyError("not a Crypt4GH public key file: expected the lines '-----BEGIN CRYPT4GH PUBLIC "
                              "KEY-----', the key in base64, '-----END CRYPT4GH PUBLIC KEY-----'")
    try:
        key = base64.b64decode("".join(lines[1:-1]), validate=True)
    except binascii.Error as e:
        raise PartnerKeyError(f"the key is not base64: {e}") from e
    if len(key) != 32:
        raise PartnerKeyError(f"a Crypt4GH (X25519) public key is 32 bytes; this one is {len(key)}")
    return key


def public_key_pem(key: bytes) -> str:
    return ("-----BEGIN CRYPT4GH PUBLIC KEY-----\n" + base64.b64encode(key).decode()
            + "\n-----END CRYPT4GH PUBLIC KEY-----\n")


def fingerprint(key: bytes) -> str:
    """A short, stable name of a public key (SHA-256 of its 32 bytes, first 16 hex digits)."""
    return hashlib.sha256(key).hexdigest()[:16]


def part_size_for(size: int, minimum: int = PART_SIZE) -> int:
    """Part size for an object of ``size`` bytes: ``minimum`` or more, so that it needs <= MAX_PARTS parts
    (the ciphertext is 28 bytes per 64 KiB longer than the plain text, plus a header: 1 % headroom)."""
    needed = -(-(size + size // 100 + MIB) // MAX_PARTS)
    return max(minimum, -(-needed // MIB) * MIB)


class _HashingReader:
    """A file-like reader over a botocore streaming body: ``readinto`` fills the buffer (Crypt4GH ends the
    stream at the first short segment), hashing and counting what it hands out."""

    def __init__(self, body: Any) -> None:
        self.body = body
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readinto(self, buffer: bytearray) -> int:
        view = memoryview(buffer)
        filled = 0
        while filled < len(buffer):
            chunk = self.body.read(len(buffer) - filled)
            if not chunk:
                break
            view[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
        self.sha256.update(view[:filled])
        self.size += filled
        return filled


class _MultipartWriter:
    """A file-like writer that uploads what it is given as S3 multipart parts of ``part_size`` bytes."""

    def __init__(self, s3: Any, bucket: str, key: str, part_size: int, create_args: dict[str, Any]) -> None:
        self.s3, self.bucket, self.key, self.part_size = s3, bucket, key, part_size
        self.upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create_args)["UploadId"]
        self.buffer = bytearray()
        self.parts: list[dict[str, Any]] = []
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.buffer += data
        self.sha256.update(data)
        self.size += len(data)
        while len(self.buffer) >= self.part_size:
            self._flush(bytes(self.buffer[:self.part_size]))
            del self.buffer[:self.part_size]
        return len(data)

    def _flush(self, body: bytes) -> None:
        number = len(self.parts) + 1
        resp = self.s3.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number,
                                   Body=body)
        self.parts.append({"PartNumber": number, "ETag": resp["ETag"]})

    def close(self) -> str:
        if self.buffer or not self.parts:
            self._flush(bytes(self.buffer))
            self.buffer.clear()
        resp = self.s3.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                                 MultipartUpload={"Parts": self.parts})
        return str(resp.get("ETag", "")).strip('"')

    def abort(self) -> None:
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


@dataclass(frozen=True)
class Encrypted:
    plain_sha256: str
    plain_size: int
    encrypted_sha256: str
    encrypted_size: int
    etag: str


def encrypt_object(s3: Any, *, source: dict[str, Any], bucket: str, key: str, recipient: bytes,
                   metadata: dict[str, str] | None = None, part_size: int | None = None,
                   size_hint: int = 0) -> Encrypted:
    """Encrypt ``source`` (``{"Bucket", "Key"[, "VersionId"]}``) for ``recipient`` (a 32-byte Crypt4GH
    public key) into ``s3://bucket/key``. The sender key is ephemeral (one per object): the partner
    decrypts with its private key alone. On any failure the multipart upload is aborted."""
    from crypt4gh import lib  # operator-side dependency (see the package docstring)

    body = s3.get_object(**source)["Body"]
    reader = _HashingReader(body)
    writer = _MultipartWriter(s3, bucket, key, part_size or part_size_for(size_hint),
                              {"ContentType": "application/octet-stream", "Metadata": dict(metadata or {})})
    try:
        lib.encrypt([(0, os.urandom(32), recipient)], reader, writer)
        etag = writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        body.close()
    return Encrypted(reader.sha256.hexdigest(), reader.size, writer.sha256.hexdigest(), writer.size, etag)
