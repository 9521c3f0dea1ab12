#!/usr/bin/env bash
# The phase functions are called through `phase NAME FUNCTION` (shellcheck cannot see that).
# shellcheck disable=SC2317
# End-to-end test on a real kind cluster (`make e2e`; a stage of tests/run.sh), through the command users
# run: `ansible-playbook -i <inventory> playbooks/site.yml` on the e2e lab (lab.yml: 1 control plane + 2
# workers, every download from the test mirror, kind, kubectl and the node image built from source by the
# host and node_image stages), a no-op re-run of it, status.yml, a second lab with -e lab_only, and
# playbooks/destroy.yml at the end; the e2e's own playbooks check what the stages made. Nothing is faked
# but the base OS images of the function images and the veths standing in for VFs. Prints the seconds of
# each phase; exit status 0 only if every phase passed.
#
#   tests/e2e/run.sh                  # the whole run: build or load, site.yml, checks, destroy.yml
#   OKL_E2E_KEEP=1 tests/e2e/run.sh   # leave the lab running (kubeconfig printed at the end)
#   tests/e2e/run.sh prebuild         # only the builds that need no cluster (the host and node_image stages:
#                                     # kind, kubectl, the node image; the base images; the images stage
#                                     # without loading), into the caches the full run reads: tests/run.sh
#                                     # runs it beside the other stages
#   tests/e2e/run.sh prebuild-video   # only the video images (tests/run.sh builds them beside the e2e's
#                                     # first phases; OKL_E2E_PREBUILD_LOCK names the lock the e2e waits on)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
: "${OKL_CACHE:=/var/cache/openkasugai-tests}"
# shellcheck source=tests/bed/venv.sh
source "$repo/tests/bed/venv.sh"
: "${OKL_E2E_STATE:=/var/lib/openkasugai-e2e}"
export OKL_CACHE
k8s_version=${OKL_K8S_VERSION:-v1.34.1}
export OKL_K8S_VERSION=$k8s_version
export GOPATH="$OKL_CACHE/go" GOMODCACHE="$OKL_CACHE/go/pkg/mod" GOCACHE="$OKL_CACHE/go/cache" GOFLAGS=-modcacherw
export PATH="$GOPATH/bin:$PATH"
# shellcheck disable=SC1091
source "$OKL_VENV/bin/activate"
export ANSIBLE_COLLECTIONS_PATH="$repo/.collection-root" ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
# every task's start time and seconds in the log, and each play's slowest tasks and roles at its end (the
# e2e's plays only: the module phase parses what `ansible -m` prints); OKL_E2E_PROFILE_LIMIT=all lists every task
profile=(env "ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks,ansible.posix.profile_roles"
  "PROFILE_TASKS_TASK_OUTPUT_LIMIT=${OKL_E2E_PROFILE_LIMIT:-25}")

# The site mirror every download of the lab comes from (tests/e2e/lab.yml's lab_mirror reads OKL_MIRROR).
export OKL_MIRROR=${OKL_MIRROR:-$repo/../shared/mirror}
[[ -f $OKL_MIRROR/src/openkasugai-controller-v1.1.0.tar.gz ]] \
  || { echo "no site mirror at $OKL_MIRROR (src/openkasugai-controller-v1.1.0.tar.gz): set OKL_MIRROR"; exit 1; }

declare -a summary=()
# NOTE: the phase functions run in an `||` context, where bash ignores `set -e`: each one returns on
# its first failure explicitly.
phase() {  # phase NAME COMMAND...: run it, record its seconds
  local name=$1 start rc=0
  shift
  printf '\n===== e2e: %s =====\n' "$name"
  start=$(date +%s)
  "$@" || rc=$?
  summary+=("$(printf '%-14s %4ss  %s' "$name" "$(( $(date +%s) - start ))" "$([[ $rc -eq 0 ]] && echo ok || echo "FAILED ($rc)")")")
  return "$rc"
}
changed_tasks() {  # changed_tasks OUTPUT: the tasks of an ansible-playbook output that reported a change
  awk '/^TASK \[/ {task=$0} /^changed: / {print task; print "  " $0}' <<<"$1"
}
report() {
  printf '\n===== e2e summary =====\n'
  printf '%s\n' "${summary[@]}"
}

