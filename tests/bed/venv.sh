# shellcheck shell=bash disable=SC2154
# Sourced by the test scripts: OKL_VENV, the Python venv they run in, when the caller gave none. Its path is
# keyed by the content of requirements.txt under $OKL_CACHE (tests/bed/setup.sh makes it), so a fresh clone
# on a warm machine finds it made (it took ~45 s per run when each clone made its own .venv), and a change of
# requirements.txt makes a new one. Needs OKL_CACHE and repo set.
if [[ -z ${OKL_VENV:-} ]]; then
  OKL_VENV="$OKL_CACHE/venv/$(sha256sum "$repo/requirements.txt" | cut -c1-16)"
fi
export OKL_VENV
