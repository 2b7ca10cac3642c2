"""The one-page app's assets (``genomics/webapp/static/``), served by the web-api function itself.

Bundled in the handler image (a few tens of KB; nothing loads from a CDN), answered for ``GET /`` and
``GET /assets/{name}`` with a strict Content-Security-Policy: scripts, styles, images and API calls from the
app's own origin only; ``connect-src`` adds exactly the S3 origins that presigned uploads go to (the raw
bucket; the endpoint in local mode); no inline script or style, no framing, no form posts elsewhere.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

ASSETS: dict[str, str] = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
INDEX = "index.html"


def s3_origins(raw_bucket: str, region: str, endpoint_url: str | None) -> list[str]:
    """Where the browser goes besides the app: the raw bucket's virtual-hosted origin (upload parts) and
    Cognito's regional endpoint (sign-in), or the one local endpoint that serves both."""
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        return [f"{parts.scheme}://{parts.netloc}"]
    return [f"https://{raw_bucket}.s3.{region}.amazonaws.com", cognito_endpoint(region, None).rstrip("/")]


def cognito_endpoint(region: str, endpoint_url: str | None) -> str:
    return (endpoint_url.rstrip("/") + "/") if endpoint_url else f"https://cognito-idp.{region}.amazonaws.com/"


def render_index(settings: Mapping[str, str]) -> str:
    """The page with the sign-in settings (region, app client id, Cognito endpoint) as body data."""
    page = read(INDEX)
    for key in ("region", "client_id", "cognito"):
        page = page.replace("{{" + key + "}}", html.escape(settings.get(key, ""), quote=True))
    return page


def content_security_policy(connect: list[str]) -> str:
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src " + " ".join(["'self'", *connect]),
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ])


def security_headers(connect: list[str]) -> dict[str, str]:
    return {
        "content-security-policy": content_security_policy(connect),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "strict-transport-security": "max-age=63072000; includeSubDomains",
        "permissions-policy": "camera=(), microphone=(), geolocation=()",
    }


def read(name: str) -> str:
    return resources.files("genomics.webapp").joinpath("static", name).read_text(encoding="utf-8")


def asset_response(route: str, path: Mapping[str, str], connect: list[str],
                   settings: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``GET /`` -> the page; ``GET /assets/{name}`` -> one bundled asset; anything else 404."""
    headers = {**security_headers(connect), "cache-control": "no-cache"}
    if route == "GET /":
        return {"statusCode": 200, "headers": {**headers, "content-type": "text/html; charset=utf-8"},
                "body": render_index(settings or {})}
    name = path.get("name", "")
    if route == "GET /assets/{name}" and name in ASSETS:
        try:
            body = read(name)
        except FileNotFoundError:
            body = None
        if body is not None:
            return {"statusCode": 200, "headers": {**headers, "content-type": ASSETS[name]}, "body": body}
    return {"statusCode": 404, "headers": {**headers, "content-type": "text/plain"}, "body": "not found"}


STATIC_ROUTES = ("GET /", "GET /assets/{name}")
