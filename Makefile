# The two commands: `make run` (the local stack) and `make test` (every test layer).
# Both set up what they need: a .venv with Python >= 3.12, the pinned requirements, nginx
# (and Chromium for the browser tests, curl for the client tests) from Debian when missing.

VENV := .venv
PY := $(VENV)/bin/python
APP_PORT ?= 8000
HTTP_PORT ?= 8080
VAR_DIR ?= ./var
export APP_PORT HTTP_PORT VAR_DIR

BENCHMARKS := upload serve gallery healthz memory backup profile_upload

.PHONY: run test lint format venv system-deps system-deps-test clean bench $(BENCHMARKS:%=bench-%)

run: $(VENV)/.local-installed system-deps
	$(PY) -m imagehost.dev.devstack

test: $(VENV)/.dev-installed system-deps-test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.dev-installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

$(VENV)/bin/python:
	@python=$$(scripts/find-python.sh) && echo "creating $(VENV) with $$python" && "$$python" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.local-installed: $(VENV)/bin/python requirements.txt requirements-local.txt
	$(PY) -m pip install -q -r requirements-local.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.local-installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

system-deps:
	@scripts/system-deps.sh nginx

system-deps-test:
	@scripts/system-deps.sh nginx chromium curl wrk

# One benchmark: `make bench-upload` (see README, Benchmarks); `make bench` runs them all.
$(BENCHMARKS:%=bench-%): bench-%: $(VENV)/.dev-installed
	@scripts/system-deps.sh nginx wrk
	$(PY) -m bench.$*

bench: $(BENCHMARKS:%=bench-%)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
