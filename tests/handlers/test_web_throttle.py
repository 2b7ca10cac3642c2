"""Per-user rate limiting of the web app's API on moto: a fixed-window counter per Cognito sub in the
metadata table, moved by conditional updates; past the limit web-api answers 429 WEB_RATE_LIMITED with
Retry-After, other users are not affected, and the next window starts afresh."""

from __future__ import annotations

import json

import boto3
import pytest

from genomics.deployment import Settings
from genomics.webapp.throttle import RateLimited, Throttle
from tests.handlers.test_web_api import _call, _event


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _items(stack) -> list[dict]:
    table = stack.names.table("metadata")
    return [i for i in boto3.client("dynamodb").scan(TableName=table)["Items"] if i["pk"]["S"].startswith("THROTTLE#")]


def test_throttle_counts_each_user_in_a_fixed_window(stack) -> None:
    clock = Clock(1_000_030.0)  # 30 s into a 60 s window that began at 1,000,020
    throttle = Throttle(stack.names.table("metadata"), limit=3, window_s=60, clock=clock)
    for _ in range(3):
        throttle.hit("sub-a")
    with pytest.raises(RateLimited) as limited:
        throttle.hit("sub-a")
    assert limited.value.code == "WEB_RATE_LIMITED" and limited.value.retry_after_s == 50
    throttle.hit("sub-b")  # another user has a counter of its own
    clock.now += 50  # the next window
    for _ in range(3):
        throttle.hit("sub-a")
    with pytest.raises(RateLimited):
        throttle.hit("sub-a")
    # one item per user, overwritten every window: the table does not grow with traffic
    counters = {i["pk"]["S"]: int(i["hits"]["N"]) for i in _items(stack)}
    assert counters == {"THROTTLE#sub-a": 3, "THROTTLE#sub-b": 1}


def test_throttle_a_window_begun_by_a_concurrent_request_is_counted(stack) -> None:
    """Two requests at a new window: the one whose reset lost counts in the window the other began."""
    clock = Clock(120.0)
    first = Throttle(stack.names.table("metadata"), limit=2, window_s=60, clock=clock)
    first.hit("sub-a")
    clock.now = 185.0
    second = Throttle(stack.names.table("metadata"), limit=2, window_s=60, clock=clock)
    real = second._update
    calls: list[str] = []

    def racing(sub: str, expression: str, condition: str, values: dict) -> bool:
        calls.append(expression)
        if expression.startswith("SET window_start") and len(calls) == 2:
            first.hit(sub)  # the other request begins the window between our two updates
        return real(sub, expression, condition, values)

    second._update = racing  # type: ignore[method-assign]
    second.hit("sub-a")
    assert calls == ["SET hits = hits + :one", "SET window_start = :w, hits = :one", "SET hits = hits + :one"]
    assert {i["pk"]["S"]: int(i["hits"]["N"]) for i in _items(stack)} == {"THROTTLE#sub-a": 2}


def test_web_api_answers_429_with_retry_after_past_the_users_limit(stack, monkeypatch) -> None:
    monkeypatch.setenv("WEB_RATE_LIMIT", "2")
    responses = []
    for k, v in stack.env("web-api").items():
        if k != "WEB_RATE_LIMIT":
            monkeypatch.setenv(k, v)
    from handlers import web_api

    for user in ("alice", "alice", "alice", "bob"):
        resp = web_api.handler(_event("GET /api/me", user=user, sub=f"sub-{user}"), stack.context("web-api"))
        responses.append(resp)
    assert [r["statusCode"] for r in responses] == [200, 200, 429, 200]
    limited = responses[2]
    assert json.loads(limited["body"])["error"]["code"] == "WEB_RATE_LIMITED"
    assert 1 <= int(limited["headers"]["retry-after"]) <= 60


def test_web_api_rate_limit_comes_from_the_settings(stack, monkeypatch) -> None:
    env = stack.env("web-api")
    assert (env["WEB_RATE_LIMIT"], env["WEB_RATE_WINDOW_S"]) == ("300", "60")
    status, _ = _call(stack, monkeypatch, _event("GET /api/me"))
    assert status == 200
    for bad in ({"web_rate_limit": 0}, {"web_rate_window_s": 0}, {"web_rate_window_s": 7200}):
        with pytest.raises(ValueError, match="web_rate"):
            Settings(stack="t", **bad)
