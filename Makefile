# Two commands: `make run` (the dashboard) and `make test` (every test).
# `make run` installs only what the dashboard needs (requirements.txt);
# `make test` and `make bench` add the test tools (requirements-dev.txt).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check
ARGS ?=
# The suite on two pytest workers (pytest-xdist): most of a test is waiting on
# real processes, sockets and Chromium, so two take ~2/3 of the time of one.
TEST_WORKERS ?= 2

.PHONY: run test lint bench

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(PY)
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m app $(ARGS)

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .

test: $(VENV)/.installed-dev
	bash tools/ensure-system-deps.sh
	$(PY) -m ruff check .
	$(PY) -m pytest -n $(TEST_WORKERS) $(ARGS)

bench: $(VENV)/.installed-dev
	$(PY) -m bench $(ARGS)
