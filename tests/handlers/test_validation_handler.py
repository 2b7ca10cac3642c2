"""validation-handler on moto: one job per object version, validation by content, reject or start."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from genomics.errors import TransientError
from genomics.ledger import ObjectRef, model
from genomics.ledger.updater import Prices, handle
from handlers import validation_handler
from tests.faults import inject
from tests.handlers.conftest import s3_event

EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")
INVALID = "vcf/4.2/failed/failed_body_sample_001.vcf"


def _upload(stack, path: Path, key: str) -> tuple[dict, ObjectRef]:
    raw = stack.names.bucket("raw")
    body = path.read_bytes()
    resp = boto3.client("s3").put_object(Bucket=raw, Key=key, Body=body)
    ref = ObjectRef(raw, key, resp["VersionId"], resp["ETag"], len(body))
    return s3_event(raw, key, resp["VersionId"], len(body), resp["ETag"]), ref


def _invoke(stack, event, monkeypatch):
    for k, v in stack.env("validation-handler").items():
        monkeypatch.setenv(k, v)
    return validation_handler.handler(event, stack.context("validation-handler"))


def _executions(stack) -> list[dict]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)["executions"]


def test_validation_handler_valid_vcf_starts_one_execution(stack, monkeypatch):
    event, ref = _upload(stack, EUR, "proj/EUR/EUR_test.vcf.gz")
    out = _invoke(stack, event, monkeypatch)["results"][0]
    assert out["status"] == model.VALIDATING and out["job_id"] == ref.job_id()
    job = stack.ledger.get_job(ref.job_id())
    import hashlib

    assert job["sha256"] == hashlib.sha256(EUR.read_bytes()).hexdigest()
    assert job["format"] == "vcf"
    assert [e["name"] for e in _executions(stack)] == [ref.job_id()]
    execution = boto3.client("stepfunctions").describe_execution(executionArn=out["execution_arn"])
    payload = json.loads(execution["input"])
    conformance = payload["input"].pop("conformance")
    assert payload["input"] == {"bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id,
                                "sha256": job["sha256"], "size": EUR.stat().st_size, "format": "vcf",
                                "assembly": None, "result_id": job["result_id"]}
    assert job["identity"] == {"result_id": job["result_id"], "sha256": job["sha256"], "assay": "wgs",
                               "profile": "default", "thresholds_version": job["identity"]["thresholds_version"],
                               "reference_digest": job["identity"]["reference_digest"]}
    # The conformance report travels with the workflow and is stored on the job.
    assert conformance["profile"] == "default" and conformance["valid"] is True
    assert conformance["warning_count"] == sum(conformance["codes"].values())
    assert job["conformance"]["codes"] == conformance["codes"]
    files = stack.ledger.sample("EUR")["files"]
    assert files[0]["validation"]["valid"] is True
    assert [s["name"] for s in job["steps"]] == ["validate"]


def test_validation_handler_same_event_twice_is_one_job(stack, monkeypatch):
    event, ref = _upload(stack, EUR, "proj/EUR/EUR_test.vcf.gz")
    _invoke(stack, event, monkeypatch)
    again = _invoke(stack, event, monkeypatch)["results"][0]
    assert again["duplicate_event"] is True
    assert len(stack.ledger.jobs_for_file(ref.file_id)) == 1
    assert len(_executions(stack)) == 1


def test_validation_handler_invalid_vcf_rejected_with_reason(stack, monkeypatch, corpus):
    event, ref = _upload(stack, corpus / INVALID, "proj/bad/upload.vcf")
    out = _invoke(stack, event, monkeypatch)["results"][0]
    assert out["status"] == model.REJECTED
    job = stack.ledger.get_job(ref.job_id())
    assert job["status"] == model.REJECTED and job["error_code"].startswith("VCF_")
    assert "line" in job["reason"]
    file_item = stack.ledger.sample("bad")["files"][0]
    assert file_item["validation"]["errors"][0]["line"] == 3
    assert _executions(stack) == []
    # The raw object is untouched.
    got = boto3.client("s3").get_object(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id)
    assert got["Body"].read() == (corpus / INVALID).read_bytes()


def test_validation_handler_url_encoded_key_with_spaces(stack, monkeypatch):
    event, ref = _upload(stack, EUR, "proj/EUR/my file+v2.vcf.gz")
    assert "my+file%2Bv2" in event["Records"][0]["s3"]["object"]["key"]
    out = _invoke(stack, event, monkeypatch)["results"][0]
    assert out["status"] == model.VALIDATING
    assert stack.ledger.get_job(ref.job_id())["key"] == "proj/EUR/my file+v2.vcf.gz"


def test_validation_handler_bad_key_layout_rejected_and_tracked(stack, monkeypatch):
    event, ref = _upload(stack, EUR, "EUR_test.vcf.gz")
    out = _invoke(stack, event, monkeypatch)["results"][0]
    assert out["status"] == model.REJECTED and "<project>/<sample_id>/<file>" in out["reason"]
    assert stack.ledger.get_job(ref.job_id())["error_code"] == "INGEST_KEY_LAYOUT"


def test_validation_handler_identical_content_recognised(stack, monkeypatch):
    event, ref = _upload(stack, EUR, "proj/EUR/first.vcf.gz")
    _invoke(stack, event, monkeypatch)
    for s in (model.PROCESSING, model.QC):  # the workflow finishes the first job
        stack.ledger.transition(ref.job_id(), s, actor="test")
    handle({"action": "finalize", "execution": "x",
            "state": {"job_id": ref.job_id(), "input": {"format": "vcf"},
                      "processed": {"bucket": "b", "vcf_key": "k"}, "qc": {"verdict": "pass"}}},
           stack.ledger, Prices())
    event2, ref2 = _upload(stack, EUR, "proj/EUR/again.vcf.gz")
    out = _invoke(stack, event2, monkeypatch)["results"][0]
    assert out["status"] == model.COMPLETED and out["duplicate_of"] == ref.job_id()
    assert stack.ledger.get_job(ref2.job_id())["outputs"] == {"bucket": "b", "vcf_key": "k"}
    assert stack.ledger.get_job(ref2.job_id())["eligible_for_delivery"] is True
    assert len(_executions(stack)) == 1


def test_validation_handler_dynamodb_throttling_surfaces_as_transient(stack, monkeypatch):
    """DynamoDB throttling that outlasts botocore's retries becomes TransientError; a retry completes."""
    event, ref = _upload(stack, EUR, "proj/EUR/t.vcf.gz")
    with (
        inject("dynamodb", "UpdateItem", "ProvisionedThroughputExceededException", times=1) as fault,
        pytest.raises(TransientError),
    ):
        _invoke(stack, event, monkeypatch)
    assert fault.fired == 1
    assert _executions(stack) == []
    out = _invoke(stack, event, monkeypatch)["results"][0]  # Lambda's retry of the same event
    assert out["status"] == model.VALIDATING
    assert len(stack.ledger.jobs_for_file(ref.file_id)) == 1
    assert len(_executions(stack)) == 1


