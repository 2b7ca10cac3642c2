#!/usr/bin/env bash
# Runs pytest; exit code 5 (no tests collected) is an error here, never a silent pass.
set -uo pipefail
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
