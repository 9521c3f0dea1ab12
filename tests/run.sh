#!/usr/bin/env bash
# The stage functions are called through `stage NAME FUNCTION`, which shellcheck cannot follow.
# shellcheck disable=SC2317
# The whole test suite, as CI runs it (`make test`). Prepares the machine
# (tests/bed/setup.sh), then runs every stage even when one fails, and prints a
# summary with the time each stage took. Exit status: 0 only if all passed.
#
#   tests/run.sh                 # everything
#   tests/run.sh lint unit       # only these stages (setup lint ruff sanity unit integration molecule e2e)
#   OKL_MOLECULE_SCENARIOS="preflight host" tests/run.sh molecule
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
: "${OKL_CACHE:=/var/cache/openkasugai-tests}"
: "${OKL_VENV:=$repo/.venv}"
export OKL_CACHE OKL_VENV

declare -a names=() times=() results=()
stage() {  # stage NAME COMMAND...
  local name=$1 start rc
  shift
  printf '\n===== %s =====\n' "$name"
  start=$(date +%s)
  "$@"
  rc=$?
  names+=("$name"); times+=("$(( $(date +%s) - start ))"); results+=("$rc")
  return 0
}

wanted() { [[ $# -eq 0 ]] || [[ " $selected " == *" $1 "* ]]; }
selected="${*:-setup lint ruff sanity unit integration molecule e2e}"

stage setup bash tests/bed/setup.sh
[[ ${results[0]} -eq 0 ]] || { echo "machine setup failed: nothing else can run"; exit 1; }
# shellcheck disable=SC1091
source "$OKL_VENV/bin/activate"
export ANSIBLE_COLLECTIONS_PATH="$repo/.collection-root"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1

sanity() {
  # ansible-test builds a venv per sanity test and bootstraps pip in it with get-pip.py from a
  # host our CI cannot reach: give it our stand-in (tests/bed/get_pip_standin.py) instead.
  local pip_version
  pip_version=$(python -c 'import re, ansible_test, os; print(re.search(r"pip=.([0-9.]+)", open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()).group(1))')
  install -D -m 0644 tests/bed/get_pip_standin.py "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  # ansible-test wants the collection at ansible_collections/<ns>/<name>: test a copy
  # of the files git knows about (tracked or not ignored).
  local root
  root=$(mktemp -d)
  mkdir -p "$root/ansible_collections/openkasugai/all_in_one"
  git ls-files -co --exclude-standard -z | grep -zv '^.collection-root/' |
    tar --null -T - -cf - | tar -xf - -C "$root/ansible_collections/openkasugai/all_in_one"
  (cd "$root/ansible_collections/openkasugai/all_in_one" &&
    ansible-test sanity --python 3.11 --color no --skip-test changelog)
  local rc=$?
  rm -rf "$root"
  return "$rc"
}

# Scenarios run OKL_MOLECULE_JOBS at a time (default 2: they mostly wait on apt, systemd and the
# Docker engine, and each has its own containers, networks and caches), each into its own log, printed
# whole when it ends, with its time.
molecule_all() {
  local scenarios rc=0 jobs=${OKL_MOLECULE_JOBS:-2} dir="$repo/tests/output/molecule" s
  # the longest first (cold: node_image 11 min, host 9, accelerators 8, devices 7, function_images 5), the rest after
  local longest="node_image host accelerators devices function_images"
  scenarios=${OKL_MOLECULE_SCENARIOS:-$(find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -rn1 basename \
    | awk -v order="$longest" 'BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) rank[o[i]] = i }
                                { print (($0 in rank) ? rank[$0] : 99) " " $0 }' | sort -k1,1n -k2 | cut -d" " -f2)}
  rm -rf "$dir"
  mkdir -p "$dir"
  molecule_one() {
    local start
    start=$(date +%s)
    molecule test -s "$1" >"$dir/$1.log" 2>&1
    echo "$? $(( $(date +%s) - start ))" >"$dir/$1.result"
  }
  # only these jobs are waited for (the e2e prebuild runs in the background of this shell too)
  local -a running=() pids=() alive
  prune() { alive=(); local pid; for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done; pids=("${alive[@]}"); }
  for s in $scenarios; do
    prune
    while (( ${#pids[@]} >= jobs )); do wait -n "${pids[@]}"; prune; done
    molecule_one "$s" &
    pids+=("$!")
    running+=("$s")
  done
  prune
  while (( ${#pids[@]} > 0 )); do wait -n "${pids[@]}"; prune; done
  for s in "${running[@]}"; do
    local result seconds
    read -r result seconds <"$dir/$s.result" || { result=1 seconds=0; }
    printf '\n----- molecule test -s %s -----\n' "$s"
    cat "$dir/$s.log"
    if [[ $result == 0 ]]; then
      printf -- '----- molecule %s passed in %ss\n' "$s" "$seconds"
    else
      printf -- '----- molecule %s FAILED in %ss\n' "$s" "$seconds"
      rc=1
    fi
  done
  return "$rc"
}

# The e2e's builds that need no cluster (the node image, base images, controller, function and add-on
# images: tens of minutes of compiling on a cold machine) run in the background from here on, beside
# lint, sanity, unit and molecule, which mostly wait; the e2e stage waits for them, then finds every
# build cached and only loads. Their time is in the summary as e2e-prebuild (wall clock, overlapped).
# They are the longest path of a cold run (the e2e waits for them; molecule, the other long stage, ends
# well before them), so they run at a higher CPU and I/O priority (nice -10, best-effort I/O class level 0):
# on 2 cores the kernel then gives the compilers the CPU, and molecule, which mostly waits on apt, systemd
# and the Docker engine, the rest. The unit and integration tests run at the same priority as the prebuild
# (a cold run saw the device plugin's kubelet-restart test fail behind it at nice 0).
# OKL_E2E_PREBUILD_NICE=0 runs them all at the default priority.
prebuild_pid="" prebuild_start=0
prebuild_log="$repo/tests/output/e2e-prebuild.log"
prebuild_end="$repo/tests/output/e2e-prebuild.end"
if wanted e2e && [[ ${OKL_E2E_PREBUILD:-1} == 1 ]]; then
  mkdir -p "$(dirname "$prebuild_log")"
  rm -f "$prebuild_end"
  prebuild_start=$(date +%s)
  # its own time is when it ended, not when the e2e stage came to wait for it
  { nice -n "-${OKL_E2E_PREBUILD_NICE:-10}" ionice -t -c 2 -n 0 bash tests/e2e/run.sh prebuild; rc=$?
    date +%s >"$prebuild_end"; exit "$rc"; } >"$prebuild_log" 2>&1 &
  prebuild_pid=$!
  echo "e2e prebuild started in the background (pid $prebuild_pid, log $prebuild_log)"
fi
# collect_background NAME PID START END-FILE LOG WHAT-IF-FAILED: wait for a background build, put its wall-clock time
# (until it ended, not until this shell came to wait) in the summary, print its phases, and its log's tail if it failed
collect_background() {
  local name=$1 pid=$2 start=$3 end=$4 log=$5 fallback=$6 rc=0
  [[ -n $pid ]] || return 0
  wait "$pid" || rc=$?
  names+=("$name"); times+=("$(( $(cat "$end") - start ))"); results+=("$rc")
  echo "$name finished (rc $rc); its phases:"
  sed -n '/===== e2e summary =====/,$p' "$log"
  ((rc == 0)) || { echo "$fallback; its log:"; tail -n 40 "$log"; }
}
wait_prebuild() {
  collect_background e2e-prebuild "$prebuild_pid" "$prebuild_start" "$prebuild_end" "$prebuild_log" \
    "the e2e builds what the prebuild left undone"
}
# The video images (~2 GB each, the e2e needs them from its video-images phase on) are built beside the e2e's
# first phases (site, its no-op re-run: mostly waiting on the cluster), at a lower priority than the e2e
# (nice 10, best-effort I/O level 7) so that the lab's control plane is not starved. The e2e waits for the lock
# this shell takes here and the build holds until it ends (tests/e2e/run.sh wait_prebuild_video). Its time is
# in the summary as e2e-prebuild-video (wall clock, overlapped with the e2e).
video_pid="" video_start=0
video_log="$repo/tests/output/e2e-prebuild-video.log"
video_end="$repo/tests/output/e2e-prebuild-video.end"
video_lock="$repo/tests/output/e2e-prebuild-video.lock"
start_prebuild_video() {
  [[ -n $prebuild_pid ]] || return 0
  rm -f "$video_end"
  exec 9>"$video_lock"
  flock 9
  video_start=$(date +%s)
  # the subshell keeps fd 9, and with it the lock, until it exits; the build itself runs without it
  { nice -n 10 ionice -t -c 2 -n 7 bash tests/e2e/run.sh prebuild-video 9>&-; rc=$?; date +%s >"$video_end"; exit "$rc"; } \
    >"$video_log" 2>&1 &
  video_pid=$!
  exec 9>&-
  export OKL_E2E_PREBUILD_LOCK=$video_lock
  echo "e2e video images prebuild started in the background (pid $video_pid, log $video_log)"
}
wait_prebuild_video() {
  collect_background e2e-prebuild-video "$video_pid" "$video_start" "$video_end" "$video_log" \
    "the e2e's video-images phase builds what it left undone"
}

for s in $selected; do
  case $s in
    setup) ;;
    lint) stage ansible-lint ansible-lint --profile production ;;
    ruff) stage ruff ruff check plugins tests ;;
    sanity) stage ansible-test-sanity sanity ;;
    # at the prebuild's priority: their gRPC and timing tests must not starve behind its compilers
    unit) stage pytest-unit nice -n "-${OKL_E2E_PREBUILD_NICE:-10}" python -m pytest -q tests/unit ;;
    integration) stage pytest-integration nice -n "-${OKL_E2E_PREBUILD_NICE:-10}" python -m pytest -q tests/integration ;;
    molecule) stage molecule molecule_all ;;
    e2e) wait_prebuild; start_prebuild_video; stage e2e bash tests/e2e/run.sh; wait_prebuild_video ;;
    *) echo "unknown stage $s"; exit 2 ;;
  esac
done

printf '\n===== summary =====\n'
status=0
for i in "${!names[@]}"; do
  verdict=passed
  [[ ${results[$i]} -eq 0 ]] || { verdict=FAILED; status=1; }
  printf '%-22s %-7s %5ss\n' "${names[$i]}" "$verdict" "${times[$i]}"
done
exit $status
