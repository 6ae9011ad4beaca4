# Shared by the scripts in scripts/k8s: the cache location, logging, Go settings, the checksum
# database check, and the env file the test harness reads. Sourced, not run.
# shellcheck shell=bash

CACHE=${ITER8_K8S_CACHE:-$HOME/.cache/iter8-k8s}

# The machine's Go, never a toolchain download; modules resolved on demand in throwaway modules.
export GOTOOLCHAIN=local
export GOFLAGS=-mod=mod

log() { printf '[%s] %s\n' "${LOG_TAG:-k8s}" "$*" >&2; }
die() { printf '[%s] error: %s\n' "${LOG_TAG:-k8s}" "$*" >&2; exit 1; }

# env_set KEY=VALUE...: sets these keys in <cache>/env and keeps every other line, so each script
# owns only its own keys (kube-apiserver/etcd, helm, kubectl, the Gateway API CRDs). Atomic (rename)
# and serialised with flock when two scripts finish at once.
env_set() {
  mkdir -p "$CACHE"
  local file="$CACHE/env" tmp="$CACHE/env.tmp.$$" kv keys=()
  for kv in "$@"; do keys+=("${kv%%=*}"); done
  (
    command -v flock >/dev/null && flock 9
    {
      echo "# written by scripts/k8s/*.sh; read by test/k8s/harness/binaries.ts"
      if [ -f "$file" ]; then
        local pattern
        pattern="^(# written by |export ($(IFS='|'; echo "${keys[*]}"))=)"
        grep -Ev "$pattern" "$file" || true
      fi
      for kv in "$@"; do echo "export $kv"; done
    } >"$tmp"
    mv "$tmp" "$file"
  ) 9>"$CACHE/env.lock"
}

# Checksum database. go verifies every downloaded module against sum.golang.org; with the default
# GOPROXY it reaches the database *through the proxy* (<proxy>/sumdb/sum.golang.org/...), so
# sum.golang.org itself need not be reachable. We probe that path: if it answers we keep full
# verification (GOSUMDB default, GONOSUMDB and GOPRIVATE empty) and a tampered module fails the
# build. If the proxy cannot serve the database, the only ways to build are to turn verification off
# or to fail; we turn it off (GOSUMDB=off) only when ITER8_K8S_ALLOW_NOSUMDB=1 says so, because then
# the module contents are trusted on first use from the proxy over TLS and nothing else vouches for
# them.
check_sumdb() {
  local proxy sumdb
  proxy=$(go env GOPROXY | tr ',|' '\n\n' | grep -E '^https?://' | head -1 || true)
  sumdb=$(go env GOSUMDB)
  if [ "$sumdb" = "off" ]; then
    log "warning: GOSUMDB=off in the environment: module checksums are not verified"
  elif ! command -v curl >/dev/null; then
    log "curl not found, cannot probe the checksum database: keeping verification on (go fails if it is unreachable)"
  elif [ -n "$proxy" ] && curl -fsS -m 20 -o /dev/null "$proxy/sumdb/${sumdb%% *}/supported"; then
    log "checksum database ${sumdb%% *} reachable through $proxy: checksums verified"
    export GONOSUMDB= GOPRIVATE=
  elif [ "${ITER8_K8S_ALLOW_NOSUMDB:-}" = "1" ]; then
    log "warning: checksum database not reachable through '${proxy:-no proxy}'; ITER8_K8S_ALLOW_NOSUMDB=1 so building with GOSUMDB=off (modules trusted on first use)"
    export GOSUMDB=off
  else
    die "checksum database not reachable through the Go proxy '${proxy:-none}'; set ITER8_K8S_ALLOW_NOSUMDB=1 to build without checksum verification"
  fi
}
