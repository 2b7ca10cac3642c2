"""Run, once and offline, what a cold start of the handler image runs, so the image build can keep
bytecode for exactly those modules.

The image installs its Python dependencies without bytecode (``pip install --no-compile``) and drops
the standard library's: compiled for every module, MultiQC's dependency tree (plotly's thousands of
generated classes above all) would add about 70 MB to the image, and on Lambda's read-only file system
a module without bytecode is compiled again on every cold start. ``python -m genomics.warmup`` (a build
step of images/Dockerfile, with bytecode writing on) imports every handler, calls each with an
empty event, and runs the local cores on small synthetic inputs: validation, processing (bcftools
norm/sort, bgzip, tabix), QC of a VCF, a BAM and a FASTQ with the real tools, and a MultiQC report of
the three. Python writes bytecode for every module that is imported.

``--check`` then lists the modules of the project, its dependencies and the standard library that were
loaded from source without bytecode beside them, and exits 1 if there is any (the image build runs it;
tests/images runs it again inside the built image). No AWS is called: on an empty event the handlers
stop before they build a client.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import importlib.util
import os
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from genomics import deployment, synth, tools
from genomics.lambda_context import LocalContext

# Reads of the synthetic BAM/FASTQ: length and count (small: this is about imports, not volume).
READ_LENGTH = 50
READ_PAIRS = 200


class WarmupError(RuntimeError):
    """The validator rejected a warm-up input (the synthetic data or the validator went wrong)."""


def write_sam(path: Path, contig: str, contig_length: int, pairs: int = READ_PAIRS) -> None:
    """A small coordinate-sorted paired-end SAM: proper pairs, forward/reverse mates, all mapped."""
    lines = ["@HD\tVN:1.6\tSO:coordinate", f"@SQ\tSN:{contig}\tLN:{contig_length}",
             "@RG\tID:warm\tSM:warm", "@PG\tID:genomics.warmup\tPN:genomics.warmup"]
    bases = "ACGT"
    records = []
    for i in range(pairs):
        start = 1 + i * 7
        mate = start + 150
        seq = "".join(bases[(i + j) % 4] for j in range(READ_LENGTH))
        qual = "".join(chr(33 + 20 + (j % 20)) for j in range(READ_LENGTH))
        records.append((start, f"r{i}\t99\t{contig}\t{start}\t60\t{READ_LENGTH}M\t=\t{mate}\t200\t{seq}\t{qual}"
                               "\tRG:Z:warm"))
        records.append((mate, f"r{i}\t147\t{contig}\t{mate}\t60\t{READ_LENGTH}M\t=\t{start}\t-200\t{seq}\t{qual}"
                              "\tRG:Z:warm"))
    records.sort(key=lambda r: r[0])
    path.write_text("\n".join(lines + [r for _, r in records]) + "\n")


def write_fastq(path: Path, reads: int = READ_PAIRS) -> None:
    """A gzipped FASTQ with a quality that falls along the read, as real runs do."""
    with gzip.open(path, "wt") as out:
        for i in range(reads):
            seq = "".join("ACGT"[(i * 3 + j) % 4] for j in range(READ_LENGTH))
            qual = "".join(chr(33 + max(2, 38 - j // 3)) for j in range(READ_LENGTH))
            out.write(f"@warm{i}\n{seq}\n+\n{qual}\n")


def handler_modules() -> list[ModuleType]:
    """Import the image's handlers (as the functions' image commands name them)."""
    return [importlib.import_module(spec.handler.rsplit(".", 1)[0]) for spec in deployment.FUNCTIONS.values()]


def exercise(scratch: Path) -> dict[str, Any]:
    """Run the handlers on an empty event and the local cores on synthetic inputs in ``scratch``;
    return what each step produced (verdicts, formats, the report path)."""
    from genomics.processing.vcf import process_local
    from genomics.qc import gate, report
    from genomics.qc.metrics import compute
    from genomics.sources import LocalFile
    from genomics.validation import validate_path

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # never wait for an instance endpoint
    context = LocalContext(function_name="warmup", invoked_function_arn="arn:aws:lambda:::function:warmup",
                           memory_limit_in_mb=128, timeout_s=60, aws_request_id="warmup",
                           log_group_name="/aws/lambda/warmup")
    outcomes = {}
    for module in handler_modules():
        try:
            module.handler({}, context)
        except Exception as e:  # an empty event (or no table names) ends in an error
            outcomes[module.__name__] = type(e).__name__
        else:
            outcomes[module.__name__] = "returned"

    contigs = synth.default_contigs(2, length=100_000)
    vcf = scratch / "warm.vcf"
    with vcf.open("w") as out:
        synth.write(out, 300, 2, contigs, seed=7)
    sam, bam, fastq = scratch / "warm.sam", scratch / "warm.bam", scratch / "warm.fastq.gz"
    write_sam(sam, contigs[0][0], contigs[0][1])
    tools.run(["samtools", "view", "-b", "-o", str(bam), str(sam)])
    tools.run(["samtools", "index", str(bam)])
    write_fastq(fastq)

    samples: dict[str, dict[str, Any]] = {}
    for name, path in (("vcf", vcf), ("bam", bam), ("fastq", fastq)):
        rep = validate_path(str(path))
        if not rep.valid:
            raise WarmupError(f"synthetic {name} rejected: {[i.code for i in rep.errors]}")
        _fmt, metrics, raw = compute(LocalFile(str(path)))
        samples[name] = {"raw": raw, "metrics": metrics, "gate": gate.evaluate(metrics, "wgs"), "assay": "wgs"}
    processed = process_local(str(vcf), str(scratch / "processed"))  # the VCF was validated above
    # An image built without the "report" extra (EXTRAS="") has no MultiQC: nothing to warm there.
    html = (report.render(samples, scratch / "report", title="warm-up")
            if importlib.util.find_spec("multiqc") is not None else None)
    return {"handlers": outcomes, "processed": sorted(processed), "report": str(html) if html else None,
            "verdicts": {k: v["gate"]["verdict"] for k, v in samples.items()}}


def _roots() -> list[str]:
    """Where the loaded modules live: the project, the dependencies and the standard library (the image
    drops the stdlib bytecode Debian's postinst writes and keeps what the warm-up writes)."""
    roots = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), sysconfig.get_path("stdlib"),
             str(Path(__file__).resolve().parent.parent)}
    return sorted(r.rstrip("/") + "/" for r in roots)


