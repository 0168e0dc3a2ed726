# The two set-up-free entry points (see README): `make run` and `make test`.
# Each creates .venv on first use and reinstalls when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "roost needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src/roost
	@touch $(STAMP)

## run: roost's main job on the embedded SQLite default: `roost demo`, an agent team run and checked
## (DEMO_ARGS="--json" or "--url postgresql://..." pass options)
run: $(STAMP)
	$(BIN)/roost demo $(DEMO_ARGS)

## test: lint, type-check and the whole test suite (PostgreSQL via ROOST_TEST_POSTGRES_URL or 127.0.0.1:5432)
test: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

## bench: benchmarks, roost beside the raw driver; FILTER=substring picks some, SECONDS=n sets the length
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(FILTER),--filter $(FILTER)) $(if $(SECONDS),--seconds $(SECONDS))

clean:
	rm -rf $(VENV) .roost .pytest_cache .mypy_cache .ruff_cache
