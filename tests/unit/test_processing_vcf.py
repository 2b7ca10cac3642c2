"""genomics.processing.vcf on real files with Debian bcftools/tabix 1.16 (the CLI the image ships)."""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from genomics import synth
from genomics.corpus import CORPUS
from genomics.processing import tabix, vcf
from genomics.processing.reference import fai_byte_range, parse_fai

VCF_FILE = CORPUS / "htslib/tabix/vcf_file.vcf"
BCF_FILE = CORPUS / "htslib/tabix/vcf_file.bcf"
STATS_INPUTS = sorted(glob.glob(str(CORPUS / "qc_oracles/bcftools_stats/*.vcf")))
# Debian bio-eagle-examples: BGZF VCF, chr21 (+ a few chr22 records), with a .tbi-less copy we index.
EUR = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")


def _onekg() -> Path:
    """1kg.vcf.gz shipped by PyPI pyvcf3 (plain gzip, no ##contig lines)."""
    import vcf as pyvcf  # pyvcf3

    return Path(pyvcf.__file__).parent / "test" / "1kg.vcf.gz"


# Captured from Debian bcftools 1.16 on this machine.
NORM_STDERR = "Lines   total/split/realigned/skipped:\t15/4/0/0\n"
MISMATCH_STDERR = "Reference allele mismatch at c1:600 .. REF_SEQ:'T' vs VCF:'A'\n"
INDEX_STATS = "1\t249250621\t11\n2\t249250621\t1\n3\t198022430\t1\n4\t191154276\t2\n"


def body(path: str | Path) -> list[str]:
    out = subprocess.run(["bcftools", "view", "--no-version", "-H", str(path)], capture_output=True,
                         check=True, text=True).stdout
    return out.splitlines()


def header(path: str | Path) -> str:
    return subprocess.run(["bcftools", "view", "--no-version", "-h", str(path)], capture_output=True,
                          check=True, text=True).stdout


def keys(lines: list[str]) -> list[tuple[str, int, str, str]]:
    return [(f[0], int(f[1]), f[3], f[4]) for f in (line.split("\t") for line in lines)]


def assert_processed(lines: list[str], contig_order: list[str]) -> None:
    ks = keys(lines)
    order = {c: i for i, c in enumerate(contig_order)}
    assert [(order[c], p) for c, p, _, _ in ks] == sorted((order[c], p) for c, p, _, _ in ks)
    assert all("," not in alt for _, _, _, alt in ks), "multiallelic record left"
    assert len(set(ks)) == len(ks), "exact duplicate left"


def wellformed(tmp_path: Path) -> Path:
    """vcf_file.vcf without its one record whose INFO/AC count disagrees with Number=A (4:3258501)."""
    lines = [line for line in VCF_FILE.read_text().splitlines() if "\t3258501\t" not in line]
    dst = tmp_path / "vcf_file.vcf"
    dst.write_text("\n".join(lines) + "\n")
    return dst


def copy(src: Path, tmp_path: Path, name: str | None = None) -> Path:
    dst = tmp_path / (name or src.name)
    shutil.copyfile(src, dst)
    return dst


# --------------------------------------------------------------------------------------------------
# Pure parsers
# --------------------------------------------------------------------------------------------------
def test_parse_norm_stats_captured():
    assert vcf.parse_norm_stats(NORM_STDERR) == {"total": 15, "split": 4, "realigned": 0, "skipped": 0}
    assert vcf.parse_norm_stats("nothing") == {}


def test_parse_ref_mismatch_captured():
    assert vcf.parse_ref_mismatch(MISMATCH_STDERR) == {"contig": "c1", "pos": 600, "reference": "T", "vcf": "A"}
    assert vcf.parse_ref_mismatch(NORM_STDERR) is None


def test_parse_index_stats_captured():
    rows = vcf.parse_index_stats(INDEX_STATS + "x\t.\t3\n")
    assert rows[0] == {"contig": "1", "length": 249250621, "records": 11}
    assert rows[-1] == {"contig": "x", "length": None, "records": 3}


def test_parse_header_contigs_and_assemblies_vcf_file():
    text = VCF_FILE.read_text()
    contigs = vcf.parse_header_contigs(text)
    assert [c["contig"] for c in contigs] == ["1", "2", "3", "4"]
    assert contigs[2]["length"] == 198022430 and contigs[0]["assembly"] == "b37"
    assert vcf.header_assemblies(text) == ["b37", "human_g1k_v37"]


