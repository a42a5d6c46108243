# One-command entry points. `make run` and `make test` install everything they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
# Dagster's own CLI, ending without the ~1 s heap teardown after the run (platform_defs/dagster_cli.py)
DAGSTER := $(PY) -m platform_defs.dagster_cli
KUBECTL := $(VENV)/bin/kubectl
STAMP := $(VENV)/.installed
JOB_CONFIG := config/bootstrap.yaml

.PHONY: scan-secrets help setup jars-hadoop run recover-catalog ui down reset status env sql spark-sql pyspark test lint typecheck validate pytest pytest-fast e2e bench bench-scale clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-24s %s\n", $$1, $$2}'

# Bytecode is compiled at install (uv's --compile-bytecode, compileall for the project's own
# modules): where PYTHONDONTWRITEBYTECODE is set (containers, some CI images) Python would
# otherwise compile every module of Dagster, pyiceberg and pyspark from source in every process,
# 3x a warm `make run`'s CPU measured (docs/benchmarks.md).
$(STAMP): pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(PYTHON) -m uv sync --frozen --quiet --compile-bytecode
	@PYTHONDONTWRITEBYTECODE= $(PY) -m compileall -q platform_defs assets tools >/dev/null
	$(PY) -m platform_defs.spark.jars fetch --group core --group rest
	@touch $@

setup: $(STAMP) ## Create .venv with the locked dependencies (idempotent)

# umask 077: Dagster's run history, event logs and compute logs are the owner's only.
# `export X="$$(cmd)"` would hide cmd's failure (export's status is 0): assign, then export.
# On a failure the last line is the failed step and its error, read from the run's events.
run: setup ## Bring up the embedded platform and materialize the bootstrap graph
	@umask 077; home="$$($(PY) -m platform_defs.cli dagster-home)" || exit $$?; \
	  export DAGSTER_HOME="$$home" PYTHONWARNINGS=ignore::FutureWarning; \
	  invocation="make-run-$$(date +%s)-$$$$"; \
	  $(DAGSTER) job execute -m platform_defs.definitions -j bootstrap_platform -c $(JOB_CONFIG) \
	    --tags "{\"platform/invocation\": \"$$invocation\"}" || { rc=$$?; \
	    $(PY) -m platform_defs.cli run-summary bootstrap_platform "$$invocation"; exit $$rc; }
	@echo && $(PY) -m platform_defs.cli status

# `make ui` does not bootstrap first: the UI answers within seconds, and the bootstrap is one
# click away in it (Jobs -> bootstrap_platform -> Launchpad -> Launch run), or `make run`.
UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000
DG := $(VENV)/bin/dg
ui: setup ## Dagster UI + daemon (`dg dev`) on the persistent instance, at UI_HOST:UI_PORT (Ctrl-C stops both)
	@umask 077; home="$$($(PY) -m platform_defs.cli dagster-home)" || exit $$?; \
	  export DAGSTER_HOME="$$home" PYTHONWARNINGS=ignore::FutureWarning && \
	  echo "Dagster UI: http://$(UI_HOST):$(UI_PORT)  (instance: $$DAGSTER_HOME; not bootstrapped yet? launch bootstrap_platform from the UI or run make run)" && \
	  exec $(DG) dev -h $(UI_HOST) -p $(UI_PORT)

recover-catalog: setup ## Register the warehouse's tables back into a lost catalog (README "Backup and restore")
	@export DAGSTER_HOME="$$($(PY) -m platform_defs.cli dagster-home)" PYTHONWARNINGS=ignore::FutureWarning && \
	  $(DAGSTER) job execute -m platform_defs.definitions -j recover_catalog -c config/recover_catalog.yaml

status: setup ## Show what is running and where state lives
	@$(PY) -m platform_defs.cli status

# Shells and connection helpers (README "Connect"); each needs the platform running (`make run`).
IDENTITY ?= analyst
env: setup ## export lines for AWS CLI/boto3/pyiceberg/mc: eval "$$(make -s env)" (IDENTITY=spark to write)
	@$(PY) -m platform_defs.shell env --identity $(IDENTITY)

