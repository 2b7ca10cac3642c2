"""Load and chaos: 60 concurrent mixed uploads (duplicates, another assay, invalid files, overwrites)
on the local stack with seeded faults at random points (throttles, 5xx, handler crashes), then the
operator's recovery. Every upload ends in exactly one live terminal job with the right verdict; no
result is overwritten; no message is hidden; the raw objects are byte-identical."""

from __future__ import annotations

import pytest

from genomics.ledger import model
from genomics.local import load


@pytest.fixture(scope="module")
def report() -> load.LoadReport:
    return load.run(samples=3, seed=17)


def test_chaos_faults_fired_and_were_recovered(report):
    assert len(report.uploads) == 60
    assert sum(report.fired.values()) > 0, report.fired  # the run was hostile


def test_chaos_every_upload_ends_in_one_live_terminal_job_with_the_right_verdict(report):
    wrong = []
    for u in report.uploads:
        jobs = report.jobs[u["file_id"]]
        runs = sorted(int(j.get("run", 1)) for j in jobs)
        assert runs == list(range(1, len(runs) + 1)), (u["key"], runs)  # no job lost, none twice
        live = max(jobs, key=lambda j: int(j.get("run", 1)))
        if live["status"] != u["expect"]:
            wrong.append((u["key"], u["assay"], live["status"], live.get("reason")))
        for earlier in jobs:
            if earlier is not live:  # a superseded run ended FAILED, with the fault or supersession as reason
                assert earlier["status"] in (model.FAILED, model.INGEST_FAILED) or earlier["status"] == live["status"]
        if live["status"] in (model.COMPLETED, model.QC_FAILED):
            assert live["eligible_for_delivery"] is (live["status"] == model.COMPLETED), live
            assert live["assay"] == u["assay"] and live["qc"]["verdict"], live
    assert not wrong, wrong


def test_chaos_identical_uploads_collapse_and_identities_never_share_results(report):
    # One computing job per (sample, identity); everything else is a duplicate of it.
    owners: dict[tuple[str, str], set[str]] = {}
    for jobs in report.jobs.values():
        live = max(jobs, key=lambda j: int(j.get("run", 1)))
        if live["status"] in (model.COMPLETED, model.QC_FAILED) and live.get("result_id"):
            owners.setdefault((live["sample_id"], live["result_id"]), set()).add(live.get("duplicate_of") or
                                                                                live["job_id"])
    # Each identity is computed once, plus at most once per job the operator reprocessed (a deliberate
    # recompute of a result that exists is a run of its own).
    computed = sum(len(o) for o in owners.values())
    assert owners and computed <= len(owners) + report.recovered["reprocessed"], (owners, report.recovered)
    # No result overwritten: each (sample, identity)'s QC summary holds the verdict and assay of the jobs
    # with that identity, e.g. the same bytes' cohort "pass" and wgs "fail" side by side.
    summaries = {(q["sample_id"], q["metric_key"].split("#")[0]): q for q in report.qc_summaries}
    checked = 0
    for jobs in report.jobs.values():
        live = max(jobs, key=lambda j: int(j.get("run", 1)))
        if live["status"] not in (model.COMPLETED, model.QC_FAILED):
            continue
        q = summaries[(live["sample_id"], live["result_id"][:16])]
        assert (q["verdict"], q["assay"]) == (live["qc"]["verdict"], live["assay"]), (q, live)
        checked += 1
    assert checked >= 45
    verdicts = {(k[0], q["assay"]): q["verdict"] for k, q in summaries.items()}
    assert all(verdicts[(s, "wgs")] == "fail" and verdicts[(s, "cohort")] in ("pass", "warn")
               for s in {k[0] for k in summaries})
    # Far fewer workflow runs than uploads: duplicates did not compute again.
    assert report.workflow_runs < len(report.uploads) // 2, report.workflow_runs


def test_chaos_no_message_hidden_and_raw_objects_untouched(report):
    assert report.dlq == {"ApproximateNumberOfMessages": 0, "ApproximateNumberOfMessagesNotVisible": 0}, (
        report.dlq, report.recovered)
    assert report.recovered["replay_failed"] == 0
    assert report.raw_identical
