"""web-api on moto: membership on every route, uploads through presigned multipart URLs (resumed), the
pipeline's checksum equal to the browser's, presigned downloads of one object for <= 15 minutes."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from genomics.ledger import ObjectRef
from genomics.webapp.api import PART_SIZE_MIN, ROUTES, match_route
from genomics.webapp.members import MemberNameError, Members
from handlers import validation_handler, web_api
from tests.handlers.conftest import s3_event

EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")


def _event(route_key: str, path: dict[str, str] | None = None, body: Any = None, *, user: str | None = "alice",
           groups: str = "[researcher]", sub: str = "sub-1", token_use: str = "access",
           query: dict[str, str] | None = None) -> dict[str, Any]:
    """The event API Gateway hands the function after its JWT authorizer verified the token (array claims
    arrive as "[a b]")."""
    ctx: dict[str, Any] = {"http": {"method": route_key.split(" ")[0]}, "requestId": "r1", "routeKey": route_key}
    if user is not None:
        ctx["authorizer"] = {"jwt": {"claims": {"sub": sub, "username": user, "cognito:groups": groups,
                                                "token_use": token_use}, "scopes": None}}
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "requestContext": ctx,
                             "pathParameters": path or {}, "isBase64Encoded": False}
    if body is not None:
        event["body"] = json.dumps(body)
    if query:
        event["queryStringParameters"] = query
    return event


def _call(stack, monkeypatch, event: dict) -> tuple[int, Any]:
    for k, v in stack.env("web-api").items():
        monkeypatch.setenv(k, v)
    resp = web_api.handler(event, stack.context("web-api"))
    return resp["statusCode"], json.loads(resp["body"])


@pytest.fixture
def members(stack) -> Members:
    m = Members(stack.names.table("metadata"), stack.ledger.client)
    m.add("alice", project="pA")
    m.add("bob", project="pB")
    m.add("sam", project="pA")
    return m


def _sample(stack, project: str, sample: str, *, outputs: dict | None = None) -> str:
    ref = ObjectRef(stack.names.bucket("raw"), f"{project}/{sample}/x.vcf.gz", "v1", '"e"', 10)
    job_id = ref.job_id()
    stack.ledger.record_file(ref, project=project, sample_id=sample, job_id=job_id, attributes={"sha256": "ab" * 32})
    stack.ledger.create_job(ref, job_id=job_id, project=project, sample_id=sample, actor="test")
    if outputs:
        stack.ledger.update_job(job_id, {"outputs": outputs})
    return job_id


def test_members_add_list_remove(stack, members: Members) -> None:
    assert members.projects_of("alice") == ["pA"]
    assert members.is_member("alice", "pA") and not members.is_member("alice", "pB")
    assert [m["username"] for m in members.members_of(project="pA")] == ["alice", "sam"]
    members.remove("alice", project="pA")
    assert not members.is_member("alice", "pA")
    assert [m["username"] for m in members.members_of(project="pA")] == ["sam"]
    members.add("acme-1", partner="acme")
    assert members.partners_of("acme-1") == ["acme"] and members.projects_of("acme-1") == []
    with pytest.raises(MemberNameError):
        members.add("alice", project="../pB")


def _fill(route: str, project: str, job_id: str) -> tuple[dict[str, str], Any]:
    values = {"project": project, "sample_id": "sB", "job_id": job_id, "username": "mallory",
              "delivery_id": "20260101T000000Z-abcdef"}
    path = {name: values[name] for name in re.findall(r"{(\w+)}", route)}
    body = ({"sample_id": "sB", "file": "x.vcf", "assay": "wgs", "sha256": "0" * 64, "size": 1,
             "upload_id": "u", "parts": [1]} if route.startswith("POST") else None)
    return path, body


@pytest.mark.parametrize("route", sorted(r for r in ROUTES if "{project}" in r))
def test_web_api_every_project_route_forbids_non_members(stack, monkeypatch, members, route: str) -> None:
    job_b = _sample(stack, "pB", "sB", outputs={"vcf_key": "processed/pB/sB/x.vcf.gz"})
    path, body = _fill(route, "pB", job_b)
    # alice (project A) with every group: still 403 for project B, whatever the route
    status, answer = _call(stack, monkeypatch, _event(route, path, body,
                                                      groups="[researcher steward operator technician]"))
    assert status == 403 and answer["error"]["code"] == "WEB_FORBIDDEN", (route, answer)


def test_web_api_sample_or_job_of_another_project_is_not_found(stack, monkeypatch, members) -> None:
    job_b = _sample(stack, "pB", "sB", outputs={"vcf_key": "processed/pB/sB/x.vcf.gz"})
    _sample(stack, "pA", "sA")
    for route, path in (
        ("GET /api/projects/{project}/samples/{sample_id}", {"project": "pA", "sample_id": "sB"}),
        ("GET /api/projects/{project}/samples/{sample_id}/qc", {"project": "pA", "sample_id": "sB"}),
        ("GET /api/projects/{project}/jobs/{job_id}", {"project": "pA", "job_id": job_b}),
        ("GET /api/projects/{project}/jobs/{job_id}/downloads", {"project": "pA", "job_id": job_b}),
    ):
        status, answer = _call(stack, monkeypatch, _event(route, path))
        assert status == 404 and "pB" not in json.dumps(answer), (route, answer)
    status, answer = _call(stack, monkeypatch, _event("GET /api/projects/{project}", {"project": "pA"}))
    assert status == 200 and answer["samples"] == ["sA"], answer
    status, me = _call(stack, monkeypatch, _event("GET /api/me"))
    assert me["projects"] == ["pA"] and me["groups"] == ["researcher"], me


def test_web_api_without_verified_claims_is_401(stack, monkeypatch, members) -> None:
    status, answer = _call(stack, monkeypatch, _event("GET /api/me", user=None))
    assert status == 401 and answer["error"]["code"] == "WEB_UNAUTHENTICATED"
    status, answer = _call(stack, monkeypatch, _event("GET /api/me", token_use="id"))
    assert status == 401, answer


def test_web_api_partner_sees_no_project(stack, monkeypatch, members) -> None:
    members.add("acme-1", project="pA")  # even a stray membership does not open a project to a partner
    status, answer = _call(stack, monkeypatch, _event("GET /api/projects/{project}", {"project": "pA"},
                                                      user="acme-1", groups="[partner]"))
    assert status == 403, answer


def test_web_api_only_stewards_manage_members(stack, monkeypatch, members) -> None:
    route = "PUT /api/projects/{project}/members/{username}"
    status, _ = _call(stack, monkeypatch, _event(route, {"project": "pA", "username": "carol"}))
    assert status == 403
    status, answer = _call(stack, monkeypatch, _event(route, {"project": "pA", "username": "carol"},
                                                      user="sam", groups="[steward]"))
    assert status == 200 and "carol" in [m["username"] for m in answer["members"]], answer
    assert members.is_member("carol", "pA")
    status, _ = _call(stack, monkeypatch, _event("DELETE /api/projects/{project}/members/{username}",
                                                 {"project": "pA", "username": "carol"}, user="sam",
                                                 groups="[steward]"))
    assert status == 200 and not members.is_member("carol", "pA")


def _presigned_ttl(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])


def test_web_api_upload_resumes_and_pipeline_records_the_browsers_checksum(stack, monkeypatch, members) -> None:
    body = EUR.read_bytes()  # a real BGZF VCF (one part)
    big = b"##fileformat=VCFv4.2\n" + b"#" * (PART_SIZE_MIN + 1024 * 1024)  # two parts
    route_start, route_parts, route_done = (f"POST /api/projects/{{project}}/uploads{s}"
                                            for s in ("", "/parts", "/complete"))
    sha = hashlib.sha256(big).hexdigest()
    spec = {"sample_id": "S1", "file": "big.txt", "assay": "wgs", "sha256": sha, "size": len(big)}
    status, up = _call(stack, monkeypatch, _event(route_start, {"project": "pA"}, spec))
    assert status == 200 and up["key"] == "pA/S1/big.txt" and up["parts"] == 2 and up["done"] == [], up
    status, urls = _call(stack, monkeypatch, _event(route_parts, {"project": "pA"},
                                                    {**spec, "upload_id": up["upload_id"], "parts": [1]}))
    assert status == 200 and _presigned_ttl(urls["urls"]["1"]) <= 900
    assert requests.put(urls["urls"]["1"], data=big[:up["part_size"]], timeout=30).status_code == 200
    # the connection drops; the browser starts again with the upload id it kept: part 1 is there
    status, again = _call(stack, monkeypatch, _event(route_start, {"project": "pA"},
                                                     {**spec, "resume_upload_id": up["upload_id"]}))
    assert again["resumed"] and [p["part"] for p in again["done"]] == [1], again
    status, urls = _call(stack, monkeypatch, _event(route_parts, {"project": "pA"},
                                                    {**spec, "upload_id": up["upload_id"], "parts": [2]}))
    assert requests.put(urls["urls"]["2"], data=big[up["part_size"]:], timeout=30).status_code == 200
    status, done = _call(stack, monkeypatch, _event(route_done, {"project": "pA"},
                                                    {**spec, "upload_id": up["upload_id"], "parts": 2}))
    assert status == 200, done
    obj = boto3.client("s3").get_object(Bucket=stack.names.bucket("raw"), Key="pA/S1/big.txt")
    assert obj["Body"].read() == big and obj["Metadata"]["sha256"] == sha and obj["Metadata"]["assay"] == "wgs"

    # a real VCF in one part; the validation handler records its SHA-256: the same as the browser's
    vcf_sha = hashlib.sha256(body).hexdigest()
    spec = {"sample_id": "S2", "file": "EUR_test.vcf.gz", "assay": "wgs", "sha256": vcf_sha, "size": len(body)}
    _, up = _call(stack, monkeypatch, _event(route_start, {"project": "pA"}, spec))
    _, urls = _call(stack, monkeypatch, _event(route_parts, {"project": "pA"},
                                               {**spec, "upload_id": up["upload_id"], "parts": [1]}))
    assert requests.put(urls["urls"]["1"], data=body, timeout=30).status_code == 200
    _, done = _call(stack, monkeypatch, _event(route_done, {"project": "pA"},
                                               {**spec, "upload_id": up["upload_id"], "parts": 1}))
    for k, v in stack.env("validation-handler").items():
        monkeypatch.setenv(k, v)
    validation_handler.handler(s3_event(stack.names.bucket("raw"), done["key"], done["version_id"], len(body)),
                               stack.context("validation-handler"))
    status, sample = _call(stack, monkeypatch, _event("GET /api/projects/{project}/samples/{sample_id}",
                                                      {"project": "pA", "sample_id": "S2"}))
    assert status == 200 and [f["sha256"] for f in sample["files"]] == [vcf_sha], sample


@pytest.mark.parametrize("bad", [
    {"sample_id": "../pB"}, {"file": "../x.vcf"}, {"file": "a//b"}, {"assay": "nonsense"},
    {"sha256": "xyz"}, {"size": -1},
])
def test_web_api_upload_fields_are_validated_and_the_key_built_on_the_server(stack, monkeypatch, members,
                                                                              bad) -> None:
    spec = {"sample_id": "S1", "file": "a.vcf", "assay": "wgs", "sha256": "0" * 64, "size": 5, **bad}
    status, answer = _call(stack, monkeypatch, _event("POST /api/projects/{project}/uploads", {"project": "pA"},
                                                      spec, groups="[technician]"))
    assert status == 400 and answer["error"]["code"] == "WEB_BAD_REQUEST", answer
    uploads = boto3.client("s3").list_multipart_uploads(Bucket=stack.names.bucket("raw")).get("Uploads", [])
    assert uploads == []


def test_web_api_upload_needs_an_uploading_group(stack, monkeypatch, members) -> None:
    spec = {"sample_id": "S1", "file": "a.vcf", "assay": "wgs", "sha256": "0" * 64, "size": 5}
    status, _ = _call(stack, monkeypatch, _event("POST /api/projects/{project}/uploads", {"project": "pA"},
                                                 spec, groups="[operator]"))
    assert status == 403


def test_web_api_downloads_are_presigned_for_one_object_and_at_most_15_minutes(stack, monkeypatch, members) -> None:
    s3 = boto3.client("s3")
    processed = stack.names.bucket("processed")
    outputs = {"vcf_key": "processed/pA/sA/x.norm.vcf.gz", "index_key": "processed/pA/sA/x.norm.vcf.gz.tbi",
               "sidecar_key": "processed/pA/sA/x.json"}
    for key in outputs.values():
        s3.put_object(Bucket=processed, Key=key, Body=key.encode())
    job_id = _sample(stack, "pA", "sA", outputs=outputs)
    status, answer = _call(stack, monkeypatch, _event("GET /api/projects/{project}/jobs/{job_id}/downloads",
                                                      {"project": "pA", "job_id": job_id}))
    assert status == 200 and {f["kind"] for f in answer["files"]} == {"vcf", "index", "sidecar"}, answer
    for f in answer["files"]:
        assert _presigned_ttl(f["url"]) <= 900
        assert urlsplit(f["url"]).path.endswith(f["key"]), f
        got = requests.get(f["url"], timeout=30)
        assert got.status_code == 200 and got.content == f["key"].encode()


def test_web_api_static_app_has_a_strict_csp(stack, monkeypatch) -> None:
    for k, v in stack.env("web-api").items():
        monkeypatch.setenv(k, v)
    resp = web_api.handler({"routeKey": "GET /", "requestContext": {}}, stack.context("web-api"))
    csp = resp["headers"]["content-security-policy"]
    assert resp["statusCode"] == 200 and "<script src=\"/assets/app.js\"" in resp["body"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "script-src 'self'" in csp, csp
    assert not re.search(r'(src|href)="(https?:)?//', resp["body"]), "the page loads something from elsewhere"
    miss = web_api.handler({"routeKey": "GET /assets/{name}", "pathParameters": {"name": "../api.py"}},
                           stack.context("web-api"))
    assert miss["statusCode"] == 404


def test_match_route_as_api_gateway() -> None:
    assert match_route("GET", "/api/projects/p1") == ("GET /api/projects/{project}", {"project": "p1"})
    assert match_route("POST", "/api/projects/p1/uploads/parts") == (
        "POST /api/projects/{project}/uploads/parts", {"project": "p1"})
    assert match_route("GET", "/api/projects/p1/nothing") is None


def test_web_api_qc_summary_metric_is_the_qc_services() -> None:
    from genomics.qc.service import SUMMARY_METRIC
    from genomics.webapp.api import QC_SUMMARY_METRIC

    assert QC_SUMMARY_METRIC == SUMMARY_METRIC


def test_web_api_reprocess_needs_steward_or_operator_and_an_ended_job(stack, monkeypatch, members) -> None:
    from genomics.ledger import model
    from genomics.webapp import api

    started: list[dict] = []
    monkeypatch.setattr(web_api, "start_task", started.append)
    job_id = _sample(stack, "pA", "sA")
    route, path = "POST /api/projects/{project}/jobs/{job_id}/reprocess", {"project": "pA", "job_id": job_id}
    status, answer = _call(stack, monkeypatch, _event(route, path, groups="[steward]"))
    assert status == 409 and answer["error"]["code"] == "WEB_JOB_RUNNING" and started == []  # still RECEIVED
    stack.ledger.transition(job_id, model.VALIDATING, actor="test")
    stack.ledger.transition(job_id, model.REJECTED, actor="test", attributes={"reason": "VCF_X: bad (line 3)"})
    status, _ = _call(stack, monkeypatch, _event(route, path, groups="[researcher technician]"))
    assert status == 403 and started == []
    status, answer = _call(stack, monkeypatch, _event(route, path, user="sam", groups="[operator]"))
    assert status == 200 and answer["accepted"], answer
    assert started == [{"task": "reprocess", "job_id": job_id, "actor": "web:sam"}]
    assert "WEB_JOB_RUNNING" in api.CODES


def test_web_tasks_reprocess_starts_a_new_run(stack, monkeypatch, tmp_path) -> None:
    from genomics.ledger import model
    from genomics.local.demo import write_broken_vcf
    from handlers import web_tasks

    raw = stack.names.bucket("raw")
    body = write_broken_vcf(tmp_path).read_bytes()
    resp = boto3.client("s3").put_object(Bucket=raw, Key="pA/sB/broken.vcf", Body=body)
    for k, v in stack.env("validation-handler").items():
        monkeypatch.setenv(k, v)
    first = validation_handler.handler(s3_event(raw, "pA/sB/broken.vcf", resp["VersionId"], len(body), resp["ETag"]),
                                       stack.context("validation-handler"))["results"][0]
    assert first["status"] == model.REJECTED
    for k, v in stack.env("web-tasks").items():
        monkeypatch.setenv(k, v)
    again = web_tasks.handler({"task": "reprocess", "job_id": first["job_id"], "actor": "web:sam"},
                              stack.context("web-tasks"))
    assert again["job_id"] != first["job_id"] and again["status"] == model.REJECTED
    job = stack.ledger.get_job(again["job_id"])
    assert job["run"] == 2 and job["history"][0]["by"] == "web:sam"
    with pytest.raises(ValueError, match="WEB_TASK_INVALID"):
        web_tasks.handler({"task": "rm -rf", "job_id": first["job_id"], "actor": "web:sam"}, stack.context("web-tasks"))


def test_web_api_logs_every_request_with_the_callers_sub(stack, monkeypatch, members) -> None:
    import io
    import logging

    web_api.logger.setLevel(logging.INFO)
    buf = io.StringIO()
    monkeypatch.setattr(web_api.logger.registered_handler, "stream", buf)
    _call(stack, monkeypatch, _event("GET /api/projects/{project}", {"project": "pB"}, sub="sub-of-alice"))
    lines = [json.loads(line) for line in buf.getvalue().splitlines() if line.startswith("{")]
    logged = [ln for ln in lines if ln.get("message") == "web api"]
    assert logged and logged[-1]["sub"] == "sub-of-alice" and logged[-1]["status"] == 403, lines
    assert "authorization" not in json.dumps(lines).lower()
