"""The sample ledger: who/what/where of every sample, file and job (DynamoDB).

The names below load on first use: importing :mod:`genomics.ledger.model` (pure parsing, used by
``genomics.steps`` and so by every step's event parsing) then does not import boto3 with the store.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "ObjectRef": "genomics.ledger.model",
    "parse_key": "genomics.ledger.model",
    "InvalidTransition": "genomics.ledger.store",
    "JobNotFound": "genomics.ledger.store",
    "Ledger": "genomics.ledger.store",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
