"""Image tests: build the handler image (scripts/build-images.sh; reused when up to date) and run the
handlers through the image's real entrypoint (awslambdaric) against a Runtime API server of our own
(tests/images/runtime_api.py) and moto server on loopback.

Every test here needs buildah and podman. Where they cannot build or run the image, the tests FAIL
with the build script's message; they are never skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from genomics import deployment
from genomics.deployment import TABLES, Names, Settings
from genomics.local.deploy import table_request
from genomics.local.server import client_environment, free_port
from tests.images.runtime_api import InitFailed, Outcome, OutcomeTimeout, RuntimeAPIServer

REPO = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("GENOMICS_IMAGE", "localhost/genomics-handlers:dev")
DELIVERY_IMAGE = os.environ.get("GENOMICS_DELIVERY_IMAGE", "localhost/genomics-delivery:dev")
NAMES = Names("img", "123456789012", "us-east-1")
SETTINGS = Settings(stack="img")
BUILD_TIMEOUT_S = 1500
INVOKE_TIMEOUT_S = 180

_summary: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _summary:
        terminalreporter.write_line(line)


def report(line: str) -> None:
    """A line for the end of the pytest run (image size and the like)."""
    _summary.append(line)


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO / "scripts" / "containers.conf"))
    return env


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["podman", *args], env=podman_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


@dataclass(frozen=True)
class Image:
    name: str
    size_bytes: int
    labels: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]
    user: str
    layers: list[str]

    @property
    def extras(self) -> list[str]:
        return self.labels.get("org.genomics.extras", "").replace(",", " ").split()


def _inspect(tag: str) -> Image:
    info = json.loads(podman("image", "inspect", tag).stdout)[0]
    config = info.get("Config") or {}
    return Image(
        name=tag,
        size_bytes=int(info["Size"]),
        labels=dict(config.get("Labels") or {}),
        entrypoint=list(config.get("Entrypoint") or []),
        cmd=list(config.get("Cmd") or []),
        user=str(config.get("User") or ""),
        layers=list((info.get("RootFS") or {}).get("Layers") or []),
    )


@pytest.fixture(scope="session")
def built() -> None:
    """Both images of images/Dockerfile, built (or found up to date) by the script `make images` runs."""
    try:
        proc = subprocess.run(
            ["bash", "scripts/build-images.sh"], cwd=REPO, env=podman_env(), capture_output=True, text=True,
            timeout=BUILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"scripts/build-images.sh did not finish within {BUILD_TIMEOUT_S} s: {e}")
    if proc.returncode != 0:
        pytest.fail(
            "The handler image could not be built, so the image tests cannot run. They need buildah and "
            "podman (with runc and debootstrap) able to build and run containers on this machine; "
            f"`bash scripts/build-images.sh` exited {proc.returncode}:\n"
            + (proc.stdout[-2000:] + proc.stderr[-6000:])
        )


@pytest.fixture(scope="session")
def image(built: None) -> Image:
    """The handler image (every function but web-tasks)."""
    img = _inspect(IMAGE)
    report(f"handler image {img.name}: {img.size_bytes / 1e6:.0f} MB (extras: {img.extras or 'none'})")
    return img


@pytest.fixture(scope="session")
def delivery_image(built: None) -> Image:
    """The delivery image (web-tasks): the handler image plus the Crypt4GH layer."""
    img = _inspect(DELIVERY_IMAGE)
    report(f"delivery image {img.name}: {img.size_bytes / 1e6:.0f} MB (extras: {img.extras or 'none'})")
    return img


# --------------------------------------------------------------------------------------------------
# moto server on loopback
# --------------------------------------------------------------------------------------------------
@dataclass
class Cloud:
    """moto server on loopback with the stack's buckets and tables. moto keeps its state per process, not
    per server, so a test that needs the same starting state twice calls :meth:`reset` in between."""

    port: int
    s3: Any
    dynamodb: Any

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_env(self) -> dict[str, str]:
        """What a handler (in the container or in a host process) needs to reach this server."""
        return client_environment(self.port)

    def reset(self) -> None:
        """Forget every resource, then create the stack's buckets and tables again."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=30).read()
        for role in deployment.BUCKET_ROLES:
            self.s3.create_bucket(Bucket=NAMES.bucket(role))
        self.s3.put_bucket_versioning(Bucket=NAMES.bucket("raw"),
                                      VersioningConfiguration={"Status": "Enabled"})
        for role, spec in TABLES.items():
            self.dynamodb.create_table(**table_request(NAMES.table(role), spec))


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        kw = {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": NAMES.region,
              "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        c = Cloud(port=port, s3=boto3.client("s3", **kw), dynamodb=boto3.client("dynamodb", **kw))
        c.reset()
        yield c
        req = urllib.request.Request(f"{c.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=30).read()
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------------
# Lambda environment, the container, the in-process reference call
# --------------------------------------------------------------------------------------------------
def lambda_env(logical: str, cloud: Cloud) -> dict[str, str]:
    """The function's environment from the deployment description, plus what Lambda itself sets."""
    env = deployment.environment(logical, NAMES, SETTINGS)
    env.update(cloud.client_env())
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": NAMES.function(logical),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(deployment.memory_mb(logical, SETTINGS)),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": NAMES.log_group(logical),
        "AWS_LAMBDA_LOG_STREAM_NAME": "image-test",
    })
    return env


