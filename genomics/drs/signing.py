"""Manifest signatures: ECDSA P-256 over SHA-256, DER-encoded, verifiable with ``openssl dgst``.

What is signed is the manifest's checksum file, ``MANIFEST-<id>.json.sha256`` (one ``sha256sum`` line:
``<hex digest>  MANIFEST-<id>.json``), as release files are signed (SHA256SUMS + its signature): it is a
few dozen bytes whatever the delivery's size, so KMS signs it whole (``MessageType=RAW``, at most 4 KiB),
and a partner checks both with standard tools::

    openssl dgst -sha256 -verify platform-signing.pem -signature MANIFEST-<id>.json.sha256.sig \
        MANIFEST-<id>.json.sha256
    sha256sum -c MANIFEST-<id>.json.sha256

In AWS the key is the stack's asymmetric KMS key (``ECC_NIST_P256``, usage SIGN_VERIFY, alias
``alias/<prefix>-manifest-signing``): ``kms:Sign`` with ``ECDSA_SHA_256``; the private half never leaves
KMS. In local mode (or offline) a PEM private key file signs the same way. Both hand out the public key as
a PEM ``SubjectPublicKeyInfo`` that partners keep.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ALGORITHM = "ECDSA_SHA_256"
MAX_SIGNED = 4096  # kms:Sign's limit for a RAW message


def checksum_line(digest: str, name: str) -> bytes:
    """The signed statement: one ``sha256sum`` line."""
    return f"{digest}  {name}\n".encode()

CODES: dict[str, str] = {
    "DELIVERY_SIGNATURE_INVALID": "the manifest's signature does not verify with the platform's public key: "
    "the manifest or its signature was altered (do not use the delivery; ask the operators)",
}


class SignatureInvalid(ValueError):
    code = "DELIVERY_SIGNATURE_INVALID"


class Signer(Protocol):
    key_id: str

    def sign(self, data: bytes) -> bytes: ...

    def public_key_pem(self) -> str: ...


def _pem(der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


@dataclass
class KmsSigner:
    """The stack's KMS signing key (``key_id``: its ARN or alias)."""

    kms: Any
    key_id: str

    def sign(self, data: bytes) -> bytes:
        if len(data) > MAX_SIGNED:
            raise ValueError(f"KMS signs at most {MAX_SIGNED} bytes whole; sign the checksum file, not the manifest")
        resp = self.kms.sign(KeyId=self.key_id, Message=data, MessageType="RAW", SigningAlgorithm=ALGORITHM)
        return bytes(resp["Signature"])

    def public_key_pem(self) -> str:
        return _pem(bytes(self.kms.get_public_key(KeyId=self.key_id)["PublicKey"]))


@dataclass
class LocalSigner:
    """A P-256 private key in a PEM file (created on first use, mode 0600)."""

    path: Path
    key_id: str = ""

    def _key(self) -> Any:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            self.path.touch(mode=0o600)
            self.path.write_bytes(pem)
        return serialization.load_pem_private_key(self.path.read_bytes(), password=None)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.key_id:
            self.key_id = f"local:{self.path.name}"

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return bytes(self._key().sign(data, ec.ECDSA(hashes.SHA256())))

    def public_key_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self._key().public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def verify(public_key_pem: str, data: bytes, signature: bytes) -> None:
    """Raise :class:`SignatureInvalid` unless ``signature`` is the key's ECDSA-SHA256 signature of ``data``
    (what a partner does with openssl; here for tests and ``genomics partner verify``)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureInvalid("the platform's public key is not an elliptic-curve key")
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as e:
        raise SignatureInvalid("the manifest's signature does not verify with the platform's public key") from e
