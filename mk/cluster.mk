# Kubernetes path: kind clusters for dev and a prod rehearsal, the data components, offline
# rendering. Included by the main Makefile, which defines PY and KUBECTL (venv binaries).
#   make setup-cluster              kind + ingress-nginx + local-path, then Dagster provisions
#                                   the data components (dev) with PLATFORM_TARGET=kubernetes
#   make bootstrap-cluster          the Dagster bootstrap job against the current context
#   make setup-cluster-prod         4-worker kind + ingress-nginx + cert-manager + prod overlay
#   make install-data-components    prepare + `kubectl apply -k` into the current context
#   make render-manifests           prepare + `kubectl kustomize` into .rendered/<env>.yaml
#   make validate-manifests         render + kubernetes-validate --strict, two Kubernetes versions

# Whatever includes this file keeps its own default goal (restored at the end).
_CLUSTER_MK_DEFAULT_GOAL := $(.DEFAULT_GOAL)

PY ?= .venv/bin/python
KUBECTL ?= .venv/bin/kubectl
DAGSTER ?= $(dir $(PY))dagster
JOB_CONFIG ?= config/bootstrap.yaml
KUBERNETES_VALIDATE ?= $(dir $(PY))kubernetes-validate
DOCKER ?= docker
KIND ?= kind
OVERLAY ?= dev
OVERLAYS ?= dev prod dev-rest-catalog prod-rest-catalog
RENDERED_DIR ?= .rendered
KUBE_VERSIONS ?= 1.31.0 1.37.0
KIND_CLUSTER ?= lakehouse
KIND_CONFIG ?= manifests/kind/cluster.yaml
KIND_PROD_CLUSTER ?= lakehouse-prod
KIND_PROD_CONFIG ?= manifests/kind/cluster-prod.yaml
# ingress-nginx is retired upstream (best-effort maintenance ended March 2026): pinned, see
# manifests/README.md. cert-manager only for the prod rehearsal.
INGRESS_NGINX_VERSION ?= controller-v1.15.1
INGRESS_NGINX_MANIFEST ?= https://raw.githubusercontent.com/kubernetes/ingress-nginx/$(INGRESS_NGINX_VERSION)/deploy/static/provider/kind/deploy.yaml
CERT_MANAGER_VERSION ?= v1.18.1
CERT_MANAGER_MANIFEST ?= https://github.com/cert-manager/cert-manager/releases/download/$(CERT_MANAGER_VERSION)/cert-manager.yaml

# Sub-steps run in order through a recursive make on whichever file included this one.
CLUSTER_SUBMAKE := $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST))

.PHONY: check-docker check-kind check-cluster setup-cluster setup-cluster-prod \
	install-data-components bootstrap-cluster prepare-manifests render-manifests \
	validate-manifests _kind-cluster _kind-addons

# The docker CLI being on PATH proves nothing (no daemon on CI machines): ask the daemon.
check-docker:
	@command -v $(DOCKER) >/dev/null 2>&1 || { \
	  echo "Docker is not installed: kind runs Kubernetes nodes as Docker containers."; \
	  echo "Install Docker (or point DOCKER= at a compatible CLI), or use 'make render-manifests' to work offline."; \
	  exit 1; }
	@timeout 15 $(DOCKER) info >/dev/null 2>&1 || { \
	  echo "Docker is installed but its daemon does not answer ('$(DOCKER) info' failed)."; \
	  echo "Start the Docker daemon (or fix DOCKER_HOST), then retry. Offline checks: 'make render-manifests'."; \
	  exit 1; }

check-kind: check-docker
	@command -v $(KIND) >/dev/null 2>&1 || { \
	  echo "kind is not installed: see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"; \
	  echo "(or set KIND= to its path). Offline checks: 'make render-manifests'."; \
	  exit 1; }

check-cluster:
	@$(KUBECTL) version --request-timeout=5s >/dev/null 2>&1 || { \
	  echo "No Kubernetes API answers for context '$$($(KUBECTL) config current-context 2>/dev/null || echo none)'."; \
	  echo "Create a local one with 'make setup-cluster' (needs Docker and kind) or select a context."; \
	  exit 1; }

_kind-cluster: check-kind
	@if $(KIND) get clusters 2>/dev/null | grep -qx '$(NAME)'; then \
	  echo "kind cluster '$(NAME)' exists; reusing it."; \
	else \
	  $(KIND) create cluster --name '$(NAME)' --config '$(CONFIG)' --wait 180s; \
	fi
	$(KUBECTL) config use-context 'kind-$(NAME)'

