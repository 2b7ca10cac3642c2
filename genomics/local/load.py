"""A load and chaos run on the local stack: concurrent mixed uploads, duplicates and overwrites, with
faults injected at random (seeded) points, then the operator's recovery (sweep, replay, reprocess).

Used by the test (``tests/e2e/test_chaos.py``: every upload ends in exactly one live terminal job with
the right verdict, no result overwritten, no message hidden, raw objects byte-identical) and by
``make bench`` (``bench/bench_load.py``: throughput and per-job memory).

Per sample (``samples`` of them, 20 uploads each, all at once, then one overwrite):

- ten keys with the same 1000 Genomes VCF as ``cohort``: one computes, nine are duplicates (pass);
- two keys with the same bytes as ``wgs``: another result identity, QC_FAILED (one computes);
- four keys with a small VCF as ``cohort``: one computes, three duplicates (QC warn: COMPLETED);
- two invalid VCFs (a POS that is not a number): REJECTED;
- one key written twice (an overwrite: two object versions, two jobs): the small VCF, then an invalid one.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from genomics import faults
from genomics.corpus import CORPUS
from genomics.deployment import Names, Settings
from genomics.ledger import Ledger, ObjectRef, model
from genomics.local import adapter

EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")  # Debian bio-eagle-examples
SMALL = CORPUS / "qc_oracles" / "bcftools_stats" / "stats.counts.vcf"
# A VCF no profile accepts: a POS that is not a number (VCF_POS_INVALID).
INVALID = b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\tnotanumber\t.\tA\tC\t.\t.\t.\n"
# Faults at random points (each call fails with this probability, from the seed): throttles and 5xx
# that retries absorb, and crashes that leave a FAILED job or a dead-lettered upload to recover.
DEFAULT_FAULTS = (
    "dynamodb.UpdateItem=throttle@0.02,dynamodb.PutItem=throttle@0.02,s3.GetObject=5xx@0.02,"
    "stepfunctions.StartExecution=throttle@0.1,handler.validation-handler=crash@0.05,"
    "handler.vcf-processor=crash@0.03,handler.quality-metrics=crash@0.05"
)
# Short per-state deadlines: the operator's sweep in the recovery ends what is left stuck (a duplicate
# whose original is gone) so that reprocessing can finish it.
SETTINGS = Settings(stack="chaos", scatter_threshold_bytes=50_000_000, stuck_received_s=20,
                    stuck_validating_s=20, stuck_processing_s=600, stuck_qc_s=600)


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    assay: str
    expect: str  # the verdict the upload's live job must end with


@dataclass
class LoadReport:
    uploads: list[dict[str, Any]] = field(default_factory=list)  # key, version, sha256, expect
    jobs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # version file_id -> its jobs
    fired: dict[str, int] = field(default_factory=dict)
    recovered: dict[str, int] = field(default_factory=dict)
    qc_summaries: list[dict[str, Any]] = field(default_factory=list)
    dlq: dict[str, int] = field(default_factory=dict)
    raw_identical: bool = False
    seconds: float = 0.0
    workflow_runs: int = 0


def plan(samples: int) -> list[list[Upload]]:
    """Rounds of uploads: everything in round 0 is uploaded at once; round 1 overwrites keys of round 0."""
    eur, small = EUR.read_bytes(), SMALL.read_bytes()
    first: list[Upload] = []
    second: list[Upload] = []
    for s in range(samples):
        p = f"chaos/S{s:02d}"
        first += [Upload(f"{p}/eur-{i}.vcf.gz", eur, "cohort", model.COMPLETED) for i in range(10)]
        first += [Upload(f"{p}/eur-wgs-{i}.vcf.gz", eur, "wgs", model.QC_FAILED) for i in range(2)]
        first += [Upload(f"{p}/small-{i}.vcf", small, "cohort", model.COMPLETED) for i in range(4)]
        first += [Upload(f"{p}/broken-{i}.vcf", INVALID + str(i).encode(), "cohort", model.REJECTED)
                  for i in range(2)]
        first.append(Upload(f"{p}/over.vcf", small, "cohort", model.COMPLETED))
        second.append(Upload(f"{p}/over.vcf", INVALID + b"over", "cohort", model.REJECTED))
    return [first, second]


def _ledger(names: Names) -> Ledger:
    return Ledger(names.table("metadata"), names.table("jobs"), names.table("qc"), client=boto3.client("dynamodb"))


def _put(names: Names, up: Upload) -> dict[str, Any]:
    body = up.body
    resp = boto3.client("s3").put_object(Bucket=names.bucket("raw"), Key=up.key, Body=body,
                                         Metadata={"assay": up.assay})
    ref = ObjectRef(names.bucket("raw"), up.key, resp.get("VersionId"))
    return {"key": up.key, "version_id": ref.version_id, "file_id": ref.file_id, "job_id": ref.job_id(),
            "sha256": hashlib.sha256(body).hexdigest(), "expect": up.expect, "assay": up.assay}


def _live(jobs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The upload's current job: its highest run."""
    return max(jobs, key=lambda j: int(j.get("run", 1))) if jobs else None


def _settled(ledger: Ledger, uploads: list[dict[str, Any]], sm_arn: str) -> bool:
    sfn = boto3.client("stepfunctions")
    if sfn.list_executions(stateMachineArn=sm_arn, statusFilter="RUNNING")["executions"]:
        return False
    for u in uploads:
        live = _live(ledger.jobs_for_file(u["file_id"]))
        if live is None or live["status"] in model.RESTING:
            continue
        # A duplicate waiting for the job computing its result is settled if that job rests (it ends
        # when the operator replays or reprocesses that job).
        if (live["status"] == model.VALIDATING and live.get("waiting_for")
                and ledger.get_job(str(live["waiting_for"]))["status"] in model.RESTING):
            continue
        return False
    return True