def test_region_line_is_one_based_inclusive():
    assert vcf.region_line("chr1", 0, 100) == "chr1\t1\t100\n"
    assert vcf.region_line("chr1", -50, 10) == "chr1\t1\t10\n"


def test_plan_shards_splits_long_contigs_and_skips_empty():
    shards = vcf.plan_shards(
        [
            {"contig": "a", "length": 250, "records": 3},
            {"contig": "b", "length": 100, "records": 0},
            {"contig": "c", "length": None, "records": 1},
        ],
        100,
    )
    assert [(s.index, s.contig, s.start, s.end) for s in shards] == [
        (0, "a", 0, 100), (1, "a", 100, 200), (2, "a", 200, vcf.MAX_POS), (3, "c", 0, vcf.MAX_POS),
    ]
    assert vcf.Shard.from_dict(shards[1].as_dict()) == shards[1]


def test_plan_shards_drops_regions_without_data():
    def has_data(contig: str, beg: int, end: int) -> bool:
        return beg < 5_000 < end  # one record at 0-based 5000

    shards = vcf.plan_shards([{"contig": "a", "length": 10_000, "records": 1}], 1_000, has_data)
    # The region holding it, and the neighbours within SHARD_MARGIN of it (left-alignment may move it).
    assert [(s.index, s.start, s.end) for s in shards] == [(0, 4_000, 5_000), (1, 5_000, 6_000)]
    none = vcf.plan_shards([{"contig": "a", "length": 10_000, "records": 1}], 1_000, lambda *a: False)
    assert [(s.start, s.end) for s in none] == [(0, vcf.MAX_POS)]


def test_sniff_plain_gzip_bgzf_bcf(tmp_path):
    plain = VCF_FILE.read_bytes()[:4096]
    assert vcf.sniff(plain) == {"compression": "none", "format": "vcf"}
    assert vcf.sniff(gzip.compress(VCF_FILE.read_bytes())[:4096]) == {"compression": "gzip", "format": "vcf"}
    assert vcf.sniff(EUR.read_bytes()[:65536]) == {"compression": "bgzf", "format": "vcf"}
    assert vcf.sniff(BCF_FILE.read_bytes()[:65536]) == {"compression": "bgzf", "format": "bcf"}
    assert vcf.sniff(b"hello")["format"] == "unknown"


def test_basename_and_output_names():
    assert vcf.output_names("p/s/sample.vcf.gz") == {"vcf": "sample.norm.vcf.gz", "sidecar": "sample.norm.vcf.gz.json"}
    assert vcf.basename_of("x/y/calls.bcf") == "calls"


# --------------------------------------------------------------------------------------------------
# Single pass on real files
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [VCF_FILE, BCF_FILE], ids=["vcf", "bcf"])
def test_process_local_vcf_file_number_mismatch_is_carried(path, tmp_path):
    """htslib's own test file has an INFO/AC with one value on a 305-ALT record (Number=A): the Number is
    relaxed to '.', the values are carried unchanged, and the sidecar says so; the input is untouched."""
    src = copy(path, tmp_path)
    before = src.read_bytes()
    res = vcf.process_local(str(src), str(tmp_path / "out"))
    assert src.read_bytes() == before
    side = json.loads(Path(res["sidecar"]).read_text())
    relaxed = [r for r in side["repairs"] if r["repair"] == "number_relaxed"]
    assert next((r["key"], r["from"], r["first"]) for r in relaxed) == ("INFO/AC", "A", "4:3258501")
    header = vcf.header_text(res["vcf"])
    assert re.search(r"##INFO=<ID=AC,Number=\.,Type=Integer", header)
    split = [ln.split("\t") for ln in body(Path(res["vcf"])) if ln.split("\t")[:2] == ["4", "3258501"]]
    assert len(split) > 300 and all("AC=" in f[7] for f in split)


