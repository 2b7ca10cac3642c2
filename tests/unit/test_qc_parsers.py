"""Parsers against the qc_oracles corpus (expected outputs of bcftools/samtools stats).

Two kinds of checks:
* every number in an oracle file equals the parsed value at its place (plus hand-read spot values);
* Debian's 1.16 CLI run on the oracle inputs (copied to tmp) parses to the same numbers as the
  ``v1.16/`` oracle (or the top-level oracle where ORACLES.tsv says 1.16 reproduces it).
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from genomics.corpus import CORPUS
from genomics.qc.parsers import (
    BCFTOOLS_COLUMNS,
    SAMTOOLS_COLUMNS,
    ParseError,
    parse_bcftools_stats,
    parse_flagstat,
    parse_idxstats,
    parse_samtools_stats,
    snake,
)

ORACLES = CORPUS / "qc_oracles"


def _oracle_rows() -> list[dict[str, str]]:
    with open(ORACLES / "ORACLES.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _files(kind: str) -> list[Path]:
    pattern = "bcftools_stats/**/*.chk" if kind == "bcf" else "samtools_stats/**/*.expected"
    return sorted(ORACLES.glob(pattern))


def _same(token: str, value: object) -> bool:
    if token == ".":
        return value is None
    if isinstance(value, str):
        return value == token
    return isinstance(value, int | float) and float(token) == float(value)


# ------------------------------------------------------------------------------------------------
# Every number in every oracle file
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", _files("bcf"), ids=lambda p: str(p.relative_to(ORACLES)))
def test_parse_bcftools_stats_every_oracle_number(path: Path) -> None:
    text = path.read_text()
    parsed = parse_bcftools_stats(text)
    checked = 0
    for line in text.splitlines():
        f = line.split("\t")
        tag, sid = f[0], f[1]
        if tag == "SN":
            values = list(parsed["sn"][sid].values())
            assert any(_same(f[3], v) for v in values)
            label = f[2].rstrip(":").removeprefix("number of ")
            key = {"no-ALTs": "no_alts", "multiallelic SNP sites": "multiallelic_snp_sites"}.get(
                label, label.lower().replace(" ", "_"))
            assert _same(f[3], parsed["sn"][sid][key]), line
            checked += 1
        elif tag == "ST":
            assert _same(f[3], parsed["st"][sid][f[2]]), line
            checked += 1
        elif tag in ("PSC", "PSI"):
            row = parsed[tag.lower()][sid][f[2]]
            cols = BCFTOOLS_COLUMNS[tag][1:]
            assert len(cols) == len(f) - 3
            for col, tok in zip(cols, f[3:], strict=True):
                assert _same(tok, row[col]), (line, col)
                checked += 1
        elif tag == "TSTV":
            row = parsed["tstv"][sid]
            for col, tok in zip(BCFTOOLS_COLUMNS[tag], f[2:], strict=True):
                assert _same(tok, row[col]), (line, col)
                checked += 1
        elif tag == "VAF":
            assert parsed["vaf"][sid][f[2]]["snv"] == [int(x) for x in f[3].split(",")]
            assert parsed["vaf"][sid][f[2]]["indel"] == [int(x) for x in f[4].split(",")]
            checked += 1
        elif tag in BCFTOOLS_COLUMNS:
            rows = parsed[tag.lower()][sid]
            cols = BCFTOOLS_COLUMNS[tag]
            assert any(
                all(_same(tok, r[c]) for c, tok in zip(cols, f[2:], strict=True)) for r in rows
            ), line
            checked += 1
        else:
            assert f[1:] in parsed["other"][tag]
    assert checked > 0


@pytest.mark.parametrize("path", _files("sam"), ids=lambda p: str(p.relative_to(ORACLES)))
def test_parse_samtools_stats_every_oracle_number(path: Path) -> None:
    text = path.read_text()
    parsed = parse_samtools_stats(text)
    seen: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        tag = f[0]
        i = seen.get(tag, 0)
        seen[tag] = i + 1
        if tag == "SN":
            assert _same(f[2], parsed["summary"][snake(f[1])]), line
        elif tag == "CHK":
            assert [parsed["checksum"][c] for c in SAMTOOLS_COLUMNS["CHK"]] == f[1:]
        elif tag in ("FFQ", "LFQ", "MPC"):
            row = parsed["matrices"][tag][i]
            assert len(row) == len(f) - 1
            assert all(_same(t, v) for t, v in zip(f[1:], row, strict=True)), line
        elif tag in SAMTOOLS_COLUMNS:
            row = parsed["sections"][tag][i]
            cols = SAMTOOLS_COLUMNS[tag]
            assert len(cols) == len(f) - 1, line
            for c, tok in zip(cols, f[1:], strict=True):
                assert _same(tok, row[c]), (line, c)
        else:
            assert parsed["other"][tag][seen[tag] - 1] == f[1:]
    assert seen["SN"] == len(parsed["summary"])


# ------------------------------------------------------------------------------------------------
# Spot values read by hand from the oracle files
# ------------------------------------------------------------------------------------------------
def test_parse_bcftools_stats_counts_values() -> None:
    p = parse_bcftools_stats((ORACLES / "bcftools_stats/stats.counts.chk").read_text())
    assert p["sn"]["0"] == {"samples": 3, "records": 12, "no_alts": 2, "snps": 7, "mnps": 2, "indels": 1,
                            "others": 2, "multiallelic_sites": 4, "multiallelic_snp_sites": 2}
    assert p["tstv"]["0"]["ts_tv"] == 1.0 and p["tstv"]["0"]["ts"] == 4
    assert p["psc"]["0"]["B"] == {"hom_ref": 1, "hom_alt": 1, "het": 4, "transitions": 3, "transversions": 2,
                                  "indels": 1, "mean_depth": 0.0, "singletons": 0, "hap_ref": 2,
                                  "hap_alt": 0, "missing": 0}
    assert p["psc"]["0"]["A"]["missing"] == 1
    assert p["st"]["0"]["G>A"] == 3 and p["st"]["0"]["C>A"] == 2
    assert p["idd"]["0"] == [{"length": 1, "sites": 1, "genotypes": 0, "mean_vaf": None}]
    assert p["qual"]["0"][0]["quality"] is None and p["qual"]["0"][0]["snps"] == 6


def test_parse_bcftools_stats_v116_differs_where_oracles_say() -> None:
    new = parse_bcftools_stats((ORACLES / "bcftools_stats/stats.counts.chk").read_text())
    old = parse_bcftools_stats((ORACLES / "bcftools_stats/v1.16/stats.counts.chk").read_text())
    assert new["psc"]["0"]["B"]["transversions"] == 2
    assert old["psc"]["0"]["B"]["transversions"] == 1
    assert new["sn"] == old["sn"]


def test_parse_bcftools_stats_vaf_dp_idd() -> None:
    p = parse_bcftools_stats((ORACLES / "bcftools_stats/stats.vaf.1.chk").read_text())
    assert [r["length"] for r in p["idd"]["0"]] == [-5, -4, -3]
    assert p["idd"]["0"][1]["mean_vaf"] == 0.43
    assert p["dp"]["0"][0] == {"bin": 1, "genotypes": 8, "genotypes_pct": 40.0, "sites": 0, "sites_pct": 0.0}
    assert p["psc"]["0"]["a"]["mean_depth"] == 3.7
    assert p["vaf"]["0"]["a"]["snv"][-1] == 4
    assert p["tstv"]["0"]["ts_tv"] == 0.1


def test_parse_bcftools_stats_two_files_sets() -> None:
    p = parse_bcftools_stats((ORACLES / "bcftools_stats/stats.chk").read_text())
    assert set(p["sn"]) == {"0", "1", "2"}
    assert p["sn"]["2"]["records"] == 4 and p["sn"]["2"]["samples"] == 3
    assert p["tstv"]["2"]["ts_tv"] == 3.0
    assert p["other"]["GCsS"][0][:3] == ["2", "A", "100.000"]


def test_parse_samtools_stats_values() -> None:
    p = parse_samtools_stats((ORACLES / "samtools_stats/v1.16/1.stats.expected").read_text())
    s = p["summary"]
    assert s["raw_total_sequences"] == 2 and s["reads_mapped"] == 2 and s["reads_properly_paired"] == 2
    assert s["insert_size_average"] == 100.0 and s["error_rate"] == 0.0
    assert s["percentage_of_properly_paired_reads_pct"] == 100.0
    assert s["first_fragments"] == 1 and s["average_quality"] == 255.0
    assert p["coverage"][0] == {"range": "[1-1]", "depth": 1, "count": 70}
    assert p["read_lengths"] == [{"length": 35, "count": 2}]
    assert p["checksum"]["read_names"] == "1a1c1362"
    assert len(p["matrices"]["FFQ"]) == 35


def test_parse_samtools_stats_rejects_other_text() -> None:
    with pytest.raises(ParseError):
        parse_samtools_stats("hello\tworld\n")
    with pytest.raises(ParseError):
        parse_bcftools_stats("PSC\t0\tA\t1\n")


# ------------------------------------------------------------------------------------------------
# Debian 1.16 CLI on the oracle inputs == the 1.16 oracle
# ------------------------------------------------------------------------------------------------
def _v116_cases() -> list[tuple[str, str, str]]:
    cases = []
    for row in _oracle_rows():
        if row["reproduced_by_debian_1.16"].startswith("yes"):
            cases.append((row["expected_output"], row["inputs"], row["how_it_was_produced"]))
    return cases


def _argv(expected: str, how: str, tmp: Path) -> tuple[list[str], int]:
    """Rebuild the command of ORACLES.tsv's how_it_was_produced; return argv and lines to drop."""
    name = Path(expected).name
    if expected.startswith("bcftools_stats/"):
        for vcf in ("stats.a.vcf", "stats.b.vcf", "stats.counts.vcf"):
            if (tmp / vcf).exists() and not (tmp / f"{vcf}.gz").exists():
                subprocess.run(["bgzip", "-k", str(tmp / vcf)], check=True)
                subprocess.run(["tabix", "-p", "vcf", str(tmp / f"{vcf}.gz")], check=True)
        if name in ("stats.chk", "stats.B.chk"):
            sample = "B" if name == "stats.B.chk" else "-"
            return ["bcftools", "stats", "-s", sample, "stats.a.vcf.gz", "stats.b.vcf.gz"], 0
        return ["bcftools", "stats", "-s", "-", "stats.counts.vcf.gz"], 0
    cmd = how.split(", dropping")[0].split(" (equivalently")[0]
    argv = cmd.split()
    assert argv[:2] == ["samtools", "stats"], how
    return argv, 3


