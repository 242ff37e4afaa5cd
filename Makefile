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

.DEFAULT_GOAL := help
.PHONY: help install install-dev demo notebooks test test-fast bench screenshots lint format collect sync dashboard sim api system-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version' 
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt requirements-conformance.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-conformance.txt
	@touch $@

install: $(VENV)/.runtime ## create .venv and install the runtime dependencies

install-dev: $(VENV)/.dev ## install runtime + test/lint dependencies

demo: install ## the whole system: embedded PostgreSQL, simulator, collector, sync, dashboard on localhost:8501
	$(PY) scripts/demo.py --port $(PORT) $(ARGS)

$(VENV)/.notebooks: $(VENV)/.runtime requirements-notebooks.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-notebooks.txt
	@touch $@

notebooks: $(VENV)/.notebooks ## JupyterLab on notebooks/ (127.0.0.1:$(NB_PORT)) over the demo lake, .data/warehouse (WAREHOUSE_DIR overrides)
	WAREHOUSE_DIR="$$($(PY) -c 'from core import settings; settings.load_dotenv_once(); print(settings.warehouse_dir())')" \
	  $(PY) -m jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(NB_PORT) --ServerApp.root_dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(ARGS)

test: install-dev ## run the whole test suite (real PostgreSQL, simulator, AppTest, Chromium if installed)
	@test -x /usr/bin/chromium || echo "note: /usr/bin/chromium not found; browser tests will be skipped (make system-deps installs it)"
	$(PY) -m pytest $(ARGS)

test-fast: install-dev ## unit tests only (nothing running)
	$(PY) -m pytest -m unit $(ARGS)

bench: install-dev ## time sync, queries and dashboard pages beside DuckDB's postgres scanner, COPY, PostgreSQL and a hello-world page: make bench [ARGS="--rows 10000000"]
	$(PY) bench/run.py $(ARGS)

screenshots: install-dev ## refresh every docs/screenshots/ image from both browser test files (Chromium)
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/dashboard/test_browser.py tests/dashboard/test_browser_auth.py

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

system-deps: ## install the system packages the tests need (Debian: chromium, Korean fonts, LibreOffice Calc for the CSV check)
	@if test -x /usr/bin/chromium && fc-list 2>/dev/null | grep -qi 'noto.*cjk' && command -v soffice >/dev/null; then echo "chromium, fonts-noto-cjk and soffice present"; \
	elif command -v apt-get >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium fonts-noto-cjk libreoffice-calc-nogui; \
	else echo "install chromium, a CJK font and LibreOffice Calc with your package manager"; fi

clean: ## remove caches (keeps .data and .venv)
	rm -rf .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
