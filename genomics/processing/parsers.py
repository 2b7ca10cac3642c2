"""Pure parsers of what bcftools says (stderr summaries, ``index -s``, header lines) and of an input's
first bytes; each is tested on captured real outputs."""

from __future__ import annotations

import re
import zlib
from typing import Any

from genomics.compression import compression_of

_NORM_STATS = re.compile(r"Lines\s+total/split/realigned/skipped:\s+(\d+)/(\d+)/(\d+)/(\d+)")
_REF_MISMATCH = re.compile(
    r"Reference allele mismatch at (\S+):(\d+) \.\. REF_SEQ:'([^']*)' vs VCF:'([^']*)'"
)


def parse_norm_stats(text: str) -> dict[str, int]:
    """``bcftools norm`` stderr summary -> {"total", "split", "realigned", "skipped"} (last one wins)."""
    found = _NORM_STATS.findall(text)
    if not found:
        return {}
    total, split, realigned, skipped = (int(x) for x in found[-1])
    return {"total": total, "split": split, "realigned": realigned, "skipped": skipped}


def parse_ref_mismatch(text: str) -> dict[str, Any] | None:
    """``norm -c e`` failure -> {"contig", "pos" (1-based), "reference", "vcf"} or None."""
    m = _REF_MISMATCH.search(text)
    if not m:
        return None
    return {"contig": m.group(1), "pos": int(m.group(2)), "reference": m.group(3), "vcf": m.group(4)}


_WRONG_FIELDS = re.compile(
    r"wrong number of fields in (\w+/\S+) at (\S+):(\d+), expected (\d+), found (\d+)"
)


def parse_wrong_fields(text: str) -> dict[str, Any] | None:
    """``norm -m`` on a tag whose value count disagrees with its Number -> details, or None."""
    m = _WRONG_FIELDS.search(text)
    if not m:
        return None
    return {"tag": m.group(1), "contig": m.group(2), "pos": int(m.group(3)), "expected": int(m.group(4)),
            "found": int(m.group(5))}


def parse_index_stats(text: str) -> list[dict[str, Any]]:
    """``bcftools index -s`` -> [{"contig", "length" (None when '.'), "records"}] in index order."""
    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        name, length, count = parts
        rows.append({"contig": name, "length": None if length == "." else int(length), "records": int(count)})
    return rows


_CONTIG_LINE = re.compile(r"^##contig=<(.*)>\s*$")


def _meta_fields(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in re.finditer(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|[^,]*)', body):
        out.setdefault(m.group(1), m.group(2).strip('"'))
    return out


def parse_header_contigs(header: str) -> list[dict[str, Any]]:
    """``##contig`` lines -> [{"contig", "length" (or None), "assembly" (or None)}] in header order."""
    rows: list[dict[str, Any]] = []
    for line in header.splitlines():
        m = _CONTIG_LINE.match(line)
        if not m:
            continue
        f = _meta_fields(m.group(1))
        if "ID" not in f:
            continue
        length = f.get("length")
        rows.append({
            "contig": f["ID"],
            "length": int(length) if length and length.isdigit() else None,
            "assembly": f.get("assembly") or None,
        })
    return rows


def header_assemblies(header: str) -> list[str]:
    """Assembly names the header suggests, most specific first: contig ``assembly=``, ``##reference``."""
    names: list[str] = []
    for c in parse_header_contigs(header):
        if c["assembly"]:
            names.append(c["assembly"])
    for line in header.splitlines():
        if line.startswith("##reference="):
            value = line.split("=", 1)[1].strip().strip("<>")
            base = value.rstrip("/").rsplit("/", 1)[-1]
            for ext in (".gz", ".fasta", ".fa", ".fna"):
                if base.endswith(ext):
                    base = base[: -len(ext)]
            if base:
                names.append(base)
    return list(dict.fromkeys(n for n in names if re.fullmatch(r"[A-Za-z0-9._-]+", n)))



def sniff(first: bytes) -> dict[str, str]:
    """First bytes -> {"compression": "bgzf"|"gzip"|"none", "format": "vcf"|"bcf"|"unknown"}."""
    compression = compression_of(first)
    payload = first
    if compression != "none":
        try:
            payload = zlib_head(first)
        except Exception:
            payload = b""
    if payload[:3] == b"BCF":
        fmt = "bcf"
    elif payload.startswith(b"##fileformat=VCF"):
        fmt = "vcf"
    else:
        fmt = "unknown"
    return {"compression": compression, "format": fmt}


def zlib_head(data: bytes, limit: int = 4096) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return d.decompress(data, limit)

