# The loopback Kubernetes control plane (tools/k8s_testenv): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok built from pinned Go modules into a cache
# outside the repository (K8S_TESTENV_CACHE, default ~/.cache/lakehouse-platform/k8s-testenv).
#   make k8s-testenv-build    build once (needs Go; ~36 CPU-minutes cold, a no-op when cached)
#   make k8s-testenv          start it (state in K8S_TESTENV_STATE); prints the KUBECONFIG line
#   make k8s-testenv-down     stop exactly the processes it started
# The `cluster` tests start their own copy for the session (tests/k8s/testenv_session.py).

PY ?= .venv/bin/python

.PHONY: k8s-testenv-build k8s-testenv k8s-testenv-down k8s-testenv-status

k8s-testenv-build: ## Build (or reuse) the loopback Kubernetes control plane's binaries
	@bash tools/k8s_testenv/build.sh >/dev/null

k8s-testenv: setup k8s-testenv-build ## Start the loopback Kubernetes control plane
	@$(PY) -m tools.k8s_testenv up

k8s-testenv-down: setup ## Stop the loopback Kubernetes control plane (its recorded PIDs only)
	@$(PY) -m tools.k8s_testenv down

k8s-testenv-status: setup
	@$(PY) -m tools.k8s_testenv status
