# The loopback Kubernetes control plane (tools/k8s_testenv): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok built from pinned Go modules into a cache
# outside the repository (K8S_TESTENV_CACHE, default ~/.cache/lakehouse-platform/k8s-testenv).
#   make k8s-testenv-build    build once (needs Go; ~36 CPU-minutes cold, a no-op when cached)
#   make k8s-testenv          start it (state in K8S_TESTENV_STATE); prints the KUBECONFIG line
#   make k8s-testenv-down     stop exactly the processes it started
# The `cluster` tests start their own copy for the session (tests/k8s/testenv_session.py).

PY ?= .venv/bin/python

.PHONY: k8s-testenv-build k8s-testenv-for-tests k8s-testenv k8s-testenv-down k8s-testenv-status

k8s-testenv-build: ## Build (or reuse) the loopback Kubernetes control plane's binaries
	@bash tools/k8s_testenv/build.sh >/dev/null

# What `make pytest` runs first: the build, except on a developer machine without Go, where the
# `cluster` tests then skip naming the fix. On CI (CI=true) a missing Go fails here.
k8s-testenv-for-tests:
	@if [ "$$CI" = true ] || command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ]; then \
	  bash tools/k8s_testenv/build.sh >/dev/null; \
	else \
	  echo "k8s-testenv: no Go on PATH: the 'cluster' tests will skip (install Go >= 1.26 to run them)" >&2; \
	fi

k8s-testenv: setup k8s-testenv-build ## Start the loopback Kubernetes control plane
	@$(PY) -m tools.k8s_testenv up

k8s-testenv-down: setup ## Stop the loopback Kubernetes control plane (its recorded PIDs only)
	@$(PY) -m tools.k8s_testenv down

k8s-testenv-status: setup
	@$(PY) -m tools.k8s_testenv status
