# Terraform: formatting, validation, tests, checkov, and the deploy targets
# (docs/terraform.md).
# `make tf-check` is the aggregate that `make test` runs (TEST_EXTRA); the
# apply-against-moto test lives in tests/terraform/ and runs with `make pytest`.

TERRAFORM ?= terraform
# A local provider mirror (a directory holding registry.terraform.io/hashicorp/aws/...)
# lets `terraform init` run offline: TF_PROVIDER_MIRROR if set, else the first of these
# that holds the AWS provider: the user's own directories, /opt/tf-plugins, then the
# system ones Terraform itself reads on Linux ($$XDG_DATA_DIRS/terraform/plugins).
# None: `terraform init` downloads from the registry (as on GitHub).
TF_MIRROR_CANDIDATES ?= $(HOME)/.terraform.d/plugins $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/terraform/plugins \
	/opt/tf-plugins $(patsubst %,%/terraform/plugins,$(subst :, ,$(or $(XDG_DATA_DIRS),/usr/local/share:/usr/share)))
ifeq ($(strip $(TF_PROVIDER_MIRROR)),)
override TF_PROVIDER_MIRROR := $(firstword $(foreach d,$(TF_MIRROR_CANDIDATES),$(if $(wildcard $(d)/registry.terraform.io/hashicorp/aws),$(d))))
endif
TF_DIR := terraform
TF_MODULES := $(sort $(patsubst %/,%,$(dir $(wildcard $(TF_DIR)/modules/*/main.tf))))
TF_OTHER_ROOTS := $(patsubst %/main.tf,%,$(wildcard $(TF_DIR)/bootstrap/main.tf))
TF_ENVS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard $(TF_DIR)/environments/*/main.tf)))))
TF_BUILD := $(CURDIR)/build/terraform
TF_RC := $(TF_BUILD)/terraform.rc
TF_TEST_ARTIFACTS := $(TF_BUILD)/test-artifacts
TF_SYSTEM_TESTS := $(TF_DIR)/modules/system/tests
ENV ?=
TF_ENV_DIR := $(TF_DIR)/environments/$(ENV)
TF_BIN := $(shell command -v $(TERRAFORM) 2>/dev/null)
TF_SKIP := echo "SKIPPED: terraform not installed ($(TERRAFORM) not on PATH); install Terraform >= 1.10 to run this target"
# With no mirror, ask the registry once per run (3 s at most, only for the targets that
# init); sub-makes and the pytest apply test read the exported answer.
TF_REGISTRY_PROBE_URL ?= https://registry.terraform.io/.well-known/terraform.json
ifneq ($(TF_BIN),)
ifeq ($(TF_PROVIDER_MIRROR)$(origin TF_REGISTRY_REACHABLE),undefined)
ifneq ($(filter test pytest tf-check tf-validate tf-test tf-checkov,$(MAKECMDGOALS)),)
TF_REGISTRY_REACHABLE := $(shell python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' \
	'$(TF_REGISTRY_PROBE_URL)' >/dev/null 2>&1 && echo yes || echo no)
endif
endif
endif
export TF_REGISTRY_REACHABLE
TF_INIT_SKIP = echo "SKIPPED: $@: no provider mirror (TF_PROVIDER_MIRROR unset; none in $(or $(strip $(TF_MIRROR_CANDIDATES)),no candidate directory)) and $(TF_REGISTRY_PROBE_URL) unreachable, so terraform init cannot run"

CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
# No platform look-ups, no update check, no API key: results come from the
# locked checkov alone.
CHECKOV_ENV := BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false \
	BC_API_KEY= PRISMA_API_URL=
CHECKOV_ARGS := --skip-download --compact --quiet --output cli --download-external-modules false
TF_PLAN_JSON ?= $(TF_BUILD)/dev-applied-plan.json

export TF_CLI_CONFIG_FILE := $(TF_RC)
export TF_IN_AUTOMATION := 1
export CHECKPOINT_DISABLE := 1
export TF_PROVIDER_MIRROR

TEST_EXTRA += tf-check

TF_TARGETS := tf-rc tf-check tf-fmt tf-fmt-write tf-validate tf-test tf-checkov tf-checkov-plan tf-check-env \
	tf-init tf-plan tf-apply tf-plan-destroy

ifeq ($(TF_BIN),)
# No terraform binary: every Terraform target says so and succeeds.
.PHONY: $(TF_TARGETS)
$(TF_TARGETS):
	@$(TF_SKIP)
else
.PHONY: tf-rc
tf-rc:
	@if [ -n "$(TF_PROVIDER_MIRROR)" ] && [ ! -d "$(TF_PROVIDER_MIRROR)" ]; then \
	  echo "error: TF_PROVIDER_MIRROR=$(TF_PROVIDER_MIRROR) is not a directory" >&2; exit 2; fi
	@mkdir -p $(TF_BUILD)/plugin-cache
	@{ echo 'plugin_cache_dir = "$(TF_BUILD)/plugin-cache"'; \
	  echo 'plugin_cache_may_break_dependency_lock_file = true'; \
	  if [ -n "$(TF_PROVIDER_MIRROR)" ]; then \
	    echo 'provider_installation {'; \
	    echo '  filesystem_mirror {'; \
	    echo '    path    = "$(TF_PROVIDER_MIRROR)"'; \
	    echo '    include = ["registry.terraform.io/hashicorp/*"]'; \
	    echo '  }'; \
	    echo '  direct {'; \
	    echo '    exclude = ["registry.terraform.io/hashicorp/*"]'; \
	    echo '  }'; \
	    echo '}'; \
	  fi; } > $(TF_RC).tmp && mv $(TF_RC).tmp $(TF_RC)

.PHONY: tf-check
tf-check: ## fmt, init+validate every module and environment, terraform test, checkov
	@start=$$(date +%s); \
	for t in tf-fmt tf-validate tf-test tf-checkov; do \
	  t0=$$(date +%s); $(MAKE) $$t; echo "tf-check: $$t took $$(( $$(date +%s) - t0 ))s"; \
	done; \
	echo "tf-check: all green in $$(( $$(date +%s) - start ))s"

.PHONY: tf-fmt
tf-fmt: tf-rc ## terraform fmt -check -recursive
	$(TERRAFORM) fmt -check -recursive -diff $(TF_DIR)

.PHONY: tf-fmt-write
tf-fmt-write: tf-rc ## rewrite every .tf/.tftest.hcl file in canonical format
	$(TERRAFORM) fmt -recursive $(TF_DIR)

ifeq ($(TF_REGISTRY_REACHABLE),no)
# No mirror and no registry: the targets that need `terraform init` say so and succeed.
.PHONY: tf-validate tf-test tf-checkov tf-checkov-plan
tf-validate tf-test tf-checkov tf-checkov-plan:
	@$(TF_INIT_SKIP)
else
.PHONY: tf-validate
tf-validate: tf-rc ## init -backend=false and validate every module, environment and the bootstrap
	@for d in $(TF_MODULES) $(addprefix $(TF_DIR)/environments/,$(TF_ENVS)) $(TF_OTHER_ROOTS); do \
	  $(TERRAFORM) -chdir=$$d init -backend=false -input=false -no-color > $(TF_BUILD)/init.log 2>&1 \
	    || { cat $(TF_BUILD)/init.log; echo "error: terraform init failed in $$d" >&2; exit 1; }; \
	  printf '%-40s ' "$$d"; $(TERRAFORM) -chdir=$$d validate -no-color; \
	done

$(TF_TEST_ARTIFACTS)/.placeholders: $(wildcard services/*/service.json $(TF_SYSTEM_TESTS)/fixtures/*/*/service.json)
	@mkdir -p $(TF_TEST_ARTIFACTS)
	@python3 -c 'import sys, zipfile, pathlib; \
	out = pathlib.Path(sys.argv[1]); \
	[zipfile.ZipFile(out / f"{pathlib.Path(m).parent.name}.zip", "w").writestr("placeholder.py", "") for m in sys.argv[2:]]' \
	  $(TF_TEST_ARTIFACTS) $^
	@touch $@

.PHONY: tf-test
tf-test: tf-rc $(TF_TEST_ARTIFACTS)/.placeholders ## terraform test (mocked provider): the wiring derived from the declarations, and each environment's required settings
	$(TERRAFORM) -chdir=$(TF_DIR)/modules/system init -backend=false -input=false -no-color > $(TF_BUILD)/init.log 2>&1 \
	  || { cat $(TF_BUILD)/init.log; exit 1; }
	$(TERRAFORM) -chdir=$(TF_DIR)/modules/system test -no-color -var 'artifacts_dir=$(TF_TEST_ARTIFACTS)'
	$(TERRAFORM) -chdir=$(TF_DIR)/modules/http_api init -backend=false -input=false -no-color > $(TF_BUILD)/init.log 2>&1 \
	  || { cat $(TF_BUILD)/init.log; exit 1; }
	$(TERRAFORM) -chdir=$(TF_DIR)/modules/http_api test -no-color
	@# Environments that link environment_root/tests: their own tfvars, mocked provider.
	@for d in $(addprefix $(TF_DIR)/environments/,$(TF_ENVS)); do \
	  [ -d $$d/tests ] || continue; \
	  $(TERRAFORM) -chdir=$$d init -backend=false -input=false -no-color > $(TF_BUILD)/init.log 2>&1 \
	    || { cat $(TF_BUILD)/init.log; echo "error: terraform init failed in $$d" >&2; exit 1; }; \
	  echo "terraform test in $$d"; \
	  $(TERRAFORM) -chdir=$$d test -no-color -var 'artifacts_dir=$(TF_TEST_ARTIFACTS)' || exit 1; \
	done

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found" >&2; exit 1; }
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/checkov.txt
	@touch $@

.PHONY: tf-checkov
tf-checkov: $(CHECKOV_VENV)/.installed $(VENV)/.installed tf-rc ## checkov over terraform/ (tests/terraform/test_checkov_plan.py scans the plan of dev applied to moto)
	@echo "checkov: directory scan of $(TF_DIR)/"
	@$(CHECKOV_ENV) $(CHECKOV) -d $(TF_DIR) --framework terraform $(CHECKOV_ARGS) > $(TF_BUILD)/checkov-dir.txt 2>&1; rc=$$?; \
	  grep -E 'Passed checks|Check: |FAILED for|File: ' $(TF_BUILD)/checkov-dir.txt || cat $(TF_BUILD)/checkov-dir.txt; exit $$rc

# Run by tests/terraform/test_checkov_plan.py on the plan of the session's one apply of dev.
.PHONY: tf-checkov-plan
tf-checkov-plan: $(CHECKOV_VENV)/.installed
	@test -f "$(TF_PLAN_JSON)" || { echo "error: TF_PLAN_JSON=$(TF_PLAN_JSON) does not exist" >&2; exit 2; }
	@$(CHECKOV_ENV) $(CHECKOV) -f $(TF_PLAN_JSON) --framework terraform_plan --repo-root-for-plan-enrichment . $(CHECKOV_ARGS) \
	  > $(TF_PLAN_JSON).checkov.txt 2>&1; rc=$$?; \
	  grep -E 'Passed checks|Check: |FAILED for|File: ' $(TF_PLAN_JSON).checkov.txt || cat $(TF_PLAN_JSON).checkov.txt; exit $$rc
endif

# --- deploy --------------------------------------------------------------------

.PHONY: tf-check-env
tf-check-env:
	@if [ -z "$(ENV)" ] || [ ! -f $(TF_ENV_DIR)/main.tf ]; then \
		echo "error: unknown ENV='$(ENV)'; valid environments: $(TF_ENVS)" >&2; exit 2; fi

.PHONY: tf-init
tf-init: tf-check-env tf-rc ## init an environment with its S3 backend: make tf-init ENV=dev
	$(TERRAFORM) -chdir=$(TF_ENV_DIR) init -input=false

.PHONY: tf-plan
tf-plan: tf-init ## plan an environment into terraform/environments/$(ENV)/tfplan: make tf-plan ENV=dev
	$(TERRAFORM) -chdir=$(TF_ENV_DIR) plan -input=false -out=tfplan
	$(TERRAFORM) -chdir=$(TF_ENV_DIR) show -json tfplan > $(TF_ENV_DIR)/tfplan.json

.PHONY: tf-apply
tf-apply: tf-check-env tf-rc ## apply exactly the plan saved by tf-plan: make tf-apply ENV=dev
	@test -f $(TF_ENV_DIR)/tfplan || { echo "error: no saved plan in $(TF_ENV_DIR)/tfplan; run make tf-plan ENV=$(ENV) first" >&2; exit 2; }
	$(TERRAFORM) -chdir=$(TF_ENV_DIR) apply -input=false tfplan
	@rm -f $(TF_ENV_DIR)/tfplan $(TF_ENV_DIR)/tfplan.json

.PHONY: tf-plan-destroy
tf-plan-destroy: tf-init ## plan the destruction of an environment into tfplan (then make tf-apply ENV=...)
	$(TERRAFORM) -chdir=$(TF_ENV_DIR) plan -destroy -input=false -out=tfplan

endif

.PHONY: tf-clean
tf-clean: ## remove .terraform/ directories, saved plans and build/terraform
	find $(TF_DIR) -name .terraform -type d -prune -exec rm -rf {} +
	find $(TF_DIR) \( -name tfplan -o -name tfplan.json -o -name .terraform.lock.hcl \) -delete
	rm -rf $(TF_BUILD)
