"""Names for files in scratch space and for published outputs, never taken from an uploaded key.

An S3 key is up to 1,024 bytes of any UTF-8: spaces, ``%``, ``+``, newlines, names that look like
options (``-o``, ``--help``). None of that may reach the filesystem (a file name is at most 255
bytes) or a tool's argv (where ``-o`` is an option). So:

- :func:`scratch_name` names a scratch file after a digest of the job id (or any identity): a fixed
  prefix, 16 hex digits and the caller's suffix; it never starts with ``-`` and is always short;
- :func:`published_name` is the file name an output keeps in the processed bucket: the upload's own
  name when it is short and made of safe characters (so ordinary outputs keep their readable names),
  otherwise a safe, bounded stem plus a digest of the whole key (distinct keys stay distinct).
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_EXT = re.compile(r"((?:\.[A-Za-z0-9]{1,5}){1,2})$")
# Longest upload file name kept as is in an output key (output keys add a prefix and a suffix).
MAX_PUBLISHED_NAME = 120


def digest(text: str, n: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:n]


def scratch_name(identity: str, suffix: str = "") -> str:
    """``job-<16 hex of sha256(identity)><suffix>``: safe in any filesystem and any argv."""
    if suffix and (_UNSAFE.search(suffix) or len(suffix) > 40):
        raise ValueError(f"scratch suffix {suffix!r} must be a short run of [A-Za-z0-9._-]")
    return f"job-{digest(identity)}{suffix}"


def published_name(key: str) -> str:
    """The file name an output of the upload ``key`` is published under (see the module's docstring)."""
    base = key.rstrip("/").rsplit("/", 1)[-1]
    if base and len(base.encode()) <= MAX_PUBLISHED_NAME and not _UNSAFE.search(base) and base[0] not in "-.":
        return base
    ext_match = _EXT.search(base)
    ext = ext_match.group(1) if ext_match and not _UNSAFE.search(ext_match.group(1)) else ""
    stem = _UNSAFE.sub("_", base[: len(base) - len(ext)]).lstrip("-._")[:60].rstrip("_")
    return f"{stem or 'upload'}-{digest(key)}{ext}"
