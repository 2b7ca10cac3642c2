"""Validation by content: detect the format, then run that format's validator.

``validate`` takes a :class:`~genomics.sources.ByteSource` (local file or S3 object version) and returns a
:class:`~genomics.validation.report.ValidationReport`; ``validate_path`` is the local convenience that also
accepts a directory (an Illumina BCL run folder).
"""

from __future__ import annotations

import os

from genomics.sources import ByteSource, LocalFile
from genomics.validation.detect import Detected, detect
from genomics.validation.report import DEFAULT_PROFILE, ValidationReport

__all__ = ["Detected", "ValidationReport", "detect", "validate", "validate_path"]


def validate(
    source: ByteSource,
    *,
    reference: str | None = None,
    mate: ByteSource | None = None,
    name: str | None = None,
    profile: str = DEFAULT_PROFILE,
) -> ValidationReport:
    """Detect the format of ``source`` from its content and validate it.

    ``profile``: a key of :data:`~genomics.validation.report.PROFILES`: "default" rejects only what cannot
    be processed correctly, "strict" also what breaks the specification (see ``ValidationReport.apply_profile``).

    ``reference``: FASTA path for CRAM decoding. ``mate``: the R2 file of a paired FASTQ upload.
    ``name``: the user-facing file name (defaults to ``source.name``); its extension is compared with
    the content.
    """
    shown = name if name is not None else source.name
    report = _validate(source, shown, reference, mate)
    report.apply_profile(profile)
    return report


def _validate(source: ByteSource, shown: str, reference: str | None, mate: ByteSource | None) -> ValidationReport:
    detected, issues = detect(source, shown)
    report = ValidationReport(path=shown, format=detected.format)
    report.stats["compression"] = detected.compression
    for issue in issues:
        report.error(issue.code, issue.message, issue.line, issue.record)
    fmt = detected.format
    if fmt == "unknown" or any(i.code in ("FMT_EMPTY", "FMT_COMPRESSION") for i in issues):
        return report
    if fmt in ("sam", "bam", "cram"):
        from genomics.validation import sam

        sam.validate_alignment(source, report, fmt=fmt, compression=detected.compression, reference=reference)
    elif fmt == "fastq":
        from genomics.validation import fastq

        fastq.validate_fastq(source, report, compression=detected.compression, mate=mate)
    elif fmt in ("vcf", "bcf"):
        from genomics.validation import vcf  # written in parallel; imported only when needed

        vcf.validate_vcf(source, report, compression=detected.compression, is_bcf=fmt == "bcf")
    elif fmt == "bcl":
        from genomics.validation import bcl

        bcl.validate_run_tar(source, report, compression=detected.compression)
    else:  # fasta
        report.error(
            "FMT_UNSUPPORTED",
            f"{fmt.upper()} is not a data format the platform ingests (a FASTA is only used as the "
            f"reference= of a CRAM); upload VCF, BCF, SAM, BAM, CRAM, FASTQ or a BCL run folder",
        )
    return report


def validate_path(
    path: str, *, reference: str | None = None, mate: str | None = None, profile: str = DEFAULT_PROFILE
) -> ValidationReport:
    """Validate a local file, or a local directory holding a BCL run folder."""
    if os.path.isdir(path):
        from genomics.validation import bcl

        report = ValidationReport(path=path, format="bcl")
        report.stats["compression"] = "none"
        bcl.validate_run_folder(path, report)
        report.apply_profile(profile)
        return report
    if not os.path.exists(path):
        report = ValidationReport(path=path, format="unknown")
        report.error("FMT_NOT_FOUND", f"{path} does not exist; check the path")
        return report
    return validate(
        LocalFile(path),
        reference=reference,
        mate=LocalFile(mate) if mate is not None else None,
        profile=profile,
    )
