# StatAgent. `make run` and `make test` do all set-up by themselves, idempotently:
# the virtualenv, a running Docker engine and the runner image (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

VENV := .venv
PYTHON := $(VENV)/bin/python
# Written after a successful install; pyproject.toml changing makes it stale.
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help setup venv docker runner-image test run bench
.DEFAULT_GOAL := help

## help: list the targets
help:
	@sed -n 's/^## /make /p' $(MAKEFILE_LIST)

## setup: venv, docker and runner-image
setup: venv docker runner-image

## venv: .venv with the project and its test tools (again when pyproject.toml changes)
venv: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --quiet -e '.[test]'
	touch $@

## docker: a running Docker engine (installed and started when `docker info` fails)
docker:
	scripts/ensure-docker.sh

## runner-image: the job image statagent-runner:<content hash>, built when missing
runner-image: venv docker
	PYTHON=$(PYTHON) scripts/build-runner-image.sh

## test: the whole test suite, runner image selftest included (PYTEST_ARGS=... to narrow)
test: setup
	$(VENV)/bin/pytest -q -ra $(PYTEST_ARGS)

## run: the Telegram bot when TELEGRAM_BOT_TOKEN is set, else a short demo in the terminal
run: setup
	if [[ -n "$${TELEGRAM_BOT_TOKEN:-}" ]]; then exec $(VENV)/bin/statagent bot; else exec $(VENV)/bin/statagent demo; fi

## bench: per-job container overhead against in-process training
bench: setup
	$(PYTHON) bench/job_overhead.py
