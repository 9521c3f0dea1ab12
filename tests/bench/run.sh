#!/usr/bin/env bash
# Runs every benchmark under tests/bench/ and prints what each measured.
# Benchmarks report numbers against their targets; they never fail on time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
OKL_CACHE=${OKL_CACHE:-/var/cache/openkasugai-tests}
# shellcheck source=tests/bed/venv.sh
source "$repo/tests/bed/venv.sh"
# shellcheck disable=SC1091
source "$OKL_VENV/bin/activate"
# The import path pytest.ini gives the tests: the collection as Ansible imports it (helpers included:
# ansible_collections.openkasugai.all_in_one.tests.unit.fakesys) and the accelerator device plugin.
export PYTHONPATH="$repo/.collection-root:$repo/roles/function_images/files/accelerator-device-plugin${PYTHONPATH:+:$PYTHONPATH}"
for bench in tests/bench/bench_*; do
  printf '\n== %s ==\n' "$bench"
  case $bench in
    *.py) python "$bench" ;;
    *.sh) bash "$bench" ;;
  esac
done