@pytest.mark.parametrize("case", _v116_cases(), ids=lambda c: c[0])
def test_parse_debian_116_cli_matches_oracle(case: tuple[str, str, str], tmp_path: Path) -> None:
    expected, _inputs, how = case
    folder = ORACLES / expected.split("/")[0]
    for src in folder.iterdir():
        if src.is_file() and not src.name.endswith((".chk", ".expected")):
            shutil.copy(src, tmp_path / src.name)
    argv, drop = _argv(expected, how, tmp_path)
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=True)
    lines = proc.stdout.splitlines()[drop:]
    if expected.startswith("bcftools_stats/"):
        # bcftools' ID lines name the input files; the oracles dropped them (samtools' ID is a table).
        text = "\n".join(line for line in lines if not line.startswith("ID\t"))
        got, want = parse_bcftools_stats(text), parse_bcftools_stats((ORACLES / expected).read_text())
    else:
        text = "\n".join(lines)
        got, want = parse_samtools_stats(text), parse_samtools_stats((ORACLES / expected).read_text())
    assert got == want
    # The copies were used, not the corpus: no index files appeared in the read-only folder.
    assert not list(folder.glob("*.fai")) and not list(folder.glob("*.csi"))


# ------------------------------------------------------------------------------------------------
# flagstat / idxstats (no oracle files: run Debian 1.16 on corpus inputs, check against the SAM)
# ------------------------------------------------------------------------------------------------
def test_parse_flagstat_debian_116_output(tmp_path: Path) -> None:
    sam = tmp_path / "in.sam"
    shutil.copy(ORACLES / "samtools_stats/8_secondary.sam", sam)
    text = subprocess.run(["samtools", "flagstat", str(sam)], capture_output=True, text=True,
                          check=True).stdout
    p = parse_flagstat(text)
    assert len(p) == 16
    records = [ln.split("\t") for ln in sam.read_text().splitlines() if not ln.startswith("@")]
    flags = [int(r[1]) for r in records]
    assert p["total"]["passed"] == len(records)
    assert p["secondary"]["passed"] == sum(1 for f in flags if f & 0x100)
    assert p["mapped"]["passed"] == sum(1 for f in flags if not f & 0x4)
    assert all(v["failed"] == 0 for v in p.values())


def test_parse_flagstat_rejects_other_text() -> None:
    with pytest.raises(ParseError):
        parse_flagstat("SN\traw total sequences:\t2\n")


def test_parse_idxstats_debian_116_output(tmp_path: Path) -> None:
    for name in ("11_target.bam", "11_target.bam.bai"):
        shutil.copy(ORACLES / "samtools_stats" / name, tmp_path / name)
    text = subprocess.run(["samtools", "idxstats", str(tmp_path / "11_target.bam")], capture_output=True,
                          text=True, check=True).stdout
    p = parse_idxstats(text)
    sam = (ORACLES / "samtools_stats/11_target.sam").read_text().splitlines()
    sq = {ln.split("\t")[1][3:]: int(ln.split("\t")[2][3:]) for ln in sam if ln.startswith("@SQ")}
    assert {c["name"]: c["length"] for c in p["contigs"] if c["name"] != "*"} == sq
    mapped = sum(1 for ln in sam if not ln.startswith("@") and not int(ln.split("\t")[1]) & 0x4)
    assert p["mapped"] == mapped
    with pytest.raises(ParseError):
        parse_idxstats("chr1\t100\tx\t0\n")
