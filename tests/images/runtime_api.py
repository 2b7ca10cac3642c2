"""A small Lambda Runtime API server (the 2018-06-01 interface) on 127.0.0.1, for running the handler image
through its real entrypoint (``awslambdaric``) without AWS.

The runtime inside the container long-polls ``GET /2018-06-01/runtime/invocation/next``; this server
answers with the next queued event and the headers Lambda sends (request id, deadline, function ARN,
trace id). The runtime then posts ``/invocation/{id}/response`` or ``/invocation/{id}/error``, or
``/init/error`` when the handler cannot even be loaded. Tests queue events with :meth:`invoke` and wait
for what came back with :meth:`outcome`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

PREFIX = "/2018-06-01/runtime"


class RuntimeAPIError(Exception):
    """Base class of this module's failures."""


class OutcomeTimeout(RuntimeAPIError):
    """No response or error arrived for an invocation in time."""


class InitFailed(RuntimeAPIError):
    """The runtime reported an initialisation error (e.g. the handler module does not import)."""

    def __init__(self, payload: Any) -> None:
        super().__init__(f"runtime init error: {payload}")
        self.payload = payload


@dataclass
class Outcome:
    """What the runtime posted for one invocation."""

    request_id: str
    kind: Literal["response", "error"]
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error_type(self) -> str | None:
        if self.kind != "error" or not isinstance(self.payload, dict):
            return None
        return str(self.payload.get("errorType") or "") or None


@dataclass
class _Invocation:
    request_id: str
    body: bytes
    function_arn: str
    deadline_ms: int


class RuntimeAPIServer:
    """Queue of invocations served over the Runtime API on ``127.0.0.1:<port>`` (port 0 = any free)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._cond = threading.Condition()
        self._queue: deque[_Invocation] = deque()
        self._outcomes: dict[str, Outcome] = {}
        self._closed = False
        self.init_errors: list[Any] = []
        self.next_calls = 0  # how many times the runtime asked for work (proves it started)
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="runtime-api", daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        """The value for ``AWS_LAMBDA_RUNTIME_API`` (host:port)."""
        host, port = self._httpd.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> RuntimeAPIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> RuntimeAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test side -----------------------------------------------------------------------------------
    def invoke(self, event: Any, *, function_arn: str, timeout_s: int = 300) -> str:
        """Queue one event; returns its request id."""
        inv = _Invocation(
            request_id=str(uuid.uuid4()),
            body=json.dumps(event).encode(),
            function_arn=function_arn,
            deadline_ms=int((time.time() + timeout_s) * 1000),
        )
        with self._cond:
            self._queue.append(inv)
            self._cond.notify_all()
        return inv.request_id

    def outcome(self, request_id: str, timeout_s: float) -> Outcome:
        """Wait for the response or error of one invocation."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while request_id not in self._outcomes:
                if self.init_errors:
                    raise InitFailed(self.init_errors[0])
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OutcomeTimeout(f"no outcome for invocation {request_id} within {timeout_s} s")
                self._cond.wait(min(left, 0.2))
            return self._outcomes[request_id]

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until the runtime has asked for work at least once (its handler loaded)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self.next_calls == 0:
                if self.init_errors:
                    raise InitFailed(self.init_errors[0])
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OutcomeTimeout(f"the runtime did not ask for an invocation within {timeout_s} s")
                self._cond.wait(min(left, 0.2))

    # -- server side ---------------------------------------------------------------------------------
    def _next(self) -> _Invocation | None:
        with self._cond:
            self.next_calls += 1
            self._cond.notify_all()
            while not self._queue and not self._closed:
                self._cond.wait(0.5)
            return None if self._closed else self._queue.popleft()

    def _record(self, outcome: Outcome) -> None:
        with self._cond:
            self._outcomes[outcome.request_id] = outcome
            self._cond.notify_all()

    def _record_init_error(self, payload: Any) -> None:
        with self._cond:
            self.init_errors.append(payload)
            self._cond.notify_all()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    # The container was stopped while its runtime long-polled for work.
                    self.close_connection = True

            def _raw_body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()  # the blank line after the last chunk
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _body(self) -> Any:
                raw = self._raw_body()
                try:
                    return json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    return raw.decode(errors="replace")

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404, b'{"errorType":"NotFound"}')
                    return
                inv = api._next()
                if inv is None:
                    self._reply(500, b'{"errorType":"ServerShuttingDown"}')
                    return
                self._reply(200, inv.body, {
                    "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
                })

            def do_POST(self) -> None:
                parts = self.path.split("/")
                # /2018-06-01/runtime/invocation/{id}/{response|error}  or  /2018-06-01/runtime/init/error
                payload = self._body()
                headers = {k: v for k, v in self.headers.items()}
                if self.path == f"{PREFIX}/init/error":
                    api._record_init_error(payload)
                    self._reply(202, b'{"status":"OK"}')
                elif self.path.startswith(f"{PREFIX}/invocation/") and len(parts) == 6 and parts[5] in (
                    "response",
                    "error",
                ):
                    api._record(Outcome(parts[4], parts[5], payload, headers))  # type: ignore[arg-type]
                    self._reply(202, b'{"status":"OK"}')
                else:
                    self._reply(404, b'{"errorType":"NotFound"}')

        return Handler
