#!/usr/bin/env bash
# Installs every system package the platform, its tests, `make demo` and `make test` need: the `apt:` rows
# of scripts/system-packages.tsv (one list; tests/unit/test_system_packages.py checks that it covers every
# program the code calls). As root it uses apt-get (or passwordless sudo); otherwise it says what to run.
#
#   bash scripts/install-system.sh           install what is missing
#   bash scripts/install-system.sh --check   list what is missing; exit 1 if anything is
#   SYSTEM_PACKAGES=FILE                     another table (the tests use it)
set -euo pipefail
cd "$(dirname "$0")/.."
TABLE=${SYSTEM_PACKAGES:-scripts/system-packages.tsv}

# present PROBE: a command on PATH (or in /usr/sbin), an absolute path, or `sh:COMMAND` that succeeds.
present() {
  local probe=$1
  case "$probe" in
    sh:*) bash -c "${probe#sh:}" >/dev/null 2>&1 ;;
    /*) [ -e "$probe" ] ;;
    *) command -v "$probe" >/dev/null 2>&1 || [ -x "/usr/sbin/$probe" ] ;;
  esac
}

need=()
while IFS=$'\t' read -r probe source _; do
  case "$probe" in ''|'#'*) continue ;; esac
  case "$source" in
    apt:*) present "$probe" || need+=("${source#apt:}") ;;
    pip:*|essential) ;;
    *) echo "install-system: $TABLE: unknown source '$source' for '$probe'" >&2; exit 2 ;;
  esac
done <"$TABLE"
if [ "${#need[@]}" -eq 0 ]; then exit 0; fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "${1:-}" = --check ]; then
  echo "Missing system packages: ${need[*]}" >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)  # e.g. a CI runner with passwordless sudo
  else
    echo "Missing system packages: ${need[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
echo "Installing ${need[*]} (apt-get)"
# apt's lock may be held by another install on a shared machine: wait for it rather than fail.
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
  --no-install-recommends "${need[@]}" >/dev/null
