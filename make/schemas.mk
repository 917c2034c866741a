# Event schemas as contracts: the lock of released versions and the AsyncAPI document.

.PHONY: schema-lock
schema-lock: $(VENV)/.installed ## Lock new event schema versions (released ones never change)
	$(PY) -m tools.schemas lock

ASYNCAPI_NODE := tools/asyncapi/node

.PHONY: asyncapi
asyncapi: $(VENV)/.installed ## Regenerate docs/asyncapi.json (AsyncAPI 3.0) from the catalog and the manifests
	$(PY) -m tools.asyncapi --write docs/asyncapi.json

TEST_EXTRA += asyncapi-validate

.PHONY: asyncapi-validate
asyncapi-validate: ## Validate docs/asyncapi.json with the official @asyncapi/parser (needs Node and npm)
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
		echo "SKIPPED: asyncapi-validate needs node and npm, not found on PATH"; exit 0; fi; \
	if [ ! -f $(ASYNCAPI_NODE)/node_modules/.package-lock.json ] || \
		[ $(ASYNCAPI_NODE)/package-lock.json -nt $(ASYNCAPI_NODE)/node_modules/.package-lock.json ]; then \
		npm ci --prefix $(ASYNCAPI_NODE) --ignore-scripts --no-audit --no-fund --loglevel=error; fi; \
	node $(ASYNCAPI_NODE)/validate.mjs docs/asyncapi.json
