# TaskOverflow events — the commands a newcomer can guess. Everything runs offline.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := shared operations $(patsubst %/pyproject.toml,%,$(wildcard services/*/pyproject.toml))
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
PYTEST := $(BIN)/pytest

.PHONY: install run test test-unit test-e2e lint bench infra-check taskoverflow replay redrive demo-queues clean

install: $(STAMP)

$(STAMP): requirements-dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt $(addprefix -e ./,$(PACKAGES))
	touch $@

## run: the whole system in the foreground (moto server, API, relay, consumers, workers); Ctrl-C stops all
run: install
	set -a && . ./dev.env && set +a && $(BIN)/todo-api-migrate
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho --procfile Procfile --env dev.env start

## test: every suite, unit to end-to-end, plus the offline infrastructure checks
test: install
	bash scripts/install_system_deps.sh
	$(PYTEST)
	$(MAKE) infra-check

test-unit: install
	$(PYTEST) -m "not e2e and not slow"

test-e2e: install
	$(PYTEST) -m e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: every benchmark; one of them with e.g. make bench BENCH=bench.pipeline_comparison
bench: $(BENCH_STAMP)
	bash scripts/install_bench_deps.sh
	$(BIN)/python -m bench $(BENCH)

# The reference design's packages (Celery, icalendar …), in .venv but in no service's dependencies.
$(BENCH_STAMP): bench/requirements.txt $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

infra-check:
	bash scripts/infra_check.sh

## taskoverflow: the operator CLI with dev.env's emulator settings, e.g. make taskoverflow ARGS="dlq list notifier"
taskoverflow: install
	set -a && . ./dev.env && set +a && $(BIN)/taskoverflow $(ARGS)

## redrive: move a DLQ back to its queue, e.g. make redrive QUEUE=notifier ARGS=--dry-run
redrive: install
	set -a && . ./dev.env && set +a && $(BIN)/taskoverflow dlq redrive $(QUEUE) $(ARGS)

## replay: re-publish archived events, e.g. make replay ARGS="--type TodoChanged --since 2026-11-27 --dry-run"
replay: install
	set -a && . ./dev.env && set +a && $(BIN)/taskoverflow replay $(ARGS)

## demo-queues: create the queue demo's csse6400_prac and csse6400_prac.fifo on the emulator (make run must be up)
demo-queues: install
	set -a && . ./dev.env && set +a && $(BIN)/queue-demo --create-demo-queues

clean:
	rm -rf $(VENV) .venv-infra .venv-checkov data artifacts .pytest_cache
