"""`genomics`: the command line for researchers, data stewards and pipeline operators.

Local files:   genomics validate PATH... [--json] [--reference FASTA] [--mate FASTQ]
               genomics process IN OUTDIR [--reference FASTA]
               genomics qc PATH [--json] [--assay wgs|wes|panel|cohort]
A deployed stack (credentials from the usual AWS chain; --endpoint-url for moto server):
               genomics status [SAMPLE | --job ID | --failed-since T | --project P] [--json]
               genomics replay [--dry-run]
               genomics deliver PROJECT --partner NAME [--sample S]... [--delivery-id ID]  (resumable;
                 Crypt4GH-encrypted and signed when the partner is registered)
               genomics partner add NAME --pubkey FILE | list | deliveries NAME | signing-key
               genomics report PROJECT          genomics upload FILE PROJECT SAMPLE [--assay A]
               genomics cost PROJECT [--since T]    genomics reprocess JOB_ID   genomics sweep
               genomics dashboard PROJECT [--out FILE] [--publish]
Everything on this machine, on moto server:
               genomics local demo [--json]     genomics local serve
Reference:     genomics codes                   (the error-code table)

Exit codes (every subcommand): 0 done; 1 a verdict (invalid file, QC gate fail, job failed, sample
unknown); 2 could not do what was asked, with one line ``CODE: message [where]`` on stderr (no traceback
unless --debug). The codes are in docs/error-codes.md; genomics.errors.classify decides them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

from genomics import errors

EXIT_OK, EXIT_INVALID, EXIT_USAGE = errors.EXIT_OK, errors.EXIT_VERDICT, errors.EXIT_FAILED

EPILOG = """exit status:
  0  done
  1  a verdict: a file is invalid, the QC gate failed, a job failed or was rejected, a sample is unknown
  2  could not do what was asked: bad arguments, a missing or unreadable file, unknown content, no AWS
     credentials or region, endpoint unreachable, access denied, a resource that does not exist

