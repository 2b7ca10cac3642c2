"""`genomics upload` on moto: multipart with a SHA-256 per part and of the file, progress, and resume after
an interruption (only the missing parts are sent again)."""

from __future__ import annotations

import hashlib
import io

import boto3
import pytest

from genomics import upload as up
from genomics.webapp.api import PART_SIZE_MIN


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def bucket(stack, tmp_path, monkeypatch) -> str:
    monkeypatch.setattr(up, "STATE_DIR", tmp_path / "state")
    return stack.names.bucket("raw")


def test_cli_upload_multipart_with_checksum_and_progress(bucket, tmp_path) -> None:
    path = tmp_path / "big.vcf"
    data = b"##fileformat=VCFv4.2\n" + bytes(range(256)) * ((PART_SIZE_MIN + 3 * 2**20) // 256)
    path.write_bytes(data)
    out = Terminal()
    result = up.upload(boto3.client("s3"), str(path), bucket, "p/s/big.vcf", {"assay": "wgs"}, out=out)
    assert result["parts"] == 2 and not result["resumed"]
    obj = boto3.client("s3").get_object(Bucket=bucket, Key="p/s/big.vcf")
    assert obj["Body"].read() == data
    assert obj["Metadata"] == {"assay": "wgs", "sha256": hashlib.sha256(data).hexdigest()}
    text = out.getvalue()
    assert "\rupload big.vcf [" in text and "100.0%" in text and "\rSHA-256 big.vcf [" in text, text
    assert list((tmp_path / "state").glob("*.json")) == []


def test_cli_upload_resumes_after_an_interruption(bucket, tmp_path, monkeypatch) -> None:
    path = tmp_path / "big.vcf"
    data = b"x" * (2 * PART_SIZE_MIN + 1000)
    path.write_bytes(data)
    s3 = boto3.client("s3")
    real = s3.upload_part
    sent: list[int] = []

    def dropped(**kwargs):
        if kwargs["PartNumber"] == 2 and not sent.count(-1):
            sent.append(-1)
            raise ConnectionError("connection dropped")
        sent.append(kwargs["PartNumber"])
        return real(**kwargs)

    monkeypatch.setattr(s3, "upload_part", dropped)
    with pytest.raises(ConnectionError):
        up.upload(s3, str(path), bucket, "p/s/big.vcf", {}, out=io.StringIO())
    assert sent == [1, -1]
    result = up.upload(s3, str(path), bucket, "p/s/big.vcf", {}, out=io.StringIO())
    assert result["resumed"] and result["parts"] == 3
    assert sent == [1, -1, 2, 3], "part 1 was sent again"
    assert boto3.client("s3").get_object(Bucket=bucket, Key="p/s/big.vcf")["Body"].read() == data


def test_cli_upload_of_a_changed_file_starts_afresh(bucket, tmp_path, monkeypatch) -> None:
    path = tmp_path / "a.vcf"
    path.write_bytes(b"a" * (PART_SIZE_MIN + 10))
    s3 = boto3.client("s3")
    monkeypatch.setattr(s3, "complete_multipart_upload", lambda **kw: (_ for _ in ()).throw(ConnectionError("x")))
    with pytest.raises(ConnectionError):
        up.upload(s3, str(path), bucket, "p/s/a.vcf", {}, out=io.StringIO())
    monkeypatch.undo()
    monkeypatch.setattr(up, "STATE_DIR", tmp_path / "state")
    path.write_bytes(b"b" * (PART_SIZE_MIN + 12))
    result = up.upload(boto3.client("s3"), str(path), bucket, "p/s/a.vcf", {}, out=io.StringIO())
    assert not result["resumed"]
    assert boto3.client("s3").get_object(Bucket=bucket, Key="p/s/a.vcf")["Body"].read() == b"b" * (PART_SIZE_MIN + 12)


def test_cli_upload_small_file_is_one_put_with_its_checksum(bucket, tmp_path) -> None:
    path = tmp_path / "small.vcf"
    path.write_bytes(b"##fileformat=VCFv4.2\n")
    result = up.upload(boto3.client("s3"), str(path), bucket, "p/s/small.vcf", {"assay": "wes"}, out=io.StringIO())
    obj = boto3.client("s3").head_object(Bucket=bucket, Key="p/s/small.vcf", ChecksumMode="ENABLED")
    assert result["parts"] == 1 and obj["Metadata"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
