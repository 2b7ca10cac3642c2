"""Fault injection at botocore's boundary: an AWS call answers with an error instead of reaching moto.

``before-call`` handlers that return a response short-circuit the request, so the error travels
through botocore's parsing and raises the same ClientError a real throttle or 5xx would (after
botocore's own retries gave up). Clients created after ``inject`` starts see the fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


@dataclass
class Fault:
    service: str
    operation: str
    code: str
    status: int
    times: int
    fired: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, params: Any = None, **kwargs: Any) -> Any:
        if self.fired >= self.times:
            return None
        self.fired += 1
        self.seen.append(dict(params or {}))
        return (
            AWSResponse(f"https://{self.service}.amazonaws.com/", self.status, {}, None),
            {
                "Error": {"Code": self.code, "Message": f"injected {self.code}"},
                "ResponseMetadata": {"HTTPStatusCode": self.status, "RetryAttempts": 4},
            },
        )


@contextmanager
def inject(service: str, operation: str, code: str, status: int = 400, times: int = 1) -> Iterator[Fault]:
    fault = Fault(service, operation, code, status, times)
    session = boto3._get_default_session()
    event = f"before-call.{service}.{operation}"
    session.events.register(event, fault, unique_id=f"fault-{id(fault)}")
    try:
        yield fault
    finally:
        session.events.unregister(event, unique_id=f"fault-{id(fault)}")
