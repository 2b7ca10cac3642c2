"""The `genomics` argument parser: one function per group of subcommands; every subcommand states the
exit-status contract in its --help and takes --debug."""

from __future__ import annotations

import argparse

import genomics.cli
from genomics.cli import files, people, stack
from genomics.cli.common import EPILOG, _Parser

Subparsers = argparse._SubParsersAction  # what add_subparsers returns


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


def stack_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--stack", default=None,
                    help="the stack (default: $GENOMICS_STACK, else a running `genomics local serve`, else dev)")
    sp.add_argument("--endpoint-url", default=None, help="e.g. moto server's http://127.0.0.1:PORT")


def _on_stack(sp: argparse.ArgumentParser, func: object) -> None:
    """A subcommand on a deployed stack: --stack and --endpoint-url (after its own arguments), its handler."""
    stack_args(sp)
    sp.set_defaults(func=func)


def _file_commands(sub: Subparsers) -> None:
    """Local files: validate, process, qc."""
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
    v.set_defaults(func=files.cmd_validate)

    pr = sub.add_parser("process", help="normalise, sort, bgzip and index a local VCF/BCF")
    pr.add_argument("input")
    pr.add_argument("outdir")
    pr.add_argument("--reference", metavar="FASTA")
    pr.set_defaults(func=files.cmd_process)

    q = sub.add_parser("qc", help="QC metrics and the gate for a local file")
    q.add_argument("path")
    q.add_argument("--json", action="store_true")
    q.add_argument("--assay", choices=["wgs", "wes", "panel", "cohort"], default="wgs")
    q.add_argument("--reference", metavar="FASTA")
    q.add_argument("--targets", metavar="BED", help="the assay's target BED for coverage (WES/panel)")
    q.set_defaults(func=files.cmd_qc)


def _ledger_commands(sub: Subparsers) -> None:
    """A stack's ledger and pipeline: status, cost, replay, dashboard, reprocess, sweep."""
    s = sub.add_parser("status", help="the ledger: a sample, a job, failures, a project")
    s.add_argument("sample", nargs="?")
    s.add_argument("--job")
    s.add_argument("--failed-since", metavar="T")
    s.add_argument("--project")
    s.add_argument("--json", action="store_true")
    _on_stack(s, stack.cmd_status)

    co = sub.add_parser("cost", help="estimated spend of a project's jobs, from the ledger")
    co.add_argument("project")
    co.add_argument("--since", metavar="T", help="ISO time or 24h/7d")
    co.add_argument("--json", action="store_true")
    _on_stack(co, stack.cmd_cost)

    r = sub.add_parser("replay", help="re-run uploads from the ingest dead-letter queue")
    r.add_argument("--dry-run", action="store_true")
    _on_stack(r, stack.cmd_replay)

    db = sub.add_parser("dashboard", help="the project's status page (HTML): samples, jobs, QC, deliveries")
    db.add_argument("project")
    db.add_argument("--out", metavar="FILE", help="write the page here (default <project>-dashboard.html)")
    db.add_argument("--publish", action="store_true", help="upload it to reports/<project>/dashboard.html")
    _on_stack(db, stack.cmd_dashboard)

    rp = sub.add_parser("reprocess", help="run an ended job's upload through the pipeline again (new job)")
    rp.add_argument("job", metavar="JOB_ID")
    _on_stack(rp, stack.cmd_reprocess)

    sw = sub.add_parser("sweep", help="end jobs stuck past their state's deadline now (the sweeper's schedule)")
    _on_stack(sw, stack.cmd_sweep)


def _delivery_commands(sub: Subparsers) -> None:
    """Partners: deliver, the partner book, the cohort report."""
    d = sub.add_parser("deliver", help="copy a project's QC-passed outputs to a partner's prefix")
    d.add_argument("project")
    d.add_argument("--partner", required=True)
    d.add_argument("--sample", action="append", help="only these samples (repeatable)")
    d.add_argument("--delivery-id", metavar="ID",
                   help="resume (or name) this delivery; by default an unfinished delivery of the same "
                        "samples is resumed, else a new one starts")
    d.add_argument("--signing-key", metavar="PEM",
                   help="sign the manifest with this P-256 key file (local/offline; default: the stack's KMS key)")
    _on_stack(d, people.cmd_deliver)

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
    pa.set_defaults(func=people.cmd_partner)

    rep = sub.add_parser("report", help="build the cohort MultiQC report of a project")
    rep.add_argument("project")
    _on_stack(rep, stack.cmd_report)


def _data_commands(sub: Subparsers) -> None:
    """Uploads and erasure."""
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
    _on_stack(up, stack.cmd_upload)

    fg = sub.add_parser("forget", help="erase a sample's data, ledger entries and deliveries (GDPR Art. 17)")
    fg.add_argument("sample", help="the sample id")
    fg.add_argument("--reason", default="", help="recorded in the audit record (e.g. the request reference)")
    fg.add_argument("--bypass-governance", action="store_true",
                    help="also delete raw versions under governance-mode Object Lock (needs "
                         "s3:BypassGovernanceRetention)")
    _on_stack(fg, stack.cmd_forget)


def _user_commands(sub: Subparsers) -> None:
    """The web app's users: login, members."""
    lg = sub.add_parser("login", help="sign in to the web app's user pool: Cognito tokens for the CLI")
    lg.add_argument("user", help="your Cognito username")
    lg.add_argument("--password-stdin", action="store_true", help="read the password from stdin (no prompt)")
    _on_stack(lg, people.cmd_login)

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
    mb.set_defaults(func=people.cmd_members)


def _machine_commands(sub: Subparsers) -> None:
    """This machine: the error-code table, the local mode."""
    c = sub.add_parser("codes", help="print the table of error codes")
    c.set_defaults(func=files.cmd_codes)

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
    loc.set_defaults(func=files.cmd_local, json=False)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="genomics", description=(genomics.cli.__doc__ or "").split("\n\n")[0], epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    _debug_flag(p)
    sub = p.add_subparsers(dest="command", required=True)
    for group in (_file_commands, _ledger_commands, _delivery_commands, _data_commands, _user_commands,
                  _machine_commands):
        group(sub)
    _state_contract(p)
    return p
