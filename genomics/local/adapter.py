"""The one adapter between moto and our handlers: Lambda invocations run in-process.

moto runs Lambda code only in Docker. Every internal Lambda path in moto — the Invoke API (and so
Step Functions' task states, which call Invoke through ``MOTO_PORT``) and S3 bucket notifications —
ends in ``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored,
logs)``; ``LambdaFunction.invoke`` wraps it and sets ``X-Amz-Function-Error`` on errors. This module
replaces ``_invoke_lambda`` only, so moto's own invoke semantics (error header, log result, log
group) stay as they are.

What the replacement does, as Lambda would:
- picks the handler from the function's image command (``ImageConfig.Command[0]``, which is what
  the real image's ``awslambdaric`` entrypoint receives), falling back to ``Handler``;
- runs invocations concurrently, as Lambda does, up to a per-function concurrency (the function's
  reserved concurrency when set, else ``GENOMICS_LOCAL_CONCURRENCY``, default 4; further invocations
  wait for a free slot, as Lambda's asynchronous queue does). Each invocation sees exactly its
  function's configured environment: ``os.environ`` becomes an :class:`InvocationEnviron`, whose reads
  and writes inside an invocation go to that invocation's own mapping (inherited by threads it starts),
  so concurrent functions never see each other's variables;
- asks ``genomics.faults`` for an armed handler fault (crash, timeout) before running the handler;
- passes a Lambda-like context (name, ARN, memory limit, request id, remaining time);
- captures what the handler prints (Powertools' JSON logs) into the invocation's logs;
- turns an exception into Lambda's error payload ``{"errorMessage", "errorType", "stackTrace"}``;
- runs S3-triggered invocations asynchronously, as S3 invokes Lambda: after the object is complete
  (moto notifies before it stores the object's metadata and tags, so ``S3Response.put_object`` holds
  the notifications until it returns), with Lambda's retries (the function's
  ``MaximumRetryAttempts``, default 2) and then the on-failure destination record sent to the
  configured SQS queue (moto runs them synchronously and swallows failures silently).

moto's S3 event records also lack ``versionId``, which AWS sends for versioned buckets and from which
the ingest derives the job id; the adapter adds it (``s3_event_with_version``). These four
replacements (``_invoke_lambda``, ``_get_s3_event``, ``_invoke_awslambda``, ``S3Response.put_object``)
are all the adapter patches.

moto is pinned (pyproject) and ``tests/unit/test_local_adapter.py`` is the canary that proves a
handler really ran through this path.

ECS (the workflow's Fargate path): moto's Step Functions interpreter runs ``ecs:runTask.sync`` by calling
moto's ``run_task`` and then polling ``describe_tasks`` until the task is ``STOPPED``; moto's tasks run no
container. moto 5.2.5 even advances a task one lifecycle step per ``describe_tasks`` (its state manager's
default for ``ecs::task``), so a polled task would reach ``STOPPED`` after four polls whatever it did: the
adapter sets that model's progression to manual with no reachable tick count, so only the real exit stops
a task. And its Step Functions ECS integration passes the state's parameters to boto3 as written
(``Cluster``, ``TaskDefinition``: the casing AWS requires in ASL) and reads the answers as ``Tasks``/
``TaskArn``, without the shape-driven renaming its Lambda integration does (``_normalise_parameters``/
``_normalise_response`` are no-ops for ECS in 5.2.5): the adapter gives ``StateTaskServiceEcs`` that
renaming from botocore's ECS model (sixth and seventh patches), so the workflow's ASL stays AWS's.
``EC2ContainerServiceBackend.run_task`` is wrapped (a fifth patch): after moto
records the task, the task's container command runs for real in a subprocess (the task definition's
entry point and environment, the run's container overrides; the image's ``/opt/venv/bin/python`` is this
interpreter), on a thread as a task runs beside its caller, and then the task is marked ``STOPPED`` with
the container's exit code. ``tests/unit/test_local_adapter.py`` has the canary for this path too.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.ecs.models import EC2ContainerServiceBackend
from moto.moto_api import state_manager
from moto.s3 import notifications as s3_notifications
from moto.s3.responses import S3Response
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
    StateTaskServiceEcs,
)

from genomics.lambda_context import LocalContext

DEFAULT_CONCURRENCY = 4
_slots: dict[str, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()
_ORIGINAL = LambdaFunction._invoke_lambda
_ORIGINAL_S3_EVENT = s3_notifications._get_s3_event
_ORIGINAL_S3_INVOKE = s3_notifications._invoke_awslambda
_ORIGINAL_PUT_OBJECT = S3Response.put_object
_ORIGINAL_RUN_TASK = EC2ContainerServiceBackend.run_task
# The image's interpreter (task definitions name it) is this process's interpreter in the local mode.
IMAGE_PYTHON = "/opt/venv/bin/python"
_tasks_run: list[dict[str, Any]] = []
_ORIGINAL_ECS_PARAMS = StateTaskServiceEcs._normalise_parameters
_ORIGINAL_ECS_RESPONSE = StateTaskServiceEcs._normalise_response
# Seconds between Lambda's asynchronous retries here (AWS waits about 1 and 2 minutes).
ASYNC_RETRY_DELAY_S = 0.2
_deferred = threading.local()
_async_threads: list[threading.Thread] = []
_installed = False
_invocations: list[dict[str, Any]] = []


class _ThreadStdout(io.TextIOBase):
    """sys.stdout that, inside an invocation on this thread, writes into that invocation's log."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._local = threading.local()

    @contextlib.contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        buf = io.StringIO()
        prev = getattr(self._local, "buf", None)
        self._local.buf = buf
        try:
            yield buf
        finally:
            self._local.buf = prev

    def write(self, s: str) -> int:
        buf = getattr(self._local, "buf", None)
        return (buf if buf is not None else self._real).write(s)

    def flush(self) -> None:
        self._real.flush()

    def isatty(self) -> bool:
        return False