# kind and kubectl as the host stage installs them (built from source: lab.yml's lab_build_from_source).
kind_bin=/usr/local/bin/kind
kubectl_bin=/usr/local/bin/kubectl
# The from-source builds of the lab (Go toolchain and caches, binaries, node image archives): lab_build_cache_dir.
build_cache="$OKL_CACHE/lab-build"
go_zip="$OKL_CACHE/downloads/go-toolchain.zip"  # the pinned Go toolchain, downloaded by tests/bed/setup.sh

# The host and node_image stages of site.yml, as users run them (tags): kind and kubectl built from source
# and installed, the kind node image built from Kubernetes, etcd, CoreDNS and crictl sources on a Debian
# image made with debootstrap (module kind_base_image), or loaded from its archive in the build cache.
# Under make test the prebuild ran this same play and passed (OKL_E2E_PREBUILT=1): it is not run again (28 s of
# the e2e's path on a warm machine); the site phase's host and node_image stages check them all the same.
node_image=""
build_tools() {
  if [[ ${OKL_E2E_PREBUILT:-0} == 1 ]]; then
    echo "kind, kubectl and the node image: built by the prebuild, not looked for again"
  else
    collection_play site.yml --tags host,node_image || return
  fi
  "$kind_bin" version && "$kubectl_bin" version --client || return
  node_image=$(docker images --filter "reference=localhost/okl-node:$k8s_version-*" --format '{{.Repository}}:{{.Tag}}' | head -n 1)
  [[ -n $node_image ]] || { echo "no node image localhost/okl-node:$k8s_version-* in docker after the node_image stage"; return 1; }
  echo "node image: $node_image"
}

