"""The handler factory (genomics.observability.function): one logger, one metrics object and the decorator
every handler wears; the decorator puts the Lambda context into each log line and flushes the invocation's
EMF metrics when the handler returns."""

from __future__ import annotations

import json
from typing import Any

from genomics.lambda_context import LocalContext
from genomics.observability import function


def _context() -> LocalContext:
    return LocalContext(function_name="genomics-dev-probe",
                        invoked_function_arn="arn:aws:lambda:us-east-1:1:function:p", memory_limit_in_mb=256,
                        timeout_s=30, aws_request_id="req-probe", log_group_name="/aws/p")


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_observability_function_logs_with_context_and_flushes_metrics(capsys) -> None:
    logger, metrics, lambda_handler = function("probe")

    @lambda_handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        metrics.add_metric(name="Probes", unit="Count", value=2)
        logger.info("probe ran", extra={"n": event["n"]})
        return {"ok": True}

    assert handler({"n": 7}, _context()) == {"ok": True}
    lines = _json_lines(capsys.readouterr().out)
    logged = [x for x in lines if x.get("message") == "probe ran"]
    assert logged and logged[0]["function_request_id"] == "req-probe" and logged[0]["n"] == 7
    assert logged[0]["service"] == "probe"
    emf = [x for x in lines if "_aws" in x]
    assert emf and emf[0]["Probes"] in (2, [2])
    assert emf[0]["service"] == "probe"


def test_observability_function_without_metrics_emits_none(capsys) -> None:
    logger, _metrics, lambda_handler = function("probe-quiet", with_metrics=False)

    @lambda_handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("quiet")
        return {}

    assert handler({}, _context()) == {}
    lines = _json_lines(capsys.readouterr().out)
    assert [x["message"] for x in lines if "message" in x] == ["quiet"]
    assert not [x for x in lines if "_aws" in x]
