# Two commands: `make run` (the dashboard) and `make test` (every test).
# Both create .venv and install requirements.txt on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: run test lint bench

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m app $(ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .

test: $(VENV)/.installed
	bash tools/ensure-system-deps.sh
	$(PY) -m ruff check .
	$(PY) -m pytest $(ARGS)

bench: $(VENV)/.installed
	$(PY) -m bench $(ARGS)
