# Every target sets itself up: a fresh clone needs nothing but python3.11 and make.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False

.PHONY: install lint typecheck pytest test reliability demo e2e bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,e2e,openlineage]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck pytest

# Faults, crash and resume, token expiry, bad input, secrets, sensor modes; writes
# benchmarks/results/reliability.json and prints its figures.
reliability: $(STAMP)
	$(BIN)/python -m pytest -m reliability tests/reliability

demo: $(STAMP)
	$(BIN)/python .ci/demo.py

# A real deployment: PostgreSQL, api-server, scheduler, dag-processor, triggerer (restarted mid-wait);
# then the emulator's console in headless Chromium (screenshots in artifacts/browser/).
e2e: $(STAMP)
	$(BIN)/python .ci/e2e.py
	$(BIN)/python .ci/browser.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .airflow .mypy_cache .ruff_cache
