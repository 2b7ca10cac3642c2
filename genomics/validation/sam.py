"""SAM, BAM and CRAM validation.

* SAM text is read as a stream (plain, gzip or BGZF) and checked line by line against the SAM v1.6
  specification: header records (@HD/@SQ/@RG/@PG/@CO), the 11 mandatory fields and the optional tags,
  plus record checks in the spirit of Picard's ValidateSamFile (CIGAR length vs SEQ, QUAL length,
  mate fields, unmapped reads' fields, sort order). Rules the specification words as "should", or
  that are logically odd but permitted, are warnings; everything a reader must reject is an error.
* BAM and CRAM are decoded by Debian's ``samtools view -h`` (1.16, the version the image ships): the
  stored bytes are streamed into its stdin through a pipe and its SAM output goes through the same
  checks. Integrity at ``samtools quickcheck`` level is checked on the stream itself: the BGZF EOF
  block of a BAM (last 28 bytes) and the EOF container of a CRAM (last 38 bytes for CRAM 3, 30 for 2.1).
* A CRAM's reference FASTA comes from ``reference=``; the MD5 of each of its sequences is compared with
  the @SQ M5 tags before decoding is trusted.

Coordinates: POS/PNEXT are 1-based in the text; they are converted to 0-based half-open only for the
reference-span arithmetic (``_ref_end``). User-facing line/record numbers are 1-based.

The rules and the reading are split along these seams: :mod:`~genomics.validation.sam_header` (header
rules), :mod:`~genomics.validation.sam_records` (record rules), :mod:`~genomics.validation.sam_text` (the
checker and the chunked reader of SAM text), :mod:`~genomics.validation.sam_binary` (BAM/CRAM decoding
through samtools, EOF markers, the CRAM reference). This module holds the codes and the entry point, and
re-exports the names callers use.
"""

from __future__ import annotations

from genomics import tools
from genomics.sources import ByteSource
from genomics.validation.report import ValidationReport
from genomics.validation.sam_binary import (
    BGZF_EOF,
    CRAM3_EOF,
    CRAM21_EOF,
    ReferenceFastaError,
    parse_samtools_dict,
    parse_samtools_stderr,
    reference_md5s,
    samtools_version,
    validate_binary,
)
from genomics.validation.sam_records import check_tag_value, misplaced_clip, safe_int
from genomics.validation.sam_text import SamChecker, SamError, check_sam_lines, check_sam_stream, validate_sam_text

__all__ = [
    "BGZF_EOF",
    "CODES",
    "CRAM3_EOF",
    "CRAM21_EOF",
    "ReferenceFastaError",
    "SamChecker",
    "SamError",
    "check_sam_lines",
    "check_sam_stream",
    "check_tag_value",
    "misplaced_clip",
    "parse_samtools_dict",
    "parse_samtools_stderr",
    "reference_md5s",
    "safe_int",
    "samtools_version",
    "validate_alignment",
    "validate_binary",
    "validate_sam_text",
]

