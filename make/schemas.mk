# Event schemas as contracts: the lock of released versions and the AsyncAPI document.

.PHONY: schema-lock
schema-lock: $(VENV)/.installed ## Lock new event schema versions (released ones never change)
	$(PY) -m tools.schemas lock

TEST_EXTRA += asyncapi-validate

# The parser comes from the one npm lock in tools/node/, installed into $(NODE_BUILD) by the
# rule in make/workflows.mk; the script runs from there so that its import resolves.
.PHONY: asyncapi-validate
asyncapi-validate: ## Validate docs/asyncapi.json with the official @asyncapi/parser (needs Node and npm)
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
		echo "SKIPPED: asyncapi-validate needs node and npm on PATH; install Node.js >= 20 to run it"; \
		exit 0; fi; \
	$(MAKE) $(NODE_BUILD)/.installed; \
	cp tools/asyncapi/validate.mjs $(NODE_BUILD)/validate-asyncapi.mjs; \
	node $(NODE_BUILD)/validate-asyncapi.mjs docs/asyncapi.json

.PHONY: asyncapi
asyncapi: $(VENV)/.installed ## Regenerate docs/asyncapi.json (AsyncAPI 3.0) from the catalog and the manifests
	$(PY) -m tools.asyncapi --write docs/asyncapi.json
