"""A deployed local stack on moto server, for tests that need the whole system on loopback."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

from genomics.deployment import Names, Settings
from genomics.local.deploy import LocalStack, deploy
from genomics.local.server import ACCOUNT_ID, REGION, LocalCloud, local_cloud


@contextmanager
def deployed(stack: str = "test", settings: Settings | None = None) -> Iterator[tuple[LocalCloud, LocalStack]]:
    with local_cloud() as cloud:
        try:
            names = Names(stack=stack, account_id=ACCOUNT_ID, region=REGION)
            yield cloud, deploy(names, settings or Settings(stack=stack))
        finally:
            req = urllib.request.Request(f"{cloud.endpoint}/moto-api/reset", method="POST")
            urllib.request.urlopen(req, timeout=10).read()


def wait_execution(execution_arn: str, timeout: float = 120.0) -> dict:
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] != "RUNNING":
            return desc
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still RUNNING after {timeout}s")
        time.sleep(0.2)


def history_events(execution_arn: str) -> list[dict]:
    sfn = boto3.client("stepfunctions")
    return sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


def output(desc: dict) -> dict:
    return json.loads(desc.get("output") or "{}")
