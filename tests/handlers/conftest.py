"""Handler tests: moto in-process (mock_aws) with the stack's tables, buckets and state machine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from genomics import deployment, workflow
from genomics.deployment import TABLES, Names, Settings
from genomics.lambda_context import LocalContext
from genomics.ledger import Ledger
from genomics.local.deploy import table_request

NAMES = Names("hnd", "123456789012", "us-east-1")
SETTINGS = Settings(stack="hnd")


@dataclass
class Stack:
    names: Names
    settings: Settings
    ledger: Ledger
    state_machine_arn: str

    def env(self, logical: str) -> dict[str, str]:
        return deployment.environment(logical, self.names, self.settings)

    def context(self, logical: str) -> LocalContext:
        return LocalContext(
            function_name=self.names.function(logical),
            invoked_function_arn=self.names.function_arn(logical),
            memory_limit_in_mb=deployment.memory_mb(logical, self.settings),
            timeout_s=deployment.timeout_s(logical, self.settings),
            aws_request_id="req-1",
            log_group_name=self.names.log_group(logical),
        )


@pytest.fixture
def stack(aws_env, monkeypatch) -> Iterator[Stack]:
    with mock_aws():
        s3 = boto3.client("s3")
        for role in deployment.BUCKET_ROLES:
            s3.create_bucket(Bucket=NAMES.bucket(role))
        s3.put_bucket_versioning(Bucket=NAMES.bucket("raw"), VersioningConfiguration={"Status": "Enabled"})
        boto3.client("sqs").create_queue(QueueName=NAMES.dead_letter_queue)
        ddb = boto3.client("dynamodb")
        for role, spec in TABLES.items():
            ddb.create_table(**table_request(NAMES.table(role), spec))
        role = boto3.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        arns = {k: NAMES.function_arn(k) for k in deployment.FUNCTIONS}
        sm = boto3.client("stepfunctions").create_state_machine(
            name=NAMES.state_machine, definition=json.dumps(workflow.definition(arns, SETTINGS)), roleArn=role
        )
        yield Stack(NAMES, SETTINGS, Ledger(NAMES.table("metadata"), NAMES.table("jobs"), NAMES.table("qc"),
                                            client=ddb), sm["stateMachineArn"])


def s3_event(bucket: str, key: str, version_id: str | None, size: int, etag: str = '"e"') -> dict:
    import urllib.parse

    obj = {"key": urllib.parse.quote_plus(key, safe="/"), "size": size, "eTag": etag, "sequencer": "0A"}
    if version_id:
        obj["versionId"] = version_id
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                         "eventName": "ObjectCreated:Put",
                         "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": obj}}]}
