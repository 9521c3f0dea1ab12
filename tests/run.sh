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
# shellcheck source=tests/bed/venv.sh
source "$repo/tests/bed/venv.sh"
export OKL_CACHE

declare -a names=() times=() results=()
suite_start=$(date +%s)
# Each stage's output also goes to tests/output/stages/NAME.log; the summary repeats the end of a failed one's
# (CI keeps only the end of the whole output, where the e2e's long log comes last).
stage_logs="$repo/tests/output/stages"
stage() {  # stage NAME COMMAND...
  local name=$1 start rc
  shift
  printf '\n===== %s =====\n' "$name"
  mkdir -p "$stage_logs"
  start=$(date +%s)
  "$@" 2>&1 | tee "$stage_logs/$name.log"
  rc=${PIPESTATUS[0]}
  names+=("$name"); times+=("$(( $(date +%s) - start ))"); results+=("$rc")
  return 0
}
# what a failed stage said last: pytest's and molecule's verdict lines, then its last lines
stage_failure() {
  local log="$stage_logs/$1.log"
  [[ -f $log ]] || return 0
  printf '\n----- %s failed; the end of its output (all of it: %s) -----\n' "$1" "$log"
  grep -E '^(FAILED|ERROR) |^----- molecule .* FAILED' "$log"
  tail -n 30 "$log"
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
# whole when it ends, with its time. (A lower priority for them does not help the e2e beside them: what
# they run runs in their containers, children of the Docker engine, not of molecule; measured.)
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

# The e2e runs in the background from right after setup; lint, sanity, unit, integration and molecule, which
# mostly wait (on apt, systemd and the Docker engine), run beside it (see below for its prebuild): it is the
# longest stage, and this shell only runs the rest meanwhile. Its chain (e2e_chain, its output in
# tests/output/e2e-chain.log, printed at the end):
#  1. the builds that need no cluster (the node image, base images, controller, function and add-on images:
#     tens of minutes of compiling on a cold machine; `tests/e2e/run.sh prebuild`), alone, at a higher CPU and
#     I/O priority (nice -10, best-effort I/O class level 0) than anything else on the machine (e2e-prebuild in
#     the summary);
#  2. the video images (~2 GB each, needed from the e2e's video-images phase on; `tests/e2e/run.sh
#     prebuild-video`), built beside the e2e's first phases (site, its no-op re-run: mostly waiting on the
#     cluster) at a lower priority (nice 10, best-effort I/O level 7) so that the lab's control plane is not
#     starved; the e2e waits for the lock the build holds (OKL_E2E_PREBUILD_LOCK) before its rebuild check
#     (e2e-prebuild-video in the summary, wall clock). It runs the e2e's video-images play, checks included,
#     and leaves its exit status in OKL_E2E_PREBUILD_VIDEO_RC: when it passed, that phase is not run again;
#  3. the e2e itself (at the default priority). Its restart phase stops and starts the Docker engine, which
#     molecule's containers run on: it first waits for the lock this shell holds until molecule has ended
#     (OKL_E2E_DOCKER_LOCK).
# On a cold machine the prebuild is CPU-bound on both cores for half an hour and the longest path of the run, and
# whatever ran beside it (molecule's package installs, sanity's pylint, the unit tests) made it that much longer
# (80 min cold with them beside it). So while it runs, lint, ruff and sanity run at nice 19 (they take only the
# CPU it leaves idle: its downloads, debootstrap, package installs), and unit, integration and molecule wait
# until it has ended (tests/output/e2e-prebuild.lock, held by the chain until then): their timing tests and
# molecule's containers (children of the Docker engine) would compete with it. They then run beside the e2e, as on
# a warm machine (its first phases mostly wait on the cluster), and end long before its restart phase needs
# molecule gone. On a warm machine the prebuild is over in a minute. OKL_E2E_PREBUILD_NICE=0 runs it at the
# default priority; OKL_E2E_PREBUILD=0 leaves the builds to the e2e's own phases and starts the rest at once.
output="$repo/tests/output"
chain_pid="" chain_log="$output/e2e-chain.log" chain_results="$output/e2e-chain.results"
docker_lock="$output/docker-users.lock" prebuild_lock="$output/e2e-prebuild.lock" prebuild_locked=0
e2e_chain() {
  local start rc video_pid="" video_start=0 video_end="$output/e2e-prebuild-video.end"
  local video_lock="$output/e2e-prebuild-video.lock" prebuild_log="$output/e2e-prebuild.log" video_log="$output/e2e-prebuild-video.log"
  local video_rc="$output/e2e-prebuild-video.rc"
  if [[ ${OKL_E2E_PREBUILD:-1} == 1 ]]; then
    echo "e2e prebuild (log $prebuild_log)"
    start=$(date +%s)
    nice -n "-${OKL_E2E_PREBUILD_NICE:-10}" ionice -t -c 2 -n 0 bash tests/e2e/run.sh prebuild 7>&- >"$prebuild_log" 2>&1
    rc=$?
    exec 7>&-   # the other stages start now (wait_prebuild)
    echo "e2e-prebuild $rc $(( $(date +%s) - start ))" >>"$chain_results"
    echo "e2e-prebuild finished (rc $rc); its phases:"
    sed -n '/===== e2e summary =====/,$p' "$prebuild_log"
    if ((rc == 0)); then
      export OKL_E2E_PREBUILT=1   # the e2e's tools phase does not run the prebuild's play again
    else
      echo "the e2e builds what the prebuild left undone; its log:"; tail -n 40 "$prebuild_log"
    fi
    # the subshell keeps fd 9, and with it the lock, until it exits; the build itself runs without it
    exec 9>"$video_lock"
    flock 9
    video_start=$(date +%s)
    rm -f "$video_rc"
    { nice -n 10 ionice -t -c 2 -n 7 bash tests/e2e/run.sh prebuild-video 9>&-; rc=$?; date +%s >"$video_end"
      echo "$rc" >"$video_rc"; exit "$rc"; } >"$video_log" 2>&1 &
    video_pid=$!
    exec 9>&-
    export OKL_E2E_PREBUILD_LOCK=$video_lock OKL_E2E_PREBUILD_VIDEO_RC=$video_rc
    echo "e2e video images prebuild started (log $video_log)"
  fi
  start=$(date +%s)
  bash tests/e2e/run.sh
  echo "e2e $? $(( $(date +%s) - start ))" >>"$chain_results"
  if [[ -n $video_pid ]]; then
    rc=0
    wait "$video_pid" || rc=$?
    echo "e2e-prebuild-video $rc $(( $(cat "$video_end") - video_start ))" >>"$chain_results"
    echo "e2e-prebuild-video finished (rc $rc); its phases:"
    sed -n '/===== e2e summary =====/,$p' "$video_log"
    ((rc == 0)) || { echo "the e2e's video-images phase builds what it left undone; its log:"; tail -n 40 "$video_log"; }
  fi
}
if wanted e2e; then
  mkdir -p "$output"
  rm -f "$chain_results"
  if wanted molecule; then
    # held by this shell (fd 8) until molecule has ended; the chain does not inherit it
    exec 8>"$docker_lock"
    flock 8
    export OKL_E2E_DOCKER_LOCK=$docker_lock
  fi
  if [[ ${OKL_E2E_PREBUILD:-1} == 1 ]]; then
    # fd 7: taken here, held by the chain (its copy) until its prebuild has ended, then let go
    exec 7>"$prebuild_lock"
    flock 7
    prebuild_locked=1
  fi
  e2e_chain 8>&- >"$chain_log" 2>&1 &
  chain_pid=$!
  ((prebuild_locked)) && exec 7>&-
  echo "e2e started in the background (pid $chain_pid, log $chain_log)"
fi
# the e2e's chain: wait for it, print its log, put its parts in the summary
wait_e2e() {
  local name rc seconds
  [[ -n $chain_pid ]] || return 0
  printf '\n===== e2e (in the background since setup) =====\n'
  wait "$chain_pid"
  cat "$chain_log"
  while read -r name rc seconds; do
    names+=("$name"); times+=("$seconds"); results+=("$rc")
  done <"$chain_results"
}
# whether the e2e's prebuild still runs
prebuild_running() { ((prebuild_locked)) && ! flock -n "$prebuild_lock" true; }
# wait until the e2e's prebuild has ended (nothing to wait for without one)
wait_prebuild() {
  local start
  prebuild_running || { prebuild_locked=0; return 0; }
  start=$(date +%s)
  printf '\nwaiting for the e2e prebuild before the stages that need the CPU (log %s)\n' "$output/e2e-prebuild.log"
  flock "$prebuild_lock" true
  prebuild_locked=0
  echo "the e2e prebuild has ended: waited $(( $(date +%s) - start ))s"
}
# renice_tree NICE PID...: those processes and all their descendants to NICE
renice_tree() {
  local nice=$1 pid
  shift
  for pid in "$@"; do
    renice -n "$nice" -p "$pid" >/dev/null 2>&1   # a process may have ended meanwhile
    # shellcheck disable=SC2046  # pgrep prints one pid per line
    renice_tree "$nice" $(pgrep -P "$pid")
  done
}
# run a stage (a command or a function) at the lowest CPU priority while the prebuild runs: it then takes only
# the CPU the prebuild leaves idle (its downloads, debootstrap, its image builds' package installs); when the
# prebuild ends first, the stage's processes get the default priority back
while_prebuild_idle() {
  prebuild_running || { "$@"; return; }
  (
    stage_pid=$BASHPID
    renice -n 19 -p "$stage_pid" >/dev/null
    { flock "$prebuild_lock" true && renice_tree 0 "$stage_pid"; } &
    watcher=$!
    rc=0
    "$@" || rc=$?
    kill "$watcher" 2>/dev/null
    exit "$rc"
  )
}
molecule_then_release() {
  local rc=0
  molecule_all || rc=$?
  if [[ -n ${OKL_E2E_DOCKER_LOCK:-} ]]; then
    flock -u 8
    exec 8>&-
  fi
  return "$rc"
}

for s in $selected; do
  case $s in
    setup) ;;
    # no timing in them: they may wait for whatever CPU the prebuild leaves
    lint) stage ansible-lint while_prebuild_idle ansible-lint --profile production ;;
    ruff) stage ruff while_prebuild_idle ruff check plugins tests ;;
    sanity) stage ansible-test-sanity while_prebuild_idle sanity ;;
    # gRPC and kubelet-restart tests, molecule's containers (children of the Docker engine, which no nice reaches)
    unit) wait_prebuild; stage pytest-unit python -m pytest -q tests/unit ;;
    integration) wait_prebuild; stage pytest-integration python -m pytest -q tests/integration ;;
    molecule) wait_prebuild; stage molecule molecule_then_release ;;
    e2e) ;;
    *) echo "unknown stage $s"; exit 2 ;;
  esac
done

wait_e2e

for i in "${!names[@]}"; do
  [[ ${results[$i]} -eq 0 ]] || stage_failure "${names[$i]}"
done
printf '\n===== summary =====\n'
status=0
for i in "${!names[@]}"; do
  verdict=passed
  [[ ${results[$i]} -eq 0 ]] || { verdict=FAILED; status=1; }
  printf '%-22s %-7s %5ss\n' "${names[$i]}" "$verdict" "${times[$i]}"
done
# the stages overlap (the e2e runs beside lint ... molecule): the wall clock, not their sum
total=$(( $(date +%s) - suite_start ))
printf '%-22s %-7s %5ss = %d min %02d s (wall clock)\n' total "$( ((status == 0)) && echo passed || echo FAILED)" "$total" $((total / 60)) $((total % 60))
exit $status
