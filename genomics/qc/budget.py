"""The time QC's external tools may take: what is left of the Lambda invocation minus a margin to store
the results and report the failure (a tool that hangs — mosdepth reading a damaged BAM, samtools on a
stalled stream — must fail with its argv, exit code and stderr, not run into Lambda's hard stop, which
records nothing). Outside Lambda (CLI, Fargate task, tests) there is no limit unless a caller sets one.

The deadline is a context variable: :func:`for_invocation` sets it from the Lambda context around a QC
action; the runners here read it. A thread starts with an empty context, so a tool run on another
thread is limited by the caller killing it (:class:`Watchdog`), not by its own timeout.
"""

from __future__ import annotations

import contextlib
import contextvars
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from genomics.tools import ToolError, which

# Left to the handler after its tools: writing outputs to S3 and DynamoDB, the report, the error.
MARGIN_MIN_S = 10.0
MARGIN_MAX_S = 60.0
MARGIN_FRACTION = 0.1
MIN_TOOL_S = 1.0

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("qc_tool_deadline", default=None)


class ToolTimeout(ToolError):
    """A tool killed at the deadline: argv, its exit status (the kill's) and what it printed until then."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str, seconds: float) -> None:
        self.seconds = seconds
        note = (f"killed after {seconds:.0f} s: the time left to this Lambda invocation ran out "
                "(a larger input goes to shards or Fargate; a hang is a bug to report)")
        super().__init__(argv, returncode, (stderr.rstrip() + "\n" if stderr.strip() else "") + note)


def margin(remaining_s: float) -> float:
    return min(MARGIN_MAX_S, max(MARGIN_MIN_S, MARGIN_FRACTION * remaining_s))


@contextlib.contextmanager
def for_invocation(context: Any) -> Iterator[None]:
    """Tools run in the block are limited to the invocation's remaining time minus :func:`margin`."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if remaining_ms is None:
        yield
        return
    left = remaining_ms() / 1000.0
    with until(time.monotonic() + max(MIN_TOOL_S, left - margin(left))):
        yield


@contextlib.contextmanager
def until(deadline: float | None) -> Iterator[None]:
    """Tools run in the block are limited to ``deadline`` (``time.monotonic()``; None: no limit)."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds a tool started now may take (at least :data:`MIN_TOOL_S`), or None without a deadline."""
    deadline = _DEADLINE.get()
    return None if deadline is None else max(MIN_TOOL_S, deadline - time.monotonic())


def run(argv: Sequence[str], *, env: Mapping[str, str] | None = None, input_bytes: bytes | None = None,
        check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """:func:`genomics.tools.run` within the deadline: a tool still running then is killed and raises
    :class:`ToolTimeout` (a :class:`ToolError`)."""
    which(argv[0])
    limit = remaining()
    try:
        proc = subprocess.run(list(argv), input=input_bytes, capture_output=True, timeout=limit, check=False,
                              env=None if env is None else dict(env))
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode("utf-8", "replace") if isinstance(e.stderr, bytes) else str(e.stderr or "")
        raise ToolTimeout(argv, -9, err, float(limit or 0)) from e
    if check and proc.returncode != 0:
        raise ToolError(argv, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc


class Watchdog:
    """Kills the processes it watches when the deadline passes (for tools started with Popen and fed or
    drained by the caller, who would otherwise block on a pipe). ``fired`` tells the caller why they died."""

    def __init__(self) -> None:
        self.fired = False
        self.seconds = remaining()
        self._procs: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def watch(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        with self._lock:
            self._procs.append(proc)
            if self.fired:
                _kill(proc)
        return proc

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for proc in self._procs:
                _kill(proc)

    def __enter__(self) -> Watchdog:
        if self.seconds is not None:
            self._timer = threading.Timer(self.seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def error(self, err: ToolError) -> ToolError:
        """``err`` as a :class:`ToolTimeout` when the watchdog killed the tool."""
        if not self.fired or isinstance(err, ToolTimeout):
            return err
        return ToolTimeout(err.argv, err.returncode, err.stderr, float(self.seconds or 0))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.kill()
