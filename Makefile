# Two commands for a fresh machine: `make report` and `make test`.
# The first Python 3.11-3.13 found: python3, then python3.13, python3.12, python3.11.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
            $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' \
            >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install html report pdf test test-fast sweep lock clean

$(STAMP): requirements.lock pyproject.toml
	@[ -n "$(PYTHON)" ] || { echo "Python 3.11, 3.12 or 3.13 is needed (none found on the PATH):" \
	  "install one, or set PYTHON=/path/to/python3.x"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' || \
	  { echo "$(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'):" \
	  "the locked packages need 3.11, 3.12 or 3.13"; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "$(PYTHON) has no venv module:" \
	  "on Debian/Ubuntu, sudo apt install python3-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

install: $(STAMP)  ## create .venv with the locked dependencies

BUILT := book/_build/.built
# BOOK_FLAGS="-W --keep-going" makes a warning fail the build (the Pages workflow does).
BOOK_FLAGS ?=

# The pages glue numbers from results/ and text from src/helpers/, which the
# execution cache and Sphinx's incremental build do not watch: when either is
# newer than the last build, start the build afresh so no page shows old numbers.
html: $(STAMP)
	@if [ ! -e $(BUILT) ] || [ -n "$$(find results src/helpers sweep.yml -maxdepth 2 -newer $(BUILT) \
	    \( -name '*.json' -o -name '*.npz' -o -name '*.py' -o -name sweep.yml \) -print -quit)" ]; then \
	  echo "results, sweep.yml or helpers changed since the last build: rebuilding every page"; \
	  rm -rf book/_build; fi
	@mkdir -p book/_build && touch $(BUILT).next  # a result written during the build is newer
	$(VENV)/bin/jupyter-book build book/ $(BOOK_FLAGS)
	@mv $(BUILT).next $(BUILT)

# The intro links the PDFs: the report prints them too wherever Chromium is installed.
report: html  ## build the HTML report into book/_build/html, with its PDFs where Chromium is
	$(PY) scripts/book_pdf.py --if-chromium
	@echo "Open book/_build/html/index.html"

pdf: html  ## one A4 PDF per language into book/_build/pdf (and the site); needs Chromium
	$(PY) scripts/book_pdf.py

test: $(STAMP)  ## every test (real-data tests find the data at FER2013_PATH or data/, else skip)
	$(PY) -m pytest

test-fast: $(STAMP)  ## the tests that neither train nor build
	$(PY) -m pytest -m "not slow and not browser"

sweep: $(STAMP)  ## train every budget point in sweep.yml (hours); ARGS="--only 'mobilenet-*'"
	$(PY) -m helpers.sweep $(ARGS)

lock:  ## re-resolve requirements.in into requirements.lock
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet -r requirements.in
	.lockenv/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf book/_build
