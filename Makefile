# Everything a fresh machine with Python 3.11+ needs goes through `install`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-legacy-sdks lint demo bench mutate cache-clean cache-stats clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -q -n 2

# The SDK tests again with openai 1.x and anthropic 0.x, which are built on httpx
# and cannot share .venv with the current majors (on httpx2): a second, small
# venv without httpx2, and the injected clients asked for with flavor="httpx".
LEGACY_VENV := .venv-legacy
LEGACY_STAMP := $(LEGACY_VENV)/.installed

$(LEGACY_STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(LEGACY_VENV)
	$(LEGACY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LEGACY_VENV)/bin/python -m pip install --quiet -e '.[redis,testing]' \
		'pytest-asyncio>=0.23' 'hypothesis>=6.100' 'openai>=1,<2' 'anthropic<1'
	touch $(LEGACY_STAMP)

test-legacy-sdks: $(LEGACY_STAMP)
	EXLLM_SDK_FLAVOR=httpx $(LEGACY_VENV)/bin/python -m pytest -q tests/sdk/test_official_sdks.py

lint: install
	$(BIN)/ruff check exllm_py tests bench mutation conftest.py
	$(BIN)/ruff format --check exllm_py tests bench mutation conftest.py
	$(BIN)/mypy --strict exllm_py

demo: install
	$(BIN)/python -m exllm_py demo

bench: install
	$(BIN)/python -m bench

# Not part of CI: a full run takes long (see README). Scores are per package;
# the run fails if a package is under 90% or a new mutant survives.
mutate: install
	$(BIN)/python -m pip install --quiet -e '.[dev,mutate]'
	EXLLM_HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run --max-children 2
	$(BIN)/python -m mutation

cache-clean: install
	$(BIN)/exllm-cache clean --orphans

cache-stats: install
	$(BIN)/exllm-cache stats

clean:
	rm -rf $(VENV) $(LEGACY_VENV) .pytest_cache .mypy_cache .ruff_cache mutants
