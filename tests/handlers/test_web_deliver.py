"""Delivering from the web app on moto: web-api checks the steward role, the project membership, the chosen
samples (QC-passed only) and the partner on the server, records the delivery ``queued`` and invokes web-tasks;
web-tasks encrypts the samples for the partner's Crypt4GH key and signs the manifest with the stack's KMS key;
the steward follows it to the manifest and the partner's users see and download it."""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
import pytest
import requests

from genomics.drs.crypt import fingerprint
from genomics.drs.partners import Partners
from genomics.drs.signing import KmsSigner, verify
from genomics.webapp.members import Members
from genomics.webapp.tasks import TaskInvalid
from handlers import web_api, web_tasks
from tests.handlers.test_delivery import EUR, make_job
from tests.handlers.test_partner_delivery import _decrypt, _keypair
from tests.handlers.test_web_api import _call, _event, _sample

PARTNER = "initech"
ROUTE = "POST /api/projects/{project}/deliveries"


@pytest.fixture
def world(stack, monkeypatch) -> dict[str, Any]:
    """Project pA with one QC-passed VCF sample (S1) and one still running (S2); a registered partner with a
    user; the stack's signing key; stewards of pA (sam) and of pB (tess), a researcher of pA (alice)."""
    members = Members(stack.names.table("metadata"), stack.ledger.client)
    for user, project in (("alice", "pA"), ("sam", "pA"), ("tess", "pB")):
        members.add(user, project=project)
    members.add("ini-1", partner=PARTNER)
    secret, public = _keypair()
    Partners(stack.ledger).add(PARTNER, public, fingerprint(public), actor="test")
    kms = boto3.client("kms")
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=stack.names.signing_key_alias, TargetKeyId=key)
    job = make_job(stack, monkeypatch, "pA/S1/EUR_test.vcf.gz", EUR.read_bytes(), "vcf", assay="cohort")
    assert job["status"] == "COMPLETED" and job["eligible_for_delivery"] is True
    _sample(stack, "pA", "S2")
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(web_api, "start_task", started.append)
    return {"secret": secret, "public": public, "job": job, "started": started, "kms": kms}


def _steward(stack, monkeypatch, route: str, path: dict[str, str], body: Any = None, user: str = "sam",
             groups: str = "[steward]") -> tuple[int, Any]:
    return _call(stack, monkeypatch, _event(route, path, body, user=user, groups=groups, sub=f"sub-{user}"))


def _run_task(stack, monkeypatch, task: dict[str, Any]) -> dict[str, Any]:
    for k, v in stack.env("web-tasks").items():
        monkeypatch.setenv(k, v)
    return web_tasks.handler(task, stack.context("web-tasks"))


def test_web_deliver_lists_qc_passed_samples_and_partners(stack, monkeypatch, world) -> None:
    status, body = _steward(stack, monkeypatch, "GET /api/projects/{project}/deliveries", {"project": "pA"})
    assert status == 200, body
    assert [s["sample_id"] for s in body["samples"]] == ["S1"]
    assert [w["sample_id"] for w in body["withheld"]] == ["S2"] and body["withheld"][0]["reason"]
    assert body["partners"] == [PARTNER] and body["deliveries"] == []


def test_web_deliver_steward_delivers_and_the_partner_downloads(stack, monkeypatch, world) -> None:
    status, body = _steward(stack, monkeypatch, ROUTE, {"project": "pA"}, {"partner": PARTNER, "samples": ["S1"]})
    assert status == 200 and body["status"] == "queued", body
    delivery_id = body["delivery_id"]
    assert world["started"] == [{"task": "deliver", "project": "pA", "partner": PARTNER, "samples": ["S1"],
                                 "delivery_id": delivery_id, "actor": "web:sam"}]
    one = "GET /api/projects/{project}/deliveries/{delivery_id}"
    path = {"project": "pA", "delivery_id": delivery_id}
    status, queued = _steward(stack, monkeypatch, one, path)
    assert status == 200 and queued["status"] == "queued" and queued["manifest"] is None, queued

    result = _run_task(stack, monkeypatch, world["started"][0])
    assert result["status"] == "complete" and result["delivered"] == ["S1"], result

    status, done = _steward(stack, monkeypatch, one, path)
    assert status == 200 and done["status"] == "complete", done
    manifest = done["manifest"]
    assert manifest["encryption"]["recipient_key_fingerprint"] == fingerprint(world["public"])
    assert [e["sample_id"] for e in manifest["delivered"]] == ["S1"]
    # the links the page shows: the manifest, its checksum line and that line's KMS signature
    blobs = {name: requests.get(link["url"], timeout=10).content for name, link in done["links"].items()}
    assert hashlib.sha256(blobs["manifest"]).hexdigest() == done["manifest_sha256"]
    verify(KmsSigner(world["kms"], stack.names.signing_key_alias).public_key_pem(), blobs["checksum"],
           blobs["signature"])
    assert blobs["checksum"].decode().split()[0] == done["manifest_sha256"]

    # the partner's user sees the delivery and downloads the encrypted VCF; it decrypts to the processed one
    status, partner = _call(stack, monkeypatch, _event("GET /api/partner/deliveries", user="ini-1",
                                                       groups="[partner]"))
    assert status == 200 and [d["delivery_id"] for d in partner["deliveries"]] == [delivery_id], partner
    vcf = next(f for f in partner["deliveries"][0]["files"] if f["name"].endswith(".vcf.gz.c4gh"))
    plain = _decrypt(world["secret"], requests.get(vcf["url"], timeout=10).content)
    processed = boto3.client("s3").get_object(Bucket=stack.names.bucket("processed"),
                                              Key=world["job"]["outputs"]["vcf_key"])["Body"].read()
    assert plain == processed


