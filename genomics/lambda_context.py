"""A Lambda context object for calling handlers outside Lambda: the local mode's adapter, the tests
and the image build's warm-up (genomics.warmup) use it. Imports nothing beyond the standard library."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str = "local"
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