errors: one line on stderr, CODE: message [where]; `genomics codes` lists the codes (docs/error-codes.md).
--debug (before or after the subcommand) adds the Python traceback."""


class CliError(errors.UserInputError):
    """A problem with what was asked (exit 2); ``code`` defaults to CLI_USAGE."""

    code = "CLI_USAGE"


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error reported as one coded line like every other failure."""

    def error(self, message: str) -> NoReturn:
        line = errors.Failure("CLI_USAGE", f"{message} (see `{self.prog} --help`)").line()
        print(line, file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _existing(path: str | None) -> str | None:
    """A local input named on the command line: it must exist (CLI_FILE_NOT_FOUND otherwise)."""
    if path is not None and not os.path.exists(path):
        raise CliError("no such file or directory", code="CLI_FILE_NOT_FOUND", location=path)
    return path


# ------------------------------------------------------------------------------------------ helpers
def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    out = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(out)


def _parse_since(text: str, option: str) -> str:
    """ISO time, or a relative age like 24h / 7d / 30m."""
    from genomics.status import parse_since

    try:
        return parse_since(text)
    except ValueError as e:
        raise CliError(f"{text!r}: use ISO time (2026-11-01T00:00:00Z) or 24h/7d", location=option) from e


def _stack(args: argparse.Namespace) -> tuple[Any, Any]:
    """(boto3 session, Names) for --stack in the caller's account and region."""
    import boto3

    from genomics.deployment import TABLE_NAMINGS, Names

    stack = args.stack or os.environ.get("GENOMICS_STACK")
    # A stack deployed with the seed diagram's table names (config key tableNames: seed) says so here.
    tables = os.environ.get("GENOMICS_TABLE_NAMES") or "ledger"
    if tables not in TABLE_NAMINGS:
        raise CliError(f"{tables!r}: one of {', '.join(TABLE_NAMINGS)}", location="GENOMICS_TABLE_NAMES")
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    elif stack is None and not os.environ.get("AWS_ENDPOINT_URL"):
        # Nothing says where to go: a running `genomics local serve` (its profile file) is the target.
        from genomics.local.server import read_profile

        profile = read_profile()
        if profile is not None:
            os.environ["AWS_ENDPOINT_URL"] = profile["endpoint"]
            os.environ.setdefault("AWS_DEFAULT_REGION", profile["region"])
            for k, v in profile["credentials"].items():
                os.environ.setdefault(k, v)
            stack = profile["stack"]
    stack = stack or "dev"
    session = boto3.Session()
    region = session.region_name or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise CliError("no AWS region configured: set AWS_REGION or use a profile with a region", code="AWS_NO_REGION")
    account = session.client("sts").get_caller_identity()["Account"]
    return session, Names(stack=stack, account_id=account, region=region, tables=tables)  # type: ignore[arg-type]


def _ledger(session: Any, names: Any) -> Any:
    from genomics.ledger import Ledger

    return Ledger(names.table("metadata"), names.table("jobs"), names.table("qc"), client=session.client("dynamodb"))


# ------------------------------------------------------------------------------------------ commands
def cmd_validate(args: argparse.Namespace) -> int:
    from genomics.validation import validate_path

    worst = EXIT_OK
    reports = []
    for path in [*args.paths, args.reference, args.mate]:
        _existing(path)
    for path in args.paths:
        rep = validate_path(path, reference=args.reference, mate=args.mate, profile=args.profile)
        reports.append(rep)
        if not rep.valid:
            worst = EXIT_INVALID
    if args.json:
        for rep in reports:
            print(json.dumps(rep.to_json()))
    else:
        for rep in reports:
            verdict = "valid" if rep.valid else "INVALID"
            print(f"{rep.path}: {rep.format}: {verdict} ({len(rep.errors)} errors, {len(rep.warnings)} warnings)")
            for kind, issues in (("error", rep.errors), ("warning", rep.warnings)):
                for i in issues:
                    where = f"line {i.line}: " if i.line else ""
                    strict = " (an error under --profile strict)" if kind == "warning" and i.nonconforming else ""
                    print(f"  {kind} {i.code}: {where}{i.message}{strict}")
    return worst


def cmd_process(args: argparse.Namespace) -> int:
    from genomics.processing.vcf import process_local

    _existing(args.input)
    _existing(args.reference)
    result = process_local(args.input, args.outdir, reference=args.reference)
    _print_json(result)
    return EXIT_OK


def cmd_qc(args: argparse.Namespace) -> int:
    from genomics.qc.service import qc_local

    _existing(args.path)
    _existing(args.reference)
    result = qc_local(args.path, assay=args.assay, reference=args.reference, targets=args.targets)
    if args.json:
        _print_json(result)
    else:
        m = result["metrics"]
        print(f"{result['path']}: {result['format']}: gate {result['gate']['verdict']}")
        for k in sorted(m):
            if not isinstance(m[k], dict | list):
                print(f"  {k}: {m[k]}")
        for r in result["gate"].get("reasons", []):
            print(f"  - {r}")
        for note in result.get("notes", []):
            print(f"  note: {note}")
    return EXIT_INVALID if result["gate"]["verdict"] == "fail" else EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from genomics import status
    from genomics.ledger import model

    if not (args.job or args.failed_since or args.project or args.sample):
        raise CliError("say what to look up: SAMPLE, --job ID, --failed-since T or --project P")
    since = _parse_since(args.failed_since, "--failed-since") if args.failed_since else None
    session, names = _stack(args)
    ledger = _ledger(session, names)
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
        _print_json(result)
        return verdict
    if isinstance(result, list):
        print(_table(result, ["updated_at", "status", "sample_id", "key", "reason"]))
    elif "history" in result:
        print(_table([result], ["job_id", "status", "sample_id", "key", "qc_verdict", "cost_usd"]))
        for h in result["history"]:
            print(f"  {h.get('at')}  -> {h.get('to'):<11} by {h.get('by')}  {h.get('note') or h.get('error') or ''}")
        if result.get("reason"):
            print(f"  reason: {result['reason']}")
        _print_conformance(result.get("conformance"))
    elif "samples" in result:
        print(f"project {result['project']}: {len(result['samples'])} samples")
        print(_table(result["jobs"], ["sample_id", "status", "key", "qc_verdict", "warnings", "updated_at"]))
        for d in result["deliveries"]:
            receipt = d.get("receipt")
            state = f" [{receipt['state']}: {_counts(receipt['objects'])}]" if receipt else ""
            print(f"  delivery {d['sk'][9:]} to {d['partner']}{state}: {', '.join(d.get('samples', []))}")
    else:
        if not result["found"]:
            print(f"sample {args.sample}: not in the ledger")
            return verdict
        print(f"sample {result['sample_id']} (project {result['project']})")
        print(_table(result["jobs"], ["job_id", "status", "key", "qc_verdict", "warnings", "updated_at", "reason"]))
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


def cmd_cost(args: argparse.Namespace) -> int:
    from genomics import status

    since = _parse_since(args.since, "--since") if args.since else None
    session, names = _stack(args)
    result = status.project_cost(_ledger(session, names), args.project, since)
    if args.json:
        _print_json(result)
    else:
        print(
            f"project {result['project']}: {result['jobs']} jobs, ${result['usd']:.4f} "
            f"({result['lambda_gb_seconds']} Lambda GB-s)"
        )
        for st, v in sorted(result["by_status"].items()):
            print(f"  {st:<11} {int(v['jobs']):>5} jobs  ${v['usd']:.4f}")
    return EXIT_OK


def cmd_members(args: argparse.Namespace) -> int:
    """Project membership (and partner affiliation) of web app users, kept in the ledger."""
    from genomics.webapp.members import Members

    if bool(args.partner) == bool(args.project):
        raise CliError("name a project, or --partner NAME (not both)", code="CLI_USAGE")
    session, names = _stack(args)
    members = Members(names.table("metadata"), session.client("dynamodb"))
    scope = {"partner": args.partner} if args.partner else {"project": args.project}
    if args.members_command == "add":
        members.add(args.user, **scope, by=os.environ.get("USER") or "cli")
    elif args.members_command == "remove":
        members.remove(args.user, **scope)
    rows = members.members_of(**scope)
    if args.json:
        _print_json({**scope, "members": rows})
    else:
        for row in rows:
            print(f"{row['username']}\tadded {row['added_at']} by {row['added_by']}")
    return EXIT_OK


def cmd_login(args: argparse.Namespace) -> int:
    """Cognito tokens for the CLI (the web app's user pool and app client), saved with mode 0600; the
    token itself is never printed."""
    import getpass
    import time

    from genomics.webapp import directory

    session, names = _stack(args)
    try:
        users = directory.find(session, names)
    except LookupError as e:
        raise CliError(str(e), code="AWS_NOT_FOUND") from e
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    try:
        tokens = directory.sign_in(session, users, args.user, password)
    except session.client("cognito-idp").exceptions.NotAuthorizedException as e:
        raise CliError(f"{args.user}: wrong user name or password", code="CLI_LOGIN") from e
    path = token_path(names.stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"user": args.user, "user_pool_id": users.user_pool_id, "client_id": users.client_id,
                   "expires_at": int(time.time()) + int(tokens.get("ExpiresIn", 3600)),
                   "access_token": tokens["AccessToken"], "id_token": tokens.get("IdToken"),
                   "refresh_token": tokens.get("RefreshToken")}, fh)
    print(f"signed in as {args.user} to {users.user_pool_id}; tokens in {path} "
          f"(send the access token as 'Authorization: Bearer ...' to the web API)")
    return EXIT_OK


