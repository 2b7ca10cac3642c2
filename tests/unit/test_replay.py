"""Replay never hides work: a dry run only peeks, a failed message is released and reported, and the
answer counts what is still queued or held elsewhere (moto's SQS, in-process)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from genomics.replay import incomplete, replay


def _event(key: str) -> str:
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
              "s3": {"bucket": {"name": "raw"}, "object": {"key": key, "size": 1}}}
    return json.dumps({"requestPayload": {"Records": [record]}, "requestContext": {"condition": "RetriesExhausted"}})


@pytest.fixture
def queue(aws_env):
    with mock_aws():
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        yield sqs, url


def _fill(sqs: Any, url: str, n: int) -> list[str]:
    keys = [f"p/S{i}/f{i}.vcf" for i in range(n)]
    for k in keys:
        sqs.send_message(QueueUrl=url, MessageBody=_event(k))
    return keys


def _ingest_ok(record: dict[str, Any]) -> dict[str, Any]:
    return {"key": record["s3"]["object"]["key"], "status": "VALIDATING"}


def test_replay_dry_run_then_replay_replays_everything(queue):
    sqs, url = queue
    keys = _fill(sqs, url, 15)  # more than one receive batch
    peek = replay(sqs, url, _ingest_ok, dry_run=True)
    assert sorted(r["key"] for r in peek["replayed"]) == sorted(keys)
    assert peek["messages"] == 15 and peek["remaining"] == 15 and peek["in_flight"] == 0
    done = replay(sqs, url, _ingest_ok)
    assert sorted(r["key"] for r in done["replayed"]) == sorted(keys)
    assert done["failed"] == [] and done["remaining"] == 0 and done["in_flight"] == 0
    assert not incomplete(done)


def test_replay_reports_each_failed_message_and_releases_it_at_once(queue):
    sqs, url = queue
    keys = _fill(sqs, url, 3)

    def ingest(record: dict[str, Any]) -> dict[str, Any]:
        if record["s3"]["object"]["key"] == keys[1]:
            raise RuntimeError("jobs table unavailable")
        return _ingest_ok(record)

    result = replay(sqs, url, ingest)
    assert [f["keys"] for f in result["failed"]] == [[keys[1]]]
    assert "RuntimeError: jobs table unavailable" in result["failed"][0]["error"]
    assert result["remaining"] == 1 and result["in_flight"] == 0 and incomplete(result)
    # Visible again now, not after a visibility timeout: the next replay gets it.
    again = replay(sqs, url, _ingest_ok)
    assert [r["key"] for r in again["replayed"]] == [keys[1]] and not incomplete(again)


def test_replay_never_claims_an_empty_queue_while_messages_are_in_flight(queue, monkeypatch):
    import genomics.replay

    monkeypatch.setattr(genomics.replay, "IN_FLIGHT_WAIT_S", 1.0)  # it waits that long for them first
    sqs, url = queue
    _fill(sqs, url, 2)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)  # someone else holds them
    result = replay(sqs, url, _ingest_ok)
    assert result["messages"] == 0 and result["in_flight"] == 2
    assert incomplete(result)


def test_replay_unreadable_message_is_reported_not_dropped(queue):
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    result = replay(sqs, url, _ingest_ok)
    assert len(result["failed"]) == 1 and "not an S3 event" in result["failed"][0]["error"]
    assert result["remaining"] == 1
