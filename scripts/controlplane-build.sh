#!/usr/bin/env bash
# Build the real Kubernetes control plane used by the e2e tests (issue 5):
# etcd, kube-apiserver, kube-controller-manager and kubectl, from the pinned Go module in
# test/controlplane/ (k8s.io/kubernetes + its staging modules + go.etcd.io/etcd/server/v3).
#
# Everything lives outside the clone, under $JCL_CACHE_DIR (default ~/.cache/jcl-operator):
#   go/mod, go/build          GOMODCACHE and GOCACHE (shared by every build; makes rebuilds incremental)
#   bin/<key>/                static binaries, <key> = k8s version + etcd version + go.sum hash
# A build whose binaries are already present is skipped, so the script is idempotent and cheap to re-run.
#
# Usage: scripts/controlplane-build.sh [--force] [--print-bin-dir]
# Env:   JCL_CACHE_DIR, JCL_BUILD_PARALLELISM (go build -p, default 2)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module_dir="$(cd "$here/../test/controlplane" && pwd)"
cache_dir="${JCL_CACHE_DIR:-$HOME/.cache/jcl-operator}"
parallelism="${JCL_BUILD_PARALLELISM:-2}"
force=0
print_only=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --print-bin-dir) print_only=1 ;;
    *) echo "controlplane-build: unknown argument '$arg' (expected --force or --print-bin-dir)" >&2; exit 2 ;;
  esac
done

fail() {
  echo "controlplane-build: FAILED: $*" >&2
  exit 1
}

command -v go >/dev/null 2>&1 || fail "go is not on PATH (need Go >= 1.24 to build k8s.io/kubernetes)"

# Versions come from go.mod so there is one place to bump them.
k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$module_dir/go.mod")"
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ {print $2; exit}' "$module_dir/go.mod")"
[[ -n "$k8s_version" ]] || fail "could not read the k8s.io/kubernetes version from $module_dir/go.mod"
[[ -n "$etcd_version" ]] || fail "could not read the go.etcd.io/etcd/server/v3 version from $module_dir/go.mod"
sum_hash="$(cat "$module_dir/go.mod" "$module_dir/go.sum" | sha256sum | cut -c1-12)"
key="k8s-${k8s_version}-etcd-${etcd_version}-${sum_hash}"
bin_dir="$cache_dir/bin/$key"

if [[ "$print_only" == 1 ]]; then
  echo "$bin_dir"
  exit 0
fi

binaries=(etcd kube-apiserver kube-controller-manager kubectl)
all_present() {
  for b in "${binaries[@]}"; do [[ -x "$bin_dir/$b" ]] || return 1; done
}

if [[ "$force" == 0 ]] && all_present; then
  echo "controlplane-build: up to date: $bin_dir (k8s $k8s_version, etcd $etcd_version)"
  ln -sfn "$bin_dir" "$cache_dir/bin/current"
  exit 0
fi

export GOPATH="$cache_dir/go"
export GOMODCACHE="$cache_dir/go/mod"
export GOCACHE="$cache_dir/go/build"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="-mod=readonly -buildvcs=false"
mkdir -p "$GOMODCACHE" "$GOCACHE" "$bin_dir"

go_version="$(go env GOVERSION)"
echo "controlplane-build: building k8s $k8s_version + etcd $etcd_version with $go_version (-p $parallelism) into $bin_dir"

build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
minor="$(echo "$k8s_version" | cut -d. -f2)"
# The same stamps hack/lib/version.sh sets, so `kubectl version` and /version report the real release.
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date -X $pkg.gitCommit=module-$sum_hash"
done

cd "$module_dir"
echo "controlplane-build: downloading modules (GOMODCACHE=$GOMODCACHE)"
go mod download || fail "go mod download (check network access to the Go module proxy: $(go env GOPROXY))"

build_one() {
  local name="$1" pkg="$2" ldflags="$3"
  local start=$SECONDS
  echo "controlplane-build: [$name] go build $pkg"
  if ! go build -p "$parallelism" -trimpath -tags providerless -ldflags "$ldflags" -o "$bin_dir/$name.tmp" "$pkg"; then
    rm -f "$bin_dir/$name.tmp"
    fail "go build of $name ($pkg); see the compiler output above"
  fi
  mv "$bin_dir/$name.tmp" "$bin_dir/$name"
  echo "controlplane-build: [$name] done in $((SECONDS - start))s"
}

total_start=$SECONDS
build_one etcd ./cmd/etcd "-s -w"
build_one kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build_one kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
build_one kubectl k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"

"$bin_dir/kube-apiserver" --version >/dev/null || fail "the built kube-apiserver does not run"
ln -sfn "$bin_dir" "$cache_dir/bin/current"
echo "controlplane-build: all binaries built in $((SECONDS - total_start))s: $bin_dir"