echo_image=""
build_echo_image() {
  local hash out dir
  hash=$(cat tests/e2e/echo/*.go | sha256sum | cut -c1-12)
  echo_image="localhost/okl-e2e-echo:$hash"
  if docker image inspect "$echo_image" >/dev/null 2>&1; then
    echo "$echo_image already built"
    return 0
  fi
  dir=$(mktemp -d)
  out="$dir/okl-e2e-echo"
  # main.go alone (the standard library only, no go.mod): `go build .` needs a module
  (cd tests/e2e/echo && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags '-s -w' -o "$out" main.go) || return
  printf 'FROM scratch\nCOPY okl-e2e-echo /usr/local/bin/\nENTRYPOINT ["/usr/local/bin/okl-e2e-echo"]\n' >"$dir/Dockerfile"
  docker build -q -t "$echo_image" "$dir" || return
  rm -rf "$dir"
}

# lab_args: what every play adds; -e okl_e2e_multilab=true once the second lab exists (lab_b below).
lab_args=()
common_args=(-e "okl_e2e_state_dir=$OKL_E2E_STATE" -e "okl_e2e_kind=$kind_bin" -e "okl_e2e_kubectl=$kubectl_bin"
  -e "okl_e2e_k8s_version=$k8s_version" -e "okl_e2e_build_cache=$build_cache" -e "okl_e2e_go_zip=$go_zip"
  -e "okl_e2e_go_cache=$OKL_CACHE/okl-go-build")
play() {  # play PLAYBOOK [extra args]
  "${profile[@]}" ansible-playbook "tests/e2e/$1" "${common_args[@]}" "${lab_args[@]}" "${@:2}"
}
# The collection's own playbook PLAYBOOK (playbooks/), as users run it, on the e2e lab (lab.yml's model,
# the e2e's devices settings as the devices role's variables, the stage settings of stages-vars.yml).
collection_play() {  # collection_play PLAYBOOK [extra args]
  "${profile[@]}" ansible-playbook -i tests/e2e/inventory.yml "playbooks/$1" -e "@tests/e2e/lab.yml" -e "@tests/e2e/real-source.yml" \
    -e "@tests/e2e/devices-vars.yml" -e "@tests/e2e/stages-vars.yml" -e "okl_e2e_repo=$repo" \
    "${common_args[@]}" "${lab_args[@]}" "${@:2}"
}
# The whole lab with the command users run: site.yml (host, accelerators, node image and cluster, devices
# (the stand-in VFs into the workers), images, add-ons, calc-basic run and checked). Then the e2e's checks
# of the cluster (tests/e2e/checks.yml: nodes, pods from our echo image, traffic between workers).
site() {
  make_stand_in_vfs && collection_play site.yml && play checks.yml -e "okl_e2e_echo_image=$echo_image"
}
# A second run of site.yml on the lab it made changes nothing (and sends no input again to a scenario whose
# last check passed): printed with its seconds, measured as users run it, with the default callback only (the
# profile callbacks' output and timestamps cost a few seconds of a no-op: the site phase's log has the profile).
site_noop() {
  local out start ms
  local -a profile=(env)   # collection_play's profile callbacks off (dynamic scope)
  start=$(date +%s%N)
  out=$(collection_play site.yml) || { printf '%s\n' "$out"; return 1; }
  sed -n '/^PLAY RECAP/,$p' <<<"$out"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf 'no-op site.yml: %d.%ds\n' $(( ms / 1000 )) $(( ms % 1000 / 100 ))
  grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' <<<"$out" || { echo "the second run of site.yml changed:"; changed_tasks "$out"; return 1; }
}

openkasugai() {  # play openkasugai.yml [extra args]
  play openkasugai.yml -e "okl_e2e_echo_image=$echo_image" "$@"
}
# state absent removes the DataFlow, waits until its function pods are gone, then the rest.
remove_scenario() {  # remove_scenario SCENARIOS-JSON [extra args]
  openkasugai -e scenario_run=false -e scenario_state=absent -e "{\"okl_e2e_scenarios\": $1}" "${@:2}"
}
# The seed's customized chain (send, plus, minus, rcv) as the multi-worker variant: the default
# deployment removed, then the custom chain spread over both workers, run and checked (tests/e2e/
# openkasugai.yml asserts each function pod runs where it was asked to). The add-ons are in place
# already (site.yml made them): this phase runs the scenario stage only. It stays deployed
# through the restart phase, which removes it.
multi_scenarios='[{"name": "calc-basic", "multi_worker": true, "chain": ["send", "plus", "minus", "rcv"], "inputs": ["7", "3", "5"]}]'
custom_multi() {
  remove_scenario '[{"name": "calc-basic"}]' && openkasugai -e okl_e2e_addons=false -e "{\"okl_e2e_scenarios\": $multi_scenarios}"
}
# The accelerator device plugin (tests/e2e/device-plugin.yml): its image built by the images stage, a
# fake sysfs tree on -worker, deployed by the add-ons stage, checked against the real kubelet, removed.
device_plugin() { play device-plugin.yml; }
# The video tools and cpufunc_gst built by the images stage (recipes: gst-perf from the mirror, Go from the
# golang:1.22 base) and run with buildah: gst-perf's element, the seed's pipeline elements, the wrapper.
# Under make test the video images prebuild (tests/run.sh, beside the first phases) ran this same play, checks
# included, and wrote its exit status to OKL_E2E_PREBUILD_VIDEO_RC: when it passed, the phase does not run it a
# second time (that took 63-133 s of the e2e's critical path: the archives exported again, the checks run again).
video_images() {
  local rc_file=${OKL_E2E_PREBUILD_VIDEO_RC:-}
  if [[ -n $rc_file && -s $rc_file && $(<"$rc_file") == 0 ]]; then
    echo "video-images.yml passed in the video images prebuild (its log: ${rc_file%.rc}.log): not run again"
    return 0
  fi
  play video-images.yml
}
# The seed's CPU video patterns, p1c1 (functions over cluster networking) and p1c2 (over LoadBalancer
# addresses), run by site.yml's host, images and scenario stages on the lab as users re-run stages with tags:
# GStreamer's tools on this host, the video images loaded (the send tool into the control plane, cpufunc_gst
# into the workers), the lab's sample video made, streamed by upstream's send tool Deployment to the real
# MetalLB address, the receiver stopped with SIGINT, its mp4 checked frame by frame against the sample
# (tests/e2e/video.yml reads what the stage left); p1c1 run again (scenario_rerun: the receiver started
# again through its wrapper's reload signal); then both removed with scenario_state=absent.
video_scenarios='[{"name": "video-p1c1"}, {"name": "video-p1c2"}]'
video_run() {
  collection_play site.yml --tags host,images,scenario -e "{\"okl_e2e_scenarios\": $video_scenarios}" \
    && collection_play site.yml --tags scenario -e "{\"okl_e2e_scenarios\": $video_scenarios}" \
      -e '{"scenario_names": ["video-p1c1"]}' -e scenario_rerun=true \
    && play video.yml -e "{\"okl_e2e_scenarios\": $video_scenarios}" \
    && remove_scenario "$video_scenarios" && play video.yml -e "{\"okl_e2e_scenarios\": $video_scenarios}" -e okl_e2e_video_removed=true
}
# The labs after their host restarts (tests/e2e/restart.yml): veths standing in for VFs are moved into
# each lab's -worker by the devices stage, with the keeper the role installed run here as a process (no
# systemd on this machine); the docker daemon is stopped and started as a reboot does (tests/bed/dockerd.sh),
# the veths made again while it is down (what the boot unit does for VFs); then every node of each lab
# must be back at its fixed address, Ready, every Pod and OpenKasugai object ready again, each net1 back
# in its worker with its address, and okl-e2e's multi-worker chain deployed before must pass its check again. Prints the
# seconds from the daemon back to the lab whole and to the calc check passed. Then the chain is removed
# (scenario_state=absent): WBFunction and WBConnection must work after the restart, not only report
# ready (they read their kind maps once at start: roles/addons/tasks/openkasugai.yml). The netdevs
# stay attached for destroy-b, which gives them back.
# The veths that stand in for VFs (tests/e2e/lab.yml's okl_e2e_devices): -worker's net1, and the one
# a pod on -worker2 takes through Multus. Each peer stays on this host.
stand_in_vfs=(okle2e-vf0 okle2e-vf1)
make_stand_in_vfs() {
  local vf
  for vf in "${stand_in_vfs[@]}"; do
    ip link show "$vf" >/dev/null 2>&1 || ip link show "${vf}p" >/dev/null 2>&1 \
      || ip link add "$vf" type veth peer name "${vf}p" || return
  done
}
# A manifest whose checksum does not match (MetalLB's, the last one fetched) refuses the add-ons stage
# before anything is applied or changed.
addons_bad_checksum() {
  local out
  if out=$(openkasugai -e okl_e2e_bad_checksum=metallb_manifest -e scenario_run=false -e '{"okl_e2e_scenarios": [{"name": "calc-basic"}]}'); then
    echo "a wrong checksum of metallb_manifest was accepted"
    return 1
  fi
  grep -q 'did not match' <<<"$out" || { printf '%s\n' "$out" | tail -n 30; echo "the stage failed, but not on the checksum"; return 1; }
  if grep -q '^changed: ' <<<"$out"; then echo "the stage changed something before it refused:"; changed_tasks "$out"; return 1; fi
  # tasks/apply.yml's task, whose name begins so for every kustomize tree the stage applies
  grep -q '^TASK \[openkasugai.all_in_one.addons : Apply and wait for ' <<<"$out" \
    && { echo "the stage applied something before it refused:"; grep '^TASK \[openkasugai.all_in_one.addons : Apply and wait for ' <<<"$out"; return 1; }
  echo "refused before any change: $(grep -o 'The checksum for [^"]*' <<<"$out" | head -n 1)"
}
# playbooks/status.yml, as users run it, on the e2e lab: its table and picture (status.md, status.svg
# under the lab's state) name every node, the stand-in VF in its node, every add-on ready and calc-basic
# passed (tests/e2e/check_status.py reads them).
lab_status() {
  collection_play status.yml -e "status_python=$(command -v python)" || return
  python tests/e2e/check_status.py "$OKL_E2E_STATE/status"
}
# The upstream add-ons for real (tests/e2e/addons.yml): the devices stage of site.yml moved the stand-in
# VFs into the workers; MetalLB serves a LoadBalancer address this host reaches over TCP and UDP; Multus gives a
# pod the netdev in -worker2 as net1 with an nv-ipam address this host reaches; the SR-IOV device
# plugin reports the lab's (empty) pool; sriov-cni is on every node.
addons_check() { play addons.yml -e okl_e2e_step=check -e "okl_e2e_echo_image=$echo_image"; }
restart_lab() {
  local keeper_pid back rc=0
  make_stand_in_vfs || return
  play restart.yml -e okl_e2e_restart_step=attach || return
  python3 "$OKL_E2E_STATE/netns-keeper/okl_netns_keeper.py" --config "$OKL_E2E_STATE/netns-keeper/config.json" \
    >"$OKL_E2E_STATE/netns-keeper.log" 2>&1 &
  keeper_pid=$!
  if bash tests/bed/dockerd.sh stop && make_stand_in_vfs && bash tests/bed/dockerd.sh start; then
    back=$(date +%s%N)
    play restart.yml -e okl_e2e_restart_step=check -e "okl_e2e_daemon_back=${back:0:-9}.${back: -9}" || rc=1
    if ((rc == 0)) && openkasugai -e lab_only=okl-e2e -e okl_e2e_addons=false -e scenario_rerun=true -e "{\"okl_e2e_scenarios\": $multi_scenarios}"; then
      echo "restart: the multi-worker chain checked again $(( ($(date +%s%N) - back) / 1000000 )) ms after the docker daemon was back"
      remove_scenario "$multi_scenarios" -e lab_only=okl-e2e || rc=1
    else
      rc=1
    fi
  else
    rc=1
  fi
  kill "$keeper_pid" && wait "$keeper_pid"
  echo "keeper log:"; tail -n 5 "$OKL_E2E_STATE/netns-keeper.log"
  return "$rc"
}
# Several labs on one host (issue: several isolated labs): okl-e2e-b (tests/e2e/lab.yml), 1 control
# plane + 1 worker on its own docker network and subnets, with a veth of its own standing in for a VF,
# built beside okl-e2e by site.yml -e lab_only=okl-e2e-b (cluster, its netdev, images loaded into its
# nodes only, OpenKasugai and calc-basic run and checked) while okl-e2e keeps running its multi-worker
# calc chain; then the isolation check (tests/e2e/multilab.yml). The restart phase restarts both labs'
# nodes and checks both; destroy-b removes okl-e2e-b with playbooks/destroy.yml -e lab_only=okl-e2e-b,
# as users run it, and okl-e2e must stay whole with its netdev and pass calc-basic again.
lab_b() {
  lab_args=(-e okl_e2e_multilab=true)
  stand_in_vfs+=(okle2e-vf2)
  # preflight's default (30 GiB) is for a lab whose images are still to be built; lab-b's are built, and its
  # two nodes take ~14 GB (each node's containerd holds its images: ~7 GB here). This machine, with the first
  # lab up (three such nodes), has less than 30 GiB left.
  make_stand_in_vfs && collection_play site.yml -e lab_only=okl-e2e-b -e preflight_min_disk_gb=20
}
lab_isolation() { play multilab.yml -e okl_e2e_multilab_step=isolation -e "okl_e2e_echo_image=$echo_image"; }
destroy_b() {
  collection_play destroy.yml -e lab_only=okl-e2e-b || return
  play multilab.yml -e okl_e2e_multilab_step=one_left || return
  lab_args=()  # okl-e2e-b is out of the inventory now
  openkasugai -e okl_e2e_addons=false -e '{"okl_e2e_scenarios": [{"name": "calc-basic"}]}'
}
# playbooks/destroy.yml, as users run it (both labs when a multilab phase failed before destroy-b): the
# netdevs back on the host, the clusters, their networks and kubeconfigs gone, kind and kubectl removed.
# The built images stay (--skip-tags images: the next run would otherwise rebuild every image; the
# molecule function_images scenario tests their removal). The veths' host peers are deleted after.
destroy_lab() {
  local vf rc=0 left
  if [[ -n $(docker ps -aq --filter label=io.x-k8s.kind.cluster=okl-e2e-b) ]]; then
    lab_args=(-e okl_e2e_multilab=true)
  fi
  collection_play destroy.yml --skip-tags images || rc=1
  lab_args=()
  for vf in "${stand_in_vfs[@]}"; do
    if ip link show "${vf}p" >/dev/null 2>&1; then ip link del "${vf}p" || rc=1; fi
  done
  left=$(docker ps -aq --filter label=io.x-k8s.kind.cluster=okl-e2e)
  [[ -z $left ]] || { echo "containers of okl-e2e are still there: $left"; rc=1; }
  if docker network inspect kind-okl-e2e >/dev/null 2>&1; then echo "the docker network kind-okl-e2e is still there"; rc=1; fi
  [[ ! -e $kind_bin ]] || { echo "$kind_bin is still there"; rc=1; }
  [[ ! -e $OKL_E2E_STATE/okl-e2e/kubeconfig ]] || { echo "okl-e2e's kubeconfig is still there"; rc=1; }
  return "$rc"
}
# The kind_cluster module's own lifecycle on the real node image: create, no-op re-run, drift refused,
# recreate planned, delete (tests/unit/plugins/modules/test_kind_cluster.py::test_real_lifecycle).
module_lifecycle() {
  OKL_NODE_IMAGE=$node_image OKL_KIND=$kind_bin python -m pytest -q -p no:cacheprovider \
    tests/unit/plugins/modules/test_kind_cluster.py -k test_real_lifecycle
}
# The images stage on the real OpenKasugai v1.1.0 source (tests/e2e/images.yml): controllers and calc
# functions built, loaded into the nodes and started there. Their base images are built from source by the
# stage itself (lab.yml's lab_build_from_source has base_images).
images() {  # images [extra args]
  play images.yml "$@"
}
# The images stage with no cluster to load into (prebuild): its builds land in buildah's storage and the
# archives, which the site phase of a full run then only loads. The device plugin's image too, which
# the device-plugin phase then finds built.
prebuild_images() { images -e function_images_kind_load=false -e function_images_device_plugin=true; }
# wait_lock LOCK WHAT: wait until whoever holds the lock file LOCK (tests/run.sh, for WHAT) lets it go; nothing to
# wait for without one (the e2e run on its own)
wait_lock() {
  local lock=$1 what=$2 start
  [[ -n $lock ]] || { echo "no $what to wait for"; return 0; }
  start=$(date +%s)
  flock "$lock" true || return
  echo "$what has ended: waited $(( $(date +%s) - start ))s for it"
}
# The video images built beside the first phases (tests/run.sh holds OKL_E2E_PREBUILD_LOCK while it builds
# them): wait until that build has ended, so that the rebuild check below sees no other image appear and the
# video-images phase finds them built (and, when that build passed, is not run again). Whatever that build
# left undone, the video-images phase builds.
wait_prebuild_video() { wait_lock "${OKL_E2E_PREBUILD_LOCK:-}" "the video images prebuild"; }
# Under make test, molecule's containers run on the same Docker engine as the labs, and the restart phase stops
# and starts it: wait until molecule has ended (tests/run.sh holds the lock OKL_E2E_DOCKER_LOCK names until then).
wait_docker_users() { wait_lock "${OKL_E2E_DOCKER_LOCK:-}" "molecule (the other user of the Docker engine)"; }
# One line changed in one controller (CPUFunction's main.go) rebuilds that controller's image only.
images_rebuild() {
  local src copy before after changed
  src=$(find "$OKL_E2E_STATE/function_images" -maxdepth 1 -name 'src-*' -type d | head -n 1)
  [[ -n $src ]] || { echo "no unpacked controller source under $OKL_E2E_STATE/function_images"; return 1; }
  copy="$OKL_E2E_STATE/changed-source"
  rm -rf "$copy"
  cp -a "$src" "$copy"
  echo '// a one-line change (tests/e2e/run.sh images_rebuild)' >>"$copy/src/CPUFunction/cmd/main.go"
  before=$(buildah images --noheading --format '{{.Name}}:{{.Tag}} {{.ID}}' | sort)
  images -e "okl_e2e_source_path=$copy" || return
  after=$(buildah images --noheading --format '{{.Name}}:{{.Tag}} {{.ID}}' | sort)
  changed=$(comm -13 <(echo "$before") <(echo "$after") | awk '{print $1}' | grep -v '^<none>' | tr '\n' ' ')
  echo "images rebuilt: ${changed:-none}"
  [[ $changed == "localhost/cpufunction:1.1.0 " ]] || { echo "expected exactly localhost/cpufunction:1.1.0 to be rebuilt"; return 1; }
  rm -rf "$copy"
}
collect_logs() {
  local dir="$repo/tests/output/e2e-logs"
  rm -rf "$dir"
  "$kind_bin" export logs "$dir" --name okl-e2e >/dev/null 2>&1 && echo "kind logs in $dir"
}

rc=0
mkdir -p "$OKL_E2E_STATE"
if [[ ${1:-} == prebuild ]]; then
  phase tools build_tools && phase echo-image build_echo_image && phase images prebuild_images || rc=1
  report
  exit "$rc"
fi
# tests/e2e/run.sh prebuild-video: the video images, which the e2e needs only from its video-images phase on:
# tests/run.sh builds them beside the e2e's first phases.
if [[ ${1:-} == prebuild-video ]]; then
  phase video-images video_images || rc=1
  report
  exit "$rc"
fi
# tests/e2e/run.sh only FUNCTION...: the builds, then only those phase functions on a lab made before (a
# developer's loop with OKL_E2E_KEEP=1, e.g. `only site video_run`).
if [[ ${1:-} == only ]]; then
  shift
  if phase tools build_tools && phase echo-image build_echo_image; then
    for name in "$@"; do phase "$name" "$name" || { rc=1; break; }; done
  else
    rc=1
  fi
  report
  exit "$rc"
fi
if phase tools build_tools && phase echo-image build_echo_image; then
  if phase site site && phase site-noop site_noop && phase prebuild-wait wait_prebuild_video \
    && phase images-rebuild images_rebuild && phase video-images video_images \
    && phase bad-checksum addons_bad_checksum && phase addons addons_check && phase status lab_status && phase calc-multi custom_multi \
    && phase video video_run \
    && phase device-plugin device_plugin && phase lab-b lab_b && phase isolation lab_isolation \
    && phase docker-wait wait_docker_users && phase restart restart_lab && phase destroy-b destroy_b; then
    :
  else
    rc=1
    collect_logs || echo "no kind logs could be exported"
  fi
  # the kind_cluster module's own lifecycle needs kind, which destroy.yml removes
  phase module module_lifecycle || rc=1
  if [[ ${OKL_E2E_KEEP:-0} == 1 ]]; then
    echo "lab kept: KUBECONFIG=$OKL_E2E_STATE/okl-e2e/kubeconfig"
  else
    phase destroy destroy_lab || rc=1
  fi
else
  rc=1
fi
report
exit "$rc"
