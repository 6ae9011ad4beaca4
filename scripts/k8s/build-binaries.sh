#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd that the Kubernetes integration tests run against, from
# upstream Go modules (no Docker, no prebuilt binary downloads on these machines), and caches them
# outside the repo:
#   ${ITER8_K8S_CACHE:-$HOME/.cache/iter8-k8s}/<k8s version>/{kube-apiserver,etcd}
# and writes the env vars the test harness reads to ${ITER8_K8S_CACHE}/env.
# When both binaries are already cached it does no work at all (and needs no network).
#
# Versions: pinned below so that CI is reproducible and a warm cache never needs the network.
# They were the newest patches on the Go module proxy when chosen
# (`GOTOOLCHAIN=local go list -m -versions k8s.io/kubernetes` / `go.etcd.io/etcd/server/v3`);
# pass --latest to resolve the newest v1.34.x / v3.6.x instead, or set ITER8_K8S_VERSION /
# ITER8_ETCD_VERSION.
#
# Usage: scripts/k8s/build-binaries.sh [--latest]
set -euo pipefail

K8S_VERSION=${ITER8_K8S_VERSION:-v1.34.4}
ETCD_VERSION=${ITER8_ETCD_VERSION:-v3.6.16}
CACHE=${ITER8_K8S_CACHE:-$HOME/.cache/iter8-k8s}

# The machine's Go, never a toolchain download; modules resolved on demand in the throwaway modules.
export GOTOOLCHAIN=local
export GOFLAGS=-mod=mod

log() { printf '[build-binaries] %s\n' "$*" >&2; }
die() { printf '[build-binaries] error: %s\n' "$*" >&2; exit 1; }

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

write_env() {
  mkdir -p "$CACHE"
  local tmp="$CACHE/env.tmp.$$"
  {
    echo "# written by scripts/k8s/build-binaries.sh; read by test/k8s/harness/controlplane.ts"
    echo "export ITER8_KUBE_APISERVER=$APISERVER"
    echo "export ITER8_ETCD=$ETCD"
  } >"$tmp"
  mv "$tmp" "$CACHE/env"
  log "binaries ready; use them with:"
  cat <<EOF
export ITER8_KUBE_APISERVER=$APISERVER
export ITER8_ETCD=$ETCD
EOF
  log "(also written to $CACHE/env)"
}

have_apiserver() { [ -f "$APISERVER" ] && [ -x "$APISERVER" ]; }
have_etcd() { [ -f "$ETCD" ] && [ -x "$ETCD" ] && [ "$(cat "$ETCD_STAMP" 2>/dev/null)" = "$ETCD_VERSION" ]; }

if have_apiserver && have_etcd; then
  log "cached: kube-apiserver ${K8S_VERSION}, etcd ${ETCD_VERSION} in $OUT"
  write_env
  exit 0
fi

# Checksum database. go verifies every downloaded module against sum.golang.org; with the default
# GOPROXY it reaches the database *through the proxy* (<proxy>/sumdb/sum.golang.org/...), so
# sum.golang.org itself need not be reachable. We probe that path: if it answers we keep full
# verification (GOSUMDB default, GONOSUMDB and GOPRIVATE empty) and a tampered module fails the build. If the
# proxy cannot serve the database, the only ways to build are to turn verification off or to fail;
# we turn it off (GOSUMDB=off) only when ITER8_K8S_ALLOW_NOSUMDB=1 says so, because then the module
# contents are trusted on first use from the proxy over TLS and nothing else vouches for them.
proxy=$(go env GOPROXY | tr ',|' '\n\n' | grep -E '^https?://' | head -1 || true)
sumdb=$(go env GOSUMDB)
if [ "$sumdb" = "off" ]; then
  log "warning: GOSUMDB=off in the environment: module checksums are not verified"
elif ! command -v curl >/dev/null; then
  log "curl not found, cannot probe the checksum database: keeping verification on (go fails if it is unreachable)"
elif [ -n "$proxy" ] && curl -fsS -m 20 -o /dev/null "$proxy/sumdb/${sumdb%% *}/supported"; then
  log "checksum database ${sumdb%% *} reachable through $proxy: checksums verified"
  export GONOSUMDB= GOPRIVATE=
else
  if [ "${ITER8_K8S_ALLOW_NOSUMDB:-}" = "1" ]; then
    log "warning: checksum database not reachable through '${proxy:-no proxy}'; ITER8_K8S_ALLOW_NOSUMDB=1 so building with GOSUMDB=off (modules trusted on first use)"
    export GOSUMDB=off
  else
    die "checksum database not reachable through the Go proxy '${proxy:-none}'; set ITER8_K8S_ALLOW_NOSUMDB=1 to build without checksum verification"
  fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/iter8-k8s-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT" "$WORK/bin"

build_apiserver() {
  local mod="$WORK/mod-kube-apiserver"
  mkdir -p "$mod"
  cd "$mod"
  go mod init iter8.local/kube-apiserver-build >/dev/null 2>&1
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
  log "kube-apiserver ${K8S_VERSION}: mapping $n staging modules to ${STAGING_VERSION}"
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
  local date ldflags=() pkg
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=("-X $pkg.gitVersion=${K8S_VERSION}" "-X $pkg.gitMajor=1" "-X $pkg.gitMinor=${K8S_MINOR}"
      "-X $pkg.gitTreeState=clean" "-X $pkg.buildDate=$date")
  done
  log "building kube-apiserver ${K8S_VERSION} (cold: 15-25 min on 2 cores)"
  go build -trimpath -tags selinux,notest -ldflags "-s -w ${ldflags[*]}" \
    -o "$WORK/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$WORK/bin/kube-apiserver" "$APISERVER"
  cd - >/dev/null
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
have_apiserver || build_apiserver

# The version ldflags took effect (otherwise /version says v0.0.0-master).
got=$("$APISERVER" --version)
[ "$got" = "Kubernetes ${K8S_VERSION}" ] || die "built kube-apiserver reports '$got', expected 'Kubernetes ${K8S_VERSION}'"
got=$("$ETCD" --version | head -1)
[ "$got" = "etcd Version: ${ETCD_VERSION#v}" ] || die "built etcd reports '$got', expected 'etcd Version: ${ETCD_VERSION#v}'"
log "built: kube-apiserver ${K8S_VERSION}, etcd ${ETCD_VERSION}"
write_env