def test_validation_handler_s3_5xx_surfaces_as_transient(stack, monkeypatch):
    event, ref = _upload(stack, EUR, "proj/EUR/s.vcf.gz")
    with inject("s3", "GetObject", "InternalError", status=500, times=1), pytest.raises(TransientError):
        _invoke(stack, event, monkeypatch)
    job = stack.ledger.get_job(ref.job_id())
    # Visible as failed-but-retryable with the reason, and listed among failures; the retry resumes.
    assert job["status"] == model.INGEST_FAILED and job["error_code"] == "INGEST_ATTEMPT_FAILED"
    assert "InternalError" in job["reason"]
    assert [j["job_id"] for j in stack.ledger.failures_since("2000-01-01T00:00:00Z")] == [ref.job_id()]
    out = _invoke(stack, event, monkeypatch)["results"][0]
    assert out["status"] == model.VALIDATING and out.get("execution_arn")
    job = stack.ledger.get_job(ref.job_id())  # the failed attempt's reason lives on in the history only
    assert "reason" not in job and "InternalError" in job["history"][-2]["reason"]


def _pilot_1kg() -> Path:
    import importlib.util

    return Path(next(iter(importlib.util.find_spec("vcf").submodule_search_locations))) / "test" / "1kg.vcf.gz"


