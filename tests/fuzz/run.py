"""The fuzz job: mutants of the corpus files through validation, in-process, supervised.

    python -m tests.fuzz.run [--mutants 10000] [--seed 11] [--jobs 2] [--out out/fuzz]
                             [--extensions DIR] [--only I] [--process-rate 0.03]

Each mutant ``i`` is made from ``random.Random(f"{seed}/{i}")`` alone (a corpus file of a format drawn
uniformly, then 1-5 byte- or line-level operations; see tests/fuzz/mutate.py), so ``--only I`` remakes
exactly the mutant a failure names. Mutants run through :func:`genomics.validation.validate_path`, the
entry point of ``genomics validate``. A mutant passes when validation says valid, or invalid with every
error code documented (genomics.validation.codes). It fails on an undocumented code, any exception, a
crash of the process (a signal, an ASan/UBSan report) or a hang (no answer within ``--timeout`` s).
A sample of the mutants validation accepts (``--process-rate``, drawn from the same seed) also goes
through processing (VCF/BCF: ``genomics process``) and QC (``genomics qc``); they must complete (gate pass
or fail) or stop with a documented code.

Mutants run in worker processes (``--jobs``), each a long-lived Python running many mutants, watched by
this supervisor: a worker that dies or stops answering is recorded with the mutant it was on, and a new
worker goes on with the next. ``--extensions DIR`` loads the builds of the C extensions in DIR (the
ASan/UBSan ones scripts/fuzz.sh makes) in place of the installed ones; the workers check they are in use.

Failures are saved under ``--out``: the mutant's bytes and a JSON (seed, index, source file, operations,
outcome, the worker's stderr tail); ``summary.json`` counts outcomes per format. Exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import importlib
import importlib.util
import io
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genomics.corpus import CORPUS
from tests.fuzz.mutate import bgzf_compress, is_gzip, mutant

ROOT = Path(__file__).resolve().parents[2]
MAX_SOURCE_BYTES = 512 * 1024
FORMATS = ("vcf", "vcf.gz", "bcf", "sam", "bam", "cram", "fastq", "fastq.gz", "bcl")
PROFILES = ("default", "strict")


@dataclass(frozen=True)
class Source:
    path: Path
    kind: str
    reference: str | None
    valid: bool
    compress: str = ""  # "bgzf"/"gzip": the corpus file compressed before mutating (vcf.gz, fastq.gz)
    blob: bytes | None = None  # content made here (the BCL run tar) instead of read from ``path``

    def data(self) -> bytes:
        raw = self.blob if self.blob is not None else self.path.read_bytes()
        if self.compress == "bgzf":
            return bgzf_compress(raw)
        if self.compress == "gzip":
            return gzip.compress(raw, mtime=0)
        return raw

    @property
    def name(self) -> str:
        """The mutant's file name (validation compares the extension with the content)."""
        return self.path.name + (".gz" if self.compress else "")


def _bcl_run_tar(valid: bool) -> bytes:
    """An Illumina run folder as a plain tar (the corpus has none): the layout tests/unit/test_validation_bcl
    builds, with fixed metadata so every process makes the same bytes."""
    from tests.unit.test_validation_bcl import make_run

    with tempfile.TemporaryDirectory() as td:
        run = make_run(Path(td) / "240101_M00001_0001_000000000-ABCDE",
                       **({} if valid else {"sample_sheet": None}))

        def fixed(ti: tarfile.TarInfo) -> tarfile.TarInfo:
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "", ""
            return ti

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for p in sorted(run.rglob("*")):
                tar.add(p, arcname=str(p.relative_to(run.parent)), recursive=False, filter=fixed)
        return buf.getvalue()


