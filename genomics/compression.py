"""The one detector of a byte stream's compression layer: BGZF, plain gzip or none.

Validation (format detection), processing (input sniffing, the repair filter's reader) and anything else
that must tell BGZF from gzip from uncompressed content asks :func:`compression_of` on the first bytes.
"""

from __future__ import annotations

import struct

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(head: bytes) -> bool:
    """The bytes start a gzip member (BGZF is gzip too)."""
    return head[:2] == GZIP_MAGIC


def compression_of(head: bytes) -> str:
    """``bgzf`` when the gzip header has the FEXTRA subfield ``BC`` (the BGZF block size), ``gzip`` for
    any other gzip member, ``none`` otherwise. ``head``: the first bytes (12 + the extra field's length
    are enough)."""
    if not is_gzip(head):
        return "none"
    if len(head) < 12 or head[3] & 0x04 == 0:
        return "gzip"
    xlen = struct.unpack("<H", head[10:12])[0]
    extra = head[12 : 12 + xlen]
    i = 0
    while i + 4 <= len(extra):
        si1, si2 = extra[i], extra[i + 1]
        slen = struct.unpack("<H", extra[i + 2 : i + 4])[0]
        if si1 == 66 and si2 == 67:  # 'B', 'C'
            return "bgzf"
        i += 4 + slen
    return "gzip"
