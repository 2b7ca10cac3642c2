"""Running samtools, bcftools and tabix: argv lists only, failures carry argv, exit code and stderr.

:func:`run` runs one tool to completion; :class:`Pipeline` (and :func:`run_pipeline`) streams a source
through a chain of tools, :func:`run_parallel` tees one source into several tools at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO


class ToolError(RuntimeError):
    """An external tool failed. Carries what ran, how it ended and what it said."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        tail = stderr.strip().splitlines()[-5:]
        super().__init__(f"{' '.join(self.argv)} exited {returncode}: {' | '.join(tail)}")


class ToolMissing(RuntimeError):
    """A required executable is not on PATH."""

    def __init__(self, tool: str) -> None:
        self.tool = tool
        super().__init__(
            f"{tool} not found on PATH; install Debian's samtools, bcftools and tabix "
            f"(apt-get install samtools bcftools tabix) or run `make setup`"
        )


def which(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(tool)
    return path


def run(
    argv: Sequence[str],
    *,
    stdin: int | None = None,
    input_bytes: bytes | None = None,
    timeout: float | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run a tool to completion; raise :class:`ToolError` on a non-zero exit when ``check``."""
    which(argv[0])
    proc = subprocess.run(
        list(argv), stdin=stdin, input=input_bytes, capture_output=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise ToolError(argv, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc


@functools.cache
def version(tool: str) -> str:
    """``bcftools --version`` first line's version, e.g. ``1.16``."""
    out = run([tool, "--version"]).stdout.decode("utf-8", "replace")
    m = re.search(r"(\d+\.\d+(?:\.\d+)?)", out.splitlines()[0] if out else "")
    return m.group(1) if m else "unknown"


# --------------------------------------------------------------------------------------------------
# Streaming: tools fed from a source on a thread, stderr to scratch files, killed on either side's error
# --------------------------------------------------------------------------------------------------
CHUNK = 1 << 20
# A stage killed by SIGPIPE only saw its reader stop: the reader's own exit status says why.
SIGPIPE_CODES = (-signal.SIGPIPE, 128 + signal.SIGPIPE)
# A source of bytes: a binary file object (read in CHUNK pieces) or any iterable of byte chunks.
Source = BinaryIO | Iterable[bytes]


class PipelineError(ToolError):
    """A stage of a pipeline failed; ``stderrs`` holds what every stage said, in stage order."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str, stderrs: list[str]) -> None:
        super().__init__(argv, returncode, stderr)
        self.stderrs = stderrs


def _chunks(source: Source, size: int) -> Iterator[bytes]:
    read = getattr(source, "read", None)
    if read is None:
        yield from source  # type: ignore[misc]
        return
    while buf := read(size):
        yield buf


def _widen(pipe: IO[bytes] | None, size: int | None) -> None:
    """Linux F_SETPIPE_SZ (the default pipe is 64 KiB): fewer context switches on a hot stream."""
    if pipe is not None and size:
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, size)  # type: ignore[attr-defined]


class _Tools:
    """Processes started from argv lists, the stderr of each in a file under ``scratch`` (a
    TemporaryDirectory of its own when None), optionally fed one source on a thread (copied to every
    process whose stdin is ours). The source raising kills every process; :class:`Pipeline` and
    :func:`run_parallel` wire the processes and also kill them when the consumer fails."""

    def __init__(self, commands: Sequence[Sequence[str]], *, source: Source | None, scratch: str | Path | None,
                 env: Mapping[str, str] | None, on_chunk: Callable[[bytes], object] | None, read_all: bool,
                 pipe_size: int | None, stderr_limit: int | None,
                 on_start: Callable[[subprocess.Popen[bytes]], object] | None = None) -> None:
        if not commands:
            raise ValueError("no command to run")
        for argv in commands:
            which(argv[0])
        self.commands = [list(argv) for argv in commands]
        self.source, self.env, self.on_chunk, self.read_all = source, env, on_chunk, read_all
        self.pipe_size, self.stderr_limit, self.on_start = pipe_size, stderr_limit, on_start
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if scratch is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="tools-")
            scratch = self._tmp.name
        self.scratch = Path(scratch)
        self.procs: list[subprocess.Popen[bytes]] = []
        self._err_files: list[IO[bytes]] = []
        self._feeder: threading.Thread | None = None
        self._halt = threading.Event()
        self.source_error: BaseException | None = None
        self.stopped = False
        self.returncodes: list[int] = []
        self.stderrs: list[str] = []

    def _popen(self, argv: list[str], stdin: Any, stdout: Any, bufsize: int = -1) -> subprocess.Popen[bytes]:
        ef = tempfile.TemporaryFile(dir=self.scratch, prefix="stderr.")  # noqa: SIM115 - closed in _finish
        self._err_files.append(ef)
        proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=ef, bufsize=bufsize,
                                env=None if self.env is None else dict(self.env))
        self.procs.append(proc)
        if self.on_start is not None:
            self.on_start(proc)
        return proc

    def _start_feeder(self) -> None:
        sinks = [p.stdin for p in self.procs if p.stdin is not None]
        for sink in sinks:
            _widen(sink, self.pipe_size)
        if self.source is not None:
            self._feeder = threading.Thread(target=self._feed, args=(self.source, sinks), daemon=True)
            self._feeder.start()

    def _feed(self, source: Source, sinks: list[IO[bytes]]) -> None:
        live = list(sinks)
        try:
            for chunk in _chunks(source, CHUNK):
                if self._halt.is_set():
                    break
                if self.on_chunk is not None:
                    self.on_chunk(chunk)
                for sink in list(live):
                    try:
                        sink.write(chunk)
                    except (BrokenPipeError, ValueError):
                        live.remove(sink)  # that tool stopped reading; its exit status says why
                if not live and not self.read_all:
                    break
        except BaseException as e:  # reraised by the caller's thread in _finish
            self.source_error = e
            self.kill()
        finally:
            for sink in sinks:
                with contextlib.suppress(OSError, ValueError):
                    sink.close()

    def kill(self) -> None:
        """Kill every process still running (and stop reading the source)."""
        self._halt.set()
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(OSError):
                    p.kill()

    def stop(self) -> None:
        """The consumer gave up on the output: kill everything; exit statuses are not failures then."""
        self.stopped = True
        self.kill()

    def _stderr(self, ef: IO[bytes]) -> str:
        size = ef.seek(0, os.SEEK_END)
        ef.seek(max(0, size - self.stderr_limit) if self.stderr_limit else 0)
        return ef.read().decode("utf-8", "replace")

    def _finish(self) -> None:
        try:
            self.returncodes = [p.wait() for p in self.procs]
            if self._feeder is not None:
                self._feeder.join()
            self.stderrs = [self._stderr(ef) for ef in self._err_files]
        finally:
            self.kill()
            for p in self.procs:
                p.wait()
            for ef in self._err_files:
                ef.close()
            if self._tmp is not None:
                self._tmp.cleanup()

    def _check(self) -> None:
        if self.source_error is not None:
            raise self.source_error
        if self.stopped:
            return
        failed = [i for i, code in enumerate(self.returncodes) if code != 0]
        if failed:
            i = next((i for i in failed if self.returncodes[i] not in SIGPIPE_CODES), failed[0])
            raise PipelineError(self.commands[i], self.returncodes[i], self.stderrs[i], self.stderrs)


class Pipeline(_Tools):
    """``stages`` connected by pipes, the first fed from ``source`` on a thread (else /dev/null).

    The last stage writes to ``stdout_path``, to :attr:`stdout` for the consumer when ``capture``, else
    to /dev/null; every stage's stderr goes to a file in ``scratch`` (a TemporaryDirectory when None)::

        with Pipeline([["bcftools", "view", "-H", "-"]], source=fh, capture=True) as p:
            for line in p.stdout: ...

    On leaving the block every stage is waited for; then the source's exception is re-raised, or a
    :class:`PipelineError` for the most upstream stage that failed (not merely killed by SIGPIPE).
    The consumer may :meth:`stop` early (or leave ``stdout`` unread): the stages are killed and their
    exit statuses ignored (:attr:`stopped`). A consumer's exception kills every stage and propagates (unless
    the source failed too: the source's exception is then the one raised, the consumer's its context).
    ``on_chunk`` sees every chunk of the source; ``read_all`` keeps reading the source after the first
    stage stopped reading (for ``on_chunk``). ``pipe_size`` widens the pipes the consumer and the feeder use.
    ``on_start`` sees every process as it starts (e.g. a watchdog that kills it at a deadline).
    """

    def __init__(self, stages: Sequence[Sequence[str]], *, source: Source | None = None,
                 stdout_path: str | Path | None = None, capture: bool = False, scratch: str | Path | None = None,
                 env: Mapping[str, str] | None = None, on_chunk: Callable[[bytes], object] | None = None,
                 read_all: bool = False, pipe_size: int | None = None, bufsize: int = -1,
                 stderr_limit: int | None = None,
                 on_start: Callable[[subprocess.Popen[bytes]], object] | None = None) -> None:
        super().__init__(stages, source=source, scratch=scratch, env=env, on_chunk=on_chunk, read_all=read_all,
                         pipe_size=pipe_size, stderr_limit=stderr_limit, on_start=on_start)
        if capture and stdout_path is not None:
            raise ValueError("capture and stdout_path are exclusive")
        self.stdout_path, self.capture, self.bufsize = stdout_path, capture, bufsize
        self.stdout: IO[bytes] | None = None

    def __enter__(self) -> Pipeline:
        try:
            self._start()
        except BaseException:
            self._finish()
            raise
        return self

    def _start(self) -> None:
        prev: Any = subprocess.PIPE if self.source is not None else subprocess.DEVNULL
        last = len(self.commands) - 1
        for i, argv in enumerate(self.commands):
            out_fh: IO[bytes] | None = None
            if i < last or self.capture:
                stdout: Any = subprocess.PIPE
            elif self.stdout_path is not None:
                stdout = out_fh = open(self.stdout_path, "wb")  # noqa: SIM115 - the child holds it now
            else:
                stdout = subprocess.DEVNULL
            try:
                p = self._popen(argv, prev, stdout, self.bufsize if i in (0, last) else -1)
            finally:
                if out_fh is not None:
                    out_fh.close()
                if i > 0:
                    prev.close()  # the child holds it now; lets SIGPIPE reach the writer
            prev = p.stdout
        if self.capture:
            self.stdout = self.procs[-1].stdout
            _widen(self.stdout, self.pipe_size)
        self._start_feeder()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            self.kill()
        elif self.stdout is not None and not self.stopped and self.stdout.read(1):
            self.stop()  # the consumer left output unread: it stopped early
        if self.stdout is not None:
            self.stdout.close()
        self._finish()
        if exc is None:
            self._check()
        elif isinstance(exc, Exception) and self.source_error is not None:
            # The consumer failed on output cut short because reading the source failed: that is the cause.
            raise self.source_error


def run_pipeline(
    stages: Sequence[Sequence[str]], scratch: str | Path | None = None, *, stdin: Source | None = None,
    stdout_path: str | Path | None = None, env: Mapping[str, str] | None = None,
) -> list[str]:
    """Run ``stages`` connected by pipes (the first fed from ``stdin`` on a thread) to completion.

    Returns each stage's stderr; raises like :class:`Pipeline` (source error, else :class:`PipelineError`).
    """
    with Pipeline(stages, source=stdin, stdout_path=stdout_path, scratch=scratch, env=env) as p:
        pass
    return p.stderrs


def run_parallel(
    commands: Sequence[Sequence[str]], *, source: Source | None = None, scratch: str | Path | None = None,
    env: Mapping[str, str] | None = None, on_start: Callable[[subprocess.Popen[bytes]], object] | None = None,
) -> list[str]:
    """Run independent ``commands`` side by side, each reading the whole of ``source`` (teed to every
    stdin on a thread; argv should read ``-``), and return each one's stdout text. Stdout and stderr go
    to files in scratch, so no pipe can fill up. A source error kills all of them and is re-raised; else
    the first failed command raises :class:`PipelineError`. ``on_start`` as for :class:`Pipeline`."""
    group = _Tools(commands, source=source, scratch=scratch, env=env, on_chunk=None, read_all=False,
                   pipe_size=None, stderr_limit=None, on_start=on_start)
    outs: list[IO[bytes]] = []
    try:
        try:
            stdin = subprocess.PIPE if source is not None else subprocess.DEVNULL
            for i, argv in enumerate(group.commands):
                outs.append(tempfile.TemporaryFile(dir=group.scratch, prefix=f"stdout.{i}."))  # noqa: SIM115
                group._popen(argv, stdin, outs[-1])
            group._start_feeder()
        finally:
            group._finish()
        group._check()
        texts = []
        for out in outs:
            out.seek(0)
            texts.append(out.read().decode("utf-8", "replace"))
        return texts
    finally:
        for out in outs:
            out.close()