def test_validation_handler_profiles_decide_1kg_pilot_header(stack, monkeypatch):
    """1kg.vcf.gz declares FORMAT GQ as Float: an error by the spec (strict), a warning by default and
    under 'legacy'; the warning is on the job's conformance report with its line."""
    path = _pilot_1kg()
    raw = stack.names.bucket("raw")
    s3 = boto3.client("s3")
    results = {}
    for profile in ("strict", "legacy", "default", None):
        key = f"proj/kg_{profile}/1kg.vcf.gz"
        meta = {"validation-profile": profile} if profile else {}
        resp = s3.put_object(Bucket=raw, Key=key, Body=path.read_bytes(), Metadata=meta)
        event = s3_event(raw, key, resp["VersionId"], path.stat().st_size, resp["ETag"])
        results[profile] = _invoke(stack, event, monkeypatch)["results"][0]
    assert results["strict"]["status"] == model.REJECTED and "VCF_META_RESERVED" in results["strict"]["reason"]
    for profile in ("legacy", "default", None):
        assert results[profile]["status"] == model.VALIDATING, profile
        job = stack.ledger.get_job(results[profile]["job_id"])
        assert job["conformance"]["profile"] == (profile or "default")
        reserved = [w for w in job["conformance"]["warnings"] if w["code"] == "VCF_META_RESERVED"]
        assert reserved and all(isinstance(w["line"], int) and w["line"] > 1 for w in reserved)
    legacy_file = stack.ledger.sample("kg_legacy")["files"][0]
    assert "VCF_META_RESERVED" in {w["code"] for w in legacy_file["validation"]["warnings"]}
    strict_job = stack.ledger.get_job(results["strict"]["job_id"])
    assert strict_job["conformance"]["valid"] is False and strict_job["conformance"]["profile"] == "strict"


def test_validation_handler_project_profile_applies_unless_upload_names_one(stack, monkeypatch):
    """The stack setting validationProfiles makes project 'archive' strict; an upload's own metadata wins."""
    path = _pilot_1kg()
    raw = stack.names.bucket("raw")
    s3 = boto3.client("s3")
    for k, v in stack.env("validation-handler").items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("VALIDATION_PROFILES", "archive=strict, other=default")
    out = {}
    for key, meta in (("archive/A1/1kg.vcf.gz", {}), ("archive/A2/1kg.vcf.gz", {"validation-profile": "default"}),
                      ("open/O1/1kg.vcf.gz", {})):
        resp = s3.put_object(Bucket=raw, Key=key, Body=path.read_bytes(), Metadata=meta)
        event = s3_event(raw, key, resp["VersionId"], path.stat().st_size, resp["ETag"])
        out[key] = validation_handler.handler(event, stack.context("validation-handler"))["results"][0]
    assert out["archive/A1/1kg.vcf.gz"]["status"] == model.REJECTED
    assert out["archive/A2/1kg.vcf.gz"]["status"] == model.VALIDATING
    assert out["open/O1/1kg.vcf.gz"]["status"] == model.VALIDATING


def test_validation_handler_unknown_profile_rejected_before_validation(stack, monkeypatch):
    raw = stack.names.bucket("raw")
    resp = boto3.client("s3").put_object(Bucket=raw, Key="proj/S8/x.vcf.gz", Body=EUR.read_bytes(),
                                         Metadata={"validation-profile": "lenient"})
    event = s3_event(raw, "proj/S8/x.vcf.gz", resp["VersionId"], EUR.stat().st_size)
    out = _invoke(stack, event, monkeypatch)["results"][0]
    assert out["status"] == model.REJECTED and out["reason"].startswith("INGEST_UNKNOWN_PROFILE")
    assert _executions(stack) == []


def test_validation_handler_unknown_assay_rejected_before_validation(stack, monkeypatch):
    raw = stack.names.bucket("raw")
    resp = boto3.client("s3").put_object(Bucket=raw, Key="proj/S9/x.vcf.gz", Body=EUR.read_bytes(),
                                         Metadata={"assay": "rnaseq"})
    event = s3_event(raw, "proj/S9/x.vcf.gz", resp["VersionId"], EUR.stat().st_size)
    out = _invoke(stack, event, monkeypatch)["results"][0]
    assert out["status"] == model.REJECTED
    assert out["reason"].startswith("INGEST_UNKNOWN_ASSAY") and "cohort" in out["reason"]
    assert _executions(stack) == []


def test_validation_handler_redelivery_after_completion_keeps_file_record(stack, monkeypatch):
    event, _ref = _upload(stack, EUR, "proj/EUR/keep.vcf.gz")
    _invoke(stack, event, monkeypatch)
    before = stack.ledger.sample("EUR")["files"][0]
    assert before["validation"]["valid"] is True and before["sha256"]
    again = _invoke(stack, event, monkeypatch)["results"][0]  # S3 delivers the event once more, later
    assert again["duplicate_event"] is True
    after = stack.ledger.sample("EUR")["files"][0]
    assert after == before


