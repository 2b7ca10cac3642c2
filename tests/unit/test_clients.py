"""Clients and ledgers built once per container (genomics.clients): reused while the session and the
environment that chose them stay the same, rebuilt when a test (or the local mode) switches them, with
TCP keep-alive; a fault armed afterwards still reaches the next call."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from genomics import clients, faults
from genomics.ledger import Ledger


def test_clients_one_client_per_service_with_keepalive(aws_env) -> None:
    with mock_aws():
        s3 = clients.client("s3")
        assert clients.client("s3") is s3
        assert clients.client("dynamodb") is not s3
        assert s3.meta.config.tcp_keepalive is True
        s3.create_bucket(Bucket="kept")  # a working client on moto
        assert [b["Name"] for b in clients.client("s3").list_buckets()["Buckets"]] == ["kept"]


def test_clients_rebuilt_when_the_environment_or_the_session_changes(aws_env, monkeypatch) -> None:
    with mock_aws():
        first = clients.client("s3")
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
        moved = clients.client("s3")
        assert moved is not first and moved.meta.endpoint_url == "http://127.0.0.1:4566"
        monkeypatch.delenv("AWS_ENDPOINT_URL")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        assert clients.client("s3").meta.region_name == "eu-west-1"
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        assert clients.client("s3") is first
    with mock_aws():  # a new mock installs a new default session: its clients are new ones
        assert clients.client("s3") is not first


def test_clients_ledger_from_environment_is_built_once(aws_env, monkeypatch) -> None:
    monkeypatch.setenv("METADATA_TABLE", "meta")
    monkeypatch.setenv("JOBS_TABLE", "jobs")
    monkeypatch.setenv("QC_TABLE", "qc")
    with mock_aws():
        ledger = Ledger.from_environment()
        assert (ledger.metadata_table, ledger.jobs_table, ledger.qc_table) == ("meta", "jobs", "qc")
        assert Ledger.from_environment() is ledger
        assert ledger.client is clients.client("dynamodb")
        assert Ledger.from_environment(with_qc=False).qc_table == ""
        monkeypatch.setenv("JOBS_TABLE", "jobs-2")
        assert Ledger.from_environment().jobs_table == "jobs-2"


def test_clients_a_fault_armed_after_the_client_was_built_still_fires(aws_env) -> None:
    with mock_aws():
        clients.client("s3").create_bucket(Bucket="fault-test")
        with faults.inject("s3", "ListObjectsV2", "AccessDenied", status=403) as fault, \
                pytest.raises(ClientError):
            clients.client("s3").list_objects_v2(Bucket="fault-test")
        assert fault.fired == 1
        clients.client("s3").list_objects_v2(Bucket="fault-test")  # disarmed: the rebuilt client goes through


def test_clients_reset_forgets_everything(aws_env) -> None:
    with mock_aws():
        before = clients.client("sqs")
        clients.reset()
        assert clients.client("sqs") is not before
        assert boto3.client("sqs") is not clients.client("sqs")  # boto3's own factory is untouched
