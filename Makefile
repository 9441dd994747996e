# The two commands: `make run` (the local stack) and `make test` (every test layer).
# Both set up what they need: a .venv with Python >= 3.12, the pinned requirements, nginx
# (and Chromium for the browser tests, curl for the client tests, Ceph's RADOS Gateway as the
# tests' S3 server) from Debian when missing.

VENV := .venv
PY := $(VENV)/bin/python
APP_PORT ?= 8000
HTTP_PORT ?= 8080
VAR_DIR ?= ./var
export APP_PORT HTTP_PORT VAR_DIR

BENCHMARKS := upload upload_cpu serve gallery album healthz memory backup profile_upload s3 users_page

# The interface's translations: locale/<lang>/LC_MESSAGES/imagehost.po, compiled to .mo
# (git-ignored) before the app runs; `make messages` re-reads the sources (see README).
# -m, so that babel.cfg's extractor (imagehost.i18n.extract) imports from this checkout.
PYBABEL := $(PY) -m babel.messages.frontend
CATALOGUES := $(wildcard locale/*/LC_MESSAGES/imagehost.po)
COMPILED := $(CATALOGUES:.po=.mo)
TEMPLATE := locale/imagehost.pot
# The committed catalogues' line width; every pybabel step that writes one uses it, so that
# `make messages` on an unchanged tree rewrites nothing (Babel's own default is 76).
PO_WIDTH := 100
ZLIB_NG := build/zlib-ng/libz.so.1

.PHONY: run test lint format venv system-deps system-deps-test clean bench $(BENCHMARKS:%=bench-%)
.PHONY: catalogues messages

run: $(VENV)/.local-installed system-deps catalogues $(ZLIB_NG)
	$(PY) -m imagehost.dev.devstack

test: $(VENV)/.dev-installed system-deps-test catalogues $(ZLIB_NG)
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

catalogues: $(COMPILED)

# zlib-ng as the processes' libz.so.1 (see imagehost/zlibng.py), built once per checkout.
$(ZLIB_NG): scripts/zlib-ng.sh requirements-zlib-ng.txt | $(VENV)/bin/python
	@scripts/system-deps.sh gcc make
	scripts/zlib-ng.sh $(PY) $(@D)

locale/%.mo: locale/%.po | $(VENV)/.local-installed
	$(PYBABEL) compile --statistics -i $< -o $@

# Every message babel.cfg finds goes into the template, then into each catalogue (new ones
# marked untranslated, changed ones fuzzy). A new language: make messages NEW_LANGUAGE=de
messages: $(VENV)/.local-installed
	mkdir -p locale
	$(PYBABEL) extract -F babel.cfg --sort-by-file --width $(PO_WIDTH) --project imagehost -o $(TEMPLATE) \
	  $$(find imagehost templates static -type f -not -path '*/__pycache__/*')
	$(if $(NEW_LANGUAGE),test -e locale/$(NEW_LANGUAGE)/LC_MESSAGES/imagehost.po || \
	  $(PYBABEL) init -i $(TEMPLATE) -d locale -D imagehost -l $(NEW_LANGUAGE) --width $(PO_WIDTH))
	$(PYBABEL) update -i $(TEMPLATE) -d locale -D imagehost --width $(PO_WIDTH) \
	  --ignore-pot-creation-date

system-deps:
	@scripts/system-deps.sh nginx

system-deps-test:
	@scripts/system-deps.sh nginx chromium curl wrk
	@scripts/ceph-rgw.sh install

# One benchmark: `make bench-upload` (see README, Benchmarks); `make bench` runs them all.
$(BENCHMARKS:%=bench-%): bench-%: $(VENV)/.dev-installed catalogues $(ZLIB_NG)
	@scripts/system-deps.sh nginx wrk
	$(PY) -m bench.$*

bench: $(BENCHMARKS:%=bench-%)

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
