"""`genomics` subcommands on this machine: validate, process and QC local files; the error-code table; the
local mode (demo, serve)."""

from __future__ import annotations

import argparse
import json
import sys

from genomics.cli.common import EXIT_INVALID, EXIT_OK, CliError, existing, print_json


def cmd_validate(args: argparse.Namespace) -> int:
    from genomics.validation import validate_path

    worst = EXIT_OK
    reports = []
    for path in [*args.paths, args.reference, args.mate]:
        existing(path)
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

    existing(args.input)
    existing(args.reference)
    result = process_local(args.input, args.outdir, reference=args.reference)
    print_json(result)
    return EXIT_OK


def cmd_qc(args: argparse.Namespace) -> int:
    from genomics.qc.service import qc_local

    existing(args.path)
    existing(args.reference)
    result = qc_local(args.path, assay=args.assay, reference=args.reference, targets=args.targets)
    if args.json:
        print_json(result)
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
