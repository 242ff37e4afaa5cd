# CHZZK chat analytics — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
NB_PORT ?= 8888
CHANNELS ?=
DURATION ?=
ARGS ?=
# `make test-newest`: the newest CPython 3.12-3.14 on PATH or in pyenv, in a venv of its own
NEWEST_PYTHON ?= $(shell for v in 3.14 3.13 3.12; do for p in "$$(pyenv prefix $$v 2>/dev/null)/bin/python$$v" "$$(command -v python$$v)"; do "$$p" -c '' 2>/dev/null && { echo "$$p"; exit; }; done; done)
NEWEST_VENV ?= .venv-newest
# pytest-xdist workers of `make test` and `make test-newest`, one test file each at a time (module
# fixtures built once); 0: one process. 2 on a quiet 2-core machine, clean clone (2026-12-08): 2,160
# tests in 14 min 32 s of pytest, where one process took 22 min 26 s for 2,005 the night before —
# much of the suite waits on servers, PostgreSQL, Chromium and kernels, so two files overlap well
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --dist loadfile
# test-newest is a compatibility leg: our imports and the libraries' behaviour (DuckDB, Polars,
# pyarrow, psycopg2, Streamlit's AppTest, hypothesis) on the newest CPython, not a second full run.
# It runs the unit and integration tests that are not `slow`: a slow test is never the only check of
# a feature (pyproject's marker), and what it repeats at scale (random sync histories, the S3 twin of
# every accelerator) runs the same library calls as the fast tests. The rich lake's user-tail
# equivalence is left to the main interpreter too (the fixture lake's twin runs here). e2e
# (simulator, served dashboard, Chromium) stays on the main interpreter: it adds processes, not calls.
NEWEST_MARKERS ?= (unit or integration) and not slow
NEWEST_SKIP ?= --deselect "tests/warehouse/test_accelerators.py::test_accelerated_answers_equal_the_scan[user_tail-rich-plain]"

.DEFAULT_GOAL := help
.PHONY: help install install-dev lock check-wheels test-newest pg-upgrade demo notebooks test test-fast bench screenshots lint format collect sync dashboard sim api system-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

PIP := $(PY) -m pip install -q --disable-pip-version-check
LOCK := requirements.lock
# every CPython and platform the lock must have wheels for (make check-wheels)
WHEEL_PYTHONS ?= 3.11 3.12 3.13 3.14
WHEEL_PLATFORMS ?= x86_64 aarch64

# The project itself, editable (console scripts chzzk-collector/-warehouse/-dashboard), with
# every version taken from the lock (constraints: only what the extras ask for is installed).
$(VENV)/.runtime: $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 14), "Python 3.11 to 3.14 is needed, found " + sys.version'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -c $(LOCK) setuptools
	$(PIP) -c $(LOCK) --no-build-isolation -e '.[dashboard]'
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-conformance.txt
	$(PIP) -c $(LOCK) --no-build-isolation -e '.[dev]'
	$(PIP) --no-deps -r requirements-conformance.txt
	@touch $@

install: $(VENV)/.runtime ## create .venv and install the runtime dependencies

install-dev: $(VENV)/.dev ## install runtime + test/lint dependencies

lock: ## re-resolve requirements.lock from pyproject.toml: every transitive version, for CPython 3.11-3.14 on every OS
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) 'uv>=0.13.8,<0.14'
	$(VENV)/bin/uv pip compile pyproject.toml --extra dashboard --extra notebooks --extra dev --extra spark --universal \
	  --python-version 3.11 --no-emit-package chzzk-analytics --quiet $(ARGS) -o $(LOCK)

check-wheels: install-dev ## every locked package has a wheel for CPython $(WHEEL_PYTHONS) on manylinux $(WHEEL_PLATFORMS) (reads the index and wheel metadata only)
	$(PY) scripts/check_wheels.py --lock $(LOCK) --pythons "$(WHEEL_PYTHONS)" --platforms "$(WHEEL_PLATFORMS)"

demo: install ## the whole system: embedded PostgreSQL, simulator, collector, sync, dashboard on localhost:8501
	$(PY) scripts/demo.py --port $(PORT) $(ARGS)

# pyspark (the spark extra: tests/warehouse/test_spark.py reads the lake with Spark) for `make test`
# only, not install-dev: it is a 456 MB sdist, and the 3.13 leg (test-newest) runs no Spark.
$(VENV)/.spark: $(VENV)/.dev
	$(PIP) -c $(LOCK) --no-build-isolation -e '.[spark]'
	@touch $@

$(VENV)/.notebooks: $(VENV)/.runtime
	$(PIP) -c $(LOCK) --no-build-isolation -e '.[notebooks]'
	@touch $@

