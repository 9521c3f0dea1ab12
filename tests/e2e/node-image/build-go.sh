#!/usr/bin/env bash
# Build the Go binaries of the e2e node image from Go modules (no GitHub, no registry):
#   Kubernetes (kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy),
#   etcd, coredns, and our pause (tests/e2e/node-image/pause).
# Each set is built in a generated module under $OKL_CACHE/build/ and its output kept under
# $OKL_CACHE/bin/<name>-<version>-<hash of this script>/; a later run with the same versions reuses it.
#
#   build-go.sh k8s v1.34.1 | etcd v3.6.4 | coredns v1.12.1 | crictl v0.34.1 | own DIR   -> prints the output directory
# (own: a main package of ours, DIR holding its *.go files: the pause and echo programs)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${OKL_CACHE:=/var/cache/openkasugai-tests}"
export GOPATH="$OKL_CACHE/go" GOMODCACHE="$OKL_CACHE/go/pkg/mod" GOCACHE="$OKL_CACHE/go/cache"
export GOFLAGS=-modcacherw CGO_ENABLED=0 GOTOOLCHAIN=local
# bump when a recipe below changes what it produces (the Go build cache keeps rebuilds cheap)
recipe=1

what=$1
version=${2:-}
out="$OKL_CACHE/bin/$what-${version:-own}-r$recipe"
if [[ $what == coredns || $what == crictl ]]; then
  out+="-$(sha256sum <"$here/$what/main.go" | cut -c1-12)"  # our main package
fi
if [[ $what == own ]]; then
  src=$(cd "$version" && pwd)
  version=$(basename "$src")
  out="$OKL_CACHE/bin/own-$version-$(cat "$src"/*.go | sha256sum | cut -c1-12)"
fi
if [[ -f $out/.done ]]; then
  echo "$out"
  exit 0
fi
work="$OKL_CACHE/build/$what-$version"
rm -rf "$work" "$out"
mkdir -p "$work" "$out"
cd "$work"

log() { echo "build-go: $*" >&2; }

case $what in
  k8s)
    # k8s.io/kubernetes requires its staging modules as v0.0.0 and replaces them with ./staging/...
    # paths that a module download does not carry: pin each to the matching v0.<minor>.<patch>.
    minor_patch=${version#v1.}
    go mod download -json "k8s.io/kubernetes@$version" >/dev/null
    kdir="$GOMODCACHE/k8s.io/kubernetes@$version"
    {
      echo "module okl.local/k8sbuild"
      echo
      sed -n 's/^go \(.*\)/go \1/p' "$kdir/go.mod"
      echo
      echo "require k8s.io/kubernetes $version"
      echo
      echo "replace ("
      sed -n 's|^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*|\t\1 => \1 v0.'"$minor_patch"'|p' "$kdir/go.mod"
      echo ")"
    } >go.mod
    pkgs=(cmd/kubelet cmd/kubeadm cmd/kubectl cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kube-proxy)
    ldf="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldf+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=${minor_patch%%.*}"
      ldf+=" -X $p.gitTreeState=clean -X $p.gitCommit=0000000000000000000000000000000000000000"
      ldf+=" -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    log "compiling ${pkgs[*]} (one go build, shared cache)"
    GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath -ldflags "$ldf" -o "$out/" "${pkgs[@]/#/k8s.io/kubernetes/}"
    ;;
  etcd)
    printf 'module okl.local/etcdbuild\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\nrequire go.etcd.io/etcd/etcdctl/v3 %s\n' "$version" "$version" >go.mod
    GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
    GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath -ldflags "-s -w" -o "$out/etcdctl" go.etcd.io/etcd/etcdctl/v3
    ;;
  coredns)
    # our main package (coredns/main.go: kubeadm's plugins only) against the pinned CoreDNS module
    cp "$here/coredns/main.go" .
    printf 'module okl.local/corednsbuild\n\ngo 1.24\n\nrequire github.com/coredns/coredns %s\n' "$version" >go.mod
    GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$version" -o "$out/coredns" .
    ;;
  crictl)
    # our crictl/main.go (the proxy does not serve sigs.k8s.io/cri-tools) against k8s.io/cri-api <version>
    cp "$here/crictl/main.go" .
    printf 'module okl.local/crictl\n\ngo 1.24\n\nrequire k8s.io/cri-api %s\n' "$version" >go.mod
    GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath -ldflags "-s -w" -o "$out/crictl" .
    ;;
  own)
    cp "$src"/*.go .
    printf 'module okl.local/%s\n\ngo 1.24\n' "$version" >go.mod
    go build -trimpath -ldflags "-s -w" -o "$out/$version" .
    ;;
  *)
    echo "usage: $0 k8s VERSION | etcd VERSION | coredns VERSION | crictl CRI_API_VERSION | own DIR" >&2
    exit 2
    ;;
esac
touch "$out/.done"
echo "$out"
