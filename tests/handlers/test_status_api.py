"""status-api on moto: the ledger's answers through API Gateway v2 events, errors as 400/404/500 JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from genomics import status
from genomics.ledger import ObjectRef, model
from genomics.qc import gate
from genomics.qc.metrics import compute
from genomics.qc.service import batch_put, metric_items
from genomics.sources import LocalFile
from genomics.status_api import ROUTES, gateway_event
from handlers import status_api, validation_handler
from tests.conftest import CORPUS
from tests.handlers.conftest import s3_event

EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")
INVALID = "vcf/4.2/failed/failed_body_sample_001.vcf"


def _event(route_key: str, path: dict[str, str] | None = None, query: dict[str, str] | None = None) -> dict:
    return gateway_event(route_key, path, query, request_id="api-req-1")


def _call(stack, monkeypatch, event: dict) -> tuple[int, Any]:
    for k, v in stack.env("status-api").items():
        monkeypatch.setenv(k, v)
    resp = status_api.handler(event, stack.context("status-api"))
    assert resp["headers"]["content-type"] == "application/json"
    return resp["statusCode"], json.loads(resp["body"])


def _ingest(stack, monkeypatch, path: Path, key: str) -> ObjectRef:
    raw = stack.names.bucket("raw")
    body = path.read_bytes()
    resp = boto3.client("s3").put_object(Bucket=raw, Key=key, Body=body)
    for k, v in stack.env("validation-handler").items():
        monkeypatch.setenv(k, v)
    validation_handler.handler(s3_event(raw, key, resp["VersionId"], len(body), resp["ETag"]),
                               stack.context("validation-handler"))
    return ObjectRef(raw, key, resp["VersionId"], resp["ETag"], len(body))


@pytest.fixture
def ledger_with_data(stack, monkeypatch):
    """Two real uploads through validation (one accepted, one rejected) and real QC items of EUR."""
    good = _ingest(stack, monkeypatch, EUR, "P1/EUR/EUR_test.vcf.gz")
    bad = _ingest(stack, monkeypatch, CORPUS / INVALID, "P1/BAD/broken.vcf")
    fmt, metrics, _raw = compute(LocalFile(str(EUR)))
    verdict = gate.evaluate(metrics, "wes")  # EUR's Ts/Tv is not an exome's: fails the wes gate
    items = metric_items(project="P1", sample_id="EUR", job_id=good.job_id(), sha256="a" * 64, assay="wes",
                         fmt=fmt, metrics=metrics, verdict=verdict, report_key=None)
    batch_put(stack.ledger.client, stack.names.table("qc"), items)
    return stack, good, bad, verdict


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def test_status_api_sample_equals_cli_answer(ledger_with_data, monkeypatch):
    stack, good, _bad, _ = ledger_with_data
    code, body = _call(stack, monkeypatch, _event("GET /samples/{sample_id}", {"sample_id": "EUR"}))
    assert code == 200
    assert body == _plain(status.sample_status(stack.ledger, "EUR"))
    assert body["jobs"][0]["job_id"] == good.job_id() and body["project"] == "P1"


def test_status_api_rejected_job_has_reason_and_history(ledger_with_data, monkeypatch):
    stack, _good, bad, _ = ledger_with_data
    code, body = _call(stack, monkeypatch, _event("GET /jobs/{job_id}", {"job_id": bad.job_id()}))
    assert code == 200
    assert body["status"] == model.REJECTED
    assert body["reason"].startswith("VCF_GT_ALLELE_RANGE"), body["reason"]
    assert [h["to"] for h in body["history"]][-1] == model.REJECTED


def test_status_api_project_and_failures_since(ledger_with_data, monkeypatch):
    stack, good, bad, _ = ledger_with_data
    code, body = _call(stack, monkeypatch, _event("GET /projects/{project}", {"project": "P1"}))
    assert code == 200 and sorted(body["samples"]) == ["BAD", "EUR"]
    assert {j["job_id"] for j in body["jobs"]} == {good.job_id(), bad.job_id()}
    code, body = _call(stack, monkeypatch, _event("GET /failures", query={"since": "2000-01-01"}))
    assert code == 200 and [j["job_id"] for j in body["jobs"]] == [bad.job_id()]
    code, body = _call(stack, monkeypatch, _event("GET /failures", query={"since": "2999-01-01T00:00:00Z"}))
    assert code == 200 and body["jobs"] == []
    code, body = _call(stack, monkeypatch, _event("GET /failures", query={"since": "1h"}))  # an age
    assert code == 200 and [j["job_id"] for j in body["jobs"]] == [bad.job_id()]
    assert body["since"].endswith("Z")  # the time the API used, as the ledger keeps it (UTC)


def test_status_api_samples_failing_a_metric(ledger_with_data, monkeypatch):
    stack, _good, _bad, verdict = ledger_with_data
    failing = [name for name, check in verdict["checks"].items() if check.get("verdict") == "fail"]
    assert "ts_tv" in failing, verdict
    code, body = _call(stack, monkeypatch,
                       _event("GET /projects/{project}/failing/{metric}", {"project": "P1", "metric": "ts_tv"}))
    assert code == 200 and [s["sample_id"] for s in body["samples"]] == ["EUR"]
    code, body = _call(stack, monkeypatch,
                       _event("GET /projects/{project}/failing/{metric}", {"project": "P1", "metric": "records"}))
    assert code == 200 and body["samples"] == []


def test_status_api_cost_of_project(ledger_with_data, monkeypatch):
    stack, *_ = ledger_with_data
    code, body = _call(stack, monkeypatch, _event("GET /projects/{project}/cost", {"project": "P1"}))
    assert code == 200 and body == _plain(status.project_cost(stack.ledger, "P1"))
    assert body["jobs"] == 2


@pytest.mark.parametrize(("event", "code", "error"), [
    (_event("GET /jobs/{job_id}", {"job_id": "no-such-job"}), 404, "API_NOT_FOUND"),
    (_event("GET /samples/{sample_id}", {"sample_id": "NOBODY"}), 404, "API_NOT_FOUND"),
    (_event("GET /failures"), 400, "API_BAD_PARAMETER"),
    (_event("GET /failures", query={"since": "yesterday"}), 400, "API_BAD_PARAMETER"),
    (_event("GET /projects/{project}/cost", {"project": "P1"}, {"since": "2026-13-45"}), 400, "API_BAD_PARAMETER"),
    (_event("GET /projects/{project}/failing/{metric}", {"project": "P1", "metric": "Ts/Tv"}), 400,
     "API_BAD_PARAMETER"),
    (_event("GET /samples/{sample_id}", {"sample_id": ""}), 400, "API_BAD_PARAMETER"),
    (_event("DELETE /samples/{sample_id}", {"sample_id": "EUR"}), 404, "API_ROUTE_UNKNOWN"),
])
def test_status_api_request_errors(ledger_with_data, monkeypatch, event, code, error):
    stack, *_ = ledger_with_data
    got, body = _call(stack, monkeypatch, event)
    assert (got, body["error"]["code"]) == (code, error), body
    assert body["error"]["message"]


def test_status_api_ledger_failure_is_500_without_internals(ledger_with_data, monkeypatch):
    stack, good, *_ = ledger_with_data
    boto3.client("dynamodb").delete_table(TableName=stack.names.table("jobs"))
    code, body = _call(stack, monkeypatch, _event("GET /jobs/{job_id}", {"job_id": good.job_id()}))
    assert code == 500 and body["error"]["code"] == "API_INTERNAL"
    assert "req-1" in body["error"]["message"]  # the Lambda request id, to quote to the operators
    assert "ResourceNotFound" not in json.dumps(body) and stack.names.table("jobs") not in json.dumps(body)


def test_status_api_routes_are_all_read_only():
    assert all(route.startswith("GET /") for route in ROUTES)


def _many_jobs(stack, n: int, project: str = "PAGED") -> list[str]:
    """n jobs of one project through the ledger's own create_job (newest last)."""
    ids = []
    for i in range(n):
        ref = ObjectRef("raw", f"{project}/S{i}/f{i}.vcf", f"v{i}", f'"e{i}"', 10 + i)
        stack.ledger.create_job(ref, job_id=ref.job_id(), project=project, sample_id=f"S{i}", actor="test")
        ids.append(ref.job_id())
    return ids


