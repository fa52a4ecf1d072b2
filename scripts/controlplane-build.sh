#!/usr/bin/env bash
# Build the real Kubernetes control plane used by the e2e tests (issue 5):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl, from the pinned Go module in
# test/controlplane/ (k8s.io/kubernetes + its staging modules + go.etcd.io/etcd/server/v3), and helm
# (for the chart tests) from its own module in test/controlplane/helm/.
#
# Everything lives outside the clone, under $JCL_CACHE_DIR (default ~/.cache/jcl-operator):
#   go/mod, go/build          GOMODCACHE and GOCACHE (shared by every build; makes rebuilds incremental)
#   bin/<key>/                static binaries, <key> = k8s version + etcd version + hash of go.mod/go.sum
#   bin/current               symlink to the last complete bin/<key>
# Binaries already present (helm: at the pinned version) are not rebuilt: the script is idempotent and a
# warm run takes well under a second.
#
# Usage: scripts/controlplane-build.sh [--force] [--print-bin-dir]
# Env:   JCL_CACHE_DIR, JCL_BUILD_PARALLELISM (go build -p, default 2)
set -euo pipefail

# Everything runs inside main so bash parses the whole file first: editing the script while a long build runs
# cannot change what the running build executes.
main() {

  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  module_dir="$(cd "$here/../test/controlplane" && pwd)"
  cache_dir="${JCL_CACHE_DIR:-$HOME/.cache/jcl-operator}"
  parallelism="${JCL_BUILD_PARALLELISM:-2}"
  # shellcheck source=go-cache-env.sh
  source "$here/go-cache-env.sh"
  build_args controlplane-build --print-bin-dir "$@"

  # Versions come from go.mod so there is one place to bump them.
  k8s_version="$(module_version "$module_dir/go.mod" k8s.io/kubernetes)"
  etcd_version="$(module_version "$module_dir/go.mod" go.etcd.io/etcd/server/v3)"
  helm_version="$(module_version "$module_dir/helm/go.mod" helm.sh/helm/v3)"
  sum_hash="$(cat "$module_dir/go.mod" "$module_dir/go.sum" | sha256sum | cut -c1-12)"
  key="k8s-${k8s_version}-etcd-${etcd_version}-${sum_hash}"
  bin_dir="$cache_dir/bin/$key"

  if [[ "$print_only" == 1 ]]; then
    echo "$bin_dir"
    exit 0
  fi

  binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)
  needs_build() {
    [[ "$force" == 1 ]] && return 0
    if [[ "$1" == helm ]]; then
      [[ -x "$bin_dir/helm" ]] && [[ "$("$bin_dir/helm" version --template '{{.Version}}' 2>/dev/null)" == "$helm_version" ]] && return 1
      return 0
    fi
    [[ ! -x "$bin_dir/$1" ]]
  }
  all_present() {
    for b in "${binaries[@]}" helm; do needs_build "$b" && return 1; done
    return 0
  }

  if all_present; then
    echo "controlplane-build: up to date: $bin_dir (k8s $k8s_version, etcd $etcd_version, helm $helm_version)"
    ln -sfn "$bin_dir" "$cache_dir/bin/current"
    exit 0
  fi

  use_go_cache "$cache_dir"
  require_go 24 "k8s.io/kubernetes $k8s_version" fail
  mkdir -p "$bin_dir"
  echo "controlplane-build: building k8s $k8s_version + etcd $etcd_version + helm $helm_version with $go_version (-p $parallelism) into $bin_dir"

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
    if ! needs_build "$name"; then
      echo "controlplane-build: [$name] present"
      return 0
    fi
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
  # The scheduler of the e2e plane (issue 16): same module, so no go.mod change and no new cache key.
  build_one kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$k8s_ldflags"

  cd "$module_dir/helm"
  go mod download || fail "go mod download for helm (Go module proxy: $(go env GOPROXY))"
  helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  helm_ldflags+=" -X helm.sh/helm/v3/internal/version.gitCommit=module-$sum_hash"
  build_one helm helm.sh/helm/v3/cmd/helm "$helm_ldflags"

  "$bin_dir/kube-apiserver" --version >/dev/null || fail "the built kube-apiserver does not run"
  ln -sfn "$bin_dir" "$cache_dir/bin/current"
  echo "controlplane-build: all binaries built in $((SECONDS - total_start))s: $bin_dir"
}

main "$@"
