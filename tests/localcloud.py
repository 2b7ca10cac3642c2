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
def no_scans(unique_id: str, scans: list[str]) -> Iterator[None]:
    """Forbid DynamoDB Scan on the default boto3 session while inside: a Scan fails the call that issued
    it and is recorded in ``scans`` (every access path must use a key or an index)."""

    def refuse(**_: object) -> None:
        scans.append("Scan")
        raise AssertionError("a DynamoDB Scan was issued: every access path must use a key or an index")

    session = boto3._get_default_session()
    session.events.register("before-call.dynamodb.Scan", refuse, unique_id=unique_id)
    try:
        yield
    finally:
        session.events.unregister("before-call.dynamodb.Scan", unique_id=unique_id)


@contextmanager
def deployed(stack: str = "test", settings: Settings | None = None) -> Iterator[tuple[LocalCloud, LocalStack]]:
    with local_cloud() as cloud:
        local = None
        try:
            names = Names(stack=stack, account_id=ACCOUNT_ID, region=REGION)
            local = deploy(names, settings or Settings(stack=stack))
            yield cloud, local
        finally:
            if local is not None:
                _settle(local.state_machine_arn)
            req = urllib.request.Request(f"{cloud.endpoint}/moto-api/reset", method="POST")
            urllib.request.urlopen(req, timeout=10).read()


def _settle(state_machine_arn: str, timeout: float = 60.0) -> None:
    """Let executions still running finish before the stack is reset under them."""
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            running = sfn.list_executions(stateMachineArn=state_machine_arn, statusFilter="RUNNING")["executions"]
        except sfn.exceptions.StateMachineDoesNotExist:
            return
        if not running:
            return
        time.sleep(0.2)


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
