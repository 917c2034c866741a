# The one interface: CI, the GitHub workflows and people all call these targets.
# `make help` lists them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
SERVICES := $(sort $(patsubst services/%/service.json,%,$(wildcard services/*/service.json)))
# Each service's own tests run under its manifest's Python (test-service, make/pythons.mk).
PYTEST_PATHS := shared/messaging/tests tests
PYTEST_ARGS ?=
# pytest exits 5 when it collects nothing; a suite that ran no test must not pass quietly.
RUN_PYTEST_WITH = (rc=0; $(1) -m pytest $(2) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests from $(2)" >&2; exit 1; fi; exit $$rc)
RUN_PYTEST = $(call RUN_PYTEST_WITH,$(PY),$(1))
# Targets appended by make/*.mk (Terraform, workflows) that `make test` also runs.
TEST_EXTRA :=

.PHONY: help
help: ## List every target with a one-line description
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- set-up ------------------------------------------------------------------

$(VENV)/.installed: requirements/dev.txt $(wildcard shared/messaging/pyproject.toml services/*/pyproject.toml)
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or pass PYTHON=/path/to/python3.11" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/dev.txt
	$(PIP) install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
		-e shared/messaging $(foreach s,$(SERVICES),-e services/$(s))
	@touch $@

.PHONY: install
install: $(VENV)/.installed ## Create .venv with the locked dev dependencies and every package in development mode

.PHONY: lock
lock: $(VENV)/.installed ## Re-lock requirements/*.txt and services/*/requirements.txt from their .in files
	$(PY) -m tools.lock

# --- quality -------------------------------------------------------------------

.PHONY: lint
lint: $(VENV)/.installed ## ruff (lint + format check) and mypy (strict on shared/messaging)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

.PHONY: fmt
fmt: $(VENV)/.installed ## Format Python with ruff (and Terraform when installed)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

.PHONY: test
test: $(VENV)/.installed ## Everything, from a fresh clone: lint, the Terraform and workflow checks, every Python test
	$(MAKE) lint
	@# The other Pythons' suites are one core's work and so is Terraform's: side by side they
	@# save about two minutes on two cores. Their output is kept and printed when they end.
	@mkdir -p build; log=build/test-pythons.log; \
	echo "test-pythons runs beside the other checks; its output follows them ($$log)"; \
	$(MAKE) --no-print-directory test-pythons > $$log 2>&1 & side=$$!; \
	rc=0; for t in $(filter-out test-pythons,$(TEST_EXTRA)); do $(MAKE) $$t || { rc=1; break; }; done; \
	wait $$side && side_rc=0 || side_rc=1; \
	echo "--- test-pythons ---"; cat $$log; \
	[ $$side_rc -eq 0 ] || echo "error: test-pythons failed (output above)" >&2; \
	[ $$rc -eq 0 ] && [ $$side_rc -eq 0 ]
	$(MAKE) pytest

.PHONY: pytest
pytest: $(VENV)/.installed ## Every Python test: the package, each service, the cross-cutting suites
	@$(call RUN_PYTEST,$(PYTEST_PATHS))

.PHONY: test-unit
test-unit: $(VENV)/.installed ## Fast inner loop: the package and service unit tests only
	@$(call RUN_PYTEST,-q shared/messaging/tests $(wildcard services/*/tests))

.PHONY: test-service
test-service: $(VENV)/.installed check-service ## One service's unit tests under its manifest's Python (.venv-py3.N, else .venv's): make test-service SERVICE=orders_api
	@python=$$($(PY) -m tools.runtimes --test-python $(SERVICE)); \
	echo "$(SERVICE) tests on $$($$python -c 'import sys; print(sys.executable, sys.version.split()[0])')"; \
	$(call RUN_PYTEST_WITH,$$python,-q -p no:cacheprovider services/$(SERVICE)/tests)

.PHONY: check-service
check-service:
	@if [ -z "$(SERVICE)" ] || [ ! -f services/$(SERVICE)/service.json ]; then \
		echo "error: unknown SERVICE='$(SERVICE)'; valid services: $(SERVICES)" >&2; exit 2; fi

# --- build ---------------------------------------------------------------------

.PHONY: build
build: $(VENV)/.installed check-service ## dist/<name>.zip for Lambda, byte-identical on rebuild: make build SERVICE=orders_api
	$(PY) -m tools.build $(SERVICE)

.PHONY: build-all
build-all: $(VENV)/.installed ## Build every service into dist/
	$(PY) -m tools.build $(SERVICES)

.PHONY: diagram
diagram: $(VENV)/.installed ## Regenerate the README topology diagram from the declarations
	$(PY) -m tools.diagram --write README.md

.PHONY: clean
clean: ## Remove build output and caches (keeps .venv)
	rm -rf dist build .pytest_cache .mypy_cache .ruff_cache

-include make/*.mk

.PHONY: redrive
redrive: $(VENV)/.installed check-service ## Replay a deployed service's dead letters of every kind: make redrive SERVICE=order_status ENV=dev [KIND=on-failure|delivery|queue] [DRY_RUN=1]
	@test -n "$(ENV)" || { echo "error: ENV=dev|staging|prod is required" >&2; exit 2; }
	$(PY) -m tools.dead_letters redrive $(SERVICE) --env "$(ENV)" $(if $(KIND),--kind "$(KIND)") $(if $(DRY_RUN),--dry-run)

EVENTS ?= 1000
DELIVERY ?= direct,queue
.PHONY: reliability
reliability: $(VENV)/.installed ## Fault-injection suite on the local system: EVENTS=1000 published, every one accounted for, consumer subscribed directly and through its queue (DELIVERY=direct,queue)
	$(PY) -m tools.reliability --events $(EVENTS) --delivery $(DELIVERY)
