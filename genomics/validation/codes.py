"""Every validation error/warning code in one table, generated from the modules' ``CODES``.

``python -m genomics.validation.codes > docs/error-codes.md`` regenerates the documentation; a unit test
checks that the committed file equals :func:`render_markdown`.
"""

from __future__ import annotations

import importlib
import sys

# (module, label for the "format" column), in the order the table lists them.
MODULES: tuple[tuple[str, str], ...] = (
    ("genomics.validation.detect", "any"),
    ("genomics.validation.vcf", "VCF/BCF"),
    ("genomics.validation.sam", "SAM/BAM/CRAM"),
    ("genomics.validation.fastq", "FASTQ"),
    ("genomics.validation.bcl", "BCL run folder"),
    ("genomics.references", "reference"),
    ("genomics.ingest", "upload"),
    ("genomics.steps", "workflow"),
    ("genomics.ledger.sweeper", "job"),
    ("genomics.ledger.identity", "job"),
    ("genomics.faults", "CLI"),
    ("genomics.processing.vcf", "processing"),
    ("genomics.processing.service", "processing"),
    ("genomics.qc.metrics", "QC"),
    ("genomics.qc.fastq", "QC"),
    ("genomics.qc.gate", "QC"),
    ("genomics.qc.service", "QC"),
    ("genomics.qc.report", "QC"),
    ("genomics.qc.scatter", "QC"),
    ("genomics.qc.coverage", "QC"),
    ("genomics.identity.fingerprint", "identity"),
    ("genomics.qc.scatter_service", "QC"),
    ("genomics.status_api", "status API"),
    ("genomics.ledger.store", "ledger"),
    ("genomics.ledger.updater", "ledger"),
    ("genomics.dashboard", "dashboard"),
    ("genomics.delivery", "delivery"),
    ("genomics.drs.crypt", "partner delivery"),
    ("genomics.drs.signing", "partner delivery"),
    ("genomics.drs.partners", "partner delivery"),
    ("genomics.drs.state", "partner delivery"),
    ("genomics.drs.api", "partner delivery"),
    ("genomics.errors", "CLI"),
    ("genomics.erasure", "erasure"),
    ("genomics.webapp.api", "web app"),
    ("genomics.webapp.members", "web app"),
    ("genomics.webapp.directory", "CLI"),
    ("genomics.webapp.tasks", "web app"),
)


class CodeConflict(RuntimeError):
    """Two modules define the same code with different meanings."""


def _format_of(code: str, default: str) -> str:
    if default != "SAM/BAM/CRAM":
        return default
    return {"BAM": "BAM", "CRAM": "CRAM"}.get(code.split("_", 1)[0], "SAM/BAM/CRAM")


def collect(missing: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """code -> (format, meaning) from every module. Modules that cannot be imported are listed in
    ``missing`` (when given) and skipped; without ``missing`` the ImportError propagates."""
    out: dict[str, tuple[str, str]] = {}
    for module_name, label in MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            if missing is None:
                raise
            missing.append(module_name)
            continue
        for code, meaning in getattr(module, "CODES", {}).items():
            entry = (_format_of(code, label), meaning)
            if code in out and out[code][1] != meaning:
                raise CodeConflict(f"{code} is defined by two modules with different meanings")
            out[code] = entry
    return out


def all_codes() -> dict[str, str]:
    """code -> meaning, all modules merged."""
    return {code: meaning for code, (_, meaning) in collect().items()}


def render_markdown(codes: dict[str, tuple[str, str]] | None = None) -> str:
    table = collect() if codes is None else codes
    lines = [
        "# Error and warning codes",
        "",
        "Generated from the `CODES` tables of `genomics/validation/*.py` by",
        "`python -m genomics.validation.codes > docs/error-codes.md`; do not edit by hand.",
        "Every issue in a validation report carries one of these codes, a message saying what to fix and,",
        "where meaningful, a 1-based line and record number. The `genomics` command prints an error as one",
        "line `CODE: message [where]` on stderr and exits 2 (docs/operations.md, \"Exit status\").",
        "Whether a code rejects a file or is a warning depends on the validation profile (`default` or",
        "`strict`): see `docs/validation.md`.",
        "",
        "| code | format | meaning |",
        "|---|---|---|",
    ]
    for code, (fmt, meaning) in table.items():
        escaped = meaning.replace("|", "\\|")
        lines.append(f"| `{code}` | {fmt} | {escaped} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    missing: list[str] = []
    table = collect(missing)
    for name in missing:
        print(f"warning: {name} could not be imported; its codes are not in the table", file=sys.stderr)
    sys.stdout.write(render_markdown(table))
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
