"""The `genomics` entry point: parse, run the subcommand, and turn any failure into one coded line."""

from __future__ import annotations

import argparse
import sys
import traceback

from genomics import errors
from genomics.cli.common import EXIT_OK, EXIT_USAGE
from genomics.cli.parser import build_parser


def _input_of(args: argparse.Namespace) -> str | None:
    """The one local file a command works on, to locate an error that does not name it."""
    paths = getattr(args, "paths", None) or []
    for candidate in (getattr(args, "path", None), getattr(args, "input", None), getattr(args, "file", None)):
        if isinstance(candidate, str):
            return candidate
    return paths[0] if len(paths) == 1 else None


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
