"""BCL run-folder validation on small run folders built in tmp_path (directory and tar stream)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from genomics.sources import LocalFile
from genomics.validation import validate, validate_path
from genomics.validation.bcl import parse_run_info, parse_sample_sheet
from tests.unit.helpers import codes

RUN_INFO = """<?xml version="1.0"?>
<RunInfo Version="5">
  <Run Id="240101_M00001_0001_000000000-ABCDE" Number="1">
    <Flowcell>000000000-ABCDE</Flowcell>
    <Instrument>M00001</Instrument>
    <Date>240101</Date>
    <Reads>
      <Read Number="1" NumCycles="151" IsIndexedRead="N" />
      <Read Number="2" NumCycles="8" IsIndexedRead="Y" />
      <Read Number="3" NumCycles="8" IsIndexedRead="Y" />
      <Read Number="4" NumCycles="151" IsIndexedRead="N" />
    </Reads>
    <FlowcellLayout LaneCount="{lanes}" SurfaceCount="2" SwathCount="1" TileCount="19" />
  </Run>
</RunInfo>
"""

RUN_PARAMETERS = """<?xml version="1.0"?>
<RunParameters><RunID>240101_M00001_0001_000000000-ABCDE</RunID></RunParameters>
"""

SAMPLE_SHEET = """[Header]
IEMFileVersion,5
Experiment Name,test
Date,2024-01-01
Workflow,GenerateFASTQ

[Reads]
151
151

