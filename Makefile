# Every target sets itself up: a fresh clone needs nothing but python3.11 and make.
PYTHON ?= python3.11
VENV ?= .venv
CONSTRAINTS ?= constraints.txt
EXTRAS ?= test,e2e,openlineage,docs
# The lowest supported Airflow, tested by `make test-lowest` in a virtualenv of its own.
LOWEST_VENV ?= .venv-3.2
LOWEST_CONSTRAINTS ?= constraints-3.2.txt
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False

.PHONY: install lint typecheck pytest test test-lowest docs lowest-constraints reliability reliability-faults \
	reliability-hostile reliability-others demo e2e bench dist clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The unit suite on Airflow 3.2.2, the lowest version pyproject allows (lint and types do not depend on
# it). Its own Airflow home: the metadata DB schema differs between Airflow versions. tests/client and
# tests/testing are left out: client/ and the emulator never import Airflow (a structure test holds
# client/ to it), so they cannot behave differently there; they are half of the tests (429 of 834).
test-lowest:
	$(MAKE) pytest VENV=$(LOWEST_VENV) CONSTRAINTS=$(LOWEST_CONSTRAINTS) EXTRAS=test,e2e,openlineage \
		AIRFLOW_HOME=$(CURDIR)/.airflow-3.2 PYTEST_ARGS="--ignore=tests/client --ignore=tests/testing"

# Regenerate constraints-3.2.txt after constraints.txt changed: the same pins, except Airflow 3.2.2 and
# what it requires instead (about three minutes).
lowest-constraints: $(STAMP)
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	grep -v -E '^(apache-airflow|apache-airflow-core|apache-airflow-task-sdk|aiosqlite|svcs)==' constraints.txt \
		> .venv-constraints/base.txt
	# svcs 26.2 breaks Airflow 3.2's in-process execution API (dag.test(): no 'svcs_registry').
	echo 'svcs==26.1.0' >> .venv-constraints/base.txt
	.venv-constraints/bin/python -m pip install --quiet -c .venv-constraints/base.txt \
		'apache-airflow==3.2.2' -e '.[test,e2e,openlineage]'
	.venv-constraints/bin/python -m pip freeze --exclude-editable | LC_ALL=C sort -f > $(LOWEST_CONSTRAINTS)
	rm -rf .venv-constraints

# Faults, crash and resume, token expiry, bad input, secrets, sensor modes; writes
# benchmarks/results/reliability.json and prints its figures. Three pytest processes at once, since two
# modules mostly wait: the faults test's paced load (Retry-After pauses, then the rate the pacer holds
# after them: minutes at a fraction of one core) and the hostile-server test (timeouts against servers
# that never answer). Each prints its output and its figures when it ends (--output-sync); any failing
# fails the target.
RELIABILITY_SLOW := tests/reliability/test_faults.py tests/reliability/test_hostile_server.py

reliability: $(STAMP)
	$(MAKE) -j3 --output-sync=target reliability-faults reliability-hostile reliability-others

reliability-faults: $(STAMP)
	$(BIN)/python -m pytest -m reliability tests/reliability/test_faults.py

reliability-hostile: $(STAMP)
	$(BIN)/python -m pytest -m reliability tests/reliability/test_hostile_server.py

reliability-others: $(STAMP)
	$(BIN)/python -m pytest -m reliability tests/reliability $(RELIABILITY_SLOW:%=--ignore=%)

demo: $(STAMP)
	$(BIN)/python .ci/demo.py

# A real deployment: PostgreSQL, api-server, scheduler, dag-processor, triggerer (restarted mid-wait);
# then the emulator's console in headless Chromium (screenshots in artifacts/browser/).
e2e: $(STAMP)
	$(BIN)/python .ci/e2e.py
	$(BIN)/python .ci/browser.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# The documentation site in docs/_build/html; any Sphinx warning fails the build.
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# The wheel and the sdist, their metadata checked as PyPI renders it, the licence texts inside both.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(BIN)/python .ci/check_dist.py dist

clean:
	rm -rf $(VENV) $(LOWEST_VENV) .airflow .airflow-3.2 .mypy_cache .ruff_cache dist
