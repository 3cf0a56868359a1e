# multiband-tutorial: `make lab` to learn, `make test` to check everything. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
REPO ?= DATA
# Offline route: `make wheelhouse` once with internet, then every install reads wheelhouse/ only.
PIP_SOURCE := $(if $(wildcard wheelhouse/*.whl),--no-index --find-links wheelhouse,)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))

.PHONY: lab test data venv wheelhouse lint unit nbval browser benchmark student refresh-outputs lock clean help
.PHONY: test-latest upgrade

help:
	@echo "make lab             set up .venv, build DATA/, start JupyterLab on notebooks/"
	@echo "make test            set up, then run every test (lint, unit, notebooks, browser)"
	@echo "make wheelhouse      download every wheel into wheelhouse/ for an offline workshop"
	@echo "make student         copies of the notebooks without outputs or solutions, in student/"
	@echo "make refresh-outputs re-execute every notebook in place (after a deliberate version change)"
	@echo "make benchmark       print the speed and memory tables of benchmarks/"
	@echo "make test-latest     unit tests and notebooks against the newest releases pyproject.toml allows (.venv-latest)"
	@echo "make upgrade         adopt those releases: new requirements.lock, re-executed notebooks, diff to review"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; run make PYTHON=python3.11 ...")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_SOURCE) --quiet -r requirements.lock
	$(PIP) install $(PIP_SOURCE) --quiet --no-deps --no-build-isolation -e .
	@touch $@

data: venv
	$(PY) -m data_fetch simulate --repo $(REPO) --if-stale

lab: venv data
	$(VENV)/bin/jupyter lab notebooks/

lint: venv
	$(VENV)/bin/ruff check .

unit: venv data
	$(VENV)/bin/pytest tests --ignore=tests/browser --mpl -p no:cacheprovider

nbval: venv data
	$(if $(NOTEBOOKS),$(VENV)/bin/pytest --nbval $(NOTEBOOKS) --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider,@echo "no notebooks yet")

browser: venv data
	@bash tests/browser/ensure_chromium.sh
	$(VENV)/bin/pytest tests/browser -p no:cacheprovider

test: lint unit nbval browser

benchmark: venv
	$(PY) -m benchmarks

wheelhouse: venv
	$(PIP) download --quiet -d wheelhouse -r requirements.lock
	@echo "wheelhouse/ holds $$(ls wheelhouse | wc -l) wheels; copy the whole folder with the repository."

student: venv
	$(PY) scripts/make_student.py notebooks student

refresh-outputs: venv data
	for nb in $(NOTEBOOKS); do $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.record_timing=False "$$nb" || exit 1; done

lock: venv
	$(PY) scripts/lockfile.py

clean:
	rm -rf $(VENV) student tests/browser/artifacts .pytest_cache

# The lessons as regression tests of the stack (README: "Using the lessons as regression tests").
test-latest: venv
	$(PY) scripts/test_latest.py --python $(PYTHON)

upgrade: venv
	$(PY) scripts/upgrade.py