[Data]
Lane,Sample_ID,Sample_Name,index,index2
1,S1,S1,ACGTACGT,TTGGCCAA
1,S2,S2,CGTACGTA,GGCCAATT
2,S3,S3,ACGTACGT,TTGGCCAA
"""


def make_run(
    root: Path,
    *,
    lanes: int = 2,
    lane_dirs: tuple[int, ...] = (1, 2),
    sample_sheet: str | None = SAMPLE_SHEET,
    run_info: str | None = None,
    run_parameters: str | None = RUN_PARAMETERS,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "RunInfo.xml").write_text(run_info if run_info is not None else RUN_INFO.format(lanes=lanes))
    if run_parameters is not None:
        (root / "RunParameters.xml").write_text(run_parameters)
    if sample_sheet is not None:
        (root / "SampleSheet.csv").write_text(sample_sheet)
    basecalls = root / "Data" / "Intensities" / "BaseCalls"
    basecalls.mkdir(parents=True)
    for lane in lane_dirs:
        d = basecalls / f"L{lane:03d}" / "C1.1"
        d.mkdir(parents=True)
        (d / "s_1_1101.bcl.gz").write_bytes(b"\x1f\x8b fake bcl")
    return root


def make_tar(run: Path, out: Path, mode: str = "w:gz") -> Path:
    with tarfile.open(out, mode) as tar:
        tar.add(run, arcname=run.name)
    return out


def test_bcl_valid_directory(tmp_path):
    run = make_run(tmp_path / "run1")
    report = validate_path(str(run))
    assert report.valid, report.summary()
    assert report.format == "bcl"
    assert report.stats["lanes"] == 2
    assert report.stats["flowcell"] == "000000000-ABCDE"
    assert [r["cycles"] for r in report.stats["reads"]] == [151, 8, 8, 151]
    assert report.stats["samples"] == 3


def test_bcl_valid_tar_gz_stream(tmp_path):
    run = make_run(tmp_path / "run1")
    tar = make_tar(run, tmp_path / "run1.tar.gz")
    report = validate(LocalFile(str(tar)))
    assert report.format == "bcl"
    assert report.valid, report.summary()
    assert report.stats["lanes"] == 2


def test_bcl_valid_plain_tar_without_directory_members(tmp_path):
    run = make_run(tmp_path / "run1")
    out = tmp_path / "run1.tar"
    with tarfile.open(out, "w") as tar:  # files only, no directory entries
        for p in sorted(run.rglob("*")):
            if p.is_file():
                tar.add(p, arcname=str(p.relative_to(run)), recursive=False)
    report = validate(LocalFile(str(out)))
    assert report.valid, report.summary()


def test_bcl_missing_lane_folder(tmp_path):
    run = make_run(tmp_path / "run1", lanes=4, lane_dirs=(1, 2, 3))
    report = validate_path(str(run))
    assert "BCL_LANE_MISSING" in codes(report)
    assert "L004" in report.summary()


def test_bcl_unexpected_lane_folder(tmp_path):
    run = make_run(tmp_path / "run1", lanes=1, lane_dirs=(1, 2))
    report = validate_path(str(run))
    assert "BCL_LANE_UNEXPECTED" in codes(report)
    assert "BCL_SAMPLESHEET_LANE" in codes(report)  # the sheet's lane 2 does not exist either


def test_bcl_missing_run_info(tmp_path):
    run = make_run(tmp_path / "run1")
    (run / "RunInfo.xml").unlink()
    assert "BCL_RUNINFO_MISSING" in codes(validate_path(str(run)))


def test_bcl_malformed_run_info(tmp_path):
    run = make_run(tmp_path / "run1", run_info="<RunInfo><Run Id='x'><Reads>")
    assert "BCL_RUNINFO_INVALID" in codes(validate_path(str(run)))


def test_bcl_run_info_without_lane_count(tmp_path):
    text = RUN_INFO.format(lanes=2).replace('LaneCount="2" ', "")
    run = make_run(tmp_path / "run1", run_info=text)
    report = validate_path(str(run))
    assert "BCL_RUNINFO_INVALID" in codes(report)
    assert "LaneCount" in report.summary()


def test_bcl_missing_run_parameters(tmp_path):
    run = make_run(tmp_path / "run1", run_parameters=None)
    assert codes(validate_path(str(run))) == {"BCL_RUNPARAMETERS_MISSING"}


def test_bcl_old_style_run_parameters_name_accepted(tmp_path):
    run = make_run(tmp_path / "run1", run_parameters=None)
    (run / "runParameters.xml").write_text(RUN_PARAMETERS)
    assert validate_path(str(run)).valid


def test_bcl_malformed_run_parameters(tmp_path):
    run = make_run(tmp_path / "run1", run_parameters="<RunParameters>")
    assert "BCL_RUNPARAMETERS_INVALID" in codes(validate_path(str(run)))


def test_bcl_missing_sample_sheet(tmp_path):
    run = make_run(tmp_path / "run1", sample_sheet=None)
    assert "BCL_SAMPLESHEET_MISSING" in codes(validate_path(str(run)))


def test_bcl_sample_sheet_without_data_section(tmp_path):
    sheet = SAMPLE_SHEET.split("[Data]")[0]
    run = make_run(tmp_path / "run1", sample_sheet=sheet)
    assert "BCL_SAMPLESHEET_SECTION" in codes(validate_path(str(run)))


def test_bcl_sample_sheet_without_header_section(tmp_path):
    sheet = SAMPLE_SHEET.replace("[Header]", "[Settings]")
    run = make_run(tmp_path / "run1", sample_sheet=sheet)
    assert "BCL_SAMPLESHEET_SECTION" in codes(validate_path(str(run)))


def test_bcl_duplicate_sample_id(tmp_path):
    sheet = SAMPLE_SHEET.replace("1,S2,S2,", "1,S1,S2,")
    report = validate_path(str(make_run(tmp_path / "run1", sample_sheet=sheet)))
    assert "BCL_SAMPLE_ID" in codes(report)
    assert "S1" in report.summary()


def test_bcl_missing_sample_id_column(tmp_path):
    sheet = SAMPLE_SHEET.replace("Sample_ID", "SampleIdentifier")
    assert "BCL_SAMPLESHEET_COLUMNS" in codes(validate_path(str(make_run(tmp_path / "r", sample_sheet=sheet))))


def test_bcl_bad_index_characters(tmp_path):
    sheet = SAMPLE_SHEET.replace("CGTACGTA", "CGTAXGTA")
    assert "BCL_INDEX_INVALID" in codes(validate_path(str(make_run(tmp_path / "r", sample_sheet=sheet))))


def test_bcl_index_longer_than_index_read(tmp_path):
    sheet = SAMPLE_SHEET.replace("ACGTACGT,TTGGCCAA\n1", "ACGTACGTAC,TTGGCCAA\n1")
    report = validate_path(str(make_run(tmp_path / "r", sample_sheet=sheet)))
    assert "BCL_INDEX_LENGTH" in codes(report)


def test_bcl_duplicate_index_in_lane(tmp_path):
    sheet = SAMPLE_SHEET.replace("1,S2,S2,CGTACGTA,GGCCAATT", "1,S2,S2,ACGTACGT,TTGGCCAA")
    report = validate_path(str(make_run(tmp_path / "r", sample_sheet=sheet)))
    assert "BCL_INDEX_DUPLICATE" in codes(report)


def test_bcl_same_index_in_different_lanes_is_fine(tmp_path):
    # S1 (lane 1) and S3 (lane 2) share ACGTACGT+TTGGCCAA in the fixture.
    assert validate_path(str(make_run(tmp_path / "r"))).valid


def test_bcl_no_basecalls(tmp_path):
    run = make_run(tmp_path / "r", lane_dirs=())
    (run / "Data" / "Intensities" / "BaseCalls").rmdir()
    assert "BCL_BASECALLS_MISSING" in codes(validate_path(str(run)))


def test_bcl_truncated_tar(tmp_path):
    run = make_run(tmp_path / "run1")
    tar = make_tar(run, tmp_path / "run1.tar", mode="w")
    data = tar.read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[:1500])
    report = validate(LocalFile(str(cut)))
    assert report.format == "bcl"
    assert not report.valid
    assert codes(report) & {"BCL_TAR_INVALID", "BCL_RUNINFO_MISSING", "BCL_RUNPARAMETERS_MISSING"}


def test_bcl_tar_of_something_else(tmp_path):
    out = tmp_path / "other.tar"
    with tarfile.open(out, "w") as tar:
        info = tarfile.TarInfo("notes.txt")
        payload = b"hello\n"
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    assert "BCL_RUNINFO_MISSING" in codes(validate(LocalFile(str(out))))


def test_bcl_parse_run_info_reads_and_lanes():
    info = parse_run_info(RUN_INFO.format(lanes=8).encode())
    assert info.lane_count == 8
    assert [(r.number, r.cycles, r.indexed) for r in info.reads] == [
        (1, 151, False),
        (2, 8, True),
        (3, 8, True),
        (4, 151, False),
    ]


def test_bcl_parse_sample_sheet_sections():
    sections = parse_sample_sheet(SAMPLE_SHEET)
    assert set(sections) == {"Header", "Reads", "Data"}
    assert sections["Data"][0] == ["Lane", "Sample_ID", "Sample_Name", "index", "index2"]
    assert len(sections["Data"]) == 4


@pytest.mark.parametrize("lanes", [1, 8])
def test_bcl_lane_count_matches_folders(tmp_path, lanes):
    sheet = SAMPLE_SHEET.replace("2,S3", "1,S3").replace("1,S3,S3,ACGTACGT", "1,S3,S3,GGGGAAAA")
    run = make_run(tmp_path / "r", lanes=lanes, lane_dirs=tuple(range(1, lanes + 1)), sample_sheet=sheet)
    report = validate_path(str(run))
    assert report.valid, report.summary()
    assert report.stats["lanes"] == lanes


def test_bcl_run_id_mismatch(tmp_path):
    params = RUN_PARAMETERS.replace("240101_M00001_0001_000000000-ABCDE", "231231_M00001_0099_000000000-ZZZZZ")
    report = validate_path(str(make_run(tmp_path / "r", run_parameters=params)))
    assert codes(report) == {"BCL_RUN_ID_MISMATCH"}


def test_bcl_sample_sheet_reads_differ_is_a_warning(tmp_path):
    sheet = SAMPLE_SHEET.replace("[Reads]\n151\n151", "[Reads]\n101\n101")
    report = validate_path(str(make_run(tmp_path / "r", sample_sheet=sheet)))
    assert report.valid, report.summary()
    assert {w.code for w in report.warnings} == {"BCL_SAMPLESHEET_READS"}


def test_bcl_valid_run_has_no_warnings(tmp_path):
    assert validate_path(str(make_run(tmp_path / "r"))).warnings == []


def test_bcl_absurd_lane_value_is_an_error_not_a_crash(tmp_path):
    sheet = SAMPLE_SHEET.replace("2,S3,S3", "9" * 5000 + ",S3,S3")
    assert "BCL_SAMPLESHEET_LANE" in codes(validate_path(str(make_run(tmp_path / "r", sample_sheet=sheet))))


def _upload_tree(s3, bucket: str, prefix: str, root: Path) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        s3.put_object(Bucket=bucket, Key=prefix + path.relative_to(root).as_posix(), Body=path.read_bytes())


def test_bcl_s3_prefix_valid_and_listing_digest(tmp_path, aws_env):
    import boto3
    from moto import mock_aws

    from genomics.validation.bcl import validate_run_prefix
    from genomics.validation.report import ValidationReport

    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="raw")
        _upload_tree(s3, "raw", "proj/run1/", make_run(tmp_path / "run1"))
        report = ValidationReport(path="proj/run1/", format="bcl")
        digest = validate_run_prefix(s3, "raw", "proj/run1/", report)
        assert report.valid, report.summary()
        assert report.stats["lanes"] == 2 and report.stats["samples"] == 3
        # A lane folder RunInfo.xml promises is missing: the same checks as for a directory.
        _upload_tree(s3, "raw", "proj/run2/", make_run(tmp_path / "run2", lane_dirs=(1,)))
        broken = ValidationReport(path="proj/run2/", format="bcl")
        other = validate_run_prefix(s3, "raw", "proj/run2/", broken)
        assert not broken.valid and codes(broken) == codes(validate_path(str(tmp_path / "run2")))
        assert digest != other and len(digest) == 64
