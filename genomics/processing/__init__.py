"""VCF/BCF processing: normalise, sort, deduplicate, bgzip, index; plan, shard and gather at scale.

The names below are loaded on first use, so the repair filter (``python -m genomics.processing.repair``,
one process per pipeline run) starts without importing the rest of the package and what it imports.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CODES", "ProcessingError", "process_local"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from genomics.processing import vcf

        return getattr(vcf, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
