# Entry points. `make test` is what CI runs (.ci/run); it prepares a fresh machine itself.
.PHONY: test lint unit sanity molecule bench

test:  ## Full suite: machine setup, ansible-lint, ruff, ansible-test sanity, pytest, molecule
	bash tests/run.sh

lint:
	bash tests/run.sh lint ruff

unit:
	bash tests/run.sh unit

sanity:
	bash tests/run.sh sanity

molecule:  ## OKL_MOLECULE_SCENARIOS="preflight" make molecule for a subset
	bash tests/run.sh molecule

bench:  ## Benchmarks print numbers; they never fail on time
	bash tests/bench/run.sh