_kind-addons:
	$(KUBECTL) apply -f manifests/kind/storageclass-local-path.yaml
	$(KUBECTL) apply -f '$(INGRESS_NGINX_MANIFEST)'
	$(KUBECTL) -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=300s
	$(KUBECTL) -n kube-system patch configmap coredns --type merge --patch-file manifests/kind/coredns-patch.yaml
	$(KUBECTL) -n kube-system rollout restart deployment/coredns
	$(KUBECTL) -n kube-system rollout status deployment/coredns --timeout=120s

# Ends with Dagster itself provisioning the data components (namespace, MinIO, bucket) on the
# kind cluster through the kubernetes target, reaching MinIO over a kubectl port-forward.
setup-cluster:
	@$(CLUSTER_SUBMAKE) _kind-cluster NAME='$(KIND_CLUSTER)' CONFIG='$(KIND_CONFIG)'
	@$(CLUSTER_SUBMAKE) _kind-addons
	@$(CLUSTER_SUBMAKE) bootstrap-cluster OVERLAY=dev KUBE_CONTEXT='kind-$(KIND_CLUSTER)'

# `dagster job execute -j bootstrap_platform` on the kubernetes target, current context unless
# KUBE_CONTEXT is given. DAGSTER_HOME under the state dir keeps the run history.
bootstrap-cluster: check-cluster prepare-manifests
	@export PLATFORM_TARGET=kubernetes PLATFORM_K8S_OVERLAY='$(OVERLAY)' \
	  $(if $(KUBE_CONTEXT),PLATFORM_KUBE_CONTEXT='$(KUBE_CONTEXT)') && \
	  export DAGSTER_HOME="$$($(PY) -m platform_defs.cli dagster-home)" && \
	  $(DAGSTER) job execute -m platform_defs.definitions -j bootstrap_platform -c $(JOB_CONFIG)

setup-cluster-prod:
	@$(CLUSTER_SUBMAKE) _kind-cluster NAME='$(KIND_PROD_CLUSTER)' CONFIG='$(KIND_PROD_CONFIG)'
	@$(CLUSTER_SUBMAKE) _kind-addons
	$(KUBECTL) apply -f '$(CERT_MANAGER_MANIFEST)'
	$(KUBECTL) -n cert-manager rollout status deployment/cert-manager-webhook --timeout=300s
	$(KUBECTL) apply -f manifests/kind/cert-manager-issuer.yaml
	@$(CLUSTER_SUBMAKE) install-data-components OVERLAY=prod

prepare-manifests:
	$(PY) -m platform_defs.k8s.prepare --overlay $(OVERLAY)

install-data-components: check-cluster prepare-manifests
	$(KUBECTL) apply -k manifests/overlays/$(OVERLAY)
	@case '$(OVERLAY)' in \
	  dev|dev-*) $(KUBECTL) -n analytics rollout status deployment/iceberg-minio --timeout=600s;; \
	  *) $(KUBECTL) -n analytics rollout status statefulset/iceberg-minio --timeout=900s;; \
	esac
	@case '$(OVERLAY)' in *-rest-catalog) \
	  $(KUBECTL) -n analytics rollout status statefulset/iceberg-rest-catalog-postgres --timeout=600s && \
	  $(KUBECTL) -n analytics rollout status deployment/iceberg-rest-catalog --timeout=600s;; \
	esac

# Rendered YAML contains the (base64) secrets: private files in a gitignored directory.
render-manifests:
	@mkdir -p $(RENDERED_DIR) && chmod 700 $(RENDERED_DIR)
	@set -e; for env in $(OVERLAYS); do \
	  $(PY) -m platform_defs.k8s.prepare --overlay $$env; \
	  (umask 077; $(KUBECTL) kustomize manifests/overlays/$$env > $(RENDERED_DIR)/$$env.yaml.tmp); \
	  mv $(RENDERED_DIR)/$$env.yaml.tmp $(RENDERED_DIR)/$$env.yaml; \
	  echo "rendered $(RENDERED_DIR)/$$env.yaml"; \
	done

# CRDs (cert-manager Certificate, ServiceMonitor) have no bundled schema: they only warn.
validate-manifests: render-manifests
	@set -e; for env in $(OVERLAYS); do for v in $(KUBE_VERSIONS); do \
	  $(KUBERNETES_VALIDATE) --strict --quiet -k $$v $(RENDERED_DIR)/$$env.yaml; \
	  echo "$$env: valid for Kubernetes $$v"; \
	done; done

.DEFAULT_GOAL := $(_CLUSTER_MK_DEFAULT_GOAL)
