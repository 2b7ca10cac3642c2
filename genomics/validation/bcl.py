"""Illumina BCL run-folder validation: a local directory, or a tar (optionally gzip) stream of one.

The run folder is stored and tracked as raw data (no bcl2fastq/BCL Convert run here). What is checked:

* ``RunInfo.xml``: parses; run Id, flowcell, the reads (number, cycles, indexed or not) and
  ``FlowcellLayout/@LaneCount``.
* ``RunParameters.xml`` (``runParameters.xml`` on older instruments): present and well-formed XML.
* ``SampleSheet.csv``: ``[Header]`` and ``[Data]`` sections (``[BCLConvert_Data]`` for v2 sheets), a
  ``Sample_ID`` column with unique, non-empty values, index columns made of A/C/G/T/N no longer than the
  index reads, no two samples with the same index combination in one lane, lanes within the lane count.
* ``Data/Intensities/BaseCalls/L00N`` lane folders: exactly the lanes RunInfo announces.

A tar is read as a stream (``tarfile`` mode ``r|*``): member names are collected and only the three small
metadata files are read into memory (each capped at :data:`MAX_METADATA_BYTES`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tarfile
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from typing import Any

from genomics.errors import aws_call
from genomics.sources import ByteSource
from genomics.validation.report import ValidationReport

CODES: dict[str, str] = {
    "BCL_TAR_INVALID": "The tar stream of the run folder is damaged or truncated.",
    "BCL_RUNINFO_MISSING": "RunInfo.xml is not in the run folder.",
    "BCL_RUNINFO_INVALID": "RunInfo.xml is not well-formed XML or lacks Run, Flowcell, Reads or LaneCount.",
    "BCL_RUNPARAMETERS_MISSING": "RunParameters.xml is not in the run folder.",
    "BCL_RUNPARAMETERS_INVALID": "RunParameters.xml is not well-formed XML.",
    "BCL_SAMPLESHEET_MISSING": "SampleSheet.csv is not in the run folder.",
    "BCL_SAMPLESHEET_SECTION": "SampleSheet.csv lacks its [Header] or [Data] section.",
    "BCL_SAMPLESHEET_COLUMNS": "The sample sheet's [Data] section has no Sample_ID column or ragged rows.",
    "BCL_SAMPLESHEET_EMPTY": "The sample sheet's [Data] section lists no samples.",
    "BCL_SAMPLE_ID": "A Sample_ID is empty or used twice in the same lane.",
    "BCL_INDEX_INVALID": "An index/index2 value has characters other than A, C, G, T, N.",
    "BCL_INDEX_LENGTH": "An index is longer than the index read in RunInfo.xml, or index lengths differ.",
    "BCL_INDEX_DUPLICATE": "Two samples in one lane share the same index combination.",
    "BCL_SAMPLESHEET_LANE": "A sample sheet Lane value is not a lane of the flowcell.",
    "BCL_RUN_ID_MISMATCH": "RunParameters.xml and RunInfo.xml name different runs.",
    "BCL_SAMPLESHEET_READS": "The sample sheet's [Reads] cycles differ from RunInfo.xml's reads (warning).",
    "BCL_BASECALLS_MISSING": "Data/Intensities/BaseCalls is not in the run folder.",
    "BCL_LANE_MISSING": "A lane folder L00N that RunInfo.xml announces is missing.",
    "BCL_LANE_UNEXPECTED": "A lane folder beyond RunInfo.xml's LaneCount is present.",
    "BCL_LANE_EMPTY": "A lane folder holds no files (warning).",
}

MAX_METADATA_BYTES = 16 * 1024 * 1024
METADATA = ("RunInfo.xml", "RunParameters.xml", "runParameters.xml", "SampleSheet.csv")
BASECALLS = "Data/Intensities/BaseCalls"
RE_LANE_DIR = re.compile(r"L(\d{3})")
RE_INDEX = re.compile(r"[ACGTN]*")
RE_SMALL_INT = re.compile(r"[0-9]{1,6}")


class BclError(RuntimeError):
    """The run folder could not be listed or read (I/O, not content)."""


@dataclass
class RunFolderView:
    """What the checks need from a run folder, wherever it came from.

    ``files``: metadata file name -> bytes (None when too big). ``lanes``: lane folder number -> number of
    entries found below it. ``has_basecalls``: whether Data/Intensities/BaseCalls exists.
    """

    files: dict[str, bytes | None] = field(default_factory=dict)
    lanes: dict[int, int] = field(default_factory=dict)
    has_basecalls: bool = False


@dataclass(frozen=True)
class ReadInfo:
    number: int
    cycles: int
    indexed: bool


@dataclass
class RunInfo:
    run_id: str | None
    flowcell: str | None
    lane_count: int | None
    reads: list[ReadInfo]


# ----------------------------------------------------------------------------------------------------
# Sources
# ----------------------------------------------------------------------------------------------------


def view_directory(path: str) -> RunFolderView:
    view = RunFolderView()
    try:
        for name in METADATA:
            full = os.path.join(path, name)
            if os.path.isfile(full):
                if os.path.getsize(full) > MAX_METADATA_BYTES:
                    view.files[name] = None
                else:
                    with open(full, "rb") as fh:
                        view.files[name] = fh.read()
        basecalls = os.path.join(path, *BASECALLS.split("/"))
        if os.path.isdir(basecalls):
            view.has_basecalls = True
            for entry in os.scandir(basecalls):
                m = RE_LANE_DIR.fullmatch(entry.name)
                if m and entry.is_dir():
                    view.lanes[int(m.group(1))] = sum(1 for _ in os.scandir(entry.path))
    except OSError as e:
        raise BclError(f"cannot read run folder {path}: {e}") from e
    return view


# Illumina instruments write these last: an S3 upload of a run folder is validated when one arrives.
COMPLETION_MARKERS = ("CopyComplete.txt", "RTAComplete.txt")


def view_s3_prefix(s3: Any, bucket: str, prefix: str) -> tuple[RunFolderView, str]:
    """A run folder uploaded object by object under ``prefix`` (ending in '/'), and the SHA-256 of its
    listing (key, size, ETag of every object), which identifies that exact upload."""
    view = RunFolderView()
    listing = hashlib.sha256()
    basecalls = prefix + BASECALLS + "/"
    lane_entries: dict[int, set[str]] = {}
    with aws_call(permanent=lambda e: BclError(f"cannot list s3://{bucket}/{prefix}: {e}")):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key, size = obj["Key"], int(obj["Size"])
                listing.update(f"{key}\t{size}\t{obj.get('ETag', '')}\n".encode())
                rel = key[len(prefix) :]
                if rel in METADATA:
                    if size > MAX_METADATA_BYTES:
                        view.files[rel] = None
                    else:
                        view.files[rel] = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                if key.startswith(basecalls):
                    view.has_basecalls = True
                    lane, _, rest = key[len(basecalls) :].partition("/")
                    m = RE_LANE_DIR.fullmatch(lane)
                    if m and rest:
                        lane_entries.setdefault(int(m.group(1)), set()).add(rest.split("/", 1)[0])
    view.lanes = {lane: len(entries) for lane, entries in lane_entries.items()}
    return view, listing.hexdigest()


def validate_run_prefix(s3: Any, bucket: str, prefix: str, report: ValidationReport) -> str:
    """Validate a run folder uploaded under an S3 prefix; returns the listing's SHA-256."""
    view, digest = view_s3_prefix(s3, bucket, prefix)
    check_run_folder(view, report)
    return digest


