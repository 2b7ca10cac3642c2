"""Processing's user-fixable failures: a stable code per failure mode (``CODES``, documented in
docs/error-codes.md) and :func:`classify`, which turns a tool failure the user caused into one of them."""

from __future__ import annotations

import re
from typing import Any

from genomics import tools
from genomics.errors import UserInputError
from genomics.processing.parsers import parse_ref_mismatch, parse_wrong_fields
from genomics.steps import StepDataError


class ProcessingError(UserInputError):
    """A user-fixable processing failure (stable ``code``, message and location).

    ``str()`` starts with the code, so the Lambda error's ``errorMessage`` (what Step Functions puts in
    the ``Cause`` that MarkFailed records) carries it; ``to_json`` keeps the three parts apart.
    """

    code = "PROC_UNREADABLE_INPUT"

    def __init_subclass__(cls, code: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code:
            cls.code = code

    def __str__(self) -> str:
        where = f" [{self.location}]" if self.location else ""
        return f"{self.code}: {self.args[0] if self.args else ''}{where}"

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.args[0] if self.args else "", "location": self.location}



class EventError(StepDataError):
    """the workflow sent vcf-processor an event it cannot use (an integration error, not the user's)"""

    code = "PROC_EVENT_INVALID"


# One class per code; the docstring is the code's documented meaning (CODES, docs/error-codes.md).
class RefMismatch(ProcessingError, code="PROC_REF_MISMATCH"):
    """a REF allele differs from the reference FASTA (bcftools norm --check-ref e)"""


class RefContigMissing(ProcessingError, code="PROC_REF_CONTIG_MISSING"):
    """a record's contig is not in the reference FASTA"""


class RefNotFound(ProcessingError, code="PROC_REF_NOT_FOUND"):
    """the upload names an assembly for which REFERENCE_URI has no FASTA"""


class UnreadableInput(ProcessingError, code="PROC_UNREADABLE_INPUT"):
    """bcftools could not parse the input as VCF/BCF"""


class MalformedRecord(ProcessingError, code="PROC_MALFORMED_RECORD"):
    """a record's INFO/FORMAT values disagree with the header (e.g. Number=A count)"""


class InputNotFound(ProcessingError, code="PROC_INPUT_NOT_FOUND"):
    """the input object (or its version) does not exist"""


class UnsupportedInput(ProcessingError, code="PROC_UNSUPPORTED_INPUT"):
    """the input is not VCF or BCF (plain, gzip or BGZF)"""


CODES: dict[str, str] = {
    e.code: str(e.__doc__)
    for e in (RefMismatch, RefContigMissing, RefNotFound, UnreadableInput, MalformedRecord, InputNotFound,
              UnsupportedInput, EventError)
}

_REF_CONTIG = re.compile(r"(?:sequence \"?([^\"\s]+)\"? not found|Failed to fetch sequence[^\n]*?(\S+:\d+))",
                         re.IGNORECASE)

_UNREADABLE = (
    "Could not read VCF/BCF headers", "not detected as bcf or vcf", "Failed to read", "Could not parse",
    "[E::vcf_parse", "[E::bcf_", "invalid", "truncated", "not compressed with bgzip",
)


def classify(err: tools.ToolError, name: str) -> ProcessingError | None:
    """A tool failure the user caused -> the coded exception (None when it is not the user's)."""
    text = err.stderr
    if mm := parse_ref_mismatch(text):
        where = f"{mm['contig']}:{mm['pos']}"
        return RefMismatch(f"REF allele {mm['vcf']!r} at {where} does not match the reference "
                           f"({mm['reference']!r}); fix the record or upload against the matching assembly",
                           location=f"{name} {where}")
    if wf := parse_wrong_fields(text):
        where = f"{wf['contig']}:{wf['pos']}"
        return MalformedRecord(f"{wf['tag']} at {where} has {wf['found']} value(s) but its header Number requires "
                               f"{wf['expected']}; fix the record or its header line before splitting multiallelics",
                               location=f"{name} {where}")
    cm = _REF_CONTIG.search(text)
    if cm and "-f" in err.argv:
        where = cm.group(1) or cm.group(2)
        return RefContigMissing(f"contig/position {where} is not in the reference FASTA; check the assembly of the "
                                "upload", location=f"{name} {where}")
    if any(s in text for s in _UNREADABLE):
        tail = " | ".join(text.strip().splitlines()[-3:])
        return UnreadableInput(f"{name} could not be read as VCF/BCF ({tail}); re-export it with bcftools",
                               location=name)
    return None
