"""The request plumbing the three HTTP APIs share: the status API (:mod:`genomics.status_api`), the partner
DRS routes (:mod:`genomics.drs.api`) and the web app (:mod:`genomics.webapp.api`).

Each API keeps its own error codes; what they share is the shape: an :class:`HttpError` (status, code,
message) raised by a route and answered as JSON at one boundary, a :class:`Request` read once from the API
Gateway (payload format 2.0) event with checked path parameters, and :func:`json_response`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self


class HttpError(Exception):
    """A request the API answers with an error status and a documented code (not a failure of the API)."""

    def __init__(self, status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message
        self.headers = dict(headers or {})  # e.g. Retry-After of a 429

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def json_response(status_code: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway (payload 2.0) JSON response, never cached."""
    return {
        "statusCode": status_code,
        "headers": {"content-type": "application/json", "cache-control": "no-store", **(headers or {})},
        "body": json.dumps(body, default=str, sort_keys=True),
    }


@dataclass(frozen=True)
class Request:
    """One request's path parameters, query and JSON body. A subclass names its API's error class and the
    code of a malformed request (``bad_request``)."""

    path: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] = field(default_factory=dict)

    error: ClassVar[type[HttpError]] = HttpError
    bad_request_code: ClassVar[str] = "BAD_REQUEST"
    # What a path parameter matches when the route names no pattern of its own.
    default_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

    @classmethod
    def bad_request(cls, message: str) -> HttpError:
        return cls.error(400, cls.bad_request_code, message)

    @classmethod
    def from_event(cls, event: Mapping[str, Any], *, with_body: bool = True) -> Self:
        return cls(path=dict(event.get("pathParameters") or {}), query=dict(event.get("queryStringParameters") or {}),
                   body=cls.json_body(event) if with_body else {})

    @classmethod
    def json_body(cls, event: Mapping[str, Any]) -> dict[str, Any]:
        """The event's body as a JSON object (``{}`` when there is none)."""
        raw = event.get("body")
        if not raw:
            return {}
        if event.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except (TypeError, ValueError) as e:
            raise cls.bad_request("the request body is not JSON") from e
        if not isinstance(body, dict):
            raise cls.bad_request("the request body must be a JSON object")
        return body

    def param(self, name: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self.path.get(name, "")
        if not isinstance(value, str) or not (pattern or self.default_pattern).match(value):
            raise self.bad_request(f"{name}={value!r} is not a valid {name}")
        return value
