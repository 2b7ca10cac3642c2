#!/usr/bin/env bash
# The fuzz job of `make test`: >= 10,000 mutants of the corpus files (VCF, VCF.gz, BCF, SAM, BAM, CRAM,
# FASTQ, FASTQ.gz, BCL run tar) through validation, in-process (tests/fuzz/run.py), with the C
# extensions (the VCF scanner, the SAM fast path) built with AddressSanitizer and UndefinedBehaviorSanitizer.
# Failing mutants are saved under out/fuzz/.
#
#   bash scripts/fuzz.sh                       the CI run (seed 11, 10,000 mutants)
#   bash scripts/fuzz.sh --seed 7 --mutants 50000
#   bash scripts/fuzz.sh --seed 11 --only 4242   re-run one mutant a failure names
#
# FUZZ_SANITIZE=0 runs with the installed (unsanitized) extensions.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
args=()
if [ "${FUZZ_SANITIZE:-1}" = 1 ]; then
  build=$(mktemp -d "${TMPDIR:-/tmp}/vcfscan-asan.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  include=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  suffix=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
  # Every extension setup.py builds (genomics/validation/_*.c), plus the sanitizers; any report aborts
  # the process (no recovery), which the fuzz supervisor records as a crash with the report.
  for src in genomics/validation/_*.c; do
    gcc -shared -fPIC -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
      -Wall -Wno-unused-parameter -I"$include" "$src" -o "$build/$(basename "$src" .c)$suffix"
  done
  asan=$(gcc -print-file-name=libasan.so)
  [ -e "$asan" ] || { echo "fuzz: no libasan.so (gcc's libasan8): bash scripts/install-system.sh" >&2; exit 2; }
  # Python itself is not instrumented: ASan's runtime must be loaded first (LD_PRELOAD, workers only).
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:allocator_may_return_null=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  args+=(--extensions "$build" --preload "$asan")
fi
exec "$PY" -m tests.fuzz.run "${args[@]}" "$@"
