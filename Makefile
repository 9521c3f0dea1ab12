# Entry points. `make test` is what CI runs (.ci/run); it prepares a fresh machine itself.
.PHONY: test lint unit sanity molecule e2e bench

test:  ## Full suite: machine setup, ansible-lint, ruff, ansible-test sanity, pytest, molecule, e2e
	bash tests/run.sh

lint:
	bash tests/run.sh lint ruff

unit:
	bash tests/run.sh unit

sanity:
	bash tests/run.sh sanity

molecule:  ## OKL_MOLECULE_SCENARIOS="preflight" make molecule for a subset
	bash tests/run.sh molecule

e2e:  ## Real kind cluster (1 control plane + 2 workers) from an offline-built node image
	bash tests/e2e/run.sh

bench:  ## Benchmarks print numbers; they never fail on time
	bash tests/bench/run.sh
