#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd that the Kubernetes integration tests run against, and the
# kubectl they install the plain manifests with, from upstream Go modules (no Docker, no prebuilt
# binary downloads on these machines), and caches them outside the repo:
#   ${ITER8_K8S_CACHE:-$HOME/.cache/iter8-k8s}/<k8s version>/{kube-apiserver,kubectl,etcd}
# and sets the env vars the test harness reads in ${ITER8_K8S_CACHE}/env (other scripts here add
# their own keys to that file).
# When the binaries are already cached it does no work at all (and needs no network).
#
# Versions: pinned below so that CI is reproducible and a warm cache never needs the network.
# They were the newest patches on the Go module proxy when chosen
# (`GOTOOLCHAIN=local go list -m -versions k8s.io/kubernetes` / `go.etcd.io/etcd/server/v3`);
# pass --latest to resolve the newest v1.34.x / v3.6.x instead, or set ITER8_K8S_VERSION /
# ITER8_ETCD_VERSION.
#
# Usage: scripts/k8s/build-binaries.sh [--latest]
set -euo pipefail

LOG_TAG=build-binaries
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

K8S_VERSION=${ITER8_K8S_VERSION:-v1.34.4}
ETCD_VERSION=${ITER8_ETCD_VERSION:-v3.6.16}

command -v go >/dev/null || die "go is not on PATH (Go >= 1.24 is needed to build kube-apiserver ${K8S_VERSION})"

latest_of() { # module, version prefix
  go list -m -versions "$1" | tr ' ' '\n' | grep -E "^$2\.[0-9]+$" | sort -V | tail -1
}

if [ "${1:-}" = "--latest" ]; then
  K8S_VERSION=$(latest_of k8s.io/kubernetes v1.34) || die "cannot list k8s.io/kubernetes versions"
  ETCD_VERSION=$(latest_of go.etcd.io/etcd/server/v3 v3.6) || die "cannot list etcd versions"
  log "latest on the proxy: kubernetes ${K8S_VERSION}, etcd ${ETCD_VERSION}"
elif [ -n "${1:-}" ]; then
  die "unknown argument '$1' (expected --latest or nothing)"
fi

