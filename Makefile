# StatAgent. `make run` and `make test` do all set-up by themselves, idempotently:
# the virtualenv, a running Docker engine and the runner image (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

VENV := .venv
PYTHON := $(VENV)/bin/python
# Written after a successful install; pyproject.toml changing makes it stale.
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help setup venv docker compose runner-image service-image test run bench
.DEFAULT_GOAL := help

## help: list the targets
help:
	@sed -n 's/^## /make /p' $(MAKEFILE_LIST)

## setup: venv, docker, docker-compose and runner-image
setup: venv docker compose runner-image

## venv: .venv with the project and its test tools (again when pyproject.toml changes)
venv: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --quiet -e '.[test]'
	touch $@

## docker: a running Docker engine (installed and started when `docker info` fails)
docker:
	scripts/ensure-docker.sh

## compose: docker-compose v1 (Debian's), for compose.yaml and its test
compose:
	command -v docker-compose >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }

## runner-image: the job image statagent-runner:<content hash>, built when missing
runner-image: venv docker
	PYTHON=$(PYTHON) scripts/build-runner-image.sh

## service-image: compose.yaml's service image (wheels downloaded on the host; no registry needed)
service-image: runner-image compose
	mkdir -p .build
	$(PYTHON) -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > .build/service-requirements.txt
	$(PYTHON) -m pip download --quiet --dest .build/service-wheels --only-binary=:all: --python-version 3.11 --implementation cp \
	    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 -r .build/service-requirements.txt
	STATAGENT_BASE=$${STATAGENT_BASE:-statagent-base:bookworm} DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 docker-compose build

## test: the whole test suite, runner image selftest included (PYTEST_ARGS=... to narrow)
test: setup
	$(VENV)/bin/pytest -q -ra --durations=25 $(PYTEST_ARGS)

## run: the Telegram bot when TELEGRAM_BOT_TOKEN is set, else a short demo in the terminal
run: setup
	if [[ -n "$${TELEGRAM_BOT_TOKEN:-}" ]]; then exec $(VENV)/bin/statagent bot; else exec $(VENV)/bin/statagent demo; fi

## bench: per-job container overhead against in-process training; what hostile uploads cost the service; the swarm's overhead
bench: setup
	$(PYTHON) bench/job_overhead.py
	$(PYTHON) bench/hostile_uploads.py
	$(PYTHON) bench/swarm_overhead.py
