"""Where the external test corpus lives (``MANIFEST.tsv`` with the expected verdicts, ``qc_oracles/``):
``../shared/corpus`` beside the repository, as CI lays it out, or ``$GENOMICS_CORPUS``. Defined once, here:
the local mode's load run, the tests and the fuzzer read it from this module."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("GENOMICS_CORPUS") or REPO_ROOT.parent / "shared" / "corpus")
