#!/usr/bin/env bash
# Attach 64 netdevs to a container's netns and back: our way against the seed's shell-loop way.
#
# Real: 64 veth pairs on the docker host, one privileged container from the local Debian image,
# real moves between network namespaces, each netdev given an address and set up.
# "ours": the netns_attach module itself, run by `ansible localhost -m openkasugai.all_in_one.netns_attach`
#   (one call to attach with addresses, one to return): the time includes Ansible's start-up and
#   module transfer, which is what a user pays.
# "ours, library": the same work through module_utils/netns.py imported by python (no Ansible start-up).
# "kernel floor": only the 64 moves each way with one bare `ip -batch` per direction, no addresses:
#   what any tool must pay (the kernel serializes netns moves under RTNL).
# "seed": the seed's style: list the host's links with `ip addr | grep`, then, per device, one
#   `ip link set <dev> netns <pid>`, one `nsenter ... ip addr add` and one `nsenter ... ip link set up`;
#   back the same way. Same end state.
# Target: ours < 3 s for attach + return, and >= 5x faster than the seed loop. Prints, never asserts.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
OKL_CACHE=${OKL_CACHE:-/var/cache/openkasugai-tests}
# shellcheck source=tests/bed/venv.sh
source "$repo/tests/bed/venv.sh"
# shellcheck disable=SC1091
source "$OKL_VENV/bin/activate"
export ANSIBLE_COLLECTIONS_PATH="$repo/.collection-root" ANSIBLE_FORCE_COLOR=0
N=${OKL_BENCH_NETDEVS:-64}
tag=okb$$
node=okl-bench-netns-$$
image=${OKL_BASE_IMAGE:-localhost/okl-debian:bookworm-systemd}

cleanup() {
  docker rm -f "$node" >/dev/null 2>&1 || true   # cleanup on exit: the container may already be gone
  for i in $(seq 0 $((N - 1))); do ip link del "${tag}h$i" 2>/dev/null || true; done
}
trap cleanup EXIT

docker run -d --name "$node" --privileged --network none "$image" sleep 3600 >/dev/null
pid=$(docker inspect -f '{{.State.Pid}}' "$node")
for i in $(seq 0 $((N - 1))); do
  ip link add "${tag}v$i" type veth peer name "${tag}h$i"
done
now() { date +%s.%N; }
count_inside() { nsenter --net="/proc/$pid/ns/net" ip -o link show | grep -c "${tag}v" || true; }

# --- ours -------------------------------------------------------------------------------------
addresses=$(python3 -c "import json,sys; n=int(sys.argv[1]); t=sys.argv[2]; print(json.dumps({f'{t}v{i}': f'10.{200 + i // 250}.{i % 250}.1/24' for i in range(n)}))" "$N" "$tag")
args_in=$(printf '{"container": "%s", "regex": "^%sv[0-9]+$", "addresses": %s}' "$node" "$tag" "$addresses")
args_out=$(printf '{"container": "%s", "regex": "^%sv[0-9]+$", "state": "absent"}' "$node" "$tag")
t0=$(now)
ansible localhost -o -m openkasugai.all_in_one.netns_attach -a "$args_in" >/dev/null
t1=$(now)
inside_ours=$(count_inside)
ansible localhost -o -m openkasugai.all_in_one.netns_attach -a "$args_out" >/dev/null
t2=$(now)
t_noop0=$(now)
ansible localhost -o -m openkasugai.all_in_one.netns_attach -a "$args_out" >/dev/null
t_noop1=$(now)
lib=$(PYTHONPATH="$repo/.collection-root" python3 - "$node" "$tag" "$addresses" <<'PY'
import json, subprocess, sys, time
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli, netns


def run(argv, data=None):
    p = subprocess.run(argv, input=data, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


node, tag, addresses = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
t0 = time.time()
pid = docker_cli.container_pid(run, node)
tools = netns.Tools(run)
sel = netns.Selection(regex='^%sv[0-9]+$' % tag, addresses=addresses)
assert netns.ensure(tools, sel, pid)[0]
t1 = time.time()
assert netns.ensure(tools, sel, pid, state='absent')[0]
print('%f %f' % (t1 - t0, time.time() - t1))
PY
)
read -r lib_in lib_out <<<"$lib"
t6=$(now)
for i in $(seq 0 $((N - 1))); do echo "link set dev ${tag}v$i netns $pid"; done | ip -batch -
t7=$(now)
for i in $(seq 0 $((N - 1))); do echo "link set dev ${tag}v$i netns $$"; done | nsenter --net="/proc/$pid/ns/net" ip -batch -
t8=$(now)

# --- seed style ---------------------------------------------------------------------------------
t3=$(now)
ip addr | grep -o "^[0-9]*: ${tag}v[0-9]*" | cut -d' ' -f2 | while read -r dev; do
  n=${dev#"${tag}v"}
  ip link set "$dev" netns "$pid"
  nsenter --net="/proc/$pid/ns/net" ip addr add "10.$((200 + n / 250)).$((n % 250)).1/24" dev "$dev"
  nsenter --net="/proc/$pid/ns/net" ip link set "$dev" up
done
t4=$(now)
inside_seed=$(count_inside)
nsenter --net="/proc/$pid/ns/net" ip addr | grep -o "^[0-9]*: ${tag}v[0-9]*" | cut -d' ' -f2 | while read -r dev; do
  nsenter --net="/proc/$pid/ns/net" ip link set "$dev" netns $$
done
t5=$(now)

python3 - "$N" "$inside_ours" "$inside_seed" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$t_noop0" "$t_noop1" "$lib_in" "$lib_out" "$t6" "$t7" "$t8" <<'PY'
import sys
n, in_ours, in_seed = sys.argv[1:4]
t0, t1, t2, t3, t4, t5, n0, n1, lib_in, lib_out, t6, t7, t8 = map(float, sys.argv[4:])
ours, seed = t2 - t0, t5 - t3
print(f"netdevs: {n} (inside after attach: ours {in_ours}, seed {in_seed})")
print(f"ours (ansible -m netns_attach): attach {t1 - t0:.2f} s + return {t2 - t1:.2f} s = {ours:.2f} s  (target < 3 s)")
print(f"ours, no-op re-run (everything already back): {n1 - n0:.2f} s")
print(f"seed shell loop:               attach {t4 - t3:.2f} s + return {t5 - t4:.2f} s = {seed:.2f} s")
print(f"ours, library (import netns.py): attach {lib_in:.2f} s + return {lib_out:.2f} s = {lib_in + lib_out:.2f} s")
print(f"kernel floor (bare ip -batch, moves only): {t7 - t6:.2f} s + {t8 - t7:.2f} s = {t8 - t6:.2f} s"
      f" = {(t8 - t6) / (2 * int(n)) * 1000:.1f} ms per move")
print(f"ratio seed/ours: ansible {seed / ours:.1f}x, library {seed / (lib_in + lib_out):.1f}x  (target >= 5x)")
print(f"above the kernel floor: seed {seed - (t8 - t6):.2f} s, ours library {lib_in + lib_out - (t8 - t6):.2f} s")
PY
