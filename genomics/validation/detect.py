"""Format detection by content: magic bytes first, then text sniffing of the first kilobytes.

Only the first :data:`SNIFF_BYTES` of the (decompressed) stream are read. The file name is a hint used
for one thing: to report an ERROR when its extension promises a format the content is not.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from genomics.compression import compression_of, is_gzip
from genomics.sources import ByteSource
from genomics.validation.report import Issue

FORMATS = ("vcf", "bcf", "sam", "bam", "cram", "fastq", "bcl", "fasta", "unknown")

# How much raw and decompressed content the sniffer looks at.
SNIFF_BYTES = 64 * 1024

CODES: dict[str, str] = {
    "FMT_EMPTY": "The file is empty (0 bytes, or nothing after decompression).",
    "FMT_UNKNOWN": "Content is not VCF, BCF, SAM, BAM, CRAM, FASTQ or a BCL run folder.",
    "FMT_EXTENSION_MISMATCH": "The file name's extension disagrees with the content's format or compression.",
    "FMT_COMPRESSION": "The gzip/BGZF compression layer is damaged and cannot be decompressed.",
    "FMT_UNSUPPORTED": "A recognised format that the platform does not ingest as a data file (e.g. FASTA).",
    "FMT_NOT_FOUND": "The local path given for validation does not exist.",
}

# Extension (lower-case, longest first) -> (format, compression or None when not implied).
_EXTENSIONS: list[tuple[str, str, str | None]] = [
    (".vcf.gz", "vcf", "gz"),
    (".vcf.bgz", "vcf", "gz"),
    (".fastq.gz", "fastq", "gz"),
    (".fq.gz", "fastq", "gz"),
    (".fastq.bgz", "fastq", "gz"),
    (".fq.bgz", "fastq", "gz"),
    (".sam.gz", "sam", "gz"),
    (".tar.gz", "bcl", "gz"),
    (".tgz", "bcl", "gz"),
    (".tar", "bcl", "none"),
    (".vcf", "vcf", "none"),
    (".bcf", "bcf", None),
    (".sam", "sam", "none"),
    (".bam", "bam", None),
    (".cram", "cram", None),
    (".fastq", "fastq", "none"),
    (".fq", "fastq", "none"),
    (".fasta", "fasta", None),
    (".fa", "fasta", None),
    (".fna", "fasta", None),
]


@dataclass(frozen=True)
class Detected:
    """What the content is: ``format`` (see :data:`FORMATS`) and ``compression`` (none|gzip|bgzf)."""

    format: str
    compression: str


class DetectError(RuntimeError):
    """The head of the stream could not be read or decompressed."""


def _read_head(source: ByteSource, limit: int) -> bytes:
    with source.open() as stream:
        chunks: list[bytes] = []
        got = 0
        while got < limit:
            chunk = stream.read(limit - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    return b"".join(chunks)


def _inflate_head(source: ByteSource, limit: int) -> bytes:
    """The first ``limit`` decompressed bytes of a gzip/BGZF stream (across members)."""
    out = bytearray()
    with source.open() as stream:
        decomp = zlib.decompressobj(wbits=31)
        while len(out) < limit:
            chunk = stream.read(16384)
            if not chunk:
                break
            data = chunk
            while data and len(out) < limit:
                try:
                    out += decomp.decompress(data, limit - len(out))
                except zlib.error as e:
                    if out:
                        return bytes(out)
                    raise DetectError(f"gzip data is damaged: {e}") from e
                if decomp.eof:
                    data = decomp.unused_data
                    decomp = zlib.decompressobj(wbits=31)
                else:
                    data = decomp.unconsumed_tail
    return bytes(out)


# What sniff_text recognises as SAM: a header line of a known type, or of any two-letter type, and the
# FLAG/POS of a header-less first record.
_SAM_HEADER = re.compile(rb"^@(HD|SQ|RG|PG|CO)(\t|$)")
_SAM_HEADER_ANY = re.compile(rb"^@[A-Za-z][A-Za-z](\t|$)")
_SAM_FLAG_POS = re.compile(rb"^[0-9]+$")


def sniff_text(head: bytes) -> str:
    """Classify decompressed text content: vcf, sam, fastq, fasta or unknown."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.startswith(b"##fileformat=VCF") or head.startswith(b"#CHROM\t"):
        return "vcf"
    lines = head.split(b"\n")
    if len(head) >= SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [ln.rstrip(b"\r") for ln in lines]
    if len(lines) > 1 and lines[-1] == b"" and head.endswith(b"\n"):
        lines = lines[:-1]
    first = lines[0] if lines else b""
    if _SAM_HEADER.match(first):
        return "sam"
    if first.startswith(b"@"):
        # '@XY<TAB>...' is a SAM header line of an unknown type unless the next line is a bare sequence.
        fastq_like = len(lines) >= 2 and b"\t" not in lines[1] and not lines[1].startswith(b"@")
        if _SAM_HEADER_ANY.match(first) and not fastq_like:
            return "sam"
        return "fastq"
    if first.startswith(b">"):
        return "fasta"
    # Header-less SAM: 11+ tab-separated fields, FLAG and POS numeric-ish.
    fields = first.split(b"\t")
    if len(fields) >= 11 or (len(fields) >= 9 and _SAM_FLAG_POS.match(fields[1] or b"x")):
        return "sam"
    return "unknown"


