"""Local mode's API Gateway for the web app: an HTTP server on 127.0.0.1 that does what the deployed HTTP
API does — match the request to a route of ``infra.webapp`` (``genomics.webapp.api.ROUTES`` + the static
routes), run the **JWT authorizer** on ``/api`` routes, and invoke the deployed web-api function (through
moto's Lambda, hence the local adapter) with a payload-2.0 event.

moto does not emulate API Gateway's JWT authorizer, so :class:`JwtAuthorizer` verifies the bearer token as
API Gateway does: RS256 signature against the keys the pool publishes (moto's
``/<pool id>/.well-known/jwks.json``), ``iss`` equal to the pool's issuer, ``client_id`` (access tokens)
or ``aud`` (ID tokens) among the audiences (the app client), ``exp`` in the future (and ``nbf``/``iat``
not in the future). A request that fails gets API Gateway's answer: 401 ``{"message":"Unauthorized"}``
without calling the function. The verified claims reach the function as API Gateway passes them
(``requestContext.authorizer.jwt.claims``; array claims as ``"[a b]"``). Tokens are never logged.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from genomics.webapp.api import ROUTES, match_route
from genomics.webapp.static import STATIC_ROUTES

ALL_ROUTES = (*ROUTES, *STATIC_ROUTES)
MAX_BODY = 1024 * 1024  # API calls only; file bytes go straight to S3


class Unauthorized(Exception):
    """The token is missing, malformed, badly signed, expired, or for another issuer/audience."""


@dataclass
class JwtAuthorizer:
    """API Gateway's JWT authorizer: ``issuer``, ``audiences`` and the issuer's JWKS at ``jwks_url``."""

    issuer: str
    audiences: tuple[str, ...]
    jwks_url: str
    leeway_s: int = 0
    _keys: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _key_set(self) -> Any:
        from joserfc.jwk import KeySet

        with self._lock:
            if self._keys is None:
                with urllib.request.urlopen(self.jwks_url, timeout=10) as resp:  # loopback (moto)
                    self._keys = KeySet.import_key_set(json.loads(resp.read()))
            return self._keys

    def verify(self, authorization: str | None, now: float | None = None) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError

        if not authorization:
            raise Unauthorized("no Authorization header")
        scheme, _, token = authorization.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else authorization.strip()
        try:
            decoded = jwt.decode(token, self._key_set(), algorithms=["RS256"])
        except (JoseError, ValueError) as e:
            raise Unauthorized(f"signature or format: {type(e).__name__}") from e
        claims = dict(decoded.claims)
        t = int(now if now is not None else time.time())
        if claims.get("iss") != self.issuer:
            raise Unauthorized("issuer")
        audience = claims.get("client_id") if claims.get("token_use") == "access" else claims.get("aud")
        if audience not in self.audiences:
            raise Unauthorized("audience")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + self.leeway_s <= t:
            raise Unauthorized("expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if isinstance(value, int | float) and value - self.leeway_s > t:
                raise Unauthorized(f"{name} in the future")
        return claims


def gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway hands them to the integration: strings, arrays as ``"[a b]"``."""
    out: dict[str, str] = {}
    for key, value in claims.items():
        if isinstance(value, list):
            out[key] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            out[key] = str(value)
    return out


def event_for(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes, route: str,
              params: Mapping[str, str], claims: Mapping[str, Any] | None, request_id: str) -> dict[str, Any]:
    """The payload-2.0 event of one request (the Authorization header is not forwarded to the function)."""
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items() if k.lower() != "authorization"},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
                           "requestId": request_id, "routeKey": route, "stage": "$default"},
        "isBase64Encoded": False,
    }
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": gateway_claims(claims), "scopes": None}}
    if params:
        event["pathParameters"] = dict(params)
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query))
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


@dataclass
class Gateway:
    """Routes, authorizer and integration (a callable taking the event, returning the function's answer)."""

    authorizer: JwtAuthorizer
    invoke: Any  # Callable[[dict], dict]
    _count: int = 0

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes
               ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        found = match_route(method, parts.path, ALL_ROUTES)
        if found is None:
            return 404, {"content-type": "application/json"}, b'{"message":"Not Found"}'
        route, params = found
        claims = None
        if route not in STATIC_ROUTES:
            auth = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
            try:
                claims = self.authorizer.verify(auth)
            except Unauthorized:
                return 401, {"content-type": "application/json", "www-authenticate": "Bearer"}, \
                    b'{"message":"Unauthorized"}'
        self._count += 1
        event = event_for(method, parts.path, parts.query, headers, body, route, params, claims,
                          f"local-{self._count}")
        out = self.invoke(event)
        if not isinstance(out, dict) or "statusCode" not in out:
            return 500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
        payload = out.get("body") or ""
        data = base64.b64decode(payload) if out.get("isBase64Encoded") else str(payload).encode()
        return int(out["statusCode"]), {str(k): str(v) for k, v in (out.get("headers") or {}).items()}, data


def lambda_invoker(function_name: str, session: Any) -> Any:
    """Invoke the deployed function through moto's Lambda (the local adapter runs the handler)."""
    client = session.client("lambda")

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        resp = client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        return json.loads(resp["Payload"].read() or b"null")

    return invoke


def serve(gateway: Gateway, port: int = 0) -> ThreadingHTTPServer:
    """Start the gateway on 127.0.0.1 (a free port by default) in a daemon thread; ``server_address``
    has the port. ``shutdown()`` stops it."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._send(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
                return
            body = self.rfile.read(length) if length else b""
            status, headers, data = gateway.handle(self.command, self.path, dict(self.headers.items()), body)
            self._send(status, headers, data)

        def _send(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "connection"):
                    self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:  # no access log with query strings
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="web-gateway", daemon=True).start()
    return server
