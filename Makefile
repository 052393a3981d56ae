# Quick start: `make run` (set up + default job), `make test` (set up + tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run deterministic test test-all bench lint data report clean clean-cache

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)                 ## create .venv and install the package with dev tools

run: $(STAMP)                     ## the default job: Monte Carlo, Sobol, scenarios, report
	$(BIN)/uncertainty run runs/china-2019.toml

deterministic: $(STAMP)           ## nominal values only (seconds)
	$(BIN)/uncertainty run runs/china-2019.toml --deterministic

test: $(STAMP)                    ## the default test suite (a few minutes on 2 cores)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)                ## including tests marked slow
	$(BIN)/python -m pytest -q -m ''

bench: $(STAMP)                   ## throughput of the kernel and the Sobol engine
	$(BIN)/uncertainty bench

lint: $(STAMP)
	$(BIN)/ruff check uncertainty tests
	$(BIN)/mypy uncertainty

.PHONY: docs
docs: $(STAMP)                    ## build the documentation site (warnings are errors)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# the open mine data of Jasansky et al. (2023), doi:10.1038/s41597-023-01965-y
JASANSKY ?= $(UNCERTAINTY_JASANSKY_DIR)

data: $(STAMP)                    ## regenerate the default database: make data JASANSKY=DIR
	$(BIN)/python -m uncertainty.build.archetypefit "$(JASANSKY)" distributions/
	$(BIN)/python -m uncertainty.build.defaultdata distributions/

clean-cache:                      ## drop numba's compiled-kernel cache
	find uncertainty -name "*.nbi" -delete -o -name "*.nbc" -delete

clean: clean-cache
	rm -rf $(VENV) runs/out .pytest_cache