def _wait(ledger: Ledger, uploads: list[dict[str, Any]], sm_arn: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        adapter.drain(timeout=5)
        if _settled(ledger, uploads, sm_arn):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.0:  # stable: no late retry arrived
                return
        else:
            quiet_since = None
        time.sleep(0.5)


def _recover(names: Names, ledger: Ledger, uploads: list[dict[str, Any]]) -> dict[str, int]:
    """The operator's runbooks, with the faults gone: sweep (dead letters), replay, reprocess."""
    from genomics.ingest import IngestConfig, ingest_record, reprocess
    from genomics.replay import replay

    lam, sqs = boto3.client("lambda"), boto3.client("sqs")
    out = json.loads(lam.invoke(FunctionName=names.function("sweeper"), Payload=b"{}")["Payload"].read())
    url = sqs.get_queue_url(QueueName=names.dead_letter_queue)["QueueUrl"]
    config = IngestConfig(raw_bucket=names.bucket("raw"), state_machine_arn=names.state_machine_arn())
    s3, sfn = boto3.client("s3"), boto3.client("stepfunctions")
    replayed = replay(sqs, url, lambda r: ingest_record(r, config=config, ledger=ledger, s3=s3, sfn=sfn))
    reprocessed = 0
    for u in uploads:
        live = _live(ledger.jobs_for_file(u["file_id"]))
        if live is not None and live["status"] in (model.FAILED, model.INGEST_FAILED):
            reprocess(live["job_id"], config=config, ledger=ledger, s3=s3, sfn=sfn, actor="chaos-operator")
            reprocessed += 1
    return {"dead_letters_marked": len(out.get("dead_letters", [])), "swept": len(out.get("ended", [])),
            "replayed": len(replayed["replayed"]),
            "replay_failed": len(replayed["failed"]), "reprocessed": reprocessed}


def run(*, samples: int = 3, seed: int = 17, faults_spec: str = DEFAULT_FAULTS, timeout_s: float = 300.0
        ) -> LoadReport:
    """Deploy the stack on a fresh local cloud, run the load with faults, recover, and report."""
    from genomics.local.deploy import deploy
    from genomics.local.server import ACCOUNT_ID, REGION, local_cloud

    report = LoadReport()
    rounds = plan(samples)
    armed = faults.parse(faults_spec, seed=seed) if faults_spec else []
    with local_cloud() as cloud:
        names = Names(stack=SETTINGS.stack, account_id=ACCOUNT_ID, region=REGION)
        stack = deploy(names, SETTINGS)
        ledger = _ledger(names)
        started = time.monotonic()
        faults.arm(armed)
        try:
            for ups in rounds:
                with ThreadPoolExecutor(max_workers=len(ups)) as pool:
                    report.uploads += list(pool.map(lambda up: _put(names, up), ups))
            _wait(ledger, report.uploads, stack.state_machine_arn, timeout_s)
        finally:
            faults.disarm(armed)
        report.fired = {f.point: f.fired for f in armed}
        # The runbooks, until nothing is left to recover (at most three passes).
        for _ in range(3):
            done = _recover(names, ledger, report.uploads)
            report.recovered = {k: report.recovered.get(k, 0) + v for k, v in done.items()}
            _wait(ledger, report.uploads, stack.state_machine_arn, timeout_s)
            if all((_live(ledger.jobs_for_file(u["file_id"])) or {}).get("status") in model.TERMINAL
                   for u in report.uploads):
                break
            time.sleep(SETTINGS.stuck_validating_s)
        report.seconds = time.monotonic() - started
        for u in report.uploads:
            report.jobs[u["file_id"]] = ledger.jobs_for_file(u["file_id"])
        samples_seen = sorted({u["key"].split("/")[1] for u in report.uploads})
        report.qc_summaries = [i for s in samples_seen for i in ledger.qc_for_sample(s) if i["metric"] == "_summary"]
        sqs = boto3.client("sqs")
        attrs = sqs.get_queue_attributes(
            QueueUrl=stack.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        report.dlq = {k: int(v) for k, v in attrs.items()}
        s3 = boto3.client("s3")
        report.raw_identical = all(
            hashlib.sha256(s3.get_object(Bucket=names.bucket("raw"), Key=u["key"], VersionId=u["version_id"])
                           ["Body"].read()).hexdigest() == u["sha256"]
            for u in report.uploads)
        sfn = boto3.client("stepfunctions")
        report.workflow_runs = len(sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"])
        # moto's backends live in this process: leave nothing behind for the next run.
        urllib.request.urlopen(urllib.request.Request(f"{cloud.endpoint}/moto-api/reset", method="POST"),
                               timeout=30).read()
    return report


def job_memory_mb(report: LoadReport) -> list[float]:
    """Peak memory of each computed job's heaviest step (the jobs' own, as the ledger records it)."""
    peaks = []
    for jobs in report.jobs.values():
        for j in jobs:
            steps = [float(s.get("max_rss_mb") or 0) for s in j.get("steps") or []]
            if steps and not j.get("duplicate_of"):
                peaks.append(max(steps))
    return peaks


__all__ = ["DEFAULT_FAULTS", "LoadReport", "job_memory_mb", "plan", "run"]

