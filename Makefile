# Gift plans: one entry point for developers and CI.
#
#   make install   .venv from pyproject.toml + uv.lock (Python 3.13)
#   make test      unit, integration and local tests (everything but the e2e browser tests)
#   make lint      ruff, mypy (layer and functions), bandit; cfn-lint, sam validate --lint, checkov on template.yaml
#   make dev       the local server (moto, route adapter, stand-ins)
#   make help      every target
#
# Installs are cached by stamp files, so a second `make test` starts at once.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

VENV := .venv
TOOLS := .tools
BIN := $(VENV)/bin
TEMPLATE := template.yaml
# Code that bandit checks; those that do not exist yet are left out.
BANDIT_DIRS := $(wildcard layers functions local tools)

UV_VERSION := 0.13.9
SAM_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
PIP_AUDIT_VERSION := 2.10.1
# The tools' own dependencies resolve as of this date, so a new release upstream cannot
# change them under us. Move it forward on purpose (and the stamps follow).
TOOLS_AS_OF := 2026-11-27

# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-n 2 -x"`.
PYTEST_ARGS ?=
# The module that writes the OpenAPI document.
OPENAPI_MODULE ?= tools.openapi_gen

# Run the project's modules the way Lambda sees them: the layer's packages on the path.
RUN := PYTHONPATH=layers/common:. $(BIN)/python

export SAM_CLI_TELEMETRY := 0
export UV_PYTHON_DOWNLOADS := never
export PIP_DISABLE_PIP_VERSION_CHECK := 1

define newline


endef

# ---------------------------------------------------------------------------------------------
# Python 3.13. It is plainly on PATH on some machines; on ours it comes through pyenv, whose
# default is older, so the `python3.13` shim answers only when PYENV_VERSION names it. We want
# the real interpreter's path, so that venvs and `sam build` never go through the shim.
# Override with `make PY313=/path/to/python3.13 ...`.
define FIND_PY313
if p=$$(python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -n "$$p" ]; then
  echo "$$p"; exit 0;
fi;
if command -v pyenv >/dev/null 2>&1; then
  v=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.[0-9]+)?$$' | sort -V | tail -n 1 || true);
  p="$$(pyenv root)/versions/$$v/bin/python3.13";
  if [ -n "$$v" ] && [ -x "$$p" ]; then echo "$$p"; exit 0; fi;
fi;
for p in $$(ls -d "$${PYENV_ROOT:-$${HOME:-}/.pyenv}"/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -n 1)
         /usr/local/bin/python3.13 /usr/bin/python3.13; do
  if [ -x "$$p" ]; then echo "$$p"; exit 0; fi;
done
endef
ifeq ($(origin PY313),undefined)
# Found on first use only (the failing pyenv shim costs most of a second), then kept.
PY313 = $(eval PY313 := $(shell $(subst $(newline), ,$(FIND_PY313))))$(PY313)
endif

NEED_PY313 = @if [ -z "$(PY313)" ]; then \
	echo "error: Python 3.13 not found (not on PATH as python3.13, not in pyenv)." >&2; \
	echo "       Install it, or run make PY313=/path/to/python3.13 $@" >&2; exit 1; fi

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

.PHONY: print-python
print-python: ## print the Python 3.13 interpreter this Makefile uses
	$(NEED_PY313)
	@echo "$(PY313)"

# ---------------------------------------------------------------------------------------------
# The project venv, exactly as uv.lock says (dev group included). --inexact keeps uv itself.

.PHONY: install
install: $(VENV)/.stamp ## build .venv from pyproject.toml + uv.lock

$(VENV)/.stamp: pyproject.toml uv.lock
	$(NEED_PY313)
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then \
		echo "$(VENV) is not Python 3.13: rebuilding it"; rm -rf $(VENV); fi
	@[ -x $(BIN)/python ] || { echo "creating $(VENV) with $(PY313)"; "$(PY313)" -m venv $(VENV); }
	@[ "$$($(BIN)/uv --version 2>/dev/null)" = "uv $(UV_VERSION)" ] || $(BIN)/python -m pip install -q uv==$(UV_VERSION)
	$(BIN)/uv sync --frozen --inexact --python $(BIN)/python
	@touch $@

