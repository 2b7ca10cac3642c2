"""Per-user rate limiting of the web app's API: a fixed-window counter per Cognito ``sub`` in the ledger's
metadata table, moved by conditional updates (no read, no lock, no new table).

API Gateway's stage and route throttles cap the whole API (every user together); this caps each user, so
one script or runaway tab cannot use up the API for everybody. One item per user
(``pk=THROTTLE#<sub>``, ``sk=WINDOW``) holds the current window's start and its count of requests:

1. ``UpdateItem SET hits = hits + 1`` on condition ``window_start = :now_window AND hits < :limit``;
2. when that fails, ``SET window_start = :now_window, hits = 1`` on condition the item is missing or its
   window is an older one (a new window begins);
3. when both fail, the current window is full: the request is answered 429 ``WEB_RATE_LIMITED`` with
   ``Retry-After`` = the seconds until the next window.

The item is overwritten in place every window, so the table does not grow with traffic and needs no TTL;
on-demand billing charges one write per request, nothing when idle. Limits come from the stack's settings
(``webRateLimit`` requests per ``webRateWindowS`` seconds; :class:`genomics.deployment.Settings`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from genomics.errors import condition_failed
from genomics.ledger.store import Ledger, serialize


class RateLimited(Exception):
    """The caller used up its requests of the current window."""

    code = "WEB_RATE_LIMITED"

    def __init__(self, limit: int, window_s: int, retry_after_s: int) -> None:
        super().__init__(f"more than {limit} requests in {window_s} s: wait {retry_after_s} s and try again")
        self.retry_after_s = retry_after_s


@dataclass
class Throttle:
    """``limit`` requests per ``window_s`` seconds per user, counted in ``metadata_table``."""

    metadata_table: str
    limit: int
    window_s: int
    client: Any = None
    clock: Callable[[], float] = field(default=time.time)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_s < 1:
            raise ValueError(f"rate limit {self.limit} per {self.window_s} s: both must be at least 1")
        self.store = Ledger(self.metadata_table, jobs_table="", qc_table="", client=self.client)

    def _update(self, sub: str, expression: str, condition: str, values: dict[str, Any]) -> bool:
        """One conditional update of the user's window item; False when its condition did not hold."""
        try:
            self.store._call("update_item", TableName=self.metadata_table,
                             Key=serialize({"pk": f"THROTTLE#{sub}", "sk": "WINDOW"}),
                             UpdateExpression=expression, ConditionExpression=condition,
                             ExpressionAttributeValues=serialize(values))
        except ClientError as e:
            if condition_failed(e):
                return False
            raise
        return True

    def _count(self, sub: str, window: int) -> bool:
        return self._update(sub, "SET hits = hits + :one", "window_start = :w AND hits < :limit",
                            {":one": 1, ":w": window, ":limit": self.limit})

    def hit(self, sub: str) -> None:
        """Count one request of ``sub``; :class:`RateLimited` when its window is full."""
        now = self.clock()
        window = int(now // self.window_s) * self.window_s
        if self._count(sub, window):
            return
        if self._update(sub, "SET window_start = :w, hits = :one",
                        "attribute_not_exists(window_start) OR window_start < :w", {":one": 1, ":w": window}):
            return
        if self._count(sub, window):  # another request of this user began the window first
            return
        raise RateLimited(self.limit, self.window_s, max(1, math.ceil(window + self.window_s - now)))