def _strip_root(names: list[str]) -> str:
    """The folder prefix inside the tar that holds RunInfo.xml (shallowest), '' when at the top."""
    best: str | None = None
    for n in names:
        if n == "RunInfo.xml" or n.endswith("/RunInfo.xml"):
            prefix = n[: -len("RunInfo.xml")]
            if best is None or prefix.count("/") < best.count("/"):
                best = prefix
    return best or ""


RE_BASECALLS_PATH = re.compile(r"(.*?)Data/Intensities/BaseCalls(?:/(L\d{3})(/.+)?)?(?:/.*)?")


def view_tar(source: ByteSource, report: ValidationReport) -> RunFolderView | None:
    """Stream the tar once. Memory stays small whatever the member count: only the metadata files (by
    folder), and per (folder prefix, lane) the number of members below BaseCalls/L00N are kept."""
    blobs: dict[str, bytes | None] = {}
    basecalls: set[str] = set()  # prefixes (run folder roots) that have Data/Intensities/BaseCalls
    lane_entries: dict[tuple[str, int], int] = {}
    with source.open() as raw:
        try:
            with tarfile.open(fileobj=raw, mode="r|*") as tar:
                for member in tar:
                    name = member.name[2:] if member.name.startswith("./") else member.name
                    name = name.rstrip("/")
                    base = name.rsplit("/", 1)[-1]
                    if member.isfile() and base in METADATA and name.count("/") <= 2:
                        if member.size > MAX_METADATA_BYTES:
                            blobs[name] = None
                        else:
                            fh = tar.extractfile(member)
                            blobs[name] = fh.read() if fh is not None else b""
                        continue
                    m = RE_BASECALLS_PATH.fullmatch(name)
                    if m is None:
                        continue
                    prefix, lane, below = m.group(1), m.group(2), m.group(3)
                    basecalls.add(prefix)
                    if lane is not None:
                        key = (prefix, int(lane[1:]))
                        lane_entries[key] = lane_entries.get(key, 0) + (1 if below else 0)
        except (tarfile.TarError, EOFError, zlib.error) as e:
            report.error(
                "BCL_TAR_INVALID",
                f"the run folder tar is damaged or truncated: {e}; re-create it with tar and upload again",
            )
            return None
        except OSError as e:
            raise BclError(f"reading {source.name} failed: {e}") from e
    root = _strip_root(list(blobs))
    view = RunFolderView()
    for name, data in blobs.items():
        if name.startswith(root) and "/" not in name[len(root) :]:
            view.files[name[len(root) :]] = data
    view.has_basecalls = root in basecalls
    for (prefix, lane), count in lane_entries.items():
        if prefix == root:
            view.lanes[lane] = count
    return view