_stdout: _ThreadStdout | None = None


def handler_path(fn: LambdaFunction) -> str:
    cmd = list(getattr(fn.image_config, "cmd", None) or [])
    if cmd:
        return str(cmd[0])
    if fn.handler:
        return str(fn.handler)
    raise RuntimeError(f"function {fn.function_name} has neither an image command nor a handler")


def resolve(path: str) -> Callable[[Any, Any], Any]:
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


@contextlib.contextmanager
def patched_environ(values: dict[str, str], unset: tuple[str, ...] = ()) -> Iterator[None]:
    """Set ``values`` (and remove ``unset``) in os.environ for the block, then restore what was there."""
    saved = {k: os.environ.get(k) for k in (*values, *unset)}
    os.environ.update({k: str(v) for k, v in values.items()})
    for k in unset:
        os.environ.pop(k, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _send_to_failure_destination(fn: LambdaFunction, event: Any, payload: dict[str, Any]) -> None:
    for cfg in getattr(fn, "event_invoke_config", []) or []:
        dest = (cfg.config.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        if not dest or ":sqs:" not in dest:
            continue
        import boto3

        queue_name = dest.rsplit(":", 1)[-1]
        sqs = boto3.client("sqs", region_name=fn.region)
        url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        record = {
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{fn.function_arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 1,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": payload,
        }
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))


class InvocationEnviron(MutableMapping[str, str]):
    """``os.environ`` for a process running several Lambda invocations at once: outside an invocation
    it is the process environment; inside one (and in threads the invocation starts) every read and
    write goes to that invocation's own mapping, which starts as a copy of the process environment plus
    the function's configured variables. Child processes get the invocation's mapping when the caller
    passes ``env=dict(os.environ)``; with ``env=None`` they inherit the process environment."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self._local = threading.local()

    def current(self) -> dict[str, str] | None:
        return getattr(self._local, "env", None)

    @contextlib.contextmanager
    def using(self, env: dict[str, str] | None) -> Iterator[None]:
        prev = self.current()
        self._local.env = env
        try:
            yield
        finally:
            self._local.env = prev

    def _target(self) -> Any:
        env = self.current()
        return self.base if env is None else env

    def __getitem__(self, key: str) -> str:
        return self._target()[key]  # type: ignore[no-any-return]

    def __setitem__(self, key: str, value: str) -> None:
        self._target()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._target()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._target()))

    def __len__(self) -> int:
        return len(self._target())

    def copy(self) -> dict[str, str]:
        return dict(self._target())

    def __repr__(self) -> str:
        return f"InvocationEnviron({'invocation' if self.current() is not None else 'process'})"


_environ: InvocationEnviron | None = None
_original_thread_start = threading.Thread.start


def _thread_start_with_env(self: threading.Thread) -> None:
    """Threads started inside an invocation see that invocation's environment."""
    env = _environ.current() if _environ is not None else None
    if env is not None:
        run = self.run

        def run_in_invocation() -> None:
            assert _environ is not None
            with _environ.using(env):
                run()

        self.run = run_in_invocation  # type: ignore[method-assign]
    _original_thread_start(self)


def _slot(fn: LambdaFunction) -> threading.BoundedSemaphore:
    with _slots_lock:
        sem = _slots.get(fn.function_name)
        if sem is None:
            reserved = getattr(fn, "reserved_concurrency", None)
            limit = int(reserved) if reserved else int(os.environ.get("GENOMICS_LOCAL_CONCURRENCY") or
                                                        DEFAULT_CONCURRENCY)
            sem = _slots[fn.function_name] = threading.BoundedSemaphore(max(1, limit))
        return sem


@contextlib.contextmanager
def function_environment(env: dict[str, str]) -> Iterator[None]:
    """Run the block with ``env`` as the invocation's whole environment (process environment + ``env``)."""
    if _environ is None:
        with patched_environ(env):
            yield
        return
    with _environ.using({**dict(_environ.base), **{k: str(v) for k, v in env.items()}}):
        yield


def invoke_in_process(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """Run the function's handler here. Same contract as moto's ``_invoke_lambda``."""
    from genomics import faults

    if isinstance(event, str | bytes):
        event = json.loads(event or "{}")
    if event is None:
        event = {}
    request_id = str(uuid.uuid4())
    context = LocalContext(
        function_name=fn.function_name,
        invoked_function_arn=fn.function_arn,
        memory_limit_in_mb=int(fn.memory_size),
        timeout_s=int(fn.timeout),
        aws_request_id=request_id,
        log_group_name=f"/aws/lambda/{fn.function_name}",
    )
    errored = False
    record: dict[str, Any] = {"function": fn.function_name, "request_id": request_id}
    env = dict(fn.environment_vars or {})
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "GENOMICS_LOCAL_INVOCATION": request_id,
        }
    )
    with _slot(fn):
        started = time.monotonic()
        capture = _stdout.capture() if _stdout is not None else contextlib.nullcontext(io.StringIO())
        with function_environment(env), capture as logbuf:
            try:
                faults.handler_fault(fn.function_name)
                result = resolve(handler_path(fn))(event, context)
                payload = json.dumps(result, default=str)
            except Exception as e:  # the Lambda runtime turns any exception into an error payload
                errored = True
                err = {
                    "errorMessage": str(e),
                    "errorType": _LAMBDA_ERROR_TYPES.get(type(e).__name__, type(e).__name__),
                    "requestId": request_id,
                    "stackTrace": traceback.format_exception(e)[-8:],
                }
                payload = json.dumps(err)
                logbuf.write(json.dumps({"level": "ERROR", "message": "handler failed", **err}) + "\n")
        logs = logbuf.getvalue()
    record.update(errored=errored, handler=handler_path(fn), started=started, ended=time.monotonic())
    _invocations.append(record)
    return payload, errored, logs