def test_validation_handler_run_folder_prefix_validated_on_completion_marker(stack, monkeypatch, tmp_path):
    """A run folder uploaded object by object: members start nothing; CopyComplete.txt starts one job."""
    from tests.unit.test_validation_bcl import make_run

    run = make_run(tmp_path / "240101_M00001_0001_000000000-ABCDE")
    raw = stack.names.bucket("raw")
    s3 = boto3.client("s3")
    prefix = "proj/240101_M00001_0001_000000000-ABCDE/"
    for path in sorted(p for p in run.rglob("*") if p.is_file()):
        key = prefix + path.relative_to(run).as_posix()
        resp = s3.put_object(Bucket=raw, Key=key, Body=path.read_bytes())
        out = _invoke(stack, s3_event(raw, key, resp["VersionId"], path.stat().st_size), monkeypatch)["results"][0]
        assert out["status"] == "IGNORED" and "CopyComplete.txt" in out["reason"], key
    assert stack.ledger.jobs_for_project("proj") == []
    resp = s3.put_object(Bucket=raw, Key=prefix + "CopyComplete.txt", Body=b"")
    out = _invoke(stack, s3_event(raw, prefix + "CopyComplete.txt", resp["VersionId"], 0), monkeypatch)["results"][0]
    assert out["status"] == model.VALIDATING and out["execution_arn"]
    job = stack.ledger.get_job(out["job_id"])
    assert job["format"] == "bcl" and len(job["sha256"]) == 64
    payload = json.loads(boto3.client("stepfunctions").describe_execution(executionArn=out["execution_arn"])["input"])
    assert payload["input"]["run_folder"] == prefix and payload["input"]["format"] == "bcl"


def test_validation_handler_cli_upload_profile_reaches_validation(stack, monkeypatch, tmp_path):
    """`genomics upload --profile strict` writes x-amz-meta-validation-profile; ingest validates under it."""
    from genomics import cli

    path = tmp_path / "1kg.vcf.gz"
    path.write_bytes(_pilot_1kg().read_bytes())
    assert cli.main(["upload", str(path), "proj", "UP1", "--profile", "strict", "--stack", "hnd"]) == 0
    raw = stack.names.bucket("raw")
    head = boto3.client("s3").head_object(Bucket=raw, Key="proj/UP1/1kg.vcf.gz")
    import hashlib

    assert head["Metadata"] == {"validation-profile": "strict", "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    event = s3_event(raw, "proj/UP1/1kg.vcf.gz", head["VersionId"], path.stat().st_size, head["ETag"])
    out = _invoke(stack, event, monkeypatch)["results"][0]
    assert out["status"] == model.REJECTED and "VCF_META_RESERVED" in out["reason"]


def test_validation_handler_gatk_gvcf_accepted_with_warnings_in_status(stack, monkeypatch, tmp_path, capsys):
    """A GATK gVCF (NON_REF in a 4.2 header, AS_ annotations) starts the workflow under the default profile;
    its conformance report is on the job, in the workflow input and in the status answers."""
    from genomics.status import job_status, sample_status
    from tests.unit.test_validation_vcf_callers import GATK_GVCF

    path = tmp_path / "NA12878.g.vcf"
    path.write_text(GATK_GVCF.text())
    event, ref = _upload(stack, path, "proj/NA12878/NA12878.g.vcf")
    out = _invoke(stack, event, monkeypatch)["results"][0]
    assert out["status"] == model.VALIDATING
    job = job_status(stack.ledger, ref.job_id())
    conf = job["conformance"]
    assert conf["profile"] == "default" and set(conf["codes"]) == {"VCF_META_ID_INVALID", "VCF_INFO_NUMBER"}
    non_ref = next(w for w in conf["warnings"] if w["code"] == "VCF_META_ID_INVALID")
    assert non_ref["line"] == 2 and "NON_REF" in non_ref["message"]
    assert job["warnings"] == conf["warning_count"] == 5
    assert sample_status(stack.ledger, "NA12878")["jobs"][0]["warnings"] == 5
    execution = boto3.client("stepfunctions").describe_execution(executionArn=out["execution_arn"])
    assert json.loads(execution["input"])["input"]["conformance"]["codes"] == conf["codes"]
    from genomics import cli

    capsys.readouterr()
    assert cli.main(["status", "--job", ref.job_id(), "--stack", "hnd"]) == 0
    printed = capsys.readouterr().out
    assert "validation (default): 5 warnings" in printed
    assert "VCF_META_ID_INVALID line 2: ##ALT ID 'NON_REF'" in printed