# ----------------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------------


def parse_run_info(data: bytes) -> RunInfo:
    """Parse RunInfo.xml; raises ``ValueError`` (with what is missing) or ``ET.ParseError``."""
    root = ET.fromstring(data)
    run = root.find("Run") if root.tag != "Run" else root
    if run is None:
        raise ValueError("no <Run> element")
    flowcell = run.findtext("Flowcell")
    reads: list[ReadInfo] = []
    for r in run.iter("Read"):
        try:
            reads.append(
                ReadInfo(int(r.get("Number", "0")), int(r.get("NumCycles", "")), r.get("IsIndexedRead") == "Y")
            )
        except ValueError as e:
            raise ValueError(f"a <Read> element has a non-numeric Number/NumCycles: {e}") from e
    if not reads:
        raise ValueError("no <Reads>/<Read> elements")
    layout = run.find("FlowcellLayout")
    lane_count = None
    if layout is not None and layout.get("LaneCount") is not None:
        try:
            lane_count = int(layout.get("LaneCount", ""))
        except ValueError as e:
            raise ValueError(f"FlowcellLayout LaneCount is not a number: {e}") from e
    if lane_count is None or lane_count < 1:
        raise ValueError("no FlowcellLayout LaneCount")
    return RunInfo(run.get("Id"), flowcell, lane_count, reads)


def parse_sample_sheet(text: str) -> dict[str, list[list[str]]]:
    """Section name (without brackets) -> its CSV rows (trailing empty cells dropped)."""
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for row in csv.reader(io.StringIO(text)):
        cells = [c.strip() for c in row]
        while cells and cells[-1] == "":
            cells.pop()
        if not cells:
            continue
        first = cells[0]
        if first.startswith("[") and first.endswith("]"):
            current = sections.setdefault(first[1:-1], [])
            continue
        if current is not None:
            current.append(cells)
    return sections


def check_run_folder(view: RunFolderView, report: ValidationReport) -> None:
    run_info = _check_run_info(view, report)
    params = view.files.get("RunParameters.xml", view.files.get("runParameters.xml"))
    if "RunParameters.xml" not in view.files and "runParameters.xml" not in view.files:
        report.error("BCL_RUNPARAMETERS_MISSING", "RunParameters.xml is missing; upload the whole run folder")
    elif params is not None:
        try:
            tree = ET.fromstring(params)
        except ET.ParseError as e:
            report.error("BCL_RUNPARAMETERS_INVALID", f"RunParameters.xml is not well-formed XML: {e}")
        else:
            run_id = next((el.text for el in tree.iter() if el.tag.lower() == "runid" and el.text), None)
            if run_info is not None and run_info.run_id and run_id and run_id.strip() != run_info.run_id:
                report.error(
                    "BCL_RUN_ID_MISMATCH",
                    f"RunParameters.xml is for run {run_id.strip()} but RunInfo.xml is for {run_info.run_id}; "
                    f"the files come from different runs",
                )
    _check_sample_sheet(view, report, run_info)
    _check_lanes(view, report, run_info)