def token_path(stack: str) -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "genomics" / f"tokens-{stack}.json"


def cmd_replay(args: argparse.Namespace) -> int:
    from genomics.ingest import IngestConfig, ingest_record
    from genomics.replay import incomplete, replay

    session, names = _stack(args)
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName=names.dead_letter_queue)["QueueUrl"]
    config = IngestConfig(raw_bucket=names.bucket("raw"), state_machine_arn=names.state_machine_arn())
    ledger = _ledger(session, names)
    s3, sfn = session.client("s3"), session.client("stepfunctions")
    result = replay(
        sqs,
        url,
        lambda r: ingest_record(r, config=config, ledger=ledger, s3=s3, sfn=sfn),
        dry_run=args.dry_run,
    )
    _print_json(result)
    if args.dry_run:  # a peek: only a message that cannot be read is a failure
        return EXIT_INVALID if result["failed"] else EXIT_OK
    return EXIT_INVALID if incomplete(result) else EXIT_OK


def cmd_dashboard(args: argparse.Namespace) -> int:
    from genomics.dashboard import publish_dashboard, render_dashboard

    session, names = _stack(args)
    ledger = _ledger(session, names)
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

    session, names = _stack(args)
    config = IngestConfig(raw_bucket=names.bucket("raw"), state_machine_arn=names.state_machine_arn())
    result = reprocess(
        args.job,
        config=config,
        ledger=_ledger(session, names),
        s3=session.client("s3"),
        sfn=session.client("stepfunctions"),
    )
    _print_json(result)
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the stack's sweeper now (as its schedule does): end jobs stuck past their state's deadline."""
    session, names = _stack(args)
    resp = session.client("lambda").invoke(FunctionName=names.function("sweeper"), Payload=b"{}")
    out = json.loads(resp["Payload"].read() or b"{}")
    if resp.get("FunctionError"):
        raise CliError(f"the sweeper failed: {out.get('errorType')}: {out.get('errorMessage')}")
    _print_json(out)
    return EXIT_OK


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n)


def _signer(args: argparse.Namespace, session: Any, names: Any) -> Any:
    """The manifest signer: a PEM key file (--signing-key, local or offline), else the stack's KMS key."""
    from pathlib import Path

    from genomics.drs.signing import KmsSigner, LocalSigner

    if getattr(args, "signing_key", None):
        return LocalSigner(Path(args.signing_key))
    return KmsSigner(session.client("kms"), names.signing_key_alias)


