"""The local mode's identity panel: built from the 1000 Genomes chr21 VCF that the demo already uses
(Debian bio-eagle-examples), uploaded where a stack keeps its panel (the processed bucket's
``references/identity/``), and named in the stack's settings."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from genomics.deployment import REFERENCES_PREFIX, Names, Settings
from genomics.identity.fingerprint import build_panel

SOURCE_VCF = Path("/usr/share/doc/bio-eagle/examples/EUR_test.vcf.gz")
PANEL_KEY = f"{REFERENCES_PREFIX}/identity/panel-1kg-chr21.vcf.gz"
ASSEMBLY = "GRCh37"  # 1000 Genomes phase 1 coordinates


def with_panel(settings: Settings, names: Names) -> Settings:
    """``settings`` naming the local panel (unchanged when the source VCF is not installed)."""
    if not SOURCE_VCF.exists():
        return settings
    return dataclasses.replace(settings, identity_panel_uri=f"s3://{names.bucket('processed')}/{PANEL_KEY}",
                               identity_panel_assembly=ASSEMBLY)


def install_panel(s3: Any, settings: Settings) -> str | None:
    """Build the panel (common biallelic SNPs of the source VCF) and upload it with its index to the
    location ``settings`` names; the URI, or None when the settings name no panel."""
    uri = settings.identity_panel_uri
    if not uri:
        return None
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    with tempfile.TemporaryDirectory(prefix="panel-") as tmp:
        panel = build_panel(str(SOURCE_VCF), str(Path(tmp) / "panel.vcf.gz"))
        s3.upload_file(panel, bucket, key)
        s3.upload_file(panel + ".tbi", bucket, key + ".tbi")
    return uri
