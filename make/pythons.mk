# The package and the services under the Lambda Pythons (tools/runtimes.py finds them, pyenv
# included): one venv per version, .venv-py3.12 and .venv-py3.13, with requirements/test.txt.
# A version that is not installed is reported SKIPPED, never passed over silently.
TEST_PYTHONS := 3.12 3.13
# The workspace's sources reach each venv through a .pth file, as an editable install would
# (without needing setuptools there), so subprocesses of the tests import them too.
SOURCE_DIRS := $(CURDIR)/shared/messaging/src $(SERVICES:%=$(CURDIR)/services/%/src) $(CURDIR)

.venv-py%/.installed: requirements/test.txt make/pythons.mk
	@python=$$($(PY) -m tools.runtimes --path python$*) || { \
		echo "SKIPPED: Python $* is not installed ($$($(PY) -m tools.runtimes --how python$*))"; exit 0; }; \
	test -x .venv-py$*/bin/python || "$$python" -m venv .venv-py$*; \
	.venv-py$*/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps -r requirements/test.txt; \
	printf '%s\n' $(SOURCE_DIRS) > "$$(.venv-py$*/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/workspace.pth"; \
	touch $@

.PHONY: test-venvs
test-venvs: $(VENV)/.installed $(foreach v,$(TEST_PYTHONS),.venv-py$(v)/.installed) ## One venv per Lambda Python installed here (.venv-py3.12, .venv-py3.13)

.PHONY: test-pythons
test-pythons: test-venvs ## The package's tests on Python 3.12 and 3.13, each service's tests on its manifest's Python
	@for v in $(TEST_PYTHONS); do \
		if [ ! -x .venv-py$$v/bin/python ]; then echo "SKIPPED: messaging tests on Python $$v (not installed)"; continue; fi; \
		echo "messaging tests on $$(.venv-py$$v/bin/python -c 'import sys; print(sys.executable, sys.version.split()[0])')"; \
		$(call RUN_PYTEST_WITH,.venv-py$$v/bin/python,-q -p no:cacheprovider shared/messaging/tests); \
	done
	@for s in $(SERVICES); do $(MAKE) test-service SERVICE=$$s; done

TEST_EXTRA += test-pythons

# Standard library and the system python3 only: CI asks before it has set up any Python.
.PHONY: runtime-python
runtime-python: check-service ## SERVICE's manifest Python as version=3.N (for CI's setup-python): make runtime-python SERVICE=orders_api
	@python3 -c 'import json, sys; manifest, schema = (json.load(open(p)) for p in sys.argv[1:]); \
		print("version=" + manifest.get("runtime", schema["properties"]["runtime"]["default"]).removeprefix("python"))' \
		services/$(SERVICE)/service.json services/service.schema.json
