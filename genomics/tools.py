"""Running samtools, bcftools and tabix: argv lists only, failures carry argv, exit code and stderr."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Sequence


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
