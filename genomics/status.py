"""Answers from the ledger: where is sample X, what failed since T, what did project P deliver."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from genomics.ledger import Ledger, model

JOB_FIELDS = ("job_id", "status", "sample_id", "project", "key", "format", "updated_at")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime | None = None) -> str:
    """An ISO 8601 date/time (UTC when it names no zone) or an age like ``30m`` / ``24h`` / ``7d`` -> the
    ledger's timestamp format (UTC, microseconds, ``Z``), so that string comparison orders correctly.
    Raises ValueError on anything else."""
    if text and text[-1] in _UNITS and text[:-1].isdigit():
        t = (now or datetime.now(UTC)) - timedelta(**{_UNITS[text[-1]]: int(text[:-1])})
    else:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))  # ValueError when not ISO
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def reason_of(job: Mapping[str, Any]) -> str | None:
    """Why a job did not complete: its recorded reason, or for QC_FAILED the gate's failing checks."""
    status = job.get("status")
    if status not in model.FAILURE_STATES:
        return None
    if job.get("reason"):
        return str(job["reason"])
    qc = job.get("qc") or {}
    reasons = [str(r) for r in qc.get("reasons") or []]
    failing = [r for r in reasons if " fail " in r]
    if failing or reasons:
        return "; ".join(failing or reasons)
    if qc.get("deciding_metric"):
        return f"QC gate failed on {qc['deciding_metric']}"
    return str(job["error"]) if job.get("error") else None


def latest_jobs(jobs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One job per file: the most recently updated (a reprocessing run supersedes the first)."""
    best: dict[str, dict[str, Any]] = {}
    for job in jobs:
        fid = str(job.get("file_id") or job.get("job_id"))
        rank = (str(job.get("updated_at") or ""), int(job.get("run") or 1), str(job.get("created_at") or ""))
        cur = best.get(fid)
        if cur is None or rank > (
            str(cur.get("updated_at") or ""),
            int(cur.get("run") or 1),
            str(cur.get("created_at") or ""),
        ):
            best[fid] = dict(job)
    return sorted(best.values(), key=lambda j: (str(j.get("sample_id") or ""), str(j.get("key") or "")))


def job_row(job: dict[str, Any]) -> dict[str, Any]:
    row = {k: job.get(k) for k in JOB_FIELDS}
    row["reason"] = reason_of(job)
    qc = job.get("qc") or {}
    row["qc_verdict"] = qc.get("verdict")
    row["identity_findings"] = list((qc.get("identity") or {}).get("findings") or [])
    row["outputs"] = job.get("outputs") or {}
    row["cost_usd"] = (job.get("cost") or {}).get("usd")
    conf = job.get("conformance") or {}
    row["warnings"] = int(conf.get("warning_count") or 0)
    row["profile"] = conf.get("profile")
    return row


def sample_status(ledger: Ledger, sample_id: str) -> dict[str, Any]:
    sample = ledger.sample(sample_id)
    if sample is None:
        return {"sample_id": sample_id, "found": False, "files": [], "jobs": [], "qc": []}
    jobs = ledger.jobs_for_sample(sample_id)
    qc = [q for q in ledger.qc_for_sample(sample_id) if q.get("metric_key", "").endswith("#_gate")]
    return {
        "sample_id": sample_id,
        "found": True,
        "project": sample.get("project"),
        "files": [
            {k: f.get(k) for k in ("key", "version_id", "format", "status", "sha256", "job_id", "qc_verdict")}
            for f in sample["files"]
        ],
        "jobs": [job_row(j) for j in jobs],
        "qc": qc,
    }


def job_status(ledger: Ledger, job_id: str) -> dict[str, Any]:
    job = ledger.get_job(job_id)
    return {
        **job_row(job),
        "history": job.get("history", []),
        "steps": job.get("steps", []),
        "cost": job.get("cost"),
        "error": job.get("error"),
        "cause": job.get("cause"),
        "conformance": job.get("conformance"),
    }


def failures(ledger: Ledger, since: str, limit: int | None = None) -> list[dict[str, Any]]:
    return [job_row(j) for j in ledger.failures_since(since, limit)]


def _project_answer(ledger: Ledger, project: str, jobs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {
        "project": project,
        "samples": [s.get("sample_id") for s in ledger.samples_in_project(project)],
        "jobs": [job_row(j) for j in jobs],
        "deliveries": [_with_receipt(ledger, d) for d in ledger.deliveries(project)],
    }


def _with_receipt(ledger: Ledger, delivery: dict[str, Any]) -> dict[str, Any]:
    """An encrypted delivery with its partner-side state (delivered -> downloaded -> acknowledged) and how
    many of its objects are in each state (genomics.drs)."""
    if not delivery.get("encrypted"):
        return delivery
    from genomics.drs.state import DeliveryState, object_counts

    state = DeliveryState(ledger)
    delivery_id = str(delivery["sk"]).removeprefix("DELIVERY#")
    partner_side = state.delivery(str(delivery["partner"]), delivery_id) or {}
    objects = state.objects(str(delivery["partner"]), delivery_id)
    return {**delivery, "receipt": {"state": partner_side.get("state"),
                                    "acknowledged_at": partner_side.get("acknowledged_at"),
                                    "objects": object_counts(objects)}}


def project_status(ledger: Ledger, project: str) -> dict[str, Any]:
    return _project_answer(ledger, project, ledger.jobs_for_project(project))


def project_page(ledger: Ledger, project: str, limit: int, start: Mapping[str, Any] | None = None
                 ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``project_status`` a page of jobs at a time (newest first): the answer with at most ``limit``
    jobs, and the ledger key to continue from (None when this page is the last)."""
    jobs, last = ledger.jobs_for_project_page(project, limit, start)
    return _project_answer(ledger, project, jobs), last


def project_cost(ledger: Ledger, project: str, since: str | None = None) -> dict[str, Any]:
    """Estimated spend of a project's jobs (Lambda GB-seconds and Step Functions transitions at the list
    prices stated in stack config), per status and in total."""
    jobs = [j for j in ledger.jobs_for_project(project) if since is None or j.get("created_at", "") >= since]
    by_status: dict[str, dict[str, float]] = {}
    total_usd = 0.0
    gb_s = 0.0
    for j in jobs:
        cost = j.get("cost") or {}
        usd = float(cost.get("usd") or 0.0)
        total_usd += usd
        gb_s += float(cost.get("lambda_gb_seconds") or 0.0)
        slot = by_status.setdefault(j["status"], {"jobs": 0, "usd": 0.0})
        slot["jobs"] += 1
        slot["usd"] = round(slot["usd"] + usd, 6)
    return {
        "project": project,
        "since": since,
        "jobs": len(jobs),
        "usd": round(total_usd, 6),
        "lambda_gb_seconds": round(gb_s, 3),
        "by_status": by_status,
    }
