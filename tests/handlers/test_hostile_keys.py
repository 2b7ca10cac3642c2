"""Keys never reach the filesystem or argv: vcf-processor runs real bcftools on uploads whose keys are
1,024 bytes long, unicode, spaced, percent/plus-laden, multi-line or option-looking (moto in-process)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from typing import Any, ClassVar

import boto3
import pytest

from genomics.corpus import CORPUS
from genomics.scratch import published_name, scratch_name
from handlers import vcf_processor

SMALL_VCF = CORPUS / "qc_oracles/bcftools_stats/stats.counts.vcf"
PREFIX = "proj/S1/"


def _long_name() -> str:
    stem = "x" * (1024 - len(PREFIX.encode()) - len(".vcf"))
    return stem + ".vcf"  # the whole key is exactly S3's limit of 1,024 bytes


HOSTILE = {
    "1024-bytes": _long_name(),
    "unicode": "échantillon_αβγ_样本.vcf",
    "spaces": "my sample file (final).vcf",
    "percent-plus": "100%+done+%2F%00.vcf",
    "newline": "line1\nline2\r.vcf",
    "dash-o": "-o",
    "dash-help": "--help",
    "dash-o-vcf": "-o out.vcf",
}


class _Recording(subprocess.Popen):  # type: ignore[type-arg]
    calls: ClassVar[list[list[str]]] = []

    def __init__(self, args: Any, *a: Any, **kw: Any) -> None:
        _Recording.calls.append([str(x) for x in args])
        super().__init__(args, *a, **kw)


def _normalise(calls: list[list[str]]) -> list[list[str]]:
    """Scratch directories differ per invocation: replace them by a placeholder."""
    return [[re.sub(r"/tmp/[A-Za-z0-9_-]+", "$SCRATCH", a) for a in argv] for argv in calls
            if "--version" not in argv]  # tool versions are looked up once per process


def _process(stack, monkeypatch, key: str) -> tuple[dict[str, Any], list[list[str]]]:
    data = SMALL_VCF.read_bytes()
    raw = stack.names.bucket("raw")
    version = boto3.client("s3").put_object(Bucket=raw, Key=key, Body=data)["VersionId"]
    event = {
        "action": "process", "job_id": "job-1", "project": "proj", "sample_id": "S1", "assay": "wgs",
        "input": {"bucket": raw, "key": key, "version_id": version, "sha256": hashlib.sha256(data).hexdigest(),
                  "size": len(data), "format": "vcf"},
    }
    _Recording.calls = []
    with monkeypatch.context() as m:
        m.setattr(subprocess, "Popen", _Recording)
        out = vcf_processor.handler(event, stack.context("vcf-processor"))
    return out, _normalise(_Recording.calls)


@pytest.mark.parametrize("label", sorted(HOSTILE))
def test_vcf_processor_hostile_key_never_reaches_filesystem_or_argv(stack, monkeypatch, label):
    for k, v in stack.env("vcf-processor").items():
        monkeypatch.setenv(k, v)
    name = HOSTILE[label]
    key = PREFIX + name
    assert len(key.encode()) <= 1024
    plain, plain_argv = _process(stack, monkeypatch, PREFIX + "plain.vcf")
    out, argv = _process(stack, monkeypatch, key)
    assert out["records_out"] == plain["records_out"] > 0
    # Every tool ran with exactly the argv of an ordinary upload of the same job: nothing of the key.
    assert argv and argv == plain_argv, label
    # Published keys are valid S3 keys (<= 1,024 bytes, one line), distinct from the plain upload's.
    for k in ("vcf_key", "index_key", "sidecar_key"):
        assert len(out[k].encode()) <= 1024 and "\n" not in out[k], out[k]
    assert out["vcf_key"] != plain["vcf_key"]
    assert out["vcf_key"].rsplit("/", 1)[1].startswith(published_name(key).split(".")[0])


def test_scratch_and_published_names_are_safe_bounded_and_distinct():
    names = {published_name(PREFIX + n) for n in HOSTILE.values()}
    assert len(names) == len(HOSTILE)
    for n in names:
        assert len(n.encode()) <= 120 and not n.startswith(("-", ".")) and "\n" not in n and " " not in n
    assert published_name("p/s/EUR_test.vcf.gz") == "EUR_test.vcf.gz"  # ordinary names are kept
    assert scratch_name("--help", ".vcf.gz").startswith("job-") and len(scratch_name("x" * 5000)) == 20
    with pytest.raises(ValueError):
        scratch_name("j", "/../x")