def _extension(name: str) -> tuple[str, str | None] | None:
    low = name.lower()
    for ext, fmt, comp in _EXTENSIONS:
        if low.endswith(ext):
            return fmt, comp
    return None


def detect(source: ByteSource, name_hint: str | None = None) -> tuple[Detected, list[Issue]]:
    """Decide the format from content; issues for an empty file, damaged gzip or a lying extension."""
    issues: list[Issue] = []
    try:
        raw = _read_head(source, SNIFF_BYTES)
    except OSError as e:
        return Detected("unknown", "none"), [Issue("FMT_UNKNOWN", f"cannot read the file: {e}")]
    if not raw:
        return Detected("unknown", "none"), [
            Issue("FMT_EMPTY", "the file is empty (0 bytes); upload the complete file")
        ]
    compression = "none"
    content = raw
    if is_gzip(raw):
        compression = compression_of(raw)
        try:
            content = _inflate_head(source, SNIFF_BYTES)
        except DetectError as e:
            return Detected("unknown", compression), [
                Issue("FMT_COMPRESSION", f"{e}; re-compress the file with bgzip or gzip")
            ]
        if not content:
            return Detected("unknown", compression), [
                Issue("FMT_EMPTY", "the file decompresses to nothing; upload the complete file")
            ]
    fmt = _classify(raw, content, compression)
    detected = Detected(fmt, compression)
    if fmt == "unknown":
        issues.append(
            Issue(
                "FMT_UNKNOWN",
                "unrecognised content: expected VCF, BCF, SAM, BAM, CRAM, FASTQ (optionally gzip/BGZF) "
                "or a tar of a BCL run folder",
            )
        )
    hint = name_hint if name_hint is not None else source.name
    issues.extend(extension_issues(hint, detected))
    return detected, issues


def _classify(raw: bytes, content: bytes, compression: str) -> str:
    if compression == "none":
        if raw.startswith(b"CRAM"):
            return "cram"
        if raw.startswith(b"BAM\x01"):
            return "bam"
        if raw.startswith(b"BCF\x02"):
            return "bcf"
    if content.startswith(b"BAM\x01"):
        return "bam"
    if content.startswith(b"BCF\x02"):
        return "bcf"
    if len(content) >= 262 and content[257:262] == b"ustar":
        return "bcl"
    return sniff_text(content)


def extension_issues(name: str, detected: Detected) -> list[Issue]:
    """An ERROR when the extension names another format, or claims compression the content lacks."""
    ext = _extension(name)
    if ext is None or detected.format == "unknown":
        return []
    fmt, comp = ext
    shown = detected.format.upper() + ("" if detected.compression == "none" else f" ({detected.compression})")
    if fmt != detected.format:
        return [
            Issue(
                "FMT_EXTENSION_MISMATCH",
                f"the name {name.rsplit('/', 1)[-1]!r} says {fmt.upper()} but the content is {shown}; "
                f"rename the file or upload the right one",
            )
        ]
    if comp == "gz" and detected.compression == "none":
        return [
            Issue(
                "FMT_EXTENSION_MISMATCH",
                f"the name {name.rsplit('/', 1)[-1]!r} says gzip-compressed but the content is "
                f"uncompressed {shown}; drop the .gz/.bgz suffix or compress the file",
            )
        ]
    if comp == "none" and detected.compression != "none":
        return [
            Issue(
                "FMT_EXTENSION_MISMATCH",
                f"the name {name.rsplit('/', 1)[-1]!r} says uncompressed but the content is {shown}; "
                f"add the .gz suffix",
            )
        ]
    return []
