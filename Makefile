# Sentinel — the two commands of the README, and the pieces they are made of.
#   make run    start the demo: a local OpenBao dev server, demo accounts, the daemon
#   make test   lint and run the whole test suite (starts every server the tests need)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format install system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/sentinel demo up

# systemd-analyze checks the shipped unit; install it where we may (CI runs as root).
system-deps:
	@command -v systemd-analyze >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null) \
	      || echo "could not install systemd; its unit checks will be skipped"; \
	  else echo "systemd-analyze missing; its unit checks will be skipped"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check sentinel tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format sentinel tests bench

# Coverage includes the processes the tests start (see [tool.coverage.run] in pyproject.toml).
COVERAGE_ENV := COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml COVERAGE_FILE=$(CURDIR)/.coverage

test: $(STAMP) system-deps lint
	rm -f .coverage .coverage.*
	$(COVERAGE_ENV) $(BIN)/python -m pytest -q
	$(BIN)/coverage combine -q
	$(BIN)/coverage report --format=total --precision=1 | sed 's/^/coverage (sentinel, daemon subprocesses included): /;s/$$/%/'
	$(BIN)/coverage report > /dev/null  # fails below [tool.coverage.report] fail_under

clean:
	rm -rf $(VENV) .run .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.*
