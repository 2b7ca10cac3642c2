#!/usr/bin/env bash
# Proves that `.ci/run` passes on a machine that has only what the project's scripts install: a clean
# clone runs `.ci/run` (CI=true) in a container of the bare Debian base the images are built from
# (debootstrap --variant=minbase bookworm; scripts/build-images.sh makes it), with the corpus beside the
# clone as ../shared/corpus, as CI lays it out.
#
#   bash scripts/fresh-machine-check.sh [REF]        REF: the commit to clone (default HEAD)
#
# Environment:
#   GENOMICS_BASE_IMAGE   the bare base (default localhost/debian:bookworm-slim; made when missing)
#   FRESH_MAKE_TARGET     a make target to run instead of .ci/run (e.g. test-fast)
#   FRESH_PYTEST          pytest arguments to run after `make setup` instead of .ci/run (a targeted rerun)
#   FRESH_KEEP=1          keep the clone and the log under /var/tmp afterwards
#
# What the container starts with: the base image only (no python3, no make, no compiler). The one change:
# the base's "slim" dpkg filter (no /usr/share/doc) is removed, because bio-eagle-examples and
# bowtie2-examples ship their data under /usr/share/doc. pip and npm reach the registries as this machine
# does (its pip configuration, local index folders and CA bundle are mounted read-only); apt uses the base's
# Debian mirror. The container is privileged so that `make images` and tests/images can run buildah and
# podman inside it; their storage (/var/lib/containers) is a folder of this machine's disk, because
# overlay cannot mount on the container's own overlay root.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
REF=${1:-HEAD}
BASE=${GENOMICS_BASE_IMAGE:-localhost/debian:bookworm-slim}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$REPO/scripts/containers.conf}
log() { echo "fresh-machine-check: $*" >&2; }

command -v podman >/dev/null 2>&1 || bash scripts/install-system.sh
if ! podman image exists "$BASE"; then
  log "no $BASE yet: scripts/build-images.sh makes it (debootstrap --variant=minbase)"
  bash scripts/build-images.sh
fi
corpus=$(cd "$REPO/../shared/corpus" && pwd -P) || { log "no ../shared/corpus beside the repository"; exit 2; }

work=$(mktemp -d /var/tmp/genomics-fresh.XXXXXX)
[ "${FRESH_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
git clone -q --no-hardlinks "$REPO" "$work/repo"
git -C "$work/repo" checkout -q --detach "$(git rev-parse "$REF")"
log "clone of $(git -C "$work/repo" log --oneline -1 | cut -c1-80) in $work/repo"

mkdir -p "$work/containers"
opts=(--rm --privileged --network host --workdir /work/repo -e CI=true
      -v "$work:/work" -v "$corpus:/work/shared/corpus:ro" -v "$work/containers:/var/lib/containers")
# pip: the same index as here (configuration files, local index folders, PIP_* settings).
for f in /etc/pip.conf /etc/xdg/pip /root/.config/pip /opt/pypi /opt/pypi-more /opt/wheels; do
  [ -e "$f" ] && opts+=(-v "$f:$f:ro")
done
while IFS= read -r var; do opts+=(-e "$var"); done < <(env | grep -E '^PIP_' | grep -v '^PIP_CERT=' | cut -d= -f1)
# This machine's CA bundle (it may hold the CA of a proxy in front of the registries) for pip and npm,
# beside, not over, the container's /etc/ssl (apt installs ca-certificates there).
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  opts+=(-v /etc/ssl/certs/ca-certificates.crt:/opt/host-ca.crt:ro -e PIP_CERT=/opt/host-ca.crt
         -e NODE_EXTRA_CA_CERTS=/opt/host-ca.crt -e npm_config_cafile=/opt/host-ca.crt)
fi

inner='rm -f /etc/dpkg/dpkg.cfg.d/slim; bash .ci/run'
prep='rm -f /etc/dpkg/dpkg.cfg.d/slim; apt-get update -qq && apt-get install -y -qq make >/dev/null'
[ -n "${FRESH_MAKE_TARGET:-}" ] && inner="$prep && make ${FRESH_MAKE_TARGET}"
[ -n "${FRESH_PYTEST:-}" ] && inner="$prep && make setup && bash scripts/run-tests.sh ${FRESH_PYTEST}"
start=$(date +%s)
log "podman run ${BASE}: ${inner}"
set +e
podman run "${opts[@]}" "$BASE" bash -c "$inner" 2>&1 | tee "$work/ci.log"
rc=${PIPESTATUS[0]}
set -e
log "exit $rc after $(( $(date +%s) - start )) s (log: $work/ci.log${FRESH_KEEP:+, kept})"
exit "$rc"