@dataclass
class Container:
    name: str
    logical: str
    proc: subprocess.Popen[bytes]
    log: Path
    api: RuntimeAPIServer

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def invoke(self, event: Any, timeout_s: float = INVOKE_TIMEOUT_S) -> Outcome:
        """Send one event through the Runtime API and wait for the runtime's response or error."""
        rid = self.api.invoke(event, function_arn=NAMES.function_arn(self.logical),
                              timeout_s=deployment.timeout_s(self.logical, SETTINGS))
        waited = 0.0
        while True:
            try:
                return self.api.outcome(rid, timeout_s=1.0)
            except InitFailed as e:
                pytest.fail(f"{self.logical}: the handler failed to initialise: {e.payload}\n{self.logs()}")
            except OutcomeTimeout:
                waited += 1.0
                if self.proc.poll() is not None:
                    pytest.fail(f"{self.logical}: the container exited ({self.proc.returncode}) before "
                                f"answering:\n{self.logs()}")
                if waited >= timeout_s:
                    pytest.fail(f"{self.logical}: no answer within {timeout_s} s:\n{self.logs()}")


@contextlib.contextmanager
def handler_container(image: Image, logical: str, cloud: Cloud, tmp_path: Path) -> Iterator[Container]:
    """The image running one function's handler (its image command), as Lambda would: read-only root
    file system with a writable /tmp, the function's environment, the Runtime API on loopback."""
    handler = deployment.FUNCTIONS[logical].handler
    name = f"genomics-image-test-{uuid.uuid4().hex[:12]}"
    log = tmp_path / f"{logical}-{name}.log"
    env = lambda_env(logical, cloud)
    with RuntimeAPIServer() as api:
        env["AWS_LAMBDA_RUNTIME_API"] = api.address
        argv = ["podman", "run", "--rm", "--pull=never", "--name", name, "--network", "host", "--read-only",
                "--tmpfs", "/tmp:rw,size=1g,mode=1777"]
        for k, v in sorted(env.items()):
            argv += ["--env", f"{k}={v}"]
        argv += [image.name, handler]
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=podman_env())
        try:
            yield Container(name, logical, proc, log, api)
        finally:
            subprocess.run(["podman", "rm", "--force", "--time", "0", name], env=podman_env(),
                           capture_output=True, timeout=60)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


_IN_PROCESS = """
import json, sys
from genomics.local.adapter import LocalContext, resolve
spec = json.load(sys.stdin)
ctx = LocalContext(**spec["context"])
try:
    out = {"kind": "response", "payload": resolve(spec["handler"])(spec["event"], ctx)}
except Exception as e:
    out = {"kind": "error", "payload": {"errorType": type(e).__name__, "errorMessage": str(e)}}
sys.stdout.flush()
print("\\n@@RESULT@@" + json.dumps(out, default=str), flush=True)
"""


def call_in_process(logical: str, event: Any, cloud: Cloud) -> Outcome:
    """The same handler function called directly (no runtime) in a fresh host Python process with the
    same environment, against ``cloud``. A separate process keeps os.environ and lazily built clients
    of this test process out of it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(lambda_env(logical, cloud))
    env["PYTHONPATH"] = str(REPO)
    spec = {
        "handler": deployment.FUNCTIONS[logical].handler,
        "event": event,
        "context": {
            "function_name": NAMES.function(logical),
            "invoked_function_arn": NAMES.function_arn(logical),
            "memory_limit_in_mb": deployment.memory_mb(logical, SETTINGS),
            "timeout_s": deployment.timeout_s(logical, SETTINGS),
            "aws_request_id": str(uuid.uuid4()),
            "log_group_name": NAMES.log_group(logical),
        },
    }
    proc = subprocess.run([sys.executable, "-c", _IN_PROCESS], input=json.dumps(spec), env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=INVOKE_TIMEOUT_S)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@RESULT@@")]
    if proc.returncode != 0 or not lines:
        pytest.fail(f"in-process {logical} call failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}")
    out = json.loads(lines[-1][len("@@RESULT@@"):])
    return Outcome(request_id=spec["context"]["aws_request_id"], kind=out["kind"], payload=out["payload"])