def cmd_deliver(args: argparse.Namespace) -> int:
    from genomics.delivery import Encryption, deliver
    from genomics.drs.crypt import fingerprint
    from genomics.drs.partners import Partners, PartnerUnknown

    session, names = _stack(args)
    ledger = _ledger(session, names)
    partners = Partners(ledger)
    encryption = None
    try:
        key = partners.public_key(args.partner)
    except PartnerUnknown:
        key = None  # not registered: the plain copy to a partner account's prefix (docs/partners.md)
    if key is not None:
        encryption = Encryption(key, fingerprint(key), _signer(args, session, names), partners)
    result = deliver(
        ledger,
        session.client("s3"),
        project=args.project,
        partner=args.partner,
        delivery_bucket=names.bucket("delivery"),
        processed_bucket=names.bucket("processed"),
        delivery_id=args.delivery_id,
        samples=set(args.sample) if args.sample else None,
        encryption=encryption,
    )
    _print_json(result)
    return EXIT_OK


def cmd_partner(args: argparse.Namespace) -> int:
    """The partner book: register a Crypt4GH public key, list partners, a partner's deliveries and their
    receipt state, the platform's manifest-signing public key."""
    from pathlib import Path

    from genomics.drs.api import delivery_view
    from genomics.drs.crypt import fingerprint, parse_public_key
    from genomics.drs.partners import Partners

    session, names = _stack(args)
    partners = Partners(_ledger(session, names))
    if args.partner_command == "add":
        from genomics.delivery import _PARTNER

        if not _PARTNER.match(args.name):
            raise CliError(f"partner name {args.name!r}: lower-case letters, digits and '-' (at most 63)",
                           code="DELIVERY_PARTNER_INVALID")
        previous = partners.find(args.name)  # a new key replaces the old one for future deliveries
        key = parse_public_key(Path(args.pubkey).read_bytes())
        item = partners.add(args.name, key, fingerprint(key), actor=os.environ.get("USER", "cli"))
        _print_json({**{k: item[k] for k in ("partner", "key_fingerprint", "added_at")},
                     "replaced_fingerprint": previous["key_fingerprint"] if previous else None})
    elif args.partner_command == "list":
        _print_json([{k: p.get(k) for k in ("partner", "key_fingerprint", "added_at")} for p in partners.names()])
    elif args.partner_command == "deliveries":
        partners.get(args.name)
        _print_json([delivery_view(d, partners.objects(args.name, str(d["delivery_id"])))
                     for d in partners.deliveries(args.name)])
    else:
        print(_signer(args, session, names).public_key_pem(), end="")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from genomics.qc.service import cohort_report

    session, names = _stack(args)
    key = cohort_report(session.client("s3"), names.bucket("processed"), args.project)
    print(f"s3://{names.bucket('processed')}/{key}")
    return EXIT_OK


