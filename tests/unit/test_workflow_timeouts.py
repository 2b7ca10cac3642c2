"""Every workflow timeout comes from the stack settings (genomics.deployment.Settings), none is a literal."""

from __future__ import annotations

from typing import Any

from genomics import workflow
from genomics.deployment import PIPELINE_FUNCTIONS, Settings

_ARNS = {logical: f"arn:aws:lambda:us-east-1:123456789012:function:{logical}" for logical in PIPELINE_FUNCTIONS}


def _tasks(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("Type") == "Task":
            found.append(node)
        for value in node.values():
            found += _tasks(value)
    elif isinstance(node, list):
        for value in node:
            found += _tasks(value)
    return found


def _logical(resource: str) -> str:
    return resource.rsplit(":function:", 1)[1]


def test_workflow_timeouts_follow_each_functions_timeout_plus_margin() -> None:
    settings = Settings(stack="t", light_timeout_s=77, heavy_timeout_s=611, task_timeout_margin_s=13)
    tasks = _tasks(workflow.definition(_ARNS, settings))
    assert tasks
    for task in tasks:
        logical = _logical(task["Resource"])
        expected = (611 if logical != "metadata-updater" else 77) + 13
        assert task["TimeoutSeconds"] == expected, (logical, task.get("Comment"))


def test_workflow_timeouts_change_with_the_settings() -> None:
    short = workflow.definition(_ARNS, Settings(stack="t", heavy_timeout_s=300))
    long = workflow.definition(_ARNS, Settings(stack="t", heavy_timeout_s=900))
    assert {t["TimeoutSeconds"] for t in _tasks(short)} != {t["TimeoutSeconds"] for t in _tasks(long)}
    assert 900 not in {t["TimeoutSeconds"] for t in _tasks(short)}


def test_workflow_map_concurrency_follows_the_settings() -> None:
    states = workflow.definition(_ARNS, Settings(stack="t", map_concurrency=7))["States"]
    assert states["ProcessShards"]["MaxConcurrency"] == 7
