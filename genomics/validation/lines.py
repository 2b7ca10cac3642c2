"""Reading line-oriented formats (SAM, FASTQ) with a bound on line length, so that binary garbage or a
file without line breaks cannot make a validator hold gigabytes."""

from __future__ import annotations

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
