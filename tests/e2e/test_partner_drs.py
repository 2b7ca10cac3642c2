"""A partner's round trip on moto server: the operator registers the partner's Crypt4GH key and delivers
(encrypted, manifest signed by the stack's KMS key); the partner, through the deployed status-api function's
DRS routes (invoked as API Gateway invokes it for an assumed partner role), lists its deliveries, downloads
the manifest, its checksum line and signature and the encrypted VCF over presigned HTTP URLs, verifies the
signature and the checksums, decrypts with its private key (the crypt4gh command), and acknowledges receipt.
The ledger then shows the delivery acknowledged, in the CLI and in the status API.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from crypt4gh.keys import c4gh

from genomics.cli import main as cli_main
from genomics.drs.signing import SignatureInvalid, verify
from genomics.local.demo import EUR_VCF, Upload, api_call, run_uploads
from tests.localcloud import deployed

PARTNER = "acme"
PASSPHRASE = "partner-secret"


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    """One real VCF through the pipeline, the partner registered, the project delivered."""
    work = tmp_path_factory.mktemp("partner")
    with deployed("drs") as (cloud, stack):
        (row,) = run_uploads(stack, [Upload(EUR_VCF, "EUR_chr21", assay="cohort")], timeout_s=600)
        assert row["status"] == "COMPLETED", row
        # the partner's key pair, as `crypt4gh-keygen --sk acme.sec --pk acme.pub` writes it
        c4gh.generate(str(work / "acme.sec"), str(work / "acme.pub"), PASSPHRASE.encode(), None)
        yield {"cloud": cloud, "stack": stack, "row": row, "work": work}


def _cli(capsys, delivered, *argv: str) -> Any:
    stack, cloud = delivered["stack"], delivered["cloud"]
    capsys.readouterr()  # drop what the in-process functions logged before
    code = cli_main([*argv, "--stack", stack.names.stack, "--endpoint-url", cloud.endpoint])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def partner_call(names, route_key: str, path: dict[str, str] | None = None, body: Any = None,
                 partner: str = PARTNER) -> tuple[int, Any]:
    """Invoke the deployed status-api function as API Gateway does for a request signed by the partner's
    assumed role (the IAM authorizer puts the caller's ARN in the request context)."""
    from genomics.status_api import gateway_event

    event = gateway_event(route_key, path)
    event["requestContext"]["authorizer"] = {"iam": {
        "userArn": f"arn:aws:sts::210987654321:assumed-role/{names.partner_role(partner)}/session"}}
    if body is not None:
        event["body"] = json.dumps(body)
    resp = boto3.client("lambda").invoke(FunctionName=names.function("status-api"), Payload=json.dumps(event))
    out = json.loads(resp["Payload"].read())
    assert "statusCode" in out, out
    return int(out["statusCode"]), json.loads(out["body"])


def _download(names, object_id: str) -> bytes:
    """DRS: the object, then its access URL, then the bytes over plain HTTP (no AWS credentials)."""
    code, obj = partner_call(names, "GET /ga4gh/drs/v1/objects/{object_id}", {"object_id": object_id})
    assert code == 200, obj
    access_id = obj["access_methods"][0]["access_id"]
    code, access = partner_call(names, "GET /ga4gh/drs/v1/objects/{object_id}/access/{access_id}",
                                {"object_id": object_id, "access_id": access_id})
    assert code == 200, access
    with urllib.request.urlopen(access["url"], timeout=30) as resp:
        data = resp.read()
    assert len(data) == obj["size"]
    assert hashlib.sha256(data).hexdigest() == obj["checksums"][0]["checksum"]
    return data


def test_e2e_partner_round_trip(delivered, capsys, tmp_path):
    stack, work, row = delivered["stack"], delivered["work"], delivered["row"]
    names = stack.names
    added = json.loads(_cli(capsys, delivered, "partner", "add", PARTNER, "--pubkey", str(work / "acme.pub")))
    assert added["partner"] == PARTNER and len(added["key_fingerprint"]) == 16
    out = json.loads(_cli(capsys, delivered, "deliver", "demo", "--partner", PARTNER))
    assert out["status"] == "complete" and out["encrypted"] is True
    platform_pem = _cli(capsys, delivered, "partner", "signing-key")
    assert platform_pem.startswith("-----BEGIN PUBLIC KEY-----")

    # --- the partner's side: DRS only, nothing but HTTP and its own keys
    code, info = partner_call(names, "GET /ga4gh/drs/v1/service-info")
    assert code == 200 and info["type"]["artifact"] == "drs"
    code, listing = partner_call(names, "GET /partner/deliveries")
    assert code == 200
    (d,) = listing["deliveries"]
    manifest_bytes = _download(names, d["manifest_drs_id"])
    checksum_line = _download(names, d["checksum_drs_id"])
    signature = _download(names, d["signature_drs_id"])
    verify(platform_pem, checksum_line, signature)
    with pytest.raises(SignatureInvalid):
        verify(platform_pem, checksum_line.replace(b"  ", b" *"), signature)
    digest, name = checksum_line.decode().split()
    assert digest == hashlib.sha256(manifest_bytes).hexdigest() and name == f"MANIFEST-{d['delivery_id']}.json"
    # ... and exactly as docs/partners.md tells the partner to, with openssl and sha256sum
    (tmp_path / "platform-signing.pem").write_text(platform_pem)
    (tmp_path / name).write_bytes(manifest_bytes)
    (tmp_path / f"{name}.sha256").write_bytes(checksum_line)
    (tmp_path / f"{name}.sha256.sig").write_bytes(signature)
    subprocess.run(["openssl", "dgst", "-sha256", "-verify", "platform-signing.pem", "-signature",
                    f"{name}.sha256.sig", f"{name}.sha256"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(["sha256sum", "-c", f"{name}.sha256"], cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / name).write_bytes(manifest_bytes + b" ")
    assert subprocess.run(["sha256sum", "-c", f"{name}.sha256"], cwd=tmp_path, capture_output=True).returncode != 0
    manifest = json.loads(manifest_bytes)
    objects = [o for e in manifest["delivered"] for o in e["objects"]]
    assert {o["sample_id"] for o in objects} == {"EUR_chr21"}
    vcf = next(o for o in objects if o["role"] == "vcf")
    encrypted = _download(names, vcf["drs_id"])
    assert hashlib.sha256(encrypted).hexdigest() == vcf["encrypted_sha256"]
    (tmp_path / "x.vcf.gz.c4gh").write_bytes(encrypted)
    crypt4gh = Path(sys.executable).with_name("crypt4gh")
    with open(tmp_path / "x.vcf.gz.c4gh", "rb") as src, open(tmp_path / "x.vcf.gz", "wb") as dst:
        subprocess.run([str(crypt4gh), "decrypt", "--sk", str(work / "acme.sec")], stdin=src, stdout=dst,
                       check=True, env={**os.environ, "C4GH_PASSPHRASE": PASSPHRASE})
    plain = (tmp_path / "x.vcf.gz").read_bytes()
    assert hashlib.sha256(plain).hexdigest() == vcf["sha256"] and len(plain) == vcf["size"]
    processed = boto3.client("s3").get_object(Bucket=names.bucket("processed"), Key=row["outputs"]["vcf_key"])
    assert plain == processed["Body"].read()
    records = subprocess.run(["bcftools", "view", "-H", str(tmp_path / "x.vcf.gz")], capture_output=True,
                             check=True, text=True).stdout.splitlines()
    assert len(records) > 1000
    code, ack = partner_call(names, "POST /partner/deliveries/{delivery_id}/receipt",
                             {"delivery_id": d["delivery_id"]}, {"manifest_sha256": digest})
    assert code == 200 and ack["state"] == "acknowledged"

    # --- another partner sees nothing of it
    code, err = partner_call(names, "GET /ga4gh/drs/v1/objects/{object_id}", {"object_id": vcf["drs_id"]},
                             partner="globex")
    assert code == 404 and err["error"]["code"] == "DRS_NOT_FOUND"

    # --- the operators see the receipt: CLI and status API
    (view,) = json.loads(_cli(capsys, delivered, "partner", "deliveries", PARTNER))
    assert view["state"] == "acknowledged" and view["objects"]["acknowledged"] == len(objects) + 3
    code, project = api_call(names, "GET /projects/{project}", {"project": "demo"})
    assert code == 200
    (rec,) = [x for x in project["deliveries"] if x.get("encrypted")]
    assert rec["receipt"]["state"] == "acknowledged"
