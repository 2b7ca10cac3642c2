"""Structured logs, EMF metrics and per-step resource accounting for the handlers (Powertools)."""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aws_lambda_powertools import Logger, Metrics

from genomics.deployment import METRICS_NAMESPACE


def logger(service: str) -> Logger:
    return Logger(service=service)


def metrics(service: str) -> Metrics:
    return Metrics(namespace=METRICS_NAMESPACE, service=service)


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class Function(NamedTuple):
    """One Lambda function's Powertools logger and metrics, and the decorator its handler wears."""

    logger: Logger
    metrics: Metrics
    handler: Callable[[Handler], Handler]


def function(name: str, *, with_metrics: bool = True) -> Function:
    """The preamble every handler module shares, built once per container (at import)::

        logger, metrics, lambda_handler = function("vcf-processor")

        @lambda_handler
        def handler(event, context): ...

    The decorator injects the Lambda context into the structured logs and (``with_metrics``) flushes the
    EMF metrics the invocation added when it returns.
    """
    log, emf = logger(name), metrics(name)

    def decorate(fn: Handler) -> Handler:
        wrapped = log.inject_lambda_context(fn)
        return emf.log_metrics(wrapped) if with_metrics else wrapped

    return Function(log, emf, decorate)


@dataclass
class Step:
    """What one handler invocation cost: wall time, peak memory of this process and its children."""

    function: str
    memory_limit_mb: int
    started: float = field(default_factory=time.monotonic)
    duration_ms: int = 0
    max_rss_mb: float = 0.0
    # "process" (Lambda: the function's own process and its children) or "child processes" (local mode).
    memory_scope: str = "process"

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "duration_ms": self.duration_ms,
            "memory_limit_mb": self.memory_limit_mb,
            "max_rss_mb": round(self.max_rss_mb, 1),
            **({"memory_scope": self.memory_scope} if self.memory_scope != "process" else {}),
        }


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0  # ru_maxrss is KiB on Linux


# Local mode (genomics.local) runs many invocations in one process, so the process's RSS is not one
# handler's. There, each invocation is named by GENOMICS_LOCAL_INVOCATION in its environment; the
# adapter registers every child process an invocation starts, and a sampler reads each live child's
# VmHWM (its own peak RSS since exec) from /proc every SAMPLE_S seconds, crediting it to the invocation:
# a step records the peak of its own tools (bcftools, samtools, ...). (wait4's ru_maxrss is no use: a
# child's hiwater starts at its parent's RSS at fork time.)
SAMPLE_S = 0.05
_child_owner: dict[int, str] = {}
_invocation_peak_kib: dict[str, int] = {}
_child_lock = threading.Lock()
_sampler: threading.Thread | None = None


def _vm_hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None  # a zombie: no memory any more


def sample_children() -> None:
    """One pass over the registered children (the sampler thread calls this every SAMPLE_S)."""
    with _child_lock:
        children = list(_child_owner.items())
    for pid, invocation in children:
        hwm = _vm_hwm_kib(pid)
        with _child_lock:
            if hwm is None:
                _child_owner.pop(pid, None)
            else:
                _invocation_peak_kib[invocation] = max(_invocation_peak_kib.get(invocation, 0), hwm)


def _sample_forever() -> None:
    while True:
        sample_children()
        time.sleep(SAMPLE_S)


def child_started(pid: int) -> None:
    global _sampler
    invocation = os.environ.get("GENOMICS_LOCAL_INVOCATION")
    if not invocation:
        return
    with _child_lock:
        _child_owner[pid] = invocation
        if _sampler is None:
            _sampler = threading.Thread(target=_sample_forever, name="child-rss-sampler", daemon=True)
            _sampler.start()


def _local_peak_mb(invocation: str) -> float:
    with _child_lock:
        return _invocation_peak_kib.get(invocation, 0) / 1024.0


@contextmanager
def measure_step(function: str, context: Any = None) -> Iterator[Step]:
    """Time a handler's work; ``context`` is the Lambda context (its memory limit is billed)."""
    limit = int(getattr(context, "memory_limit_in_mb", 0) or 0)
    step = Step(function=function, memory_limit_mb=limit)
    try:
        yield step
    finally:
        step.duration_ms = int((time.monotonic() - step.started) * 1000)
        invocation = os.environ.get("GENOMICS_LOCAL_INVOCATION")
        if invocation:
            sample_children()
            step.max_rss_mb = _local_peak_mb(invocation)
            step.memory_scope = "child processes"
        else:
            step.max_rss_mb = _peak_rss_mb()