def _check_run_info(view: RunFolderView, report: ValidationReport) -> RunInfo | None:
    if "RunInfo.xml" not in view.files:
        report.error(
            "BCL_RUNINFO_MISSING",
            "RunInfo.xml is missing: this is not an Illumina run folder, or it is incomplete",
        )
        return None
    data = view.files["RunInfo.xml"]
    if data is None:
        report.error("BCL_RUNINFO_INVALID", "RunInfo.xml is implausibly large")
        return None
    try:
        info = parse_run_info(data)
    except ET.ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else None
        report.error("BCL_RUNINFO_INVALID", f"RunInfo.xml is not well-formed XML: {e}", line=line)
        return None
    except ValueError as e:
        report.error("BCL_RUNINFO_INVALID", f"RunInfo.xml: {e}")
        return None
    report.stats["run_id"] = info.run_id
    report.stats["flowcell"] = info.flowcell
    report.stats["lanes"] = info.lane_count
    report.stats["reads"] = [{"number": r.number, "cycles": r.cycles, "indexed": r.indexed} for r in info.reads]
    return info


def _check_sample_sheet(view: RunFolderView, report: ValidationReport, info: RunInfo | None) -> None:
    data = view.files.get("SampleSheet.csv")
    if "SampleSheet.csv" not in view.files or data is None:
        report.error("BCL_SAMPLESHEET_MISSING", "SampleSheet.csv is missing; add it to the run folder")
        return
    sections = parse_sample_sheet(data.decode("utf-8-sig", "replace"))
    table = _sheet_data(sections, report)
    if table is None:
        return
    data_name, header, samples = table
    col = {name.lower(): i for i, name in enumerate(header)}
    index_reads = [r.cycles for r in info.reads if r.indexed] if info else []
    index_cols = [c for c in ("index", "index2") if c in col]
    seen_ids: set[tuple[str, str]] = set()
    seen_idx: dict[tuple[str, tuple[str, ...]], str] = {}
    lengths: dict[str, set[int]] = {c: set() for c in index_cols}
    for n, row in enumerate(samples, start=1):
        where = f"[{data_name}] sample row {n}"
        if len(row) > len(header):
            report.error("BCL_SAMPLESHEET_COLUMNS", f"{where} has {len(row)} cells but the header has {len(header)}")
        sid = _cell(row, col, "sample_id")
        lane = _cell(row, col, "lane")
        if not sid:
            report.error("BCL_SAMPLE_ID", f"{where}: Sample_ID is empty")
        elif (lane, sid) in seen_ids:
            report.error("BCL_SAMPLE_ID", f"{where}: Sample_ID {sid} is used twice{' in lane ' + lane if lane else ''}")
        seen_ids.add((lane, sid))
        lane_ok = bool(RE_SMALL_INT.fullmatch(lane)) and info is not None and 1 <= int(lane) <= (info.lane_count or 0)
        if lane and info is not None and not lane_ok:
            report.error(
                "BCL_SAMPLESHEET_LANE",
                f"{where}: Lane {lane} is not a lane of this {info.lane_count}-lane flowcell",
            )
        combo = [_check_index(where, c, k, _cell(row, col, c).upper(), index_reads, info, lengths, report)
                 for k, c in enumerate(index_cols)]  # fmt: skip
        if index_cols and any(combo):
            key = (lane, tuple(combo))
            if key in seen_idx:
                report.error(
                    "BCL_INDEX_DUPLICATE",
                    f"{where}: samples {seen_idx[key]} and {sid} share the index {'+'.join(combo)}"
                    f"{' in lane ' + lane if lane else ''}; demultiplexing cannot tell them apart",
                )
            else:
                seen_idx[key] = sid
    for c, lens in lengths.items():
        if len(lens) > 1:
            report.error(
                "BCL_INDEX_LENGTH",
                f"[{data_name}] {c} values have different lengths ({sorted(lens)}); pad or trim them",
            )
    report.stats["samples"] = len(samples)
    _check_sheet_reads(sections.get("Reads", []), report, info)


