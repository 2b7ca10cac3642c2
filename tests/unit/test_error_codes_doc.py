"""docs/error-codes.md is generated from the modules' CODES, and every code the modules emit is listed."""

from __future__ import annotations

import re
from pathlib import Path

from genomics.validation import codes

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["detect", "sam", "fastq", "bcl", "__init__"]
# report.error("X", ...), report.warn("X", ...), self._herr/_rerr/_rwarn("X", ...), Issue("X", ...)
EMIT = re.compile(r"""(?:\.error|\.warn|_herr|_rerr|_rwarn|Issue)\(\s*"([A-Z][A-Z0-9_]+)\"""")


def emitted_codes(module: str) -> set[str]:
    # the module and the modules split out of it (sam.py: sam_header.py, sam_records.py, ...)
    folder = ROOT / "genomics" / "validation"
    paths = [folder / f"{module}.py", *sorted(folder.glob(f"{module}_*.py"))]
    return set(EMIT.findall("".join(p.read_text() for p in paths)))


def test_error_codes_doc_is_up_to_date():
    committed = (ROOT / "docs" / "error-codes.md").read_text()
    assert committed == codes.render_markdown(), (
        "docs/error-codes.md is stale: run `python -m genomics.validation.codes > docs/error-codes.md`"
    )


def test_error_codes_every_emitted_code_is_documented():
    known = codes.all_codes()
    for module in MODULES:
        found = emitted_codes(module)
        missing = found - set(known)
        assert not missing, f"{module}.py emits codes missing from CODES: {sorted(missing)}"


# class attributes `code = "X"` and keyword arguments `code="X"` of the exceptions anywhere in genomics/
CODE_ATTR = re.compile(r'\bcode\s*=\s*"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"')


def test_error_codes_every_exception_code_is_documented():
    known = codes.all_codes()
    for path in sorted((ROOT / "genomics").rglob("*.py")):
        missing = set(CODE_ATTR.findall(path.read_text())) - set(known)
        assert not missing, f"{path.relative_to(ROOT)} raises codes missing from every CODES table: {sorted(missing)}"


def test_error_codes_grep_finds_the_emitted_codes():
    # Guards the regex above: it must see codes in each kind of call.
    assert {"SAM_HD_VERSION", "SAM_QNAME_INVALID", "SAM_SEQ_NONSTANDARD", "BAM_EOF_MISSING"} <= emitted_codes("sam")
    assert {"FMT_EMPTY", "FMT_EXTENSION_MISMATCH"} <= emitted_codes("detect")
    assert {"FASTQ_TRUNCATED", "FASTQ_PAIR_NAME"} <= emitted_codes("fastq")
    assert {"BCL_LANE_MISSING", "BCL_RUNINFO_MISSING"} <= emitted_codes("bcl")


def test_error_codes_are_prefixed_upper_snake():
    prefixes = ("FMT_", "VCF_", "BCF_", "SAM_", "BAM_", "CRAM_", "FASTQ_", "BCL_", "INGEST_", "PROC_", "QC_", "REF_",
                "API_", "DELIVERY_", "CLI_", "AWS_", "INPUT_", "LEDGER_", "UPDATER_", "DASHBOARD_", "DEMO_", "JOB_",
                "FORGET_", "WEB_", "IDENTITY_", "PARTNER_", "DRS_")
    for code in codes.all_codes():
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", code), code
        assert code.startswith(prefixes), code


def test_error_codes_table_has_one_row_per_code():
    rendered = codes.render_markdown()
    rows = [ln for ln in rendered.splitlines() if ln.startswith("| `")]
    assert len(rows) == len(codes.all_codes())
