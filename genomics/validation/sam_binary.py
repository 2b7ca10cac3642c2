"""BAM and CRAM validation: the stored bytes are streamed into Debian's ``samtools view -h`` (1.16, the
version the image ships) through a pipe, and its SAM output goes through the SAM text checks
(:func:`~genomics.validation.sam_text.check_sam_stream`). Integrity at ``samtools quickcheck`` level is
checked on the stream itself: the BGZF EOF block of a BAM (last 28 bytes) and the EOF container of a CRAM
(last 38 bytes for CRAM 3, 30 for 2.1). A CRAM's reference FASTA comes from ``reference=``; the MD5 of
each of its sequences is compared with the @SQ M5 tags before decoding is trusted.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from genomics import tools
from genomics.sources import ByteSource
from genomics.validation.lines import LineTooLong
from genomics.validation.report import ValidationReport
from genomics.validation.sam_text import SamChecker, SamError, check_sam_stream

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
CRAM3_EOF = bytes.fromhex("0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b")
CRAM21_EOF = bytes.fromhex("0b000000ffffffffffe0454f460000000001000001000606010001000100")


class ReferenceFastaError(RuntimeError):
    """The reference FASTA cannot be read."""


# -- reference FASTA ---------------------------------------------------------------------------------

_MD5_CACHE: dict[tuple[str, float, int], dict[str, tuple[int, str]]] = {}


def parse_samtools_dict(text: str) -> dict[str, tuple[int, str]]:
    """``samtools dict`` output -> name -> (length, M5) for each @SQ line that has SN, LN and M5."""
    out: dict[str, tuple[int, str]] = {}
    for line in text.splitlines():
        if not line.startswith("@SQ\t"):
            continue
        tags = dict(part.split(":", 1) for part in line.split("\t")[1:] if ":" in part)
        if "SN" in tags and "LN" in tags and "M5" in tags and tags["LN"].isdigit():
            out[tags["SN"]] = (int(tags["LN"]), tags["M5"].lower())
    return out


def reference_md5s(path: str) -> dict[str, tuple[int, str]]:
    """Name -> (length, MD5 of the upper-case sequence) for every sequence of a FASTA (plain, gzip, BGZF),
    computed by ``samtools dict`` (Debian 1.16), which writes nothing next to the FASTA."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ReferenceFastaError(f"cannot read reference FASTA {path}: {e}") from e
    key = (os.path.abspath(path), st.st_mtime, st.st_size)
    if key not in _MD5_CACHE:
        try:
            proc = tools.run(["samtools", "dict", path])
        except tools.ToolError as e:
            raise ReferenceFastaError(f"cannot read reference FASTA {path}: {e}") from e
        _MD5_CACHE[key] = parse_samtools_dict(proc.stdout.decode("utf-8", "replace"))
    return _MD5_CACHE[key]


def _reference_check(
    checker: SamChecker, report: ValidationReport, ref_md5: dict[str, tuple[int, str]], ref_path: str
) -> None:
    bad = 0
    for ref in checker.refs.values():
        got = ref_md5.get(ref.name)
        if got is None:
            if ref.md5 is not None:
                bad += 1
                report.error(
                    "CRAM_REFERENCE_MISMATCH",
                    f"reference {ref.name} (M5 {ref.md5}) is not in {os.path.basename(ref_path)}; "
                    f"give the FASTA the CRAM was written against",
                )
            continue
        if ref.md5 is not None and got[1] != ref.md5:
            bad += 1
            report.error(
                "CRAM_REFERENCE_MISMATCH",
                f"reference {ref.name}: the CRAM's @SQ M5 is {ref.md5} but "
                f"{os.path.basename(ref_path)} has {got[1]}; give the FASTA the CRAM was written "
                f"against",
            )
        elif ref.length is not None and got[0] != ref.length:
            bad += 1
            report.error(
                "CRAM_REFERENCE_MISMATCH",
                f"reference {ref.name}: @SQ LN is {ref.length} but {os.path.basename(ref_path)} "
                f"has {got[0]} bases",
            )


