"""Fault injection at named points, for tests and for rehearsing the runbooks on ``genomics local serve``.

Two kinds of point:

- **an AWS call** ``<service>.<Operation>`` (``dynamodb.UpdateItem``, ``s3.GetObject``,
  ``stepfunctions.StartExecution``, ...): a botocore ``before-call`` handler on the default session
  answers instead of the service, so the error travels through botocore's parsing and raises the same
  ``ClientError`` a real throttle or 5xx would (after botocore's retries gave up); ``timeout`` raises
  botocore's ``ReadTimeoutError``. Clients created after the fault is armed see it (arming and disarming
  empty the container's client cache, :mod:`genomics.clients`, so the shared clients are rebuilt);
- **a handler** ``handler.<function>`` (``handler.vcf-processor``): the local adapter asks
  :func:`handler_fault` before it runs the function, and a ``crash`` raises ``HandlerCrash`` (the handler
  died: Lambda's ``Runtime.ExitError``), a ``timeout`` raises ``HandlerTimeout`` (Lambda's
  ``Sandbox.Timedout``), as Lambda would report them.

A spec (``genomics local serve --faults SPEC``) is a comma-separated list of
``<point>=<kind>[:<times>][@<probability>]``: ``kind`` is ``throttle``, ``5xx``, ``timeout`` or
``crash`` (handlers only); ``times`` caps how often it fires (default unlimited); ``probability``
(0-1, default 1) draws from one seeded generator (``seed``), so a chaos run is reproducible. Example:
``dynamodb.UpdateItem=throttle:3,handler.quality-metrics=crash:1,s3.GetObject=5xx@0.05``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from genomics import clients

KINDS = {"throttle": ("ThrottlingException", 400), "5xx": ("InternalError", 500), "timeout": ("", 0),
         "crash": ("", 0)}


CODES: dict[str, str] = {
    "CLI_FAULT_SPEC": "`genomics local serve --faults SPEC`: the spec is not <point>=<kind>[:<times>][@<probability>] "
    "with a known kind (throttle, 5xx, timeout; crash for handler.<function> points).",
}


class FaultSpecError(ValueError):
    code = "CLI_FAULT_SPEC"


class HandlerCrash(RuntimeError):
    """Injected: the handler's process died (Lambda reports Runtime.ExitError)."""


class HandlerTimeout(RuntimeError):
    """Injected: the handler ran out of time (Lambda reports Sandbox.Timedout)."""


@dataclass
class Fault:
    """One armed fault: where, what, how often (``times``; None = always) and with what probability."""

    point: str
    kind: str
    times: int | None = 1
    probability: float = 1.0
    rng: random.Random = field(default_factory=random.Random)
    # The error answered (defaults from the kind: ThrottlingException/400, InternalError/500).
    code: str = ""
    status: int = 0
    fired: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fire(self, params: Any = None) -> bool:
        """Whether this call fails (counts it when it does)."""
        with self._lock:
            if self.times is not None and self.fired >= self.times:
                return False
            if self.probability < 1.0 and self.rng.random() >= self.probability:
                return False
            self.fired += 1
            self.seen.append(dict(params or {}))
            return True

    @property
    def service(self) -> str:
        return self.point.split(".", 1)[0]

    @property
    def operation(self) -> str:
        return self.point.split(".", 1)[1]

    def __call__(self, params: Any = None, **kwargs: Any) -> Any:
        """botocore ``before-call`` handler."""
        if not self.fire(params):
            return None
        if self.kind == "timeout":
            raise ReadTimeoutError(endpoint_url=f"https://{self.service}.amazonaws.com/ (injected timeout)")
        code, status = self.code or KINDS[self.kind][0], self.status or KINDS[self.kind][1]
        return (
            AWSResponse(f"https://{self.service}.amazonaws.com/", status, {}, None),
            {
                "Error": {"Code": code, "Message": f"injected {code} at {self.point}"},
                "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": 4},
            },
        )


_armed: list[Fault] = []
_armed_lock = threading.Lock()


def parse(spec: str, seed: int = 0) -> list[Fault]:
    """``<point>=<kind>[:<times>][@<probability>]``, comma-separated (see the module's docstring)."""
    rng = random.Random(seed)
    faults: list[Fault] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        point, sep, rest = part.partition("=")
        if not sep or "." not in point:
            raise FaultSpecError(f"fault {part!r}: expected <service>.<Operation>=<kind> or handler.<function>=<kind>")
        rest, _, prob = rest.partition("@")
        kind, _, times = rest.partition(":")
        if kind not in KINDS:
            raise FaultSpecError(f"fault {part!r}: kind must be one of {', '.join(KINDS)}")
        if kind == "crash" and not point.startswith("handler."):
            raise FaultSpecError(f"fault {part!r}: crash applies to handler.<function> points only")
        try:
            count = int(times) if times else None
            probability = float(prob) if prob else 1.0
        except ValueError as e:
            raise FaultSpecError(f"fault {part!r}: times must be an integer, probability a number") from e
        if not 0.0 < probability <= 1.0 or (count is not None and count < 1):
            raise FaultSpecError(f"fault {part!r}: probability in (0, 1], times >= 1")
        faults.append(Fault(point=point, kind=kind, times=count, probability=probability,
                            rng=random.Random(rng.random())))
    return faults


def arm(faults: list[Fault]) -> None:
    """Arm faults for this process: AWS-call faults on the default boto3 session, handler faults for
    the local adapter."""
    session = boto3._get_default_session()
    with _armed_lock:
        for f in faults:
            if not f.point.startswith("handler."):
                session.events.register(f"before-call.{f.service}.{f.operation}", f, unique_id=f"fault-{id(f)}")
            _armed.append(f)
    clients.reset()  # the shared clients were built without the fault's handler


def disarm(faults: list[Fault]) -> None:
    session = boto3._get_default_session()
    with _armed_lock:
        for f in faults:
            if not f.point.startswith("handler."):
                session.events.unregister(f"before-call.{f.service}.{f.operation}", unique_id=f"fault-{id(f)}")
            if f in _armed:
                _armed.remove(f)
    clients.reset()


def handler_fault(function: str) -> None:
    """Called by the local adapter before it runs ``function`` (its logical name or physical name):
    raises the armed crash/timeout, if any fires."""
    with _armed_lock:
        candidates = [f for f in _armed if f.point.startswith("handler.")]
    for f in candidates:
        logical = f.point.split(".", 1)[1]
        if (function == logical or function.endswith(f"-{logical}")) and f.fire({"function": function}):
            if f.kind == "crash":
                raise HandlerCrash(f"injected crash of {function} (the process exited)")
            raise HandlerTimeout(f"injected timeout: {function} did not finish within its timeout")


@contextmanager
def inject(service: str, operation: str, code: str, status: int = 400, times: int = 1) -> Iterator[Fault]:
    """One AWS-call fault answering ``code``/``status`` (``times`` calls), armed inside the block."""
    fault = Fault(point=f"{service}.{operation}", kind="5xx" if status >= 500 else "throttle", times=times,
                  code=code, status=status)
    arm([fault])
    try:
        yield fault
    finally:
        disarm([fault])
