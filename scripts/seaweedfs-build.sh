#!/usr/bin/env bash
# Build SeaweedFS (`weed`), the S3-compatible object store the checkpoint-storage tests run against
# (issue 18), from its pinned Go module in test/controlplane/seaweedfs/ (its own module, so its
# dependency graph cannot move the control plane's versions).
#
# Cached outside the clone, under $JCL_CACHE_DIR (default ~/.cache/jcl-operator), sharing the Go module
# and build caches of scripts/controlplane-build.sh:
#   bin/seaweedfs-<module version>-<hash of go.mod/go.sum>/weed
# Idempotent: a present binary is not rebuilt (a warm run takes well under a second).
#
# Usage: scripts/seaweedfs-build.sh [--force] [--print-bin]
# Env:   JCL_CACHE_DIR, JCL_BUILD_PARALLELISM (go build -p, default 2)
set -euo pipefail

main() {
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  module_dir="$(cd "$here/../test/controlplane/seaweedfs" && pwd)"
  cache_dir="${JCL_CACHE_DIR:-$HOME/.cache/jcl-operator}"
  parallelism="${JCL_BUILD_PARALLELISM:-2}"
  # shellcheck source=go-cache-env.sh
  source "$here/go-cache-env.sh"
  build_args seaweedfs-build --print-bin "$@"

  version="$(module_version "$module_dir/go.mod" github.com/seaweedfs/seaweedfs)"
  sum_hash="$(cat "$module_dir/go.mod" "$module_dir/go.sum" | sha256sum | cut -c1-12)"
  bin_dir="$cache_dir/bin/seaweedfs-${version}-${sum_hash}"
  if [[ "$print_only" == 1 ]]; then
    echo "$bin_dir/weed"
    exit 0
  fi
  if [[ "$force" == 0 && -x "$bin_dir/weed" ]]; then
    echo "seaweedfs-build: up to date: $bin_dir/weed ($version)"
    exit 0
  fi
  command -v go >/dev/null 2>&1 || fail "go is not on PATH (SeaweedFS $version needs the Go of its go.mod)"

  use_go_cache "$cache_dir"
  mkdir -p "$bin_dir"

  cd "$module_dir"
  echo "seaweedfs-build: building SeaweedFS $version with $(go env GOVERSION) (-p $parallelism) into $bin_dir"
  start=$SECONDS
  go mod download || fail "go mod download (check access to the Go module proxy: $(go env GOPROXY))"
  if ! go build -p "$parallelism" -trimpath -ldflags "-s -w" -o "$bin_dir/weed.tmp" github.com/seaweedfs/seaweedfs/weed; then
    rm -f "$bin_dir/weed.tmp"
    fail "go build of SeaweedFS; see the compiler output above"
  fi
  "$bin_dir/weed.tmp" version >/dev/null || fail "the built weed does not run"
  mv "$bin_dir/weed.tmp" "$bin_dir/weed"
  echo "seaweedfs-build: built in $((SECONDS - start))s: $bin_dir/weed"
}

main "$@"
