#!/usr/bin/env bash
# Builds the pinned control-plane binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd, etcdctl, kwok) and the CRD schemas the manifests use into a cache
# outside the repository, keyed by versions. Built into a temporary directory and renamed into
# place at the end, so a half-finished build is never mistaken for a usable one.
# Usage: build.sh   (prints the bin directory on the last line)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.3}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
PROM_OPERATOR_VERSION="${PROM_OPERATOR_VERSION:-v0.85.0}"
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.21.2}"
RECIPE=r1

# The official tarball's location, when it is not on PATH (a non-login shell, make).
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "k8s-testenv: 'go' is not on PATH. The loopback Kubernetes control plane is built from" >&2
  echo "source with Go >= 1.26: install Go (the official tarball under /usr/local/go is found" >&2
  echo "even when not on PATH) and run 'make k8s-testenv-build' again." >&2
  exit 2
fi

# etcd v3.7's go.mod asks for go 1.26.0; with GOTOOLCHAIN=local an older Go cannot build it.
go_minor="$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
if [[ -z "$go_minor" || "$go_minor" -lt 26 ]]; then
  echo "k8s-testenv: $(go env GOVERSION) is too old: the pinned etcd and Kubernetes need Go >= 1.26." >&2
  exit 2
fi

CACHE_ROOT="${K8S_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-platform/k8s-testenv}"
KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_${RECIPE}"
DEST="$CACHE_ROOT/$KEY"
if [[ -f "$DEST/.complete" ]]; then
  echo "$DEST/bin"
  exit 0
fi

export GOPATH="$CACHE_ROOT/gopath"
export GOMODCACHE="$CACHE_ROOT/gopath/pkg/mod"
export GOCACHE="$CACHE_ROOT/gocache"
export GOFLAGS="-modcacherw -buildvcs=false"
export GOTOOLCHAIN=local
export CGO_ENABLED=0
mkdir -p "$CACHE_ROOT" "$GOMODCACHE" "$GOCACHE"

TMP="$(mktemp -d "$CACHE_ROOT/.build-$KEY.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin" "$TMP/crds" "$TMP/stages" "$TMP/work"
start=$(date +%s)

# --- Published schemas and kwok's pod stages, copied out of the module cache ----------------
kwokdir="$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
cp -r "$kwokdir/kustomize/stage/." "$TMP/stages/"
promdir="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROM_OPERATOR_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
cp "$promdir/example/prometheus-operator-crd-full/monitoring.coreos.com_servicemonitors.yaml" "$TMP/crds/"
cmdir="$(go mod download -json "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
for f in "$cmdir"/deploy/crds/*certificates.yaml "$cmdir"/deploy/crds/*issuers.yaml; do
  cp "$f" "$TMP/crds/"
done
# --- Kubernetes: a wrapper module pinning every staging module to the matching v0.X.Y -----
k8s_minor="${K8S_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
staging_version="v0.${K8S_VERSION#v1.}"
kgomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
W="$TMP/work/k8s"; mkdir -p "$W"
{
  echo "module lakehouse.local/k8s-testenv"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  # kubernetes' own go.mod replaces each staging module with ./staging/src/k8s.io/X.
  grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$kgomod" \
    | awk '{print $1}' | grep -vE '^k8s.io/(sample-cli-plugin|sample-controller)$' \
    | sort -u | while read -r m; do echo "replace $m => $m $staging_version"; done
} > "$W/go.mod"
cat > "$W/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
(cd "$W" && go mod tidy -e >/dev/null 2>&1 || true; cd "$W" && go mod download)
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  ldflags+=" -X $pkg.buildDate=$build_date"
done
for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
  echo "k8s-testenv: building $cmd $K8S_VERSION" >&2
  (cd "$W" && go build -trimpath -tags tools -ldflags="$ldflags" -o "$TMP/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd")
done

# --- etcd: its modules replace each other with ../ paths, which `go install pkg@version`
# refuses, so a second wrapper module requires the pinned release of both commands ----------
echo "k8s-testenv: building etcd $ETCD_VERSION, etcdctl" >&2
E="$TMP/work/etcd"; mkdir -p "$E"
cat > "$E/go.mod" <<MOD
module lakehouse.local/k8s-testenv-etcd

go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')

require (
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
	go.etcd.io/etcd/etcdctl/v3 $ETCD_VERSION
)
MOD
cat > "$E/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/server/v3"
)
GO
(cd "$E" && go mod tidy)
(cd "$E" && go build -trimpath -ldflags="-s -w" -o "$TMP/bin/etcd" go.etcd.io/etcd/server/v3)
(cd "$E" && go build -trimpath -ldflags="-s -w" -o "$TMP/bin/etcdctl" go.etcd.io/etcd/etcdctl/v3)

# --- kwok: a plain `go install` of the pinned module version --------------------------------
echo "k8s-testenv: building kwok $KWOK_VERSION" >&2
GOBIN="$TMP/bin" go install -trimpath -ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
  "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"

chmod -R u+w "$TMP"

cat > "$TMP/versions.env" <<ENV
K8S_VERSION=$K8S_VERSION
ETCD_VERSION=$ETCD_VERSION
KWOK_VERSION=$KWOK_VERSION
PROM_OPERATOR_VERSION=$PROM_OPERATOR_VERSION
CERT_MANAGER_VERSION=$CERT_MANAGER_VERSION
BUILD_SECONDS=$(( $(date +%s) - start ))
ENV
rm -rf "$TMP/work"
touch "$TMP/.complete"
rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
echo "$DEST/bin"
