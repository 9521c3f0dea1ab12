#!/usr/bin/env bash
# The e2e kind node image, offline: prints its reference (localhost/okl-node:<k8s>-<inputs hash>) as the
# last line of stdout.
#   1. docker image present -> nothing to do;
#   2. $OKL_CACHE/node-image/<k8s>-<hash>.tar present -> docker load (a warm CI run);
#   3. otherwise build: Go binaries (build-go.sh, cached by version), the images kubeadm expects
#      (registry.k8s.io/<name>:<tag>, checked against `kubeadm config images list`), a Debian node rootfs
#      (Dockerfile), the images imported into its containerd (k8s.io namespace), commit, docker save.
# Versions: OKL_K8S_VERSION (default v1.34.1); etcd/coredns/pause follow what that kubeadm asks for.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${OKL_CACHE:=/var/cache/openkasugai-tests}"
k8s_version=${OKL_K8S_VERSION:-v1.34.1}
# kubeadm v1.34 pins these (cmd/kubeadm/app/constants); build.sh fails if the kubeadm it built disagrees
etcd_version=v3.6.4 etcd_tag=3.6.4-0
coredns_version=v1.12.1
pause_tag=3.10.1
crictl_version=v0.34.1  # k8s.io/cri-api of our crictl (node-image/crictl)

log() { echo "node-image: $*" >&2; }

inputs_hash=$(
  {
    echo "$k8s_version $etcd_version $etcd_tag $coredns_version $pause_tag $crictl_version"
    cd "$here" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-12
)
ref="localhost/okl-node:$k8s_version-$inputs_hash"
archive="$OKL_CACHE/node-image/$k8s_version-$inputs_hash.tar"

if docker image inspect "$ref" >/dev/null 2>&1; then
  log "$ref is already in docker"
  echo "$ref"
  exit 0
fi
if [[ -f $archive ]]; then
  log "loading $archive"
  docker load -i "$archive" >&2
  echo "$ref"
  exit 0
fi

log "building $ref"
go_build() { "$here/build-go.sh" "$@"; }
k8s_bin=$(go_build k8s "$k8s_version")
etcd_bin=$(go_build etcd "$etcd_version")
coredns_bin=$(go_build coredns "$coredns_version")
crictl_bin=$(go_build crictl "$crictl_version")
pause_bin=$(go_build own "$here/pause")

# the image names and tags kubeadm will ask containerd for
mapfile -t wanted < <("$k8s_bin/kubeadm" config images list --kubernetes-version "$k8s_version")
declare -A source=(
  [registry.k8s.io/kube-apiserver:$k8s_version]="$k8s_bin/kube-apiserver"
  [registry.k8s.io/kube-controller-manager:$k8s_version]="$k8s_bin/kube-controller-manager"
  [registry.k8s.io/kube-scheduler:$k8s_version]="$k8s_bin/kube-scheduler"
  [registry.k8s.io/kube-proxy:$k8s_version]="$k8s_bin/kube-proxy"
  [registry.k8s.io/coredns/coredns:$coredns_version]="$coredns_bin/coredns"
  [registry.k8s.io/pause:$pause_tag]="$pause_bin/pause"
  [registry.k8s.io/etcd:$etcd_tag]="$etcd_bin/etcd"
)
for image in "${wanted[@]}"; do
  [[ -n ${source[$image]:-} ]] || { log "kubeadm $k8s_version wants $image, which this script does not build: update its versions"; exit 1; }
done

work="$OKL_CACHE/build/node-image"
rm -rf "$work"
mkdir -p "$work/ctx/bin" "$work/img" "$(dirname "$archive")"

# -- the images inside the node ------------------------------------------------------------------
binary_image() {  # binary_image REF BINARY [ENTRYPOINT]: one static binary on an empty image
  local ref=$1 bin=$2 entry=${3:-} dir
  dir="$work/img/$(basename "$bin")"
  mkdir -p "$dir"
  cp "$bin" "$dir/"
  {
    echo "FROM scratch"
    echo "COPY $(basename "$bin") /usr/local/bin/"
    echo "ENV PATH=/usr/local/bin:/usr/bin:/bin"
    [[ -z $entry ]] || echo "ENTRYPOINT [\"$entry\"]"
  } >"$dir/Dockerfile"
  docker build -q -t "$ref" "$dir" >&2
}
tools_ref="localhost/okl-node-tools:$inputs_hash"
docker build -q -t "$tools_ref" -f "$here/images/Dockerfile.tools" "$here/images" >&2
debian_image() {  # debian_image REF FILE: one file into /usr/local/bin of the Debian tools image
  local ref=$1 file=$2 dir
  dir="$work/img/$(basename "$file")"
  mkdir -p "$dir"
  cp "$file" "$dir/"
  printf 'FROM %s\nCOPY %s /usr/local/bin/\n' "$tools_ref" "$(basename "$file")" >"$dir/Dockerfile"
  docker build -q -t "$ref" "$dir" >&2
}

images=()
for image in "${wanted[@]}"; do
  case $image in
    */kube-proxy:*) debian_image "$image" "${source[$image]}" ;;       # kube-proxy runs iptables
    */coredns:*) binary_image "$image" "${source[$image]}" /usr/local/bin/coredns ;;
    */pause:*) binary_image "$image" "${source[$image]}" /usr/local/bin/pause ;;
    *) binary_image "$image" "${source[$image]}" ;;                   # kubeadm's manifests name the command
  esac
  images+=("$image")
