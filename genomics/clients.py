"""AWS clients built once per container and shared by every invocation (the Powertools style).

A Lambda container serves many invocations: a boto3 client (and the ledger around one) is built the
first time a handler asks for it, kept at module level and passed down, so a warm invocation pays for
neither the client's construction (~10 ms each) nor a new TLS connection; TCP keep-alive holds the
connection open between invocations.

What a client was built from is part of its cache key: the default boto3 session (moto's ``mock_aws``
installs a fresh one per test), and the environment that chooses the region, the endpoint (the local
mode's moto server) and the credentials. A test that switches any of them gets a new client; a fault
armed by :mod:`genomics.faults` (a handler on the default session, which only clients built afterwards
see) empties the cache with :func:`reset`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# The environment a client is built from (besides the service's own AWS_ENDPOINT_URL_<SERVICE>).
ENVIRONMENT = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID")

_cache: dict[tuple[str, tuple[str | None, ...]], tuple[object, Any]] = {}
_lock = threading.Lock()


def cached(name: str, build: Callable[[], T], *environment: str) -> T:
    """``build()`` once per container for ``name``, the default boto3 session and the environment
    (:data:`ENVIRONMENT` plus the variables named in ``environment``); afterwards the same object."""
    import boto3  # here, not at import: the CLI's commands that make no AWS call start faster

    session = boto3._get_default_session()
    key = (name, tuple(os.environ.get(k) for k in (*ENVIRONMENT, *environment)))
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] is session:
        return hit[1]
    value = build()
    with _lock:
        _cache[key] = (session, value)
    return value


def config(**options: Any) -> Any:
    """A botocore ``Config`` with ``options`` and TCP keep-alive: a warm container's pooled connection
    survives the idle time between invocations instead of being dropped silently by a middlebox."""
    from botocore.config import Config

    return Config(tcp_keepalive=True, **options)


def client(service: str) -> Any:
    """The container's boto3 client for ``service`` (with TCP keep-alive)."""
    import boto3

    endpoint = f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}"
    return cached(f"client:{service}", lambda: boto3.client(service, config=config()), endpoint)


def reset() -> None:
    """Forget every cached client and ledger: the next request builds new ones."""
    with _lock:
        _cache.clear()
