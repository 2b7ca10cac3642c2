"""Encrypted partner delivery on moto: Crypt4GH stream encryption to S3 multipart, a manifest signed with
an asymmetric KMS key (moto's KMS signs and verifies), the DRS routes of the status-api function and the
partner's receipt.

The jobs are real (tests.handlers.test_delivery.make_job runs the workflow's cores on real files); the
partner's key pair is made here as crypt4gh-keygen makes one, and decryption uses crypt4gh's own library.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import urllib.parse
from typing import Any

import boto3
import pytest
from crypt4gh import lib
from crypt4gh.keys import c4gh

from genomics.delivery import Encryption, Transfer, deliver
from genomics.drs.crypt import PartnerKeyError, encrypt_object, fingerprint, parse_public_key, public_key_pem
from genomics.drs.partners import Partners
from genomics.drs.signing import KmsSigner, LocalSigner, SignatureInvalid, verify
from genomics.drs.state import ACKNOWLEDGED, DELIVERED, DOWNLOADED
from handlers import status_api
from tests.handlers.test_delivery import CORPUS, EUR, PROJECT, make_job

PARTNER = "acme"


def _keypair() -> tuple[bytes, bytes]:
    """A Crypt4GH key pair (X25519), as crypt4gh-keygen derives the public half."""
    from crypt4gh import sodium

    sk = os.urandom(32)
    return sk, sodium.derive_pk(sk)


def _decrypt(secret: bytes, data: bytes) -> bytes:
    out = io.BytesIO()
    lib.decrypt([(0, secret, None)], io.BytesIO(data), out)
    return out.getvalue()


@pytest.fixture
def signer() -> KmsSigner:
    kms = boto3.client("kms")
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    return KmsSigner(kms, key)


@pytest.fixture
def delivered(stack, monkeypatch, signer) -> dict[str, Any]:
    """A VCF and a FASTQ job delivered encrypted to a registered partner."""
    secret, public = _keypair()
    partners = Partners(stack.ledger)
    partners.add(PARTNER, public, fingerprint(public), actor="test")
    jobs = {
        "V1": make_job(stack, monkeypatch, f"{PROJECT}/V1/EUR_test.vcf.gz", EUR.read_bytes(), "vcf", assay="cohort"),
        "F1": make_job(stack, monkeypatch, f"{PROJECT}/F1/r1.fq", (CORPUS / "fastq/htslib/r1.fq").read_bytes(),
                       "fastq"),
    }
    enc = Encryption(partners.public_key(PARTNER), fingerprint(public), signer, partners)
    out = deliver(stack.ledger, boto3.client("s3"), project=PROJECT, partner=PARTNER,
                  delivery_bucket=stack.names.bucket("delivery"), processed_bucket=stack.names.bucket("processed"),
                  delivery_id="d1", manifest_interval=0.0, encryption=enc)
    return {"out": out, "secret": secret, "public": public, "jobs": jobs, "partners": partners, "enc": enc}


def _call(stack, monkeypatch, route: str, path: dict[str, str] | None = None, body: Any = None,
          partner: str = PARTNER) -> tuple[int, Any]:
    """Invoke the status-api handler as API Gateway does for an assumed partner role."""
    for k, v in stack.env("status-api").items():
        monkeypatch.setenv(k, v)
    method, template = route.split(" ", 1)
    raw = template
    for k, v in (path or {}).items():
        raw = raw.replace("{" + k + "}", v)
    role = f"{stack.names.prefix}-partner-{partner}"
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": route, "rawPath": raw, "headers": {"host": "drs.example.org"},
        "requestContext": {"http": {"method": method, "path": raw}, "requestId": "r1", "routeKey": route,
                           "domainName": "drs.example.org",
                           "authorizer": {"iam": {"userArn": f"arn:aws:sts::210987654321:assumed-role/{role}/s"}}},
        "isBase64Encoded": False, "pathParameters": path or {},
    }
    if body is not None:
        event["body"] = json.dumps(body)
    resp = status_api.handler(event, stack.context("status-api"))
    return resp["statusCode"], json.loads(resp["body"])


def _fetch(url: str) -> bytes:
    """Fetch a presigned URL (in-process moto answers boto3's requests, so read it back through boto3)."""
    parsed = urllib.parse.urlparse(url)
    bucket, key = parsed.path.lstrip("/").split("/", 1) if parsed.netloc.startswith("s3.") else (
        parsed.netloc.split(".")[0], parsed.path.lstrip("/"))
    return boto3.client("s3").get_object(Bucket=bucket, Key=urllib.parse.unquote(key))["Body"].read()


def test_partner_delivery_encrypts_signs_and_lists_checksums(stack, delivered, signer):
    out, secret = delivered["out"], delivered["secret"]
    s3 = boto3.client("s3")
    bucket = stack.names.bucket("delivery")
    body = s3.get_object(Bucket=bucket, Key=out["manifest_key"])["Body"].read()
    manifest = json.loads(body)
    assert manifest["status"] == "complete" and manifest["encryption"]["format"] == "crypt4gh"
    assert hashlib.sha256(body).hexdigest() == out["manifest_sha256"]
    statement = s3.get_object(Bucket=bucket, Key=out["checksum_key"])["Body"].read()
    assert statement == f"{out['manifest_sha256']}  {out['manifest_key'].rsplit('/', 1)[1]}\n".encode()
    signature = s3.get_object(Bucket=bucket, Key=out["signature_key"])["Body"].read()
    verify(signer.public_key_pem(), statement, signature)
    with pytest.raises(SignatureInvalid):
        verify(signer.public_key_pem(), statement.replace(out["manifest_sha256"][:4].encode(), b"0000"), signature)
    objects = [o for e in manifest["delivered"] for o in e["objects"]]
    assert {o["sample_id"] for o in objects} == {"V1", "F1"}
    assert any(o["role"] == "vcf" for o in objects)
    for o in objects:
        assert o["key"].endswith(".c4gh")
        encrypted = s3.get_object(Bucket=bucket, Key=o["key"])["Body"].read()
        assert hashlib.sha256(encrypted).hexdigest() == o["encrypted_sha256"] and len(encrypted) == o["encrypted_size"]
        src_bucket, src_key = o["source"][5:].split("/", 1)
        plain = s3.get_object(Bucket=src_bucket, Key=src_key)["Body"].read()
        assert encrypted[:8] == b"crypt4gh" and plain not in encrypted
        assert _decrypt(secret, encrypted) == plain
        assert hashlib.sha256(plain).hexdigest() == o["sha256"] and len(plain) == o["size"]
    # nothing in clear under the partner's prefix but the manifest and its signature
    keys = {k["Key"] for k in s3.list_objects_v2(Bucket=bucket, Prefix=f"partners/{PARTNER}/")["Contents"]}
    assert all(k.endswith(".c4gh") or "/MANIFEST-" in k for k in keys)


def test_partner_delivery_multipart_any_size(stack, signer):
    """A 13 MiB object crosses three 5 MiB parts: the ciphertext round-trips and no part is over-size."""
    secret, public = _keypair()
    s3 = boto3.client("s3")
    data = os.urandom(13 * 1024 * 1024 + 12345)
    src = stack.names.bucket("processed")
    s3.put_object(Bucket=src, Key="processed/big.bin", Body=data)
    out = encrypt_object(s3, source={"Bucket": src, "Key": "processed/big.bin"}, bucket=stack.names.bucket("delivery"),
                         key="partners/x/big.bin.c4gh", recipient=public, part_size=5 * 1024 * 1024)
    assert out.plain_size == len(data) and out.plain_sha256 == hashlib.sha256(data).hexdigest()
    enc = s3.get_object(Bucket=stack.names.bucket("delivery"), Key="partners/x/big.bin.c4gh")
    assert enc["ETag"].strip('"').endswith("-3")  # three parts
    blob = enc["Body"].read()
    assert hashlib.sha256(blob).hexdigest() == out.encrypted_sha256
    assert _decrypt(secret, blob) == data


def test_partner_delivery_resume_reencrypts_only_changed(stack, monkeypatch, delivered):
    """Run again under the same id: every object is already there for the same source and key."""
    again = deliver(stack.ledger, boto3.client("s3"), project=PROJECT, partner=PARTNER,
                    delivery_bucket=stack.names.bucket("delivery"), processed_bucket=stack.names.bucket("processed"),
                    delivery_id="d1", manifest_interval=0.0, encryption=delivered["enc"], transfer=Transfer())
    assert again["run"]["copied"] == 0 and again["run"]["skipped"] > 0


def test_drs_routes_download_decrypt_acknowledge(stack, monkeypatch, delivered):
    out, secret = delivered["out"], delivered["secret"]
    status, info = _call(stack, monkeypatch, "GET /ga4gh/drs/v1/service-info")
    assert status == 200 and info["type"] == {"group": "org.ga4gh", "artifact": "drs", "version": "1.2.0"}
    status, listing = _call(stack, monkeypatch, "GET /partner/deliveries")
    assert status == 200
    (d,) = listing["deliveries"]
    assert d["delivery_id"] == "d1" and d["state"] == DELIVERED and d["objects"][DELIVERED] > 2
    status, mobj = _call(stack, monkeypatch, "GET /ga4gh/drs/v1/objects/{object_id}",
                         {"object_id": d["manifest_drs_id"]})
    assert status == 200 and mobj["self_uri"] == f"drs://drs.example.org/{d['manifest_drs_id']}"
    status, access = _call(stack, monkeypatch, "GET /ga4gh/drs/v1/objects/{object_id}/access/{access_id}",
                           {"object_id": d["manifest_drs_id"], "access_id": mobj["access_methods"][0]["access_id"]})
    assert status == 200
    manifest_bytes = _fetch(access["url"])
    assert hashlib.sha256(manifest_bytes).hexdigest() == mobj["checksums"][0]["checksum"]
    manifest = json.loads(manifest_bytes)
    vcf = next(o for e in manifest["delivered"] for o in e["objects"] if o["role"] == "vcf")
    status, vobj = _call(stack, monkeypatch, "GET /ga4gh/drs/v1/objects/{object_id}", {"object_id": vcf["drs_id"]})
    assert vobj["checksums"] == [{"type": "sha-256", "checksum": vcf["encrypted_sha256"]}]
    _, access = _call(stack, monkeypatch, "GET /ga4gh/drs/v1/objects/{object_id}/access/{access_id}",
                      {"object_id": vcf["drs_id"], "access_id": "https"})
    blob = _fetch(access["url"])
    assert hashlib.sha256(_decrypt(secret, blob)).hexdigest() == vcf["sha256"]
    assert delivered["partners"].object(PARTNER, vcf["drs_id"])["state"] == DOWNLOADED
    # another partner sees none of it
    status, err = _call(stack, monkeypatch, "GET /ga4gh/drs/v1/objects/{object_id}", {"object_id": vcf["drs_id"]},
                        partner="other")
    assert status == 404 and err["error"]["code"] == "DRS_NOT_FOUND"
    # a wrong digest is refused; the right one acknowledges every object
    status, err = _call(stack, monkeypatch, "POST /partner/deliveries/{delivery_id}/receipt", {"delivery_id": "d1"},
                        {"manifest_sha256": "0" * 64})
    assert status == 409 and err["error"]["code"] == "DELIVERY_DIGEST_MISMATCH"
    status, ack = _call(stack, monkeypatch, "POST /partner/deliveries/{delivery_id}/receipt", {"delivery_id": "d1"},
                        {"manifest_sha256": out["manifest_sha256"]})
    assert status == 200 and ack["state"] == ACKNOWLEDGED
    assert set(ack["objects"]) >= {ACKNOWLEDGED} and ack["objects"][ACKNOWLEDGED] == sum(ack["objects"].values())


def test_drs_refuses_callers_that_are_not_partner_roles(stack, monkeypatch, delivered):
    for k, v in stack.env("status-api").items():
        monkeypatch.setenv(k, v)
    event = {"routeKey": "GET /partner/deliveries", "requestContext": {"authorizer": {"iam": {
        "userArn": "arn:aws:iam::123456789012:user/alice"}}}}
    resp = status_api.handler(event, stack.context("status-api"))
    assert resp["statusCode"] == 403 and json.loads(resp["body"])["error"]["code"] == "DRS_FORBIDDEN"


def test_partner_key_parsing(tmp_path):
    _secret, public = _keypair()
    c4gh.generate(str(tmp_path / "k.sec"), str(tmp_path / "k.pub"), b"pw", None)  # crypt4gh-keygen's format
    assert len(parse_public_key((tmp_path / "k.pub").read_text())) == 32
    assert parse_public_key(public_key_pem(public)) == public
    with pytest.raises(PartnerKeyError):
        parse_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(PartnerKeyError):
        parse_public_key(public_key_pem(public + b"x"))


def test_local_signer_signature_verifies(tmp_path):
    signer = LocalSigner(tmp_path / "signing.pem")
    data = b'{"a": 1}'
    verify(signer.public_key_pem(), data, signer.sign(data))
    assert (tmp_path / "signing.pem").stat().st_mode & 0o077 == 0
    with pytest.raises(SignatureInvalid):
        verify(signer.public_key_pem(), b'{"a": 2}', signer.sign(data))


def test_sweeper_counts_unacknowledged_deliveries_until_acknowledged(stack, monkeypatch, delivered):
    from handlers import sweeper as sweeper_handler

    for k, v in stack.env("sweeper").items():
        monkeypatch.setenv(k, v)
    out = sweeper_handler.handler({}, stack.context("sweeper"))
    assert out["deliveries_unacknowledged"] == []  # delivered just now: within DELIVERY_ACK_DAYS (14)
    monkeypatch.setenv("DELIVERY_ACK_DAYS", "0")
    out = sweeper_handler.handler({}, stack.context("sweeper"))
    assert [(d["partner"], d["delivery_id"]) for d in out["deliveries_unacknowledged"]] == [(PARTNER, "d1")]
    delivered["partners"].acknowledge(PARTNER, "d1", delivered["out"]["manifest_sha256"])
    assert sweeper_handler.handler({}, stack.context("sweeper"))["deliveries_unacknowledged"] == []


def test_forget_drops_the_samples_drs_objects(stack, monkeypatch, delivered):
    from genomics.erasure import forget

    manifest = json.loads(boto3.client("s3").get_object(Bucket=stack.names.bucket("delivery"),
                                                        Key=delivered["out"]["manifest_key"])["Body"].read())
    ids = {e["sample_id"]: [o["drs_id"] for o in e["objects"]] for e in manifest["delivered"]}
    forget(stack.ledger, boto3.client("s3"), stack.names, "V1", actor="test", reason="REQ-1")
    for object_id in ids["V1"]:
        status, err = _call(stack, monkeypatch, "GET /ga4gh/drs/v1/objects/{object_id}", {"object_id": object_id})
        assert status == 404 and err["error"]["code"] == "DRS_NOT_FOUND"
    status, _ = _call(stack, monkeypatch, "GET /ga4gh/drs/v1/objects/{object_id}", {"object_id": ids["F1"][0]})
    assert status == 200


def test_partner_functions_need_nothing_outside_the_image():
    """The handler image has no crypt4gh/cryptography (operator-side extra): the functions serving DRS and
    counting receipts must not import them."""
    import subprocess
    import sys

    code = ("import sys, handlers.status_api, handlers.sweeper; "
            "print(sorted(m for m in ('crypt4gh', 'cryptography', 'bcrypt') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
