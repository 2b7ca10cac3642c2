"""Failure modes shared across handlers. Each is a small class; boundaries translate into them.

The Step Functions workflow retries on the error *name* ``TransientError`` (see genomics.workflow), so
the class name is part of the contract.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, ConnectionError, EndpointConnectionError, ReadTimeoutError

# DynamoDB/S3 error codes that mean "try again later" (after botocore's own retries gave up).
TRANSIENT_AWS_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "SlowDown",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "503",
        "500",
        "TransactionConflictException",
    }
)


class TransientError(Exception):
    """AWS throttled or failed on its side; the workflow retries with backoff and jitter."""


class UserInputError(Exception):
    """Something the uploader can fix. Carries a stable code and a location."""

    code = "INPUT_INVALID"

    def __init__(self, message: str, *, code: str | None = None, location: str | None = None) -> None:
        if code:
            self.code = code
        self.location = location
        super().__init__(message)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self), "location": self.location}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | EndpointConnectionError | ReadTimeoutError):
        return True
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return err.get("Code") in TRANSIENT_AWS_CODES or int(status or 0) >= 500
    return False


def reraise_transient(exc: BaseException) -> None:
    """Translate a transient AWS failure into TransientError; anything else is left to the caller."""
    if is_transient(exc):
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