def test_process_local_vcf_file_outputs_sidecar_and_index(tmp_path):
    src = wellformed(tmp_path)
    raw = src.read_bytes()
    res = vcf.process_local(str(src), str(tmp_path / "out"))
    out = Path(res["vcf"])
    assert out.name == "vcf_file.norm.vcf.gz" and res["index"].endswith(".tbi")
    assert subprocess.run(["htsfile", str(out)], capture_output=True, text=True).stdout.find("BGZF") > 0
    lines = body(out)
    assert_processed(lines, ["1", "2", "3", "4"])
    side = json.loads(Path(res["sidecar"]).read_text())
    assert side["records_in"] == 14 and side["records_out"] == len(lines) == res["records_out"]
    assert side["outputs"]["vcf"]["md5"] == hashlib.md5(out.read_bytes()).hexdigest()
    assert side["outputs"]["index"]["sha256"] == hashlib.sha256(Path(res["index"]).read_bytes()).hexdigest()
    assert side["input"]["sha256"] == hashlib.sha256(raw).hexdigest()
    assert side["tools"]["bcftools"] == "1.16" and side["reference"] is None and not side["left_aligned"]
    argv0 = [c[:2] for c in side["commands"]]
    assert argv0 == [["bcftools", "norm"], ["bcftools", "sort"], ["bcftools", "norm"], ["bcftools", "index"]]
    assert all("vcfproc-" not in a for c in side["commands"] for a in c)
    # The raw input is untouched.
    assert src.read_bytes() == raw


def test_process_local_bcf_equals_vcf(tmp_path):
    src = wellformed(tmp_path)
    bcf = tmp_path / "vcf_file.bcf"
    subprocess.run(["bcftools", "view", "--no-version", "-Ob", "-o", str(bcf), str(src)], check=True)
    a = vcf.process_local(str(src), str(tmp_path / "a"))
    b = vcf.process_local(str(bcf), str(tmp_path / "b"))
    assert body(a["vcf"]) == body(b["vcf"])


def test_process_local_is_reproducible(tmp_path):
    src = wellformed(tmp_path)
    a = vcf.process_local(str(src), str(tmp_path / "a"))
    b = vcf.process_local(str(src), str(tmp_path / "b"))
    assert Path(a["vcf"]).read_bytes() == Path(b["vcf"]).read_bytes()
    assert Path(a["sidecar"]).read_text() == Path(b["sidecar"]).read_text()


def test_process_local_unsorted_duplicates_multiallelic(tmp_path):
    text = wellformed(tmp_path).read_text().splitlines()
    head = [line for line in text if line.startswith("#")]
    recs = [line for line in text if not line.startswith("#")]
    rng = random.Random(7)
    shuffled = [*recs, recs[2], recs[3]]  # an exact duplicate and a duplicated multiallelic
    assert "," in recs[3].split("\t")[4]
    rng.shuffle(shuffled)
    src = tmp_path / "unsorted.vcf"
    src.write_text("\n".join(head + shuffled) + "\n")
    ref = vcf.process_local(str(wellformed(tmp_path)), str(tmp_path / "ref"))
    res = vcf.process_local(str(src), str(tmp_path / "out"))
    lines = body(res["vcf"])
    assert_processed(lines, ["1", "2", "3", "4"])
    assert res["records_in"] == 16
    assert lines == body(ref["vcf"])


