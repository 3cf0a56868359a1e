# multiband-tutorial: `make lab` to learn, `make test` to check everything. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := "$(PY)" -m pip --disable-pip-version-check
# The installer: uv (bootstrapped into .venv as one wheel, pinned in requirements.lock) installs the lock in
# seconds; pip is the fallback when uv cannot be installed, or on request (`make lab INSTALLER=pip`).
# uv does not compile bytecode (pip does); scripts/compile_bytecode.py compiles the data build's packages on
# every core, so the first `make data` is as fast as the next.
INSTALLER ?= uv
ifneq ($(words $(INSTALLER))-$(filter uv pip,$(INSTALLER)),1-$(strip $(INSTALLER)))
$(error INSTALLER must be uv or pip, not '$(INSTALLER)')
endif
# The Butler repository that `make data` builds. Recipes read it from the environment ("$$REPO"), never pasted
# into the shell, and refuse anything but a plain path (see require_plain_repo).
REPO ?= DATA
export REPO
# Offline route: `make wheelhouse` once with internet, then every install reads wheelhouse/ only.
WHEELHOUSE := $(if $(wildcard wheelhouse/*.whl),--wheelhouse wheelhouse)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
# `make unit` and `make nbval` run in this many pytest-xdist worker processes (1: in pytest's own process, one
# after the other); nbval keeps each notebook in one worker (--dist loadfile), in order, with its own kernel. Two,
# the cores of the project's test machine: unit tests 292 s against 471 s, notebooks 65 s against 101 s.
TEST_WORKERS ?= 2
FIRST_WORKBOOK := workbooks/00_setup_and_data.ipynb
EXPLORER_PAGE := pages/explorer.ipynb
# `make explorer EXPLORER_PORT=n`: the Voila page's port (read from the environment, like REPO).
EXPLORER_PORT ?= 8866
export EXPLORER_PORT
# JupyterLab serves the repository root (every relative link in a lesson works) and opens the first workbook;
# .venv/bin first on PATH (its terminals find the project's Python); 127.0.0.1 only, with a token
# (yours in $JUPYTER_TOKEN, else a random one; the port is $JUPYTER_PORT, else 8888 or the next free one);
# news and update checks off through the settings shipped in jupyter-config/ (not your home folder's).
# Kernels talk to the server over CurveZMQ-encrypted sockets where their kernelspec supports it (ipykernel's
# does; otherwise ipykernel 7 warns "Kernel is running over TCP without encryption" at every kernel start).
# notebook_shim (a JupyterLab dependency that maps old NotebookApp settings) is off: it reads every server
# setting while it loads, which prints "ServerApp.token config is deprecated" although no token is configured.
KERNEL_FLAGS := --KernelManager.transport_encryption=auto
VENV_ENV = PATH="$$PWD/$(VENV)/bin:$$PATH" VIRTUAL_ENV="$$PWD/$(VENV)"
NEW_TOKEN = "$${JUPYTER_TOKEN:-$$("$(PY)" -c 'import secrets; print(secrets.token_hex(24))')}"
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
# `make lab LAB_BROWSER=no` starts the server without opening a browser (remote machines, benchmarks).
LAB_BROWSER ?= yes
ifneq ($(words $(LAB_BROWSER))-$(filter yes no,$(LAB_BROWSER)),1-$(strip $(LAB_BROWSER)))
$(error LAB_BROWSER must be yes or no, not '$(LAB_BROWSER)')
endif
LAB_FLAGS = --ServerApp.ip=127.0.0.1 $(AS_ROOT) \
	--ServerApp.root_dir="$$PWD" --LabApp.default_url="/lab/tree/$(FIRST_WORKBOOK)" \
	--LabApp.app_settings_dir="$$PWD/jupyter-config/lab-settings" --LabApp.extension_manager=readonly \
	--LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	--ServerApp.jpserver_extensions=notebook_shim=False $(KERNEL_FLAGS) \
	$(if $(filter no,$(LAB_BROWSER)),--no-browser)

# A REPO with shell metacharacters, spaces or a leading '-' is refused before anything runs.
define require_plain_repo
@case "$$REPO" in ""|-*|*[!A-Za-z0-9._/+@,=-]*) \
	printf '%s\n' "make: REPO='$$REPO' is not a plain path: use letters, digits and . _ / + @ , = - only (for example REPO=DATA)." >&2; \
	exit 2;; esac
endef

# JUPYTER_PORT (read by Jupyter itself) and EXPLORER_PORT must be whole numbers from 1 to 65535: Jupyter would
# take 99999 modulo 65536 and print a URL that does not answer.
define require_port_settings
@for setting in "JUPYTER_PORT=$${JUPYTER_PORT-}" "EXPLORER_PORT=$${EXPLORER_PORT-}"; do value=$${setting#*=}; \
	case "$$value" in "") continue;; *[!0-9]*|0*) ok=no;; *) [ "$${#value}" -le 5 ] && [ "$$value" -le 65535 ] && ok=yes || ok=no;; esac; \
	if [ "$$ok" = no ]; then printf '%s\n' "make: $$setting is not a port: use a whole number from 1 to 65535 (for example $${setting%%=*}=8890)." >&2; exit 2; fi; \
	done
endef

# Every setting is checked before anything is built or installed: `settings` is the first prerequisite of `venv`,
# where every target that builds starts (and an order-only one of the install itself, for `make -j`).
settings:
	$(require_plain_repo)
	$(if $(filter lab explorer,$(MAKECMDGOALS)),$(require_port_settings))

.PHONY: settings lab test data survey rebuild-data download-hsc venv wheelhouse workbooks reset-workbooks student explorer \
	lint unit nbval browser benchmark refresh-outputs help lock clean \
	test-latest upgrade

help:
	@echo "make lab             set up .venv, build DATA/, create workbooks/, start JupyterLab on this folder"
	@echo "make test            set up, then run every test (lint, unit, notebooks, browser)"
	@echo "make workbooks       create the missing learner workbooks in workbooks/ (never overwrites; also: make student)"
	@echo "make reset-workbooks recreate every workbook from notebooks/ (asks first; your edits are lost)"
	@echo "make explorer        lesson 6's selection explorer as a standalone Voila page on 127.0.0.1"
	@echo "make data            build the simulated Butler repository DATA/ (REPO=path for another folder)"
	@echo "make rebuild-data    rebuild it from scratch"
	@echo "make survey          build lesson 10's simulated survey SURVEY/ (a HATS catalog; lesson 10 also builds it on first use)"
	@echo "make download-hsc    download the original lesson's real HSC patch into DATA/ (needs internet, ~90 MB)"
	@echo "make wheelhouse      download every wheel into wheelhouse/ for an offline workshop"
	@echo "make refresh-outputs re-execute every notebook in place (after a deliberate version change)"
	@echo "make benchmark       print the speed and memory tables of benchmarks/"
	@echo "make test-latest     unit tests and notebooks against the newest releases pyproject.toml allows (.venv-latest)"
	@echo "make upgrade         adopt those releases: new requirements.lock, re-executed notebooks, diff to review"

venv: settings $(VENV)/.installed

# scripts/setup_venv.py (the machine's Python, standard library only) holds a lock while it works, and recreates
# a .venv made in another folder (a copied or moved project: its scripts point there), whose base Python is
# gone, or whose install never completed; the check below makes it run then even when the stamp is fresh.
VENV_NEEDS_SETUP := $(shell "$(PYTHON)" scripts/setup_venv.py --check --venv "$(VENV)" >/dev/null 2>&1 || echo FORCE)

$(VENV)/.installed: requirements.lock pyproject.toml $(VENV_NEEDS_SETUP) | settings
	@"$(PYTHON)" scripts/setup_venv.py --venv "$(VENV)" --installer "$(INSTALLER)" $(WHEELHOUSE)

FORCE:

data: venv
	"$(PY)" -m data_fetch simulate --repo "$$REPO" --if-stale

# Lesson 10's survey (a HATS catalog, 0.25 deg^2 with a margin), built on first use rather than by `make data`:
# the notebook builds the same one itself (data_fetch.survey.ensure_survey, whose defaults are the lesson's,
# as --lesson's are); the tests that run lesson 10 build it first.
# The default 20 deg^2 survey, or 10^8 rows, is an explicit command (README, "Survey scale").
survey: venv
	"$(PY)" -m data_fetch survey --out SURVEY --lesson --if-stale --quiet

rebuild-data: venv
	"$(PY)" -m data_fetch simulate --repo "$$REPO" --force

download-hsc: venv data
	"$(PY)" -m data_fetch download hsc-validation --repo "$$REPO"

workbooks: venv
	"$(PY)" scripts/make_workbooks.py notebooks workbooks

# The learners' copies, once `student/`: the same mechanism under its old name.
student: workbooks

reset-workbooks: venv
	"$(PY)" scripts/make_workbooks.py notebooks workbooks --reset

# The token goes to Jupyter through its environment (JUPYTER_TOKEN), not its command line, which every user of the
# machine can read (ps); Jupyter prints a token it did not make as "?token=...", so it is printed here.
lab: venv data workbooks
	@token=$(NEW_TOKEN); echo "JupyterLab's token (its login page asks for it): $$token"; \
	[ -n "$${JUPYTER_PORT-}" ] || unset JUPYTER_PORT; \
	JUPYTER_TOKEN="$$token" $(VENV_ENV) "$(VENV)/bin/jupyter" lab $(LAB_FLAGS)

explorer: venv data
	$(VENV_ENV) "$(VENV)/bin/voila" "$(EXPLORER_PAGE)" --Voila.ip=127.0.0.1 --port="$${EXPLORER_PORT:-8866}" --token \
		--VoilaConfiguration.extension_denylist=nbdime-jupyterlab $(KERNEL_FLAGS) \
		$(if $(filter no,$(LAB_BROWSER)),--no-browser)

lint: venv
	bash scripts/lint.sh

unit: venv data survey
	"$(VENV)/bin/pytest" tests --ignore=tests/browser --mpl -p no:cacheprovider $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS))

nbval: venv data survey
	$(if $(NOTEBOOKS),PYTHONPATH="$$PWD/scripts" "$(VENV)/bin/pytest" -p nbval_report --nbval $(NOTEBOOKS) --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile),@echo "no notebooks yet")

browser: venv data
	@bash tests/browser/ensure_chromium.sh
	"$(VENV)/bin/pytest" tests/browser -p no:cacheprovider

test: lint unit nbval browser

benchmark: venv
	"$(PY)" -m benchmarks

wheelhouse: venv
	rm -rf wheelhouse.partial
	$(PIP) download --quiet -d wheelhouse.partial -r requirements.lock
	rm -rf wheelhouse && mv wheelhouse.partial wheelhouse
	@echo "wheelhouse/ holds $$(ls wheelhouse | wc -l) files; copy the whole folder with the repository."

refresh-outputs: venv data survey
	for nb in $(NOTEBOOKS); do "$(VENV)/bin/jupyter" nbconvert --to notebook --execute --inplace --ExecutePreprocessor.record_timing=False "$$nb" || exit 1; done

lock: venv
	"$(PY)" scripts/lockfile.py

clean:
	@if [ -L "$(VENV)" ] || [ ! -e "$(VENV)" ] || [ -f "$(VENV)/pyvenv.cfg" ]; then rm -rf "$(VENV)"; else \
		printf '%s\n' "make clean: $(VENV) is not a virtual environment this project made; it is left alone." >&2; fi
	rm -rf .venv.lock .venv.old-[0-9]* .venv-latest .latest reports/nbval reports/test-latest reports/upgrade \
		tests/browser/artifacts .pytest_cache
	@rmdir reports 2>/dev/null || true

# The lessons as regression tests of the stack (README: "Using the lessons as regression tests").
test-latest: venv
	"$(PY)" scripts/test_latest.py --python "$(PYTHON)"

upgrade: venv
	"$(PY)" scripts/upgrade.py
