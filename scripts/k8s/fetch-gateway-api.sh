#!/usr/bin/env bash
# Fetches the Gateway API standard-channel CRDs (HTTPRoute, Gateway, GatewayClass, GRPCRoute,
# ReferenceGrant, ...) that the Kubernetes tests install, from the upstream `sigs.k8s.io/gateway-api`
# Go module (its config/crd/standard directory), and caches them outside the repo:
#   ${ITER8_K8S_CACHE:-$HOME/.cache/iter8-k8s}/gateway-api-<version>/*.yaml
# and sets ITER8_GATEWAY_API_CRDS in <cache>/env. With the files cached it needs no network.
#
# Version: pinned (newest v1.6.x on the Go module proxy when chosen:
# `GOTOOLCHAIN=local go list -m -versions sigs.k8s.io/gateway-api`); ITER8_GATEWAY_API_VERSION
# overrides it.
#
# Usage: scripts/k8s/fetch-gateway-api.sh
set -euo pipefail
LOG_TAG=fetch-gateway-api
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

GWAPI_VERSION=${ITER8_GATEWAY_API_VERSION:-v1.6.3}
[[ "$GWAPI_VERSION" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "ITER8_GATEWAY_API_VERSION '$GWAPI_VERSION' is not v1.MINOR.PATCH"
[ -z "${1:-}" ] || die "unknown argument '$1' (expected nothing)"

OUT="$CACHE/gateway-api-$GWAPI_VERSION"
STAMP="$OUT/.complete"

if [ ! -f "$STAMP" ]; then
  command -v go >/dev/null || die "go is not on PATH (needed to download sigs.k8s.io/gateway-api ${GWAPI_VERSION})"
  check_sumdb
  # `go mod download` verifies the module zip against the checksum database and prints its Dir.
  dir=$(go mod download -json "sigs.k8s.io/gateway-api@${GWAPI_VERSION}" | awk -F'"' '$2=="Dir"{print $4}')
  src="$dir/config/crd/standard"
  [ -d "$src" ] || die "sigs.k8s.io/gateway-api@${GWAPI_VERSION} has no config/crd/standard (looked in '$src')"
  tmp="$OUT.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Only the CRDs: the directory also holds a ValidatingAdmissionPolicy that guards upgrades from
  # experimental-channel CRDs, which a fresh test API server does not need.
  for crd_file in "$src"/*.yaml; do
    if grep -q '^kind: CustomResourceDefinition' "$crd_file"; then cp "$crd_file" "$tmp"/; fi
  done
  n=$(find "$tmp" -name '*.yaml' | wc -l)
  grep -lq 'name: httproutes.gateway.networking.k8s.io' "$tmp"/*.yaml || die "no HTTPRoute CRD in $src"
  rm -rf "$OUT"
  mv "$tmp" "$OUT"
  touch "$STAMP"
  log "fetched $n standard-channel CRD files of gateway-api ${GWAPI_VERSION}"
fi

log "cached: gateway-api ${GWAPI_VERSION} CRDs in $OUT"
env_set "ITER8_GATEWAY_API_CRDS=$OUT"
