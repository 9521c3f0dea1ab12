#!/usr/bin/env bash
# The phase functions are called through `phase NAME FUNCTION` (shellcheck cannot see that).
# shellcheck disable=SC2317
# End-to-end test on a real kind cluster (`make e2e`; a stage of tests/run.sh). Everything is real:
# kind v0.32.0 (go install), a node image built offline from Debian packages and Go modules
# (node-image/build.sh, cached in $OKL_CACHE), the collection's preflight and kind_cluster roles
# creating 1 control plane + 2 workers, pods from an image we built, pod traffic between workers.
# Nothing is faked. Prints the seconds of each phase; exit status 0 only if every phase passed.
#
#   tests/e2e/run.sh                  # build (or load) the node image, create, check, delete
#   OKL_E2E_KEEP=1 tests/e2e/run.sh   # leave the cluster running (kubeconfig printed at the end)
#   tests/e2e/run.sh prebuild         # only the builds that need no cluster (kind, the node image, the
#                                     # base images, the images stage without loading), into the caches
#                                     # the full run reads: tests/run.sh runs it beside the other stages
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
: "${OKL_CACHE:=/var/cache/openkasugai-tests}"
: "${OKL_VENV:=$repo/.venv}"
: "${OKL_E2E_STATE:=/var/lib/openkasugai-e2e}"
export OKL_CACHE
kind_version=$(sed -n '/^  kind:/,/version:/s/^ *version: *//p' inventory/localhost-cpu/group_vars/all/downloads.yml)
k8s_version=${OKL_K8S_VERSION:-v1.34.1}
export OKL_K8S_VERSION=$k8s_version
export GOPATH="$OKL_CACHE/go" GOMODCACHE="$OKL_CACHE/go/pkg/mod" GOCACHE="$OKL_CACHE/go/cache" GOFLAGS=-modcacherw
export PATH="$GOPATH/bin:$PATH"
# shellcheck disable=SC1091
source "$OKL_VENV/bin/activate"
export ANSIBLE_COLLECTIONS_PATH="$repo/.collection-root" ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1

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

kind_bin="$GOPATH/bin/kind"
install_kind() {
  if [[ -x $kind_bin ]] && [[ $("$kind_bin" version) == "kind $kind_version "* ]]; then
    echo "kind $kind_version already in $kind_bin"
    return 0
  fi
  CGO_ENABLED=0 go install "sigs.k8s.io/kind@$kind_version" || return
  "$kind_bin" version
}

node_image=""
kubectl_bin=""
build_node_image() {
  node_image=$(tests/e2e/node-image/build.sh | tail -n 1) || return
  [[ $node_image == localhost/okl-node:* ]] || return 1
  echo "node image: $node_image"
  # kubectl from the same Kubernetes build (cached): the lab takes it as a local file (lab.yml)
  kubectl_bin=$(tests/e2e/node-image/build-go.sh k8s "$k8s_version")/kubectl || return
  [[ -x $kubectl_bin ]] || { echo "no kubectl at $kubectl_bin"; return 1; }
}

echo_image=""
build_echo_image() {
  local bin dir
  bin=$(tests/e2e/node-image/build-go.sh own tests/e2e/echo) || return
  echo_image="localhost/okl-e2e-echo:$(basename "$bin" | sed 's/^own-echo-//')"
  if docker image inspect "$echo_image" >/dev/null 2>&1; then
    echo "$echo_image already built"
    return 0
  fi
  dir=$(mktemp -d)
  cp "$bin/echo" "$dir/okl-e2e-echo" || return
  printf 'FROM scratch\nCOPY okl-e2e-echo /usr/local/bin/\nENTRYPOINT ["/usr/local/bin/okl-e2e-echo"]\n' >"$dir/Dockerfile"
  docker build -q -t "$echo_image" "$dir" || return
  rm -rf "$dir"
}

# lab_args: what every play adds; -e okl_e2e_multilab=true once the second lab exists (lab_b below).
lab_args=()
play() {  # play PLAYBOOK [extra args]
  ansible-playbook "tests/e2e/$1" -e "okl_e2e_state_dir=$OKL_E2E_STATE" -e "okl_e2e_kind=$kind_bin" \
    -e "okl_e2e_kubectl=$kubectl_bin" -e "okl_e2e_k8s_version=$k8s_version" "${lab_args[@]}" "${@:2}"
}
create_cluster() { play cluster.yml -e "okl_e2e_node_image=$node_image" -e okl_e2e_state=present; }
# The kind_cluster role on an unchanged model changes nothing (molecule's idempotence, on the real cluster).
recreate_noop() {
  local out
  out=$(create_cluster) || { printf '%s\n' "$out"; return 1; }
  printf '%s\n' "$out" | tail -n 4
  grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' <<<"$out" || { echo "the second run of kind_cluster changed:"; changed_tasks "$out"; return 1; }
}
check_cluster() { play checks.yml -e "okl_e2e_echo_image=$echo_image"; }

