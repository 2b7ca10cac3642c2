"""The S3/DynamoDB-facing identity step of QC: fetch the stack's panel, fingerprint the upload, compare it
with the project's stored fingerprints, store its own, and return the findings.

Fingerprints live in the QC table as one item per result: ``metric_key = "<result_id[:16]>#_fingerprint"``
with ``codes`` (zlib + base64 of one character per panel site), ``kind`` (vcf/alignment), ``panel``
(the panel's digest: fingerprints of another panel are never compared), the inferred sex, and
``gsi_fingerprint = <project>`` (sparse index ``by-project-fingerprint``: the project's fingerprints
are one Query, never a scan).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from genomics import errors
from genomics.identity import fingerprint as fp

FINGERPRINT_METRIC = "_fingerprint"
INDEX = "by-project-fingerprint"


def fetch_panel(s3: Any, uri: str, assembly: str, folder: Path,
                aws: Callable[[Callable[[], Any], str], Any]) -> fp.Panel:
    """Download the panel (and its .tbi/.csi when present) into ``folder`` and load it."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise fp.IdentityError("IDENTITY_PANEL_INVALID", f"IDENTITY_PANEL_URI={uri!r} is not s3://bucket/key.vcf.gz")
    bucket, key = uri[5:].split("/", 1)
    local = folder / Path(key).name
    aws(lambda: s3.download_file(bucket, key, str(local)), f"S3 GetObject s3://{bucket}/{key}")
    from botocore.exceptions import ClientError

    for ext in (".tbi", ".csi"):
        try:
            with errors.aws_call(f"S3 GetObject s3://{bucket}/{key}{ext}"):  # a throttle is not a missing index
                s3.download_file(bucket, key + ext, str(local) + ext)
            break
        except ClientError:
            continue
    return fp.load_panel(str(local), assembly)


def stored_fingerprints(dynamodb: Any, table: str, project: str, panel: fp.Panel,
                        aws: Callable[[Callable[[], Any], str], Any]) -> list[fp.Stored]:
    """The project's fingerprints made with this panel (Query on the sparse by-project-fingerprint index)."""
    out: list[fp.Stored] = []
    kwargs: dict[str, Any] = {
        "TableName": table, "IndexName": INDEX,
        "KeyConditionExpression": "gsi_fingerprint = :p",
        "ExpressionAttributeValues": {":p": {"S": project}},
    }
    while True:
        resp = aws(lambda k=dict(kwargs): dynamodb.query(**k), f"DynamoDB Query {table}/{INDEX}")
        for item in resp.get("Items", []):
            if item.get("panel", {}).get("S") != panel.digest:
                continue
            out.append(fp.Stored(item["sample_id"]["S"], item.get("result_id", {}).get("S", ""),
                                 item.get("kind", {}).get("S", ""), fp.decode(item["codes"]["S"])))
        if not resp.get("LastEvaluatedKey"):
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def fingerprint_item(*, project: str, sample_id: str, job_id: str, sha256: str, result_id: str, kind: str,
                     codes: str, panel: fp.Panel, summary: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "sample_id": sample_id, "metric_key": f"{result_id[:16]}#{FINGERPRINT_METRIC}",
        "metric": FINGERPRINT_METRIC, "project": project, "job_id": job_id, "sha256": sha256,
        "result_id": result_id, "kind": kind, "codes": fp.encode(codes), "panel": panel.digest,
        "gsi_fingerprint": project,
    }
    if summary.get("sex"):
        item["sex"] = summary["sex"]
    return item


def check(*, panel: fp.Panel, project: str, sample_id: str, job_id: str, sha256: str, result_id: str,
          kind: str, codes: str, declared_sex: str | None, dynamodb: Any, table: str,
          aws: Callable[[Callable[[], Any], str], Any], y_x_density: float | None = None
          ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compare with the project's fingerprints; ``(identity result, the fingerprint item to store)``."""
    others = stored_fingerprints(dynamodb, table, project, panel, aws)
    found, summary = fp.findings(panel, sample_id=sample_id, result_id=result_id, kind=kind, codes=codes,
                                 others=others, declared_sex=declared_sex, y_x_density=y_x_density)
    item = fingerprint_item(project=project, sample_id=sample_id, job_id=job_id, sha256=sha256,
                            result_id=result_id, kind=kind, codes=codes, panel=panel, summary=summary)
    return {"findings": found, **summary}, item


def apply_to_gate(verdict: dict[str, Any], identity: Mapping[str, Any]) -> dict[str, Any]:
    """Identity findings make a passing verdict warn (a human must look at a possible swap), with the
    finding's message as a reason; a failing verdict stays fail."""
    found = list(identity.get("findings") or [])
    if not found:
        return verdict
    out = dict(verdict)
    out["reasons"] = [*(f"{f['code']}: {f['message']}" for f in found), *verdict.get("reasons", [])]
    if verdict["verdict"] == "pass":
        out["verdict"] = "warn"
        out["deciding_metric"] = "identity"
    return out
