# Two commands do all the set-up on a fresh machine with only python3:
#   make demo   - create .venv, install nnfit, run the lesson's demo
#   make test   - create .venv, install nnfit with its dev extra, run the test suite (installs
#                Xvfb and chromium with apt when missing and root: scripts/system-deps.sh; a
#                PostgreSQL server of its own: scripts/with-postgres.sh)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH := $(VENV)/.torch
STAMP := $(VENV)/.installed-dev
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test lint bench clean

$(TORCH):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch first: plain "torch" would pull a multi-GB CUDA build
	$(PY) -m pip install -q "torch==2.13.0"
	touch $@

# the demo needs nnfit and its dependencies only; tests, lint and benchmarks the dev extra
$(DEMO_STAMP): pyproject.toml $(TORCH)
	$(PY) -m pip install -q -e .
	touch $@

$(STAMP): pyproject.toml $(TORCH)
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

demo: $(DEMO_STAMP)
	$(VENV)/bin/nnfit demo

# the tests get a PostgreSQL server of their own on loopback (NNFIT_TEST_POSTGRES), stopped after
test: $(STAMP)
	sh scripts/system-deps.sh
	sh scripts/with-postgres.sh $(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) bench/bench_core.py
	$(PY) bench/bench_views.py
	$(PY) bench/bench_fit_time.py
	$(PY) bench/bench_profile.py --compare
	$(PY) bench/bench_many_models.py
	$(PY) bench/bench_threads.py
	$(PY) bench/bench_startup.py
	sh scripts/system-deps.sh && $(PY) bench/bench_first_frame.py
	$(PY) bench/bench_quality.py
	sh scripts/system-deps.sh && $(PY) bench/bench_web.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
