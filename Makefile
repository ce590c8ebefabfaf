# Two commands do all the set-up on a fresh machine with only python3:
#   make demo   - create .venv, install nnfit, run the lesson's demo
#   make test   - create .venv, install nnfit with its dev extra, run the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch first: plain "torch" would pull a multi-GB CUDA build
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

demo: $(STAMP)
	$(VENV)/bin/nnfit demo

test: $(STAMP)
	sh scripts/system-deps.sh
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) bench/bench_core.py
	$(PY) bench/bench_views.py
	$(PY) bench/bench_fit_time.py
	$(PY) bench/bench_many_models.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
