# Developer and CI entry points. `make run` and `make test` do all set-up on a fresh machine that has only
# Python 3.11: they install uv from PyPI when it is missing and sync the workspace (.venv) from uv.lock.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# Never let uv fetch a Python build of its own: the registries here serve packages, not interpreters.
export UV_PYTHON_DOWNLOADS := never
# Trust the machine's certificate store (uv otherwise uses its own bundle), as pip does: some networks
# reach PyPI through a proxy whose CA is only there.
export UV_SYSTEM_CERTS := 1
export UV_NATIVE_TLS := 1
# `pip install --user uv` puts uv here; appended so a uv already on PATH keeps priority.
export PATH := $(PATH):$(HOME)/.local/bin
# pip prints a warning for root installs, and a version check that needs the network; both are noise here.
export PIP_ROOT_USER_ACTION := ignore
export PIP_DISABLE_PIP_VERSION_CHECK := 1

SERVICES := identity dossier payment feedback document
MEMBERS := shared gateway $(addprefix svc-,$(SERVICES))
# Written after a successful sync; a changed uv.lock or pyproject.toml makes it stale, so the next run re-syncs.
SYNC_STAMP := .venv/.egov-synced
# The environment is synced by the stamp rule, so `uv run` needs no re-lock (--frozen: never rewrite uv.lock).
RUN := uv run --frozen
BENCH_SCRIPTS := $(wildcard bench/*_bench.py)
CLUSTER := $(RUN) python deploy/local/cluster.py

# The directories among $(1) that hold a Python file (mypy refuses an empty or missing one).
py_dirs = $(foreach d,$(1),$(if $(shell find $(d) -name '*.py' -print -quit 2>/dev/null),$(d)))

.PHONY: help bootstrap run test lint format typecheck typecheck-root pytest fuzz migrate bench soak up down status logs clean

help:
	@echo "make run        embedded mode: one process on http://127.0.0.1:8000 with demo data"
	@echo "make test       ruff, ruff format --check, mypy, pytest (not slow)"
	@echo "make lint | format | typecheck | pytest"
	@echo "make fuzz       the API fuzzer, many examples per operation (EGOV_FUZZ_EXAMPLES=200)"
	@echo "make migrate    egov-migrate for every service (against EGOV_<SVC>_DATABASE_URL)"
	@echo "make bench      run bench/*_bench.py, reports in var/bench/"
	@echo "make soak       16 concurrent citizen journeys for 10 minutes on the distributed topology"
	@echo "make up | down | status | logs   distributed mode on this machine (PostgreSQL + RabbitMQ)"
	@echo "make clean      remove var/"

bootstrap: $(SYNC_STAMP)

$(SYNC_STAMP): uv.lock pyproject.toml $(addsuffix /pyproject.toml,$(MEMBERS))
	@# pip refuses --user inside a virtualenv, and both other forms on an externally managed (Debian) Python.
	@if ! command -v uv >/dev/null 2>&1; then \
	  echo "uv not found: installing it from PyPI"; \
	  $(PYTHON) -m pip install --quiet --user uv 2>/dev/null \
	    || $(PYTHON) -m pip install --quiet uv 2>/dev/null \
	    || $(PYTHON) -m pip install --quiet --user --break-system-packages uv; \
	  if ! command -v uv >/dev/null 2>&1; then \
	    mkdir -p "$(HOME)/.local/bin"; \
	    ln -sf "$$($(PYTHON) -c 'import uv; print(uv.find_uv_bin())')" "$(HOME)/.local/bin/uv"; \
	  fi; \
	  uv --version; \
	fi
	uv sync --all-packages --frozen
	@touch $@

run: $(SYNC_STAMP)
	EGOV_DEMO_DATA=1 $(RUN) egov-embedded

test: lint typecheck pytest

lint: $(SYNC_STAMP)
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: $(SYNC_STAMP)
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

# One mypy run per member: the test trees of different members hold modules of the same name (conftest.py,
# test_api.py) that only their own tests import. The tests folder is a package base, as pytest sees it.
typecheck: $(addprefix typecheck-,$(MEMBERS)) typecheck-root

typecheck-%: $(SYNC_STAMP)
	MYPYPATH=$*/tests $(RUN) mypy $(call py_dirs,$*/src $*/tests)

typecheck-root: $(SYNC_STAMP)
	MYPYPATH=tests:tests/e2e $(RUN) mypy $(call py_dirs,tests bench deploy/local)

# Two workers: much of a test's time is spent waiting on PostgreSQL, RabbitMQ and other processes. Tests that
# share one module-scoped set-up (a module's province, the private servers of the fault tests) stay on one worker.
PYTEST_WORKERS ?= 2
pytest: $(SYNC_STAMP)
	$(RUN) pytest -m "not slow" -n $(PYTEST_WORKERS) --dist loadscope

# The fuzzing test `make test` runs with a few examples per operation, here with many (a long run).
EGOV_FUZZ_EXAMPLES ?= 200
fuzz: $(SYNC_STAMP)
	EGOV_FUZZ_EXAMPLES=$(EGOV_FUZZ_EXAMPLES) $(RUN) pytest tests/fuzz

migrate: $(SYNC_STAMP)
	for svc in $(SERVICES); do $(RUN) egov-migrate "$$svc"; done

bench: $(SYNC_STAMP)
	@if [ -z "$(BENCH_SCRIPTS)" ]; then echo "no benchmark scripts in bench/"; exit 1; fi
	mkdir -p var/bench
	for script in $(BENCH_SCRIPTS); do $(RUN) python "$$script"; done
	@ls -l var/bench/*.json

soak: $(SYNC_STAMP)
	mkdir -p var/bench
	$(RUN) python bench/soak_bench.py --concurrency 16 --seconds 600

up: $(SYNC_STAMP)
	$(CLUSTER) up

down: $(SYNC_STAMP)
	$(CLUSTER) down

status: $(SYNC_STAMP)
	$(CLUSTER) status

logs:
	@if ! ls var/log/*.log >/dev/null 2>&1; then echo "no logs in var/log: run make up first"; exit 1; fi
	tail -n 50 -F var/log/*.log

# Pid files of a running cluster live in var/run: removing them would orphan its processes.
clean:
	@if ls var/run/*.pid >/dev/null 2>&1; then echo "var/run holds pid files: run make down first"; exit 1; fi
	rm -rf var