# ---------------------------------------------------------------------------------------------
# Tools whose pinned dependencies conflict with ours get a venv each under .tools/.
# The stamp names the version and date, so changing either rebuilds that venv.

# uv (from .venv) builds them: much faster than pip on a machine whose caches are cold.
# $(call tool_venv,name,requirement,stamp file)
define tool_venv
$(3): | $(VENV)/.stamp
	$$(NEED_PY313)
	rm -rf $(TOOLS)/$(1)
	$(BIN)/uv venv --quiet --python "$$(PY313)" $(TOOLS)/$(1)
	$(BIN)/uv pip install --quiet --exclude-newer $(TOOLS_AS_OF) --python $(TOOLS)/$(1)/bin/python $(2)
	@touch $$@
endef
SAM_STAMP := $(TOOLS)/sam/.stamp-$(SAM_VERSION)-$(TOOLS_AS_OF)
CHECKOV_STAMP := $(TOOLS)/checkov/.stamp-$(CHECKOV_VERSION)-$(TOOLS_AS_OF)
PIP_AUDIT_STAMP := $(TOOLS)/pip-audit/.stamp-$(PIP_AUDIT_VERSION)-$(TOOLS_AS_OF)
$(eval $(call tool_venv,sam,aws-sam-cli==$(SAM_VERSION),$(SAM_STAMP)))
$(eval $(call tool_venv,checkov,checkov==$(CHECKOV_VERSION),$(CHECKOV_STAMP)))
$(eval $(call tool_venv,pip-audit,pip-audit==$(PIP_AUDIT_VERSION),$(PIP_AUDIT_STAMP)))
SAM := $(TOOLS)/sam/bin/sam

.PHONY: tools
tools: $(SAM_STAMP) $(CHECKOV_STAMP) ## install sam and checkov into .tools/

# ---------------------------------------------------------------------------------------------
# The layer's requirements.txt: runtime dependencies only, pinned from uv.lock.
# tests/build/test_tooling.py fails when the committed file differs from `make print-requirements`.

REQUIREMENTS := layers/common/requirements.txt

.PHONY: requirements print-requirements
print-requirements: ## print the layer's requirements as uv.lock pins them
	@$(BIN)/uv export --frozen --no-dev --no-hashes --no-emit-project

requirements: $(VENV)/.stamp ## regenerate layers/common/requirements.txt from uv.lock
	$(MAKE) -s --no-print-directory print-requirements > $(REQUIREMENTS)
	@echo "wrote $(REQUIREMENTS)"

# ---------------------------------------------------------------------------------------------
# Tests

.PHONY: test e2e
# Two workers by default (the machine and CI have two cores); PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
test: $(VENV)/.stamp ## run every test but the e2e browser tests
	$(BIN)/python -m pytest -m "not e2e" -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

e2e: $(VENV)/.stamp e2e-deps ## run the e2e browser tests (Playwright driving Debian's chromium)
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS)

# The browser comes from apt, never from `playwright install` (no browser downloads here).
.PHONY: e2e-deps
e2e-deps: ## install Debian's chromium for the e2e tests (skipped when /usr/bin/chromium exists)
	@if [ -x /usr/bin/chromium ]; then echo "e2e-deps: /usr/bin/chromium is installed"; exit 0; fi; \
	sudo=""; if [ "$$(id -u)" != 0 ]; then sudo="sudo"; fi; \
	$$sudo apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

# ---------------------------------------------------------------------------------------------
# Lint. `make -k lint` runs every check even when one fails.

.PHONY: lint lint-py lint-template ruff mypy bandit cfn-lint sam-validate checkov fmt fmt-check audit
lint: lint-py lint-template ## all static checks (code and template)

lint-py: ruff fmt-check mypy bandit

lint-template: cfn-lint sam-validate checkov

ruff: $(VENV)/.stamp
	$(BIN)/ruff check .

