# Sourced by the Go build scripts (controlplane-build.sh, seaweedfs-build.sh): one Go environment, so every
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
