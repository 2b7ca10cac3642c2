"""Sample identity in local mode on moto server: the local panel (built from the 1000 Genomes chr21 VCF
and uploaded where the stack's settings name it), then a sample's real genotypes uploaded under its id and
again under another id: the second job's QC flags the duplicate, and the status API shows it."""

from __future__ import annotations

import pytest

from genomics.deployment import Names, Settings
from genomics.identity import local as identity_panel
from genomics.local.demo import Upload, api_call, run_uploads
from tests.localcloud import ACCOUNT_ID, REGION, deployed
from tests.unit import identity_data as data

pytestmark = pytest.mark.skipif(not identity_panel.SOURCE_VCF.exists(), reason="needs bio-eagle-examples")


def test_e2e_identity_duplicate_flagged_in_local_mode(tmp_path):
    import boto3

    names = Names(stack="e2eid", account_id=ACCOUNT_ID, region=REGION)
    settings = identity_panel.with_panel(Settings(stack="e2eid"), names)
    assert settings.identity_panel_uri.startswith(f"s3://{names.bucket('processed')}/references/")
    a = data.sample_vcf(tmp_path, data.EUR, "1_HG00096", "A")
    c = data.sample_vcf(tmp_path, data.EUR, "1_HG00096", "C")
    with deployed("e2eid", settings) as (_cloud, stack):
        identity_panel.install_panel(boto3.client("s3"), settings)
        first = run_uploads(stack, [Upload(a, "A")], timeout_s=300)[0]
        second = run_uploads(stack, [Upload(c, "C")], timeout_s=300)[0]
        assert first["status"] in ("COMPLETED", "QC_FAILED"), first
        code, sample = api_call(names, "GET /samples/{sample_id}", {"sample_id": "C"})
    assert code == 200
    rows = [j for j in sample["jobs"] if j.get("identity_findings")]
    assert rows, sample["jobs"]
    finding = rows[0]["identity_findings"][0]
    assert finding["code"] == "IDENTITY_MATCHES_OTHER_SAMPLE" and finding["samples"] == ["C", "A"]
    assert second["qc"]["verdict"] in ("warn", "fail")
