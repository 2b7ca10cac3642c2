"""Small helpers the validator tests share."""

from __future__ import annotations

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
