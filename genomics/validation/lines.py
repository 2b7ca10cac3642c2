"""Reading line-oriented formats (SAM, FASTQ) with a bound on line length, so that binary garbage or a
file without line breaks cannot make a validator hold gigabytes."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import BinaryIO

MAX_LINE_BYTES = 64 * 1024 * 1024


class LineTooLong(ValueError):
    """A line is longer than the limit: not line-oriented text (or absurd); reading stops."""

    def __init__(self, lineno: int, limit: int) -> None:
        self.lineno = lineno
        self.limit = limit
        super().__init__(f"line {lineno} is longer than {limit} bytes")


def bounded_lines(stream: BinaryIO, limit: int | None = None, *, keep_ends: bool = False) -> Iterator[bytes]:
    """Physical lines, streamed, each at most ``limit`` bytes (default :data:`MAX_LINE_BYTES`, else
    :class:`LineTooLong`); without the LF unless ``keep_ends`` (a CR before it is always kept: validators
    report it)."""
    limit = MAX_LINE_BYTES if limit is None else limit
    lineno = 0
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) > limit:
            raise LineTooLong(lineno, limit)
        yield raw if keep_ends or not raw.endswith(b"\n") else raw[:-1]


class ReadAhead:
    """Chunks of ``stream`` read by a background thread, ``depth`` chunks ahead of the consumer, so that
    reading (a pipe from samtools, gzip inflation: both release the GIL) overlaps the consumer's scanning
    (the compiled scanners release it too). Memory stays at most ``depth + 2`` chunks. An exception the
    reader hit is raised by :meth:`read` in stream order, after the chunks before it. Use as a context
    manager: leaving it stops the thread."""

    _EOF = object()

    def __init__(self, stream: BinaryIO, chunk: int = 1 << 20, depth: int = 4) -> None:
        self._stream = stream
        self._chunk = chunk
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        item: object
        try:
            while not self._stop.is_set():
                data = self._stream.read(self._chunk)
                if not data:
                    break
                if not self._put(data):
                    return
            item = self._EOF
        except BaseException as e:  # handed to the consumer, raised there in order
            item = e
        self._put(item)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read(self) -> bytes:
        """The next chunk; b"" at the end of the stream."""
        if self._done:
            return b""
        item = self._queue.get()
        if item is self._EOF:
            self._done = True
            return b""
        if isinstance(item, BaseException):
            self._done = True
            raise item
        return item  # type: ignore[return-value]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
