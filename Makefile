# stackswap — every target that needs Python bootstraps .venv from setup.cfg on first use (and
# again whenever setup.cfg changes). `make help` lists the targets.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov (make lint) lives in its own venv: it pins a boto3 the project's moto cannot use.
CHECKOV_VENV := .venv-checkov
CHECKOV_PIN := tools/checkov-requirements.txt
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# actionlint (make lint) too: a binary from a wheel, kept out of the project's venv.
ACTIONLINT_VENV := .venv-actionlint
ACTIONLINT_PIN := tools/actionlint-requirements.txt
ACTIONLINT_STAMP := $(ACTIONLINT_VENV)/.installed
# Every workflow, the examples in docs/, and tools/actionlint/uses-the-action.yml, through which
# actionlint checks action.yml (its inputs and outputs as a workflow uses them).
WORKFLOWS := .github/workflows/*.yml docs/examples/workflows/*.yml tools/actionlint/*.yml
# render and lint read CONFIG (default: the example); the targets that talk to AWS pass it on
# when it is given (make deploy CONFIG=prod.toml), else the CLI's default applies:
# $$STACKSWAP_CONFIG, then stackswap.toml.
CONFIG ?= stackswap.example.toml
CONFIG_FLAG := $(if $(filter command line environment,$(origin CONFIG)),--config '$(CONFIG)')
STACKSWAP := $(BIN)/stackswap

.DEFAULT_GOAL := help
.PHONY: help venv render lint test demo bench deploy diff swap rollback status recover update-alb clean

help: ## list every target with one line each
	@awk -F':.*## ' '/^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

venv: $(STAMP) ## create .venv from setup.cfg (done automatically by every target below)

# Re-created from scratch when the pin changes, so no older checkov or its dependencies linger.
$(CHECKOV_STAMP): $(CHECKOV_PIN)
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(CHECKOV_PIN)
	@touch $@

$(ACTIONLINT_STAMP): $(ACTIONLINT_PIN)
	rm -rf $(ACTIONLINT_VENV)
	$(PYTHON) -m venv $(ACTIONLINT_VENV)
	$(ACTIONLINT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		--only-binary=:all: -r $(ACTIONLINT_PIN)
	@touch $@

render: $(STAMP) ## render templates/*.yml from $(CONFIG)
	$(STACKSWAP) render --config '$(CONFIG)'

lint: $(STAMP) $(CHECKOV_STAMP) $(ACTIONLINT_STAMP) ## stale templates, cfn-lint, ruff, checkov, actionlint
	$(STACKSWAP) render --config '$(CONFIG)' --check
	$(BIN)/cfn-lint templates/*.yml
	$(BIN)/ruff check .
	$(BIN)/python -m tools.security_scan --checkov $(CHECKOV_VENV)/bin/checkov
	PATH="$(CURDIR)/$(ACTIONLINT_VENV)/bin:$$PATH" $(ACTIONLINT_VENV)/bin/actionlint $(WORKFLOWS)

# Most of the suite waits on local servers (moto, the sandbox), so four workers pay off even on
# two cores. PYTEST_ARGS= runs it serially; PYTEST_ARGS="-n 4 -k plan" picks tests.
PYTEST_ARGS ?= -n 4 --dist loadgroup

test: $(STAMP) ## run the whole test suite (unit, golden, moto server, sandbox end to end)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP) ## the whole blue/green cycle on a local sandbox: v1, v2, swap, rollback, a broken image
	$(STACKSWAP) sandbox demo

bench: $(STAMP) ## benchmark: detection delay, API calls, deploy time vs the AWS CLI procedure
	$(BIN)/python -m bench

deploy: $(STAMP) ## deploy IMAGE=... [COLOR=blue|green] [ARGS=--no-swap] to the idle colour
	@test -n "$(IMAGE)" || { echo "usage: make deploy IMAGE=repo:tag [COLOR=green] [ARGS=...]" >&2; exit 2; }
	$(STACKSWAP) deploy $(CONFIG_FLAG) --image '$(IMAGE)' $(if $(COLOR),--color $(COLOR)) $(ARGS)

diff: $(STAMP) ## what deploy IMAGE=... would change: plan, change sets, traffic, images
	@test -n "$(IMAGE)" || { echo "usage: make diff IMAGE=repo:tag [COLOR=green] [ARGS=...]" >&2; exit 2; }
	$(STACKSWAP) diff $(CONFIG_FLAG) --image '$(IMAGE)' $(if $(COLOR),--color $(COLOR)) $(ARGS)

swap: $(STAMP) ## promote the colour on :8080 to production after verifying it
	$(STACKSWAP) swap $(CONFIG_FLAG) $(ARGS)

rollback: $(STAMP) ## put the previous colour back on :80
	$(STACKSWAP) rollback $(CONFIG_FLAG) $(ARGS)

status: $(STAMP) ## live/idle colour, images, health, listeners, drift
	$(STACKSWAP) status $(CONFIG_FLAG) $(ARGS)

recover: $(STAMP) ## continue the rollback of a stack stuck in UPDATE_ROLLBACK_FAILED
	$(STACKSWAP) recover $(CONFIG_FLAG) $(ARGS)

update-alb: $(STAMP) ## apply the config's load balancer template (ARGS=--dry-run to only show it)
	$(STACKSWAP) update-alb $(CONFIG_FLAG) $(ARGS)

clean: ## remove .venv, .venv-checkov, .venv-actionlint and caches
	rm -rf $(VENV) $(CHECKOV_VENV) $(ACTIONLINT_VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