# -- binary decoding through samtools ----------------------------------------------------------------


class _Tail:
    """What the feeder saw of the stored bytes: their size and the last 64 (for the EOF marker check)."""

    def __init__(self) -> None:
        self.size = 0
        self.tail = b""

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.tail = (self.tail + chunk)[-64:]


def _chunks(source: ByteSource) -> Iterator[bytes]:
    """The stored bytes, opened and read on the feeder's thread."""
    with source.open() as stream:
        while chunk := stream.read(tools.CHUNK):
            yield chunk


RE_REFERENCE_TROUBLE = re.compile(
    r"populate reference|fetch reference|reference file|Failed to load reference|md5 .*mismatch",
    re.IGNORECASE,
)


def parse_samtools_stderr(text: str) -> dict[str, object]:
    """What ``samtools view`` said on stderr: error lines, warning lines, whether a CRAM reference was
    the trouble, and a one-line summary (last errors, warnings only when there is nothing else)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    warnings = [ln for ln in lines if ln.startswith("[W::")]
    errors = [ln for ln in lines if not ln.startswith("[W::")]
    return {
        "errors": errors,
        "warnings": warnings,
        "reference_problem": any(RE_REFERENCE_TROUBLE.search(ln) for ln in errors),
        "summary": " | ".join((errors or warnings)[-3:])[:500],
    }


def validate_binary(
    source: ByteSource, report: ValidationReport, *, fmt: str, reference: str | None = None
) -> None:
    """BAM or CRAM: EOF marker check on the stream, then decode with samtools and check the SAM text."""
    samtools = tools.which("samtools")
    with tempfile.TemporaryDirectory(prefix="samval-") as tmp:
        argv = [samtools, "view", "-h", "--no-PG"]
        env = dict(os.environ)
        # Never let htslib fetch references over the network or from a user cache.
        env["REF_PATH"] = os.path.join(tmp, "no-ref-cache", "%s")
        env["REF_CACHE"] = os.path.join(tmp, "no-ref-cache", "%s")
        ref_md5: dict[str, tuple[int, str]] | None = None
        if fmt == "cram" and reference:
            ref_md5, ref_args = _prepare_reference(reference, tmp, report)
            argv += ref_args
        argv.append("-")

        def on_header_end(checker: SamChecker) -> None:
            if ref_md5 is not None and reference is not None:
                _reference_check(checker, report, ref_md5, reference)

        decoded = _decode_and_check(source, report, argv, env, tmp, on_header_end)
    seen = decoded.seen
    report.stats["bytes"] = seen.size
    report.stats["decoder"] = samtools_version()
    _check_eof(fmt, seen.tail, report)
    if decoded.rc != 0 and not decoded.stopped:
        _report_decode_failure(fmt, reference, decoded.stderr, report)


def _prepare_reference(
    reference: str, tmp: str, report: ValidationReport
) -> tuple[dict[str, tuple[int, str]] | None, list[str]]:
    """A CRAM's reference FASTA: the MD5 of each sequence and samtools' ``-T`` arguments, or
    ``(None, [])`` when it cannot be read (reported)."""
    if not os.path.isfile(reference):
        report.error(
            "CRAM_REFERENCE_NOT_FOUND",
            f"reference FASTA {reference} does not exist; give the path of the FASTA the "
            f"CRAM was written against",
        )
        return None, []
    try:
        ref_md5 = reference_md5s(reference)
    except ReferenceFastaError as e:
        report.error("CRAM_REFERENCE_NOT_FOUND", str(e))
        return None, []
    # A symlink in scratch space, so htslib writes any .fai it builds there.
    ref_path = os.path.join(tmp, "ref.fa")
    os.symlink(os.path.abspath(reference), ref_path)
    if os.path.exists(reference + ".fai"):
        os.symlink(os.path.abspath(reference + ".fai"), ref_path + ".fai")
    return ref_md5, ["-T", ref_path]


@dataclass
class _Decoded:
    """How ``samtools view`` ended: exit status, whether validation stopped it early (an overlong line),
    what it said on stderr (:func:`parse_samtools_stderr`), and what the feeder saw of the stored bytes."""

    rc: int
    stopped: bool
    stderr: dict[str, object]
    seen: _Tail


def _decode_and_check(
    source: ByteSource,
    report: ValidationReport,
    argv: list[str],
    env: dict[str, str],
    tmp: str,
    on_header_end: Callable[[SamChecker], None],
) -> _Decoded:
    """Stream ``source`` through ``samtools view`` (``argv``) and check the SAM text it writes. The
    feeder reads the whole source even after samtools stopped reading (for the size and the EOF tail);
    a failure to read it is a :class:`SamError`."""
    seen = _Tail()
    chunks = _chunks(source)
    samtools = tools.Pipeline(
        [argv], source=chunks, capture=True, scratch=tmp, env=env, on_chunk=seen.add, read_all=True,
        pipe_size=1 << 20, stderr_limit=64 * 1024,
    )  # fmt: skip
    rc, stderr = 0, ""
    try:
        with samtools as p:
            try:
                check_sam_stream(cast(BinaryIO, p.stdout), report, binary=True, on_header_end=on_header_end)
            except LineTooLong as e:
                p.stop()
                report.error(
                    "SAM_LINE_TOO_LONG",
                    f"decoded line {e.lineno} is longer than {e.limit // (1024 * 1024)} MiB; validation "
                    f"stopped there",
                )
        stderr = samtools.stderrs[0]
    except tools.PipelineError as e:
        rc, stderr = e.returncode, e.stderr
    except BaseException as e:
        if samtools.source_error is e:
            raise SamError(f"reading {source.name} failed: {e}") from e
        raise
    finally:
        chunks.close()  # the feeder has stopped: close the source if it did not read it to the end
    return _Decoded(rc, samtools.stopped, parse_samtools_stderr(stderr), seen)


def _report_decode_failure(
    fmt: str, reference: str | None, stderr: dict[str, object], report: ValidationReport
) -> None:
    """samtools failed: a CRAM whose reference is missing or wrong, else a corrupt BAM/CRAM."""
    summary = stderr["summary"]
    if fmt == "cram" and stderr["reference_problem"]:
        if reference:
            report.error(
                "CRAM_REFERENCE_MISMATCH",
                f"samtools could not decode the CRAM with reference {reference}: {summary}",
            )
        else:
            report.error(
                "CRAM_REFERENCE_MISSING",
                "this CRAM needs its reference FASTA to decode; pass reference= (the FASTA "
                f"whose MD5s match the @SQ M5 tags). samtools said: {summary}",
            )
    else:
        prefix = "BAM" if fmt == "bam" else "CRAM"
        report.error(f"{prefix}_DECODE", f"samtools view could not read the {prefix}: {summary}")


@functools.cache
def samtools_version() -> str:
    """``samtools 1.16.1`` (first line of ``samtools --version``; its later lines are not UTF-8)."""
    out = tools.run(["samtools", "--version"]).stdout.decode("utf-8", "replace")
    return out.splitlines()[0].strip() if out else "samtools unknown"


def _check_eof(fmt: str, tail: bytes, report: ValidationReport) -> None:
    if fmt == "bam":
        if not tail.endswith(BGZF_EOF):
            report.error(
                "BAM_EOF_MISSING",
                "the BAM does not end with the BGZF EOF block: the file is truncated; upload it again",
            )
        return
    if not (tail.endswith(CRAM3_EOF) or tail.endswith(CRAM21_EOF)):
        # htslib reads such a CRAM with a warning; a CRAM truncated inside a container fails to decode.
        report.nonconforming(
            "CRAM_EOF_MISSING",
            "the CRAM does not end with the EOF container: it was not closed properly or is truncated "
            "after its last complete container (samtools reads it with a warning); upload it again",
        )