openkasugai() {  # play openkasugai.yml [extra args]
  play openkasugai.yml -e "okl_e2e_echo_image=$echo_image" "$@"
}
# The lab's add-ons and the real OpenKasugai v1.1.0 deployed, then calc-basic with its default chain
# run and checked (tests/e2e/openkasugai.yml); the seconds from the DataFlow applied to the results
# checked is in the scenario stage's result line (and result.json).
deploy_scenario() { openkasugai -e '{"okl_e2e_scenarios": [{"name": "calc-basic"}]}'; }
# A second run of the add-ons and scenario stages (without sending inputs again) changes nothing.
scenario_noop() {
  local out
  out=$(openkasugai -e scenario_run=false -e '{"okl_e2e_scenarios": [{"name": "calc-basic"}]}') || { printf '%s\n' "$out"; return 1; }
  printf '%s\n' "$out" | tail -n 3
  grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' <<<"$out" || { echo "the second run of the add-ons and scenario stages changed:"; changed_tasks "$out"; return 1; }
}
# state absent removes the DataFlow, waits until its function pods are gone, then the rest.
remove_scenario() {  # remove_scenario SCENARIOS-JSON [extra args]
  openkasugai -e scenario_run=false -e scenario_state=absent -e "{\"okl_e2e_scenarios\": $1}" "${@:2}"
}
# The seed's customized chain (send, plus, minus, rcv) as the multi-worker variant: the default
# deployment removed, then the custom chain spread over both workers, run and checked (tests/e2e/
# openkasugai.yml asserts each function pod runs where it was asked to). The add-ons are in place
# already (the no-op above proved it): this phase runs the scenario stage only. It stays deployed
# through the restart phase, which removes it.
multi_scenarios='[{"name": "calc-basic", "multi_worker": true, "chain": ["send", "plus", "minus", "rcv"], "inputs": ["7", "3", "5"]}]'
custom_multi() {
  remove_scenario '[{"name": "calc-basic"}]' && openkasugai -e okl_e2e_addons=false -e "{\"okl_e2e_scenarios\": $multi_scenarios}"
}
# The accelerator device plugin (tests/e2e/device-plugin.yml): its image built by the images stage, a
# fake sysfs tree on -worker, deployed by the add-ons stage, checked against the real kubelet, removed.
device_plugin() { play device-plugin.yml -e "@$bases_file"; }
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
  grep -q 'Install the upstream add-ons in order' <<<"$out" && { echo "an add-on was applied before the refusal"; return 1; }
  echo "refused before any change: $(grep -o 'The checksum for [^"]*' <<<"$out" | head -n 1)"
}
# playbooks/status.yml, as users run it, on the e2e lab: its table and picture (status.md, status.svg
# under the lab's state) name every node, the stand-in VF in its node, every add-on ready and calc-basic
# passed (tests/e2e/check_status.py reads them).
# The collection's own playbook PLAYBOOK (playbooks/), as users run it, on the e2e lab (lab.yml's model,
# the e2e's devices settings as the devices role's variables).
collection_play() {  # collection_play PLAYBOOK [extra args]
  ansible-playbook -i tests/e2e/inventory.yml "playbooks/$1" -e "@tests/e2e/lab.yml" -e "@tests/e2e/real-source.yml" \
    -e "@tests/e2e/devices-vars.yml" -e "okl_e2e_repo=$repo" -e "okl_e2e_state_dir=$OKL_E2E_STATE" -e "okl_e2e_kind=$kind_bin" \
    -e "okl_e2e_kubectl=$kubectl_bin" -e "okl_e2e_k8s_version=$k8s_version" "${lab_args[@]}" "${@:2}"
}
lab_status() {
  collection_play status.yml -e "status_python=$(command -v python)" || return
  python tests/e2e/check_status.py "$OKL_E2E_STATE/status"
}
# The upstream add-ons for real (tests/e2e/addons.yml): the devices stage moves the stand-in VFs into
# the workers; MetalLB serves a LoadBalancer address this host reaches over TCP and UDP; Multus gives a
# pod the netdev in -worker2 as net1 with an nv-ipam address this host reaches; the SR-IOV device
# plugin reports the lab's (empty) pool; sriov-cni is on every node.
addons_check() {
  make_stand_in_vfs && play addons.yml -e okl_e2e_step=attach \
    && play addons.yml -e okl_e2e_step=check -e "okl_e2e_echo_image=$echo_image"
}
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
    if ((rc == 0)) && openkasugai -e lab_only=okl-e2e -e okl_e2e_addons=false -e "{\"okl_e2e_scenarios\": $multi_scenarios}"; then
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
# built beside okl-e2e with -e lab_only=okl-e2e-b by the same stages (cluster, images loaded into its
# nodes only, OpenKasugai and calc-basic run and checked) while okl-e2e keeps running its multi-worker
# calc chain; then the isolation check (tests/e2e/multilab.yml). The restart phase restarts both labs'
# nodes and checks both; destroy-b removes okl-e2e-b with playbooks/destroy.yml -e lab_only=okl-e2e-b,
# as users run it, and okl-e2e must stay whole with its netdev and pass calc-basic again.
lab_b() {
  lab_args=(-e okl_e2e_multilab=true)
  stand_in_vfs+=(okle2e-vf2)
  make_stand_in_vfs \
    && play cluster.yml -e "okl_e2e_node_image=$node_image" -e okl_e2e_state=present -e lab_only=okl-e2e-b \
    && images -e lab_only=okl-e2e-b \
    && openkasugai -e lab_only=okl-e2e-b
}
lab_isolation() { play multilab.yml -e okl_e2e_multilab_step=isolation -e "okl_e2e_echo_image=$echo_image"; }
destroy_b() {
  collection_play destroy.yml -e lab_only=okl-e2e-b || return
  play multilab.yml -e okl_e2e_multilab_step=one_left || return
  lab_args=()  # okl-e2e-b is out of the inventory now
  openkasugai -e okl_e2e_addons=false -e '{"okl_e2e_scenarios": [{"name": "calc-basic"}]}' || return
  detach_stand_ins
}
# The devices stage gives the stand-in VFs back to the host; their host peers are deleted.
detach_stand_ins() {
  local vf rc=0
  play restart.yml -e okl_e2e_restart_step=detach || rc=1
  for vf in "${stand_in_vfs[@]}"; do
    ip link del "${vf}p" || rc=1
  done
  return "$rc"
}
delete_cluster() {
  if [[ -n $(docker ps -aq --filter label=io.x-k8s.kind.cluster=okl-e2e-b) ]]; then  # a multilab phase failed
    play cluster.yml -e "okl_e2e_node_image=$node_image" -e okl_e2e_state=absent -e okl_e2e_multilab=true -e lab_only=okl-e2e-b || return
  fi
  play cluster.yml -e "okl_e2e_node_image=$node_image" -e okl_e2e_state=absent || return
  local left
  left=$(docker ps -aq --filter label=io.x-k8s.kind.cluster=okl-e2e)
  [[ -z $left ]] || { echo "containers of okl-e2e are still there: $left"; return 1; }
}
# The kind_cluster module's own lifecycle on the real node image: create, no-op re-run, drift refused,
# recreate planned, delete (tests/unit/plugins/modules/test_kind_cluster.py::test_real_lifecycle).
module_lifecycle() {
  OKL_NODE_IMAGE=$node_image OKL_KIND=$kind_bin python -m pytest -q -p no:cacheprovider \
    tests/unit/plugins/modules/test_kind_cluster.py -k test_real_lifecycle
}
# The images stage on the real OpenKasugai v1.1.0 source (tests/e2e/images.yml): controllers and calc
# functions built, loaded into the nodes and started there. Base OS images: tests/bed/bases.sh.
bases_file=""
build_bases() {
  bases_file=$(tests/bed/bases.sh | tail -n 1) && echo "base images: $bases_file"
}
images() {  # images [extra args]
  play images.yml -e "@$bases_file" -e "okl_e2e_kind=$kind_bin" -e "okl_e2e_go_cache=$OKL_CACHE/okl-go-build" "$@"
}
build_images() { images; }
# The images stage with no cluster to load into (prebuild): its builds land in buildah's storage and the
# archives, which the images phase of a full run then only loads. The device plugin's image too, which
# the device-plugin phase then finds built.
prebuild_images() { images -e function_images_kind_load=false -e function_images_device_plugin=true; }
# A re-run of the images stage with nothing changed builds, exports and loads nothing.
images_noop() {
  local out start
  start=$(date +%s)
  out=$(images) || { printf '%s\n' "$out"; return 1; }
  printf '%s\n' "$out" | tail -n 3
  echo "no-op images stage: $(( $(date +%s) - start ))s"
  grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' <<<"$out" || { echo "the second run of the images stage changed:"; changed_tasks "$out"; return 1; }
}
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
  phase kind install_kind && phase node-image build_node_image && phase echo-image build_echo_image \
    && phase bases build_bases && phase images prebuild_images || rc=1
  report
  exit "$rc"
fi
if phase kind install_kind && phase node-image build_node_image && phase echo-image build_echo_image; then
  if phase create create_cluster && phase idempotence recreate_noop && phase checks check_cluster \
    && phase bases build_bases && phase images build_images && phase images-noop images_noop \
    && phase images-rebuild images_rebuild && phase openkasugai deploy_scenario && phase ok-noop scenario_noop \
    && phase bad-checksum addons_bad_checksum && phase addons addons_check && phase status lab_status && phase calc-multi custom_multi \
    && phase device-plugin device_plugin && phase lab-b lab_b && phase isolation lab_isolation \
    && phase restart restart_lab && phase destroy-b destroy_b; then
    :
  else
    rc=1
    collect_logs || echo "no kind logs could be exported"
  fi
  if [[ ${OKL_E2E_KEEP:-0} == 1 ]]; then
    echo "cluster kept: KUBECONFIG=$OKL_E2E_STATE/okl-e2e/kubeconfig"
  else
    phase delete delete_cluster || rc=1
  fi
  phase module module_lifecycle || rc=1
else
  rc=1
fi
report
exit "$rc"
