#!/usr/bin/env bash
# Runs every benchmark under tests/bench/ and prints what each measured.
# Benchmarks report numbers against their targets; they never fail on time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
# shellcheck disable=SC1091
source "${OKL_VENV:-$repo/.venv}/bin/activate"
export PYTHONPATH="$repo/.collection-root${PYTHONPATH:+:$PYTHONPATH}"
for bench in tests/bench/bench_*; do
  printf '\n== %s ==\n' "$bench"
  case $bench in
    *.py) python "$bench" ;;
    *.sh) bash "$bench" ;;
  esac
done