[[ "$K8S_VERSION" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "ITER8_K8S_VERSION '$K8S_VERSION' is not vMAJOR.MINOR.PATCH with major 1"
K8S_MINOR=${BASH_REMATCH[1]}
K8S_PATCH=${BASH_REMATCH[2]}
# The staging modules (k8s.io/api, k8s.io/apimachinery, ...) are tagged v0.<minor>.<patch>.
STAGING_VERSION="v0.${K8S_MINOR}.${K8S_PATCH}"
[[ "$ETCD_VERSION" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || die "ITER8_ETCD_VERSION '$ETCD_VERSION' is not v3.MINOR.PATCH"

OUT="$CACHE/$K8S_VERSION"
APISERVER="$OUT/kube-apiserver"
ETCD="$OUT/etcd"
ETCD_STAMP="$OUT/etcd.version"
KUBECTL="$OUT/kubectl"

write_env() {
  env_set "ITER8_KUBE_APISERVER=$APISERVER" "ITER8_ETCD=$ETCD" "ITER8_KUBECTL=$KUBECTL"
  log "binaries ready; use them with:"
  cat <<EOF
export ITER8_KUBE_APISERVER=$APISERVER
export ITER8_ETCD=$ETCD
export ITER8_KUBECTL=$KUBECTL
EOF
  log "(also written to $CACHE/env)"
}

have_apiserver() { [ -f "$APISERVER" ] && [ -x "$APISERVER" ]; }
have_kubectl() { [ -f "$KUBECTL" ] && [ -x "$KUBECTL" ]; }
have_etcd() { [ -f "$ETCD" ] && [ -x "$ETCD" ] && [ "$(cat "$ETCD_STAMP" 2>/dev/null)" = "$ETCD_VERSION" ]; }

if have_apiserver && have_etcd && have_kubectl; then
  log "cached: kube-apiserver ${K8S_VERSION}, kubectl ${K8S_VERSION}, etcd ${ETCD_VERSION} in $OUT"
  write_env
  exit 0
fi

check_sumdb

WORK=$(mktemp -d "${TMPDIR:-/tmp}/iter8-k8s-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT" "$WORK/bin"

# The throwaway module both kube-apiserver and kubectl are built in (the same dependency versions as
# upstream's release, so the second build reuses most of the first one's compiled packages).
K8S_MOD="$WORK/mod-kubernetes"
K8S_LDFLAGS=()
setup_kubernetes_module() {
  [ -f "$K8S_MOD/go.mod" ] && return 0
  mkdir -p "$K8S_MOD"
  cd "$K8S_MOD"
  go mod init iter8.local/kubernetes-build >/dev/null 2>&1
  # k8s.io/kubernetes requires its staging modules at the placeholder v0.0.0 and maps them to
  # ./staging/... with replace directives, which only apply inside its own repository. Read that
  # list from the go.mod it was released with and map each module to its published tag instead.
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | awk -F'"' '$2=="GoMod"{print $4}')
  [ -f "$gomod" ] || die "could not download the go.mod of k8s.io/kubernetes@${K8S_VERSION}"
  local staging
  staging=$(awk '
    $1 == "require" && $2 == "(" { inreq = 1; next }
    inreq && $1 == ")" { inreq = 0; next }
    inreq && $1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }
    $1 == "require" && $2 ~ /^k8s\.io\// && $3 == "v0.0.0" { print $2 }
  ' "$gomod" | sort -u)
  local n
  n=$(printf '%s\n' "$staging" | grep -c . || true)
  [ "$n" -gt 0 ] || die "found no k8s.io/* v0.0.0 requirements in $gomod: has upstream changed its layout?"
  log "kubernetes ${K8S_VERSION}: mapping $n staging modules to ${STAGING_VERSION}"
  local args=(-require="k8s.io/kubernetes@${K8S_VERSION}")
  local m
  for m in $staging; do args+=(-replace="$m=$m@${STAGING_VERSION}"); done
  # Same language version and GODEBUG defaults as upstream builds with.
  local gover
  gover=$(awk '$1 == "go" { print $2; exit }' "$gomod")
  [ -n "$gover" ] && args+=(-go="$gover")
  local gd
  for gd in $(awk '
    $1 == "godebug" && $2 == "(" { inblk = 1; next }
    inblk && $1 == ")" { inblk = 0; next }
    inblk { print $1 }
    $1 == "godebug" && $2 != "(" { print $2 }
  ' "$gomod"); do args+=(-godebug="$gd"); done
  go mod edit "${args[@]}"
  # Without these, /version reports v0.0.0-master and clients' version checks misbehave.
  local date pkg
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    K8S_LDFLAGS+=("-X $pkg.gitVersion=${K8S_VERSION}" "-X $pkg.gitMajor=1" "-X $pkg.gitMinor=${K8S_MINOR}"
      "-X $pkg.gitTreeState=clean" "-X $pkg.buildDate=$date")
  done
  cd - >/dev/null
}

build_kubernetes_cmd() { # command name (k8s.io/kubernetes/cmd/<name>), destination
  setup_kubernetes_module
  local start
  start=$(date +%s)
  log "building $1 ${K8S_VERSION}"
  (cd "$K8S_MOD" && go build -trimpath -tags selinux,notest -ldflags "-s -w ${K8S_LDFLAGS[*]}" \
    -o "$WORK/bin/$1" "k8s.io/kubernetes/cmd/$1")
  mv "$WORK/bin/$1" "$2"
  log "built $1 in $(($(date +%s) - start)) s"
}

build_etcd() {
  local mod="$WORK/mod-etcd"
  mkdir -p "$mod"
  cd "$mod"
  go mod init iter8.local/etcd-build >/dev/null 2>&1
  # `go install go.etcd.io/etcd/v3@...` fails on etcd's own replace directives (etcd-io/etcd#18501);
  # a main of our own that calls etcdmain.Main is the etcd binary.
  cat >main.go <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  go mod edit -require="go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  log "building etcd ${ETCD_VERSION}"
  go build -trimpath -ldflags "-s -w" -o "$WORK/bin/etcd" .
  mv "$WORK/bin/etcd" "$ETCD"
  echo "$ETCD_VERSION" >"$ETCD_STAMP"
  cd - >/dev/null
}

have_etcd || build_etcd
# kube-apiserver: cold 10-25 min on 2 shared cores. kubectl (the tests run `kubectl apply -k
# deploy/` with it): a few minutes more, since it shares most packages with kube-apiserver.
have_apiserver || build_kubernetes_cmd kube-apiserver "$APISERVER"
have_kubectl || build_kubernetes_cmd kubectl "$KUBECTL"

# The version ldflags took effect (otherwise /version says v0.0.0-master).
got=$("$APISERVER" --version)
[ "$got" = "Kubernetes ${K8S_VERSION}" ] || die "built kube-apiserver reports '$got', expected 'Kubernetes ${K8S_VERSION}'"
got=$("$KUBECTL" version --client -o json | awk -F'"' '$2=="gitVersion"{print $4; exit}')
[ "$got" = "${K8S_VERSION}" ] || die "built kubectl reports '$got', expected '${K8S_VERSION}'"
got=$("$ETCD" --version | sed -n 1p) # sed reads to the end: no SIGPIPE under pipefail
[ "$got" = "etcd Version: ${ETCD_VERSION#v}" ] || die "built etcd reports '$got', expected 'etcd Version: ${ETCD_VERSION#v}'"
log "built: kube-apiserver ${K8S_VERSION}, kubectl ${K8S_VERSION}, etcd ${ETCD_VERSION}"
write_env
