"""VCF/BCF processing on local files: normalise, sort, deduplicate, bgzip, index; plan, shard, gather.

This module holds the steps and the local entry points (the CLI calls :func:`process_local`) and is the
package's public surface: it re-exports what callers use from the parts it is built of,

- :mod:`genomics.processing.errors`: coded failures and :func:`classify` of tool failures;
- :mod:`genomics.processing.parsers`: pure parsers of tool output and input sniffing;
- :mod:`genomics.processing.shards`: scatter plans (coordinates and margins explained there);
- :mod:`genomics.processing.tabix`: the .tbi/.csi reader that finds a region's bytes;
- :mod:`genomics.processing.pipeline`: the norm | sort | norm -d pipeline and its repair rounds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from genomics import tools
from genomics.processing import repair
from genomics.processing.errors import (
    CODES,
    InputNotFound,
    MalformedRecord,
    ProcessingError,
    RefContigMissing,
    RefMismatch,
    RefNotFound,
    UnreadableInput,
    UnsupportedInput,
    classify,
)
from genomics.processing.parsers import (
    header_assemblies,
    parse_header_contigs,
    parse_index_stats,
    parse_norm_stats,
    parse_ref_mismatch,
    parse_wrong_fields,
    sniff,
    zlib_head,
)
from genomics.processing.pipeline import (
    MAX_REPAIR_ROUNDS,
    SORT_MEMORY,
    Normalised,
    Opener,
    PipelineError,
    Repairer,
    ScratchPaths,
    needs_type_scan,
    norm_stages,
    normalise,
    run_pipeline,
    undeclared_keys,
)
from genomics.processing.shards import (
    MAX_POS,
    MAX_SHARDS,
    SHARD_MARGIN,
    Shard,
    group_small_contigs,
    plan_shards,
    region_line,
)
from genomics.processing.tabix import (
    RefIndex,
    TabixIndex,
    byte_ranges_for,
    first_record_voffset,
    parse_tabix_index,
    region_voffsets,
)

__all__ = [
    "CHUNK", "CODES", "MAX_POS", "MAX_REPAIR_ROUNDS", "MAX_SHARDS", "SHARD_MARGIN", "SORT_MEMORY",
    "TBI_MAX_LENGTH", "InputNotFound", "MalformedRecord", "Normalised", "Opener", "PipelineError",
    "ProcessingError", "RefContigMissing", "RefIndex", "RefMismatch", "RefNotFound", "Repairer", "ScratchPaths",
    "Shard", "TabixIndex", "UnreadableInput", "UnsupportedInput", "basename_of", "byte_ranges_for", "classify",
    "count_records", "file_digests", "first_record_voffset", "gather_local", "group_small_contigs",
    "header_assemblies", "header_text", "index_kind", "index_names_declared", "index_stats", "index_vcf",
    "make_indexed_source", "needs_type_scan", "norm_stages", "normalise", "order_repairs", "output_names",
    "parse_header_contigs", "parse_index_stats", "parse_norm_stats", "parse_ref_mismatch", "parse_tabix_index",
    "parse_wrong_fields", "plan_shards", "process_local", "process_shard_local", "region_line",
    "region_voffsets", "run_pipeline", "sha256_file", "sidecar", "sniff", "source_contigs", "tool_versions",
    "try_index_in_place", "undeclared_keys", "zlib_head",
]

# Above this contig length a .tbi cannot address positions: use .csi.
TBI_MAX_LENGTH = 1 << 29
CHUNK = 1 << 20


def header_text(path: str) -> str:
    """The header as text; bytes that are not UTF-8 (htslib accepts them, validation warns) become U+FFFD."""
    return tools.run(["bcftools", "view", "--no-version", "-h", path]).stdout.decode("utf-8", "replace")


def index_kind(header: str) -> str:
    lengths = [c["length"] or 0 for c in parse_header_contigs(header)]
    return "csi" if any(n > TBI_MAX_LENGTH for n in lengths) else "tbi"


def index_vcf(path: str, header: str | None = None) -> tuple[str, list[str]]:
    """Index a BGZF VCF: .tbi, or .csi when a contig is longer than 2^29 (or tbi refuses)."""
    kind = index_kind(header if header is not None else header_text(path))
    argv = ["bcftools", "index", "-f", "--tbi" if kind == "tbi" else "--csi", path]
    try:
        tools.run(argv)
    except tools.ToolError:
        if kind != "tbi":
            raise
        kind = "csi"
        argv = ["bcftools", "index", "-f", "--csi", path]
        tools.run(argv)
    return f"{path}.{kind}", argv


def index_stats(path: str) -> list[dict[str, Any]]:
    return parse_index_stats(tools.run(["bcftools", "index", "-s", path]).stdout.decode())


def file_digests(path: str) -> dict[str, Any]:
    md5, sha = hashlib.md5(), hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while buf := fh.read(CHUNK):
            md5.update(buf)
            sha.update(buf)
            size += len(buf)
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest(), "size": size}


def tool_versions() -> dict[str, str]:
    return {
        "bcftools": tools.version("bcftools"),
        "tabix": tools.version("tabix"),
        "distribution": "Debian bcftools/tabix packages",
    }


def basename_of(name: str) -> str:
    base = name.rstrip("/").rsplit("/", 1)[-1]
    for ext in (".gz", ".bgz", ".bgzf", ".vcf", ".bcf"):
        if base.lower().endswith(ext):
            base = base[: -len(ext)]
    return base or "input"


def output_names(name: str) -> dict[str, str]:
    vcf = f"{basename_of(name)}.norm.vcf.gz"
    return {"vcf": vcf, "sidecar": f"{vcf}.json"}


# Validation warnings that mean the records were out of order (bcftools sort put them in order).
_ORDER_CODES = ("VCF_UNSORTED", "VCF_CONTIG_NOT_CONTIGUOUS")


def order_repairs(conformance: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The "sorted" repair, when validation's conformance report says the input was out of order (the
    pipeline always sorts; this only says that sorting changed the order)."""
    codes = (conformance or {}).get("codes") or {}
    found = [c for c in _ORDER_CODES if codes.get(c)]
    if not found:
        return []
    return [{"repair": "sorted", "key": "records", "codes": found,
             "reason": "records were out of order (" + ", ".join(f"{c} x{codes[c]}" for c in found)
             + "); bcftools sort put them in contig/position order"}]


