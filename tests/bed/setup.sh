#!/usr/bin/env bash
# Prepare a fresh Debian machine (as root) for the test suite, idempotently:
#   system packages, a running Docker engine (with tests/bed/runc-drop-caps as its
#   runtime when the host cannot grant every capability), the Python venv from
#   requirements.txt, and the local Debian base image molecule uses.
# Everything slow is cached under $OKL_CACHE and reused when present.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${OKL_CACHE:=/var/cache/openkasugai-tests}"
# shellcheck source=tests/bed/venv.sh
source "$here/venv.sh"
: "${OKL_DEBIAN_MIRROR:=http://deb.debian.org/debian}"
: "${OKL_BASE_IMAGE:=localhost/okl-debian:bookworm-systemd}"
mkdir -p "$OKL_CACHE"

log() { printf '[setup] %s\n' "$*"; }

packages=(docker.io buildah docker-registry debootstrap iproute2 openssl python3-venv skopeo
          git make ca-certificates curl shellcheck
          # the video_check module's unit tests make and decode videos (the host stage installs the same for a video lab)
          gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-base-apps gstreamer1.0-plugins-good
          gstreamer1.0-plugins-ugly gstreamer1.0-libav)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Docker engine -----------------------------------------------------------
bash "$here/dockerd.sh" start
log "docker $(docker version --format '{{.Server.Version}}') ready"

# --- Python venv -------------------------------------------------------------
# OKL_VENV (tests/bed/venv.sh): by default $OKL_CACHE/venv/<requirements.txt's hash>, shared by every clone;
# made under a lock (two suites starting at once), its marker written last (an interrupted run makes it again).
req_hash=$(sha256sum "$repo/requirements.txt" | cut -c1-16)
exec {venv_lock}>"$OKL_CACHE/venv.lock"
flock "$venv_lock"
if [[ ! -f "$OKL_VENV/.requirements-$req_hash" ]]; then
  log "creating venv $OKL_VENV"
  if [[ $OKL_VENV == "$OKL_CACHE/venv/$req_hash" ]]; then
    # the venvs of earlier requirements (~0.5 GB each) go
    mkdir -p "$OKL_CACHE/venv"
    find "$OKL_CACHE/venv" -mindepth 1 -maxdepth 1 -not -name "$req_hash" -exec rm -rf {} +
  fi
  python3 -m venv "$OKL_VENV"
  "$OKL_VENV/bin/pip" install -q --upgrade pip
  "$OKL_VENV/bin/pip" install -q --cache-dir "$OKL_CACHE/pip" -r "$repo/requirements.txt"
  rm -f "$OKL_VENV"/.requirements-*
  touch "$OKL_VENV/.requirements-$req_hash"
fi
exec {venv_lock}>&-

# --- kind, the real binary the tests use (Go module proxy), the version the sample inventory pins -
kind_version=$(sed -n '/^  kind:/,/version:/s/^ *version: *//p' "$repo/inventory/localhost-cpu/group_vars/all/downloads.yml")
if ! "$OKL_CACHE/go/bin/kind" version 2>/dev/null | grep -q "^kind $kind_version "; then
  log "go install sigs.k8s.io/kind@$kind_version"
  GOPATH="$OKL_CACHE/go" GOMODCACHE="$OKL_CACHE/go/pkg/mod" GOCACHE="$OKL_CACHE/go/cache" GOFLAGS=-modcacherw \
    CGO_ENABLED=0 PATH="$PATH:/usr/local/go/bin" go install "sigs.k8s.io/kind@$kind_version"
fi
log "$("$OKL_CACHE/go/bin/kind" version)"

# --- the Go toolchain zip the inventories pin (lab_downloads.go), from the Go module proxy ----------
# molecule's host scenario builds kind from source with it (lab_build_from_source: [kind]).
go_zip="$OKL_CACHE/downloads/go-toolchain.zip"
"$OKL_VENV/bin/python" - "$repo/inventory/localhost-cpu/group_vars/all/downloads.yml" "$go_zip" <<'PY'
import hashlib, os, sys, urllib.request, yaml
pin = yaml.safe_load(open(sys.argv[1]))['lab_downloads']['go']
dest = sys.argv[2]
want = pin['checksum'].split(':', 1)[1]
def digest(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()
if not (os.path.isfile(dest) and digest(dest) == want):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    print('[setup] downloading Go %s from %s' % (pin['version'], pin['url']), flush=True)
    urllib.request.urlretrieve(pin['url'], dest + '.tmp')
    if digest(dest + '.tmp') != want:
        sys.exit('the Go toolchain zip does not match its pinned checksum %s' % pin['checksum'])
    os.replace(dest + '.tmp', dest)
PY
log "Go toolchain zip ready ($go_zip)"

# --- Debian base image (systemd + python3) for molecule and test nodes -----------
if ! docker image inspect "$OKL_BASE_IMAGE" >/dev/null 2>&1; then
  tarball="$OKL_CACHE/debian-bookworm-systemd.tar"
  if [[ ! -s "$tarball" ]]; then
    log "debootstrap bookworm into a rootfs (cached as $tarball)"
    rootfs=$(mktemp -d)
    debootstrap --variant=minbase \
      --include=systemd,systemd-sysv,dbus,python3,python3-apt,python3-requests,iproute2,ca-certificates,procps,kmod \
      bookworm "$rootfs" "$OKL_DEBIAN_MIRROR" >/dev/null
    # Let the image install packages from the same mirror later (builds, molecule).
    echo "deb $OKL_DEBIAN_MIRROR bookworm main" >"$rootfs/etc/apt/sources.list"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  log "importing $OKL_BASE_IMAGE"
  docker import -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' \
    "$tarball" "$OKL_BASE_IMAGE" >/dev/null
fi
log "base image $OKL_BASE_IMAGE ready"
