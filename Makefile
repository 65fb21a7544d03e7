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

# systemd-analyze checks the shipped unit, chromium runs the console's browser tests and
# promtool checks deploy/'s alerting rules;
# install them where we may (CI runs as root), else their tests are skipped.
# $(call need,COMMAND,DEBIAN PACKAGE,WHAT NEEDS IT)
need = @command -v $(1) >/dev/null 2>&1 || { \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null) \
      || echo "could not install $(2); $(3) will be skipped"; \
  else echo "$(1) missing; $(3) will be skipped"; fi; }

system-deps:
	$(call need,systemd-analyze,systemd,its unit checks)
	$(call need,chromium,chromium,the console browser tests)
	$(call need,promtool,prometheus,the Prometheus rules check)

lint: $(STAMP)
	$(BIN)/ruff check sentinel tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format sentinel tests bench

# Coverage includes the processes the tests start (see [tool.coverage.run] in pyproject.toml).
COVERAGE_ENV := COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml COVERAGE_FILE=$(CURDIR)/.coverage
# Tests run in a random order (pytest-randomly), printed so that a failure can be replayed:
# `make test TEST_SEED=<seed>`; `pytest -p no:randomly` runs them in file order.
ifndef TEST_SEED
TEST_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif

test: $(STAMP) system-deps lint
	rm -f .coverage .coverage.*
	@echo "test order: --randomly-seed=$(TEST_SEED) (make test TEST_SEED=$(TEST_SEED) repeats it)"
	$(COVERAGE_ENV) $(BIN)/python -m pytest -q --randomly-seed=$(TEST_SEED)
	$(BIN)/coverage combine -q
	$(BIN)/coverage report --format=total --precision=1 | sed 's/^/coverage (sentinel, daemon subprocesses included): /;s/$$/%/'
	$(BIN)/coverage report > /dev/null  # fails below [tool.coverage.report] fail_under

clean:
	rm -rf $(VENV) .run .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.*
