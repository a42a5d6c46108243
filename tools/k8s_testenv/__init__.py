"""A loopback Kubernetes control plane the project owns: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok (fake nodes whose pods become Running/Ready),
built from pinned Go module versions into a cache outside the repository and run on 127.0.0.1.

Tooling, not runtime: the platform never imports it (import-linter contract). Used by
`make k8s-testenv` / `make k8s-testenv-down` and by the session fixture in
tests/k8s/testenv_session.py. `python -m tools.k8s_testenv build|up|down|status|env`.
"""
