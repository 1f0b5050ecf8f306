# Two commands: `make run` starts the engine on its embedded default, `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-integration test-e2e bench lint diagram

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/ocop run

test: $(STAMP)  # every test, a file per worker on each core (pytest-xdist)
	$(PY) -m pytest -n auto --dist loadfile tests

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest tests/integration

test-e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

lint: $(STAMP)  # ruff over everything, mypy strict over states, workflow, tasks, worker.py
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/transitions.py

diagram: $(STAMP)
	$(PY) scripts/diagrams.py
