"""web-tasks: what the web app asks for that outlasts an API request, run asynchronously.

web-api checks the caller (membership of the job's project; steward or operator) and invokes this
function with ``InvocationType=Event`` and ``{"task": "reprocess", "job_id", "actor"}``; here the job's
upload is validated again and a new run started (:func:`genomics.ingest.reprocess`), with the actor
(``web:<username>``) recorded in the job's history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from genomics.ingest import IngestConfig, reprocess
from genomics.ledger import Ledger

CODES: dict[str, str] = {
    "WEB_TASK_INVALID": "web-tasks received an event that is not a task it runs (a bug in the caller).",
}
_JOB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_ACTOR = re.compile(r"^web:[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


class TaskInvalid(ValueError):
    code = "WEB_TASK_INVALID"


def run(event: Mapping[str, Any], *, config: IngestConfig, ledger: Ledger, s3: Any, sfn: Any) -> dict[str, Any]:
    task, job_id, actor = event.get("task"), str(event.get("job_id") or ""), str(event.get("actor") or "")
    if task != "reprocess" or not _JOB.match(job_id) or not _ACTOR.match(actor):
        raise TaskInvalid(f"WEB_TASK_INVALID: not a reprocess task: {dict(event)!r}"[:500])
    return reprocess(job_id, config=config, ledger=ledger, s3=s3, sfn=sfn, actor=actor)