# The layer first (pyproject's [tool.mypy]), then each function with its own folder on the path, as
# Lambda imports it: every function has an app.py, so one run cannot hold them all.
FUNCTION_DIRS := $(sort $(dir $(wildcard functions/*/app.py)))
mypy: $(VENV)/.stamp
	$(BIN)/mypy
	@for d in $(FUNCTION_DIRS); do echo "mypy $$d"; MYPYPATH=$$d $(BIN)/mypy --no-error-summary $$d*.py || exit 1; done

bandit: $(VENV)/.stamp
	$(BIN)/bandit -q -r -ll $(BANDIT_DIRS)

# Until template.yaml exists, its checks say so and pass; once it exists they must pass.
IF_TEMPLATE = @if [ ! -f $(TEMPLATE) ]; then echo "$@: skipped: $(TEMPLATE) does not exist yet"; exit 0; fi;

cfn-lint: $(VENV)/.stamp
	$(IF_TEMPLATE) $(BIN)/cfn-lint $(TEMPLATE)

sam-validate: $(SAM_STAMP)
	$(IF_TEMPLATE) $(SAM) validate --lint --template-file $(TEMPLATE) --region us-east-1

# checkov does not read Fn::ForEach (template.yaml generates its alarms with it) and, meeting one, also
# stops merging Globals into the functions. So it scans the template as CloudFormation expands it,
# written by local/template.py (every resource, with its checkov skips in Metadata as written).
EXPANDED_TEMPLATE := $(TOOLS)/checkov/template.expanded.json
checkov: $(CHECKOV_STAMP) $(VENV)/.stamp
	$(IF_TEMPLATE) $(RUN) -m local.template > $(EXPANDED_TEMPLATE)
	$(IF_TEMPLATE) $(TOOLS)/checkov/bin/checkov --config-file .checkov.yaml --file $(EXPANDED_TEMPLATE)

fmt: $(VENV)/.stamp ## format the code and sort imports (rewrites files)
	$(BIN)/ruff check --fix --select I .
	$(BIN)/ruff format .

fmt-check: $(VENV)/.stamp ## fail when any file is not formatted
	$(BIN)/ruff format --check .

# pip-audit asks PyPI's JSON API (or OSV) about each pinned version. Where neither can be
# reached, every package is "skipped"; --strict turns that into a failure rather than a pass.
audit: $(VENV)/.stamp $(PIP_AUDIT_STAMP) ## audit the locked dependencies for known vulnerabilities
	@mkdir -p $(TOOLS)
	@$(BIN)/uv export --frozen --no-hashes --no-emit-project --format requirements-txt > $(TOOLS)/audit-requirements.txt
	@$(TOOLS)/pip-audit/bin/pip-audit --requirement $(TOOLS)/audit-requirements.txt --no-deps --disable-pip \
		--strict --progress-spinner off || { \
		echo "audit: FAILED: a vulnerability was found, or the vulnerability service could not be reached" >&2; \
		echo "       (this machine reaches only package downloads; PyPI's JSON API and OSV are out of reach)" >&2; \
		exit 1; }

# ---------------------------------------------------------------------------------------------
# Running things

.PHONY: dev bench openapi build redrive
dev: $(VENV)/.stamp ## run the local server
	$(RUN) -m local.server

bench: $(VENV)/.stamp ## run the benchmark
	$(RUN) -m bench.run

# The mail parked while SES was in trouble, sent now: FROM=/TO= ISO instants (default: the last 3 days),
# REDRIVE_ARGS="--function <stack>-mailer" (deployed) or "--direct"; default: the local server.
redrive: $(VENV)/.stamp ## send the mail parked during an SES outage (docs/runbook.md "SES outage")
	$(RUN) -m tools.redrive $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) $(REDRIVE_ARGS)

openapi: $(VENV)/.stamp ## regenerate the OpenAPI document
	$(RUN) -m $(OPENAPI_MODULE)

# sam build's Python workflow looks for python3.13 on PATH: give it the real interpreter, not the shim.
# The layer's Makefile (layers/common/Makefile) byte-compiles with PYTHON: the same interpreter.
build: $(SAM_STAMP) ## sam build (no container)
	$(NEED_PY313)
	PATH="$(dir $(PY313)):$$PATH" PYTHON="$(PY313)" $(SAM) build --template-file $(TEMPLATE)

# ---------------------------------------------------------------------------------------------

.PHONY: clean distclean
clean: ## remove build output and caches
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./.venv -prune -o -path ./.tools -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean ## also remove .venv and .tools
	rm -rf $(VENV) $(TOOLS)
