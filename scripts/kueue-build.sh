#!/usr/bin/env bash
# Build Kueue's manager (sigs.k8s.io/kueue/cmd/kueue) for the e2e tests (issue 16), from the Go module proxy,
# the way scripts/controlplane-build.sh builds the control plane. The version is pinned in one place:
# test/controlplane/kueue/go.mod (its own module, so Kueue's dependency graph cannot move the control
# plane's versions).
#
# Everything lives outside the clone, under $JCL_CACHE_DIR (default ~/.cache/jcl-operator):
#   go/mod, go/build       GOMODCACHE and GOCACHE (shared with controlplane-build.sh)
#   bin/<key>/kueue        the static binary, <key> = kueue-<version>-<hash of go.mod/go.sum>
#   bin/<key>/crd/         the module's config/components/crd/bases (the CRDs the manager serves)
#   bin/<key>/webhook.yaml the module's config/components/webhook/manifests.yaml (paths of its webhooks)
# One patch is applied (test/controlplane/kueue/*.patch, through `go build -overlay`, the module cache stays
# pristine): metrics-off-no-cert.patch lets the manager start with metrics off and its internal cert
# management off (upstream then insists on /etc/kueue/metrics/certs even though nothing serves metrics).
# A present binary is not rebuilt: the script is idempotent and a warm run takes well under a second.
#
# Usage: scripts/kueue-build.sh [--force] [--print-bin-dir]
# Env:   JCL_CACHE_DIR, JCL_BUILD_PARALLELISM (go build -p, default 2)
set -euo pipefail

main() {
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  module_dir="$(cd "$here/../test/controlplane/kueue" && pwd)"
  cache_dir="${JCL_CACHE_DIR:-$HOME/.cache/jcl-operator}"
  parallelism="${JCL_BUILD_PARALLELISM:-2}"
  # shellcheck source=go-cache-env.sh
  source "$here/go-cache-env.sh"
  build_args kueue-build --print-bin-dir "$@"

  kueue_version="$(module_version "$module_dir/go.mod" sigs.k8s.io/kueue)"
  sum_hash="$(cat "$module_dir/go.mod" "$module_dir/go.sum" "$module_dir"/*.patch | sha256sum | cut -c1-12)"
  bin_dir="$cache_dir/bin/kueue-${kueue_version}-${sum_hash}"

  if [[ "$print_only" == 1 ]]; then
    echo "$bin_dir"
    exit 0
  fi

  if [[ "$force" == 0 && -x "$bin_dir/kueue" && -f "$bin_dir/webhook.yaml" && -d "$bin_dir/crd" ]]; then
    echo "kueue-build: up to date: $bin_dir (kueue $kueue_version)"
    exit 0
  fi

  use_go_cache "$cache_dir"
  require_go 25 "sigs.k8s.io/kueue $kueue_version" fail
  mkdir -p "$bin_dir"

  cd "$module_dir"
  start=$SECONDS
  echo "kueue-build: building kueue $kueue_version with $go_version (-p $parallelism) into $bin_dir"
  go mod download || fail "go mod download (check network access to the Go module proxy: $(go env GOPROXY))"
  src="$(go list -m -f '{{.Dir}}' sigs.k8s.io/kueue)" || fail "go list -m sigs.k8s.io/kueue"
  ldflags="-s -w -X sigs.k8s.io/kueue/pkg/version.GitVersion=$kueue_version -X sigs.k8s.io/kueue/pkg/version.GitCommit=module-$sum_hash"
  # The manager's main package, patched, in a copy of this wrapper module under the cache (the clone and
  # the module cache stay untouched); every other package is sigs.k8s.io/kueue's own, from the module cache.
  work="$cache_dir/src/kueue-${kueue_version}-${sum_hash}"
  rm -rf "$work"
  mkdir -p "$work/cmd/kueue"
  cp "$module_dir/go.mod" "$module_dir/go.sum" "$work/"
  cp "$src"/cmd/kueue/*.go "$work/cmd/kueue/"
  chmod -R u+w "$work"
  for p in "$module_dir"/*.patch; do
    patch --quiet -p1 -d "$work" < "$p" || fail "patch $p does not apply to sigs.k8s.io/kueue $kueue_version"
  done
  cd "$work"
  if ! go build -p "$parallelism" -trimpath -ldflags "$ldflags" -o "$bin_dir/kueue.tmp" ./cmd/kueue; then
    rm -f "$bin_dir/kueue.tmp"
    fail "go build of sigs.k8s.io/kueue/cmd/kueue $kueue_version; see the compiler output above"
  fi
  rm -rf "$bin_dir/crd"
  mkdir -p "$bin_dir/crd"
  cp "$src"/config/components/crd/bases/*.yaml "$bin_dir/crd/" || fail "copying the CRDs from $src/config/components/crd/bases"
  cp "$src/config/components/webhook/manifests.yaml" "$bin_dir/webhook.yaml" || fail "copying $src/config/components/webhook/manifests.yaml"
  chmod -R u+w "$bin_dir/crd" "$bin_dir/webhook.yaml"
  "$bin_dir/kueue.tmp" --help >/dev/null 2>&1 || fail "the built kueue does not run ($bin_dir/kueue.tmp --help)"
  mv "$bin_dir/kueue.tmp" "$bin_dir/kueue"
  echo "kueue-build: kueue $kueue_version built in $((SECONDS - start))s: $bin_dir"
}

main "$@"
