#!/usr/bin/env bash
# Local stand-ins for the base OS images of OpenKasugai's upstream Dockerfiles, which cannot be
# pulled here (no container registry is reachable):
#
#   docker.io/library/golang:1.23, golang:1.22   Debian bookworm (our debootstrapped image, as the
#                                                  real golang images are bookworm) + gcc, make,
#                                                  pkg-config, git, CA bundle + the real Go toolchain,
#                                                  taken from the Go module proxy as the module
#                                                  golang.org/toolchain (GOTOOLCHAIN=local, GOPATH=/go,
#                                                  as in the real image)
#   docker.io/library/ubuntu:24.04, ubuntu:22.04  our Debian bookworm image (a base OS stand-in)
#   docker.io/library/debian:bookworm-slim        our Debian bookworm image
#   gcr.io/distroless/static:nonroot              an empty image with what distroless static holds:
#                                                  /etc/passwd with nonroot (65532), the CA bundle, /tmp
#
# Every stand-in trusts what this host trusts (its CA bundle replaces the image's): builds behind a
# TLS-inspecting proxy reach the Go module proxy as the host does.
# Only these base OS layers are stand-ins; everything built on them (the Go toolchain, the
# controllers, the functions) is the real thing. Each is written as a docker-archive under
# $OKL_CACHE/bases/, named by a digest of this script and of the Debian image it starts from, and
# the file $OKL_CACHE/bases/base-images.yml maps each upstream reference to its archive in the
# form the images stage reads (function_images_base_mirror: {REF: docker-archive:PATH}).
# Prints that file's path.
set -euo pipefail

: "${OKL_CACHE:=/var/cache/openkasugai-tests}"
: "${OKL_BASE_IMAGE:=localhost/okl-debian:bookworm-systemd}"
export GOPATH="$OKL_CACHE/go" GOMODCACHE="$OKL_CACHE/go/pkg/mod" GOCACHE="$OKL_CACHE/go/cache"
export GOFLAGS=-modcacherw GOTOOLCHAIN=local
go_versions=(1.23.12 1.22.12)

log() { echo "bases: $*" >&2; }

out="$OKL_CACHE/bases"
mkdir -p "$out"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
key=$( { sha256sum <"$0"; sha256sum <"$ca_bundle"; docker image inspect -f '{{.Id}}' "$OKL_BASE_IMAGE"; } | sha256sum | cut -c1-12)

build() {  # build NAME DOCKERFILE_TEXT [CONTEXT]: docker build, then docker save to $out/NAME-KEY.tar
  local name=$1 text=$2 ctx=${3:-} archive="$out/$1-$key.tar"
  if [[ -s $archive ]]; then
    echo "$archive"
    return
  fi
  [[ -n $ctx ]] || ctx=$(mktemp -d)
  log "building the $name stand-in"
  cp "$ca_bundle" "$ctx/host-ca-certificates.crt"
  printf '%s\n' "$text" >"$ctx/Dockerfile"
  docker build -q -t "localhost/okl-base-$name:$key" "$ctx" >&2
  docker save -o "$archive.tmp" "localhost/okl-base-$name:$key"
  mv "$archive.tmp" "$archive"
  rm -rf "$ctx"
  echo "$archive"
}

declare -A archives
for v in "${go_versions[@]}"; do
  minor=${v%.*}
  mod="golang.org/toolchain@v0.0.1-go$v.linux-amd64"
  dir=$(go mod download -json "$mod" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -d $dir/bin ]] || { log "the Go module proxy gave no toolchain for $mod"; exit 1; }
  ctx=""
  if [[ ! -s "$out/golang-$minor-$key.tar" ]]; then
    ctx=$(mktemp -d)
    cp -a "$dir" "$ctx/go"
    # a module zip keeps no file modes: make the toolchain's programs executable again
    chmod -R u+w "$ctx/go"
    chmod +x "$ctx/go/bin/"* "$ctx/go/pkg/tool/linux_amd64/"*
  fi
  archives["docker.io/library/golang:$minor"]=$(build "golang-$minor" "FROM $OKL_BASE_IMAGE
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
      gcc g++ libc6-dev make pkg-config git ca-certificates wget >/dev/null && rm -rf /var/lib/apt/lists/*
COPY host-ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY go /usr/local/go
ENV GOLANG_VERSION=$v GOTOOLCHAIN=local GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /go/bin /go/src && go version
WORKDIR /go
CMD [\"bash\"]" "$ctx")
done

os=$(build debian "FROM $OKL_BASE_IMAGE
COPY host-ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
CMD [\"bash\"]")
for ref in docker.io/library/ubuntu:24.04 docker.io/library/ubuntu:22.04 docker.io/library/debian:bookworm-slim; do
  archives[$ref]=$os
done

archives["gcr.io/distroless/static:nonroot"]=$(build distroless-static "FROM $OKL_BASE_IMAGE AS files
COPY host-ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN mkdir -p /out/etc/ssl/certs /out/tmp && chmod 1777 /out/tmp \\
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >/out/etc/passwd \\
 && printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >/out/etc/group \\
 && mkdir -p /out/home/nonroot && chown 65532:65532 /out/home/nonroot \\
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/
FROM scratch
COPY --from=files /out/ /
USER 65532
WORKDIR /home/nonroot")

map="$out/base-images.yml"
{
  echo "# Written by tests/bed/bases.sh: local stand-ins for the upstream base images."
  echo "function_images_base_mirror:"
  for ref in $(printf '%s\n' "${!archives[@]}" | sort); do
    echo "  $ref: docker-archive:${archives[$ref]}"
  done
} >"$map"
echo "$map"