def sources(corpus: Path = CORPUS) -> dict[str, list[Source]]:
    """Corpus files by format (MANIFEST.tsv order), at most ``MAX_SOURCE_BYTES`` each; plain VCF and FASTQ
    also compressed (the corpus has no .vcf.gz), and two BCL run tars (valid; no sample sheet)."""
    out: dict[str, list[Source]] = {k: [] for k in FORMATS}
    with open(corpus / "MANIFEST.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            path = corpus / row["path"]
            fmt = row["format"].split(".")[0]
            if fmt not in ("vcf", "bcf", "sam", "bam", "cram", "fastq") or not path.is_file():
                continue
            size = path.stat().st_size
            if size == 0 or size > MAX_SOURCE_BYTES:
                continue
            with open(path, "rb") as f:
                gz = is_gzip(f.read(2))
            ref = None if row.get("reference") in (None, "", "-") else str(corpus / row["reference"])
            valid = row.get("expected") == "valid"
            kind = f"{fmt}.gz" if gz and fmt in ("vcf", "fastq") else fmt
            out[kind].append(Source(path, kind, ref, valid))
            if not gz and fmt in ("vcf", "fastq"):
                out[f"{fmt}.gz"].append(Source(path, f"{fmt}.gz", ref, valid, "bgzf" if fmt == "vcf" else "gzip"))
    out["bcl"] = [Source(Path("run.tar"), "bcl", None, True, blob=_bcl_run_tar(True)),
                  Source(Path("run.tar"), "bcl", None, False, blob=_bcl_run_tar(False))]
    return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class Mutant:
    index: int
    source: Source
    data: bytes
    ops: list[str]
    profile: str
    process: bool


def make_mutant(seed: int, index: int, by_kind: dict[str, list[Source]], process_rate: float) -> Mutant:
    rng = random.Random(f"{seed}/{index}")
    kind = rng.choice(sorted(by_kind))
    pool = by_kind[kind]
    if rng.random() < 0.6:  # mutants of files that were valid reach deeper than those of broken ones
        pool = [s for s in pool if s.valid] or pool
    src = rng.choice(pool)
    data, ops = mutant(src.data(), rng)
    profile = rng.choice(PROFILES)
    return Mutant(index, src, data, ops, profile, rng.random() < process_rate)


# ------------------------------------------------------------------------------------------ the checks
def documented_codes() -> frozenset[str]:
    from genomics.validation.codes import collect

    return frozenset(collect())


def _coded(exc: BaseException, codes: frozenset[str]) -> str | None:
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and code in codes else None


def check(path: str, m: Mutant, codes: frozenset[str], scratch: Path) -> dict[str, Any]:
    """Validate one mutant (and process + QC it when sampled). ``ok`` False names what went wrong."""
    from genomics.validation import validate_path

    out: dict[str, Any] = {"ok": True}
    try:
        rep = validate_path(path, reference=m.source.reference, profile=m.profile)
    except Exception as e:  # the finding: validation must answer with a report, never raise
        return {"ok": False, "outcome": "uncoded-exception", "stage": "validate",
                "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=8)}
    bad = sorted({i.code for i in rep.errors + rep.warnings if i.code not in codes})
    out["valid"] = rep.valid
    out["format"] = rep.format
    out["codes"] = sorted({i.code for i in rep.errors})[:8]
    if bad:
        return {**out, "ok": False, "outcome": "undocumented-code", "stage": "validate", "error": bad}
    out["outcome"] = "valid" if rep.valid else "invalid"
    if rep.valid and m.process:
        out.update(process_and_qc(path, rep.format, m, codes, scratch))
    return out


def process_and_qc(path: str, fmt: str, m: Mutant, codes: frozenset[str], scratch: Path) -> dict[str, Any]:
    """What the pipeline does after VALID, routed as the workflow's Route state routes: VCF/BCF are
    processed then QC'd, reads and alignments QC'd as uploaded, the rest (a BCL run) only stored."""
    from genomics.processing.vcf import process_local
    from genomics.qc.service import qc_local
    from genomics.workflow import ALIGNMENT_AND_READ_FORMATS, VCF_FORMATS

    if fmt not in VCF_FORMATS and fmt not in ALIGNMENT_AND_READ_FORMATS:
        return {"processed": False, "pipeline": "stored"}
    stage = "process"
    try:
        target = path
        if fmt in VCF_FORMATS:
            res = process_local(path, str(scratch / "processed"), reference=None)
            target = res["vcf"]
        stage = "qc"
        qc = qc_local(target, reference=m.source.reference)
        return {"processed": True, "pipeline": f"qc-{qc['gate']['verdict']}"}
    except Exception as e:
        code = _coded(e, codes)
        if code:
            return {"processed": True, "pipeline": f"{stage}-coded:{code}"}
        return {"ok": False, "outcome": "uncoded-exception", "stage": stage,
                "error": f"{type(e).__name__}: {e}"[:2000], "traceback": traceback.format_exc(limit=8)}
    finally:
        shutil.rmtree(scratch / "processed", ignore_errors=True)


# ------------------------------------------------------------------------------------------ worker
def _load_extensions(build_dir: str) -> list[str]:
    """Use the builds in ``build_dir`` (e.g. the ASan/UBSan ones) as genomics.validation's compiled
    extensions (_vcfscan, _samscan), then check the validators really hold those. Returns their paths."""
    import genomics.validation as package

    loaded = []
    for so in sorted(Path(build_dir).glob("_*.so")):
        name = f"genomics.validation.{so.name.split('.')[0]}"
        spec = importlib.util.spec_from_file_location(name, so)
        if spec is None or spec.loader is None:
            raise SystemExit(f"cannot load {so}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
        setattr(package, name.rsplit(".", 1)[1], module)
        loaded.append(str(so))
    from genomics.validation import sam_text as sam
    from genomics.validation import vcf

    for validator in (vcf, sam):
        for attr in vars(validator).values():
            if (isinstance(attr, type(sys)) and attr.__name__.startswith("genomics.validation._")
                    and os.path.dirname(os.path.realpath(attr.__file__ or "")) != os.path.realpath(build_dir)):
                raise SystemExit(f"{validator.__name__} uses {attr.__file__}, not the build in {build_dir}")
    if not loaded:
        raise SystemExit(f"no extension builds in {build_dir}")
    return loaded


def worker(args: argparse.Namespace) -> int:
    # The sanitizer runtime is preloaded into this process only: the tools it starts must not inherit it.
    os.environ.pop("LD_PRELOAD", None)
    if args.extensions:
        _load_extensions(args.extensions)
    by_kind = sources(Path(args.corpus))
    codes = documented_codes()
    indices = [int(x) for x in sys.stdin.readline().split()]
    with tempfile.TemporaryDirectory(prefix="fuzz-") as td:
        scratch = Path(td)
        for i in indices:
            m = make_mutant(args.seed, i, by_kind, args.process_rate)
            print(f"S {i}", flush=True)
            path = scratch / m.source.name
            path.write_bytes(m.data)
            t0 = time.monotonic()
            res = check(str(path), m, codes, scratch)
            res["seconds"] = round(time.monotonic() - t0, 3)
            print("D " + json.dumps({"index": i, **res}), flush=True)
    return 0


# ------------------------------------------------------------------------------------------ supervisor
class Lane(threading.Thread):
    """Runs one worker over ``indices``; restarts it after a crash or a hang."""

    def __init__(self, name: str, indices: list[int], argv: list[str], env: dict[str, str],
                 timeout: float, out_dir: Path, results: list[dict[str, Any]], lock: threading.Lock) -> None:
        super().__init__(name=name, daemon=True)
        self.todo = list(indices)
        self.argv, self.env, self.timeout, self.out_dir = argv, env, timeout, out_dir
        self.results, self.lock = results, lock

    def run(self) -> None:
        while self.todo:
            self._one_worker()

    def _one_worker(self) -> None:
        err = tempfile.TemporaryFile()  # noqa: SIM115 (closed in _one_worker's finally)
        try:
            self._watch(err)
        finally:
            err.close()

    def _watch(self, err: Any) -> None:
        proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                env=self.env, cwd=ROOT, start_new_session=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write((" ".join(map(str, self.todo)) + "\n").encode())
        proc.stdin.close()
        current: int | None = None
        buf = b""
        deadline = time.monotonic() + self.timeout * 4  # start-up: imports, loading the extensions
        fd = proc.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, left))
            if not ready:
                self._kill(proc)
                self._record_failure(current, "hang", f"no answer within {self.timeout} s", err)
                return
            chunk = os.read(fd, 65536)
            if not chunk:
                rc = proc.wait()
                if current is not None or self.todo:
                    what = f"signal {-rc}" if rc < 0 else f"exit {rc}"
                    self._record_failure(current if current is not None else self.todo[0], "crash",
                                         f"worker ended ({what})", err)
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                kind, _, rest = line.decode("utf-8", "replace").partition(" ")
                if kind == "S":
                    current = int(rest)
                    deadline = time.monotonic() + self.timeout
                elif kind == "D":
                    res = json.loads(rest)
                    current = None
                    self.todo.remove(res["index"])
                    with self.lock:
                        self.results.append(res)
                    if not res["ok"]:
                        save_failure(self.out_dir, res)
                elif kind == "E":
                    raise SystemExit(f"fuzz worker: {rest}")

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the worker's own session: it and the tools it started
        proc.wait()

    def _record_failure(self, index: int | None, outcome: str, error: str, err: Any) -> None:
        err.seek(0)
        tail = err.read()[-6000:].decode("utf-8", "replace")
        if index is None:
            raise SystemExit(f"fuzz worker failed before its first mutant: {error}\n{tail}")
        res = {"index": index, "ok": False, "outcome": outcome, "stage": "worker", "error": error,
               "stderr": tail}
        self.todo.remove(index)
        with self.lock:
            self.results.append(res)
        save_failure(self.out_dir, res)


SEED_FOR_ARTIFACTS: dict[str, Any] = {}


def save_failure(out_dir: Path, res: dict[str, Any]) -> None:
    seed = SEED_FOR_ARTIFACTS["seed"]
    m = make_mutant(seed, res["index"], SEED_FOR_ARTIFACTS["sources"], SEED_FOR_ARTIFACTS["process_rate"])
    stem = out_dir / f"{res['index']:06d}-{res['outcome']}"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem.with_name(stem.name + "." + m.source.name).write_bytes(m.data)
    doc = {
        "seed": seed, "index": m.index, "source": str(m.source.path), "kind": m.source.kind, "ops": m.ops,
        "profile": m.profile, "reference": m.source.reference, "result": res,
        "reproduce": f"python -m tests.fuzz.run --seed {seed} --only {m.index}",
    }
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=2))


