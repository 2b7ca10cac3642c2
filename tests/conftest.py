"""Shared fixtures: the external corpus, AWS credentials for moto, a local cloud on loopback."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from genomics import corpus

ROOT = Path(__file__).resolve().parents[1]
CORPUS = corpus.CORPUS.resolve()


def corpus_manifest() -> list[dict[str, str]]:
    with open(CORPUS / "MANIFEST.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "MANIFEST.tsv").exists():
        pytest.fail(f"the shared corpus is missing at {CORPUS}; it must sit beside the repository")
    return CORPUS


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dummy credentials and region so moto's in-process mock never reaches anything real."""
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield


@pytest.fixture(scope="session", autouse=True)
def _no_real_aws() -> None:
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session", autouse=True)
def _no_local_profile(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The CLI uses a running `genomics local serve` it finds through ~/.genomics/local.json; a developer's
    (or another test run's) server must not answer the tests' CLI calls. Tests that start a server give it
    a profile path of its own (tests/browser/conftest.py, tests/e2e/test_local_serve.py), so a server that
    outlives one test never answers another's."""
    os.environ["GENOMICS_LOCAL_PROFILE"] = str(tmp_path_factory.mktemp("local-profile") / "local.json")