def sidecar(
    *, input_info: dict[str, Any], vcf: dict[str, Any], index: dict[str, Any], records_in: int,
    records_out: int, contigs: list[str], reference: dict[str, Any] | None, reference_note: str | None,
    commands: list[list[str]], mode: str, shards: int, split: int | None, realigned: int | None,
    repairs: list[dict[str, Any]] | None = None, conformance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON sidecar. ``repairs``: what processing changed so that htslib-readable input could be
    processed (declared keys, relaxed Numbers, polyploid records split), each with its reason;
    ``conformance``: validation's report (warnings with line and record) when the caller has it."""
    return {
        "repairs": [*order_repairs(conformance), *(repairs or [])],
        "conformance": conformance,
        "schema": "genomics.processing/1",
        "input": input_info,
        "outputs": {"vcf": vcf, "index": index},
        "records_in": records_in,
        "records_out": records_out,
        "split": split,
        "realigned": realigned,
        "contigs": contigs,
        "reference": reference,
        "reference_note": reference_note,
        "left_aligned": reference is not None,
        "mode": mode,
        "shards": shards,
        "tools": tool_versions(),
        "commands": commands,
    }


def sha256_file(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while buf := fh.read(CHUNK):
            sha.update(buf)
    return sha.hexdigest()


# --------------------------------------------------------------------------------------------------
# Local entry points (the CLI calls process_local)
# --------------------------------------------------------------------------------------------------
def process_local(
    in_path: str, out_dir: str, *, reference: str | None = None, conformance: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Normalise, sort, deduplicate, bgzip and index ``in_path`` into ``out_dir`` with a JSON sidecar
    (``conformance``: validation's report to copy into it, when the caller validated first)."""
    if not os.path.exists(in_path):
        raise InputNotFound(f"{in_path} does not exist", location=in_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = output_names(in_path)
    with tempfile.TemporaryDirectory(prefix="vcfproc-") as td:
        scratch = Path(td)
        tmp_vcf = str(scratch / names["vcf"])
        ref_path = None
        if reference:
            ref_path = str(Path(reference).resolve())
            if not os.path.exists(ref_path + ".fai"):
                # faidx writes next to the FASTA; work on a scratch symlink so the original dir is untouched
                link = scratch / Path(ref_path).name
                link.symlink_to(ref_path)
                tools.run(["samtools", "faidx", str(link)])
                ref_path = str(link)
        res = normalise(in_path, tmp_vcf, scratch, reference=ref_path, name=in_path, conformance=conformance)
        header = header_text(tmp_vcf)
        idx_path, idx_argv = index_vcf(tmp_vcf, header)
        stats = index_stats(tmp_vcf)
        clean = ScratchPaths(td)
        final_vcf = out / names["vcf"]
        final_idx = out / Path(idx_path).name
        shutil.move(tmp_vcf, final_vcf)
        shutil.move(idx_path, final_idx)
        doc = sidecar(
            input_info={"name": in_path, "sha256": sha256_file(in_path), "size": os.path.getsize(in_path)},
            vcf={"name": final_vcf.name, **file_digests(str(final_vcf))},
            index={"name": final_idx.name, **file_digests(str(final_idx))},
            records_in=res.records_in,
            records_out=sum(s["records"] for s in stats),
            contigs=[s["contig"] for s in stats if s["records"]],
            reference={"path": reference} if reference else None,
            reference_note=None if reference else "no reference given: left-alignment and REF check skipped",
            commands=[clean.clean(c) for c in [*res.commands, idx_argv]],
            mode="single", shards=1, split=res.split, realigned=res.realigned,
            repairs=res.repairs, conformance=conformance,
        )
        side = out / names["sidecar"]
        side.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return {
        "vcf": str(final_vcf), "index": str(final_idx), "sidecar": str(side),
        "records_in": doc["records_in"], "records_out": doc["records_out"], "contigs": doc["contigs"],
        "repairs": doc["repairs"],
    }


def make_indexed_source(
    src: str, out: str, scratch: Path, *, name: str, opener: Opener | None = None,
    conformance: dict[str, Any] | None = None,
) -> tuple[str, list[list[str]], list[dict[str, Any]]]:
    """Sorted BGZF VCF copy of ``src`` (or of ``opener()``'s bytes when ``src`` is "-") plus its index,
    with undeclared contigs/keys declared (``bcftools sort`` needs them). Returns (index, commands,
    repairs)."""

    def build(repair_stages: list[list[str]] | None) -> list[list[str]]:
        sort = ["bcftools", "sort", "-m", SORT_MEMORY, "-T", str(scratch / "srcsort."), "-Oz", "-o", out]
        if repair_stages is None:
            return [[*sort, src]]
        return [*repair_stages, [*sort, "-"]]

    stages, _, repairs = Repairer(src, scratch, opener, name, conformance=conformance).run(build)
    idx, idx_argv = index_vcf(out)
    return idx, [*stages, idx_argv], repairs


def try_index_in_place(path: str) -> tuple[str, list[str]] | None:
    """Index an existing BGZF VCF; None when it cannot be indexed (unsorted, not BGZF, BCF)."""
    try:
        return index_vcf(path)
    except tools.ToolError:
        return None


def index_names_declared(header: str, index_path: str) -> bool:
    """Every contig the index has records for is declared in ``header`` (read before indexing: with an
    index beside the file htslib adds the index's contigs to the header it reports)."""
    declared = {c["contig"] for c in parse_header_contigs(header)}
    idx = parse_tabix_index(Path(index_path).read_bytes())
    used = {n for n, r in zip(idx.names, idx.refs, strict=False) if r.bins or r.n_mapped}
    return used <= declared


def source_contigs(path: str) -> list[dict[str, Any]]:
    """Contigs of an indexed source in index order: name, length (header, else None) and record count."""
    lengths = {c["contig"]: c["length"] for c in parse_header_contigs(header_text(path))}
    rows = index_stats(path)
    for r in rows:
        r["length"] = lengths.get(r["contig"]) or r["length"]
    return rows


def process_shard_local(
    source: str, shard: Shard, out: str, scratch: Path, *, reference: str | None, name: str
) -> tuple[Normalised, int]:
    """Normalise one shard of an indexed source into ``out`` (BGZF VCF, not indexed). Returns records out."""
    regions = scratch / f"regions.{shard.index}.txt"
    targets = scratch / f"targets.{shard.index}.txt"
    regions.write_text("".join(region_line(c, b - SHARD_MARGIN, e + SHARD_MARGIN) for c, b, e in shard.regions()))
    targets.write_text("".join(region_line(c, b, e) for c, b, e in shard.regions()))
    res = normalise(source, out, scratch, reference=reference, name=name, regions_file=str(regions),
                    targets_file=str(targets))
    return res, count_records(out)


def count_records(path: str) -> int:
    """Records in a VCF/BCF, streamed (constant memory)."""
    n = 0
    with tools.Pipeline([["bcftools", "view", "--no-version", "-H", path]], capture=True) as p:
        assert p.stdout is not None
        while buf := p.stdout.read(CHUNK):
            n += buf.count(b"\n")
    return n


def gather_local(shard_paths: Iterable[str], out: str, repairs: Sequence[dict[str, Any]] = ()) -> list[str]:
    """Concatenate non-overlapping, individually sorted shards in order (naive: no recompression).

    Shards that repaired different keys (a declaration, a relaxed Number) have different headers, which
    a naive concat refuses: each then gets the same header, the first shard's with every shard's repairs
    (``repairs``) applied (``bcftools reheader``: only the header block is rewritten)."""
    paths = list(shard_paths)
    argv = ["bcftools", "concat", "--naive", "--no-version", "-Oz", "-o", out, *paths]
    if len(paths) == 1:
        shutil.copyfile(paths[0], out)
        return ["cp", paths[0], out]
    # Without repairs every shard wrote the source's header: no need to read them back.
    headers = [header_text(p) for p in paths] if repairs else []
    if len(set(headers)) > 1:
        plan = repair.RepairPlan.from_repairs(repairs)
        lines = [ln + "\n" for ln in headers[0].rstrip("\n").split("\n")]
        union = Path(out + ".header.txt")
        union.write_text("".join(repair.repair_header(lines, plan)))
        same = []
        for p in paths:
            target = p + ".reheadered.vcf.gz"
            tools.run(["bcftools", "reheader", "-h", str(union), "-o", target, p])
            same.append(target)
        argv = ["bcftools", "concat", "--naive", "--no-version", "-Oz", "-o", out, *same]
    tools.run(argv)
    return argv