notebooks: $(VENV)/.notebooks ## JupyterLab on notebooks/ (127.0.0.1:$(NB_PORT)) over the demo lake, .data/warehouse (WAREHOUSE_DIR overrides)
	WAREHOUSE_DIR="$$($(PY) -c 'from core import settings; settings.load_dotenv_once(); print(settings.warehouse_dir())')" \
	  $(PY) -m jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(NB_PORT) --ServerApp.root_dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(ARGS)

test: install-dev $(VENV)/.spark ## run the whole test suite (real PostgreSQL, simulator, AppTest, Chromium and Java if installed)
	@test -x /usr/bin/chromium || echo "note: /usr/bin/chromium not found; browser tests will be skipped (make system-deps installs it)"
	@command -v java >/dev/null || echo "note: java not found; the Spark test will be skipped (make system-deps installs a JRE)"
	$(PY) -m pytest $(XDIST) $(ARGS)

test-fast: install-dev ## unit tests only (nothing running), without the slow ones
	$(PY) -m pytest -m "unit and not slow" $(ARGS)

test-newest: ## the unit and integration tests (not slow) on the newest CPython here (3.14, else 3.13, ...) in $(NEWEST_VENV), from the lock
	@test -n "$(NEWEST_PYTHON)" || { echo "no CPython 3.12-3.14 found (PATH or pyenv); set NEWEST_PYTHON"; exit 1; }
	$(MAKE) --no-print-directory install-dev PYTHON=$(NEWEST_PYTHON) VENV=$(NEWEST_VENV)
	$(NEWEST_VENV)/bin/python -c 'import sys; print("newest CPython here:", sys.version.split()[0])'
	$(NEWEST_VENV)/bin/python -m pytest $(XDIST) -m "$(NEWEST_MARKERS)" -p no:cacheprovider $(NEWEST_SKIP) $(ARGS)

pg-upgrade: install ## move .data/pg (PostgreSQL 16, made by pgserver 0.1.4) to PostgreSQL 18; stop the collector, API and dashboard first
	$(PY) -c 'from core import cli, db, settings; settings.load_dotenv_once(); cli.setup_logging(); db.upgrade_embedded()'

bench: install-dev ## time sync, queries and dashboard pages beside DuckDB's postgres scanner, COPY, PostgreSQL and a hello-world page: make bench [ARGS="--rows 10000000"]
	$(PY) bench/run.py $(ARGS)

screenshots: install-dev ## refresh every docs/screenshots/ image from the browser test files (Chromium)
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/dashboard/test_browser*.py

lint: install-dev ## ruff over the code
	$(PY) -m ruff check .

format: install-dev ## ruff format + import sorting
	$(PY) -m ruff check --fix --select I .
	$(PY) -m ruff format .

collect: install ## collect real CHZZK chat: make collect CHANNELS=id1,id2 [DURATION=55m]
	CHZZK_CHANNELS="$(or $(CHANNELS),$$CHZZK_CHANNELS)" $(PY) -m collector run $(if $(DURATION),--duration $(DURATION)) $(ARGS)

sync: install ## sync PostgreSQL into the Parquet warehouse (days touched since the last sync)
	$(PY) -m warehouse sync $(ARGS)

dashboard: install ## serve the dashboard on :$(PORT) (127.0.0.1 unless accounts exist)
	$(PY) -m dashboard serve --port $(PORT)

sim: install ## run the local CHZZK simulator on :18080
	$(PY) -m collector sim $(ARGS)

api: install ## serve the ChzzkChat-compatible ingest API on 127.0.0.1:8000 (INGEST_API_KEY)
	$(PY) -m collector api $(ARGS)

system-deps: ## install the system packages the tests need (Debian: chromium, Korean and emoji fonts, LibreOffice Calc for the CSV check, Java 17 for Spark)
	@if test -x /usr/bin/chromium && fc-list 2>/dev/null | grep -qi 'noto.*cjk' && fc-list 2>/dev/null | grep -qi 'color emoji' && command -v soffice >/dev/null && command -v java >/dev/null; then echo "chromium, fonts-noto-cjk, fonts-noto-color-emoji, soffice and java present"; \
	elif command -v apt-get >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  JRE=openjdk-17-jre-headless; \
	  $$SUDO apt-get update -q && { apt-cache show $$JRE >/dev/null 2>&1 || JRE=default-jre-headless; } && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium fonts-noto-cjk fonts-noto-color-emoji libreoffice-calc-nogui $$JRE; \
	else echo "install chromium, a CJK font, a colour emoji font, LibreOffice Calc and a Java 17+ runtime with your package manager"; fi

clean: ## remove caches (keeps .data and .venv)
	rm -rf .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