def test_status_api_project_jobs_paged_newest_first(stack, monkeypatch):
    ids = _many_jobs(stack, 7)
    seen, token, pages = [], None, 0
    while True:
        query = {"limit": "3", **({"next": token} if token else {})}
        code, body = _call(stack, monkeypatch, _event("GET /projects/{project}", {"project": "PAGED"}, query))
        assert code == 200 and len(body["jobs"]) <= 3
        seen += [j["job_id"] for j in body["jobs"]]
        pages += 1
        token = body["next"]
        if token is None:
            break
    assert pages == 3 and seen == list(reversed(ids))  # every job once, newest first
    whole = status.project_status(stack.ledger, "PAGED")
    assert sorted(seen) == sorted(j["job_id"] for j in whole["jobs"])


@pytest.mark.parametrize("query", [
    {"limit": "0"}, {"limit": "1001"}, {"limit": "ten"},
    {"next": "not-a-cursor!"},
    {"next": "eyJwcm9qZWN0IjogeyJTIjogIk9USEVSIn19"},  # {"project": {"S": "OTHER"}}: not this project's
])
def test_status_api_project_paging_rejects_bad_limit_and_cursor(stack, monkeypatch, query):
    _many_jobs(stack, 2)
    code, body = _call(stack, monkeypatch, _event("GET /projects/{project}", {"project": "PAGED"}, query))
    assert (code, body["error"]["code"]) == (400, "API_BAD_PARAMETER"), body


def test_status_api_cursor_of_another_project_rejected(stack, monkeypatch):
    _many_jobs(stack, 3, project="A")
    _many_jobs(stack, 3, project="B")
    code, body = _call(stack, monkeypatch, _event("GET /projects/{project}", {"project": "A"}, {"limit": "1"}))
    assert code == 200 and body["next"]
    code, body = _call(stack, monkeypatch,
                       _event("GET /projects/{project}", {"project": "B"}, {"limit": "1", "next": body["next"]}))
    assert (code, body["error"]["code"]) == (400, "API_BAD_PARAMETER"), body


def test_status_api_failures_capped_with_truncated_flag(ledger_with_data, monkeypatch):
    stack, *_ = ledger_with_data
    _ingest(stack, monkeypatch, CORPUS / INVALID, "P1/BAD2/broken2.vcf")  # a second rejected upload
    code, body = _call(stack, monkeypatch, _event("GET /failures", query={"since": "1h", "limit": "1"}))
    assert code == 200 and len(body["jobs"]) == 1 and body["truncated"] is True and body["limit"] == 1
    code, body = _call(stack, monkeypatch, _event("GET /failures", query={"since": "1h"}))
    assert len(body["jobs"]) == 2 and body["truncated"] is False
    assert body["jobs"][0]["updated_at"] >= body["jobs"][1]["updated_at"]  # newest first
