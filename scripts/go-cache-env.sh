# Sourced by the Go build scripts (controlplane-build.sh, seaweedfs-build.sh, kueue-build.sh): one Go environment, so every
# build shares the module and build caches under $1 (the JCL cache dir) and produces static binaries.
use_go_cache() {
  export GOPATH="$1/go"
  export GOMODCACHE="$1/go/mod"
  export GOCACHE="$1/go/build"
  export CGO_ENABLED=0
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
  export GOFLAGS="-mod=readonly -buildvcs=false"
  mkdir -p "$GOMODCACHE" "$GOCACHE"
}

# require_go <min_go_minor> <what needs it> <fail function>: Go on PATH, and at least 1.<min> when the
# local toolchain is used (sets go_version).
require_go() {
  local min_minor="$1" what="$2" fail_fn="$3" go_minor
  command -v go >/dev/null 2>&1 || "$fail_fn" "go is not on PATH (need Go >= 1.$min_minor to build $what)"
  go_version="$(go env GOVERSION)"
  go_minor="$(echo "$go_version" | sed -E 's/^go1\.([0-9]+).*/\1/')"
  if [[ "$GOTOOLCHAIN" == local && "$go_minor" =~ ^[0-9]+$ ]] && ((go_minor < min_minor)); then
    "$fail_fn" "Go $go_version is too old: $what needs Go >= 1.$min_minor (or run with GOTOOLCHAIN=auto to let go fetch one)"
  fi
}
