"""genomics forget (GDPR Art. 17) on moto: a sample's derived data, deliveries, raw uploads and ledger
entries are erased everywhere, another sample is untouched, Object Lock keeps what it must (and the result
says until when), and an audit record remains. Data is written by the platform's own code (ledger, QC
items, delivery), not by hand where the code exists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from genomics.delivery import deliver
from genomics.deployment import TABLES, Names
from genomics.erasure import ErasureError, forget
from genomics.ledger import Ledger, model
from genomics.ledger.model import ObjectRef
from genomics.ledger.store import deserialize
from genomics.local.deploy import table_request
from genomics.qc.service import batch_put, metric_items

NAMES = Names("gdpr", "123456789012", "us-east-1")
PROJECT = "cohort1"


def _all_keys(s3, bucket: str) -> list[str]:
    resp = s3.list_object_versions(Bucket=bucket)
    return sorted(v["Key"] for v in [*resp.get("Versions", []), *resp.get("DeleteMarkers", [])])


def _add_sample(ledger: Ledger, s3, sample: str, *, lock_days: int) -> str:
    raw = NAMES.bucket("raw")
    key = f"{PROJECT}/{sample}/{sample}.vcf.gz"
    put = {"Bucket": raw, "Key": key, "Body": b"##fileformat=VCFv4.2\n"}
    if lock_days:
        put.update(ObjectLockMode="GOVERNANCE",
                   ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=lock_days))
    version = s3.put_object(**put)["VersionId"]
    ref = ObjectRef(raw, key, version, '"e"', 21)
    job_id = ref.job_id()
    ledger.record_file(ref, project=PROJECT, sample_id=sample, job_id=job_id)
    ledger.create_job(ref, job_id=job_id, project=PROJECT, sample_id=sample, actor="test")
    processed = NAMES.bucket("processed")
    outputs = {"bucket": processed, "vcf_key": f"processed/{PROJECT}/{sample}/abc/{sample}.vcf.gz",
               "index_key": f"processed/{PROJECT}/{sample}/abc/{sample}.vcf.gz.tbi",
               "sidecar_key": f"processed/{PROJECT}/{sample}/abc/{sample}.json",
               "report_key": f"reports/{PROJECT}/{sample}/abc/multiqc_report.html"}
    for field in ("vcf_key", "index_key", "sidecar_key", "report_key"):
        s3.put_object(Bucket=processed, Key=outputs[field], Body=b"x")
    s3.put_object(Bucket=processed, Key=f"tmp/{job_id}/shard-0.bcf", Body=b"x")
    for state in (model.VALIDATING, model.PROCESSING, model.QC):
        ledger.transition(job_id, state, actor="test")
    ledger.transition(job_id, model.COMPLETED, actor="test",
                      attributes={"outputs": outputs, "eligible_for_delivery": True})
    items = metric_items(project=PROJECT, sample_id=sample, job_id=job_id, sha256="ab" * 32, assay="wgs",
                         fmt="vcf", metrics={"records": 10, "ts_tv": 2.1},
                         verdict={"verdict": "pass", "reasons": [], "checks": {}},
                         report_key=outputs["report_key"])
    batch_put(ledger.client, NAMES.table("qc"), items)
    return key


@pytest.fixture
def world(aws_env) -> Iterator[tuple[Ledger, object]]:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=NAMES.bucket("raw"), ObjectLockEnabledForBucket=True)
        for role in ("processed", "delivery"):
            s3.create_bucket(Bucket=NAMES.bucket(role))
        ddb = boto3.client("dynamodb")
        for role, spec in TABLES.items():
            ddb.create_table(**table_request(NAMES.table(role), spec))
        yield Ledger(NAMES.table("metadata"), NAMES.table("jobs"), NAMES.table("qc"), client=ddb), s3


def _deliver(ledger: Ledger, s3) -> dict:
    return deliver(ledger, s3, project=PROJECT, partner="lab-a", delivery_bucket=NAMES.bucket("delivery"),
                   processed_bucket=NAMES.bucket("processed"), delivery_id="d1")


def test_forget_erases_everything_of_the_sample_and_nothing_else(world) -> None:
    ledger, s3 = world
    _add_sample(ledger, s3, "S1", lock_days=0)
    other_raw = _add_sample(ledger, s3, "S2", lock_days=0)
    manifest = _deliver(ledger, s3)
    assert {d["sample_id"] for d in manifest["delivered"]} == {"S1", "S2"}

    result = forget(ledger, s3, NAMES, "S1", actor="arn:aws:iam::123456789012:user/steward", reason="ticket-7")

    assert result["complete"] is True and not result["retained_by_object_lock"], result
    for role in ("raw", "processed", "delivery"):
        leftovers = [k for k in _all_keys(s3, NAMES.bucket(role)) if "/S1/" in k or "S1-" in k]
        assert not leftovers, f"{role}: {leftovers}"
    assert other_raw in _all_keys(s3, NAMES.bucket("raw"))
    assert any("/S2/" in k for k in _all_keys(s3, NAMES.bucket("processed")))
    assert any("/S2/" in k for k in _all_keys(s3, NAMES.bucket("delivery")))
    assert ledger.sample("S1") is None and ledger.jobs_for_sample("S1") == [] and ledger.qc_for_sample("S1") == []
    assert ledger.sample("S2") is not None and ledger.qc_for_sample("S2")
    body = json.loads(s3.get_object(Bucket=NAMES.bucket("delivery"), Key=manifest["manifest_key"])["Body"].read())
    assert [d["sample_id"] for d in body["delivered"]] == ["S2"] and body["erased_samples"] == 1
    assert [d["samples"] for d in ledger.deliveries(PROJECT)] == [["S2"]]
    tmp = [k for k in _all_keys(s3, NAMES.bucket("processed")) if k.startswith("tmp/")]
    assert len(tmp) == 1 and tmp[0].startswith("tmp/S2-"), f"the erased job's tmp/ prefix remains: {tmp}"

    record = ledger.client.get_item(TableName=NAMES.table("metadata"),
                                    Key={"pk": {"S": result["audit_record"]["pk"]},
                                         "sk": {"S": result["audit_record"]["sk"]}})["Item"]
    audit = deserialize(record)
    assert audit["actor"].endswith("user/steward") and audit["reason"] == "ticket-7" and audit["complete"] is True
    assert audit["deleted_ledger_items"] == {"metadata": 2, "jobs": 1, "qc": len(ledger.qc_for_sample("S2"))}


def test_forget_states_what_object_lock_keeps_and_until_when(world) -> None:
    ledger, s3 = world
    raw_key = _add_sample(ledger, s3, "S1", lock_days=30)

    result = forget(ledger, s3, NAMES, "S1", actor="steward")

    assert result["complete"] is False
    retained = result["retained_by_object_lock"]
    assert [(r["key"], r["mode"]) for r in retained] == [(raw_key, "GOVERNANCE")], retained
    until = datetime.fromisoformat(retained[0]["retain_until"])
    assert timedelta(days=29) < until - datetime.now(UTC) <= timedelta(days=30), until
    assert retained[0]["retain_until"] in result["statement"]
    assert raw_key in _all_keys(s3, NAMES.bucket("raw")), "a locked version was deleted"
    assert not [k for k in _all_keys(s3, NAMES.bucket("processed")) if "/S1/" in k]
    assert ledger.sample("S1") is None
    # After the ledger entries are gone the sample is unknown: a second run says so rather than erasing nothing.
    with pytest.raises(ErasureError) as unknown:
        forget(ledger, s3, NAMES, "S1", actor="steward")
    assert unknown.value.code == "FORGET_UNKNOWN_SAMPLE"


def test_forget_bypass_governance_erases_locked_raw_versions(world) -> None:
    ledger, s3 = world
    raw_key = _add_sample(ledger, s3, "S1", lock_days=30)

    result = forget(ledger, s3, NAMES, "S1", actor="admin", bypass_governance=True)

    assert result["complete"] is True, result
    assert raw_key not in _all_keys(s3, NAMES.bucket("raw"))


def test_forget_rejects_unknown_and_malformed_samples(world) -> None:
    ledger, s3 = world
    for sample, code in (("nobody", "FORGET_UNKNOWN_SAMPLE"), ("a/b", "FORGET_BAD_SAMPLE"),
                         ("", "FORGET_BAD_SAMPLE")):
        with pytest.raises(ErasureError) as caught:
            forget(ledger, s3, NAMES, sample, actor="x")
        assert caught.value.code == code