def supervise(args: argparse.Namespace) -> int:
    by_kind = sources(Path(args.corpus))
    SEED_FOR_ARTIFACTS.update(seed=args.seed, sources=by_kind, process_rate=args.process_rate)
    indices = [args.only] if args.only is not None else list(range(args.mutants))
    out_dir = Path(args.out)
    if args.only is None and out_dir.exists():
        shutil.rmtree(out_dir)
    argv = [sys.executable, "-m", "tests.fuzz.run", "--worker", "--seed", str(args.seed), "--corpus",
            str(args.corpus), "--process-rate", str(args.process_rate)]
    if args.extensions:
        argv += ["--extensions", args.extensions]
    if args.target:
        argv += ["--target", args.target]
    env = dict(os.environ)
    if args.preload:
        env["LD_PRELOAD"] = args.preload
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    t0 = time.monotonic()
    lanes = [Lane(f"lane{j}", indices[j::args.jobs], argv, env, args.timeout, out_dir, results, lock)
             for j in range(min(args.jobs, len(indices)))]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    elapsed = time.monotonic() - t0
    summary = summarise(results, by_kind, args, elapsed)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "failures"}, indent=1))
    for f in summary["failures"][:20]:
        print(f"FAIL mutant {f['index']}: {f['outcome']} ({f.get('stage')}): {str(f.get('error'))[:300]}")
    if summary["failed"]:
        print(f"{summary['failed']} failing mutants saved under {out_dir}", file=sys.stderr)
    return 1 if summary["failed"] or len(results) != len(indices) else 0


