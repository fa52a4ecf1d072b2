# Sourced by the Go build scripts (controlplane-build.sh, seaweedfs-build.sh, kueue-build.sh): their common
# command line, failure message and go.mod version lookup, and one Go environment, so every build shares the
# module and build caches under the JCL cache dir and produces static binaries.

# build_args <script name> <print flag> "$@": sets force and print_only (0/1); exits 2 on anything else.
build_args() {
  build_name="$1"
  local print_flag="$2" arg
  shift 2
  force=0
  print_only=0
  for arg in "$@"; do
    case "$arg" in
      --force) force=1 ;;
      "$print_flag") print_only=1 ;;
      *) echo "$build_name: unknown argument '$arg' (expected --force or $print_flag)" >&2; exit 2 ;;
    esac
  done
}

# fail <message>: the script's failure line (named by build_args), exit 1.
fail() {
  echo "${build_name:-build}: FAILED: $*" >&2
  exit 1
}

# module_version <go.mod> <module path>: the version that go.mod requires; fails naming both when absent.
module_version() {
  local v
  v="$(awk -v m="$2" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$1")"
  [[ -n "$v" ]] || fail "could not read the $2 version from $1"
  echo "$v"
}

# use_go_cache <JCL cache dir>
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
