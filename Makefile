# Developer entry points. `make test` is what CI runs (.ci/run).
#
#   make build        cargo build --workspace
#   make run          build, then run nsqlookupd + nsqd + nsqadmin locally (Ctrl-C stops all)
#   make test         cargo test, then the Python, Go and browser integration suites
#                     (builds the reference NSQ binaries first for the compatibility tests)
#   make test-browser nsqadmin's web UI in headless Chromium (installs chromium + playwright-core)
#   make bench        our nsqd against the reference, alternating runs (docs/benchmarks.md)
#   make bench-quick  the same, shorter (about 2 minutes)
#   make test-python  pytest tests/python against $(NSQD_BIN)
#   make test-go      go vet + go test in tests/go against $(NSQD_BIN)
#   make reference    build the reference Go binaries into bench/.build/bin
#   make test-reference  both integration suites against the reference nsqd
#   make fmt / clippy
#
# NSQD_BIN selects the daemon under test (default: our target/debug/nsqd);
# NSQD_IS_REFERENCE=1 marks it as the reference Go nsqd. PYTEST_ARGS / GO_TEST_ARGS pass
# extra arguments (e.g. PYTEST_ARGS='-k identify -x').

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
PYTHON ?= python3
NSQD_BIN ?= $(ROOT)/target/debug/nsqd
REF_BIN := $(ROOT)/bench/.build/bin
PYTEST_ARGS ?=
GO_TEST_ARGS ?=
GO_TEST_TIMEOUT ?= 8m

export NSQD_BIN

.PHONY: build run test test-rust test-python test-go test-browser browser-deps reference \
        test-reference fmt clippy ensure-nsqd venv bench bench-quick

build:
	cargo build --workspace

run: build
	$(ROOT)/scripts/run-local.sh

# Runs all three stages even when an earlier one fails (so one CI run reports everything),
# and fails if any failed.
# The reference binaries come from the Go module proxy; the compatibility tests (data
# directories, mixed clusters, the reference nsqadmin on our /stats) use them.
test:
	@rc=0; \
	$(MAKE) --no-print-directory reference || rc=1; \
	$(MAKE) --no-print-directory test-rust || rc=1; \
	$(MAKE) --no-print-directory test-python || rc=1; \
	$(MAKE) --no-print-directory test-go || rc=1; \
	$(MAKE) --no-print-directory test-browser || rc=1; \
	if [ $$rc -ne 0 ]; then echo "make test: FAILED (see above)" >&2; fi; \
	exit $$rc

# Build first: integration tests of some crates run target/debug/nsqd (NSQD_BIN), which
# `cargo test` alone does not build on a fresh clone.
test-rust:
	cargo build --workspace
	cargo test --workspace

# Build our daemon unless the suite is pointed at another binary.
ensure-nsqd:
	@if [ "$(NSQD_BIN)" = "$(ROOT)/target/debug/nsqd" ]; then cargo build --workspace; fi
	@test -x "$(NSQD_BIN)" || { echo "error: no nsqd binary at $(NSQD_BIN)" >&2; exit 1; }

$(VENV)/.requirements.stamp: $(ROOT)/tests/python/requirements.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -r $(ROOT)/tests/python/requirements.txt
	@touch $@

venv: $(VENV)/.requirements.stamp

# pytest exits 5 when it collected no tests; like every non-zero status that fails the target.
test-python: venv ensure-nsqd
	cd $(ROOT) && $(VENV)/bin/python -m pytest tests/python $(PYTEST_ARGS) || { \
	  rc=$$?; [ $$rc -ne 5 ] || echo "error: pytest collected no tests" >&2; exit $$rc; }

test-go: ensure-nsqd
	cd $(ROOT)/tests/go && go vet ./... && go test -count=1 -timeout $(GO_TEST_TIMEOUT) $(GO_TEST_ARGS) ./...

reference:
	$(ROOT)/bench/reference.sh

browser-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	cd $(ROOT)/tests/browser && npm ci --no-audit --no-fund --silent

test-browser: browser-deps ensure-nsqd
	NO_BUILD=1 $(ROOT)/tests/browser/run.sh

bench:
	$(ROOT)/bench/run.sh

bench-quick:
	$(ROOT)/bench/run.sh --quick

test-reference: reference
	$(MAKE) test-python test-go NSQD_BIN=$(REF_BIN)/nsqd NSQD_IS_REFERENCE=1 \
	  NSQLOOKUPD_BIN=$(REF_BIN)/nsqlookupd NSQLOOKUPD_IS_REFERENCE=1 \
	  NSQADMIN_BIN=$(REF_BIN)/nsqadmin NSQADMIN_IS_REFERENCE=1 \
	  TOOLS_BIN_DIR=$(REF_BIN) TOOLS_ARE_REFERENCE=1

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
