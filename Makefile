# Gallery: `make up` runs everything on the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint typecheck bench-registry bench-runner bench-web fuzz clean-venv

$(STAMP): requirements.lock pyproject.toml
	@echo "Installing Gallery and its pinned dependencies into $(VENV) (first run: a minute or two) ..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --quiet -r requirements.lock
	@# setuptools warns about every editable install (a generic notice): keep the first screen clean
	@PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --quiet --no-deps -e .
	@touch $(STAMP)
	@echo "Installed."

up: $(STAMP)
	@$(BIN)/gallery up

test: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench-registry: $(STAMP)
	$(BIN)/python -m tests.bench.registry $(BENCH_ARGS)

bench-runner: $(STAMP)
	$(BIN)/python -m tests.bench.runner $(BENCH_ARGS)

bench-web: $(STAMP)
	$(BIN)/python -m tests.bench.web $(BENCH_ARGS)

# Schemathesis on every operation with a budget far beyond CI's (FUZZ_EXAMPLES per operation;
# FUZZ_SEED=random explores anew; -s shows what it tried), then the hand-made malformed input.
FUZZ_EXAMPLES ?= 200
FUZZ_SEED ?=
fuzz: $(STAMP)
	GALLERY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) GALLERY_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest -n 0 -q -s \
		tests/registry/test_fuzz_api.py tests/runner/test_fuzz_runs.py
	$(BIN)/pytest -n 0 -q tests/registry/test_malformed_input.py

# Desktop and phone screenshots of the web console's main pages, on a Gallery with demo data
# started for the purpose (tests/browser/screens.py; needs /usr/bin/chromium).
screens: $(STAMP)
	$(BIN)/python -m tests.browser.screens

clean-venv:
	rm -rf $(VENV)