def uncompiled(modules: dict[str, ModuleType] | None = None, roots: list[str] | None = None) -> list[str]:
    """Loaded modules under ``roots`` (default: the project, site-packages, the standard library)
    whose source has no bytecode beside it. Frozen modules (part of the interpreter) need none."""
    roots = _roots() if roots is None else roots
    missing = []
    for name, module in sorted((modules if modules is not None else dict(sys.modules)).items()):
        path = getattr(module, "__file__", None)
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.origin == "frozen":
            continue
        if not path or not path.endswith(".py") or not any(os.path.abspath(path).startswith(r) for r in roots):
            continue
        if not os.path.exists(importlib.util.cache_from_source(path)):
            missing.append(name)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genomics.warmup", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a loaded module of the project or its dependencies has no bytecode")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="warmup-") as td:
        result = exercise(Path(td))
    print(f"warmup: handlers on an empty event: {result['handlers']}")
    print(f"warmup: QC verdicts {result['verdicts']}; processed {', '.join(result['processed'])}; "
          f"report {'rendered' if result['report'] else 'skipped (no MultiQC)'}")
    if args.check:
        missing = uncompiled()
        for name in missing:
            print(f"warmup: no bytecode for {name}", file=sys.stderr)
        print(f"warmup: {len(missing)} loaded modules without bytecode")
        return 1 if missing else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
