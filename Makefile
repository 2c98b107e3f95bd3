# TaskOverflow events — the commands a newcomer can guess. Everything runs offline.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := shared operations $(patsubst %/pyproject.toml,%,$(wildcard services/*/pyproject.toml))
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
PYTEST := $(BIN)/pytest
# The processes `make run` starts (a test swaps in one that reports its environment).
PROCFILE ?= Procfile
# The AWS emulator of `make run`: localstack (LocalStack 4.13.1, validates like AWS) or moto (moto
# server, the light option). Both listen on 127.0.0.1:4566, so nothing else changes.
EMULATOR ?= localstack
export EMULATOR
# dev.env's settings under the shell's: `NOTIFIER_WEBHOOK_URLS=... make run` wins over dev.env.
WITH_DEV_ENV := bash scripts/with_dev_env.sh

.PHONY: install lock images emulator-install run test test-unit test-integration test-e2e test-faults test-containers lint bench profile infra-check status trace taskoverflow outbox replay redrive demo-queues clean

install: $(STAMP)

# Third-party packages from the lock (pinned, hashed), then the repository's own packages, editable
# and without dependencies: the lock already holds every one of those.
$(STAMP): requirements-dev.lock $(addsuffix /pyproject.toml,$(PACKAGES))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-compile --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-compile --disable-pip-version-check --no-deps $(addprefix -e ./,$(PACKAGES))
	touch $@

## lock: re-resolve the lock files whose inputs (requirements-dev.txt, a pyproject) changed; ARGS=--upgrade for all
lock: $(STAMP)
	$(BIN)/python scripts/lock_requirements.py $(ARGS)
	$(MAKE) --no-print-directory install

## emulator-install: LocalStack's own venv (.venv-localstack); nothing for EMULATOR=moto
emulator-install:
	bash scripts/emulator.sh install

## run: the whole system in the foreground (the emulator, API, relay, consumers, workers); Ctrl-C stops all
run:
	$(MAKE) --no-print-directory -j2 install emulator-install
	$(WITH_DEV_ENV) $(BIN)/todo-api-migrate
	PATH="$(CURDIR)/$(BIN):$$PATH" $(WITH_DEV_ENV) $(BIN)/honcho --procfile $(PROCFILE) --env /dev/null start

## test: every suite, unit to end-to-end (on moto and on LocalStack), with the offline infrastructure checks beside it
test: install
	bash scripts/install_system_deps.sh
	EMULATOR=localstack bash scripts/emulator.sh install
	bash scripts/asyncapi.sh install
	PYTEST=$(PYTEST) bash scripts/test_all.sh

## test-unit: the unit tier alone (tests under unit/ folders: fakes, no server), in seconds
test-unit: install
	$(PYTEST) -m unit

## test-integration: the integration tier (integration/ folders: real PostgreSQL, moto, LocalStack)
test-integration: install
	bash scripts/install_system_deps.sh
	EMULATOR=localstack bash scripts/emulator.sh install
	bash scripts/asyncapi.sh install
	$(PYTEST) -m integration

## test-e2e: the end-to-end tier (e2e/ folders: the whole system as processes, a browser)
test-e2e: install
	bash scripts/install_system_deps.sh
	EMULATOR=localstack bash scripts/emulator.sh install
	$(PYTEST) -m e2e

## test-faults: the fault scenarios (tests/faults)
test-faults: install
	EMULATOR=localstack bash scripts/emulator.sh install
	$(PYTEST) -m faults

## test-containers: the images built and run (tests/containers)
test-containers: install
	bash scripts/install_system_deps.sh
	EMULATOR=localstack bash scripts/emulator.sh install
	$(PYTEST) -m containers

## lint: ruff (rules and format) on everything, mypy --strict on shared/ and the service domains (mypy.ini)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: every benchmark; one of them with e.g. make bench BENCH=bench.pipeline_comparison
bench: $(BENCH_STAMP)
	bash scripts/install_bench_deps.sh
	$(BIN)/python -m bench $(BENCH)

## profile: py-spy on each of our services during the pipeline benchmark's jobs, into artifacts/profile/, e.g. make profile ARGS="--jobs 40 --with-emulator"
profile: $(BENCH_STAMP)
	$(BIN)/python -m bench.pipeline_profile $(ARGS)

# The reference design's packages (Celery, icalendar …), in .venv but in no service's dependencies.
$(BENCH_STAMP): bench/requirements.txt $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

## images: every service image from its Dockerfile (docker, else podman; a base from Debian where no registry answers)
images:
	bash scripts/install_system_deps.sh
	bash scripts/images.sh build

infra-check:
	bash scripts/infra_check.sh

## status: queues, DLQs, outbox, calendar jobs and event rates of `make run` on one screen, e.g. make status ARGS=--watch
status: install
	$(WITH_DEV_ENV) $(BIN)/taskoverflow status $(ARGS)

## trace: one request's spans across the services of `make run`, as a tree, e.g. make trace ID=<X-Correlation-ID or trace id>
trace: install
	$(WITH_DEV_ENV) $(BIN)/taskoverflow trace $(ID) $(ARGS)

## taskoverflow: the operator CLI with dev.env's emulator settings, e.g. make taskoverflow ARGS="dlq list notifier"
taskoverflow: install
	$(WITH_DEV_ENV) $(BIN)/taskoverflow $(ARGS)

## redrive: move a DLQ back to its queue, e.g. make redrive QUEUE=notifier ARGS=--dry-run
redrive: install
	$(WITH_DEV_ENV) $(BIN)/taskoverflow dlq redrive $(QUEUE) $(ARGS)

## outbox: the todo-api's parked and pending outbox rows, e.g. make outbox ARGS="list --parked", ARGS="retry --all-parked"
outbox: install
	$(WITH_DEV_ENV) $(BIN)/taskoverflow outbox $(or $(ARGS),list)

## replay: re-publish archived events, e.g. make replay ARGS="--type TodoChanged --since 2026-11-27 --dry-run"
replay: install
	$(WITH_DEV_ENV) $(BIN)/taskoverflow replay $(ARGS)

## demo-queues: create the queue demo's csse6400_prac and csse6400_prac.fifo on the emulator (make run must be up)
demo-queues: install
	$(WITH_DEV_ENV) $(BIN)/queue-demo --create-demo-queues

clean:
	rm -rf $(VENV) .venv-infra .venv-checkov .venv-localstack .venv-localstack.lock data artifacts .pytest_cache .mypy_cache
