#!/usr/bin/env bash
# Builds the two images of images/Dockerfile (context: the repository root) without a Docker engine:
# the handler image (target "handler") and the delivery image (target "delivery": the handler image plus
# the Crypt4GH layer, for web-tasks only). buildah builds, podman stores and runs. What `make images`
# runs; tests/images calls it too.
#
#   bash scripts/build-images.sh            build if the inputs changed since the last build, print size
#   bash scripts/build-images.sh --force    build even if the image looks up to date
#   bash scripts/build-images.sh --check    exit 0 if the image is up to date, 1 if not (no build)
#   bash scripts/build-images.sh --lock     resolve the dependencies afresh (no constraints), record the
#                                           result in images/constraints.txt, then build with it
#
# Environment:
#   GENOMICS_IMAGE          the handler image's tag  (default localhost/genomics-handlers:dev)
#   GENOMICS_DELIVERY_IMAGE the delivery image's tag (default localhost/genomics-delivery:dev)
#   GENOMICS_BASE_IMAGE     Debian bookworm-slim    (default localhost/debian:bookworm-slim; made with
#                           debootstrap from this machine's Debian mirror when missing; on a machine
#                           without one, pulled from docker.io, or debootstrapped from deb.debian.org)
#   DEBIAN_MIRROR           mirror for debootstrap (default: the one apt uses for bookworm here)
#   GENOMICS_IMAGE_EXTRAS   project extras to install (default "report" = MultiQC; "" for none)
#   CONTAINERS_CONF         podman/buildah settings (default scripts/containers.conf)
#
# On a fresh machine it installs buildah, podman, runc and debootstrap with apt-get (as root, or through
# passwordless sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

IMAGE=${GENOMICS_IMAGE:-localhost/genomics-handlers:dev}
DELIVERY_IMAGE=${GENOMICS_DELIVERY_IMAGE:-localhost/genomics-delivery:dev}
BASE=${GENOMICS_BASE_IMAGE:-localhost/debian:bookworm-slim}
UPSTREAM_BASE=docker.io/library/debian:bookworm-slim
EXTRAS=${GENOMICS_IMAGE_EXTRAS-report}
SUITE=bookworm
export CONTAINERS_CONF=${CONTAINERS_CONF:-$REPO/scripts/containers.conf}
# Files of the build context: must match the allow-list in /.dockerignore.
CONTEXT_PATHS=(pyproject.toml setup.py setup.cfg MANIFEST.in README.md genomics handlers images/constraints.txt)
CONSTRAINTS_FILE=images/constraints.txt
HASH_LABEL=org.genomics.build-inputs

log() { echo "build-images: $*" >&2; }
die() { echo "build-images: ERROR: $*" >&2; exit 1; }

MODE=build
case "${1:-}" in
  "") ;;
  --force) MODE=force ;;
  --check) MODE=check ;;
  --lock) MODE=lock ;;
  *) die "unknown argument '$1' (use --force, --check or --lock)" ;;
esac

# ensure_commands cmd:package ... -- install what is missing with apt-get (as root, or with sudo -n).
ensure_commands() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    if [ "${cmd:0:1}" = / ]; then [ -e "$cmd" ] || missing+=("$pkg"); continue; fi
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      die "missing ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}"
    fi
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  log "installing ${missing[*]} (apt-get)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || die "apt-get could not install ${missing[*]}"
}

ensure_tools() {
  ensure_commands buildah:buildah podman:podman runc:runc
}

# The URI this machine's apt uses for a suite (one-line .list and deb822 .sources formats).
apt_mirror() {
  local suite=$1 f
  {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      awk -v s="$suite" '$1 == "deb" {
          i = 2
          if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
          for (j = i + 1; j <= NF; j++) if ($j == s) { print $i; exit }
        }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
        {
          uris = ""; suites = ""; types = ""; enabled = "yes"
          for (i = 1; i <= NF; i++) {
            line = $i
            if (line ~ /^#/) continue
            key = tolower(line); sub(/:.*/, "", key)
            val = line; sub(/^[^:]*:[ \t]*/, "", val)
            if (key == "uris") uris = val
            else if (key == "suites") suites = " " val " "
            else if (key == "types") types = " " val " "
            else if (key == "enabled") enabled = tolower(val)
          }
          if (enabled != "no" && types ~ / deb / && suites ~ (" " s " ")) {
            split(uris, u, /[ \t]+/); print u[1]; exit
          }
        }' "$f"
    done
  } | head -n 1
}

