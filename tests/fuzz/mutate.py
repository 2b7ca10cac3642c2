"""Deterministic byte- and line-level mutations of corpus files.

``mutant(data, rng)`` returns the mutated bytes and the list of operations applied (for the artifact).
Compressed inputs (gzip, BGZF: BAM, BCF, .vcf.gz, .fq.gz) are mutated either on the raw bytes (what a
damaged transfer looks like) or inside the compression layer and re-compressed (what a buggy writer looks
like: the binary BAM/BCF records themselves are then what the validators see).
"""

from __future__ import annotations

import gzip
import random
import struct
import zlib
from collections.abc import Callable

# Values that sit on parser boundaries: empty, missing, signs, 32/64-bit limits, float specials, the
# separators of VCF/SAM/FASTQ, symbolic alleles and breakends, control and non-UTF-8 bytes.
TOKENS: tuple[bytes, ...] = (
    b"", b".", b"-", b"-1", b"0", b"1", b"2147483647", b"2147483648", b"-2147483648", b"-2147483649",
    b"4294967296", b"99999999999999999999999", b"NaN", b"inf", b"-inf", b"1e308", b"1e-400", b"0x10",
    b"A" * 300, b"N", b"*", b"<DEL>", b"<*>", b"<NON_REF>", b"]1:1]A", b"A[chr1:0[", b"0/2", b"./.", b"1|",
    b"|", b"/", b"0/1/2/3/4/5", b"\x00", b"\xff\xfe", b"\xc3\x28", b";", b"=", b",", b":", b"%", b"\t",
    b"\r", b" ", b"\\", b'"', b"<", b">", b"##", b"#CHROM", b"@", b"+", b"!", b"~", b"255", b"65536",
    b"*\t0\t0", b"=\t-1", b"1M", b"4294967295M", b"0M", b"10S10H", b"100I", b"*\t*",
)
INTS: tuple[int, ...] = (0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, -0x80000000, 0xFFFFFFFF)


def is_gzip(data: bytes) -> bool:
    return data[:2] == b"\x1f\x8b"


def is_bgzf(data: bytes) -> bool:
    return len(data) >= 16 and data[:4] == b"\x1f\x8b\x08\x04" and data[12:14] == b"BC"


def bgzf_compress(data: bytes) -> bytes:
    """BGZF (SAM spec 4.1): gzip members of at most 64 KiB input with the BC extra field, then the EOF
    block."""
    out = bytearray()
    for start in range(0, len(data), 0xFF00):
        chunk = data[start:start + 0xFF00]
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = comp.compress(chunk) + comp.flush()
        bsize = len(body) + 25
        out += b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00" + struct.pack("<H", bsize)
        out += body + struct.pack("<II", zlib.crc32(chunk) & 0xFFFFFFFF, len(chunk))
    out += bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    return bytes(out)


def looks_text(data: bytes) -> bool:
    head = data[:4096]
    return b"\x00" not in head and (not head or sum(32 <= b < 127 or b in (9, 10, 13) for b in head) > 0.9 * len(head))


# ------------------------------------------------------------------------------------------ byte level
def _span(rng: random.Random, n: int) -> tuple[int, int]:
    a = rng.randrange(n + 1)
    return a, min(n, a + rng.choice((1, 2, 4, 8, 16, 64, 512)))


def flip_bit(d: bytearray, rng: random.Random) -> None:
    if d:
        d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)


def random_byte(d: bytearray, rng: random.Random) -> None:
    if d:
        d[rng.randrange(len(d))] = rng.randrange(256)


def insert_bytes(d: bytearray, rng: random.Random) -> None:
    at = rng.randrange(len(d) + 1)
    d[at:at] = rng.choice(TOKENS) if rng.random() < 0.5 else rng.randbytes(rng.choice((1, 3, 17, 200)))


def delete_span(d: bytearray, rng: random.Random) -> None:
    a, b = _span(rng, len(d))
    del d[a:b]


def duplicate_span(d: bytearray, rng: random.Random) -> None:
    a, b = _span(rng, len(d))
    d[b:b] = d[a:b]


def truncate(d: bytearray, rng: random.Random) -> None:
    del d[rng.randrange(len(d) + 1):]


def overwrite_int(d: bytearray, rng: random.Random) -> None:
    """A 8/16/32-bit little-endian boundary value over whatever is there (lengths and counts in BAM/BCF)."""
    if len(d) < 4:
        return
    at = rng.randrange(len(d) - 3)
    v = rng.choice(INTS)
    width = rng.choice((1, 2, 4))
    d[at:at + width] = (v & ((1 << (8 * width)) - 1)).to_bytes(width, "little")


