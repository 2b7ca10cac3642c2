"""Small helpers the validator tests share."""

from __future__ import annotations

import random
from pathlib import Path

from genomics.validation.report import ValidationReport


def write(tmp_path: Path, name: str, data: bytes) -> str:
    """Write ``data`` to ``tmp_path/name``; its path as a string (what validate_path takes)."""
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def codes(report: ValidationReport) -> set[str]:
    """The codes of a report's errors."""
    return {i.code for i in report.errors}


def mutate_lines(
    rng: random.Random, lines: list[bytes], alphabet: bytes, edits: tuple[int, int] = (1, 4)
) -> list[bytes]:
    """A copy of ``lines`` with a few seeded byte- and line-level edits: a byte replaced from ``alphabet``,
    bytes deleted or inserted, a CR appended, a line deleted or a line copied elsewhere."""
    out = list(lines)
    for _ in range(rng.randint(*edits)):
        i = rng.randrange(len(out))
        line = bytearray(out[i])
        op = rng.random()
        if op < 0.5 and line:
            line[rng.randrange(len(line))] = alphabet[rng.randrange(len(alphabet))]
        elif op < 0.65 and line:
            j = rng.randrange(len(line))
            del line[j : j + rng.randint(1, 5)]
        elif op < 0.75:
            j = rng.randrange(len(line) + 1)
            line[j:j] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
        elif op < 0.8:
            line += b"\r"
        elif op < 0.9:
            del out[i]
            continue
        else:
            out.insert(rng.randrange(len(out)), out[rng.randrange(len(out))])
            continue
        out[i] = bytes(line)
    return out
