"""The normalisation pipeline for one input (or one shard), with the repair rounds around it.

Everything here runs Debian's bcftools 1.16 (the version the image ships) through argv lists, with
scratch in a ``tempfile.TemporaryDirectory``, streamed by :mod:`genomics.tools`. The pipeline is

    bcftools norm --no-version -m -any [-f REF -c e] -Ou IN      split multiallelics, left-align
  | [bcftools view --no-version -T TARGETS -Ou -]                 shards: keep POS in [start, end)
  | bcftools sort -m 200M -T SCRATCH -Ou -                        sorted whatever the input order
  | bcftools norm --no-version -d exact -Oz -o OUT -              duplicates are adjacent once sorted

``norm`` works on unsorted input (it only re-sorts within its ``--site-win`` window), so one sort
*after* left-alignment gives sorted, deduplicated output for every input order. ``--no-version``
keeps headers free of dates and command lines, so outputs are reproducible and shard headers are
identical (which ``bcftools concat --naive`` requires).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from genomics import tools
from genomics.processing import repair
from genomics.processing.errors import classify
from genomics.processing.parsers import parse_norm_stats, sniff

SORT_MEMORY = "200M"
# One streaming helper for every tool pipeline (genomics.tools).
PipelineError = tools.PipelineError
run_pipeline = tools.run_pipeline


class ScratchPaths:
    """Replaces the scratch directory in recorded command lines so sidecars are reproducible."""

    def __init__(self, scratch: str, label: str = "$SCRATCH") -> None:
        self.scratch = scratch.rstrip("/")
        self.label = label

    def clean(self, argv: Sequence[str]) -> list[str]:
        return [a.replace(self.scratch, self.label) for a in argv]



def norm_stages(
    src: str, out: str, scratch: Path, *, reference: str | None,
    regions_file: str | None = None, targets_file: str | None = None,
) -> list[list[str]]:
    first = ["bcftools", "norm", "--no-version", "-m", "-any"]
    if reference:
        first += ["-f", reference, "-c", "e"]
    if regions_file:
        first += ["-R", regions_file]
    first += ["-Ou", "-o", "-", src]
    stages = [first]
    if targets_file:
        stages.append(["bcftools", "view", "--no-version", "-T", targets_file, "-Ou", "-o", "-", "-"])
    stages.append(
        ["bcftools", "sort", "-m", SORT_MEMORY, "-T", str(scratch / "sort."), "-Ou", "-o", "-", "-"]
    )
    stages.append(["bcftools", "norm", "--no-version", "-d", "exact", "-Oz", "-o", out, "-"])
    return stages


@dataclass
class Normalised:
    path: str
    records_in: int
    split: int
    realigned: int
    commands: list[list[str]]
    repairs: list[dict[str, Any]] = field(default_factory=list)


Opener = Callable[[], BinaryIO]
# Rounds of repair (each adds what the previous attempt revealed) before giving up.
MAX_REPAIR_ROUNDS = 24
_UNDECLARED_HINTS = ("is not defined in the header", "Unchecked error", "not defined in the header")


def _open(opener: Opener | None) -> contextlib.AbstractContextManager[BinaryIO | None]:
    return opener() if opener is not None else contextlib.nullcontext(None)


# Validation codes for values that do not match their declared Type (a decimal in an Integer key, ...).
_TYPE_CODES = ("VCF_INFO_TYPE", "VCF_SAMPLE_TYPE")


def needs_type_scan(conformance: dict[str, Any] | None) -> bool:
    """Validation's conformance report says some value does not match its Type: worth one scan for
    Integer keys holding decimals (htslib truncates those silently; nothing else reveals them)."""
    codes = (conformance or {}).get("codes") or {}
    return any(codes.get(c) for c in _TYPE_CODES)


def undeclared_keys(src: str, scratch: Path, opener: Opener | None = None,
                    regions_file: str | None = None) -> list[tuple[str, str]]:
    """Contigs, FILTERs, INFO and FORMAT keys records use but the header lacks, in the order htslib
    meets them (one reading pass; htslib warns once per key)."""
    argv = ["bcftools", "query"]
    if regions_file:
        argv += ["-R", regions_file]
    argv += ["-f", "\n", src]
    with _open(opener) as stdin:
        try:
            errs = run_pipeline([argv], scratch, stdin=stdin, stdout_path=Path(os.devnull))
        except PipelineError as e:
            errs = e.stderrs
    return repair.parse_undeclared("".join(errs))


class Repairer:
    """Runs a pipeline; when it fails for a reason :mod:`genomics.processing.repair` can fix, extends
    the plan from what the failure (and, for undeclared keys, one scan) revealed and runs it again."""

    def __init__(self, src: str, scratch: Path, opener: Opener | None, name: str,
                 regions_file: str | None = None, conformance: dict[str, Any] | None = None) -> None:
        self.src, self.scratch, self.opener, self.name = src, scratch, opener, name
        self.regions_file = regions_file
        self.conformance = conformance
        self.plan = repair.RepairPlan()
        self.plan_path = scratch / "repair.plan.json"
        self.stats_path = scratch / "repair.stats.json"
        self._header: str | None = None

    def _is_text(self) -> bool:
        with _open(self.opener) if self.opener is not None else open(self.src, "rb") as fh:
            assert fh is not None
            return sniff(fh.read(1 << 16))["format"] == "vcf"

    def prepare(self) -> None:
        """Before the first run: when validation saw values that do not match their Type (and the input
        is VCF text), find Integer keys holding decimals, which htslib would silently truncate."""
        if self.regions_file is not None or not needs_type_scan(self.conformance) or not self._is_text():
            return
        with _open(self.opener) if self.opener is not None else open(self.src, "rb") as fh:
            assert fh is not None
            found = repair.find_decimal_integers(repair.text_reader(fh))
        for key, where in found.items():
            self.plan.retype[key] = {"first": where}

    def stages(self) -> list[list[str]]:
        """``bcftools view -Ov [-R REGIONS] SRC | python -m genomics.processing.repair PLAN STATS``, or,
        when a Type must change before htslib parses the values, the filter on the raw VCF text."""
        self.plan_path.write_text(json.dumps(self.plan.to_json()))
        if self.plan.retype and self.regions_file is None:
            return [[sys.executable, "-m", "genomics.processing.repair", str(self.plan_path), str(self.stats_path),
                     "--raw", self.src]]
        view = ["bcftools", "view", "--no-version"]
        if self.regions_file:
            view += ["-R", self.regions_file]
        view += ["-Ov", "-o", "-", self.src]
        return [view, [sys.executable, "-m", "genomics.processing.repair", str(self.plan_path),
                       str(self.stats_path)]]

    def header(self) -> str:
        if self._header is None:
            hdr = self.scratch / "repair.header.txt"
            with _open(self.opener) as stdin:
                run_pipeline([["bcftools", "view", "--no-version", "-h", "-o", str(hdr), self.src]],
                             self.scratch, stdin=stdin)
            self._header = hdr.read_text(errors="replace")  # htslib passes non-UTF-8 header bytes through
        return self._header

    def extend(self, err: PipelineError) -> bool:
        """Add what ``err`` calls for to the plan; False when nothing new can be repaired."""
        text = "\n".join(err.stderrs)
        if any(h in text for h in _UNDECLARED_HINTS):
            known = set(self.plan.declare)
            found = [k for k in repair.parse_undeclared(text) if k not in known]
            found += [k for k in undeclared_keys(self.src, self.scratch, self.opener, self.regions_file)
                      if k not in known and k not in found]
            if found:
                self.plan.declare.extend(found)
                return True
        wrong = repair.parse_wrong_number(text)
        if wrong is None:
            return False
        kind, tag = wrong["kind"], wrong["tag"]
        number = repair.header_numbers(self.header()).get((kind, tag), ".")
        first = f"{wrong['contig']}:{wrong['pos']}"
        if kind == "FORMAT" and number == "G" and tag not in self.plan.genotype_tags:
            self.plan.genotype_tags[tag] = {"first": first}
            return True
        if (kind, tag) not in self.plan.relax:
            if kind == "FORMAT":  # splitting its polyploid records did not satisfy norm: carry it instead
                self.plan.genotype_tags.pop(tag, None)
            self.plan.relax[(kind, tag)] = {"from": number, "first": first}
            return True
        return False

    def run(self, build: Callable[[list[list[str]] | None], list[list[str]]]
            ) -> tuple[list[list[str]], list[str], list[dict[str, Any]]]:
        """(stages run, their stderrs, the repairs made) of the first attempt that succeeded."""
        try:
            self.prepare()
            stages = build(self.stages() if self.plan else None)
            for _ in range(MAX_REPAIR_ROUNDS):
                try:
                    with _open(self.opener) as stdin:
                        errs = run_pipeline(stages, self.scratch, stdin=stdin)
                except PipelineError as e:
                    if not self.extend(e):
                        raise
                    stages = build(self.stages())
                    continue
                stats = json.loads(self.stats_path.read_text()) if self.plan and self.stats_path.exists() else {}
                return stages, errs, self.plan.repairs(stats)
            raise PipelineError(stages[0], 1, f"still failing after {MAX_REPAIR_ROUNDS} repair rounds", [])
        except tools.ToolError as e:
            coded = classify(e, self.name)
            if coded is not None:
                raise coded from e
            raise


def normalise(
    src: str, out: str, scratch: Path, *, reference: str | None, name: str,
    opener: Opener | None = None, regions_file: str | None = None, targets_file: str | None = None,
    conformance: dict[str, Any] | None = None,
) -> Normalised:
    """norm | [view -T] | sort | norm -d of ``src`` (a path, or "-" with ``opener`` giving the bytes),
    through the repair filter when the input needs it (:class:`Repairer`; ``conformance``: validation's
    report, which tells when a value/Type scan is worth its pass)."""

    def build(repair_stages: list[list[str]] | None) -> list[list[str]]:
        if repair_stages is None:
            return norm_stages(src, out, scratch, reference=reference, regions_file=regions_file,
                               targets_file=targets_file)
        rest = norm_stages("-", out, scratch, reference=reference, targets_file=targets_file)
        return [*repair_stages, *rest]

    stages, errs, repairs = Repairer(src, scratch, opener, name, regions_file, conformance).run(build)
    norm_at = next(i for i, s in enumerate(stages) if s[:2] == ["bcftools", "norm"])
    stats = parse_norm_stats(errs[norm_at])
    return Normalised(out, stats.get("total", 0), stats.get("split", 0), stats.get("realigned", 0),
                      [list(s) for s in stages], repairs)