CODES: dict[str, str] = {
    # Header
    "SAM_HEADER_SYNTAX": "A header line is not '@XY' followed by tab-separated TAG:VALUE fields.",
    "SAM_HEADER_TYPE": "Unknown header record type (allowed: @HD, @SQ, @RG, @PG, @CO).",
    "SAM_HEADER_DUPLICATE_TAG": "The same tag appears twice in one header line.",
    "SAM_HEADER_AFTER_RECORDS": (
        "A line starting with '@' after the first alignment record (nonconforming: a warning by default when "
        "it has the 11 fields of a record, as htslib reads it; an error otherwise)."
    ),
    "SAM_HD_NOT_FIRST": "The @HD line is not the first line of the file.",
    "SAM_HD_DUPLICATE": "More than one @HD line.",
    "SAM_HD_VERSION": "@HD VN is missing or is not MAJOR.MINOR.",
    "SAM_HD_SORT_ORDER": "@HD SO is not one of unknown, unsorted, queryname, coordinate.",
    "SAM_HD_GROUP_ORDER": "@HD GO is not one of none, query, reference.",
    "SAM_HD_SUBSORT": "@HD SS is not (coordinate|queryname|unsorted)(:[A-Za-z0-9_-]+)+.",
    "SAM_SQ_MISSING_TAG": "An @SQ line lacks its SN (name) or LN (length).",
    "SAM_SQ_NAME_INVALID": (
        "An @SQ SN reference name has characters the specification forbids (nonconforming: a warning by default)."
    ),
    "SAM_SQ_DUPLICATE": "Two @SQ lines (names or AN alternative names) give the same reference name.",
    "SAM_SQ_LENGTH": "@SQ LN is not an integer in 1..2^31-1.",
    "SAM_SQ_MD5": "@SQ M5 is not 32 lower-case hexadecimal digits.",
    "SAM_SQ_TOPOLOGY": "@SQ TP is not linear or circular.",
    "SAM_SQ_ALT": "@SQ AH or AN is malformed.",
    "SAM_RG_MISSING_ID": "An @RG line has no ID.",
    "SAM_RG_DUPLICATE": "Two @RG lines have the same ID.",
    "SAM_RG_DATE": "@RG DT is not an ISO 8601 date or date-time.",
    "SAM_RG_PLATFORM": "@RG PL is not a platform the specification lists (ILLUMINA, ONT, PACBIO, ...).",
    "SAM_RG_INSERT_SIZE": "@RG PI (predicted insert size) is not an integer.",
    "SAM_RG_FLOW_ORDER": "@RG FO is not '*' or a string of IUPAC bases.",
    "SAM_PG_MISSING_ID": "A @PG line has no ID.",
    "SAM_PG_DUPLICATE": "Two @PG lines have the same ID.",
    "SAM_PG_CHAIN": "@PG PP names a program ID that no @PG line defines.",
    # Records
    "SAM_BLANK_LINE": "An empty line before other lines (at the very end: SAM_TRAILING_BLANK).",
    "SAM_TRAILING_BLANK": "Empty lines at the end of the file (htslib stops there with a parse error).",
    "SAM_FIELD_COUNT": "An alignment line has fewer than the 11 mandatory tab-separated fields.",
    "SAM_QNAME_INVALID": (
        "QNAME is empty, over 254 characters, or has '@' or non-printable characters ('@' alone is nonconforming: "
        "a warning by default)."
    ),
    "SAM_FLAG_INVALID": "FLAG is not an integer in 0..4095.",
    "SAM_RNAME_INVALID": (
        "RNAME is not '*' or a valid reference name (nonconforming, a warning by default, when an @SQ line "
        "defines that name)."
    ),
    "SAM_RNAME_UNKNOWN": "RNAME names a reference that no @SQ line defines.",
    "SAM_POS_INVALID": "POS is not an integer in 0..2^31-1.",
    "SAM_MAPQ_INVALID": "MAPQ is not an integer in 0..255.",
    "SAM_CIGAR_INVALID": "CIGAR is not '*' or a list of <length><op> with op in MIDNSHP=X.",
    "SAM_CIGAR_CLIP_POSITION": "H is not at the ends of the CIGAR, or S is not at the ends (inside any H).",
    "SAM_CIGAR_SEQ_LENGTH": "The CIGAR's query length (M/I/S/=/X) differs from the length of SEQ.",
    "SAM_RNEXT_INVALID": (
        "RNEXT is not '*', '=' or a valid reference name (nonconforming, a warning by default, when an @SQ "
        "line defines that name)."
    ),
    "SAM_RNEXT_UNKNOWN": "RNEXT names a reference that no @SQ line defines.",
    "SAM_PNEXT_INVALID": "PNEXT is not an integer in 0..2^31-1.",
    "SAM_TLEN_INVALID": "TLEN is not an integer in -(2^31-1)..2^31-1.",
    "SAM_SEQ_INVALID": "SEQ is not '*' or letters, '=' and '.'.",
    "SAM_QUAL_INVALID": "QUAL has characters outside '!'..'~' or is empty.",
    "SAM_QUAL_LENGTH": "QUAL is not '*' and its length differs from SEQ (or SEQ is '*').",
    "SAM_TAG_INVALID": "An optional field is not TAG:TYPE:VALUE (TAG [A-Za-z][A-Za-z0-9], TYPE in AifZHB).",
    "SAM_TAG_VALUE": "An optional field's value does not match its type (range, syntax).",
    "SAM_TAG_DUPLICATE": "The same tag appears twice in one alignment record.",
    "SAM_SORT_ORDER_VIOLATED": (
        "Records are out of order for the header's SO:coordinate (nonconforming: a warning by default; the file "
        "is then treated as unsorted, stats coordinate_sorted=false)."
    ),
    "SAM_CRLF": "Lines end with CR LF (Windows line endings); tools expect LF.",
    "SAM_ENCODING": "A line is not valid UTF-8 text.",
    "SAM_LINE_TOO_LONG": "A line longer than 64 MiB: not SAM text; validation stops there.",
    # Picard-style consistency warnings
    "SAM_UNMAPPED_FIELDS": "An unmapped read (flag 0x4) has a CIGAR or non-zero MAPQ (warning).",
    "SAM_MAPPED_FIELDS": "A mapped read lacks RNAME, POS or CIGAR (warning).",
    "SAM_FLAG_INCONSISTENT": "Pair flags (0x2, 0x8, 0x20, 0x40, 0x80) set without 0x1 (warning).",
    "SAM_MATE_FIELDS": "RNEXT/PNEXT/TLEN are inconsistent for the flags (warning).",
    "SAM_ALIGNMENT_PAST_END": "An alignment starts or ends past the @SQ LN of its reference (warning).",
    "SAM_SEQ_NONSTANDARD": "SEQ has letters other than the upper-case IUPAC codes (warning).",
    "SAM_NO_SQ_HEADER": "Records name references but the header has no @SQ lines (warning).",
    "SAM_NO_RECORDS": "The file has a header but no alignment records (warning).",
    # Binary containers
    "BAM_EOF_MISSING": "The BAM does not end with the 28-byte BGZF EOF block: it is truncated.",
    "BAM_DECODE": "samtools could not decode the BAM (corrupt header or data).",
    "BAM_NOT_BGZF": "The BAM is not BGZF-compressed.",
    "CRAM_EOF_MISSING": (
        "The CRAM does not end with the EOF container (nonconforming: a warning by default, as htslib reads it; "
        "a CRAM cut inside a container fails with CRAM_DECODE)."
    ),
    "CRAM_DECODE": "samtools could not decode the CRAM.",
    "CRAM_REFERENCE_MISSING": "The CRAM needs its reference FASTA to decode and none was given.",
    "CRAM_REFERENCE_NOT_FOUND": "The reference FASTA given for the CRAM does not exist or cannot be read.",
    "CRAM_REFERENCE_MISMATCH": "The reference FASTA does not match the CRAM's @SQ lines (M5, length, names).",
    "SAM_COMPRESSION": "The gzip/BGZF layer of a compressed SAM is damaged or truncated.",
}


def validate_alignment(
    source: ByteSource, report: ValidationReport, *, fmt: str, compression: str, reference: str | None = None
) -> None:
    """Entry point for sam|bam|cram."""
    if fmt == "sam":
        validate_sam_text(source, report, compression=compression)
        return
    if fmt == "bam" and compression != "bgzf":
        report.error("BAM_NOT_BGZF", "the BAM is not BGZF-compressed; rewrite it with samtools view -b")
        return
    try:
        validate_binary(source, report, fmt=fmt, reference=reference)
    except tools.ToolMissing:
        raise
    except OSError as e:
        raise SamError(f"running samtools on {source.name} failed: {e}") from e