make_base() {
  if podman image exists "$BASE"; then return 0; fi
  local mirror security root
  mirror=${DEBIAN_MIRROR:-$(apt_mirror "$SUITE")}
  if [ -z "$mirror" ]; then
    # Not a Debian bookworm machine (e.g. an Ubuntu CI runner): use the real image if a registry is
    # reachable, else debootstrap from Debian's own mirror.
    log "no Debian $SUITE mirror configured here; pulling $UPSTREAM_BASE"
    if podman pull -q "$UPSTREAM_BASE" >/dev/null && podman tag "$UPSTREAM_BASE" "$BASE"; then return 0; fi
    mirror=http://deb.debian.org/debian
    log "pull failed; making the base with debootstrap from $mirror"
  fi
  ensure_commands debootstrap:debootstrap /usr/share/keyrings/debian-archive-keyring.gpg:debian-archive-keyring
  security=$(apt_mirror "$SUITE-security")
  [ -n "$security" ] || security=${mirror%/debian}/debian-security
  log "making $BASE with debootstrap from $mirror"
  root=$(mktemp -d /var/tmp/genomics-base.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" EXIT
  debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; die "debootstrap failed (log: $root.log)"; }
  rm -f "$root.log"
  # What makes Debian's -slim images slim: no documentation, manual pages or translations, now or
  # for packages installed later; no package caches or lists.
  cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/* \
    "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$mirror" "$SUITE" "$SUITE"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [ -n "$security" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security" "$SUITE"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"
  tar -C "$root" --numeric-owner -c . \
    | podman import --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$BASE" >/dev/null \
    || die "podman import of the base failed"
  rm -rf "$root"
  trap - EXIT
}

# pip's effective setting for a key (environment first, then config files), as pip would use it.
pip_setting() {
  local key=$1 pip=() out
  if [ -x "$REPO/.venv/bin/python" ]; then pip=("$REPO/.venv/bin/python" -m pip); else pip=(python3 -m pip); fi
  out=$("${pip[@]}" config list 2>/dev/null || true)
  for section in ":env:" "install" "global"; do
    local line
    line=$(grep -F -- "$section.$key=" <<<"$out" | tail -n 1 || true)
    if [ -n "$line" ]; then
      line=${line#*=}; line=${line#\'}; line=${line%\'}
      echo "$line"; return 0
    fi
  done
}

# Secrets and mounts that let pip inside the build reach the same index as pip on this machine.
BUILD_OPTS=()
pip_passthrough() {
  local conf=$1 cert key value loc dir any=0
  cert=$(pip_setting cert)
  [ -n "$cert" ] && [ -f "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt
  if [ -f "$cert" ]; then BUILD_OPTS+=(--secret "id=cacert,src=$cert"); fi
  echo "[global]" >"$conf"
  for key in index-url extra-index-url find-links trusted-host; do
    value=$(pip_setting "$key")
    [ -n "$value" ] || continue
    echo "$key = $value" >>"$conf"; any=1
    [ "$key" = trusted-host ] && continue
    for loc in $value; do
      case "$loc" in
        file://*) dir=${loc#file://} ;;
        /*) dir=$loc ;;
        *) continue ;;
      esac
      [ -d "$dir" ] || continue
      # A local "simple" index links to files beside it: mount its parent.
      [ "$(basename "$dir")" = simple ] && dir=$(dirname "$dir")
      BUILD_OPTS+=(--volume "$dir:$dir:ro")
    done
  done
  if [ "$any" -eq 1 ]; then BUILD_OPTS+=(--secret "id=pipconf,src=$conf"); fi
}

inputs_hash() {
  local base_id
  base_id=$(podman image inspect --format '{{.Id}}' "$BASE" 2>/dev/null || echo none)
  {
    echo "extras=$EXTRAS base=$base_id"
    sha256sum images/Dockerfile .dockerignore scripts/build-images.sh
    local p
    for p in "${CONTEXT_PATHS[@]}"; do [ -e "$p" ] && echo "$p"; done \
      | xargs -r -I{} find {} -type f ! -path '*/__pycache__/*' ! -name '*.pyc' ! -name '*.so' \
          ! -path '*.egg-info/*' \
      | LC_ALL=C sort | xargs -r -d '\n' sha256sum
  } | sha256sum | cut -c1-32
}

up_to_date() {
  local want=$1 have tag
  for tag in "$IMAGE" "$DELIVERY_IMAGE"; do
    have=$(podman image inspect --format "{{index .Labels \"$HASH_LABEL\"}}" "$tag" 2>/dev/null || true)
    [ "$have" = "$want" ] || return 1
  done
}

report_size() {
  local bytes delivery
  bytes=$(podman image inspect --format '{{.Size}}' "$IMAGE")
  delivery=$(podman image inspect --format '{{.Size}}' "$DELIVERY_IMAGE")
  echo "image $IMAGE: $((bytes / 1000000)) MB ($bytes bytes; goal <= 300 MB)"
  echo "image $DELIVERY_IMAGE: $((delivery / 1000000)) MB ($delivery bytes; the handler image + $(((delivery - bytes) / 1000000)) MB of Crypt4GH)"
}

ensure_tools
if [ "$MODE" = check ]; then
  podman image exists "$BASE" && up_to_date "$(inputs_hash)"
  exit $?
fi
make_base
want=$(inputs_hash)
if [ "$MODE" = build ] && up_to_date "$want"; then
  log "$IMAGE is up to date"
  report_size
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pip_passthrough "$work/pip.conf"

# build TARGET TAG LABEL [extra buildah args...]
build() {
  local target=$1 tag=$2 label=$3; shift 3
  buildah bud --pull=never --isolation chroot --network host --layers \
    --format docker \
    --file images/Dockerfile \
    --target "$target" \
    --build-arg "BASE_IMAGE=$BASE" \
    --build-arg "EXTRAS=$EXTRAS" \
    --label "$HASH_LABEL=$label" \
    "${BUILD_OPTS[@]}" \
    "$@" \
    --tag "$tag" \
    . >&2 || die "buildah bud failed (see above)"
}

if [ "$MODE" = lock ]; then
  [ "$EXTRAS" = report ] || die "--lock records the default build (GENOMICS_IMAGE_EXTRAS=report)"
  lock_image="$DELIVERY_IMAGE-unpinned"
  log "resolving the dependencies afresh (no constraints) in $lock_image"
  build delivery "$lock_image" unpinned --build-arg CONSTRAINTS=
  {
    echo "# Every Python distribution of the handler image and of the delivery image's extra layer, as pip"
    echo "# resolved it (images/Dockerfile installs with --constraint this file). Regenerate after changing"
    echo "# pyproject.toml's runtime or delivery pins:"
    echo "#   bash scripts/build-images.sh --lock"
    podman run --rm --pull=never --network none --entrypoint /bin/cat "$lock_image" \
      /opt/venv/resolved-requirements.txt /opt/venv/delivery-resolved-requirements.txt \
      | grep -v '^#' | LC_ALL=C sort -f
  } > "$work/constraints.txt"
  podman rmi "$lock_image" >/dev/null 2>&1 || true
  if cmp -s "$work/constraints.txt" "$CONSTRAINTS_FILE"; then
    log "$CONSTRAINTS_FILE unchanged"
  else
    cp "$work/constraints.txt" "$CONSTRAINTS_FILE"
    log "wrote $CONSTRAINTS_FILE ($(grep -vc '^#' "$CONSTRAINTS_FILE") pins); building with it"
  fi
  want=$(inputs_hash)
fi

start=$(date +%s)
log "building $IMAGE (extras: '${EXTRAS}') and $DELIVERY_IMAGE (+ delivery)"
build handler "$IMAGE" "$want"
build delivery "$DELIVERY_IMAGE" "$want"
log "built in $(( $(date +%s) - start )) s"
report_size
