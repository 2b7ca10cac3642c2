"""moto server on 127.0.0.1 with Step Functions execution on and Lambda routed to our handlers."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
import threading
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# ------------------------------------------------------------------------------------------------------
# `genomics local serve`: the stack on moto server, until Ctrl-C
# ------------------------------------------------------------------------------------------------------
PROFILE_ENV = "GENOMICS_LOCAL_PROFILE"


def profile_path() -> Path:
    """Where `local serve` writes its profile (``$GENOMICS_LOCAL_PROFILE`` or ~/.genomics/local.json)."""
    return Path(os.environ.get(PROFILE_ENV) or Path.home() / ".genomics" / "local.json")


def write_profile(path: Path, endpoint: str, stack: str) -> dict[str, Any]:
    profile = {"endpoint": endpoint, "stack": stack, "region": REGION, "pid": os.getpid(),
               "credentials": {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(profile, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return profile


def read_profile(path: Path | None = None) -> dict[str, Any] | None:
    """The running local server's profile, or None (no file, or its server no longer answers)."""
    path = path or profile_path()
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
        host, port = profile["endpoint"].removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=0.5):
            return dict(profile)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def exports(profile: Mapping[str, Any]) -> str:
    creds = profile["credentials"]
    return (f"export AWS_ENDPOINT_URL={profile['endpoint']} AWS_ACCESS_KEY_ID={creds['AWS_ACCESS_KEY_ID']} "
            f"AWS_SECRET_ACCESS_KEY={creds['AWS_SECRET_ACCESS_KEY']} AWS_DEFAULT_REGION={profile['region']} "
            f"GENOMICS_STACK={profile['stack']}")


def quiet() -> None:
    """Only job state changes on the console: Powertools' empty-metrics warning and moto's interpreter
    dumps of failed executions (logged at ERROR with the whole state) stay out of it."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    for name in ("moto", "werkzeug", "moto.stepfunctions", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def console_line(job: Mapping[str, Any]) -> str:
    """One line per job state change: time, job, previous -> new state, by whom, reason."""
    history = list(job.get("history") or [])
    last = history[-1] if history else {}
    before = history[-2]["to"] if len(history) > 1 else "-"
    reason = job.get("reason") if job.get("status") in ("REJECTED", "FAILED", "INGEST_FAILED", "QC_FAILED") else ""
    note = last.get("note") or ""
    tail = "  ".join(x for x in (str(reason or ""), str(note)) if x)
    return (f"{str(last.get('at', ''))[11:19]}  {job.get('job_id')}  {before} -> {job.get('status')}  "
            f"by {last.get('by', '?')}{'  ' + tail[:200] if tail else ''}")


def _tick(names: Any, every_s: float, stop: threading.Event) -> None:
    """Fire the sweeper's schedule (moto stores schedules but never fires them)."""
    import boto3

    lam = boto3.client("lambda")
    while not stop.wait(every_s):
        with contextlib.suppress(Exception):
            lam.invoke(FunctionName=names.function("sweeper"), Payload=b"{}")


def serve(*, faults_spec: str = "", seed: int = 0, port: int | None = None, sweep_every_s: float | None = None,
          stuck_after_s: int | None = None, out: Any = None) -> int:
    """Deploy locally and keep serving until SIGINT/SIGTERM (see docs/local-mode.md)."""
    from genomics import faults
    from genomics.deployment import Names
    from genomics.ledger import store
    from genomics.local.demo import DEMO_SETTINGS
    from genomics.local.deploy import deploy

    out = out or sys.stdout
    armed = faults.parse(faults_spec, seed) if faults_spec else []
    settings = DEMO_SETTINGS
    if stuck_after_s:
        settings = dataclasses.replace(settings, stuck_received_s=stuck_after_s, stuck_validating_s=stuck_after_s,
                                       stuck_processing_s=stuck_after_s, stuck_qc_s=stuck_after_s)
    quiet()
    stop = threading.Event()
    with local_cloud(port) as cloud:
        names = Names(stack=settings.stack, account_id=ACCOUNT_ID, region=REGION)
        import boto3

        from genomics.identity import local as identity_panel

        settings = identity_panel.with_panel(settings, names)  # sample identity (docs/qc.md)
        stack = deploy(names, settings)
        identity_panel.install_panel(boto3.client("s3"), settings)
        from genomics.webapp import local as web

        app = web.start(stack, cloud.endpoint)  # the web app and its demo users (docs/webapp.md)
        path = profile_path()
        profile = write_profile(path, cloud.endpoint, names.stack)
        lock = threading.Lock()

        def show(job: Mapping[str, Any]) -> None:
            with lock:
                print(console_line(job), file=out, flush=True)

        store.listeners.append(show)
        faults.arm(armed)
        every = sweep_every_s if sweep_every_s is not None else settings.sweep_rate_minutes * 60
        ticker = threading.Thread(target=_tick, args=(names, every, stop), name="sweeper-schedule", daemon=True)
        ticker.start()
        print(exports(profile), file=out)
        print(f"profile {path}: every genomics command targets this server without the exports", file=out)
        print(web.banner(app), file=out)
        print(f"stack {names.prefix}; sweeper every {every:g} s"
              + (f"; faults armed: {faults_spec} (seed {seed})" if armed else "")
              + f"; Ctrl-C stops (pid {os.getpid()})", file=out, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            app.stop()
            faults.disarm(armed)
            store.listeners.remove(show)
            with contextlib.suppress(OSError):
                if json.loads(path.read_text()).get("pid") == os.getpid():
                    path.unlink()
            print("stopping", file=out)
    return 0