def cmd_upload(args: argparse.Namespace) -> int:
    _existing(args.file)
    session, names = _stack(args)
    key = f"{args.project}/{args.sample}/{os.path.basename(args.file)}"
    meta = {k: v for k, v in (("assay", args.assay), ("validation-profile", args.profile)) if v}
    from genomics.upload import upload

    result = upload(session.client("s3"), args.file, names.bucket("raw"), key, meta)
    print(f"{result['uri']} sha256={result['sha256']}" + (" (resumed)" if result["resumed"] else ""))
    return EXIT_OK


def cmd_forget(args: argparse.Namespace) -> int:
    from genomics.erasure import forget

    session, names = _stack(args)
    actor = session.client("sts").get_caller_identity()["Arn"]
    result = forget(_ledger(session, names), session.client("s3"), names, args.sample, actor=actor,
                    reason=args.reason, bypass_governance=args.bypass_governance)
    _print_json(result)
    return EXIT_OK


def cmd_codes(args: argparse.Namespace) -> int:
    from genomics.validation.codes import render_markdown

    sys.stdout.write(render_markdown())
    return EXIT_OK


def cmd_local(args: argparse.Namespace) -> int:
    from genomics.local import demo

    if args.local_command == "demo":
        return demo.main(as_json=args.json, serve=args.serve)
    from genomics.faults import FaultSpecError
    from genomics.local.server import serve

    try:
        return serve(faults_spec=args.faults or "", seed=args.seed, port=args.port,
                     sweep_every_s=args.sweep_every, stuck_after_s=args.stuck_after)
    except FaultSpecError as e:
        raise CliError(str(e), code=e.code) from e


def _input_of(args: argparse.Namespace) -> str | None:
    """The one local file a command works on, to locate an error that does not name it."""
    paths = getattr(args, "paths", None) or []
    for candidate in (getattr(args, "path", None), getattr(args, "input", None), getattr(args, "file", None)):
        if isinstance(candidate, str):
            return candidate
    return paths[0] if len(paths) == 1 else None


# ------------------------------------------------------------------------------------------ parser
def _debug_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on an error, print the Python traceback too")


