"""moto server on 127.0.0.1 with Step Functions execution on and Lambda routed to our handlers."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

from genomics.local import adapter

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalCloud:
    port: int
    server: ThreadedMotoServer

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def client_environment(port: int) -> dict[str, str]:
    """What every AWS client in this process (handlers, CLI, htslib) needs to reach moto server."""
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # moto's Step Functions interpreter calls Lambda through this port.
        "MOTO_PORT": str(port),
        # htslib's S3 plugin (bcftools/samtools reading s3:// URLs) against moto.
        "HTS_S3_HOST": f"127.0.0.1:{port}",
        "HTS_S3_ADDRESS_STYLE": "path",
        # Powertools: no X-Ray, metrics to stdout (captured into the function's logs).
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


@contextlib.contextmanager
def local_cloud(port: int | None = None) -> Iterator[LocalCloud]:
    """Start moto server on loopback, configure it, and point this process's AWS clients at it."""
    port = port or free_port()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per AWS call
    with adapter.patched_environ(client_environment(port)):
        adapter.install()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/moto-api/config",
                data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            urllib.request.urlopen(req, timeout=10).read()
            yield LocalCloud(port=port, server=server)
        finally:
            adapter.drain()
            server.stop()
            adapter.uninstall()
