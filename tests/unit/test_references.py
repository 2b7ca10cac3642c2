"""Reference FASTA resolution from REFERENCE_URI, against moto S3."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from genomics import references
from genomics.errors import UserInputError


def test_references_location_single_fasta_or_per_assembly():
    assert references.location("", "GRCh38") is None
    assert references.location("s3://b/refs/GRCh38.fa", None) == ("b", "refs/GRCh38.fa")
    assert references.location("s3://b/refs", "GRCh38") == ("b", "refs/GRCh38.fa")
    assert references.location("s3://b/refs/", None) is None
    with pytest.raises(UserInputError) as e:
        references.location("/local/refs", "GRCh38")
    assert e.value.code == "REF_URI_INVALID"


def test_references_fetch_downloads_fasta_and_index(aws_env, tmp_path, corpus):
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="refs")
        fasta = (corpus / "cram" / "ce.fa").read_bytes()
        s3.put_object(Bucket="refs", Key="genomes/ce.fa", Body=fasta)
        s3.put_object(Bucket="refs", Key="genomes/ce.fa.fai", Body=(corpus / "cram" / "ce.fa.fai").read_bytes())
        local = references.fetch(s3, "s3://refs/genomes", "ce", tmp_path / "cache")
        assert local is not None and Path(local).read_bytes() == fasta
        assert (tmp_path / "cache" / "ce.fa.fai").exists()
        with pytest.raises(UserInputError) as e:
            references.fetch(s3, "s3://refs/genomes", "GRCh38", tmp_path / "cache")
        assert e.value.code == "REF_NOT_FOUND" and "genomes/GRCh38.fa" in str(e.value)