def summarise(results: list[dict[str, Any]], by_kind: dict[str, list[Source]], args: argparse.Namespace,
              elapsed: float) -> dict[str, Any]:
    per_kind: dict[str, Counter[str]] = {}
    pipeline: Counter[str] = Counter()
    for r in results:
        m = make_mutant(args.seed, r["index"], by_kind, args.process_rate)
        per_kind.setdefault(m.source.kind, Counter())[r["outcome"]] += 1
        if "pipeline" in r:
            pipeline[r["pipeline"]] += 1
    failures = sorted((r for r in results if not r["ok"]), key=lambda r: r["index"])
    return {
        "seed": args.seed, "mutants": len(results), "failed": len(failures), "seconds": round(elapsed, 1),
        "extensions": args.extensions or "installed", "per_format": {k: dict(v) for k, v in sorted(per_kind.items())},
        "processed_and_qc": dict(pipeline), "failures": failures,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--mutants", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds one mutant may take (validate+process+QC)")
    p.add_argument("--out", default=str(ROOT / "out" / "fuzz"))
    p.add_argument("--corpus", default=str(CORPUS))
    p.add_argument("--extensions", help="a folder of builds of genomics.validation's C extensions to use instead "
                   "of the installed ones (scripts/fuzz.sh: the ASan/UBSan builds)")
    p.add_argument("--preload", help="LD_PRELOAD for the workers (the sanitizer runtime)")
    p.add_argument("--only", type=int, help="run only this mutant")
    p.add_argument("--process-rate", type=float, default=0.25)
    p.add_argument("--target", help=argparse.SUPPRESS)  # tests: module:function replacing check()
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        if args.target:
            global check
            module, _, func = args.target.partition(":")
            check = getattr(importlib.import_module(module), func)
        return worker(args)
    return supervise(args)


if __name__ == "__main__":
    raise SystemExit(main())