def _state_contract(parser: argparse.ArgumentParser) -> None:
    """Every subcommand (nested ones too, and those added later) states the exit-status contract in its
    --help and takes --debug after its name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sp in action.choices.values():
                sp.epilog = sp.epilog or EPILOG
                if sp.formatter_class is argparse.HelpFormatter:
                    sp.formatter_class = argparse.RawDescriptionHelpFormatter
                _debug_flag(sp)
                _state_contract(sp)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="genomics", description=__doc__.split("\n\n")[0], epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    _debug_flag(p)
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="validate local files by content")
    v.add_argument("paths", nargs="+", metavar="PATH")
    v.add_argument("--json", action="store_true", help="one JSON object per file")
    v.add_argument("--reference", metavar="FASTA", help="reference for CRAM")
    v.add_argument("--mate", metavar="FASTQ", help="second file of a read pair")
    v.add_argument(
        "--profile",
        choices=["default", "strict", "legacy"],
        default="default",
        help="default: reject only what cannot be processed correctly, warn about other deviations from the "
        "spec; strict: reject every deviation; legacy: strict, but reserved-key header mismatches of older "
        "pipelines are warnings",
    )
    v.set_defaults(func=cmd_validate)

    pr = sub.add_parser("process", help="normalise, sort, bgzip and index a local VCF/BCF")
    pr.add_argument("input")
    pr.add_argument("outdir")
    pr.add_argument("--reference", metavar="FASTA")
    pr.set_defaults(func=cmd_process)

    q = sub.add_parser("qc", help="QC metrics and the gate for a local file")
    q.add_argument("path")
    q.add_argument("--json", action="store_true")
    q.add_argument("--assay", choices=["wgs", "wes", "panel", "cohort"], default="wgs")
    q.add_argument("--reference", metavar="FASTA")
    q.add_argument("--targets", metavar="BED", help="the assay's target BED for coverage (WES/panel)")
    q.set_defaults(func=cmd_qc)

    def stack_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--stack", default=None,
                        help="the stack (default: $GENOMICS_STACK, else a running `genomics local serve`, else dev)")
        sp.add_argument("--endpoint-url", default=None, help="e.g. moto server's http://127.0.0.1:PORT")

    s = sub.add_parser("status", help="the ledger: a sample, a job, failures, a project")
    s.add_argument("sample", nargs="?")
    s.add_argument("--job")
    s.add_argument("--failed-since", metavar="T")
    s.add_argument("--project")
    s.add_argument("--json", action="store_true")
    stack_args(s)
    s.set_defaults(func=cmd_status)

    co = sub.add_parser("cost", help="estimated spend of a project's jobs, from the ledger")
    co.add_argument("project")
    co.add_argument("--since", metavar="T", help="ISO time or 24h/7d")
    co.add_argument("--json", action="store_true")
    stack_args(co)
    co.set_defaults(func=cmd_cost)

    r = sub.add_parser("replay", help="re-run uploads from the ingest dead-letter queue")
    r.add_argument("--dry-run", action="store_true")
    stack_args(r)
    r.set_defaults(func=cmd_replay)

    db = sub.add_parser("dashboard", help="the project's status page (HTML): samples, jobs, QC, deliveries")
    db.add_argument("project")
    db.add_argument("--out", metavar="FILE", help="write the page here (default <project>-dashboard.html)")
    db.add_argument("--publish", action="store_true", help="upload it to reports/<project>/dashboard.html")
    stack_args(db)
    db.set_defaults(func=cmd_dashboard)

    rp = sub.add_parser("reprocess", help="run an ended job's upload through the pipeline again (new job)")
    rp.add_argument("job", metavar="JOB_ID")
    stack_args(rp)
    rp.set_defaults(func=cmd_reprocess)

    sw = sub.add_parser("sweep", help="end jobs stuck past their state's deadline now (the sweeper's schedule)")
    stack_args(sw)
    sw.set_defaults(func=cmd_sweep)

    d = sub.add_parser("deliver", help="copy a project's QC-passed outputs to a partner's prefix")
    d.add_argument("project")
    d.add_argument("--partner", required=True)
    d.add_argument("--sample", action="append", help="only these samples (repeatable)")
    d.add_argument("--delivery-id", metavar="ID",
                   help="resume (or name) this delivery; by default an unfinished delivery of the same "
                        "samples is resumed, else a new one starts")
    d.add_argument("--signing-key", metavar="PEM",
                   help="sign the manifest with this P-256 key file (local/offline; default: the stack's KMS key)")
    stack_args(d)
    d.set_defaults(func=cmd_deliver)

    pa = sub.add_parser("partner", help="partners' Crypt4GH keys, their deliveries and receipts (docs/partners.md)")
    psub = pa.add_subparsers(dest="partner_command", required=True)
    pa_add = psub.add_parser("add", help="register (or replace) a partner's Crypt4GH public key")
    pa_add.add_argument("name")
    pa_add.add_argument("--pubkey", required=True, metavar="FILE", help="the partner's crypt4gh-keygen .pub file")
    pa_list = psub.add_parser("list", help="registered partners and their key fingerprints")
    pa_dl = psub.add_parser("deliveries", help="a partner's deliveries: delivered, downloaded, acknowledged")
    pa_dl.add_argument("name")
    pa_key = psub.add_parser("signing-key", help="print the public key partners verify manifests with (PEM)")
    pa_key.add_argument("--signing-key", metavar="PEM", help="a local P-256 key file instead of the stack's KMS key")
    for sp in (pa_add, pa_list, pa_dl, pa_key):
        stack_args(sp)
    pa.set_defaults(func=cmd_partner)

    rep = sub.add_parser("report", help="build the cohort MultiQC report of a project")
    rep.add_argument("project")
    stack_args(rep)
    rep.set_defaults(func=cmd_report)

    up = sub.add_parser("upload", help="upload a file to the raw bucket as <project>/<sample>/<file>")
    up.add_argument("file")
    up.add_argument("project")
    up.add_argument("sample")
    up.add_argument("--assay", help="wgs, wes, panel, cohort or an assay the stack's QC thresholds add")
    up.add_argument(
        "--profile",
        choices=["default", "strict", "legacy"],
        help="validation profile of this upload (x-amz-meta-validation-profile); without it the project's "
        "(stack setting validationProfiles), else default",
    )
    stack_args(up)
    up.set_defaults(func=cmd_upload)

    fg = sub.add_parser("forget", help="erase a sample's data, ledger entries and deliveries (GDPR Art. 17)")
    fg.add_argument("sample", help="the sample id")
    fg.add_argument("--reason", default="", help="recorded in the audit record (e.g. the request reference)")
    fg.add_argument("--bypass-governance", action="store_true",
                    help="also delete raw versions under governance-mode Object Lock (needs "
                         "s3:BypassGovernanceRetention)")
    stack_args(fg)
    fg.set_defaults(func=cmd_forget)

    lg = sub.add_parser("login", help="sign in to the web app's user pool: Cognito tokens for the CLI")
    lg.add_argument("user", help="your Cognito username")
    lg.add_argument("--password-stdin", action="store_true", help="read the password from stdin (no prompt)")
    stack_args(lg)
    lg.set_defaults(func=cmd_login)

    mb = sub.add_parser("members", help="web app users' project membership (stewards): add, remove, list")
    msub = mb.add_subparsers(dest="members_command", required=True)
    for verb in ("add", "remove", "list"):
        m = msub.add_parser(verb, help=f"{verb} the members of a project (or the users of a partner)")
        m.add_argument("project", nargs="?", help="the project (omit with --partner)")
        if verb != "list":
            m.add_argument("user", help="the user's Cognito username")
        m.add_argument("--partner", help="a partner's users instead of a project's (they see its deliveries)")
        m.add_argument("--json", action="store_true")
        stack_args(m)
    mb.set_defaults(func=cmd_members)

    c = sub.add_parser("codes", help="print the table of error codes")
    c.set_defaults(func=cmd_codes)

    loc = sub.add_parser("local", help="the whole pipeline on moto server on this machine")
    lsub = loc.add_subparsers(dest="local_command", required=True)
    ld = lsub.add_parser("demo", help="deploy locally, upload sample data, print the results")
    ld.add_argument("--serve", action="store_true",
                    help="then keep serving the web app on the demo's data (prints its URL and logins; Ctrl-C stops)")
    ld.add_argument("--json", action="store_true")
    ls = lsub.add_parser("serve", help="deploy locally and keep serving (prints the exports, writes a profile)")
    ls.add_argument("--faults", metavar="SPEC", help="inject faults, e.g. dynamodb.UpdateItem=throttle:3,"
                    "handler.quality-metrics=crash:1 (see docs/operations.md)")
    ls.add_argument("--seed", type=int, default=0, help="seed of the faults' probabilities")
    ls.add_argument("--port", type=int, default=None)
    ls.add_argument("--sweep-every", type=float, default=60.0, metavar="SECONDS",
                    help="how often the sweeper's schedule fires here (default 60)")
    ls.add_argument("--stuck-after", type=int, default=None, metavar="SECONDS",
                    help="end jobs stuck this long in any running state (default: the stack settings)")
    loc.set_defaults(func=cmd_local, json=False)
    _state_contract(p)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0), or a usage error already reported as one CLI_USAGE line (2)
        return EXIT_USAGE if e.code not in (0, None) else EXIT_OK
    try:
        return int(args.func(args))
    except (Exception, KeyboardInterrupt) as e:  # the one boundary where failures become lines
        failure = errors.classify(e).about(_input_of(args))
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(failure.line(), file=sys.stderr)
        return failure.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
