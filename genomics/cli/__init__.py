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

from genomics.cli.app import main
from genomics.cli.common import EXIT_INVALID, EXIT_OK, EXIT_USAGE, CliError
from genomics.cli.parser import build_parser

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "CliError", "build_parser", "main"]
