# Every target bootstraps what it needs: a fresh clone runs `make run` or `make test` and nothing else.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUN_VERSION := 1.4.4
# The local EVM (anvil) and the Solidity compiler (solc-js) for the spot module; both work offline.
ANVIL_VERSION := 1.7.1
SOLC_VERSION := 0.8.37

# Reflex's offline environment (bun from tools/, no telemetry) is set by backend/toolchain.py for every
# process that runs Reflex: `maxxit up` and the browser tests.

.PHONY: run test test-fast lint bench bootstrap services chromium contracts clean

run: bootstrap
	$(BIN)/maxxit up

# The browser tests run one app at a time; everything else on two workers (databases, queues and Redis
# keys are per test, so they do not meet).
test: bootstrap services chromium
	$(BIN)/pytest -q -n 2 -m "not e2e"
	$(BIN)/pytest -q -m e2e

# Everything but the browser test.
test-fast: bootstrap services
	$(BIN)/pytest -q -n 2 -m "not e2e"

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: bootstrap
	$(BIN)/python -m bench.marketplace_query
	$(BIN)/python -m bench.sign_in
	$(BIN)/python -m bench.classifier_accuracy
	$(BIN)/python -m bench.post_to_signal
	$(BIN)/python -m bench.post_to_fill
	$(BIN)/python -m bench.monitor_cycle
	$(BIN)/python -m bench.notify
	$(BIN)/python -m bench.demo_liveliness

bootstrap: $(VENV)/.installed tools/node_modules/.bin/bun tools/node_modules/.bin/anvil

# PostgreSQL and Redis on 127.0.0.1, started when they are down.
services:
	bash .ci/services.sh

# The browser tests drive Debian's Chromium (Playwright's own download cannot work offline).
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

tools/node_modules/.bin/bun:
	mkdir -p tools
	npm install --silent --no-audit --no-fund --prefix tools bun@$(BUN_VERSION)

tools/node_modules/.bin/anvil:
	mkdir -p tools
	npm install --silent --no-audit --no-fund --prefix tools @foundry-rs/anvil@$(ANVIL_VERSION) solc@$(SOLC_VERSION)

# Recompile the spot module and its test mocks into backend/spot/contracts/build/ (commit the result).
contracts: bootstrap
	$(BIN)/python -m backend.spot.compile

clean:
	rm -rf $(VENV) tools .web .reflex data
