# Every target sets itself up: a fresh clone needs nothing but python3.11 and make.
# One variable selects another supported Python (3.11, 3.12, 3.13): `make test PYTHON=python3.13` gets a
# virtualenv (.venv-3.13) and an Airflow home (.airflow-3.13) of its own, and constraints-3.13.txt if
# there is one (constraints.txt installs on all three). A Python that pyenv has but does not put on PATH
# (not its global version) is found with `pyenv which`.
PYTHON ?= python3.11
PYTHON_VERSION := $(patsubst python%,%,$(notdir $(PYTHON)))
PYTHON_EXE := $(shell command -v $(PYTHON) >/dev/null 2>&1 && $(PYTHON) -c '' 2>/dev/null && echo $(PYTHON) \
	|| PYENV_VERSION=$$(pyenv versions --bare 2>/dev/null | paste -sd: -) pyenv which $(PYTHON) 2>/dev/null \
	|| echo $(PYTHON))
ifeq ($(PYTHON_VERSION),3.11)
VENV ?= .venv
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
else
VENV ?= .venv-$(PYTHON_VERSION)
export AIRFLOW_HOME ?= $(CURDIR)/.airflow-$(PYTHON_VERSION)
endif
CONSTRAINTS ?= $(firstword $(wildcard constraints-$(PYTHON_VERSION).txt) constraints.txt)
EXTRAS ?= test,e2e,celery,openlineage,docs
# The lowest supported Airflow, tested by `make test-lowest` in a virtualenv of its own.
LOWEST_VENV ?= .venv-3.2
LOWEST_CONSTRAINTS ?= constraints-3.2.txt
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export AIRFLOW__CORE__LOAD_EXAMPLES ?= False

.PHONY: install lint typecheck pytest test test-airflow test-lowest docs lowest-constraints reliability reliability-faults \
	reliability-hostile reliability-others demo e2e e2e-celery bench docs-browser dist clean

$(BIN)/python:
	$(PYTHON_EXE) -m venv $(VENV)
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

# The Airflow-facing tests: all but tests/client and tests/testing, which never import Airflow (client/
# and the emulator; a structure test holds client/ to it) and so cannot behave differently with another
# Airflow. CI runs them on Python 3.12 (`make test-airflow PYTHON=python3.12`) and, on Airflow 3.2.2, on
# 3.11 (test-lowest); the whole suite runs on 3.13, the newest.
AIRFLOW_FACING := --ignore=tests/client --ignore=tests/testing

test-airflow: $(STAMP)
	$(MAKE) pytest PYTEST_ARGS="$(AIRFLOW_FACING) $(PYTEST_ARGS)"

# The Airflow-facing tests on Airflow 3.2.2, the lowest version pyproject allows (lint and types do not
# depend on it). Its own Airflow home: the metadata DB schema differs between Airflow versions.
test-lowest:
	$(MAKE) pytest VENV=$(LOWEST_VENV) CONSTRAINTS=$(LOWEST_CONSTRAINTS) EXTRAS=test,e2e,celery,openlineage \
		AIRFLOW_HOME=$(CURDIR)/.airflow-3.2 PYTEST_ARGS="$(AIRFLOW_FACING)"

# Regenerate constraints-3.2.txt after constraints.txt changed: the same pins, except Airflow 3.2.2 and
# what it requires instead (about three minutes).
lowest-constraints: $(STAMP)
	rm -rf .venv-constraints
	$(PYTHON_EXE) -m venv .venv-constraints
	grep -v -E '^(apache-airflow|apache-airflow-core|apache-airflow-task-sdk|aiosqlite|svcs)==' constraints.txt \
		> .venv-constraints/base.txt
	# svcs 26.2 breaks Airflow 3.2's in-process execution API (dag.test(): no 'svcs_registry').
	echo 'svcs==26.1.0' >> .venv-constraints/base.txt
	.venv-constraints/bin/python -m pip install --quiet -c .venv-constraints/base.txt \
		'apache-airflow==3.2.2' -e '.[test,e2e,celery,openlineage]'
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

# A distributed deployment: Redis (the Celery broker), PostgreSQL, api-server, scheduler, dag-processor,
# two Celery workers and two triggerers; a sharded seed under one workspace limit, a worker lost while
# it runs shards (its main process, then the whole machine), a triggerer lost with 34 deferred waits
# (figures in benchmarks/results/reliability.json, the page docs/scale.rst).
e2e-celery: $(STAMP)
	$(BIN)/python .ci/e2e_celery.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# The documentation site in docs/_build/html; any Sphinx warning fails the build.
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# The site, then one operator's API reference page in headless Chromium (its parameters, their types and
# its templated fields must show; a screenshot in artifacts/browser/).
docs-browser: docs
	$(BIN)/python .ci/docs_browser.py

# The wheel and the sdist, their metadata checked as PyPI renders it, the licence texts inside both.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(BIN)/python .ci/check_dist.py dist

clean:
	rm -rf .venv .venv-3.12 .venv-3.13 $(LOWEST_VENV) .airflow .airflow-3.* .mypy_cache .ruff_cache dist
