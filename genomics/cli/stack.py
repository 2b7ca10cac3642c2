"""`genomics` subcommands on a deployed stack's ledger and pipeline: status, cost, replay, dashboard,
reprocess, sweep, the cohort report, upload and erasure."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from genomics.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    CliError,
    connect,
    existing,
    ledger_of,
    parse_since,
    print_json,
    table,
)


def cmd_status(args: argparse.Namespace) -> int:
    from genomics import status
    from genomics.ledger import model

    if not (args.job or args.failed_since or args.project or args.sample):
        raise CliError("say what to look up: SAMPLE, --job ID, --failed-since T or --project P")
    since = parse_since(args.failed_since, "--failed-since") if args.failed_since else None
    session, names = connect(args)
    ledger = ledger_of(session, names)
    verdict = EXIT_OK
    if args.job:
        result: Any = status.job_status(ledger, args.job)
        if result.get("status") in model.FAILURE_STATES:
            verdict = EXIT_INVALID  # the job was rejected, failed QC or failed
    elif since:
        result = status.failures(ledger, since)
    elif args.project:
        result = status.project_status(ledger, args.project)
    else:
        result = status.sample_status(ledger, args.sample)
        if not result.get("found"):
            verdict = EXIT_INVALID
    if args.json:
        print_json(result)
        return verdict
    if isinstance(result, list):
        print(table(result, ["updated_at", "status", "sample_id", "key", "reason"]))
    elif "history" in result:
        print(table([result], ["job_id", "status", "sample_id", "key", "qc_verdict", "cost_usd"]))
        for h in result["history"]:
            print(f"  {h.get('at')}  -> {h.get('to'):<11} by {h.get('by')}  {h.get('note') or h.get('error') or ''}")
        if result.get("reason"):
            print(f"  reason: {result['reason']}")
        _print_conformance(result.get("conformance"))
    elif "samples" in result:
        print(f"project {result['project']}: {len(result['samples'])} samples")
        print(table(result["jobs"], ["sample_id", "status", "key", "qc_verdict", "warnings", "updated_at"]))
        for d in result["deliveries"]:
            receipt = d.get("receipt")
            state = f" [{receipt['state']}: {_counts(receipt['objects'])}]" if receipt else ""
            print(f"  delivery {d['sk'][9:]} to {d['partner']}{state}: {', '.join(d.get('samples', []))}")
    else:
        if not result["found"]:
            print(f"sample {args.sample}: not in the ledger")
            return verdict
        print(f"sample {result['sample_id']} (project {result['project']})")
        print(table(result["jobs"], ["job_id", "status", "key", "qc_verdict", "warnings", "updated_at", "reason"]))
    return verdict


def _print_conformance(conf: dict[str, Any] | None) -> None:
    """The job's conformance report: the validation profile and each warning with its line and record."""
    if not conf:
        return
    print(f"  validation ({conf.get('profile')}): {conf.get('warning_count', 0)} warnings")
    for w in conf.get("warnings") or []:
        where = " ".join(f"{k} {w[k]}" for k in ("line", "record") if w.get(k) is not None)
        print(f"    {w.get('code')} {where}: {w.get('message')}")
    if conf.get("truncated"):
        print("    ... more: counts per code in --json")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n)


def cmd_cost(args: argparse.Namespace) -> int:
    from genomics import status

    since = parse_since(args.since, "--since") if args.since else None
    session, names = connect(args)
    result = status.project_cost(ledger_of(session, names), args.project, since)
    if args.json:
        print_json(result)
    else:
        print(
            f"project {result['project']}: {result['jobs']} jobs, ${result['usd']:.4f} "
            f"({result['lambda_gb_seconds']} Lambda GB-s)"
        )
        for st, v in sorted(result["by_status"].items()):
            print(f"  {st:<11} {int(v['jobs']):>5} jobs  ${v['usd']:.4f}")
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    from genomics.ingest import IngestConfig, ingest_record
    from genomics.replay import incomplete, replay

    session, names = connect(args)
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName=names.dead_letter_queue)["QueueUrl"]
    config = IngestConfig(raw_bucket=names.bucket("raw"), state_machine_arn=names.state_machine_arn())
    ledger = ledger_of(session, names)
    s3, sfn = session.client("s3"), session.client("stepfunctions")
    result = replay(
        sqs,
        url,
        lambda r: ingest_record(r, config=config, ledger=ledger, s3=s3, sfn=sfn),
        dry_run=args.dry_run,
    )
    print_json(result)
    if args.dry_run:  # a peek: only a message that cannot be read is a failure
        return EXIT_INVALID if result["failed"] else EXIT_OK
    return EXIT_INVALID if incomplete(result) else EXIT_OK


def cmd_dashboard(args: argparse.Namespace) -> int:
    from genomics.dashboard import publish_dashboard, render_dashboard

    session, names = connect(args)
    ledger = ledger_of(session, names)
    processed = names.bucket("processed")
    if args.publish:
        key = publish_dashboard(ledger, session.client("s3"), project=args.project, bucket=processed)
        print(f"s3://{processed}/{key}")
    if args.out or not args.publish:
        out = args.out or f"{args.project}-dashboard.html"
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(render_dashboard(ledger, args.project, processed_bucket=processed))
        print(out)
    return EXIT_OK


def cmd_reprocess(args: argparse.Namespace) -> int:
    from genomics.ingest import IngestConfig, reprocess

    session, names = connect(args)
    config = IngestConfig(raw_bucket=names.bucket("raw"), state_machine_arn=names.state_machine_arn())
    result = reprocess(
        args.job,
        config=config,
        ledger=ledger_of(session, names),
        s3=session.client("s3"),
        sfn=session.client("stepfunctions"),
    )
    print_json(result)
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the stack's sweeper now (as its schedule does): end jobs stuck past their state's deadline."""
    session, names = connect(args)
    resp = session.client("lambda").invoke(FunctionName=names.function("sweeper"), Payload=b"{}")
    out = json.loads(resp["Payload"].read() or b"{}")
    if resp.get("FunctionError"):
        raise CliError(f"the sweeper failed: {out.get('errorType')}: {out.get('errorMessage')}")
    print_json(out)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from genomics.qc.service import cohort_report

    session, names = connect(args)
    key = cohort_report(session.client("s3"), names.bucket("processed"), args.project)
    print(f"s3://{names.bucket('processed')}/{key}")
    return EXIT_OK


def cmd_upload(args: argparse.Namespace) -> int:
    existing(args.file)
    session, names = connect(args)
    key = f"{args.project}/{args.sample}/{os.path.basename(args.file)}"
    meta = {k: v for k, v in (("assay", args.assay), ("validation-profile", args.profile)) if v}
    from genomics.upload import upload

    result = upload(session.client("s3"), args.file, names.bucket("raw"), key, meta)
    print(f"{result['uri']} sha256={result['sha256']}" + (" (resumed)" if result["resumed"] else ""))
    return EXIT_OK


def cmd_forget(args: argparse.Namespace) -> int:
    from genomics.erasure import forget

    session, names = connect(args)
    actor = session.client("sts").get_caller_identity()["Arn"]
    result = forget(ledger_of(session, names), session.client("s3"), names, args.sample, actor=actor,
                    reason=args.reason, bypass_governance=args.bypass_governance)
    print_json(result)
    return EXIT_OK