def test_web_deliver_needs_a_steward_of_the_project(stack, monkeypatch, world) -> None:
    body = {"partner": PARTNER, "samples": ["S1"]}
    for user, groups in (("alice", "[researcher]"), ("tess", "[steward]")):  # researcher; steward of pB
        status, answer = _steward(stack, monkeypatch, ROUTE, {"project": "pA"}, body, user=user, groups=groups)
        assert status == 403 and answer["error"]["code"] == "WEB_FORBIDDEN", (user, answer)
        status, answer = _steward(stack, monkeypatch, "GET /api/projects/{project}/deliveries", {"project": "pA"},
                                  user=user, groups=groups)
        assert status == 403, (user, answer)
    assert world["started"] == []


def test_web_deliver_only_qc_passed_samples_and_registered_partners(stack, monkeypatch, world) -> None:
    cases = (
        ({"partner": PARTNER, "samples": ["S1", "S2"]}, 409, "WEB_SAMPLE_NOT_DELIVERABLE", "S2"),
        ({"partner": PARTNER, "samples": ["nope"]}, 409, "WEB_SAMPLE_NOT_DELIVERABLE", "no such sample"),
        ({"partner": "globex", "samples": ["S1"]}, 409, "WEB_PARTNER_UNKNOWN", "genomics partner add globex"),
        ({"partner": "Bad Name", "samples": ["S1"]}, 400, "WEB_BAD_REQUEST", "partner"),
        ({"partner": PARTNER, "samples": []}, 400, "WEB_BAD_REQUEST", "samples"),
        ({"partner": PARTNER, "samples": ["../x"]}, 400, "WEB_BAD_REQUEST", "samples"),
    )
    for body, code, error, says in cases:
        status, answer = _steward(stack, monkeypatch, ROUTE, {"project": "pA"}, body)
        assert (status, answer["error"]["code"]) == (code, error) and says in answer["error"]["message"], answer
    assert world["started"] == []


def test_web_tasks_deliver_records_a_permanent_failure_without_retrying(stack, monkeypatch, world) -> None:
    task = {"task": "deliver", "project": "pA", "partner": "globex", "samples": ["S1"],
            "delivery_id": "20260101T000000Z-abcdef", "actor": "web:sam"}
    result = _run_task(stack, monkeypatch, task)
    assert result == {"delivery_id": task["delivery_id"], "status": "failed", "code": "PARTNER_UNKNOWN"}
    status, answer = _steward(stack, monkeypatch, "GET /api/projects/{project}/deliveries/{delivery_id}",
                              {"project": "pA", "delivery_id": task["delivery_id"]})
    assert status == 200 and answer["status"] == "failed" and answer["error"]["code"] == "PARTNER_UNKNOWN"
    for bad in ({**task, "samples": "S1"}, {**task, "partner": "../x"}, {**task, "actor": "cli"},
                {**task, "delivery_id": "a/b"}):
        with pytest.raises(TaskInvalid, match="WEB_TASK_INVALID"):
            _run_task(stack, monkeypatch, bad)


def test_web_deliver_routes_are_declared_for_api_gateway() -> None:
    from genomics.webapp.api import ROUTES, match_route

    assert match_route("POST", "/api/projects/p1/deliveries") == (ROUTE, {"project": "p1"})
    assert match_route("GET", "/api/projects/p1/deliveries/d-1") == (
        "GET /api/projects/{project}/deliveries/{delivery_id}", {"project": "p1", "delivery_id": "d-1"})
    assert {"GET /api/projects/{project}/deliveries", ROUTE} <= set(ROUTES)


def test_web_tasks_deliver_without_crypt4gh_fails_with_a_code(stack, monkeypatch, world) -> None:
    """The handler image does not carry Crypt4GH (the delivery extra): the delivery is recorded failed with
    WEB_DELIVERY_UNAVAILABLE, not retried, and nothing is written to the partner's prefix."""
    import sys

    monkeypatch.setitem(sys.modules, "crypt4gh.lib", None)  # import fails as it does where it is not installed
    task = {"task": "deliver", "project": "pA", "partner": PARTNER, "samples": ["S1"],
            "delivery_id": "20260101T000000Z-c4gh00", "actor": "web:sam"}
    assert _run_task(stack, monkeypatch, task)["code"] == "WEB_DELIVERY_UNAVAILABLE"
    status, answer = _steward(stack, monkeypatch, "GET /api/projects/{project}/deliveries/{delivery_id}",
                              {"project": "pA", "delivery_id": task["delivery_id"]})
    assert status == 200 and answer["status"] == "failed" and answer["error"]["code"] == "WEB_DELIVERY_UNAVAILABLE"
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.names.bucket("delivery"), Prefix=f"partners/{PARTNER}/")
    assert listed.get("KeyCount", 0) == 0
