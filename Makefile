# The README's two commands: `make demo` and `make test`. Both build .venv from
# nothing on a fresh machine and only reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
# Install torch before anything that depends on it. The default pins the CPU
# build; override for your own build, e.g. `make demo TORCH=torch`.
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
# loadfile: a test module's expensive fixtures (trained CNNs) are built once.
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: demo test install install-test lint format bench clean docs

# The main job; `make demo DEMO_ARGS=--quick` for the short run, or e.g.
# DEMO_ARGS="--dataset shapes" for localization against ground truth.
DEMO_ARGS ?=
demo: $(VENV)/.installed
	$(BIN)/sklearn-xai demo $(DEMO_ARGS)

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

# The documentation (docs/, built into docs/_build/html) with warnings as
# errors; the gallery examples are executed. Fast text-only check:
# `make docs SPHINXOPTS="-D plot_gallery=0"`.
SPHINXOPTS ?=
docs: $(VENV)/.installed-docs
	MPLBACKEND=Agg $(BIN)/sphinx-build -W --keep-going -b html $(SPHINXOPTS) docs docs/_build/html

$(VENV)/.installed-docs: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@ $(VENV)/.installed

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