sql: setup ## DuckDB with the warehouse attached as `lake` through the REST catalog (analyst)
	@$(PY) -m platform_defs.shell sql $(if $(SQL),-e "$(SQL)")

spark-sql: setup ## Spark SQL on the shared catalog (identity spark)
	@PYTHONWARNINGS=ignore::FutureWarning $(PY) -m platform_defs.shell spark-sql $(if $(SQL),-e "$(SQL)")

pyspark: setup ## Python with `spark` on the shared catalog (identity spark) and the connect helpers
	@PYTHONWARNINGS=ignore::FutureWarning $(PY) -i -m platform_defs.pyspark_shell

down: setup ## Stop the embedded object store, the REST catalog and the Spark Connect server (data is kept)
	@$(PY) -m platform_defs.cli down

reset: setup ## Stop the store and delete its data, catalog and generated credentials
	@$(PY) -m platform_defs.cli reset

test: setup scan-secrets lint typecheck validate pytest e2e ## Lint, types, definitions, the whole test suite, end to end

# The hadoop-catalog option's jars (hadoop-aws + the 640 MB AWS SDK bundle) are fetched only for
# the tests that exercise that option, or by people who choose it.
jars-hadoop: setup
	$(PY) -m platform_defs.spark.jars fetch --group hadoop

scan-secrets: setup ## Fail on committed keys, certificates or credentials (detect-secrets, tools/secret_scan.py)
	$(PY) -m tools.secret_scan .

# lint-imports: the import-linter contracts in pyproject.toml (layers, no cycles, the runtime
# never imports tools/tests/bench). No cache: a stale one can hide an import just added.
lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: setup
	$(VENV)/bin/mypy

validate: setup
	$(VENV)/bin/dg check defs

# pytest exits 5 when it collected nothing: that is a failure here, never a green run.
# PYTEST_WORKERS=2 runs two pytest-xdist workers (a module stays on one, the cluster tests
# share one: tests/conftest.py). Measured on 2 cores, clean clone: 27.6 min against 29.2 min
# in one process, with the Spark-heavy modules contending for the CPU at load 6-7; so the
# default stays one process (0: xdist off), and more cores are where workers pay.
PYTEST_WORKERS ?= 0
pytest: setup jars-hadoop k8s-testenv-for-tests
	@$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

pytest-fast: setup ## Only the tests that start no processes
	$(PY) -m pytest -m "not slow"

e2e: setup ## `dagster job execute` end to end against a fresh state directory
	@bash scripts/e2e_bootstrap.sh

# Benchmarks print figures and never fail on a goal; results land in bench/out/ (gitignored).
BENCH_ARGS ?=
bench: setup ## Every benchmark (1 GiB ingest, 10k-object inventory): bench/out/report.md + ratios
	$(PY) -m bench $(BENCH_ARGS)

# One repeat per size (16 GiB: ~6 min on an idle 2-core machine, ~40 GiB of free disk).
SCALE_SIZES_GIB ?= 1 4 16
SCALE_OBJECTS ?= 10000 100000
bench-scale: setup ## Ingest at 1/4/16 GiB and inventory at 10k/100k objects (long)
	$(PY) -m bench --only ingest --only inventory --repeat 1 \
	  --sizes-gib $(SCALE_SIZES_GIB) --objects $(SCALE_OBJECTS) --out bench/out/scale $(BENCH_ARGS)

.PHONY: compose-env
compose-env: setup ## Write .env for docker-compose.yml: generated credentials, mode 0600, kept on reruns
	$(PY) -m platform_defs.compose_env

clean: ## Remove the virtualenv and caches (not the platform's state)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Kubernetes: render/validate offline, and cluster set-up for people with Docker + kind.
include mk/cluster.mk
# The loopback control plane the `cluster` tests run against.
include mk/testenv.mk