done
debian_image localhost/okl-netd:v1 "$here/netd/okl-netd"
images+=(localhost/okl-netd:v1)
log "saving ${#images[@]} images for the node's containerd"
docker save -o "$work/images.tar" "${images[@]}"

# -- the node rootfs ------------------------------------------------------------------------------
cp "$here/Dockerfile" "$work/ctx/"
cp -a "$here/rootfs" "$work/ctx/"
sed -i "s/@PAUSE_VERSION@/$pause_tag/" "$work/ctx/rootfs/etc/containerd/config.toml"
echo "$k8s_version" >"$work/ctx/rootfs/kind/version"
cp "$k8s_bin/kubelet" "$k8s_bin/kubeadm" "$k8s_bin/kubectl" "$crictl_bin/crictl" "$work/ctx/bin/"
base_ref="localhost/okl-node-base:$k8s_version-$inputs_hash"
docker build -q -t "$base_ref" "$work/ctx" >&2

# -- import the images into the node's containerd, then commit -----------------------------------
builder="okl-e2e-nodebuild-$inputs_hash"
docker rm -f "$builder" >/dev/null 2>&1 || true
trap 'docker rm -f "$builder" >/dev/null 2>&1 || true' EXIT
docker run -d --name "$builder" --privileged --entrypoint /usr/bin/containerd "$base_ref" >/dev/null
for _ in $(seq 100); do
  docker exec "$builder" ctr version >/dev/null 2>&1 && break
  sleep 0.2
done
docker exec -i "$builder" ctr --namespace k8s.io images import --all-platforms --no-unpack - <"$work/images.tar" >&2
have=$(docker exec "$builder" ctr --namespace k8s.io images list -q)
for image in "${images[@]}"; do
  grep -qxF "$image" <<<"$have" || { log "$image is missing from the node's containerd after the import"; exit 1; }
done
docker exec "$builder" pkill -TERM -x containerd
docker wait "$builder" >/dev/null
# the builder ran containerd as its entrypoint: give the node its own back (STOPSIGNAL and ENV are
# kept from the base image; docker 20.10's commit cannot set STOPSIGNAL anyway)
docker commit \
  --change 'ENTRYPOINT ["/usr/local/bin/okl-node-entrypoint", "/lib/systemd/systemd"]' --change 'CMD []' \
  "$builder" "$ref" >/dev/null
stop_signal=$(docker image inspect -f '{{.Config.StopSignal}}' "$ref")
[[ $stop_signal == SIGRTMIN+3 ]] || { log "$ref stops with '$stop_signal', not SIGRTMIN+3 (systemd's halt)"; exit 1; }
log "saving $ref to $archive"
docker save -o "$archive.tmp" "$ref"
mv "$archive.tmp" "$archive"
# older archives of this Kubernetes version are stale inputs: keep the cache from growing
find "$(dirname "$archive")" -name "$k8s_version-*.tar" ! -name "$(basename "$archive")" -delete
rm -rf "$work"  # the images archive (~0.7 GB) and build context: the node image holds them now
echo "$ref"
