"""What every `genomics` subcommand shares: the exit codes and their epilog, the coded usage error, output
helpers, and the connection to a deployed stack (boto3 session, ``Names``, the ledger)."""

from __future__ import annotations

import argparse
import json
import os
import sys
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


def existing(path: str | None) -> str | None:
    """A local input named on the command line: it must exist (CLI_FILE_NOT_FOUND otherwise)."""
    if path is not None and not os.path.exists(path):
        raise CliError("no such file or directory", code="CLI_FILE_NOT_FOUND", location=path)
    return path


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    out = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(out)


def parse_since(text: str, option: str) -> str:
    """ISO time, or a relative age like 24h / 7d / 30m."""
    from genomics.status import parse_since

    try:
        return parse_since(text)
    except ValueError as e:
        raise CliError(f"{text!r}: use ISO time (2026-11-01T00:00:00Z) or 24h/7d", location=option) from e


def connect(args: argparse.Namespace) -> tuple[Any, Any]:
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
    return session, Names(stack=stack, account_id=account, region=region, table_names=tables)  # type: ignore[arg-type]


def ledger_of(session: Any, names: Any) -> Any:
    from genomics.ledger import Ledger

    return Ledger(names.table("metadata"), names.table("jobs"), names.table("qc"), client=session.client("dynamodb"))
