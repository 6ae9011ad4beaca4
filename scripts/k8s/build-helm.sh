#!/usr/bin/env bash
# Builds the real `helm` client that the Kubernetes tests run (helm lint/template/install/upgrade/
# uninstall against the test API server, and seed 001's finish task) from the upstream Go module,
# in a throwaway module, and caches it outside the repo:
#   ${ITER8_K8S_CACHE:-$HOME/.cache/iter8-k8s}/helm-<version>/helm
# and sets ITER8_HELM in <cache>/env. With the binary cached it does no work and needs no network.
#
# Version: pinned (newest v3.22.x on the Go module proxy when chosen:
# `GOTOOLCHAIN=local go list -m -versions helm.sh/helm/v3`); ITER8_HELM_VERSION overrides it.
# deploy/controller/Dockerfile pins the same version for the controller image.
#
# Usage: scripts/k8s/build-helm.sh
set -euo pipefail
LOG_TAG=build-helm
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

HELM_VERSION=${ITER8_HELM_VERSION:-v3.22.0}
[[ "$HELM_VERSION" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || die "ITER8_HELM_VERSION '$HELM_VERSION' is not v3.MINOR.PATCH"
[ -z "${1:-}" ] || die "unknown argument '$1' (expected nothing)"
command -v go >/dev/null || die "go is not on PATH (needed to build helm ${HELM_VERSION})"

OUT="$CACHE/helm-$HELM_VERSION"
HELM="$OUT/helm"

if [ ! -x "$HELM" ]; then
  check_sumdb
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/iter8-helm-build.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  mkdir -p "$OUT"
  cd "$WORK"
  go mod init iter8.local/helm-build >/dev/null 2>&1
  go mod edit -require="helm.sh/helm/v3@${HELM_VERSION}"
  # What `helm version` prints (upstream's Makefile sets the same variable).
  start=$(date +%s)
  log "building helm ${HELM_VERSION} (cold: several minutes on 2 cores)"
  go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" \
    -o "$WORK/helm" helm.sh/helm/v3/cmd/helm
  mv "$WORK/helm" "$HELM"
  log "built helm ${HELM_VERSION} in $(($(date +%s) - start)) s"
  cd - >/dev/null
fi

got=$("$HELM" version --template '{{.Version}}')
[ "$got" = "$HELM_VERSION" ] || die "built helm reports '$got', expected '$HELM_VERSION'"
log "cached: helm ${HELM_VERSION} at $HELM"
env_set "ITER8_HELM=$HELM"
