# The local system (tools/local): the whole topology on this machine, no Docker, no AWS.
# LOCAL_ARGS passes options through, e.g. `make local LOCAL_ARGS="--port 8080 -v"`.

LOCAL_ARGS ?=
NAME ?=
EVENT ?=
KIND ?= consumer

.PHONY: local
local: $(VENV)/.installed ## The whole system in the foreground: moto on 127.0.0.1, every service from its zip
	$(PY) -m tools.local up $(LOCAL_ARGS)

.PHONY: demo
demo: $(VENV)/.installed ## Start the system, place a sample order, print the event flow, check every outcome
	$(PY) -m tools.local demo $(LOCAL_ARGS)

.PHONY: test-local
test-local: $(VENV)/.installed ## End-to-end tests of the local system only (tests/e2e)
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

.PHONY: new-service
new-service: $(VENV)/.installed ## Scaffold a service: make new-service NAME=shipping KIND=consumer|publisher|http [EVENT=type]
	@if [ -z "$(NAME)" ]; then echo "error: NAME is required: make new-service NAME=shipping KIND=consumer|publisher|http" >&2; exit 2; fi
	$(PY) -m tools.new_service $(NAME) --kind $(KIND) $(if $(EVENT),--event $(EVENT))
	$(PIP) install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e services/$(NAME)
	$(PY) -m tools.diagram --write README.md
	@echo "services/$(NAME) is ready: make test-service SERVICE=$(NAME), make local"