BYTE_OPS: tuple[Callable[[bytearray, random.Random], None], ...] = (
    flip_bit, random_byte, insert_bytes, delete_span, duplicate_span, truncate, overwrite_int,
)


# ------------------------------------------------------------------------------------------ line level
def _lines_op(fn: Callable[[list[bytes], random.Random], None]) -> Callable[[bytearray, random.Random], None]:
    def op(d: bytearray, rng: random.Random) -> None:
        lines = bytes(d).split(b"\n")
        fn(lines, rng)
        d[:] = b"\n".join(lines)

    op.__name__ = fn.__name__
    return op


@_lines_op
def delete_line(lines: list[bytes], rng: random.Random) -> None:
    if lines:
        del lines[rng.randrange(len(lines))]


@_lines_op
def duplicate_line(lines: list[bytes], rng: random.Random) -> None:
    if lines:
        i = rng.randrange(len(lines))
        lines.insert(rng.randrange(len(lines) + 1), lines[i])


@_lines_op
def swap_lines(lines: list[bytes], rng: random.Random) -> None:
    if len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]


@_lines_op
def truncate_line(lines: list[bytes], rng: random.Random) -> None:
    if lines:
        i = rng.randrange(len(lines))
        lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]


def _fields(lines: list[bytes], rng: random.Random) -> tuple[int, list[bytes], bytes] | None:
    if not lines:
        return None
    i = rng.randrange(len(lines))
    sep = b"\t" if b"\t" in lines[i] else rng.choice((b";", b":", b",", b"="))
    return i, lines[i].split(sep), sep


@_lines_op
def replace_field(lines: list[bytes], rng: random.Random) -> None:
    if (got := _fields(lines, rng)) is None:
        return
    i, fields, sep = got
    fields[rng.randrange(len(fields))] = rng.choice(TOKENS)
    lines[i] = sep.join(fields)


@_lines_op
def edit_subfield(lines: list[bytes], rng: random.Random) -> None:
    """Within one tab field, replace one ';', ':', ',', '=' or '/' separated part (INFO, FORMAT, GT, PL...)."""
    if (got := _fields(lines, rng)) is None:
        return
    i, fields, sep = got
    k = rng.randrange(len(fields))
    sub = rng.choice((b";", b":", b",", b"=", b"/", b"|"))
    parts = fields[k].split(sub)
    parts[rng.randrange(len(parts))] = rng.choice(TOKENS)
    fields[k] = sub.join(parts)
    lines[i] = sep.join(fields)


@_lines_op
def drop_or_add_field(lines: list[bytes], rng: random.Random) -> None:
    if (got := _fields(lines, rng)) is None:
        return
    i, fields, sep = got
    k = rng.randrange(len(fields))
    if rng.random() < 0.5 and len(fields) > 1:
        del fields[k]
    else:
        fields.insert(k, fields[k] if rng.random() < 0.5 else rng.choice(TOKENS))
    lines[i] = sep.join(fields)


@_lines_op
def swap_fields(lines: list[bytes], rng: random.Random) -> None:
    if (got := _fields(lines, rng)) is None:
        return
    i, fields, sep = got
    a, b = rng.randrange(len(fields)), rng.randrange(len(fields))
    fields[a], fields[b] = fields[b], fields[a]
    lines[i] = sep.join(fields)


LINE_OPS: tuple[Callable[[bytearray, random.Random], None], ...] = (
    delete_line, duplicate_line, swap_lines, truncate_line, replace_field, edit_subfield, drop_or_add_field,
    swap_fields,
)


def _mutate(data: bytes, rng: random.Random, ops: list[str], prefix: str) -> bytes:
    d = bytearray(data)
    text = looks_text(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 5))):
        pool = LINE_OPS if text and rng.random() < 0.75 else BYTE_OPS
        op = rng.choice(pool)
        op(d, rng)
        ops.append(prefix + op.__name__)
    return bytes(d)


def mutant(data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    """One mutant of ``data`` and the operations that made it."""
    ops: list[str] = []
    if is_gzip(data) and rng.random() < 0.7:
        try:
            inner = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            inner = None
        if inner is not None:
            changed = _mutate(inner, rng, ops, "inner:")
            if is_bgzf(data):
                ops.append("bgzf")
                return bgzf_compress(changed), ops
            ops.append("gzip")
            return gzip.compress(changed, mtime=0), ops
    return _mutate(data, rng, ops, ""), ops
