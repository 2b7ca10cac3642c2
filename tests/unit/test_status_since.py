"""genomics.status.parse_since: the one reading of "since" for the CLI and the status API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from genomics.ledger import model
from genomics.status import parse_since

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "want"), [
    ("2026-11-01", "2026-11-01T00:00:00.000000Z"),
    ("2026-11-01T08:30:00Z", "2026-11-01T08:30:00.000000Z"),
    ("2026-11-01T08:30:00+02:00", "2026-11-01T06:30:00.000000Z"),  # converted to UTC, as the ledger keeps time
    ("24h", "2026-11-22T12:00:00.000000Z"),
    ("7d", "2026-11-16T12:00:00.000000Z"),
    ("30m", "2026-11-23T11:30:00.000000Z"),
])
def test_status_parse_since_to_ledger_format(text: str, want: str) -> None:
    assert parse_since(text, now=NOW) == want


def test_status_parse_since_orders_like_ledger_timestamps() -> None:
    """The ledger compares timestamps as strings: the parsed form has the same shape as model.now_iso()."""
    stamp = model.now_iso()
    assert len(parse_since("2026-01-01")) == len(stamp)
    assert parse_since("2000-01-01") < stamp < parse_since("2999-01-01")


@pytest.mark.parametrize("text", ["yesterday", "", "24", "h", "2026-13-45", "-5d"])
def test_status_parse_since_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_since(text, now=NOW)