def _sheet_data(
    sections: dict[str, list[list[str]]], report: ValidationReport
) -> tuple[str, list[str], list[list[str]]] | None:
    """The sheet's [Data] (or [BCLConvert_Data]) section: (its name, the column header, the sample rows),
    or None when it is missing, has no Sample_ID column or no samples (reported)."""
    if "Header" not in sections:
        report.error("BCL_SAMPLESHEET_SECTION", "SampleSheet.csv has no [Header] section")
    data_name = "Data" if "Data" in sections else "BCLConvert_Data" if "BCLConvert_Data" in sections else None
    if data_name is None:
        report.error("BCL_SAMPLESHEET_SECTION", "SampleSheet.csv has no [Data] (or [BCLConvert_Data]) section")
        return None
    rows = sections[data_name]
    if not rows:
        report.error("BCL_SAMPLESHEET_COLUMNS", f"[{data_name}] has no column header row")
        return None
    header = rows[0]
    if "sample_id" not in {name.lower() for name in header}:
        report.error("BCL_SAMPLESHEET_COLUMNS", f"[{data_name}] has no Sample_ID column (columns: {', '.join(header)})")
        return None
    if not rows[1:]:
        report.error("BCL_SAMPLESHEET_EMPTY", f"[{data_name}] lists no samples")
        return None
    return data_name, header, rows[1:]


def _check_index(
    where: str,
    column: str,
    k: int,
    value: str,
    index_reads: list[int],
    info: RunInfo | None,
    lengths: dict[str, set[int]],
    report: ValidationReport,
) -> str:
    """One index cell (``column`` is index or index2, the ``k``-th index read): its bases and its length
    against RunInfo.xml's index reads; its length goes into ``lengths``. Returns the value."""
    if not RE_INDEX.fullmatch(value):
        report.error("BCL_INDEX_INVALID", f"{where}: {column} {value!r} may only contain A, C, G, T, N")
        return value
    if value:
        lengths[column].add(len(value))
    if value and info is not None:
        if k >= len(index_reads):
            report.error(
                "BCL_INDEX_LENGTH",
                f"{where}: {column} is set but RunInfo.xml has only {len(index_reads)} index read(s)",
            )
        elif len(value) > index_reads[k]:
            report.error(
                "BCL_INDEX_LENGTH",
                f"{where}: {column} {value} has {len(value)} bases but index read {k + 1} has "
                f"{index_reads[k]} cycles",
            )
    return value


def _check_sheet_reads(rows: list[list[str]], report: ValidationReport, info: RunInfo | None) -> None:
    """A v1 sheet's [Reads] cycles should be the RunInfo non-index reads (a warning: trimming happens)."""
    if info is None or not rows:
        return
    listed = [int(r[0]) for r in rows if r and RE_SMALL_INT.fullmatch(r[0])]
    actual = [r.cycles for r in info.reads if not r.indexed]
    if listed and listed != actual:
        report.warn(
            "BCL_SAMPLESHEET_READS",
            f"SampleSheet.csv [Reads] lists {listed} cycles but RunInfo.xml has reads of {actual} cycles",
        )


def _cell(row: list[str], col: dict[str, int], name: str) -> str:
    i = col.get(name)
    return row[i] if i is not None and i < len(row) else ""


def _check_lanes(view: RunFolderView, report: ValidationReport, info: RunInfo | None) -> None:
    if not view.has_basecalls:
        report.error("BCL_BASECALLS_MISSING", f"{BASECALLS} is missing: the run folder has no base calls")
        return
    if info is None or info.lane_count is None:
        return
    for lane in range(1, info.lane_count + 1):
        if lane not in view.lanes:
            report.error(
                "BCL_LANE_MISSING",
                f"{BASECALLS}/L{lane:03d} is missing; RunInfo.xml announces {info.lane_count} lanes",
            )
        elif view.lanes[lane] == 0:
            report.warn("BCL_LANE_EMPTY", f"{BASECALLS}/L{lane:03d} is empty")
    for lane in sorted(view.lanes):
        if lane < 1 or lane > info.lane_count:
            report.error(
                "BCL_LANE_UNEXPECTED",
                f"{BASECALLS}/L{lane:03d} is present but RunInfo.xml has LaneCount {info.lane_count}",
            )


# ----------------------------------------------------------------------------------------------------
# Entry points
# ----------------------------------------------------------------------------------------------------


def validate_run_folder(path: str, report: ValidationReport) -> None:
    """Validate a run folder on the local file system."""
    check_run_folder(view_directory(path), report)


def validate_run_tar(source: ByteSource, report: ValidationReport, *, compression: str = "none") -> None:
    """Validate a tar (plain or gzip) stream of a run folder. ``compression`` is informational."""
    view = view_tar(source, report)
    if view is not None:
        check_run_folder(view, report)