# What Lambda calls the errors of a runtime that died or ran out of time (injected by genomics.faults).
_LAMBDA_ERROR_TYPES = {"HandlerCrash": "Runtime.ExitError", "HandlerTimeout": "Sandbox.Timedout"}


def s3_event_with_version(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
    """moto's S3 event record plus the fields AWS sends and moto leaves out: ``versionId`` (versioned
    buckets) and ``sequencer``. The ingest derives the job id from the object version."""
    event = _ORIGINAL_S3_EVENT(event_name, bucket, key, notification_id)
    version = getattr(key, "version_id", None)
    for record in event.get("Records", []):
        obj = record["s3"]["object"]
        if version and version != "null":
            obj["versionId"] = version
        obj.setdefault("sequencer", f"{time.time_ns():016X}")
    return event


def _max_async_retries(fn: LambdaFunction) -> int:
    for cfg in getattr(fn, "event_invoke_config", []) or []:
        if "MaximumRetryAttempts" in cfg.config:
            return int(cfg.config["MaximumRetryAttempts"])
    return 2  # Lambda's default for asynchronous invocations


def _deliver_async(fn: LambdaFunction, event: Any) -> None:
    """Lambda's asynchronous invocation: the first attempt, its retries, then the on-failure destination."""
    payload = "{}"
    for attempt in range(_max_async_retries(fn) + 1):
        if attempt:
            time.sleep(ASYNC_RETRY_DELAY_S * attempt)
        payload, errored, _logs = invoke_in_process(fn, event)
        if not errored:
            return
    with contextlib.suppress(Exception):
        _send_to_failure_destination(fn, event, json.loads(payload))


def s3_invoke_async(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    """S3 invokes Lambda asynchronously, after the object (with its metadata and tags) is stored."""
    from moto.awslambda.utils import get_backend

    fn = get_backend(account_id, region_name).get_function(fn_arn)
    pending = getattr(_deferred, "events", None)
    if pending is not None:
        pending.append((fn, event_body))
        return
    _start_async(fn, event_body)


def _start_async(fn: LambdaFunction, event: Any) -> None:
    t = threading.Thread(target=_deliver_async, args=(fn, event), name=f"async-{fn.function_name}", daemon=True)
    _async_threads.append(t)
    t.start()


def put_object_then_notify(self: S3Response) -> Any:
    """moto notifies inside its backend's put_object, before the response handler stores the object's
    metadata and tags; AWS notifies once the object is complete. Hold the notifications until then."""
    _deferred.events = []
    try:
        return _ORIGINAL_PUT_OBJECT(self)
    finally:
        events, _deferred.events = _deferred.events, None
        for fn, event in events:
            _start_async(fn, event)


def drain(timeout: float = 60.0) -> None:
    """Wait for asynchronous invocations in flight (e.g. before stopping the server)."""
    deadline = time.monotonic() + timeout
    while _async_threads:
        t = _async_threads.pop()
        t.join(max(0.0, deadline - time.monotonic()))


def _container_argv(container: dict[str, Any], override: dict[str, Any]) -> list[str]:
    entry = list(container.get("entryPoint") or [])
    command = list(override.get("command") or container.get("command") or [])
    argv = entry + command
    if argv and argv[0] == IMAGE_PYTHON:
        argv[0] = sys.executable
    return argv


def _run_container(task: Any, container: dict[str, Any], override: dict[str, Any]) -> None:
    """Run one task's container command to completion, then stop the task with its exit code."""
    import tempfile

    env = dict(os.environ)  # the process environment (moto's request thread is no invocation)
    for pair in [*(container.get("environment") or []), *(override.get("environment") or [])]:
        env[pair["name"]] = pair["value"]
    argv = _container_argv(container, override)
    record: dict[str, Any] = {"task_arn": task.task_arn, "argv": argv[:4]}
    with tempfile.TemporaryDirectory(prefix="ecs-task-") as scratch:
        env["TMPDIR"] = scratch  # the task's ephemeral storage
        try:
            proc = subprocess.run(argv, env=env, cwd=scratch, capture_output=True, check=False)
            code, output = proc.returncode, (proc.stdout + proc.stderr).decode("utf-8", "replace")
        except OSError as e:
            code, output = 127, f"cannot start the container command {argv[:1]}: {e}"
    record.update(exit_code=code, output=output[-4000:])
    _tasks_run.append(record)
    for c in task.containers:
        c.exitCode = code
        c.last_status = "STOPPED"
    task.stopped_reason = "Essential container in task exited"
    task.desired_status = "STOPPED"
    task.last_status = "STOPPED"


def _ecs_operation(snake_action: str) -> Any:
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model("ecs")
    name = next(op for op in model.operation_names if xform_name(op) == snake_action)
    return model.operation_model(name)


def ecs_boto_parameters(self: StateTaskServiceEcs, parameters: dict[str, Any],
                        boto_service_name: str | None = None, service_action_name: str | None = None) -> None:
    """ASL's ``Cluster``/``TaskDefinition``/... to boto3's ``cluster``/``taskDefinition``/... (by shape)."""
    op = _ecs_operation(service_action_name or self._get_boto_service_action())
    self._to_boto_request(parameters, op.input_shape)


def ecs_sfn_response(self: StateTaskServiceEcs, response: Any, boto_service_name: str | None = None,
                     service_action_name: str | None = None) -> None:
    """boto3's ``tasks``/``taskArn`` to what Step Functions returns: ``Tasks``/``TaskArn`` (by shape)."""
    op = _ecs_operation(service_action_name or self._get_boto_service_action())
    self._from_boto_response(response, op.output_shape)


ECS_TASK_MODEL = "ecs::task"
NEVER = {"progression": "manual", "times": 2**62}


def run_task_for_real(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> list[Any]:
    """moto's run_task, then each task's container really runs (see the module docstring)."""
    state_manager.set_transition(model_name=ECS_TASK_MODEL, transition=NEVER)
    tasks = _ORIGINAL_RUN_TASK(self, *args, **kwargs)
    overrides = kwargs.get("overrides") if "overrides" in kwargs else (args[3] if len(args) > 3 else None)
    for task in tasks:
        definition = self.describe_task_definition(task.task_definition_arn)
        container = definition.container_definitions[0]
        override = next((o for o in (overrides or {}).get("containerOverrides", [])
                         if o.get("name") == container.get("name")), {})
        threading.Thread(target=_run_container, args=(task, container, override), daemon=True).start()
    return tasks


def tasks_run() -> list[dict[str, Any]]:
    """ECS tasks this process ran for real (task ARN, argv head, exit code, output tail)."""
    return list(_tasks_run)


def invocations() -> list[dict[str, Any]]:
    """What ran through the adapter in this process (function, request id, handler, errored)."""
    return list(_invocations)


_DDB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_DDB_LOCK = threading.RLock()


def atomic_dynamodb_writes() -> None:
    """DynamoDB applies a conditional write atomically; moto checks the condition and writes in two
    steps, so two threads can both pass ``attribute_not_exists``. Serialise moto's write operations (what
    DynamoDB guarantees per item) so concurrent handlers see real semantics. Idempotent."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _DDB_WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_atomic", False):
            continue

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _DDB_LOCK:
                return __original(self, *args, **kwargs)

        locked._atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)


_original_popen_init = subprocess.Popen.__init__


def _popen_init(self: subprocess.Popen, *args: Any, **kwargs: Any) -> None:  # type: ignore[type-arg]
    from genomics import observability

    _original_popen_init(self, *args, **kwargs)
    observability.child_started(self.pid)


def install() -> None:
    """Route moto's Lambda invocations to in-process handlers (idempotent)."""
    global _installed, _stdout, _environ
    atomic_dynamodb_writes()
    if _installed:
        return
    if not isinstance(os.environ, InvocationEnviron):
        _environ = InvocationEnviron(os.environ)
        os.environ = _environ  # type: ignore[assignment]  # noqa: B003 (deliberate: a per-invocation view)
        threading.Thread.start = _thread_start_with_env  # type: ignore[method-assign]
        subprocess.Popen.__init__ = _popen_init  # type: ignore[method-assign]
    if not isinstance(sys.stdout, _ThreadStdout):
        _stdout = _ThreadStdout(sys.stdout)
        sys.stdout = _stdout
    LambdaFunction._invoke_lambda = invoke_in_process  # type: ignore[method-assign,assignment]
    s3_notifications._get_s3_event = s3_event_with_version
    s3_notifications._invoke_awslambda = s3_invoke_async
    S3Response.put_object = put_object_then_notify  # type: ignore[method-assign]
    EC2ContainerServiceBackend.run_task = run_task_for_real  # type: ignore[method-assign]
    StateTaskServiceEcs._normalise_parameters = ecs_boto_parameters  # type: ignore[method-assign]
    StateTaskServiceEcs._normalise_response = ecs_sfn_response  # type: ignore[method-assign]
    _installed = True


def uninstall() -> None:
    global _installed, _stdout, _environ
    if isinstance(os.environ, InvocationEnviron):
        os.environ = os.environ.base  # noqa: B003
        threading.Thread.start = _original_thread_start  # type: ignore[method-assign]
        subprocess.Popen.__init__ = _original_popen_init  # type: ignore[method-assign]
    _environ = None
    with _slots_lock:
        _slots.clear()
    LambdaFunction._invoke_lambda = _ORIGINAL  # type: ignore[method-assign]
    s3_notifications._get_s3_event = _ORIGINAL_S3_EVENT
    s3_notifications._invoke_awslambda = _ORIGINAL_S3_INVOKE
    S3Response.put_object = _ORIGINAL_PUT_OBJECT  # type: ignore[method-assign]
    EC2ContainerServiceBackend.run_task = _ORIGINAL_RUN_TASK  # type: ignore[method-assign]
    state_manager.unset_transition(ECS_TASK_MODEL)
    StateTaskServiceEcs._normalise_parameters = _ORIGINAL_ECS_PARAMS  # type: ignore[method-assign]
    StateTaskServiceEcs._normalise_response = _ORIGINAL_ECS_RESPONSE  # type: ignore[method-assign]
    if isinstance(sys.stdout, _ThreadStdout):
        sys.stdout = sys.stdout._real
    _stdout = None
    _installed = False
