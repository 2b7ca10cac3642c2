"""Structured logs, EMF metrics and per-step resource accounting for the handlers (Powertools)."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from genomics.deployment import METRICS_NAMESPACE


def logger(service: str) -> Logger:
    return Logger(service=service)


def metrics(service: str) -> Metrics:
    return Metrics(namespace=METRICS_NAMESPACE, service=service)


@dataclass
class Step:
    """What one handler invocation cost: wall time, peak memory of this process and its children."""

    function: str
    memory_limit_mb: int
    started: float = field(default_factory=time.monotonic)
    duration_ms: int = 0
    max_rss_mb: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "duration_ms": self.duration_ms,
            "memory_limit_mb": self.memory_limit_mb,
            "max_rss_mb": round(self.max_rss_mb, 1),
        }


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0  # ru_maxrss is KiB on Linux


@contextmanager
def measure_step(function: str, context: Any = None) -> Iterator[Step]:
    """Time a handler's work; ``context`` is the Lambda context (its memory limit is billed)."""
    limit = int(getattr(context, "memory_limit_in_mb", 0) or 0)
    step = Step(function=function, memory_limit_mb=limit)
    try:
        yield step
    finally:
        step.duration_ms = int((time.monotonic() - step.started) * 1000)
        step.max_rss_mb = _peak_rss_mb()
