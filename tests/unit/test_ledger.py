"""The ledger's job state machine on moto DynamoDB: conditional, forward-only, history kept."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from genomics.deployment import TABLES, Names
from genomics.ledger import InvalidTransition, Ledger, ObjectRef, model
from genomics.ledger.model import KeyLayoutError, decode_event_key, parse_key
from genomics.local.deploy import table_request

NAMES = Names("unit", "123456789012", "us-east-1")


@pytest.fixture
def ledger(aws_env):
    with mock_aws():
        ddb = boto3.client("dynamodb")
        for role, spec in TABLES.items():
            ddb.create_table(**table_request(NAMES.table(role), spec))
        yield Ledger(NAMES.table("metadata"), NAMES.table("jobs"), NAMES.table("qc"), client=ddb)


REF = ObjectRef("raw", "proj/S1/a.vcf.gz", "v1", '"etag"', 10)


def _job(ledger: Ledger) -> str:
    job_id = REF.job_id()
    assert ledger.create_job(REF, job_id=job_id, project="proj", sample_id="S1", actor="t")
    return job_id


def test_ledger_create_job_once(ledger):
    job_id = _job(ledger)
    assert ledger.create_job(REF, job_id=job_id, project="proj", sample_id="S1", actor="t") is False
    assert ledger.get_job(job_id)["status"] == model.RECEIVED


def test_ledger_forward_path_keeps_history(ledger):
    job_id = _job(ledger)
    for target in (model.VALIDATING, model.PROCESSING, model.QC, model.COMPLETED):
        ledger.transition(job_id, target, actor=f"by-{target}")
    job = ledger.get_job(job_id)
    assert job["status"] == model.COMPLETED
    assert [h["to"] for h in job["history"]] == [model.RECEIVED, model.VALIDATING, model.PROCESSING, model.QC,
                                                 model.COMPLETED]
    assert [h["by"] for h in job["history"]][1:] == ["by-VALIDATING", "by-PROCESSING", "by-QC", "by-COMPLETED"]
    stamps = [h["at"] for h in job["history"]]
    assert stamps == sorted(stamps)


def test_ledger_transition_never_goes_back(ledger):
    job_id = _job(ledger)
    ledger.transition(job_id, model.VALIDATING, actor="t")
    ledger.transition(job_id, model.PROCESSING, actor="t")
    with pytest.raises(InvalidTransition) as exc:
        ledger.transition(job_id, model.VALIDATING, actor="t")
    assert exc.value.current == model.PROCESSING
    assert ledger.get_job(job_id)["status"] == model.PROCESSING


def test_ledger_terminal_state_is_final(ledger):
    job_id = _job(ledger)
    ledger.transition(job_id, model.VALIDATING, actor="t")
    ledger.transition(job_id, model.REJECTED, actor="t")
    for target in (model.FAILED, model.PROCESSING, model.COMPLETED):
        with pytest.raises(InvalidTransition):
            ledger.transition(job_id, target, actor="t")
    assert ledger.get_job(job_id)["status"] == model.REJECTED


def test_ledger_repeated_transition_is_idempotent(ledger):
    job_id = _job(ledger)
    ledger.transition(job_id, model.VALIDATING, actor="t")
    ledger.transition(job_id, model.PROCESSING, actor="t")
    again = ledger.transition(job_id, model.PROCESSING, actor="t")
    assert again["status"] == model.PROCESSING
    assert len(ledger.get_job(job_id)["history"]) == 3


def test_ledger_failed_from_any_running_state(ledger):
    for i, path in enumerate(([], [model.VALIDATING], [model.VALIDATING, model.PROCESSING],
                              [model.VALIDATING, model.PROCESSING, model.QC])):
        ref = ObjectRef("raw", f"proj/S{i}/x.vcf", "v1")
        job_id = ref.job_id()
        ledger.create_job(ref, job_id=job_id, project="proj", sample_id=f"S{i}", actor="t")
        for s in path:
            ledger.transition(job_id, s, actor="t")
        ledger.transition(job_id, model.FAILED, actor="t", attributes={"error": "Boom", "cause": "why"})
        job = ledger.get_job(job_id)
        assert job["status"] == model.FAILED and job["error"] == "Boom"


def test_ledger_queries_serve_every_access_pattern(ledger):
    job_id = _job(ledger)
    ledger.record_file(REF, project="proj", sample_id="S1", job_id=job_id)
    ledger.update_file("S1", REF.file_id, {"sha256": "ab" * 32})
    ledger.transition(job_id, model.VALIDATING, actor="t")
    ledger.transition(job_id, model.REJECTED, actor="t", attributes={"reason": "bad"})
    assert [f["key"] for f in ledger.sample("S1")["files"]] == [REF.key]
    assert [s["sample_id"] for s in ledger.samples_in_project("proj")] == ["S1"]
    assert [f["file_id"] for f in ledger.files_with_checksum("ab" * 32)] == [REF.file_id]
    assert [j["job_id"] for j in ledger.jobs_for_file(REF.file_id)] == [job_id]
    assert [j["job_id"] for j in ledger.jobs_for_sample("S1")] == [job_id]
    assert [j["job_id"] for j in ledger.jobs_for_project("proj")] == [job_id]
    assert [j["job_id"] for j in ledger.failures_since("2000-01-01T00:00:00.000000Z")] == [job_id]
    assert ledger.failures_since("2999-01-01T00:00:00.000000Z") == []


def test_model_job_id_is_a_valid_execution_name():
    import re

    for key in ("p/s/" + "x" * 300 + ".vcf", "p/s/with space+plus.vcf.gz", "p/s/ünïcode.bam"):
        for run in (1, 2):
            jid = ObjectRef("bucket", key, "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY").job_id(run)
            assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", jid), jid
    assert ObjectRef("b", "p/s/f", "v1").job_id() == ObjectRef("b", "p/s/f", "v1").job_id()
    assert ObjectRef("b", "p/s/f", "v1").job_id() != ObjectRef("b", "p/s/f", "v2").job_id()


def test_model_parse_key_and_decode():
    assert decode_event_key("proj/S%201/my+file.vcf") == "proj/S 1/my file.vcf"
    assert parse_key("proj/NA12878/a/b.vcf").filename == "a/b.vcf"
    with pytest.raises(KeyLayoutError, match="<project>/<sample_id>/<file>"):
        parse_key("loose.vcf")
    with pytest.raises(KeyLayoutError, match="sample_id"):
        parse_key("proj/S 1/x.vcf")


def test_ledger_failures_since_limit_keeps_the_newest_across_statuses(ledger):
    """With a limit, each failure status's index is read only that far, and the merge keeps the newest."""
    ended = []
    for i, end in enumerate([model.REJECTED, model.FAILED, model.REJECTED, model.FAILED, model.REJECTED]):
        ref = ObjectRef("raw", f"proj/S{i}/f.vcf", f"v{i}", f'"e{i}"', 10)
        ledger.create_job(ref, job_id=ref.job_id(), project="proj", sample_id=f"S{i}", actor="t")
        ledger.transition(ref.job_id(), model.VALIDATING, actor="t")
        ledger.transition(ref.job_id(), end, actor="t", attributes={"reason": "bad"})
        ended.append(ref.job_id())
    newest_first = list(reversed(ended))
    every = [j["job_id"] for j in ledger.failures_since("2000-01-01T00:00:00.000000Z")]
    assert every == newest_first
    for limit in (1, 2, 3, 5, 9):
        got = [j["job_id"] for j in ledger.failures_since("2000-01-01T00:00:00.000000Z", limit)]
        assert got == newest_first[:limit], limit