@pytest.mark.parametrize("path", STATS_INPUTS, ids=lambda p: Path(p).name)
def test_process_local_matches_direct_bcftools(path, tmp_path):
    src = copy(Path(path), tmp_path)
    res = vcf.process_local(str(src), str(tmp_path / "out"))
    # The same commands run directly (Debian 1.16), as the oracle.
    p1 = subprocess.Popen(["bcftools", "norm", "-m", "-any", "-Ou", str(src)], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    p2 = subprocess.Popen(["bcftools", "sort", "-T", str(tmp_path / "s."), "-Ou", "-"], stdin=p1.stdout,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    direct = subprocess.run(["bcftools", "norm", "-d", "exact", "-Ov", "-"], stdin=p2.stdout,
                            capture_output=True, text=True, check=True).stdout
    p1.wait()
    p2.wait()
    assert body(res["vcf"]) == [line for line in direct.splitlines() if not line.startswith("#")]
    assert len(set(keys(body(res["vcf"])))) == len(body(res["vcf"]))


def test_process_local_eur_bgzf_and_1kg_gzip(tmp_path):
    eur = vcf.process_local(str(copy(EUR, tmp_path)), str(tmp_path / "eur"))
    assert eur["records_in"] == 2000 and eur["contigs"] == ["21", "22"]
    assert_processed(body(eur["vcf"]), ["21", "22"])
    kg = vcf.process_local(str(copy(_onekg(), tmp_path)), str(tmp_path / "kg"))
    assert kg["records_in"] == 381 and kg["contigs"] == ["2"]
    assert_processed(body(kg["vcf"]), ["2"])


def _fasta(tmp_path: Path) -> tuple[Path, str]:
    rng = random.Random(3)
    seq = "".join(rng.choice("ACGT") for _ in range(3000))
    seq = seq[:1000] + "CA" * 10 + seq[1020:]  # a CA repeat at 1001..1020 (1-based)
    fa = tmp_path / "mini.fa"
    fa.write_text(">c1\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n")
    subprocess.run(["samtools", "faidx", str(fa)], check=True)
    return fa, seq


def _vcf(path: Path, records: list[str], length: int = 3000) -> Path:
    path.write_text(
        "##fileformat=VCFv4.2\n"
        f"##contig=<ID=c1,length={length}>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(r + "\n" for r in records)
    )
    return path


def test_process_local_left_aligns_and_keeps_sorted(tmp_path):
    fa, seq = _fasta(tmp_path)
    p = 1018  # delete "CA" at the end of the repeat: left-aligns to POS 1000
    deletion = f"c1\t{p}\t.\t{seq[p - 1 : p + 2]}\t{seq[p - 1]}\t.\t.\t."
    snv = f"c1\t1005\t.\t{seq[1004]}\t{'A' if seq[1004] != 'A' else 'C'}\t.\t.\t."
    src = _vcf(tmp_path / "la.vcf", [snv, deletion])
    res = vcf.process_local(str(src), str(tmp_path / "out"), reference=str(fa))
    ks = keys(body(res["vcf"]))
    assert [k[1] for k in ks] == [1000, 1005]
    assert ks[0][2] == seq[999:1002] and ks[0][3] == seq[999]
    side = json.loads(Path(res["sidecar"]).read_text())
    assert side["left_aligned"] and side["realigned"] == 1 and side["reference"] == {"path": str(fa)}
    assert ["-f", str(fa), "-c", "e"] == side["commands"][0][5:9]


def test_process_local_ref_mismatch_is_coded(tmp_path):
    fa, seq = _fasta(tmp_path)
    wrong = "A" if seq[599] != "A" else "C"
    src = _vcf(tmp_path / "bad.vcf", [f"c1\t600\t.\t{wrong}\tG\t.\t.\t."])
    with pytest.raises(vcf.RefMismatch) as ei:
        vcf.process_local(str(src), str(tmp_path / "out"), reference=str(fa))
    assert ei.value.code == "PROC_REF_MISMATCH" and "c1:600" in (ei.value.location or "")
    assert ei.value.code in vcf.CODES
    assert str(ei.value).startswith("PROC_REF_MISMATCH: ") and ei.value.to_json()["location"].endswith("c1:600")
    assert not list((tmp_path / "out").glob("*.vcf.gz"))


def test_process_local_unreadable_input_is_coded(tmp_path):
    src = tmp_path / "junk.vcf"
    src.write_text("this is not a vcf\n")
    with pytest.raises(vcf.UnreadableInput) as ei:
        vcf.process_local(str(src), str(tmp_path / "out"))
    assert ei.value.code == "PROC_UNREADABLE_INPUT"


def test_process_local_long_contig_gets_csi(tmp_path):
    length = (1 << 29) + 1000
    src = _vcf(tmp_path / "long.vcf", [f"c1\t{(1 << 29) + 10}\t.\tA\tG\t.\t.\t."], length=length)
    res = vcf.process_local(str(src), str(tmp_path / "out"))
    assert res["index"].endswith(".csi") and res["records_out"] == 1


# --------------------------------------------------------------------------------------------------
# Indexes and scatter/gather
# --------------------------------------------------------------------------------------------------
def test_parse_tabix_index_tbi_and_csi_count_records(tmp_path):
    gz = copy(EUR, tmp_path)
    for flag in ("--tbi", "--csi"):
        subprocess.run(["bcftools", "index", "-f", flag, str(gz)], check=True)
        idx = vcf.parse_tabix_index(Path(f"{gz}.{flag[2:]}").read_bytes())
        assert idx.kind == flag[2:] and idx.names == ["21", "22"] and idx.records() == 2000
        assert vcf.region_voffsets(idx, "nope", 0, 100) is None
        assert vcf.region_voffsets(idx, "22", 0, vcf.MAX_POS) is not None


def test_region_voffsets_bin_walk_equals_enumeration(tmp_path):
    """Small windows enumerate the bins they span, whole contigs walk the contig's populated bins (tens
    of thousands of spanned bins per contig made planning a 40,000-scaffold assembly take minutes):
    both give the populated bins that overlap, for TBI and CSI."""
    gz = copy(EUR, tmp_path)
    rng = random.Random(4)
    for flag in ("--tbi", "--csi"):
        subprocess.run(["bcftools", "index", "-f", flag, str(gz)], check=True)
        idx = vcf.parse_tabix_index(Path(f"{gz}.{flag[2:]}").read_bytes())
        limit = 1 << (idx.min_shift + idx.depth * 3)
        paths = set()
        for ref in (r for r in idx.refs if r.bins):
            windows = [(0, limit)] + [
                (a, min(limit, a + rng.choice([1, 500, 20_000, 2_000_000])))
                for a in (rng.randint(0, 50_000_000) for _ in range(300))
            ]
            for beg, end in windows:
                ranges = tabix._reg2bin_ranges(beg, end, idx.min_shift, idx.depth)
                spanned = sum(last - first + 1 for first, last in ranges)
                paths.add(spanned <= len(ref.bins))
                brute = sorted(b for first, last in ranges for b in range(first, last + 1) if b in ref.bins)
                assert sorted(tabix._overlapping_bins(ref, beg, end, idx.min_shift, idx.depth)) == brute
        assert paths == {True, False}  # both ways were taken


def _sparse_copy(src: Path, idx_path: Path, shard: vcf.Shard, dst_dir: Path) -> Path:
    """What the shard action does against S3, on local bytes: only the ranges the index names."""
    idx = vcf.parse_tabix_index(idx_path.read_bytes())
    size = src.stat().st_size
    dst_dir.mkdir()
    dst = dst_dir / "source.vcf.gz"
    data = src.read_bytes()
    with open(dst, "wb") as fh:
        fh.truncate(size)
        for contig, beg, end in shard.regions():
            for a, b in vcf.byte_ranges_for(idx, size, contig, beg - vcf.SHARD_MARGIN, end + vcf.SHARD_MARGIN):
                fh.seek(a)
                fh.write(data[a:b])
    shutil.copyfile(idx_path, f"{dst}.{idx.kind}")
    return dst


def scatter_gather(
    src: Path, tmp_path: Path, region_bases: int, reference: str | None = None, max_shards: int = vcf.MAX_SHARDS
) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    indexed = work / "source.vcf.gz"
    idx_path, _, _ = vcf.make_indexed_source(str(src), str(indexed), work, name=str(src))
    idx = vcf.parse_tabix_index(Path(idx_path).read_bytes())
    shards = vcf.plan_shards(vcf.source_contigs(str(indexed)), region_bases,
                             lambda c, b, e: vcf.region_voffsets(idx, c, b, e) is not None, max_shards)
    assert len(shards) <= max(max_shards, sum(1 for s in shards if not s.more))
    outs = []
    for sh in shards:
        sparse = _sparse_copy(indexed, Path(idx_path), sh, work / f"sp{sh.index}")
        out = work / f"shard{sh.index}.vcf.gz"
        vcf.process_shard_local(str(sparse), sh, str(out), work, reference=reference, name=str(src))
        outs.append(str(out))
    gathered = tmp_path / "gathered.vcf.gz"
    vcf.gather_local(outs, str(gathered))
    return gathered


def test_scatter_gather_equals_single_pass_multi_contig(tmp_path):
    src = tmp_path / "multi.vcf"
    with open(src, "w") as fh:
        synth.write(fh, 4000, 2, synth.default_contigs(3, 300_000), seed=5)
    single = vcf.process_local(str(src), str(tmp_path / "single"))
    gathered = scatter_gather(src, tmp_path, region_bases=70_000)
    assert body(gathered) == body(single["vcf"])
    assert header(gathered) == header(single["vcf"])


def test_scatter_boundary_deletion_emitted_once(tmp_path):
    # A deletion starting 2 bases before the 1000-base boundary spans it; a region query of the
    # second shard overlaps it, but only the shard holding its POS may emit it.
    records = [
        "c1\t500\t.\tA\tG\t.\t.\t.",
        "c1\t999\t.\tACGTACGTAC\tA\t.\t.\t.",
        "c1\t1001\t.\tG\tT\t.\t.\t.",
        "c1\t2500\t.\tC\tA,T\t.\t.\t.",
    ]
    src = _vcf(tmp_path / "edge.vcf", records)
    single = vcf.process_local(str(src), str(tmp_path / "single"))
    gathered = scatter_gather(src, tmp_path, region_bases=1000)
    assert body(gathered) == body(single["vcf"])
    assert sum(1 for line in body(gathered) if "\t999\t" in line) == 1


def test_scatter_left_alignment_across_boundary_equals_single(tmp_path):
    fa, seq = _fasta(tmp_path)
    p = 1018  # left-aligns from 1018 (shard 2 with a 1010-base region) to 1000 (shard 1)
    records = [
        f"c1\t1005\t.\t{seq[1004]}\t{'A' if seq[1004] != 'A' else 'C'}\t.\t.\t.",
        f"c1\t{p}\t.\t{seq[p - 1 : p + 2]}\t{seq[p - 1]}\t.\t.\t.",
        f"c1\t2000\t.\t{seq[1999]}\t{'A' if seq[1999] != 'A' else 'G'}\t.\t.\t.",
    ]
    src = _vcf(tmp_path / "la.vcf", records)
    single = vcf.process_local(str(src), str(tmp_path / "single"), reference=str(fa))
    gathered = scatter_gather(src, tmp_path, region_bases=1010, reference=str(fa))
    assert body(gathered) == body(single["vcf"])
    assert [k[1] for k in keys(body(gathered))] == [1000, 1005, 2000]


def test_scatter_gather_1kg_without_contig_lengths(tmp_path):
    src = copy(_onekg(), tmp_path)
    single = vcf.process_local(str(src), str(tmp_path / "single"))
    gathered = scatter_gather(src, tmp_path, region_bases=10_000)
    assert body(gathered) == body(single["vcf"])


def test_fai_byte_range_covers_bases(tmp_path):
    fa, seq = _fasta(tmp_path)
    fai = parse_fai(Path(f"{fa}.fai").read_text())
    a, b = fai_byte_range(fai["c1"], 100, 250)
    chunk = fa.read_bytes()[a:b].replace(b"\n", b"").decode()
    assert chunk.startswith(seq[100:250])
    assert os.path.getsize(fa) >= b


def test_scatter_gather_long_contig_uses_csi(tmp_path):
    length = (1 << 29) + 5_000_000
    positions = [10, 5_000, 1 << 28, (1 << 29) + 10, (1 << 29) + 4_000_000]
    src = _vcf(tmp_path / "long.vcf", [f"c1\t{p}\t.\tA\tG,T\t.\t.\t." for p in positions], length=length)
    single = vcf.process_local(str(src), str(tmp_path / "single"))
    assert single["index"].endswith(".csi")
    gathered = scatter_gather(src, tmp_path, region_bases=1 << 27)
    assert body(gathered) == body(single["vcf"]) and len(body(gathered)) == 10


def test_plan_shards_groups_small_contigs_within_max():
    contigs = [{"contig": "chr1", "length": 1000, "records": 5}]
    contigs += [{"contig": f"decoy{i}", "length": 50, "records": 1} for i in range(20)]
    contigs += [{"contig": "chrX", "length": 250, "records": 3}]
    shards = vcf.plan_shards(contigs, 300, max_shards=8)
    assert len(shards) <= 8
    assert [s.index for s in shards] == list(range(len(shards)))
    flat = [r for s in shards for r in s.regions()]
    assert [c for c, _b, _e in flat] == ["chr1"] * 4 + [f"decoy{i}" for i in range(20)] + ["chrX"]
    assert all(not s.more for s in shards if s.contig == "chr1")  # split regions are never grouped
    assert vcf.Shard.from_dict(shards[-1].as_dict()) == shards[-1]
    assert "more" not in shards[0].as_dict()
    assert vcf.plan_shards(contigs, 300) == vcf.plan_shards(contigs, 300, max_shards=1000)


def test_scatter_gather_grouped_small_contigs_equals_single_pass(tmp_path):
    src = tmp_path / "many.vcf"
    contigs = [("chr1", 300_000), *[(f"decoy{i}", 20_000) for i in range(12)]]
    with open(src, "w") as fh:
        synth.write(fh, 3000, 2, contigs, seed=9)
    single = vcf.process_local(str(src), str(tmp_path / "single"))
    gathered = scatter_gather(src, tmp_path, region_bases=100_000, max_shards=6)
    assert body(gathered) == body(single["vcf"])
    assert header(gathered) == header(single["vcf"])
